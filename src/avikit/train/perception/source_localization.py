"""Training pieces of one perception head: its training data and its loss.

Training pieces of the sound source localisation head of
:mod:`avikit.models.perception.source_localization`: its training data (head inputs and labels of a
:class:`~avikit.train.feature_sets.FeatureSet`) and its loss.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from avikit.data.synth import load_clip
from avikit.data.synth.classes import CLASS_NAMES
from avikit.models.perception.avs import frame_colours, segment_spectra
from avikit.models.perception.source_localization import SourceHead
from avikit.tasks import Task, cut_media
from avikit.train.feature_sets import FeatureSet

__all__ = ["source_loss", "source_training_data"]


# --------------------------------------------------------------------------------------------- training


def source_training_data(data: FeatureSet, task: Task, size: int = 32) -> dict[str, torch.Tensor]:
    """Trunk features, media cues, soft source maps and the classes heard in the audio window.

    The source map is averaged to ``[N, size, size]``, the heard classes are ``[N, C]``. The
    media are remade from the samples (AVSynth regenerates a clip in milliseconds).
    """
    maps, colours, spectra, heard = [], [], [], torch.zeros(len(data), len(CLASS_NAMES))
    for n, (sample, inputs) in enumerate(zip(data.samples, data.inputs, strict=True)):
        maps.append(torch.as_tensor(task.build_target(sample)["map"], dtype=torch.float32))
        frames, waveform = cut_media(load_clip(sample), inputs)
        colours.append(frame_colours(frames[None], size)[0])
        spectra.append(segment_spectra(waveform[None].astype(np.float32), 1)[0])
        rate = task.check_rates(sample).sample_rate
        start, stop = (Fraction(x, rate) for x in inputs.audio)
        for event in sample.target("events")["audio"]:
            if Fraction(event["onset"]) < stop and Fraction(event["offset"]) > start:
                heard[n, CLASS_NAMES.index(event["label"])] = 1.0
    return {
        "visual_maps": data.features["visual_maps"],
        "colours": torch.stack(colours),
        "spectra": torch.stack(spectra),
        "map": F.adaptive_avg_pool2d(torch.stack(maps)[:, None], size)[:, 0],  # [N, s, s]
        "heard": heard,
    }


def source_loss(head: SourceHead, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Pixel-wise binary cross-entropy against the soft source map, plus heard-class cross-entropy."""
    heatmap = F.binary_cross_entropy_with_logits(head(batch), batch["map"])
    heard = F.binary_cross_entropy_with_logits(head.heard(head.audio_embedding(batch)), batch["heard"])
    return {"loss": heatmap + heard, "heatmap": heatmap, "heard": heard}
