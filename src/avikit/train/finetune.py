"""Fine-tuning: the pretrained trunk and a task head trained end to end from media.

The shipped reference models train their heads on features of a frozen trunk
(:mod:`avikit.models.encoders.trunk`). Fine-tuning unfreezes the trunk: each step encodes the clips afresh
(log-Mel and frames, prepared once by :func:`~avikit.train.feature_sets.build_media_set`), runs the head
and back-propagates the head's own training loss into both, with a lower learning rate for the trunk (two
AdamW parameter groups, warm-up then cosine decay). The head starts from a trained frozen-trunk head (the
packaged one by default), i.e. linear-probe-then-fine-tune in the sense of Kumar et al. (ICLR 2022): the
trunk is not pulled around by a random head in the first steps.

The run folder holds the head (``model.safetensors`` + ``config.json``) and its fine-tuned trunk in
``encoder/``; the head's config names ``encoder``, which :func:`~avikit.models.encoders.trunk.load_head`
finds next
to the head, so the family's own ``from_pretrained(folder)`` loads it too. :func:`load_finetuned` gives the
model a distinct id (``avikit/<family>-finetuned``) for evaluation next to the frozen one.

Example:
    >>> sorted(FINETUNE_FAMILIES)
    ['avel', 'classification', 'retrieval']
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from avikit import __version__
from avikit.errors import UsageError
from avikit.models.encoders.av_encoder import KIND as ENCODER_KIND
from avikit.models.encoders.av_encoder import AVEncoderConfig
from avikit.models.encoders.trunk import WEIGHTS_DIR, TrunkModel, resolve_head_encoder
from avikit.models.encoders.trunk_encoding import FEATURE_KEYS, encode_prepared
from avikit.models.perception import avel, classification, retrieval
from avikit.nn import (
    read_pretrained_config,
    resolve_pretrained,
    save_config,
    save_pretrained,
    seed_everything,
)
from avikit.tasks import Task, get_task
from avikit.train.feature_sets import FeatureSet, MediaSet, build_media_set
from avikit.train.loops import run_minibatches
from avikit.train.perception import avel as avel_train
from avikit.train.perception import classification as classification_train
from avikit.train.perception import retrieval as retrieval_train

__all__ = ["FINETUNE_FAMILIES", "Family", "FinetuneRecipe", "finetune", "load_finetuned", "training_labels"]

logger = logging.getLogger(__name__)

ENCODER_FOLDER = "encoder"
"""Sub-folder of a fine-tuning run that holds the fine-tuned trunk."""


@dataclass(frozen=True)
class FinetuneRecipe:
    """End-to-end training of the trunk and one head on AVSynth ``train``.

    Attributes:
        init_head: the trained head to start from (packaged name or folder); ``None``: the packaged head
            of the recipe's family (e.g. ``avel`` for ``avel-finetune``). Its config names the trunk.
        train_clips: AVSynth ``train`` clips (the shipped heads trained on the same 300).
        steps: optimiser steps.
        batch_size: clips per step.
        head_lr: peak learning rate of the head.
        trunk_lr: peak learning rate of the trunk (lower: the pretrained features move slowly).
        weight_decay: AdamW weight decay.
        seed: seed of the order of the clips and of dropout.
        data_seed: AVSynth seed.
    """

    init_head: str | None = None
    train_clips: int = 300
    steps: int = 150
    batch_size: int = 16
    head_lr: float = 1e-3
    trunk_lr: float = 1e-4
    weight_decay: float = 1e-2
    seed: int = 0
    data_seed: int = 0


@dataclass(frozen=True)
class Family:
    """What fine-tuning needs of a reference model family."""

    task: str
    segments: int
    config_type: type
    kind: str
    load: Callable[[str | os.PathLike[str]], TrunkModel]
    data: Callable[[FeatureSet, Task], dict[str, torch.Tensor]]
    loss: Callable[[Any, Mapping[str, torch.Tensor]], dict[str, torch.Tensor]]


FINETUNE_FAMILIES: dict[str, Family] = {
    "avel": Family(
        "avel",
        10,
        avel.AVELConfig,
        avel.KIND,
        avel.from_pretrained,
        avel_train.avel_training_data,
        avel_train.avel_loss,
    ),
    "classification": Family(
        "avel",
        10,
        classification.ClassificationConfig,
        classification.KIND,
        classification.from_pretrained,
        classification_train.classification_training_data,
        classification_train.classification_loss,
    ),
    "retrieval": Family(
        "avel",
        10,
        retrieval.RetrievalConfig,
        retrieval.KIND,
        retrieval.from_pretrained,
        retrieval_train.retrieval_training_data,
        retrieval_train.retrieval_loss,
    ),
}
"""Family name -> its task inputs, segments, config, loader and training pieces (the ones fine-tuned)."""


def _family(name: str) -> Family:
    if name not in FINETUNE_FAMILIES:
        raise UsageError(f"no fine-tuning for {name!r}; families: {', '.join(FINETUNE_FAMILIES)}")
    return FINETUNE_FAMILIES[name]


def training_labels(family: str, media: MediaSet) -> dict[str, torch.Tensor]:
    """The head's training targets of a media set (its ``*_training_data`` without the features)."""
    spec = _family(family)
    empty = {key: torch.empty(len(media), 0) for key in FEATURE_KEYS}
    data = spec.data(FeatureSet(empty, media.samples, media.inputs), get_task(spec.task))
    return {key: value for key, value in data.items() if key not in FEATURE_KEYS}


