"""Direct preference optimization (DPO) of the instruction-tuned Encoder+LLM on AVSynth preference pairs.

The loss is DPO's (Rafailov et al., NeurIPS 2023), the ``sigmoid`` loss of trl's ``DPOTrainer``:
``-log sigmoid(beta * ((pi_c - ref_c) - (pi_r - ref_r)))`` with ``pi``/``ref`` the summed log-probabilities
of the chosen (``c``) and rejected (``r``) answers under the policy and the frozen reference (the
instruction-tuned model before DPO). The implicit rewards are ``beta * (pi - ref)``.

The pairs (:mod:`avikit.data.preferences`) reject an answer that invents, drops or swaps an event in one
modality. Only the LoRA adapters train (the projector and the trunk stay as instruction tuning left them);
the reference log-probabilities are computed once, before the first step. :func:`preference_metrics`
reports preference accuracy (the policy's log-probability margin prefers the chosen answer), reward
accuracy and reward margin, overall and per corrupted modality, on ``val`` pairs before and after.

Example:
    >>> import torch
    >>> t = torch.tensor
    >>> out = dpo_loss(t([-1.0]), t([-3.0]), t([-2.0]), t([-2.0]), beta=0.5)
    >>> round(float(out.loss), 4), out.chosen_rewards.tolist(), out.rejected_rewards.tolist()
    (0.3133, [0.5], [-0.5])
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from avikit.data.preferences import PreferencePair, build_preference_pairs
from avikit.data.synth.ground_truth import build_targets
from avikit.data.synth.scene import sample_scene
from avikit.models.encoders.av_encoder import AVJointEncoder
from avikit.models.encoders.trunk import load_encoder
from avikit.models.language.encoder_llm import EncoderLLM, from_pretrained, save_encoder_llm
from avikit.models.language.smollm2 import load_smollm2
from avikit.nn import seed_everything
from avikit.train.instruction_data import InstructionSet, build_instruction_set
from avikit.train.instruction_tuning import peak_memory_mb
from avikit.train.loops import run_budgeted

__all__ = [
    "DPOLoss",
    "DPORecipe",
    "dpo_loss",
    "dpo_train",
    "pair_logprobs",
    "preference_metrics",
    "preference_pairs",
]


class DPOLoss(NamedTuple):
    """The mean loss and the per-pair implicit rewards."""

    loss: torch.Tensor
    chosen_rewards: torch.Tensor
    rejected_rewards: torch.Tensor


def dpo_loss(
    policy_chosen: torch.Tensor,
    policy_rejected: torch.Tensor,
    reference_chosen: torch.Tensor,
    reference_rejected: torch.Tensor,
    beta: float = 0.1,
) -> DPOLoss:
    """DPO's sigmoid loss of summed answer log-probabilities ``[B]`` (see the module docstring)."""
    chosen = policy_chosen - reference_chosen
    rejected = policy_rejected - reference_rejected
    loss = -F.logsigmoid(beta * (chosen - rejected)).mean()
    return DPOLoss(loss, beta * chosen.detach(), beta * rejected.detach())


def preference_metrics(
    policy: tuple[np.ndarray, np.ndarray],
    reference: tuple[np.ndarray, np.ndarray],
    modality: Sequence[str],
    beta: float,
) -> dict[str, float]:
    """Preference accuracy, reward accuracy and mean reward margin, overall and per corrupted modality."""
    (pc, pr), (rc, rr) = policy, reference
    margin = beta * ((pc - rc) - (pr - rr))
    out: dict[str, float] = {}
    groups = {
        "all": np.ones(len(pc), dtype=bool),
        **{m: np.array(modality) == m for m in sorted(set(modality))},
    }
    for name, keep in groups.items():
        if not keep.any():
            continue
        suffix = "" if name == "all" else f"_{name}"
        out[f"preference_accuracy{suffix}"] = float(np.mean(pc[keep] > pr[keep]))
        out[f"reward_accuracy{suffix}"] = float(np.mean(margin[keep] > 0))
        out[f"reward_margin{suffix}"] = float(np.mean(margin[keep]))
    return out


@dataclass(frozen=True)
class DPORecipe:
    """The DPO schedule.

    Attributes:
        base: the instruction-tuned model (weights folder or packaged name).
        train_clips: clean ``train`` clips of the instruction set (the same set as instruction tuning,
            so its cached trunk features are reused); ``sync_clips`` likewise.
        val_clips: ``val`` clips giving the validation pairs.
        train_pairs: pairs drawn from the train clips (fixed, seeded).
        val_pairs: validation pairs scored before and after.
        steps: optimisation steps; batch_size: pairs per step.
        lr: peak learning rate of the LoRA adapters.
        beta: DPO's temperature.
        budget_seconds: stop early past this wall time.
        seed: seed.
    """

    base: str = "encoder-llm"
    train_clips: int = 400
    sync_clips: int = 120
    val_clips: int = 24
    train_pairs: int = 480
    val_pairs: int = 96
    steps: int = 120
    batch_size: int = 4
    lr: float = 2e-4
    beta: float = 0.1
    budget_seconds: float = 1500.0
    seed: int = 0

    @classmethod
    def tiny(cls, base: str) -> DPORecipe:
        """A few pairs and steps (tests)."""
        return cls(
            base=base,
            train_clips=3,
            sync_clips=3,
            val_clips=2,
            train_pairs=6,
            val_pairs=4,
            steps=3,
            batch_size=2,
        )


