"""Agent tasks on AVSynth: multi-step requests whose final answer or final clip is checked exactly.

Each task is a versioned :class:`~avikit.tasks.TaskSpec` (pillar ``interaction``, family ``tool use``), the
JSON Schema of its final answer, its reference plans (valid tool sequences, for the plan metrics of
:mod:`avikit.metrics.agent`; an argument given as ``None`` may take any value) and two functions:
:meth:`AgentTask.episodes` picks the qualifying test clips (random access, in index order) and
:meth:`AgentTask.check` scores a final answer against the scene's exact ground truth (no judge model).

- ``agent-when-sounds``: "find when the <class> sounds": the first onset, within 1 s.
- ``agent-loudest``: "which visible object makes the loudest sound?": the class (the top two differ >= 3 dB).
- ``agent-sound-silent``: make a silent clip's sound and align it to the visible hits: the answered clip's
  loudness envelope must follow the on-screen sources' activity (peak cross-correlation >= 0.2 within one
  frame).
- ``agent-remove-offscreen``: remove the off-screen sound: in the answered clip, written as the least-squares
  mix ``a * on-screen + b * off-screen`` of the scene's exact source signals, the off-screen part must drop
  by 6 dB or more (``|b| <= 0.5``) while the on-screen part keeps within 3 dB (``a >= 0.7``).
- ``agent-speech-sync``: is the speech in sync with the lips? Calling (formant vowel) sources whose audio is
  in sync or shifted by 0.6-1 s; answer yes or no.

Example:
    >>> task = get_agent_task("agent-when-sounds")
    >>> episode = task.episodes(1)[0]
    >>> answer = {"seconds": episode.truth["onset"]}
    >>> episode.prompt.startswith("Find when the"), task.check(episode, answer)["success"]
    (True, 1.0)
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from avikit._registry import lookup
from avikit.data.synth import CLASS_NAMES, SynthConfig, build_targets, generate, sample_scene
from avikit.data.synth.audio import render_audio
from avikit.data.synth.scene import Scene, activation, with_objects
from avikit.media import AVClip
from avikit.tasks.base import Protocol, TaskSpec

__all__ = [
    "AGENT_METRICS",
    "AGENT_TASKS",
    "AgentEpisode",
    "AgentTask",
    "PlannedCall",
    "get_agent_task",
    "load_episode_clip",
]

AGENT_METRICS = (
    "success",
    "tool_macro_f1",
    "argument_name_f1",
    "argument_value_f1",
    "edge_f1",
    "plan_edit_distance",
    "steps",
    "tool_seconds",
    "step_validity",
    "termination",
    "pass_k",
)
_CALLING = ("baby", "dog", "cat", "horse")


@dataclass(frozen=True)
class PlannedCall:
    """One call of a reference plan (``None`` argument values match any value)."""

    tool: str
    arguments: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AgentEpisode:
    """One request: its prompt, the clip it is about (by reference) and the truth the check reads.

    Attributes:
        id: ``<task>/<split>_<index>``.
        task: the agent task name.
        prompt: the request in words.
        clip: how to make the input clip: ``split``, ``index``, ``seed``, ``config`` (SynthConfig dict),
            ``conditions`` and ``silent`` (audio removed).
        truth: what the check compares against (JSON-able).
    """

    id: str
    task: str
    prompt: str
    clip: Mapping[str, Any]
    truth: Mapping[str, Any]


def _config(data: Mapping[str, Any]) -> SynthConfig:
    return SynthConfig.from_dict(dict(data))


def load_episode_clip(episode: AgentEpisode) -> AVClip:
    """The episode's input clip (AVSynth, regenerated; without audio for a silent-clip request)."""
    c = episode.clip
    _, clip = generate(c["split"], c["index"], c["seed"], _config(c["config"]), c["conditions"])  # type: ignore[misc]
    return clip.with_waveform(None) if c.get("silent") else clip


def _scene(episode: AgentEpisode) -> Scene:
    c = episode.clip
    return sample_scene(c["split"], c["index"], c["seed"], _config(c["config"]))


