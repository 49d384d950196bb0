"""Linear probes: one linear layer on pooled features of the frozen AVSynth trunk.

The standard way to measure what a self-supervised representation holds (as in CAV-MAE's and MAE's
linear-probe tables): the trunk stays frozen, its features are pooled, and one ``nn.Linear`` is fit on them.
Nothing else is learned: no attention, no fusion layer, no hidden layer. Three tasks:

- ``avel``: per-second logits ``W x_t + b`` over :data:`~avikit.tasks.AVEL_LABELS`, where ``x_t`` is the
  trunk's four segment features of second ``t`` side by side (audio, visual, fused audio, fused visual);
- ``classification``: class logits ``W mean_t(x_t) + b`` over the AVSynth classes;
- ``retrieval``: audio ``W_a mean_t(a_t)`` and video ``W_v mean_t(v_t)`` embeddings from the unfused audio
  and visual segment features (a query must not see its partner); one linear map per modality.

The classifiers are multinomial logistic regression with an L2 penalty, fit to convergence by full-batch
L-BFGS on standardised features; the standardisation is folded back into the layer, so the saved probe is
exactly ``x -> W x + b`` on the raw pooled features. The retrieval probe minimises symmetric InfoNCE.

Probes are fit by :mod:`avikit.train.linear_probe`; this module holds the model they become.

Example:
    >>> import torch
    >>> features = {"audio_segments": torch.randn(2, 10, 8), "visual_segments": torch.randn(2, 10, 8)}
    >>> [tuple(x.shape) for x in pooled_features("retrieval", features)]
    [(2, 8), (2, 8)]
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.data.synth.classes import CLASS_NAMES
from avikit.errors import InputFileError, UsageError
from avikit.models.encoders.input_geometry import LabelMap
from avikit.models.encoders.trunk import ENCODER_NAME, WEIGHTS_DIR, TrunkModel, combined_hash, load_encoder
from avikit.models.encoders.trunk_encoding import MediaItem, encode_items
from avikit.nn import (
    load_weights,
    resolve_pretrained,
)
from avikit.nn.config import config_from_dict
from avikit.tasks import AVEL_LABELS, Task

__all__ = ["PROBE_TASKS", "LinearProbeModel", "ProbeRecipe", "load_linear_probe", "pooled_features"]


PROBE_TASKS = ("avel", "classification", "retrieval")
"""Tasks with a linear probe."""
_SEGMENTS = 10  # every probe task sees the avel inputs: 10 s, one trunk segment per second
_PROBE_FILE = "probe.json"


@dataclass(frozen=True)
class ProbeRecipe:
    """A linear probe's data and fit: ``train_clips`` AVSynth train clips through the task's inputs.

    Attributes:
        encoder: the frozen trunk (a packaged name or a folder).
        train_clips: AVSynth ``train`` clips (the same clips the shipped heads trained on).
        val_clips: AVSynth ``val`` clips that choose the L2 penalty.
        l2_grid: L2 penalties tried (mean loss + ``l2 / 2 * |W|^2``, on standardised features).
        max_iter: L-BFGS iterations (the fit stops earlier once converged).
        temperature: InfoNCE temperature (retrieval only).
        seed: seed of the fit.
        data_seed: AVSynth seed.
    """

    encoder: str = ENCODER_NAME
    train_clips: int = 300
    val_clips: int = 64
    l2_grid: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)
    max_iter: int = 200
    temperature: float = 0.07
    seed: int = 0
    data_seed: int = 0


# -------------------------------------------------------------------------------------------- features


def pooled_features(task: str, features: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """The probe's input: trunk features pooled for ``task`` (no learned pooling).

    Returns:
        ``avel``: ``([B, S, 4D],)``; ``classification``: ``([B, 4D],)``; ``retrieval``: audio ``[B, D]`` and
        video ``[B, D]``.
    """
    if task == "retrieval":
        return features["audio_segments"].mean(1), features["visual_segments"].mean(1)
    keys = ("audio_segments", "visual_segments", "joint_audio", "joint_visual")
    per_second = torch.cat([features[k] for k in keys], dim=-1)  # [B, S, 4D]
    if task == "avel":
        return (per_second,)
    if task == "classification":
        return (per_second.mean(1),)
    raise UsageError(f"no linear probe for task {task!r}; probes exist for {', '.join(PROBE_TASKS)}")


# ------------------------------------------------------------------------------------------------ model


class LinearProbeModel(TrunkModel):
    """The frozen trunk and one linear layer per output (a ``ModuleList`` of one or two ``nn.Linear``)."""

    head: nn.ModuleList

    def __init__(self, encoder: Any, head: nn.ModuleList, task: str, weights_hash: str) -> None:
        super().__init__(encoder, head, f"avikit/{task}-linear-probe", weights_hash)
        if task not in PROBE_TASKS:
            raise UsageError(f"no linear probe for task {task!r}; probes exist for {', '.join(PROBE_TASKS)}")
        self.tasks = (task,)

    def logits(self, features: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        """The probe's outputs on trunk features: one linear map of the pooled features per output."""
        pooled = pooled_features(self.tasks[0], features)
        return tuple(layer(x) for layer, x in zip(self.head, pooled, strict=True))

    @torch.no_grad()
    def predict(self, task: Task, batch: Sequence[MediaItem]) -> list[dict[str, Any]]:
        """Predictions in the task's schema (labels, class scores or unit embeddings)."""
        self.check_task(task)
        batch = self.adapt(task, batch)
        outputs = self.logits(encode_items(self.encoder, batch, _SEGMENTS))
        if task.name == "avel":
            known = torch.from_numpy(LabelMap(AVEL_LABELS, task.vocabularies()["avel_labels"]).mask())
            labels = outputs[0].masked_fill(~known, float("-inf")).argmax(-1)  # [B, S]
            return [
                {"id": item.id, "labels": [AVEL_LABELS[k] for k in row.tolist()]}
                for item, row in zip(batch, labels, strict=True)
            ]
        if task.name == "classification":
            ours = outputs[0].softmax(-1).numpy()
            scores = LabelMap(CLASS_NAMES, task.vocabularies()["classes"]).scores(ours)
            return [{"id": it.id, "scores": row.tolist()} for it, row in zip(batch, scores, strict=True)]
        audio, video = (F.normalize(x, dim=-1) for x in outputs)
        return [
            {"id": it.id, "audio_embedding": a.tolist(), "video_embedding": v.tolist()}
            for it, a, v in zip(batch, audio, video, strict=True)
        ]


