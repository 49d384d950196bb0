"""What the per-sample viewer draws for one sample of a task: segment lanes, overlays, questions, notes.

Each task's ground truth and checked prediction become plain JSON:

- ``lanes``: ``{"name", "kind": "truth" | "pred" | "window", "segments": [[start s, end s, label], ...]}`` on
  the clip's time axis: AVEL (per-segment labels), AVVP (audio and visual lanes), dense localization
  (labelled spans), and the task's input window when it is not the whole clip (the streaming tasks'
  emissions and latencies are drawn from their runs' traces: :mod:`avikit.eval.viewer_streams`);
- ``overlays``: ``{"time", "frame", "truth", "pred"}`` image sources of a frame with the true and predicted
  mask or heat map (AVS, source localization), drawn over each other in the page;
- ``qa``: question, true and predicted answer, true and cited evidence spans (AVQA);
- ``notes``: short lines for everything else (a sync offset, or the prediction's fields).

Example:
    >>> segments_from_labels(["dog", "dog", "background", "cat"], [(0, 1), (1, 2), (2, 3), (3, 4)])
    [[0, 2, 'dog'], [3, 4, 'cat']]
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from avikit.eval.viewer_media import MediaSink, png_bytes
from avikit.tasks.base import Task, TaskInputs

__all__ = ["sample_details", "segments_from_labels"]

_TRUTH, _PRED = (64, 200, 90), (230, 60, 60)
_MAX_EVENTS = 20


def segments_from_labels(labels: Sequence[str], times: Sequence[tuple[float, float]]) -> list[list[Any]]:
    """Runs of equal labels over consecutive segments ``times``, ``background`` left out."""
    out: list[list[Any]] = []
    for label, (start, end) in zip(labels, times, strict=False):
        if label == "background":
            continue
        if out and out[-1][2] == label and out[-1][1] == start:
            out[-1][1] = end
        else:
            out.append([start, end, label])
    return out


def _times(inputs: TaskInputs, sample_rate: float) -> list[tuple[float, float]]:
    return [(round(s[2] / sample_rate, 3), round(s[3] / sample_rate, 3)) for s in inputs.segments]


def _avel(
    task: Task, inputs: TaskInputs, target: Mapping[str, Any], pred: Mapping[str, Any], sr: float
) -> dict:
    names = task.vocabularies()["avel_labels"]
    times = _times(inputs, sr)
    truth = [names[int(i)] for i in np.asarray(target["labels"])]
    guess, true = segments_from_labels(list(pred["labels"]), times), segments_from_labels(truth, times)
    return {"lanes": [{"name": "true events", "kind": "truth", "segments": true},
                      {"name": "predicted events", "kind": "pred", "segments": guess}]}  # fmt: skip


def _matrix_segments(
    matrix: NDArray[Any], names: Sequence[str], times: Sequence[tuple[float, float]]
) -> list:
    out: list[list[Any]] = []
    for c, row in enumerate(np.asarray(matrix)):
        labels = [names[c] if v else "background" for v in row]
        out += segments_from_labels(labels, times)
    return sorted(out)


def _avvp(
    task: Task, inputs: TaskInputs, target: Mapping[str, Any], pred: Mapping[str, Any], sr: float
) -> dict:
    names = task.vocabularies()["classes"]
    times = _times(inputs, sr)
    lanes = []
    for modality in ("audio", "visual"):
        lanes.append({"name": f"true {modality}", "kind": "truth",
                      "segments": _matrix_segments(target[modality], names, times)})  # fmt: skip
        predicted = [
            [names[c] if names[c] in step else "background" for step in pred[modality]]
            for c in range(len(names))
        ]
        segments = sorted(s for labels in predicted for s in segments_from_labels(labels, times))
        lanes.append({"name": f"predicted {modality}", "kind": "pred", "segments": segments})
    return {"lanes": lanes}


def _events(
    task: Task, inputs: TaskInputs, target: Mapping[str, Any], pred: Mapping[str, Any], sr: float
) -> dict:
    truth = [[float(s), float(e), str(label)] for label, s, e in target["events"]]
    ranked = sorted(pred["events"], key=lambda e: -float(e.get("score", 1.0)))[:_MAX_EVENTS]
    guesses = [
        [float(e["start"]), float(e["end"]), f"{e['label']} ({float(e.get('score', 1.0)):.2f})"]
        for e in ranked
    ]
    name = f"predicted (top {_MAX_EVENTS} by score)"
    return {"lanes": [{"name": "true events", "kind": "truth", "segments": truth},
                      {"name": name, "kind": "pred", "segments": guesses}]}  # fmt: skip


def _mask_png(mask: NDArray[Any], colour: tuple[int, int, int], alpha: NDArray[Any] | None = None) -> bytes:
    weight = (np.asarray(mask) > 0).astype(np.float32) if alpha is None else np.clip(alpha, 0, 1)
    rgba = np.zeros((*weight.shape, 4), np.uint8)
    rgba[..., :3] = colour
    rgba[..., 3] = (150 * weight).astype(np.uint8)
    return png_bytes(rgba)


def _overlays(
    frames: NDArray[np.uint8], fps: float, indices: Sequence[int], truth: Sequence[NDArray[Any]],
    pred: Sequence[tuple[NDArray[Any], NDArray[Any] | None]], sink: MediaSink, key: str,
) -> list[dict[str, Any]]:  # fmt: skip
    out = []
    for k, (index, true_mask, (pred_mask, heat)) in enumerate(zip(indices, truth, pred, strict=True)):
        frame = frames[min(int(index), len(frames) - 1)]
        images = {"frame": png_bytes(frame), "truth": _mask_png(true_mask, _TRUTH),
                  "pred": _mask_png(pred_mask, _PRED, heat)}  # fmt: skip
        sources = {
            name: sink.source(data, "image/png", f"{key}_{name}{k}.png") for name, data in images.items()
        }
        out.append({"time": round(int(index) / fps, 3), **sources})
    return out


def _avs(
    inputs: TaskInputs, target: Mapping[str, Any], pred: Mapping[str, Any], media: Mapping[str, Any]
) -> dict:
    masks = np.asarray(pred["masks"])
    pairs = [(m, None) for m in masks]
    return {"overlays": _overlays(media["frames"], media["fps"], inputs.frames, list(target["masks"]), pairs,
                                  media["sink"], media["key"])}  # fmt: skip


def _heat(
    inputs: TaskInputs, target: Mapping[str, Any], pred: Mapping[str, Any], media: Mapping[str, Any]
) -> dict:
    heat = np.asarray(pred["heatmap"], np.float32)
    span = float(heat.max() - heat.min())
    scaled = (heat - heat.min()) / span if span > 0 else np.zeros_like(heat)
    truth = [np.asarray(target["map"])]
    return {"overlays": _overlays(media["frames"], media["fps"], inputs.frames[:1], truth,
                                  [(np.ones_like(heat), scaled)], media["sink"], media["key"])}  # fmt: skip


def _span(value: Any) -> list[float] | None:
    """A cited span ``{"start", "end"}`` or ``[start, end]`` as ``[start, end]``; None when not given."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return [float(value["start"]), float(value["end"])]
    return [float(v) for v in value]


