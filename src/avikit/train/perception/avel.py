"""Training pieces of one perception head: its training data and its loss.

Training pieces of the AVEL head of :mod:`avikit.models.perception.avel`: its training data (head inputs and
labels of a :class:`~avikit.train.feature_sets.FeatureSet`) and its loss.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F  # noqa: N812

from avikit.models.perception.avel import AVELHead
from avikit.tasks import Task
from avikit.train.feature_sets import FeatureSet

__all__ = ["avel_loss", "avel_training_data"]


# --------------------------------------------------------------------------------------------- training


def avel_training_data(data: FeatureSet, task: Task) -> dict[str, torch.Tensor]:
    """Head inputs and labels ``[N, S]`` (class indices into :data:`AVEL_LABELS`) of a feature set."""
    labels = torch.stack([torch.as_tensor(task.build_target(s)["labels"]) for s in data.samples])
    return {
        "audio_segments": data.features["audio_segments"],
        "visual_maps": data.features["visual_maps"],
        "labels": labels.long(),
    }


def avel_loss(head: AVELHead, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Cross-entropy over every segment."""
    logits = head(batch)  # [B, S, K]
    loss = F.cross_entropy(logits.flatten(0, 1), batch["labels"].flatten())
    accuracy = (logits.argmax(-1) == batch["labels"]).float().mean()
    return {"loss": loss, "accuracy": accuracy}
