"""Training recipes of the reference models: one typed, seeded recipe per model, each a few minutes on a CPU.

``av-encoder`` pretrains the joint encoder without labels (:func:`avikit.train.pretrain.pretrain`). Every
other recipe freezes that encoder, computes its features of AVSynth ``train`` clips once through the task's
own inputs (cached on disk, :func:`avikit.train.feature_sets.build_feature_set`), trains the task head on
them and writes to ``out``: ``model.safetensors`` + ``config.json`` (for the model's ``from_pretrained``),
``recipe.json``, ``loss.jsonl``, ``loss.svg`` and ``metrics.json``. Each recipe has a ``tiny`` variant
(a few clips and steps) for tests.

Example:
    >>> sorted(RECIPES)[:3]
    ['a2v', 'av-encoder', 'avel']
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from avikit import __version__
from avikit._registry import lookup
from avikit.errors import UsageError
from avikit.models.encoders.trunk import load_encoder
from avikit.models.perception import (
    avel,
    avel_cross_modal,
    avqa,
    avs,
    avvp,
    classification,
    dense_localization,
    retrieval,
    source_localization,
    sync,
)
from avikit.models.perception.linear_probe import PROBE_TASKS, ProbeRecipe
from avikit.nn import count_parameters, save_config, save_pretrained
from avikit.nn.config import apply_overrides
from avikit.tasks import Task, get_task
from avikit.train.feature_sets import FeatureSet, build_feature_set
from avikit.train.finetune import FINETUNE_FAMILIES, FinetuneRecipe, finetune
from avikit.train.generator_recipes import GENERATOR_RECIPES
from avikit.train.language_recipes import LANGUAGE_RECIPES
from avikit.train.linear_probe import train_linear_probe
from avikit.train.loops import FitConfig, fit_head
from avikit.train.perception import avel as avel_train
from avikit.train.perception import avel_cross_modal as avel_cross_modal_train
from avikit.train.perception import avqa as avqa_train
from avikit.train.perception import avs as avs_train
from avikit.train.perception import avvp as avvp_train
from avikit.train.perception import classification as classification_train
from avikit.train.perception import dense_localization as dense_localization_train
from avikit.train.perception import retrieval as retrieval_train
from avikit.train.perception import source_localization as source_localization_train
from avikit.train.perception import sync as sync_train
from avikit.train.pretrain import PretrainConfig, pretrain
from avikit.train.watermark import WatermarkRecipe, train_watermark

__all__ = [
    "RECIPES",
    "AVELRecipe",
    "AVQARecipe",
    "AVSRecipe",
    "AVVPRecipe",
    "ClassificationRecipe",
    "CrossModalRecipe",
    "DenseLocalizationRecipe",
    "EncoderRecipe",
    "RecipeResult",
    "RetrievalMiniLMRecipe",
    "RetrievalRecipe",
    "SourceLocalizationRecipe",
    "SyncRecipe",
    "build_recipe",
    "tiny_recipe",
    "train_recipe",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecipeResult:
    """Where a recipe wrote its files, and its numbers."""

    out_dir: Path
    metrics: dict[str, Any]


# ---------------------------------------------------------------------------------------------- recipes


@dataclass(frozen=True)
class EncoderRecipe:
    """Self-supervised pretraining of the joint encoder (contrastive + masked reconstruction).

    The default is the shipped ``av-encoder``'s configuration: 320 train clips (+64 val), 8 epochs of
    batch 32 (80 steps).
    """

    pretrain: PretrainConfig = field(default_factory=PretrainConfig)

    @classmethod
    def tiny(cls) -> EncoderRecipe:
        """A few clips of a tiny encoder (seconds)."""
        cfg = PretrainConfig.tiny()
        return cls(
            replace(cfg, train=replace(cfg.train, train_clips=16, val_clips=8, epochs=2, batch_size=8))
        )


@dataclass(frozen=True)
class AVELRecipe:
    """AVEL head on the frozen encoder: segment cross-entropy."""

    model: avel.AVELConfig = field(default_factory=avel.AVELConfig)
    fit: FitConfig = field(default_factory=lambda: FitConfig(steps=200))
    train_clips: int = 300
    data_seed: int = 0


@dataclass(frozen=True)
class ClassificationRecipe:
    """Classification head on the frozen encoder: main-class and heard-class losses."""

    model: classification.ClassificationConfig = field(default_factory=classification.ClassificationConfig)
    fit: FitConfig = field(default_factory=lambda: FitConfig(steps=300))
    train_clips: int = 300
    data_seed: int = 0


@dataclass(frozen=True)
class RetrievalRecipe:
    """Joint audio-visual-text embedding on the frozen encoder: InfoNCE and partial-caption alignment."""

    model: retrieval.RetrievalConfig = field(default_factory=retrieval.RetrievalConfig)
    fit: FitConfig = field(default_factory=lambda: FitConfig(steps=300))
    train_clips: int = 600
    data_seed: int = 0


@dataclass(frozen=True)
class RetrievalMiniLMRecipe:
    """The retrieval recipe with the frozen sentence model all-MiniLM-L6-v2 as the text side."""

    model: retrieval.RetrievalConfig = field(
        default_factory=lambda: retrieval.RetrievalConfig(text_encoder="minilm")
    )
    fit: FitConfig = field(default_factory=lambda: FitConfig(steps=300))
    train_clips: int = 600
    data_seed: int = 0


@dataclass(frozen=True)
class SyncRecipe:
    """Correlation sync head on the frozen encoder: offset cross-entropy."""

    model: sync.SyncConfig = field(default_factory=sync.SyncConfig)
    fit: FitConfig = field(default_factory=lambda: FitConfig(steps=300))
    train_clips: int = 400
    data_seed: int = 0


@dataclass(frozen=True)
class AVVPRecipe:
    """AVVP HAN head on the frozen encoder, video-level labels only (MMIL pooling)."""

    model: avvp.AVVPConfig = field(default_factory=avvp.AVVPConfig)
    fit: FitConfig = field(default_factory=lambda: FitConfig(steps=300))
    train_clips: int = 300
    data_seed: int = 0


@dataclass(frozen=True)
class DenseLocalizationRecipe:
    """Dense localisation head on the frozen encoder: per-second multi-label events."""

    model: dense_localization.DenseConfig = field(default_factory=dense_localization.DenseConfig)
    fit: FitConfig = field(default_factory=lambda: FitConfig(steps=300))
    train_clips: int = 300
    data_seed: int = 0


@dataclass(frozen=True)
class AVSRecipe:
    """TPAVI mask head on the frozen encoder: binary and semantic masks."""

    model: avs.AVSConfig = field(default_factory=avs.AVSConfig)
    fit: FitConfig = field(default_factory=lambda: FitConfig(steps=300, batch_size=32))
    train_clips: int = 300
    data_seed: int = 0


@dataclass(frozen=True)
class SourceLocalizationRecipe:
    """Source localisation head on the frozen encoder: similarity maps."""

    model: source_localization.SourceConfig = field(default_factory=source_localization.SourceConfig)
    fit: FitConfig = field(default_factory=lambda: FitConfig(steps=600))
    train_clips: int = 600
    data_seed: int = 0


@dataclass(frozen=True)
class AVQARecipe:
    """AVQA head on the frozen encoder: question-guided attention, answer cross-entropy."""

    model: avqa.AVQAConfig = field(default_factory=avqa.AVQAConfig)
    fit: FitConfig = field(default_factory=lambda: FitConfig(steps=600))
    train_clips: int = 300
    data_seed: int = 0


@dataclass(frozen=True)
class CrossModalRecipe:
    """AVE cross-modal distance head on the frozen encoder: contrastive loss."""

    model: avel_cross_modal.CrossModalConfig = field(default_factory=avel_cross_modal.CrossModalConfig)
    fit: FitConfig = field(default_factory=lambda: FitConfig(steps=300))
    train_clips: int = 300
    data_seed: int = 0


@dataclass(frozen=True)
class _Head:
    """How a recipe trains one head: the task whose inputs it sees, the segments, the model's pieces."""

    task: str
    segments: int
    build: Callable[[Any], nn.Module]
    data: Callable[[FeatureSet, Task], dict[str, torch.Tensor]]
    loss: Callable[[Any, Mapping[str, torch.Tensor]], dict[str, torch.Tensor]]
    kind: str