@dataclass(frozen=True)
class AgentTask:
    """An agent task: spec, answer schema, reference plans, episode picker and checker."""

    spec: TaskSpec
    answer_schema: Mapping[str, Any]
    plans: tuple[tuple[PlannedCall, ...], ...]
    pick: Callable[[Scene, int], tuple[str, dict[str, Any]] | None]
    judge: Callable[[AgentEpisode, Mapping[str, Any], Callable[[str], AVClip] | None], dict[str, float]]
    config: SynthConfig = field(default_factory=SynthConfig)
    conditions: Callable[[int], dict[str, float]] = lambda index: {}
    silent: bool = False

    @property
    def name(self) -> str:
        """The registry name."""
        return self.spec.name

    def episodes(self, count: int, seed: int = 0, split: str = "test") -> list[AgentEpisode]:
        """The first ``count`` qualifying clips of ``split`` (scanned in index order)."""
        out: list[AgentEpisode] = []
        index = 0
        while len(out) < count:
            if index > 200 * count + 1000:
                raise ValueError(f"{self.name}: fewer than {count} qualifying clips in {split}")
            conditions = self.conditions(index)
            scene = sample_scene(split, index, seed, self.config)
            picked = self.pick(scene, index)
            if picked is not None:
                prompt, truth = picked
                ref = {
                    "split": split,
                    "index": index,
                    "seed": seed,
                    "config": self.config.to_dict(),
                    "conditions": conditions,
                    "silent": self.silent,
                }
                out.append(AgentEpisode(f"{self.name}/{split}_{index:06d}", self.name, prompt, ref, truth))
            index += 1
        return out

    def check(
        self,
        episode: AgentEpisode,
        answer: Mapping[str, Any] | None,
        clip_of: Callable[[str], AVClip] | None = None,
    ) -> dict[str, float]:
        """Score the final answer (``None``: no answer): ``success`` in {0, 1} and task-specific values."""
        if answer is None:
            return {"success": 0.0}
        return self.judge(episode, answer, clip_of)


def _spec(name: str, description: str, params: dict[str, Any]) -> TaskSpec:
    return TaskSpec(
        name=name,
        pillar="interaction",
        family="tool use",
        version=1,
        benchmark="AVSynth agent tasks (m&m's plan metrics, tau-bench pass^k)",
        description=description,
        inputs=("audio", "video", "text"),
        protocol=Protocol(split="test", params={"step_budget": 8, **params}),
        target_schema={"truth": "the exact answer or the scene the final clip is checked against"},
        prediction_schema=(),
        metrics=AGENT_METRICS,
        primary_metric="success",
        unit="fraction",
        lower_is_better=("plan_edit_distance", "steps", "tool_seconds"),
        metric_units={"steps": "calls", "tool_seconds": "s"},
    )


# ---------------------------------------------------------------------------------------- when it sounds


def _pick_when(scene: Scene, index: int) -> tuple[str, dict[str, Any]] | None:
    target = scene.objects[0]
    if sum(o.cls == target.cls for o in scene.objects) != 1:
        return None
    onset = min(e["onset"] for e in build_targets(scene)["events"]["audio"] if e["object"] == 0)
    if onset < 1:
        return None  # a sound already there when the clip starts: "when" would not be asked
    return f"Find when the {target.cls} sounds and report the second its first sound starts.", {
        "label": target.cls,
        "onset": float(onset),
    }


def _judge_when(ep: AgentEpisode, answer: Mapping[str, Any], _: Any) -> dict[str, float]:
    error = abs(float(answer.get("seconds", np.inf)) - ep.truth["onset"])
    return {"success": float(error <= 1.0), "abs_error_s": error}


# ------------------------------------------------------------------------------------------- the loudest


def _pick_loudest(scene: Scene, index: int) -> tuple[str, dict[str, Any]] | None:
    seen = [o for o in scene.objects if o.on_screen and o.sounding]
    classes = [o.cls for o in scene.objects if o.on_screen]
    if len(seen) < 2 or len(set(classes)) != len(classes):
        return None
    ranked = sorted(seen, key=lambda o: -o.gain_db)
    if ranked[0].gain_db - ranked[1].gain_db < 3.0:
        return None
    return "Which visible object makes the loudest sound? Answer with its class.", {"label": ranked[0].cls}


def _judge_label(ep: AgentEpisode, answer: Mapping[str, Any], _: Any) -> dict[str, float]:
    return {"success": float(answer.get("label") == ep.truth["label"])}


# ------------------------------------------------------------------------------------ sound a silent clip


