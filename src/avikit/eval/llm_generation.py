"""The generation side of the AV-LLM bench: LLM+Generator calls and the unified model's video-to-audio.

- Calls: on ``clips`` test clips, every request of :func:`avikit.data.tool_requests.build_tool_requests`
  goes to the call-writing LM (``llm-generator``, and SmolLM2 as released told the schema); scores are
  the share of parsed and schema-valid calls, tool accuracy and the loudness-ramp error in dB
  (:func:`avikit.eval.llm_probes.score_tool_calls`).
- Carrying out "make the sound, quieter at the end": the reference is the clip's real sound under the
  requested ramp; the mel distance of what the LLM+Generator made is set beside the same generator called
  directly without the ramp, and the measured loudness change (last 2 s vs first 2 s, dB) beside the
  requested one.
- Video-to-audio: the unified model's sound (its audio tokens decoded by the mel codec), the packaged
  ``v2a`` generator and silence, by mel distance to the real sound.

Example:
    >>> round(loudness_change(np.r_[np.ones(32000), 0.1 * np.ones(32000)], 16000), 1)
    -20.0
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from avikit.data.synth import generate
from avikit.data.tool_requests import build_tool_requests, check_call, parse_call
from avikit.errors import AvikitError
from avikit.eval.llm_probes import generation_distance, score_tool_calls
from avikit.metrics import compute_bootstrap_ci
from avikit.models.language.llm_generator import apply_gain_ramp
from avikit.models.language.unified import V2A_PROMPT
from avikit.models.protocol import Model

__all__ = ["generation_section", "loudness_change"]

logger = logging.getLogger(__name__)


def loudness_change(audio: np.ndarray, sample_rate: int, seconds: float = 2.0) -> float:
    """RMS level of the last ``seconds`` minus that of the first, in dB."""
    n = int(seconds * sample_rate)

    def level(x: np.ndarray) -> float:
        return float(20 * np.log10(np.sqrt(np.mean(np.square(x))) + 1e-9))

    return level(audio[-n:]) - level(audio[:n])


def _mean_ci(values: list[float], seed: int) -> dict[str, Any]:
    if not values:
        return {"mean": None, "ci": None}
    return {"mean": float(np.mean(values)), "ci": list(compute_bootstrap_ci(values, seed=seed))}


def _calls(writer: Any, clips: list[tuple[Any, Any]], seed: int) -> dict[str, Any]:
    requests = [
        r for sample, _ in clips for r in build_tool_requests(sample.targets["caption"], sample.id, "test")
    ]
    texts = writer.write_calls([r.request for r in requests])
    calls = [parse_call(t) for t in texts]
    errors = [["no JSON object"] if c is None else check_call(c) for c in calls]
    return {
        **score_tool_calls(requests, calls, errors),
        "examples": [[r.request, t] for r, t in zip(requests[:8], texts[:8], strict=True)],
    }


def _ramp(writer: Any, clips: list[tuple[Any, Any]], seed: int) -> dict[str, Any]:
    request, gain = "Make the sound for this silent clip, quieter at the end.", [0, -12]
    made, direct, change = [], [], []
    for _, clip in clips:
        reference = apply_gain_ramp(clip.require_waveform().mean(0), gain)
        result = writer.run(request, clip.require_frames(), clip.require_waveform(), seed)
        made.append(generation_distance(reference, result.audio, clip.sample_rate))
        plain = writer.generators["v2a"].generate(clip.require_frames(), seed)
        direct.append(generation_distance(reference, plain, clip.sample_rate))
        if result.audio is not None:
            change.append(loudness_change(result.audio, clip.sample_rate))
    return {
        "request": request,
        "requested_change_db": gain[1] - gain[0],
        "llm_generator_mel": _mean_ci(made, seed),
        "v2a_without_ramp_mel": _mean_ci(direct, seed),
        "measured_change_db": _mean_ci(change, seed),
    }


def _video_to_audio(unified: Any, v2a: Any, clips: list[tuple[Any, Any]], seed: int) -> dict[str, Any]:
    rows: dict[str, list[float]] = {"unified-av": [], "v2a": [], "silence": []}
    for _, clip in clips:
        frames, wave = clip.require_frames(), clip.require_waveform()
        reference = wave.mean(0)
        video, _ = unified.clip_codes(frames[None, ::4], wave[None])
        text = unified.answer([unified.media_ids(video[0], None)], [V2A_PROMPT], max_new_tokens=96)[0]
        rows["unified-av"].append(
            generation_distance(reference, unified.decode_audio(text, len(reference)), clip.sample_rate)
        )
        if v2a is not None:
            rows["v2a"].append(generation_distance(reference, v2a.generate(frames, seed), clip.sample_rate))
        rows["silence"].append(generation_distance(reference, None, clip.sample_rate))
    return {name: _mean_ci(values, seed) for name, values in rows.items() if values}


def generation_section(models: Mapping[str, Model], clips: int, seed: int) -> dict[str, Any]:
    """Calls, ramp adherence and video-to-audio on ``clips`` test clips (see the module docstring)."""
    from avikit.models.language.llm_generator import load_llm_generator, load_llm_generator_zero_shot

    data = [generate("test", i, seed)[:2] for i in range(clips)]
    out: dict[str, Any] = {"clips": clips}
    writers = {}
    for name, load in (
        ("llm-generator", load_llm_generator),
        ("llm-generator-zero-shot", load_llm_generator_zero_shot),
    ):
        try:
            writers[name] = load()
        except (AvikitError, OSError, ValueError) as error:
            out.setdefault("skipped", {})[name] = str(error)
    for name, writer in writers.items():
        out[f"calls/{name}"] = _calls(writer, data, seed)
    if "llm-generator" in writers:
        out["ramp/llm-generator"] = _ramp(writers["llm-generator"], data, seed)
    if "unified-av" in models:
        v2a = next(iter(writers.values())).generators["v2a"] if writers else None
        out["video_to_audio"] = _video_to_audio(models["unified-av"], v2a, data, seed)
    return out
