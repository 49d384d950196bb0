"""The language-model planner: the action rules, the retry rule, structured errors in the trace, episodes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from avikit.eval.agent import lm_planner as lm_module
from avikit.eval.agent.benchmark import run_agent_task
from avikit.eval.agent.lm_actions import (
    ActionError,
    compact,
    parse_action,
    render_observation,
    render_tools,
    system_prompt,
)
from avikit.eval.agent.lm_planner import ChatResponder, LMPlanner, chatml
from avikit.eval.agent.loop import Action, run_agent
from avikit.eval.agent.media_tools import media_tools
from avikit.eval.agent.planners import get_planner
from avikit.eval.agent.toolbox import ToolBox
from avikit.tasks.agent import get_agent_task, load_episode_clip

SECONDS = {"type": "object", "properties": {"seconds": {"type": "number"}}, "required": ["seconds"]}
NAMES = ["probe", "class_info"]


class Replies:
    """A chat model that says fixed replies in turn and keeps every conversation it was shown."""

    def __init__(self, *replies: str) -> None:
        self.replies, self.seen = list(replies), []

    def reply(self, messages):
        self.seen.append([dict(m) for m in messages])
        return self.replies.pop(0)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('{"tool": "probe", "arguments": {"clip": "input"}}', Action("probe", {"clip": "input"})),
        (
            'Calling: {"name": "class_info", "arguments": {"label": "dog"}}',
            Action("class_info", {"label": "dog"}),
        ),
        ('[{"name": "probe", "arguments": {"clip": "input"}}]', Action("probe", {"clip": "input"})),
        ('{"tool": "probe"}', Action("probe", {})),
        ('{"answer": {"seconds": 2.5}}', Action(answer={"seconds": 2.5})),
        ("The dog barks at 2 s.", "no_json"),
        ('{"tool": "probe", "arguments": {"clip": "in', "no_json"),
        ('{"tool": "probe"} and then {"answer": {}}', Action("probe", {})),
        ('{"tool": "probe", "arguments": {...}}', "no_json"),
        ('[{"tool": "probe"}, {"tool": "probe"}]', "bad_action"),
        ('{"tool": "probe", "arguments": "input"}', "bad_action"),
        ('{"tool": "probe", "arguments": {}, "why": "to see"}', "bad_action"),
        ('{"answer": {"seconds": 2}, "tool": "probe"}', "bad_action"),
        ('{"tool": "zoom", "arguments": {}}', "unknown_tool"),
        ('{"answer": {"seconds": "soon"}}', "invalid_answer"),
        ('{"answer": {}}', "invalid_answer"),
    ],
)
def test_parse_action_rules(reply: str, expected: Action | str) -> None:
    if isinstance(expected, Action):
        assert parse_action(reply, NAMES, SECONDS) == expected
        return
    with pytest.raises(ActionError) as caught:
        parse_action(reply, NAMES, SECONDS)
    assert caught.value.kind == expected and caught.value.to_dict()["type"] == expected


def test_the_prompt_lists_every_tool_with_its_arguments() -> None:
    schemas = ToolBox(media_tools()).openai_schemas()
    lines = render_tools(schemas).splitlines()
    assert len(lines) == len(schemas)
    for line, schema in zip(lines, schemas, strict=True):
        function = schema["function"]
        assert line.startswith(f"- {function['name']}(") and line.endswith(function["description"])
        for name in function["parameters"]["properties"]:
            optional = name not in function["parameters"].get("required", [])
            assert f"{name}{'?' if optional else ''}: " in line
    assert "one of " in next(line for line in lines if line.startswith("- class_info("))
    prompt = system_prompt(schemas, SECONDS)
    assert '"seconds": number' in prompt and prompt.endswith(lines[-1])


def test_observations_are_compact_and_bounded() -> None:
    assert compact({"a": [0.123456, 2.0, 1e-9], "b": list(range(20))}, max_items=3) == {
        "a": [0.123, 2.0, 1e-09],
        "b": [0, 1, 2, "... 17 more"],
    }
    envelope = {"ok": True, "result": {"level_db": [float(k) for k in range(500)]}, "seconds": 0.1}
    text = render_observation(envelope, 3, max_chars=40)
    assert text.startswith("Result: {") and "...(cut)" in text and text.endswith("Calls left: 3.")
    error = {"ok": False, "error": {"type": "tool_error", "message": "no clip"}, "seconds": 0.0}
    assert json.loads(render_observation(error, None).removeprefix("Result: ")) == {"error": error["error"]}
    assert render_observation(error, 0).endswith("No calls left: answer now.")


def _box() -> ToolBox:
    box = ToolBox(media_tools())
    episode = get_agent_task("agent-when-sounds").episodes(1)[0]
    box.workspace.put(load_episode_clip(episode), "input")
    return box


def test_a_bad_reply_is_retried_once_with_its_error_then_dropped_from_the_context() -> None:
    chat = Replies(
        "I will probe it.", '{"tool": "probe", "arguments": {"clip": "input"}}', '{"answer": {"seconds": 1}}'
    )
    trace = run_agent(LMPlanner(chat, budget=4), _box(), "Find when the dog sounds.", SECONDS)
    assert trace.termination == "answer" and [s.tool for s in trace.steps] == ["probe"]
    assert (
        trace.steps[0].reflection == "call made after 1 rejected replies (failed calls 0, rejected replies 1)"
    )
    assert trace.rejected == [
        {
            "step": 0,
            "reply": "I will probe it.",
            "error": {"type": "no_json", "message": "the reply holds no JSON object"},
        }
    ]
    retry = chat.seen[1]
    assert retry[-2] == {"role": "assistant", "content": "I will probe it."}
    assert retry[-1]["role"] == "user" and "(no_json)" in retry[-1]["content"]
    after = chat.seen[2]  # the valid call and its observation; the rejected exchange is gone
    assert [m["role"] for m in after] == ["system", "user", "assistant", "user"]
    assert json.loads(after[2]["content"]) == {"tool": "probe", "arguments": {"clip": "input"}}
    assert after[3]["content"].startswith("Result: {") and after[3]["content"].endswith("Calls left: 3.")
    assert "duration" in after[3]["content"]  # the probe's real result


def test_two_bad_replies_in_a_row_end_the_run_with_a_structured_failure() -> None:
    chat = Replies('{"tool": "zoom", "arguments": {}}', "The answer is 3 seconds.")
    trace = run_agent(LMPlanner(chat, budget=4), _box(), "Find when the dog sounds.", SECONDS)
    assert trace.termination == "planner_failure" and trace.answer is None and trace.steps == []
    assert [r["error"]["type"] for r in trace.rejected] == ["unknown_tool", "no_json"]
    assert trace.failure is not None and trace.failure["type"] == "no_valid_action"
    assert "2 replies in a row" in trace.failure["message"]
    saved = json.loads(json.dumps(trace.to_dict()))
    assert saved["failure"] == trace.failure and len(saved["rejected"]) == 2
    assert len(chat.seen) == 2  # no third try: retries=1


def test_invalid_arguments_are_the_tool_boxs_structured_error_and_are_counted() -> None:
    chat = Replies(
        '{"tool": "class_info", "arguments": {"label": "dragon"}}',
        '{"tool": "probe", "arguments": {"clip": "nowhere"}}',
        '{"answer": {"seconds": 0}}',
    )
    trace = run_agent(LMPlanner(chat, budget=4), _box(), "Find when the dog sounds.", SECONDS)
    assert [s.result["error"]["type"] for s in trace.steps] == ["invalid_arguments", "tool_error"]
    assert trace.steps[0].reflection.startswith("invalid_arguments: class_info: label: 'dragon'")
    assert trace.steps[1].reflection.endswith("(failed calls 2, rejected replies 0)")
    assert '"error"' in chat.seen[1][-1]["content"] and "dragon" in chat.seen[1][-1]["content"]


def test_an_lm_planner_episode_on_an_agent_task_end_to_end() -> None:
    task = get_agent_task("agent-when-sounds")
    episode = task.episodes(1)[0]
    label = episode.truth["label"]
    onset = episode.truth["onset"]
    chats: list[Replies] = []

    def make(seed: int) -> LMPlanner:
        chats.append(
            Replies(
                json.dumps({"tool": "class_info", "arguments": {"label": label}}),
                json.dumps({"answer": {"seconds": onset + 0.5}}),
            )
        )
        return LMPlanner(chats[-1], budget=8)

    rows = run_agent_task("agent-when-sounds", make, n=1, tools=media_tools())
    trace = rows[0]["trace"]
    assert [s["tool"] for s in trace["steps"]] == ["class_info"] and trace["termination"] == "answer"
    assert rows[0]["check"]["success"] == 1.0  # within the task's 1 s of the true onset
    seen = chats[0].seen[1][-1]["content"]
    assert '"band_hz"' in seen and seen.endswith("Calls left: 7.")
    assert label in chats[0].seen[0][1]["content"]  # the request, as the user turn


def _tiny_chat(seed: int = 0):
    from avikit.models.language.chat_lm import ChatLM
    from avikit.models.language.text_vocab import build_word_tokenizer, tiny_llama

    corpus = ['{"tool": "probe", "arguments": {"clip": "input"}}', '{"answer": {"seconds": 1.5}}', "Result:"]
    tokenizer = build_word_tokenizer(corpus, 400)
    return ChatLM(tiny_llama(len(tokenizer), width=32, seed=seed, init_std=0.5), tokenizer)


def test_chat_responder_decodes_as_transformers_generate_over_the_chatml_text() -> None:
    chat = _tiny_chat()
    messages = [
        {"role": "system", "content": "Reply with JSON."},
        {"role": "user", "content": "Find when the dog sounds."},
        {"role": "assistant", "content": '{"tool": "probe", "arguments": {"clip": "input"}}'},
        {"role": "user", "content": "Result: {}"},
    ]
    text = chatml(messages) + '{"'
    ids = chat.tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    reference = chat.lm.generate(
        ids, max_new_tokens=12, do_sample=False, eos_token_id=chat.end_id, pad_token_id=chat.end_id
    )
    expected = '{"' + chat.tokenizer.decode(reference[0, ids.shape[1] :], skip_special_tokens=True).strip()
    responder = ChatResponder(chat, max_new_tokens=12)
    assert responder.reply(messages) == expected
    assert 1 <= responder.new_tokens <= 12 and responder.seconds > 0


def test_cli_runs_the_lm_planner_with_a_tiny_random_lm(tmp_path: Path, monkeypatch) -> None:
    from avikit.cli import app

    monkeypatch.setattr(lm_module, "_smollm2_chat", _tiny_chat)
    assert isinstance(get_planner("lm", "agent-speech-sync"), LMPlanner)
    args = ["agent", "run", "--task", "agent-speech-sync", "--planner", "lm", "--n", "1", "--k", "1"]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "| lm |" in result.output and "| prior |" in result.output
    lines = [
        json.loads(x) for x in (tmp_path / "agent-speech-sync" / "traces.jsonl").read_text().splitlines()
    ]
    trace = next(x for x in lines if x["planner"] == "lm")["trace"]
    # a random LM writes no valid action: two rejected replies, then the structured failure
    assert trace["termination"] == "planner_failure" and len(trace["rejected"]) == 2


@pytest.mark.slow
def test_smollm2_plans_two_episodes(tmp_path: Path) -> None:
    pytest.importorskip("gguf")
    from avikit.eval.agent.benchmark import run_agent_benchmark

    result = run_agent_benchmark("agent-when-sounds", ["lm"], tmp_path, n=2, k=1)
    assert result["rows"][0]["system"] == "lm"
    lines = [json.loads(x) for x in (tmp_path / "traces.jsonl").read_text().splitlines()]
    for line in lines:
        trace = line["trace"]
        assert trace["termination"] in {"answer", "invalid_answer", "budget", "planner_failure"}
        assert len(trace["steps"]) <= 8 and all(len(r["reply"]) > 0 for r in trace["rejected"])
