"""Instruction tuning of the Encoder+LLM (projector + LoRA) and of the blind LM, on AVSynth instructions.

:func:`instruction_tune` draws batches of instruction records (:mod:`avikit.train.instruction_data`, kinds
weighted by :data:`~avikit.train.instruction_data.DEFAULT_WEIGHTS`), places each clip's projected tokens
before its question in the chat template and minimises the cross-entropy of the answer tokens (AdamW,
linear warm-up then cosine decay, gradient clipping). Only the projector and the LoRA adapters train; the
trunk and the LM stay frozen. Every ``eval_every`` steps the loss on ``val`` records is logged (choices are
made on val, never on test). A wall-clock budget stops the run early and says so in ``metrics.json``.

With ``use_media=False`` the same recipe trains the *blind* LM (LoRA only, questions without media): the
strongest form of the baseline an AV-LLM must beat.

Example:
    >>> InstructionRecipe().steps, InstructionRecipe.tiny().steps
    (900, 4)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from avikit.models.encoders.av_encoder import AVJointEncoder
from avikit.models.encoders.trunk import load_encoder
from avikit.models.language.encoder_llm import (
    EncoderLLM,
    EncoderLLMConfig,
    build_encoder_llm,
    save_encoder_llm,
)
from avikit.models.language.smollm2 import load_smollm2
from avikit.nn import seed_everything
from avikit.train.instruction_data import (
    DEFAULT_WEIGHTS,
    InstructionSet,
    build_instruction_set,
    sample_records,
)
from avikit.train.loops import run_budgeted, warmup_cosine

__all__ = ["InstructionRecipe", "batch_loss", "instruction_tune", "peak_memory_mb"]


@dataclass(frozen=True)
class InstructionRecipe:
    """The instruction-tuning schedule.

    Attributes:
        model: the archetype's config (``use_media=False``: the blind LM).
        train_clips: clean AVSynth ``train`` clips.
        sync_clips: ``train`` clips with the audio shifted (sync questions).
        val_clips: ``val`` clips whose records give the validation loss.
        val_records: records of those clips scored (a fixed random subset).
        steps: optimisation steps.
        batch_size: records per step.
        lr: peak learning rate (projector and LoRA).
        warmup: linear warm-up steps.
        eval_every: steps between validation losses.
        weights: how often each kind is drawn.
        budget_seconds: stop early past this wall time (the run records where it stopped).
        seed: data order and initialisation.
    """

    model: EncoderLLMConfig = field(default_factory=EncoderLLMConfig)
    train_clips: int = 400
    sync_clips: int = 120
    val_clips: int = 24
    val_records: int = 64
    steps: int = 900
    batch_size: int = 4
    lr: float = 1e-3
    warmup: int = 40
    eval_every: int = 150
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    budget_seconds: float = 1680.0
    seed: int = 0

    @classmethod
    def tiny(cls) -> InstructionRecipe:
        """A few clips and steps (tests)."""
        return cls(train_clips=3, sync_clips=3, val_clips=2, steps=4, batch_size=2, warmup=1, eval_every=2)

    @classmethod
    def blind(cls) -> InstructionRecipe:
        """The blind LM: LoRA trained on the same records without media (same steps and seed)."""
        return cls(model=EncoderLLMConfig(use_media=False, model_id="avikit/blind-lm-sft"))


def peak_memory_mb() -> float:
    """Peak resident memory of this process in MiB (``ru_maxrss``)."""
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def batch_loss(model: EncoderLLM, data: InstructionSet, rows: list[int]) -> torch.Tensor:
    """Answer cross-entropy of records ``rows`` of ``data`` (media of their clips before the questions)."""
    records = [data.records[k] for k in rows]
    tokens = data.tokens.select([int(data.row[k]) for k in rows]) if model.projector is not None else None
    media = model.media_embeddings(tokens, len(rows))
    batch = model.chat.build(media, [r.question for r in records], [r.answer for r in records])
    return model.chat.answer_loss(batch)


def _subset(data: InstructionSet, count: int, seed: int) -> InstructionSet:
    keep = np.sort(np.random.default_rng(seed).permutation(len(data.records))[:count])
    return InstructionSet(data.tokens, data.clips, [data.records[k] for k in keep], data.row[keep])


@torch.no_grad()
def _val_loss(model: EncoderLLM, data: InstructionSet, batch_size: int = 8) -> float:
    model.eval()
    losses = [
        float(batch_loss(model, data, list(range(b, min(b + batch_size, len(data.records))))))
        for b in range(0, len(data.records), batch_size)
    ]
    model.train()
    return float(np.mean(losses))


def _loop(
    model: EncoderLLM, train: InstructionSet, val: InstructionSet, recipe: InstructionRecipe, out: Path
) -> dict[str, Any]:
    rng = np.random.default_rng(recipe.seed)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=recipe.lr, weight_decay=0.0)
    schedule = warmup_cosine(optimizer, recipe.warmup, recipe.steps)

    def step_loss() -> tuple[torch.Tensor, dict[str, float]]:
        return batch_loss(model, train, sample_records(train, recipe.batch_size, recipe.weights, rng)), {}

    def validate(done: int) -> dict[str, float]:
        due = done % recipe.eval_every == 0 or done == recipe.steps
        return {"val_loss": _val_loss(model, val)} if due else {}

    run = run_budgeted(model, (optimizer, schedule), step_loss, (recipe.steps, recipe.budget_seconds), out,
                       f"{model.id}: instruction tuning", clip=params, after_step=validate)  # fmt: skip
    records, done = run.records, run.steps_done
    final_val = next((r["val_loss"] for r in reversed(records) if "val_loss" in r), None)
    if "val_loss" not in records[-1]:  # stopped by the budget between two validations
        final_val = _val_loss(model, val)
    model.eval()
    seconds = run.seconds
    return {
        "seconds": round(seconds, 1),
        "steps_done": done,
        "seconds_per_step": round(seconds / max(done, 1), 3),
        "final_loss": records[-1]["loss"],
        "val_loss": final_val,
        "stopped_by_budget": run.stopped_by_budget,
    }


def instruction_tune(
    out: str | Path,
    recipe: InstructionRecipe | None = None,
    lm_loader: Callable[[], tuple[Any, Any]] = load_smollm2,
    encoder: AVJointEncoder | None = None,
) -> dict[str, Any]:
    """Train; save weights, ``recipe.json``, ``loss.jsonl``/``.svg`` and ``metrics.json``; return metrics.

    Args:
        out: output folder.
        recipe: the schedule (default :class:`InstructionRecipe`).
        lm_loader: returns ``(lm, tokenizer)`` (SmolLM2 by default; a tiny LM in tests).
        encoder: the frozen trunk (default: the packaged one the config names).
    """
    recipe = recipe or InstructionRecipe()
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    seed_everything(recipe.seed)
    trunk = encoder if encoder is not None else load_encoder(recipe.model.encoder)
    train = build_instruction_set(trunk, "train", recipe.train_clips, recipe.sync_clips, recipe.seed)
    val = _subset(
        build_instruction_set(
            trunk, "val", recipe.val_clips, 0, recipe.seed, kinds=[k for k in recipe.weights if k != "sync"]
        ),
        recipe.val_records,
        recipe.seed,
    )
    lm, tokenizer = lm_loader()
    dim = int(train.tokens.audio.shape[-1] // 2)
    model = build_encoder_llm(
        recipe.model, trunk if recipe.model.use_media else None, lm, tokenizer, feature_dim=dim
    )
    (folder / "recipe.json").write_text(json.dumps(asdict(recipe), indent=1, default=list))
    metrics = _loop(model, train, val, recipe, folder)
    save_encoder_llm(model, folder)
    metrics.update(
        {
            "trainable_parameters": model.trainable_parameters(),
            "train_records": len(train.records),
            "train_clips": len(train.clips),
            "peak_memory_mb": round(peak_memory_mb(), 1),
        }
    )
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=1))
    return metrics


def tiny_recipe(use_media: bool = True) -> InstructionRecipe:
    """The tiny recipe, with or without media."""
    tiny = InstructionRecipe.tiny()
    return replace(tiny, model=replace(tiny.model, use_media=use_media))