def _pick_silent(scene: Scene, index: int) -> tuple[str, dict[str, Any]] | None:
    return "This clip is silent. Make its sound, align it to the visible hits and answer with the clip.", {}


def _envelope_match(audio: np.ndarray, target: np.ndarray, fps: int, rate: int) -> tuple[int, float]:
    """Best lag (frames, |lag| <= fps) and correlation between the audio's frame RMS and a target series."""
    per = rate // fps
    frames = min(len(target), audio.shape[-1] // per)
    rms = np.sqrt(np.mean(audio[..., : frames * per].reshape(-1, frames, per) ** 2, axis=(0, 2)))
    a = (rms - rms.mean()) / (rms.std() + 1e-9)
    b = (target[:frames] - target[:frames].mean()) / (target[:frames].std() + 1e-9)
    lags = range(-fps, fps + 1)
    corr = [
        float(np.mean(a[max(0, k) : frames + min(0, k)] * b[max(0, -k) : frames - max(0, k)])) for k in lags
    ]
    best = int(np.argmax(corr))
    return list(lags)[best], corr[best]


def _answer_clip(answer: Mapping[str, Any], clip_of: Callable[[str], AVClip] | None) -> AVClip | None:
    if clip_of is None or not isinstance(answer.get("clip"), str):
        return None
    try:
        return clip_of(answer["clip"])
    except (KeyError, ValueError, OSError):
        return None


def _judge_silent(ep: AgentEpisode, answer: Mapping[str, Any], clip_of: Any) -> dict[str, float]:
    clip = _answer_clip(answer, clip_of)
    if clip is None or clip.waveform is None:
        return {"success": 0.0}
    scene = _scene(ep)
    target = sum(
        (activation(o, scene) for o in scene.objects if o.on_screen and o.sounding),
        np.zeros(scene.num_frames),
    )
    lag, corr = _envelope_match(clip.waveform, target, scene.config.fps, clip.sample_rate or 16000)
    return {"success": float(abs(lag) <= 1 and corr >= 0.2), "lag_frames": float(lag), "correlation": corr}


# ------------------------------------------------------------------------------------ remove off screen


def _pick_offscreen(scene: Scene, index: int) -> tuple[str, dict[str, Any]] | None:
    off = [o for o in scene.objects if not o.on_screen and o.sounding]
    on = [o for o in scene.objects if o.on_screen and o.sounding]
    if not off or not on:
        return None
    return "Remove the off-screen sound from this clip and answer with the clip.", {"offscreen": off[0].cls}


def _source_gains(estimate: np.ndarray, kept: np.ndarray, removed: np.ndarray) -> tuple[float, float]:
    """Least-squares gains ``(a, b)`` of ``estimate ~ a * kept + b * removed`` (how much of each remains)."""
    basis = np.stack([kept.ravel(), removed.ravel()], axis=1)
    (a, b), *_ = np.linalg.lstsq(basis, estimate.ravel(), rcond=None)
    return float(a), float(b)


def _judge_offscreen(ep: AgentEpisode, answer: Mapping[str, Any], clip_of: Any) -> dict[str, float]:
    clip = _answer_clip(answer, clip_of)
    scene = _scene(ep)
    mix = render_audio(scene).astype(np.float64)
    kept = render_audio(with_objects(scene, tuple(o for o in scene.objects if o.on_screen))).astype(
        np.float64
    )
    if clip is None or clip.waveform is None or clip.waveform.shape != mix.shape:
        return {"success": 0.0}
    a, b = _source_gains(clip.waveform.astype(np.float64), kept, mix - kept)
    return {"success": float(abs(b) <= 0.5 and a >= 0.7), "on_screen_gain": a, "off_screen_gain": b}


# ------------------------------------------------------------------------------------------ speech sync


def _speech_offset(index: int) -> float:
    k = int.from_bytes(hashlib.sha256(f"agent-speech-sync/{index}".encode()).digest()[:4], "little") % 6
    return (0.0, 0.0, 0.0, 600.0, -800.0, 1000.0)[k]


def _pick_speech(scene: Scene, index: int) -> tuple[str, dict[str, Any]] | None:
    if not any(o.on_screen and o.sounding for o in scene.objects):
        return None
    offset = _speech_offset(index)
    return "Is the speech in sync with the lips? Answer yes or no.", {
        "in_sync": offset == 0.0,
        "offset_ms": offset,
    }


def _judge_speech(ep: AgentEpisode, answer: Mapping[str, Any], _: Any) -> dict[str, float]:
    return {"success": float(answer.get("in_sync") == ep.truth["in_sync"])}


def _call(tool: str, **arguments: Any) -> PlannedCall:
    return PlannedCall(tool, arguments)


_BAND_LEVELS = _call("band_levels", clip="input", low_hz=None, high_hz=None)
_CLASS_ENUM = {"type": "string", "enum": list(CLASS_NAMES)}
_CLIP_ANSWER = {"type": "object", "properties": {"clip": {"type": "string"}}, "required": ["clip"]}

AGENT_TASKS: dict[str, AgentTask] = {
    "agent-when-sounds": AgentTask(
        _spec(
            "agent-when-sounds",
            "Find when a named source sounds; answer the first onset (within 1 s).",
            {"tolerance_s": 1.0},
        ),
        {"type": "object", "properties": {"seconds": {"type": "number"}}, "required": ["seconds"]},
        (
            (_call("class_info", label=None), _call("band_levels", clip="input", low_hz=None, high_hz=None)),
            (_call("parse_events", clip="input"),),
            (_call("detect_events", clip="input"),),
        ),
        _pick_when,
        _judge_when,
    ),
    "agent-loudest": AgentTask(
        _spec(
            "agent-loudest",
            "Name the class of the visible object whose sound is loudest.",
            {"min_gap_db": 3.0},
        ),
        {"type": "object", "properties": {"label": _CLASS_ENUM}, "required": ["label"]},
        (
            (
                _call("parse_events", clip="input"),
                *(_call("class_info", label=None), _BAND_LEVELS) * 2,
            ),
            (
                _call("parse_events", clip="input"),
                _call("audio_level", clip="input", start=None, end=None),
                _call("audio_level", clip="input", start=None, end=None),
            ),
        ),
        _pick_loudest,
        _judge_label,
    ),
    "agent-sound-silent": AgentTask(
        _spec(
            "agent-sound-silent",
            "Give a silent clip its sound, aligned to what is seen; answer the clip.",
            {"max_lag_frames": 1, "min_correlation": 0.2},
        ),
        _CLIP_ANSWER,
        (
            (_call("generate_audio", clip="input"), _call("check_sync", clip="clip_1")),
            (
                _call("generate_audio", clip="input"),
                _call("check_sync", clip="clip_1"),
                _call("shift_audio", clip="clip_1", offset_ms=None),
            ),
        ),
        _pick_silent,
        _judge_silent,
        silent=True,
    ),
    "agent-remove-offscreen": AgentTask(
        _spec(
            "agent-remove-offscreen",
            "Remove the off-screen sound (>= 6 dB) and keep the rest (within 3 dB).",
            {"max_off_screen_gain": 0.5, "min_on_screen_gain": 0.7},
        ),
        _CLIP_ANSWER,
        (
            (
                _call("parse_events", clip="input"),
                _call("class_info", label=None),
                _call("band_stop", clip="input", low_hz=None, high_hz=None),
            ),
        ),
        _pick_offscreen,
        _judge_offscreen,
    ),
    "agent-speech-sync": AgentTask(
        _spec(
            "agent-speech-sync",
            "Say whether calling (vowel-like) sources' audio is in sync with the video.",
            {"offsets_ms": [0, 600, -800, 1000], "classes": list(_CALLING)},
        ),
        {"type": "object", "properties": {"in_sync": {"type": "boolean"}}, "required": ["in_sync"]},
        ((_call("check_sync", clip="input"),),),
        _pick_speech,
        _judge_speech,
        config=SynthConfig(classes=_CALLING, p_offscreen=0.0),
        conditions=lambda index: {"av_offset_ms": _speech_offset(index)} if _speech_offset(index) else {},
    ),
}
"""Agent task name -> task."""


def get_agent_task(name: str) -> AgentTask:
    """Return an agent task by name.

    Raises:
        UnknownNameError: for an unknown name; the message lists the known ones.
    """
    return lookup(AGENT_TASKS, name, "agent task")


def with_budget(task: AgentTask, budget: int) -> AgentTask:
    """The task with another step budget (a new protocol hash)."""
    params = {**task.spec.protocol.params, "step_budget": budget}
    return replace(task, spec=replace(task.spec, protocol=replace(task.spec.protocol, params=params)))