def load_linear_probe(folder: str | os.PathLike[str]) -> LinearProbeModel:
    """Load a probe saved by :func:`train_linear_probe` with its frozen trunk, in eval mode."""
    path = Path(folder)
    if not (path / _PROBE_FILE).is_file():
        raise InputFileError(
            f"{path} has no {_PROBE_FILE}; train one with `avikit train <task>-linear-probe`"
        )
    meta = json.loads((path / _PROBE_FILE).read_text())
    recipe = config_from_dict(ProbeRecipe, meta["recipe"])
    encoder_folder = resolve_pretrained(recipe.encoder, [WEIGHTS_DIR])
    encoder = load_encoder(encoder_folder)
    dim = encoder.audio.dim
    if meta["task"] == "retrieval":
        head = nn.ModuleList([nn.Linear(dim, dim), nn.Linear(dim, dim)])
    else:
        k = len(AVEL_LABELS) if meta["task"] == "avel" else len(CLASS_NAMES)
        head = nn.ModuleList([nn.Linear(4 * dim, k)])
    load_weights(head, path / "model.safetensors", meta["sha256"])
    weights_hash = combined_hash(path / "model.safetensors", encoder_folder / "model.safetensors")
    return LinearProbeModel(encoder, head.requires_grad_(False), meta["task"], weights_hash).eval()
