"""Training pieces of one perception head: its training data and its loss.

Training pieces of the classification head of :mod:`avikit.models.perception.classification`: its training
data (head inputs and labels of a :class:`~avikit.train.feature_sets.FeatureSet`) and its loss.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F  # noqa: N812

from avikit.data.synth import load_clip
from avikit.data.synth.classes import CLASS_NAMES
from avikit.models.perception.classification import ClassificationHead, media_cues
from avikit.models.perception.retrieval import main_class
from avikit.tasks import Task, cut_media
from avikit.train.feature_sets import FeatureSet

__all__ = ["classification_loss", "classification_training_data"]


# --------------------------------------------------------------------------------------------- training


def classification_training_data(data: FeatureSet, task: Task) -> dict[str, torch.Tensor]:
    """Segment features, media cues, the main class, the heard classes and the classes on screen.

    The main class is ``-1`` for clips without an audio-visual event; heard and on-screen classes are
    ``[N, C]``. The media cues are made from the samples' media (AVSynth regenerates a clip in milliseconds).
    """
    heard = torch.zeros(len(data), len(CLASS_NAMES))
    visible = torch.zeros(len(data), len(CLASS_NAMES))
    cues = []
    for n, (sample, inputs) in enumerate(zip(data.samples, data.inputs, strict=True)):
        seconds = max(1, round((inputs.audio[1] - inputs.audio[0]) / task.check_rates(sample).sample_rate))
        heard[n, [CLASS_NAMES.index(c) for c in sample.target("sounding_classes")]] = 1.0
        shown = [o["class"] for o in sample.target("objects") if o["on_screen"]]
        visible[n, [CLASS_NAMES.index(c) for c in shown]] = 1.0
        frames, waveform = cut_media(load_clip(sample), inputs)
        cues.append(media_cues([frames], [waveform], seconds))
    labels = torch.tensor([main_class(s) for s in data.samples])
    return {
        "audio_segments": data.features["audio_segments"],
        "visual_maps": data.features["visual_maps"],
        "colours": torch.cat([c["colours"] for c in cues]),
        "spectra": torch.cat([c["spectra"] for c in cues]),
        "label": labels,
        "heard": heard,
        "visible": visible,
    }


def classification_loss(
    head: ClassificationHead, batch: Mapping[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """Cross-entropy of the main class, binary cross-entropy of the heard classes and of each cue alone.

    The main class counts on clips with an event; each cue alone learns to name its classes (heard for the
    two audio cues, on screen for the look).
    """
    logits, heard = head(batch)
    keep = batch["label"] >= 0
    main = F.cross_entropy(logits[keep], batch["label"][keep]) if bool(keep.any()) else logits.sum() * 0
    multi = F.binary_cross_entropy_with_logits(heard, batch["heard"])
    cues = head.heard.cues(batch)  # [B, C, 3]
    targets = torch.stack([batch["heard"], batch["heard"], batch["visible"]], dim=-1)
    each = F.binary_cross_entropy_with_logits(cues, targets)
    return {"loss": main + multi + each, "main": main, "heard": multi, "cues": each}