def preference_pairs(
    data: InstructionSet, split: str, count: int, seed: int
) -> list[tuple[PreferencePair, int]]:
    """Up to ``count`` pairs of the clean clips of ``data`` with their clip rows (seeded choice)."""
    found: list[tuple[PreferencePair, int]] = []
    by_clip: dict[int, list[int]] = {}
    for k, row in enumerate(data.row.tolist()):
        by_clip.setdefault(row, []).append(k)
    for row, keys in by_clip.items():
        if "@" in data.clips[row]:
            continue  # a shifted clip: its records are sync questions
        index = int(data.clips[row].rsplit("_", 1)[1])
        targets = build_targets(sample_scene(split, index, seed))
        found += [(p, row) for p in build_preference_pairs([data.records[k] for k in keys], targets)]
    keep = np.random.default_rng(seed).permutation(len(found))[:count]
    return [found[k] for k in sorted(keep)]


def pair_logprobs(
    model: EncoderLLM, data: InstructionSet, pairs: Sequence[tuple[PreferencePair, int]]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed log-probabilities of the chosen and rejected answers ``([B], [B])`` (gradients flow)."""
    rows = [row for _, row in pairs]
    media = model.media_embeddings(
        data.tokens.select(rows) if model.projector is not None else None, len(rows)
    )
    prompts = [p.instruction.question for p, _ in pairs]
    answers = [p.chosen for p, _ in pairs] + [p.rejected for p, _ in pairs]
    logps = model.chat.answer_logprobs(model.chat.build(media + media, prompts + prompts, answers))
    return logps[: len(pairs)], logps[len(pairs) :]


@torch.no_grad()
def _all_logprobs(
    model: EncoderLLM, data: InstructionSet, pairs: Sequence[tuple[PreferencePair, int]], size: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    parts = [pair_logprobs(model, data, pairs[b : b + size]) for b in range(0, len(pairs), size)]
    return torch.cat([c for c, _ in parts]).numpy(), torch.cat([r for _, r in parts]).numpy()


def _train(
    model: EncoderLLM,
    data: InstructionSet,
    pairs: list[tuple[PreferencePair, int]],
    reference: tuple[np.ndarray, np.ndarray],
    recipe: DPORecipe,
    out: Path,
) -> dict[str, Any]:
    params = [p for name, p in model.named_parameters() if p.requires_grad and "lora_" in name]
    for name, p in model.named_parameters():
        p.requires_grad_("lora_" in name and p.requires_grad)
    optimizer = torch.optim.AdamW(params, lr=recipe.lr, weight_decay=0.0)
    rng = np.random.default_rng(recipe.seed)

    def step_loss() -> tuple[torch.Tensor, dict[str, float]]:
        rows = rng.choice(len(pairs), size=min(recipe.batch_size, len(pairs)), replace=False)
        chosen, rejected = pair_logprobs(model, data, [pairs[k] for k in rows])
        ref = (torch.from_numpy(reference[0][rows]), torch.from_numpy(reference[1][rows]))
        result = dpo_loss(chosen, rejected, *ref, beta=recipe.beta)
        return result.loss, {"reward_margin": float((result.chosen_rewards - result.rejected_rewards).mean())}

    run = run_budgeted(model, (optimizer, None), step_loss, (recipe.steps, recipe.budget_seconds), out,
                       f"{model.id}: DPO", clip=params)  # fmt: skip
    return {
        "seconds": round(run.seconds, 1),
        "steps_done": run.steps_done,
        "seconds_per_step": round(run.seconds / max(run.steps_done, 1), 3),
        "stopped_by_budget": run.stopped_by_budget,
    }


def dpo_train(
    out: str | Path,
    recipe: DPORecipe | None = None,
    lm_loader: Callable[[], tuple[Any, Any]] = load_smollm2,
    encoder: AVJointEncoder | None = None,
) -> dict[str, Any]:
    """Run DPO from ``recipe.base``; save the policy and ``metrics.json`` (before/after on val pairs)."""
    recipe = recipe or DPORecipe()
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    seed_everything(recipe.seed)
    trunk = encoder if encoder is not None else load_encoder()
    model = from_pretrained(recipe.base, lm_loader, trunk)
    model.id = model.id.replace("encoder-llm", "encoder-llm-dpo")
    train_set = build_instruction_set(trunk, "train", recipe.train_clips, recipe.sync_clips, recipe.seed)
    val_set = build_instruction_set(
        trunk,
        "val",
        recipe.val_clips,
        0,
        recipe.seed,
        kinds=["qa", "mc", "evidence", "caption", "grounding", "probe", "refusal"],
    )
    train_pairs = preference_pairs(train_set, "train", recipe.train_pairs, recipe.seed)
    val_pairs = preference_pairs(val_set, "val", recipe.val_pairs, recipe.seed)
    start = time.perf_counter()
    reference = _all_logprobs(model, train_set, train_pairs)
    val_reference = _all_logprobs(model, val_set, val_pairs)
    modality = [p.modality for p, _ in val_pairs]
    before = preference_metrics(val_reference, val_reference, modality, recipe.beta)
    reference_seconds = time.perf_counter() - start
    (folder / "recipe.json").write_text(json.dumps(asdict(recipe), indent=1))
    metrics = _train(model, train_set, train_pairs, reference, recipe, folder)
    after = preference_metrics(_all_logprobs(model, val_set, val_pairs), val_reference, modality, recipe.beta)
    save_encoder_llm(model, folder)
    config = json.loads((folder / "config.json").read_text())
    config["config"]["model_id"] = model.id
    (folder / "config.json").write_text(json.dumps(config, indent=1))
    metrics.update(
        {
            "reference_seconds": round(reference_seconds, 1),
            "train_pairs": len(train_pairs),
            "val_pairs": len(val_pairs),
            "val_before": before,
            "val_after": after,
            "peak_memory_mb": round(peak_memory_mb(), 1),
        }
    )
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=1))
    return metrics
