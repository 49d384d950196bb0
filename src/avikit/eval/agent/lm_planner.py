"""A language-model planner: a chat LM reads the request, the tools and its observations, and writes actions.

:class:`LMPlanner` implements :class:`avikit.eval.agent.loop.Planner` over any :class:`Responder` (messages
in, reply text out). :class:`ChatResponder` is the real one: a :class:`avikit.models.language.chat_lm.ChatLM`
(SmolLM2-135M-Instruct for ``--planner lm``) prompted in ChatML, its turn opened with ``{"``, and decoded
greedily, at most ``max_new_tokens`` (64) new tokens per reply.

The conversation: a system turn (:func:`avikit.eval.agent.lm_actions.system_prompt`: the action format, the
answer's fields, one line per tool), the request as the user turn, then for every call the LM's reply and
the observation (:func:`avikit.eval.agent.lm_actions.render_observation`, with the calls left in the budget).
Each reply is read by :func:`avikit.eval.agent.lm_actions.parse_action`. The rule for a reply that is not a
valid action (no JSON, wrong shape, unknown tool, answer outside its schema): the LM is told the error and
asked again, up to ``retries`` times (default once); the rejected replies go into the trace
(``Trace.rejected``) and are counted in the reflections; when the retries are spent too, the planner gives
up with a structured failure (termination ``planner_failure``, type ``no_valid_action``). No scripted action
ever takes the LM's place. A rejected exchange is dropped from the context once a valid action follows (the
context holds only valid actions and their observations). Arguments that do not fit a tool's schema are
the tool box's ``invalid_arguments`` error, an observation like any other.

Decoding is greedy, so the planner is deterministic: the trial seed is not used and pass^k equals success.
The LM plans one call at a time: :meth:`LMPlanner.start` returns an empty plan.

Example:
    >>> class Say:
    ...     def reply(self, messages): return '{"answer": {"in_sync": true}}'
    >>> planner = LMPlanner(Say())
    >>> planner.start("Is the speech in sync with the lips?", [], {"type": "object"})
    []
    >>> planner.act([]).answer
    {'in_sync': True}
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import lru_cache
from typing import Any, Protocol

from avikit.eval.agent.lm_actions import ActionError, parse_action, render_observation, system_prompt
from avikit.eval.agent.loop import Action, Step

__all__ = ["ChatResponder", "LMPlanner", "Responder", "chatml", "lm_planner"]

Message = Mapping[str, str]


class Responder(Protocol):
    """A chat model as the planner uses it: the conversation so far in, the next assistant reply out."""

    def reply(self, messages: Sequence[Message]) -> str:
        """The assistant's reply to ``messages`` (``{"role", "content"}`` dicts)."""
        ...


def chatml(messages: Sequence[Message]) -> str:
    r"""The ChatML text of ``messages``, opening the assistant's turn.

    Example:
        >>> chatml([{"role": "user", "content": "hi"}])
        '<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n'
    """
    turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return turns + "<|im_start|>assistant\n"


