"""Training pieces of one perception head: its training data and its loss.

Training pieces of the AVVP head of :mod:`avikit.models.perception.avvp`: its training data (head inputs and
labels of a :class:`~avikit.train.feature_sets.FeatureSet`) and its loss.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F  # noqa: N812

from avikit.data.synth.classes import CLASS_NAMES
from avikit.models.perception.avvp import AVVPHead
from avikit.tasks import Task, get_task
from avikit.train.feature_sets import FeatureSet

__all__ = ["avvp_loss", "avvp_training_data"]


# --------------------------------------------------------------------------------------------- training


def avvp_training_data(data: FeatureSet, task: Task) -> dict[str, torch.Tensor]:
    """Segment features and the video-level labels ``[N, C]`` (a class anywhere, in either modality)."""
    parse, labels = get_task("avvp"), torch.zeros(len(data), len(CLASS_NAMES))
    for n, sample in enumerate(data.samples):
        target = parse.build_target(sample)
        labels[n] = torch.as_tensor((target["audio"] | target["visual"]).max(axis=1), dtype=torch.float32)
    return {
        "audio_segments": data.features["audio_segments"],
        "visual_segments": data.features["visual_segments"],
        "labels": labels,
    }


def avvp_loss(head: AVVPHead, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Binary cross-entropy of the video-level probabilities (the only supervision)."""
    video, _ = head(batch)
    return {"loss": F.binary_cross_entropy(video, batch["labels"])}
