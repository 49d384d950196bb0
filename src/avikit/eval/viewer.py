"""The per-sample viewer: ``viewer.html`` beside ``report.html``, one self-contained offline page.

Pick a task, a model and a condition; the samples are listed by their per-clip primary score, worst first
(the :data:`MAX_SAMPLES` worst of each cell are kept). For a sample the page plays the clip as the model saw
it under the condition (``<video>`` with its sound, or ``<audio>``), draws its waveform and spectrogram and,
on the same time axis, the true and predicted segment lanes; masks and heat maps are overlaid on frames,
questions show the true and predicted answers with the evidence spans (:mod:`avikit.eval.viewer_tasks`).
Clicking on the time axis seeks the clip; a playhead follows it. Media larger than the inline limit are
files in ``viewer_media/`` (:class:`~avikit.eval.viewer_media.MediaSink`). Generation cells are left to the
report's gallery.

The runs of ``avikit agent run``, ``avikit embodied run`` and ``avikit stream run`` are shown too (``avikit
eval view RUN ...``): agent and embodied episodes with their steps on a step or time axis, each step's
observation, action or tool call, result and reward, the outcome and the episode's media
(:mod:`avikit.eval.viewer_episodes`); streams with the true events, the claimed onsets, when each output was
emitted and its latency (:mod:`avikit.eval.viewer_streams`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from avikit.data.manifest import atomic_writer
from avikit.data.sample import Sample
from avikit.errors import InputFileError
from avikit.eval.controls import apply_control, swap_partner
from avikit.eval.runner import read_cell_records
from avikit.eval.source import EvalData, load_eval_data, load_sample_clip, parse_condition, resolve_sample
from avikit.eval.viewer_episodes import agent_cells, embodied_cells
from avikit.eval.viewer_media import MediaSink, clip_media
from avikit.eval.viewer_page import viewer_page
from avikit.eval.viewer_streams import stream_cells
from avikit.eval.viewer_tasks import sample_details
from avikit.media import AVClip
from avikit.tasks import get_task
from avikit.tasks.base import Task

__all__ = ["INLINE_LIMIT", "MAX_SAMPLES", "viewer_data", "write_viewer"]

INLINE_LIMIT = 16 * 1024
"""Media files up to this many bytes are embedded in ``viewer.html``; larger ones are written beside it."""
MAX_SAMPLES = 24
"""Samples kept per cell (the worst by the per-clip primary score)."""


def _data(folder: Path, results: Mapping[str, Any]) -> EvalData:
    """The run's data, as the run loaded it (the viewer shows its media and ground truth)."""
    config = results["run"]["config"]
    dataset = config["dataset"]
    if dataset is not None and not Path(dataset).is_dir():
        raise InputFileError(
            f"{folder}: the viewer needs the run's dataset {dataset!r}, not found from {Path.cwd()}; "
            "run the report from the folder the run was made in, or pass --no-viewer"
        )
    return load_eval_data(dataset, config["split"], config["num_samples"], config["seed"])


def _clip(
    data: EvalData,
    task: Task,
    sample_id: str,
    condition: str,
    cache: dict[tuple[str, ...], tuple[Sample, AVClip]],
) -> tuple[Sample, AVClip]:
    """The sample and its clip as a model of ``task`` saw it under ``condition``, made once.

    Corruptions are regenerated and a modality control applied; ``audio_swapped`` takes the audio of the
    next sample of the task, as the runner does (:func:`avikit.eval.controls.swap_partner`).
    """
    parsed = parse_condition(condition)
    key = (sample_id, condition, task.name if parsed.control == "audio_swapped" else "")
    if key not in cache:
        samples = [s for s in data.samples if task.includes(s)]
        index = next(k for k, s in enumerate(samples) if s.id == sample_id)
        sample = resolve_sample(samples[index], parsed)
        clip = load_sample_clip(sample, data.root, data.profile)
        if parsed.control is not None and clip.frames is not None and clip.waveform is not None:
            donor = None
            if parsed.control == "audio_swapped":
                partner = samples[swap_partner(index, len(samples))]
                donor = load_sample_clip(partner, data.root, data.profile).waveform
            frames, waveform = apply_control(parsed.control, clip.frames, clip.waveform, donor)
            clip = AVClip(frames=frames, waveform=waveform, fps=clip.fps, sample_rate=clip.sample_rate)
        cache[key] = (sample, clip)
    return cache[key]


def _order(records: Sequence[Mapping[str, Any]], metric: str, lower: bool) -> list[Mapping[str, Any]]:
    """Worst first: by the per-clip primary score (records without one keep their order, last)."""

    def key(record: Mapping[str, Any]) -> tuple[int, float]:
        value = record.get("scores", {}).get(metric)
        if value is None or not math.isfinite(float(value)):
            return (1, 0.0)
        return (0, -float(value) if lower else float(value))

    return sorted(records, key=key)


