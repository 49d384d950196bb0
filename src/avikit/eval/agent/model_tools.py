"""The avikit models as tools: perception models give events, labels and places; generators make clips.

A clip from the workspace (or a file, loaded at 8 fps, 16 kHz and 128 px) becomes one evaluation item of
the model's task, with the task's own inputs (or, where a task's inputs depend on the truth, a fixed
window stated in the tool's description), and the prediction is turned into a structured result with
times in seconds. Models are built on first use and kept for the tool box's life.

Example:
    >>> runs_to_events([["bell"], ["bell"], [], ["dog"]])
    [{'label': 'bell', 'start': 0.0, 'end': 2.0}, {'label': 'dog', 'start': 3.0, 'end': 4.0}]
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from avikit.data.synth.classes import CLASS_NAMES
from avikit.errors import UsageError
from avikit.eval.agent.toolbox import CLIP, Tool, ToolError, Workspace
from avikit.media import AVClip
from avikit.models.clip_items import clip_item, window_inputs
from avikit.models.protocol import Item, Model
from avikit.models.registry import get_model
from avikit.tasks import AVQA_ANSWERS, SYNC_OFFSETS, Task, TaskInputs, get_task

__all__ = ["MODEL_RATES", "model_tools", "runs_to_events"]

MODEL_RATES = {"fps": 8, "sample_rate": 16000, "size": 128}
"""The rates the packaged models read (AVSynth's)."""


def runs_to_events(labels: Sequence[Sequence[str]], seconds: float = 1.0) -> list[dict[str, Any]]:
    """Per-step label sets -> events ``{label, start, end}`` (runs of steps holding the label), by start."""
    events = []
    names = sorted({name for step in labels for name in step})
    for name in names:
        on = [name in step for step in labels] + [False]
        start = None
        for t, flag in enumerate(on):
            if flag and start is None:
                start = t
            if not flag and start is not None:
                events.append({"label": name, "start": start * seconds, "end": t * seconds})
                start = None
    return sorted(events, key=lambda e: (e["start"], e["label"]))


def _clip(ws: Workspace, ref: str) -> AVClip:
    clip = ws.get(ref, **MODEL_RATES)
    if clip.frames is None:
        raise ToolError(f"clip {ref!r} has no video; these models read audio and video")
    wrong_audio = clip.waveform is not None and clip.sample_rate != MODEL_RATES["sample_rate"]
    if (clip.fps, clip.height, clip.width) != (8, 128, 128) or wrong_audio:
        raise ToolError(
            f"clip {ref!r} is {clip!r}; the models read 8 fps, 16 kHz, 128x128: resample its audio, or give "
            "the media file (files are loaded at those rates)"
        )
    return clip


class _Models:
    """Models built on first use."""

    def __init__(self) -> None:
        self._built: dict[str, Model] = {}

    def predict(self, model: str, task: Task, item: Item) -> dict[str, Any]:
        if model not in self._built:
            self._built[model] = get_model(model)
        return self._built[model].predict(task, [item])[0]


def _window(clip: AVClip, first_s: float, seconds: float) -> TaskInputs:
    try:
        return window_inputs(clip, first_s, seconds)
    except UsageError as error:
        raise ToolError(str(error)) from None


def _perception(models: _Models) -> dict[str, Callable[..., dict[str, Any]]]:
    def detect_events(ws: Workspace, clip: str) -> dict[str, Any]:
        c = _clip(ws, clip)
        pred = models.predict(
            "dense-localization",
            get_task("dense-localization"),
            clip_item(c, clip, get_task("dense-localization")),
        )
        events = sorted(pred["events"], key=lambda e: -e["score"])[:10]
        return {"events": sorted(events, key=lambda e: e["start"])}

    def parse_events(ws: Workspace, clip: str) -> dict[str, Any]:
        c, task = _clip(ws, clip), get_task("avvp")
        pred = models.predict("avvp", task, clip_item(c, clip, task))
        return {"audio": runs_to_events(pred["audio"]), "visual": runs_to_events(pred["visual"])}

    def localize_event(ws: Workspace, clip: str) -> dict[str, Any]:
        c, task = _clip(ws, clip), get_task("avel")
        labels = models.predict("avel", task, clip_item(c, clip, task))["labels"]
        return {"events": runs_to_events([[x] if x != "background" else [] for x in labels])}

    def classify(ws: Workspace, clip: str) -> dict[str, Any]:
        c, task = _clip(ws, clip), get_task("classification")
        scores = np.asarray(models.predict("classification", task, clip_item(c, clip, task))["scores"])
        names = CLASS_NAMES  # the task's scores are in class index order
        top = np.argsort(-scores)[:5]
        return {"labels": [{"label": names[k], "score": round(float(scores[k]), 4)} for k in top]}

    def check_sync(ws: Workspace, clip: str) -> dict[str, Any]:
        c, task = _clip(ws, clip), get_task("sync")
        if c.waveform is None:
            raise ToolError(f"clip {clip!r} has no audio to check")
        logits = np.asarray(
            models.predict("sync", task, clip_item(c, clip, task, _window(c, 2.5, 5)))["logits"]
        )
        p = np.exp(logits - logits.max())
        p /= p.sum()
        k = int(np.argmax(p))
        # the task's offset class k reads the audio SYNC_OFFSETS[k] later: audio delayed by d reads as -d
        return {
            "offset_seconds": -float(SYNC_OFFSETS[k]),
            "confidence": round(float(p[k]), 4),
            "window": [2.5, 7.5],
            "in_sync": abs(SYNC_OFFSETS[k]) <= Fraction(1, 5),
        }

    def answer_question(ws: Workspace, clip: str, question: str) -> dict[str, Any]:
        c, task = _clip(ws, clip), get_task("avqa")
        base = _window(c, 0, float(c.duration))
        inputs = TaskInputs(base.sample_id, base.frames, base.audio, base.frame_size, text=(question,))
        pred = models.predict("avqa", task, clip_item(c, clip, task, inputs))
        return {
            "answer": pred["answers"][0],
            "evidence": pred["evidence"][0],
            "vocabulary_size": len(AVQA_ANSWERS),
        }

    return {
        "detect_events": detect_events,
        "parse_events": parse_events,
        "localize_event": localize_event,
        "classify": classify,
        "check_sync": check_sync,
        "answer_question": answer_question,
    }


def _generators(models: _Models) -> dict[str, Callable[..., dict[str, Any]]]:
    def run(model: str, task_name: str, item_clip: AVClip, name: str) -> dict[str, Any]:
        task = get_task(task_name)
        with tempfile.TemporaryDirectory() as scratch:
            task.scratch = scratch  # type: ignore[attr-defined]
            pred = models.predict(model, task, clip_item(item_clip, name, task))
            return {k: np.load(Path(v)) for k, v in pred.items() if k in ("audio", "video")}

    def generate_audio(ws: Workspace, clip: str, model: str = "v2a") -> dict[str, Any]:
        c = _clip(ws, clip)
        audio = np.asarray(run(model, "v2a", c, clip)["audio"], np.float32).reshape(1, -1)
        return {
            "clip": ws.put(c.with_waveform(audio, sample_rate=16000)),
            "model": model,
            "seconds": audio.shape[1] / 16000,
        }

    def generate_video(ws: Workspace, clip: str, model: str = "a2v") -> dict[str, Any]:
        c = _clip(ws, clip)
        frames = np.asarray(run(model, "a2v", c, clip)["video"], np.uint8)
        return {"clip": ws.put(c.with_frames(frames, fps=8)), "model": model, "frames": len(frames)}

    return {"generate_audio": generate_audio, "generate_video": generate_video}


_DESCRIPTIONS = {
    "detect_events": "Detect audio-visual events (something seen while it sounds): label, start, end, score.",
    "parse_events": "Per-second parsing into audio events and visual events, each as label, start, end.",
    "localize_event": "The audio-visual event class of each second (AVE-style), as runs of seconds.",
    "classify": "The five most likely sound-source classes of the clip, with scores.",
    "check_sync": "Estimate how far the audio is shifted against the video (seconds, + = audio later), "
    "from the window 2.5-7.5 s; clips need 7.5 s.",
    "answer_question": "Answer a question about the clip in one word, with the seconds of its evidence.",
    "generate_audio": "Generate the sound of a clip from its video (a new clip with that audio).",
    "generate_video": "Generate frames for a clip from its audio (a new clip with those frames).",
}


def model_tools() -> list[Tool]:
    """Every avikit perception model and generator as a tool."""
    models = _Models()
    functions = {**_perception(models), **_generators(models)}
    tools = []
    for name, function in functions.items():
        properties: dict[str, Any] = {"clip": CLIP}
        required = ["clip"]
        if name == "answer_question":
            properties["question"] = {"type": "string", "minLength": 1}
            required.append("question")
        if name.startswith("generate_"):
            properties["model"] = {"type": "string", "description": "a registered generator name"}
        schema = {
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        }
        hints = {} if name.startswith("generate_") else {"readOnlyHint": True}
        tools.append(Tool(name, _DESCRIPTIONS[name], schema, function, hints))
    return tools
