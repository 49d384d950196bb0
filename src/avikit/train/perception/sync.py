"""Training pieces of one perception head: its training data and its loss.

Training pieces of the synchronisation head of :mod:`avikit.models.perception.sync`: its training data (head
inputs and labels of a :class:`~avikit.train.feature_sets.FeatureSet`) and its loss.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from avikit.data.synth import load_clip
from avikit.models.perception.sync import (
    _STEPS_PER_OFFSET,
    AUDIO_HOP,
    SyncHead,
    compute_audio_frames,
    pool_visual_maps,
)
from avikit.tasks import SYNC_OFFSETS, Task
from avikit.train.feature_sets import FeatureSet

__all__ = ["sync_loss", "sync_training_data"]


# --------------------------------------------------------------------------------------------- training


def sync_training_data(data: FeatureSet, task: Task, offsets_per_clip: int = 6) -> dict[str, torch.Tensor]:
    """Per-frame visual features, audio frames and offset classes: each clip at several offsets.

    The video window is fixed, so the audio of any offset trains the head on the same frames: each clip
    gives its protocol offset and ``offsets_per_clip - 1`` others drawn (seeded) from the 21. The audio is
    cut from the clips' media (AVSynth regenerates them in milliseconds).
    """
    rng = np.random.default_rng(0)
    visual = pool_visual_maps(data.features["visual_maps"])  # [N, 40, 2D]
    waves, labels, index = [], [], []
    for n, (sample, inputs) in enumerate(zip(data.samples, data.inputs, strict=True)):
        waveform = load_clip(sample).require_waveform()  # [C, samples of the clip]
        protocol = int(task.build_target(sample)["label"])
        others = rng.choice(
            [k for k in range(len(SYNC_OFFSETS)) if k != protocol], offsets_per_clip - 1, False
        )
        for label in (protocol, *others.tolist()):
            start = inputs.audio[0] + (label - protocol) * _STEPS_PER_OFFSET * AUDIO_HOP
            waves.append(waveform[:, start : start + inputs.audio[1] - inputs.audio[0]])
            labels.append(label)
            index.append(n)
    frames = torch.cat([compute_audio_frames(np.stack(waves[k : k + 64])) for k in range(0, len(waves), 64)])
    return {"audio_frames": frames, "visual_frames": visual[index], "label": torch.tensor(labels)}


def sync_loss(head: SyncHead, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Cross-entropy over the 21 offsets."""
    logits = head(batch)
    loss = F.cross_entropy(logits, batch["label"])
    return {"loss": loss, "accuracy": (logits.argmax(-1) == batch["label"]).float().mean()}