_HEADS: dict[str, _Head] = {
    "avel": _Head(
        "avel", 10, avel.build_avel_head, avel_train.avel_training_data, avel_train.avel_loss, avel.KIND
    ),
    "classification": _Head(
        "avel",
        10,
        classification.build_classification_head,
        classification_train.classification_training_data,
        classification_train.classification_loss,
        classification.KIND,
    ),
    "retrieval": _Head(
        "retrieval",
        10,
        retrieval.build_retrieval_head,
        retrieval_train.retrieval_training_data,
        retrieval_train.retrieval_loss,
        retrieval.KIND,
    ),
    "sync": _Head(
        "sync",
        sync.NUM_FRAMES,
        sync.build_sync_head,
        sync_train.sync_training_data,
        sync_train.sync_loss,
        sync.KIND,
    ),
    "avvp": _Head(
        "avel", 10, avvp.build_avvp_head, avvp_train.avvp_training_data, avvp_train.avvp_loss, avvp.KIND
    ),
    "dense-localization": _Head(
        "avel",
        10,
        dense_localization.build_dense_head,
        dense_localization_train.dense_training_data,
        dense_localization_train.dense_loss,
        dense_localization.KIND,
    ),
    "avs": _Head(
        "avs-binary", 5, avs.build_avs_head, avs_train.avs_training_data, avs_train.avs_loss, avs.KIND
    ),
    "source-localization": _Head(
        "source-localization",
        1,
        source_localization.build_source_head,
        source_localization_train.source_training_data,
        source_localization_train.source_loss,
        source_localization.KIND,
    ),
    "avqa": _Head(
        "avel", 10, avqa.build_avqa_head, avqa_train.avqa_training_data, avqa_train.avqa_loss, avqa.KIND
    ),
    "avel-cross-modal": _Head(
        "avel",
        10,
        avel_cross_modal.build_cross_modal_head,
        avel_cross_modal_train.cross_modal_training_data,
        avel_cross_modal_train.cross_modal_loss,
        avel_cross_modal.KIND,
    ),
}


