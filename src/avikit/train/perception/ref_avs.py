"""Training pieces of the Ref-AVS head of :mod:`avikit.models.perception.ref_avs`: its data and its loss.

Each training row is one (clip, expression) pair of an AVSynth ``train`` clip: the clip's trunk features
and colours, the expression's word buckets and the referred object's masks (empty for a null expression).
A clip gives at most ``per_clip`` referring expressions and one null expression (chosen by the clip's
index, so the kinds rotate over the set), which keeps the rows few: the features are copied per row.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from avikit.data.synth import load_clip, load_ids
from avikit.models.perception.avs import frame_colours
from avikit.models.perception.ref_avs import RefAVSHead, tokenize
from avikit.tasks import Task, cut_media
from avikit.tasks.ref_avs import clip_expressions, referred_masks
from avikit.train.feature_sets import FeatureSet

__all__ = ["ref_avs_loss", "ref_avs_training_data"]

_POSITIVE_WEIGHT = 3.0  # objects cover a few percent of a frame: weigh their pixels up, as the AVS head does


def _chosen(expressions: list[dict], index: int, count: int) -> list[dict]:
    if not expressions:
        return []
    start = index % len(expressions)
    rotated = expressions[start:] + expressions[:start]
    return rotated[:count]


def ref_avs_training_data(
    data: FeatureSet, task: Task, size: int = 32, per_clip: int = 2
) -> dict[str, torch.Tensor]:
    """Rows of (clip, expression) pairs for :func:`ref_avs_loss`.

    Trunk features, colours ``[R, T, 3, s, s]``, word codes ``[R, 16]`` and masks ``[R, T, s, s]`` (the
    referred object's pixels, nearest-neighbour downsampled).
    """
    rows: dict[str, list[torch.Tensor]] = {key: [] for key in ("audio_segments", "visual_maps", "colours")}
    masks, texts = [], []
    for k, (sample, inputs) in enumerate(zip(data.samples, data.inputs, strict=True)):
        chosen = _chosen(clip_expressions(sample, False), k, per_clip) + _chosen(
            clip_expressions(sample, True), k, 1
        )
        if not chosen:
            continue
        ids = load_ids(sample)
        step = ids.shape[-1] // size
        frames, _ = cut_media(load_clip(sample), inputs)
        colours = frame_colours(frames[None], size)[0]
        for expression in chosen:
            mask = referred_masks(ids, inputs.frames, expression["objects"])[
                :, step // 2 :: step, step // 2 :: step
            ]
            masks.append(torch.as_tensor(np.ascontiguousarray(mask), dtype=torch.uint8))
            texts.append(expression["text"])
            rows["audio_segments"].append(data.features["audio_segments"][k])
            rows["visual_maps"].append(data.features["visual_maps"][k])
            rows["colours"].append(colours)
    out = {key: torch.stack(values) for key, values in rows.items()}
    return {**out, "masks": torch.stack(masks), "words": tokenize(texts)}


def ref_avs_loss(head: RefAVSHead, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Binary cross-entropy on every pixel of every frame (object pixels weighed up) plus a Dice term."""
    target = batch["masks"].float()  # [B, T, s, s]
    logits = head(batch)
    bce = F.binary_cross_entropy_with_logits(logits, target, pos_weight=torch.tensor(_POSITIVE_WEIGHT))
    prob = logits.sigmoid()
    inter = (prob * target).sum(dim=(-2, -1))
    dice = 1 - (2 * inter + 1) / (prob.sum(dim=(-2, -1)) + target.sum(dim=(-2, -1)) + 1)
    loss = bce + dice.mean()
    return {"loss": loss, "bce": bce, "dice": dice.mean()}