# --------------------------------------------------------------------------------------------- training


def _optimizer(
    model: TrunkModel, recipe: FinetuneRecipe
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """AdamW with the head and the trunk as two groups; linear warm-up (a tenth) then cosine decay."""
    groups = [
        {"params": [p for p in model.head.parameters() if p.requires_grad], "lr": recipe.head_lr},
        {"params": [p for p in model.encoder.parameters() if p.requires_grad], "lr": recipe.trunk_lr},
    ]
    optimizer = torch.optim.AdamW(groups, weight_decay=recipe.weight_decay)
    warmup = max(1, recipe.steps // 10)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / max(1, recipe.steps - warmup)))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _step_loss(
    model: TrunkModel, spec: Family, media: MediaSet, labels: Mapping[str, torch.Tensor], idx: torch.Tensor
) -> dict[str, torch.Tensor]:
    features = encode_prepared(model.encoder, media.mel[idx], media.frames[idx])
    return spec.loss(model.head, {**features, **{key: value[idx] for key, value in labels.items()}})


def _train_loop(
    model: TrunkModel, family: str, media: MediaSet, recipe: FinetuneRecipe, out: Path, show: bool
) -> list[dict[str, float]]:
    spec, gen = _family(family), seed_everything(recipe.seed)
    labels = training_labels(family, media)
    optimizer, schedule = _optimizer(model, recipe)
    return run_minibatches(
        model,
        lambda idx: _step_loss(model, spec, media, labels, idx),
        len(media),
        (recipe.steps, recipe.batch_size),
        (optimizer, schedule),
        gen,
        out,
        (f"finetune {family}", f"{family} fine-tuned: training loss"),
        show,
    )


def finetune(
    family: str, recipe: FinetuneRecipe, out_dir: str | os.PathLike[str], show_progress: bool = True
) -> dict[str, Any]:
    """Fine-tune the trunk and the ``family`` head end to end on AVSynth train; save both into ``out_dir``.

    Writes ``model.safetensors`` + ``config.json`` (the head, for :func:`load_finetuned` or the family's
    ``from_pretrained``), ``encoder/`` (the fine-tuned trunk), ``recipe.json``, ``loss.jsonl``, ``loss.svg``
    and ``metrics.json``. Seeded by ``recipe.seed``.

    Returns:
        the metrics (first and last step, how far the trunk moved, clips, seconds, versions).
    """
    spec, out, start = _family(family), Path(out_dir), time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    head_folder = resolve_pretrained(recipe.init_head or family, [WEIGHTS_DIR])
    model = spec.load(head_folder)
    model.encoder.requires_grad_(True)
    model.head.requires_grad_(True)
    trunk_before = {k: v.detach().clone() for k, v in model.encoder.state_dict().items()}
    media = build_media_set(
        get_task(spec.task), model.encoder, "train", recipe.train_clips, spec.segments, recipe.data_seed,
        show_progress,
    )  # fmt: skip
    records = _train_loop(model, family, media, recipe, out, show_progress)
    head_cfg: Any = read_pretrained_config(head_folder, spec.config_type, spec.kind)
    encoder_folder = resolve_head_encoder(head_folder, head_cfg.encoder)
    encoder_cfg = read_pretrained_config(encoder_folder, AVEncoderConfig, ENCODER_KIND)
    save_pretrained(model.encoder, encoder_cfg, out / ENCODER_FOLDER, ENCODER_KIND)
    save_pretrained(model.head, replace(head_cfg, encoder=ENCODER_FOLDER), out, spec.kind)
    save_config(recipe, out / "recipe.json")
    moved = _relative_change(trunk_before, model.encoder.state_dict())
    metrics = {
        "recipe": f"{family}-finetune",
        "init_head": str(head_folder),
        "first_step": records[0],
        "last_step": records[-1],
        "trunk_relative_change": moved,
        "train_clips": len(media),
        "seconds": round(time.perf_counter() - start, 2),
        "avikit_version": __version__,
        "torch_version": torch.__version__,
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    logger.info("fine-tuning %s done in %.1f s", family, metrics["seconds"])
    return metrics


def _relative_change(before: Mapping[str, torch.Tensor], after: Mapping[str, torch.Tensor]) -> float:
    """``|after - before| / |before|`` over every floating-point trunk tensor together."""
    diff = sum(float((after[k] - v).square().sum()) for k, v in before.items() if v.is_floating_point())
    norm = sum(float(v.square().sum()) for v in before.values() if v.is_floating_point())
    return (diff / max(norm, 1e-12)) ** 0.5


def load_finetuned(folder: str | os.PathLike[str]) -> TrunkModel:
    """Load a fine-tuning run (head and fine-tuned trunk) as a model with id ``avikit/<family>-finetuned``.

    Raises:
        ValueError: when the folder holds no head of a fine-tunable family.
    """
    path = resolve_pretrained(folder)
    kind = json.loads((path / "config.json").read_text()).get("kind")
    names = [name for name, spec in FINETUNE_FAMILIES.items() if spec.kind == kind]
    if not names or not (path / ENCODER_FOLDER / "config.json").is_file():
        raise UsageError(
            f"{path} is not a fine-tuning run (head kind {kind!r}, encoder/ present: "
            f"{(path / ENCODER_FOLDER).is_dir()}); make one with `avikit train <family>-finetune`"
        )
    model = FINETUNE_FAMILIES[names[0]].load(path)
    model.id = f"avikit/{names[0]}-finetuned"
    return model
