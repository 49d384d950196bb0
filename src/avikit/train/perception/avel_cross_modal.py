"""Training pieces of one perception head: its training data and its loss.

Training pieces of the AVE cross-modal localisation head of
:mod:`avikit.models.perception.avel_cross_modal`: its training data (head inputs and labels of a
:class:`~avikit.train.feature_sets.FeatureSet`) and its loss.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import torch
import torch.nn.functional as F  # noqa: N812

from avikit.data.synth.ground_truth import BACKGROUND
from avikit.models.perception.avel_cross_modal import CrossModalHead
from avikit.tasks import Task, get_task
from avikit.train.feature_sets import FeatureSet

__all__ = ["cross_modal_loss", "cross_modal_training_data"]


# --------------------------------------------------------------------------------------------- training


def cross_modal_training_data(data: FeatureSet, task: Task) -> dict[str, torch.Tensor]:
    """Segment features, the event mask ``[N, S]`` of every clip, and whether the task would score it ``[N]``.

    Every clip teaches the per-second event logits; the clips the task scores (one run of event seconds,
    neither empty nor the whole clip) also teach the listwise choice of the window.
    """
    cross = get_task("avel-cross-modal")
    events = torch.tensor([[label != BACKGROUND for label in s.target("avel")] for s in data.samples])
    scored = [cross.includes(replace(s, split=cross.spec.protocol.split)) for s in data.samples]
    return {
        "audio_segments": data.features["audio_segments"],
        "visual_segments": data.features["visual_segments"],
        "events": events.float(),
        "scored": torch.tensor(scored, dtype=torch.bool),
    }


def _window_costs(cost: torch.Tensor, length: torch.Tensor) -> torch.Tensor:
    """Costs ``[B, S]`` and event lengths ``[B]`` -> summed cost of every window start ``[B, S]``.

    A window that would run past the end costs ``inf``.
    """
    s = cost.shape[1]
    csum = F.pad(cost.cumsum(1), (1, 0))  # [B, S + 1]
    starts = torch.arange(s)
    ends = (starts[None, :] + length[:, None]).clamp(max=s)  # [B, S]
    total = csum.gather(1, ends) - csum[:, :s]
    return torch.where(starts[None, :] + length[:, None] <= s, total, torch.full_like(total, float("inf")))


def _listwise(logits: torch.Tensor, events: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the true window start under a softmax over the negated window costs."""
    windows = _window_costs(F.softplus(-logits), events.sum(1).long())  # [B, S]
    return F.cross_entropy(-windows, events.argmax(1))


def cross_modal_loss(head: CrossModalHead, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Per-second binary cross-entropy plus a listwise loss over the places the task slides the query to.

    The task picks the window start with the least summed distance; the listwise term is the cross-entropy of
    the true start under a softmax over the negated window costs.
    """
    logits = head.event_logits(batch)  # [B, S]
    events = batch["events"]  # [B, S]
    per_second = F.binary_cross_entropy_with_logits(logits, events)
    scored = batch["scored"]
    listwise = _listwise(logits[scored], events[scored]) if bool(scored.any()) else logits.sum() * 0
    return {"loss": per_second + listwise, "per_second": per_second, "listwise": listwise}