class ChatResponder:
    """Greedy replies of a :class:`~avikit.models.language.chat_lm.ChatLM` (tokens and seconds counted).

    The assistant's turn opens with ``prefix`` (default ``{"``: the reply starts as a JSON object; a small LM
    told to answer in JSON otherwise often writes prose), and the reply is ``prefix`` + the decoded text.
    """

    def __init__(self, chat: Any, max_new_tokens: int = 64, prefix: str = '{"') -> None:
        self.chat, self.max_new_tokens, self.prefix = chat, max_new_tokens, prefix
        self.new_tokens, self.seconds = 0, 0.0

    def reply(self, messages: Sequence[Message]) -> str:
        """Decode the reply to ``messages`` greedily (at most ``max_new_tokens`` tokens after the prefix)."""
        import torch

        from avikit.models.language.chat_lm import IGNORE, ChatBatch

        ids = self.chat.tokenizer(chatml(messages) + self.prefix, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            embeds = self.chat.lm.get_input_embeddings()(torch.tensor([ids], dtype=torch.long))
        ones = torch.ones(1, len(ids), dtype=torch.long)
        batch = ChatBatch(embeds, ones, torch.arange(len(ids))[None], torch.full_like(ones, IGNORE))
        generation = self.chat.generate(batch, self.max_new_tokens)
        self.new_tokens += generation.new_tokens
        self.seconds += generation.seconds
        return self.prefix + str(generation.texts[0])


class LMPlanner:
    """Plan, act and reflect with a chat LM that writes one JSON action per reply (rules: module docstring).

    Args:
        responder: the chat model.
        budget: the run's budget of tool calls (told to the LM after each call; ``None``: not told).
        retries: how many times a reply that is not a valid action is answered with its error and asked
            again before the planner gives up.
        max_chars: the longest observation text.
        model_id: the LM's name, kept in the planner's ``model_id``.
    """

    id = "lm"

    def __init__(
        self,
        responder: Responder,
        budget: int | None = None,
        retries: int = 1,
        max_chars: int = 600,
        model_id: str = "lm",
    ) -> None:
        self.responder, self.budget, self.retries = responder, budget, retries
        self.max_chars, self.model_id = max_chars, model_id
        self._messages: list[Message] = []
        self._names: list[str] = []
        self._schema: Mapping[str, Any] = {}
        self.rejected_replies = self.failed_calls = self._rejected_now = 0

    def start(
        self, prompt: str, tools: Sequence[Mapping[str, Any]], answer_schema: Mapping[str, Any]
    ) -> list[str]:
        """Open the conversation (system turn with the tools, the request); the plan is made call by call."""
        self._names = [t["function"]["name"] for t in tools]
        self._schema = answer_schema
        self._messages = [
            {"role": "system", "content": system_prompt(tools, answer_schema)},
            {"role": "user", "content": prompt},
        ]
        self.rejected_replies = self.failed_calls = self._rejected_now = 0
        return []

    def act(self, history: Sequence[Step]) -> Action:
        """The LM's next valid action, after at most ``retries`` corrections; else a structured failure."""
        if history:
            left = None if self.budget is None else max(0, self.budget - len(history))
            observation = render_observation(history[-1].result, left, self.max_chars)
            self._messages.append({"role": "user", "content": observation})
        messages = list(self._messages)
        rejected: list[dict[str, Any]] = []
        for _ in range(self.retries + 1):
            text = self.responder.reply(messages)
            try:
                action = parse_action(text, self._names, self._schema)
            except ActionError as error:
                rejected.append({"reply": text, "error": error.to_dict()})
                correction = f"Not a valid action ({error.kind}): {error}. Reply with one JSON object."
                messages += [{"role": "assistant", "content": text}, {"role": "user", "content": correction}]
                continue
            self.rejected_replies += len(rejected)
            self._rejected_now = len(rejected)
            self._messages.append({"role": "assistant", "content": _canonical(action)})
            return replace(action, rejected=tuple(rejected))
        self.rejected_replies += len(rejected)
        last = rejected[-1]["error"]
        message = f"{len(rejected)} replies in a row were not valid actions; the last: {last['message']}"
        return Action(failure={"type": "no_valid_action", "message": message}, rejected=tuple(rejected))

    def reflect(self, history: Sequence[Step]) -> str:
        """A note when the last call failed or came after rejected replies, with the counts so far."""
        result = history[-1].result
        self.failed_calls += not result["ok"]
        counts = f"(failed calls {self.failed_calls}, rejected replies {self.rejected_replies})"
        if not result["ok"]:
            return f"{result['error']['type']}: {result['error']['message']} {counts}"
        return f"call made after {self._rejected_now} rejected replies {counts}" if self._rejected_now else ""


def _canonical(action: Action) -> str:
    """The action as the LM should have written it (kept in the context instead of any extra text)."""
    if action.answer is not None:
        return json.dumps({"answer": dict(action.answer)})
    return json.dumps({"tool": action.tool, "arguments": dict(action.arguments)})


@lru_cache(maxsize=1)
def _smollm2_chat() -> Any:
    from avikit.models.language.chat_lm import ChatLM
    from avikit.models.language.smollm2 import load_smollm2

    lm, tokenizer = load_smollm2()
    return ChatLM(lm, tokenizer)


def lm_planner(task: str, seed: int = 0) -> LMPlanner:
    """SmolLM2-135M-Instruct as released as the planner of one agent task (``--planner lm``).

    The LM is loaded once per process (:func:`avikit.models.language.smollm2.load_smollm2`); the task's
    step budget is told to it. ``seed`` is not used (greedy decoding).
    """
    from avikit.tasks.agent import get_agent_task

    budget = int(get_agent_task(task).spec.protocol.params["step_budget"])
    return LMPlanner(ChatResponder(_smollm2_chat()), budget=budget, model_id="smollm2-135m-instruct")
