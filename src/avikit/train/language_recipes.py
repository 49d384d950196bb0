"""The AV-LLM recipes as entries of :data:`avikit.train.recipes.RECIPES` (``avikit train encoder-llm`` ...).

Each trainer runs one recipe on SmolLM2 and the packaged trunk and returns where it wrote and its metrics:
``encoder-llm`` and ``blind-lm-sft`` (:mod:`avikit.train.instruction_tuning`), ``encoder-llm-dpo``
(:mod:`avikit.train.dpo`, from the packaged ``encoder-llm``), ``llm-generator``
(:mod:`avikit.train.tool_calls`) and ``unified-av`` (:mod:`avikit.train.unified`). Run them with
``OMP_NUM_THREADS=1`` on a shared 2-core machine (two threads fighting other jobs ran 2-7x slower here).

Example:
    >>> sorted(LANGUAGE_RECIPES)
    ['blind-lm-sft', 'encoder-llm', 'encoder-llm-dpo', 'llm-generator', 'unified-av']
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from avikit.train.dpo import DPORecipe, dpo_train
from avikit.train.instruction_tuning import InstructionRecipe, instruction_tune
from avikit.train.tool_calls import ToolCallRecipe, tool_call_tune
from avikit.train.unified import UnifiedRecipe, train_unified

__all__ = ["LANGUAGE_RECIPES", "LanguageResult"]


class LanguageResult:
    """Where a language recipe wrote its files, and its numbers (the shape of ``RecipeResult``)."""

    def __init__(self, out_dir: Path, metrics: dict[str, Any]) -> None:
        self.out_dir, self.metrics = out_dir, metrics


def _trainer(run: Callable[[Path, Any], dict[str, Any]]) -> Callable[[Any, Path, bool], LanguageResult]:
    def train(recipe: Any, out: Path, show_progress: bool) -> LanguageResult:
        return LanguageResult(out, run(out, recipe))

    return train


LANGUAGE_RECIPES: dict[str, tuple[type, Callable[[Any, Path, bool], Any]]] = {
    "encoder-llm": (InstructionRecipe, _trainer(lambda out, r: instruction_tune(out, r))),
    "blind-lm-sft": (InstructionRecipe.blind, _trainer(lambda out, r: instruction_tune(out, r))),  # type: ignore[dict-item]
    "encoder-llm-dpo": (DPORecipe, _trainer(lambda out, r: dpo_train(out, r))),
    "llm-generator": (ToolCallRecipe, _trainer(lambda out, r: tool_call_tune(out, r))),
    "unified-av": (UnifiedRecipe, _trainer(lambda out, r: train_unified(out, r))),
}
"""Recipe name -> (recipe factory, trainer)."""
