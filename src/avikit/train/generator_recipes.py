"""The generator recipes as typed, seeded recipes of ``avikit train``: ``v2a``, ``a2v`` and ``joint``.

Each wraps its training function (:mod:`avikit.train.v2a`, :mod:`avikit.train.a2v`,
:mod:`avikit.train.joint`), scores the trained models on the recipe's held-out clips, writes
``<name>_scores.json`` and, where asked, the packaged weights. Every field can be set from the command
line, e.g.
``avikit train v2a --set train.steps=400 --set model.tokenizer=waveform --set paradigms=["flow"]``.

Example:
    >>> V2ARecipe().model.tokenizer, A2VRecipe().train.steps, JointRecipe().guidance
    ('mel', 1000, 4.0)
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avikit.models.generation.a2v_network import A2VConfig
from avikit.models.generation.joint_network import JointConfig
from avikit.models.generation.v2a_network import V2AConfig
from avikit.models.generation.v2a_pipeline import PARADIGMS, load_vocoder
from avikit.nn import save_config
from avikit.train.a2v import evaluate_a2v, save_a2v, train_a2v
from avikit.train.generators import GenTrainConfig
from avikit.train.joint import evaluate_joint, save_joint, train_joint
from avikit.train.v2a import evaluate_v2a, export_v2a, train_v2a

__all__ = ["GENERATOR_RECIPES", "A2VRecipe", "JointRecipe", "V2ARecipe"]


@dataclass(frozen=True)
class V2ARecipe:
    """Video-to-audio in three paradigms over mel tokens (the shipped ``v2a``, ``v2a-ar``, ``v2a-flow``).

    ``vocoder`` is a vocoder folder, a package that carries one (``"v2a-flow"``) or ``"none"``;
    ``export`` a folder for the packages (``None``: no export), with a retrieval bank of
    ``retrieval_bank`` clips when above 0.
    """

    train: GenTrainConfig = field(
        default_factory=lambda: GenTrainConfig(num_train=96, num_test=12, steps=250, codec_steps=250)
    )
    model: V2AConfig = field(
        default_factory=lambda: V2AConfig(tokenizer="mel", token_stride=2, num_codebooks=4)
    )
    paradigms: tuple[str, ...] = PARADIGMS
    render_size: int = 128
    guidance: float = 2.0
    vocoder: str = "v2a-flow"
    export: str | None = None
    retrieval_bank: int = 0


@dataclass(frozen=True)
class A2VRecipe:
    """Audio-to-video: the sync expert, then the generator (the shipped ``a2v``); ``export`` saves it."""

    train: GenTrainConfig = field(default_factory=lambda: GenTrainConfig(num_test=32, steps=1000))
    model: A2VConfig = field(default_factory=A2VConfig)
    export: str | None = None


@dataclass(frozen=True)
class JointRecipe:
    """Joint audio+video generation from captions (the shipped ``joint``); ``export`` saves it."""

    train: GenTrainConfig = field(
        default_factory=lambda: GenTrainConfig(num_test=32, steps=1500, batch_size=8)
    )
    model: JointConfig = field(default_factory=JointConfig)
    guidance: float = 4.0
    sampling_steps: int = 16
    export: str | None = None


def _write(out: Path, name: str, recipe: Any, scores: dict[str, Any], start: float) -> dict[str, Any]:
    save_config(recipe, out / "recipe.json")
    (out / f"{name}_scores.json").write_text(json.dumps(scores, indent=1) + "\n", encoding="utf-8")
    return {"recipe": name, "seconds": round(time.perf_counter() - start, 1), "scores": scores}


def train_v2a_recipe(recipe: V2ARecipe, out: Path, show: bool) -> dict[str, Any]:
    """Train, score and (optionally) export the video-to-audio generators."""
    start = time.perf_counter()
    config = GenTrainConfig(**{**recipe.train.__dict__, "progress": show})
    vocoder = None if recipe.vocoder == "none" else load_vocoder(recipe.vocoder)
    trained = train_v2a(config, recipe.model, out, tuple(recipe.paradigms), recipe.render_size, vocoder)
    if recipe.export is not None:
        export_v2a(
            trained,
            recipe.export,
            recipe.model,
            retrieval_bank=recipe.retrieval_bank,
            guidance=recipe.guidance,
        )
    scores = evaluate_v2a(trained, guidance=recipe.guidance, seed=config.seed)
    return _write(out, "v2a", recipe, scores, start)


def train_a2v_recipe(recipe: A2VRecipe, out: Path, show: bool) -> dict[str, Any]:
    """Train and score the audio-to-video generator; save it where ``export`` says."""
    start = time.perf_counter()
    trained = train_a2v(GenTrainConfig(**{**recipe.train.__dict__, "progress": show}), recipe.model, out)
    if recipe.export is not None:
        save_a2v(trained, recipe.export)
    return _write(out, "a2v", recipe, evaluate_a2v(trained), start)


def train_joint_recipe(recipe: JointRecipe, out: Path, show: bool) -> dict[str, Any]:
    """Train and score the joint generator; save it where ``export`` says."""
    start = time.perf_counter()
    trained = train_joint(GenTrainConfig(**{**recipe.train.__dict__, "progress": show}), recipe.model, out)
    if recipe.export is not None:
        save_joint(trained, recipe.export, recipe.sampling_steps, recipe.guidance)
    scores = evaluate_joint(trained, recipe.guidance, recipe.sampling_steps, recipe.train.seed)
    return _write(out, "joint", recipe, scores, start)


GENERATOR_RECIPES: dict[str, tuple[type, Any]] = {
    "v2a": (V2ARecipe, train_v2a_recipe),
    "a2v": (A2VRecipe, train_a2v_recipe),
    "joint": (JointRecipe, train_joint_recipe),
}
"""Generator recipe name -> (recipe dataclass, trainer returning its metrics)."""