def _qa(inputs: TaskInputs, target: Mapping[str, Any], pred: Mapping[str, Any]) -> dict:
    rows: list[dict[str, Any]] = []
    cited = pred.get("evidence") or [None] * len(inputs.text)
    for question, truth, predicted, span, guess in zip(
        inputs.text, target["answers"], pred["answers"], target["evidence"], cited, strict=False
    ):
        rows.append({"question": question, "truth": str(truth), "predicted": str(predicted),
                     "correct": str(truth) == str(predicted), "evidence_truth": [float(v) for v in span],
                     "evidence_pred": _span(guess)})  # fmt: skip
    spans = [(k, r["evidence_truth"], r["evidence_pred"]) for k, r in enumerate(rows)]
    truth = [[*t, f"Q{k + 1}"] for k, t, _ in spans if t[1] > t[0]]
    given = [[*g, f"Q{k + 1}"] for k, _, g in spans if g is not None]
    return {"qa": rows, "lanes": [{"name": "true evidence", "kind": "truth", "segments": truth},
                                  {"name": "cited evidence", "kind": "pred", "segments": given}]}  # fmt: skip


def _short(value: Any, limit: int = 240) -> str:
    text = json.dumps(value, default=lambda v: np.asarray(v).tolist())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _notes(task: Task, target: Mapping[str, Any], pred: Mapping[str, Any]) -> dict:
    if "logits" in pred and "label" in target:
        guess = int(np.argmax(np.asarray(pred["logits"])))
        return {"notes": [f"true class {int(target['label'])}, predicted class {guess}"]}
    fields = {k: v for k, v in pred.items() if k != "id"}
    notes = [f"prediction: {_short(fields)}"]
    return {"notes": notes + ([f"target: {_short(dict(target))}"] if target else [])}


def _cross_modal(
    task: Task, inputs: TaskInputs, target: Mapping[str, Any], pred: Mapping[str, Any], sr: float
) -> dict:
    """The event segments as the true lane; the predicted distance matrix as a note."""
    labels = ["event" if v else "background" for v in np.asarray(target["events"])]
    lane = {
        "name": "true event segments",
        "kind": "truth",
        "segments": segments_from_labels(labels, _times(inputs, sr)),
    }
    return {"lanes": [lane], **_notes(task, {}, pred)}


_SEGMENTS: dict[str, Callable[..., dict]] = {"avel": _avel, "avel-cross-modal": _cross_modal, "avvp": _avvp}


def sample_details(
    task: Task,
    inputs: TaskInputs,
    target: Mapping[str, Any],
    pred: Mapping[str, Any],
    media: Mapping[str, Any],
) -> dict[str, Any]:
    """The lanes, overlays, questions and notes of one sample (see the module docstring).

    ``task``'s ``inputs`` and ``target`` of the sample and the checked prediction ``pred``; ``media`` holds
    the clip's ``frames``, ``fps``, ``sample_rate`` and ``duration``, the ``sink`` for images and a file-name
    ``key`` unique to the sample and cell.
    """
    sr = float(media["sample_rate"] or 1.0)
    if task.name in _SEGMENTS:
        out = _SEGMENTS[task.name](task, inputs, target, pred, sr)
    elif "events" in target and "events" in pred:
        out = _events(task, inputs, target, pred, sr)
    elif "masks" in pred and media["frames"] is not None:
        out = _avs(inputs, target, pred, media)
    elif "heatmap" in pred and media["frames"] is not None:
        out = _heat(inputs, target, pred, media)
    elif "answers" in target and "evidence" in target and inputs.text:
        out = _qa(inputs, target, pred)
    else:
        out = _notes(task, target, pred)
    start, end = inputs.audio
    if media["sample_rate"] and (start > 0 or end / sr < media["duration"] - 1e-3):
        window = [[round(start / sr, 3), round(end / sr, 3), "model input"]]
        out.setdefault("lanes", []).append({"name": "input window", "kind": "window", "segments": window})
    return out
