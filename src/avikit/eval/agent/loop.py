"""The agent loop: plan, act, observe, reflect, within a step budget; every step is kept in the trace.

A :class:`Planner` sees the request, the tools' schemas and the answer schema (:meth:`Planner.start`, which
returns its initial plan), then proposes one :class:`Action` at a time from the history of steps
(:meth:`Planner.act`): a tool call or the final answer; after each observation :meth:`Planner.reflect` may
note something (kept in the trace). The loop ends on an answer (validated against the answer schema), when
the budget of tool calls is spent, or when the planner gives up with a structured ``failure`` (termination
``planner_failure``). Replies a planner rejected before settling on an action (a language model's reply
that did not parse) travel with the action (``Action.rejected``) into ``Trace.rejected``, numbered by the
step they preceded. Any planner fits: the scripted ones of
:mod:`avikit.eval.agent.planners` or a language model that emits the same actions.

Example:
    >>> from avikit.eval.agent.toolbox import ToolBox
    >>> class Answer42:
    ...     id = "answer-42"
    ...     def start(self, prompt, tools, answer_schema): return []
    ...     def act(self, history): return Action(answer={"seconds": 42})
    ...     def reflect(self, history): return ""
    >>> trace = run_agent(Answer42(), ToolBox([]), "When?", {"type": "object"}, budget=3)
    >>> trace.answer, trace.termination
    ({'seconds': 42}, 'answer')
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import jsonschema

from avikit.eval.agent.toolbox import ToolBox

__all__ = ["Action", "Planner", "Step", "Trace", "run_agent"]


@dataclass(frozen=True)
class Action:
    """A tool call (``tool`` and ``arguments``), the final ``answer``, or the planner's ``failure``.

    Attributes:
        tool: the tool to call.
        arguments: its arguments.
        answer: the final answer (ends the run).
        failure: ``{"type", "message"}`` when the planner can propose no valid action (ends the run).
        rejected: replies the planner rejected before this action, each ``{"reply", "error"}``.
    """

    tool: str | None = None
    arguments: Mapping[str, Any] = field(default_factory=dict)
    answer: Mapping[str, Any] | None = None
    failure: Mapping[str, Any] | None = None
    rejected: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class Step:
    """One tool call as made: tool, arguments, the envelope it returned, and the planner's reflection."""

    tool: str
    arguments: Mapping[str, Any]
    result: Mapping[str, Any]
    seconds: float
    reflection: str = ""


@dataclass
class Trace:
    """Everything one run did: plan, steps, answer, how it ended and the times.

    ``termination`` is ``answer``, ``invalid_answer``, ``budget`` or ``planner_failure`` (then ``failure``
    says why); ``rejected`` holds the planner's rejected replies, each with the ``step`` it preceded.
    """

    prompt: str
    plan: list[str]
    steps: list[Step] = field(default_factory=list)
    answer: Mapping[str, Any] | None = None
    termination: str = "budget"
    seconds: float = 0.0
    rejected: list[Mapping[str, Any]] = field(default_factory=list)
    failure: Mapping[str, Any] | None = None

    @property
    def calls(self) -> list[tuple[str, Mapping[str, Any]]]:
        """The tool calls as ``(tool, arguments)``."""
        return [(s.tool, s.arguments) for s in self.steps]

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able form."""
        return {
            "prompt": self.prompt,
            "plan": self.plan,
            "steps": [asdict(s) for s in self.steps],
            "answer": self.answer,
            "termination": self.termination,
            "seconds": self.seconds,
            "rejected": [dict(r) for r in self.rejected],
            "failure": None if self.failure is None else dict(self.failure),
        }


class Planner(Protocol):
    """What the loop needs from a planner."""

    id: str

    def start(
        self, prompt: str, tools: Sequence[Mapping[str, Any]], answer_schema: Mapping[str, Any]
    ) -> list[str]:
        """Read the request; return the intended tool sequence (may be empty or revised later)."""
        ...

    def act(self, history: Sequence[Step]) -> Action:
        """The next action given the steps so far."""
        ...

    def reflect(self, history: Sequence[Step]) -> str:
        """A note on the last observation (empty if none)."""
        ...


def run_agent(
    planner: Planner, toolbox: ToolBox, prompt: str, answer_schema: Mapping[str, Any], budget: int = 8
) -> Trace:
    """Run one request to an answer or to the end of the budget of tool calls."""
    begin = time.perf_counter()
    trace = Trace(prompt, list(planner.start(prompt, toolbox.openai_schemas(), answer_schema)))
    while True:
        action = planner.act(trace.steps)
        trace.rejected += [{"step": len(trace.steps), **r} for r in action.rejected]
        if action.failure is not None:
            trace.failure, trace.termination = dict(action.failure), "planner_failure"
            break
        if action.answer is not None:
            try:
                jsonschema.validate(dict(action.answer), dict(answer_schema))
                trace.answer, trace.termination = dict(action.answer), "answer"
            except jsonschema.ValidationError:
                trace.termination = "invalid_answer"
            break
        if len(trace.steps) >= budget:
            break
        envelope = toolbox.call(action.tool or "", dict(action.arguments))
        trace.steps.append(Step(action.tool or "", dict(action.arguments), envelope, envelope["seconds"]))
        note = planner.reflect(trace.steps)
        if note:
            last = trace.steps[-1]
            trace.steps[-1] = Step(last.tool, last.arguments, last.result, last.seconds, note)
    trace.seconds = time.perf_counter() - begin
    return trace