def _cell(
    run: str, folder: Path, results: Mapping[str, Any], cell: Mapping[str, Any], task: Task,
    context: dict[str, Any], max_samples: int,
) -> dict[str, Any] | None:  # fmt: skip
    spec = results["tasks"][cell["task"]]
    metric, lower = spec["primary_metric"], spec["primary_metric"] in spec.get("lower_is_better", ())
    records = read_cell_records(folder, cell["task"], cell["model_id"], cell["condition"])
    ok = [r for r in records.values() if "error" not in r and "prediction" in r]
    samples = []
    for record in _order(ok, metric, lower)[:max_samples]:
        resolved, clip = _clip(context["data"], task, record["id"], cell["condition"], context["clips"])
        swapped = f"_{cell['task']}" if cell["condition"] == "audio_swapped" else ""
        media_key = f"{run}_{record['id']}_{cell['condition']}{swapped}"
        if media_key not in context["media"]:
            context["media"][media_key] = clip_media(clip, context["sink"], _slug(media_key))
        inputs = task.build_inputs(resolved)
        checked = task.check_prediction(record["prediction"], inputs, record["id"])
        media = {"frames": clip.frames, "fps": float(clip.fps or 1), "sample_rate": clip.sample_rate,
                 "duration": float(clip.duration), "sink": context["sink"],
                 "key": _slug(f"{media_key}_{cell['task']}_{cell['model_id']}")}  # fmt: skip
        details = sample_details(
            task, inputs, task.build_target(resolved, context["data"].root), checked, media
        )
        scores = {
            k: (float(v) if math.isfinite(float(v)) else None) for k, v in record.get("scores", {}).items()
        }
        samples.append({"id": record["id"], "score": scores.get(metric), "scores": scores,
                        "media": media_key, **details})  # fmt: skip
    if not samples:
        return None
    return {"run": run, "task": cell["task"], "model": cell["model_id"], "condition": cell["condition"],
            "metric": metric, "unit": spec["unit"], "lower_is_better": lower, "samples": samples}  # fmt: skip


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


def _run_kind(folder: Path) -> str:
    """``eval`` (``avikit eval run`` or ``bench``), else ``agent``, ``embodied`` or ``stream`` (``X run``)."""
    if not (folder / "results.json").is_file():
        raise InputFileError(f"{folder}: no results.json; pass a folder written by avikit eval run, bench, "
                             "agent run, embodied run or stream run")  # fmt: skip
    if "cells" in json.loads((folder / "results.json").read_text(encoding="utf-8")):
        return "eval"
    traces = folder / "traces.jsonl"
    first = traces.read_text(encoding="utf-8").split("\n", 1)[0] if traces.is_file() else ""
    fields = json.loads(first) if first.strip() else {}
    for kind, field in (("agent", "planner"), ("embodied", "policy"), ("stream", "stream")):
        if field in fields:
            return kind
    raise InputFileError(f"{traces}: missing or without planner, policy or stream records; run the benchmark "
                         "again to write its traces")  # fmt: skip


_INTERACTION: dict[str, Callable[[Path, dict[str, Callable[[], AVClip]]], list[dict[str, Any]]]] = {
    "agent": agent_cells,
    "embodied": embodied_cells,
    "stream": stream_cells,
}


def _eval_cells(folder: Path, context: dict[str, Any], max_samples: int) -> list[dict[str, Any]]:
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    cells = []
    for cell in results["cells"]:
        task = get_task(cell["task"])
        if task.spec.pillar == "generation":
            continue
        if context["data"] is None:
            context["data"] = _data(folder, results)
        task = task.for_dataset(context["data"].profile, results["run"]["config"]["split"])
        entry = _cell(folder.name, folder, results, cell, task, context, max_samples)
        if entry is not None:
            cells.append(entry)
    return cells


def viewer_data(
    folders: Sequence[Path], out: Path, inline_limit: int = INLINE_LIMIT, max_samples: int = MAX_SAMPLES
) -> dict[str, Any]:
    """The viewer's JSON for run ``folders``: ``cells`` (worst samples first), ``media``, ``inline``.

    A folder is an evaluation run (``avikit eval run``, ``avikit bench``) or an agent, embodied or
    streaming run; the cells of the last three carry ``view`` (``episodes`` or ``stream``) and keep the
    :data:`MAX_SAMPLES` worst episodes or streams too.
    """
    cells: list[dict[str, Any]] = []
    media: dict[str, Any] = {}
    sink = MediaSink(out, inline_limit)
    for folder in folders:
        kind = _run_kind(folder)
        if kind == "eval":
            context: dict[str, Any] = {"data": None, "clips": {}, "media": media, "sink": sink}
            cells += _eval_cells(folder, context, max_samples)
            continue
        clips: dict[str, Callable[[], AVClip]] = {}
        for cell in _INTERACTION[kind](folder, clips):
            kept = cell["samples"][:max_samples]
            shown = {s["media"] for s in kept} | {s["answer_media"] for s in kept if s.get("answer_media")}
            for key in shown - set(media):  # only the clips shown are made
                media[key] = clip_media(clips[key](), sink, _slug(key))
            cells.append({**cell, "samples": kept})
    return {"cells": cells, "media": media, "inline": sink.inline, "inline_limit": inline_limit,
            "files": {"inlined": sink.inlined, "written": sink.written}}  # fmt: skip


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} into the viewer's data")


def write_viewer(
    folders: Sequence[Path], out: str | Path, inline_limit: int = INLINE_LIMIT, max_samples: int = MAX_SAMPLES
) -> Path:
    """Write ``out/viewer.html`` (and ``out/viewer_media/`` for large media) for run ``folders``."""
    folder = Path(out)
    data = viewer_data([Path(f) for f in folders], folder, inline_limit, max_samples)
    text = json.dumps(data, default=_json_default, allow_nan=False, separators=(",", ":"))
    with atomic_writer(folder / "viewer.html") as f:
        f.write(viewer_page(text.replace("</", "<\\/")))
    return folder / "viewer.html"
