"""Training pieces of one perception head: its training data and its loss.

Training pieces of the dense localisation head of :mod:`avikit.models.perception.dense_localization`: its
training data (head inputs and labels of a :class:`~avikit.train.feature_sets.FeatureSet`) and its loss.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F  # noqa: N812

from avikit.models.perception.dense_localization import DenseHead
from avikit.tasks import Task, get_task
from avikit.train.feature_sets import FeatureSet

__all__ = ["dense_loss", "dense_training_data"]


# --------------------------------------------------------------------------------------------- training


def dense_training_data(data: FeatureSet, task: Task) -> dict[str, torch.Tensor]:
    """Segment features and per-second audio-visual class labels ``[N, S, C]`` (heard and seen)."""
    parse = get_task("avvp")
    labels = []
    for sample in data.samples:
        target = parse.build_target(sample)
        labels.append(torch.as_tensor(target["audio"] & target["visual"], dtype=torch.float32).T)  # [S, C]
    return {
        "audio_segments": data.features["audio_segments"],
        "visual_maps": data.features["visual_maps"],
        "labels": torch.stack(labels),
    }


def dense_loss(head: DenseHead, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Binary cross-entropy per second and class."""
    return {"loss": F.binary_cross_entropy_with_logits(head(batch), batch["labels"])}
