"""Teaching SmolLM2 to write generator calls: LoRA on request -> JSON call pairs (the LLM+Generator's LM).

The requests of AVSynth ``train`` clips (:func:`avikit.data.tool_requests.build_tool_requests`; their
captions come from the scenes' ground truth, no rendering needed) are the user turns; the calls, written
as compact JSON, are the answers. Text only: no media reach this LM (the generators see the clip).

Example:
    >>> ToolCallRecipe().steps, ToolCallRecipe.tiny().steps
    (200, 3)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from avikit.data.synth.ground_truth import build_targets
from avikit.data.synth.scene import sample_scene
from avikit.data.tool_requests import ToolRequest, build_tool_requests
from avikit.models.language.encoder_llm import EncoderLLMConfig, build_encoder_llm, save_encoder_llm
from avikit.models.language.smollm2 import load_smollm2
from avikit.nn import seed_everything
from avikit.train.instruction_tuning import peak_memory_mb
from avikit.train.loops import run_budgeted

__all__ = ["ToolCallRecipe", "call_text", "tool_call_tune", "tool_requests"]


@dataclass(frozen=True)
class ToolCallRecipe:
    """The schedule of the call-writing adapters."""

    train_clips: int = 200
    steps: int = 200
    batch_size: int = 8
    lr: float = 1e-3
    lora_rank: int = 8
    budget_seconds: float = 900.0
    seed: int = 0

    @classmethod
    def tiny(cls) -> ToolCallRecipe:
        """A few clips and steps (tests)."""
        return cls(train_clips=2, steps=3, batch_size=2)


def call_text(call: dict[str, Any]) -> str:
    """The answer a call is written as: compact JSON, keys in schema order."""
    return json.dumps(call, separators=(", ", ": "))


def tool_requests(split: str, count: int, seed: int = 0) -> list[ToolRequest]:
    """The requests of AVSynth ``split`` clips ``0 .. count - 1`` (captions from the scenes' ground truth)."""
    rows = []
    for index in range(count):
        caption = build_targets(sample_scene(split, index, seed))["caption"]
        rows += build_tool_requests(caption, f"{split}_{index:06d}", split)
    return rows


def tool_call_tune(
    out: str | Path,
    recipe: ToolCallRecipe | None = None,
    lm_loader: Callable[[], tuple[Any, Any]] = load_smollm2,
) -> dict[str, Any]:
    """Train the adapters; save them (``avikit/llm-generator``) with ``loss.jsonl`` and ``metrics.json``."""
    recipe = recipe or ToolCallRecipe()
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    seed_everything(recipe.seed)
    rows = tool_requests("train", recipe.train_clips, recipe.seed)
    lm, tokenizer = lm_loader()
    config = EncoderLLMConfig(
        use_media=False, lora_rank=recipe.lora_rank, preset="tool-call", model_id="avikit/llm-generator"
    )
    model = build_encoder_llm(config, None, lm, tokenizer)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=recipe.lr, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, recipe.lr, total_steps=recipe.steps, pct_start=0.1
    )
    rng, start = np.random.default_rng(recipe.seed), time.perf_counter()

    def step_loss() -> tuple[torch.Tensor, dict[str, float]]:
        batch = [rows[int(k)] for k in rng.choice(len(rows), size=recipe.batch_size, replace=False)]
        inputs = model.chat.build(
            [None] * len(batch), [r.request for r in batch], [call_text(r.call) for r in batch]
        )
        return model.chat.answer_loss(inputs), {}

    run = run_budgeted(model, (optimizer, schedule), step_loss, (recipe.steps, recipe.budget_seconds), folder,
                       "llm-generator: call writing")  # fmt: skip
    save_encoder_llm(model, folder)
    (folder / "recipe.json").write_text(json.dumps(asdict(recipe), indent=1))
    seconds = time.perf_counter() - start
    metrics = {
        "seconds": round(seconds, 1),
        "steps_done": run.steps_done,
        "stopped_by_budget": run.stopped_by_budget,
        "final_loss": run.records[-1]["loss"],
        "train_requests": len(rows),
        "peak_memory_mb": round(peak_memory_mb(), 1),
    }
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=1))
    return metrics
