"""Training pieces of one perception head: its training data and its loss.

Training pieces of the AVS head of :mod:`avikit.models.perception.avs`: its training data (head inputs and
labels of a :class:`~avikit.train.feature_sets.FeatureSet`) and its loss.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from avikit.data.sample import Sample
from avikit.data.synth import load_clip
from avikit.data.synth.classes import CLASS_NAMES
from avikit.models.perception.avs import AVSHead, frame_colours, segment_spectra
from avikit.tasks import Task, TaskInputs, cut_media, get_task
from avikit.train.feature_sets import FeatureSet

__all__ = ["avs_loss", "avs_training_data"]


# --------------------------------------------------------------------------------------------- training


def avs_training_data(data: FeatureSet, task: Task, size: int = 32) -> dict[str, torch.Tensor]:
    """Trunk features, masks, media cues and the classes heard in each frame's audio.

    Semantic masks are ``[N, T, size, size]`` (nearest-neighbour downsampled), the media cues the frame
    colours and audio spectra (see :class:`AVSHead`), the heard classes ``[N, T, C]``. The media
    are remade from the samples (AVSynth regenerates a clip in milliseconds).
    """
    semantic = get_task("avs-semantic")
    masks, colours, spectra, heard = [], [], [], []
    for sample, inputs in zip(data.samples, data.inputs, strict=True):
        mask = semantic.build_target(sample)["masks"]  # [T, H, W]
        step = mask.shape[-1] // size
        masks.append(torch.as_tensor(np.ascontiguousarray(mask[:, step // 2 :: step, step // 2 :: step])))
        frames, waveform = cut_media(load_clip(sample), inputs)
        colours.append(frame_colours(frames[None], size)[0])
        spectra.append(segment_spectra(waveform[None].astype(np.float32), len(inputs.frames))[0])
        heard.append(_heard_per_segment(sample, inputs))
    return {
        "audio_segments": data.features["audio_segments"],
        "visual_maps": data.features["visual_maps"],
        "masks": torch.stack(masks).long(),
        "colours": torch.stack(colours),
        "spectra": torch.stack(spectra),
        "heard": torch.stack(heard),
    }


def _heard_per_segment(sample: Sample, inputs: TaskInputs) -> torch.Tensor:
    """``[T, C]``: 1 where a class has a sound event overlapping the audio of frame ``t`` (equal shares)."""
    count, rate = len(inputs.frames), get_task("avs-semantic").check_rates(sample).sample_rate
    start, stop = (Fraction(x, rate) for x in inputs.audio)
    out = torch.zeros(count, len(CLASS_NAMES))
    for event in sample.target("events")["audio"]:
        onset, offset = Fraction(event["onset"]), Fraction(event["offset"])
        for t in range(count):
            lo, hi = start + (stop - start) * t / count, start + (stop - start) * (t + 1) / count
            if onset < hi and offset > lo:
                out[t, CLASS_NAMES.index(event["label"])] = 1.0
    return out


def avs_loss(head: AVSHead, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Binary and semantic mask losses, appearance cross-entropy on sounding pixels, heard-class BCE."""
    masks = batch["masks"]  # [B, T, h, w]
    logits = head(batch, size=tuple(masks.shape[-2:]))  # [B, T, 29, h, w]
    binary = F.binary_cross_entropy_with_logits(
        logits[:, :, 0], (masks > 0).float(), pos_weight=torch.tensor(3.0)
    )
    semantic = F.cross_entropy(logits[:, :, 1:].flatten(0, 1), masks.flatten(0, 1))
    looks, heard = head.class_logits(
        batch, size=(masks.shape[-2], masks.shape[-1])
    )  # [B, T, C, h, w], [B, T, C]
    on = masks > 0
    appearance = (
        F.cross_entropy(looks.movedim(2, -1)[on], masks[on] - 1) if bool(on.any()) else looks.sum() * 0
    )
    audio = F.binary_cross_entropy_with_logits(heard, batch["heard"])
    loss = binary + semantic + appearance + audio
    return {"loss": loss, "binary": binary, "semantic": semantic, "appearance": appearance, "heard": audio}