# ----------------------------------------------------------------------------------------------- driver


def _train_head(
    name: str,
    recipe: Any,
    task: Task,
    num_segments: int,
    build: Callable[[Any], nn.Module],
    training_data: Callable[[FeatureSet, Task], dict[str, torch.Tensor]],
    loss: Callable[[Any, Mapping[str, torch.Tensor]], dict[str, torch.Tensor]],
    kind: str,
    out: Path,
    show: bool,
) -> RecipeResult:
    start = time.perf_counter()
    encoder = load_encoder(recipe.model.encoder)
    if encoder.audio.dim != recipe.model.dim:
        raise UsageError(
            f"recipe {name}: model.dim={recipe.model.dim} but the encoder is {encoder.audio.dim} wide"
        )
    data = build_feature_set(
        task, encoder, "train", recipe.train_clips, num_segments, recipe.data_seed, show_progress=show
    )
    tensors = training_data(data, task)
    head = build(recipe.model)
    records = fit_head(head, lambda batch: loss(head, batch), tensors, recipe.fit, out, name, show)
    save_pretrained(head, recipe.model, out, kind)
    save_config(recipe, out / "recipe.json")
    return _finish(out, name, records, count_parameters(head), start)


def _finish(
    out: Path, name: str, records: list[dict[str, float]], parameters: int, start: float
) -> RecipeResult:
    metrics = {
        "recipe": name,
        "first_step": records[0],
        "last_step": records[-1],
        "num_parameters": parameters,
        "seconds": round(time.perf_counter() - start, 2),
        "avikit_version": __version__,
        "torch_version": torch.__version__,
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    logger.info("recipe %s done in %.1f s, last loss %.4f", name, metrics["seconds"], records[-1]["loss"])
    return RecipeResult(out, metrics)


def _train_encoder(recipe: EncoderRecipe, out: Path, show: bool) -> RecipeResult:
    result = pretrain(recipe.pretrain, out, show_progress=show)
    save_config(recipe, out / "recipe.json")
    return RecipeResult(result.out_dir, result.metrics)


def _train_watermark(recipe: WatermarkRecipe, out: Path, show: bool) -> RecipeResult:
    return RecipeResult(out, train_watermark(recipe, out, show))


def _probe_trainer(task: str) -> Callable[[Any, Path, bool], RecipeResult]:
    def train(recipe: ProbeRecipe, out: Path, show: bool) -> RecipeResult:
        return RecipeResult(out, train_linear_probe(task, recipe, out, show))

    return train


def _finetune_trainer(family: str) -> Callable[[Any, Path, bool], RecipeResult]:
    def train(recipe: FinetuneRecipe, out: Path, show: bool) -> RecipeResult:
        return RecipeResult(out, finetune(family, recipe, out, show))

    return train


def _head_trainer(name: str) -> Callable[[Any, Path, bool], RecipeResult]:
    spec = _HEADS[name]

    def train(recipe: Any, out: Path, show: bool) -> RecipeResult:
        return _train_head(
            name,
            recipe,
            get_task(spec.task),
            spec.segments,
            spec.build,
            spec.data,
            spec.loss,
            spec.kind,
            out,
            show,
        )

    return train


def _generator_trainer(
    train: Callable[[Any, Path, bool], dict[str, Any]],
) -> Callable[[Any, Path, bool], RecipeResult]:
    def run(recipe: Any, out: Path, show: bool) -> RecipeResult:
        return RecipeResult(out, train(recipe, out, show))

    return run


RECIPES: dict[str, tuple[type, Callable[[Any, Path, bool], RecipeResult]]] = {
    "av-encoder": (EncoderRecipe, _train_encoder),
    "avel": (AVELRecipe, _head_trainer("avel")),
    "classification": (ClassificationRecipe, _head_trainer("classification")),
    "retrieval": (RetrievalRecipe, _head_trainer("retrieval")),
    "retrieval-minilm": (RetrievalMiniLMRecipe, _head_trainer("retrieval")),
    "sync": (SyncRecipe, _head_trainer("sync")),
    "avvp": (AVVPRecipe, _head_trainer("avvp")),
    "avs": (AVSRecipe, _head_trainer("avs")),
    "source-localization": (SourceLocalizationRecipe, _head_trainer("source-localization")),
    "dense-localization": (DenseLocalizationRecipe, _head_trainer("dense-localization")),
    "avqa": (AVQARecipe, _head_trainer("avqa")),
    "avel-cross-modal": (CrossModalRecipe, _head_trainer("avel-cross-modal")),
    "watermark": (WatermarkRecipe, _train_watermark),
    **{f"{task}-linear-probe": (ProbeRecipe, _probe_trainer(task)) for task in PROBE_TASKS},
    **{f"{family}-finetune": (FinetuneRecipe, _finetune_trainer(family)) for family in FINETUNE_FAMILIES},
    **{name: (recipe, _generator_trainer(train)) for name, (recipe, train) in GENERATOR_RECIPES.items()},
    **LANGUAGE_RECIPES,
}
"""Recipe name -> (recipe dataclass, trainer). ``v2a``, ``a2v`` and ``joint`` train the generators
(:mod:`avikit.train.generator_recipes`). ``<task>-linear-probe`` fits one linear layer on the frozen
trunk (:mod:`avikit.models.perception.linear_probe`); ``<family>-finetune`` trains the trunk and the head end
to end (:mod:`avikit.train.finetune`)."""


def tiny_recipe(name: str, encoder: str | os.PathLike[str], dim: int = 32) -> Any:
    """The tiny variant of a recipe for tests: a few clips and steps on the given (tiny) encoder."""
    recipe_type = RECIPES[name][0]
    if recipe_type is EncoderRecipe:
        return EncoderRecipe.tiny()
    if recipe_type is WatermarkRecipe:
        return WatermarkRecipe.tiny()
    if recipe_type is ProbeRecipe:
        return ProbeRecipe(encoder=str(encoder), train_clips=8, val_clips=4, l2_grid=(1e-2, 1.0), max_iter=20)
    if recipe_type is FinetuneRecipe:
        raise UsageError(f"{name} starts from a trained head (which names its trunk): set init_head instead")
    base = recipe_type()
    sizes = {"encoder": str(encoder), "dim": dim, "hidden": 32, "heads": 2}
    names = {f.name for f in fields(base.model)}
    model = replace(base.model, **{k: v for k, v in sizes.items() if k in names})
    return replace(base, model=model, fit=FitConfig(steps=6, batch_size=4), train_clips=8)


def build_recipe(name: str, overrides: Sequence[str] = ()) -> Any:
    """Recipe ``name``'s default configuration with ``dotted.path=value`` overrides applied.

    Example:
        >>> build_recipe("avel", ["fit.steps=3"]).fit.steps
        3

    Raises:
        UnknownNameError: for an unknown recipe; the message lists the known ones.
        ConfigError: for an override the recipe's dataclass does not accept.
    """
    recipe_type, _ = lookup(RECIPES, name, "recipe")
    return apply_overrides(recipe_type(), overrides)


def train_recipe(
    name: str, out: str | os.PathLike[str], recipe: Any | None = None, show_progress: bool = True
) -> RecipeResult:
    """Run recipe ``name`` (its default config unless ``recipe`` is given) into ``out``.

    Raises:
        UnknownNameError: for an unknown recipe; the message lists the known ones.
    """
    recipe_type, trainer = lookup(RECIPES, name, "recipe")
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    return trainer(recipe if recipe is not None else recipe_type(), folder, show_progress)
