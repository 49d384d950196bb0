"""Fitting linear probes on the frozen trunk.

Fitting linear probes on the frozen trunk: multinomial logistic regression by full-batch L-BFGS and a
contrastive probe by InfoNCE, with the L2 penalty chosen on val (:func:`train_linear_probe`).

The model that a probe becomes is :class:`~avikit.models.perception.linear_probe.LinearProbeModel`.

Example:
    >>> import torch
    >>> x, y = torch.randn(64, 5), torch.arange(64) % 3
    >>> layer = fit_logistic(x, y, num_classes=3, l2=1e-2)
    >>> layer.weight.shape, float((layer(x).argmax(-1) == y).float().mean()) > 0.3
    (torch.Size([3, 5]), True)
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit import __version__
from avikit.data.synth.classes import CLASS_NAMES
from avikit.errors import UsageError
from avikit.models.encoders.trunk import load_encoder
from avikit.models.perception.linear_probe import (
    _PROBE_FILE,
    _SEGMENTS,
    PROBE_TASKS,
    ProbeRecipe,
    pooled_features,
)
from avikit.models.perception.retrieval import main_class
from avikit.nn import (
    LossLog,
    info_nce,
    make_progress,
    plot_losses_svg,
    save_config,
    save_weights,
    seed_everything,
)
from avikit.nn.config import config_to_dict
from avikit.tasks import AVEL_LABELS, get_task
from avikit.train.feature_sets import FeatureSet, build_feature_set

__all__ = ["fit_contrastive", "fit_logistic", "train_linear_probe"]

logger = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------------- fits


def _standardise(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mean, std = x.mean(0), x.std(0).clamp_min(1e-6)
    return mean, std


def _fold(layer: nn.Linear, mean: torch.Tensor, std: torch.Tensor) -> nn.Linear:
    """``W ((x - mean) / std) + b`` as one layer on raw ``x``."""
    out = nn.Linear(layer.in_features, layer.out_features)
    with torch.no_grad():
        out.weight.copy_(layer.weight / std)
        out.bias.copy_(layer.bias - (layer.weight / std) @ mean)
    return out.requires_grad_(False)


def _lbfgs(
    params: Sequence[nn.Parameter], closure_loss: Any, max_iter: int, losses: list[float] | None
) -> None:
    """Full-batch L-BFGS with strong-Wolfe line search; appends the loss of every evaluation to ``losses``."""
    optimizer = torch.optim.LBFGS(
        params, lr=1.0, max_iter=max_iter, history_size=20, tolerance_grad=1e-7, line_search_fn="strong_wolfe"
    )
    losses = [] if losses is None else losses

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = closure_loss()
        loss.backward()
        losses.append(float(loss.detach()))
        return loss

    optimizer.step(closure)


def fit_logistic(
    x: torch.Tensor,
    y: torch.Tensor,
    num_classes: int,
    l2: float,
    max_iter: int = 200,
    losses: list[float] | None = None,
) -> nn.Linear:
    """Multinomial logistic regression: minimise mean cross-entropy + ``l2 / 2 * |W|^2`` (bias free).

    The fit runs on standardised features (zero mean, unit variance per dimension, where ``l2`` applies)
    and is folded back, so the returned layer maps raw ``x [N, F]`` to logits ``[N, num_classes]``.
    The objective of every L-BFGS evaluation is appended to ``losses`` when given.
    """
    if x.ndim != 2 or y.shape != (len(x),):
        raise UsageError(f"need x [N, F] and y [N], got {list(x.shape)} and {list(y.shape)}")
    mean, std = _standardise(x)
    z = (x - mean) / std
    layer = nn.Linear(x.shape[1], num_classes)
    nn.init.zeros_(layer.weight)
    nn.init.zeros_(layer.bias)
    _lbfgs(
        list(layer.parameters()),
        lambda: F.cross_entropy(layer(z), y) + 0.5 * l2 * layer.weight.square().sum(),
        max_iter,
        losses,
    )
    return _fold(layer, mean, std)


def fit_contrastive(
    audio: torch.Tensor,
    video: torch.Tensor,
    dim: int,
    temperature: float,
    l2: float,
    max_iter: int = 200,
    losses: list[float] | None = None,
) -> tuple[nn.Linear, nn.Linear]:
    """Two linear maps (audio, video) to a ``dim``-wide space minimising full-batch symmetric InfoNCE.

    Fit by L-BFGS from a seeded random start on standardised features, folded back like
    :func:`fit_logistic`; the objective of every evaluation is appended to ``losses`` when given.
    """
    gen = torch.Generator().manual_seed(0)
    (am, asd), (vm, vsd) = _standardise(audio), _standardise(video)
    za, zv = (audio - am) / asd, (video - vm) / vsd
    maps = [nn.Linear(za.shape[1], dim), nn.Linear(zv.shape[1], dim)]
    for layer in maps:
        with torch.no_grad():
            layer.weight.copy_(torch.randn(layer.weight.shape, generator=gen) / layer.in_features**0.5)
            layer.bias.zero_()
    params = [p for layer in maps for p in layer.parameters()]
    _lbfgs(
        params,
        lambda: (
            info_nce(maps[0](za), maps[1](zv), temperature)
            + 0.5 * l2 * sum(layer.weight.square().sum() for layer in maps)
        ),
        max_iter,
        losses,
    )
    return _fold(maps[0], am, asd), _fold(maps[1], vm, vsd)


# --------------------------------------------------------------------------------------------- training


def _examples(task: str, data: FeatureSet) -> tuple[torch.Tensor, torch.Tensor]:
    """Pooled inputs and targets: ``(x, y)`` for the classifiers, ``(audio, video)`` for retrieval."""
    pooled = pooled_features(task, data.features)
    if task == "retrieval":
        return pooled[0], pooled[1]
    if task == "avel":
        target = get_task("avel")
        y = torch.stack([torch.as_tensor(target.build_target(s)["labels"]) for s in data.samples]).long()
        return pooled[0].flatten(0, 1), y.flatten()
    labels = torch.tensor([main_class(s) for s in data.samples])  # -1: no audio-visual event, not scored
    return pooled[0][labels >= 0], labels[labels >= 0]


def _fit(
    task: str, train: tuple[torch.Tensor, torch.Tensor], l2: float, recipe: ProbeRecipe, losses: list[float]
) -> nn.ModuleList:
    x, y = train
    if task == "retrieval":
        return nn.ModuleList(
            fit_contrastive(x, y, x.shape[1], recipe.temperature, l2, recipe.max_iter, losses)
        )
    k = len(AVEL_LABELS) if task == "avel" else len(CLASS_NAMES)
    return nn.ModuleList([fit_logistic(x, y, k, l2, recipe.max_iter, losses)])


@torch.no_grad()
def _score(task: str, head: nn.ModuleList, data: tuple[torch.Tensor, torch.Tensor]) -> float:
    """Accuracy (avel: per second; classification: top-1), or retrieval R@1 averaged over both directions."""
    x, y = data
    if task != "retrieval":
        return float((head[0](x).argmax(-1) == y).float().mean())
    sim = F.normalize(head[0](x), dim=-1) @ F.normalize(head[1](y), dim=-1).T  # [N audio, N video]
    truth = torch.arange(len(sim))
    return float(((sim.argmax(1) == truth).float().mean() + (sim.argmax(0) == truth).float().mean()) / 2)


def _select(
    task: str, train: FeatureSet, val: FeatureSet, recipe: ProbeRecipe, show: bool
) -> tuple[nn.ModuleList, float, list[float], dict[str, float]]:
    """Fit one probe per ``l2`` of the grid on train; keep the best on val (ties: the stronger penalty)."""
    train_xy, val_xy = _examples(task, train), _examples(task, val)
    best: tuple[float, float, nn.ModuleList, list[float]] | None = None
    scores: dict[str, float] = {}
    with make_progress(disable=not show) as progress:
        bar = progress.add_task(f"linear probe {task}", total=len(recipe.l2_grid), info="L-BFGS")
        for l2 in sorted(recipe.l2_grid, reverse=True):
            losses: list[float] = []
            head = _fit(task, train_xy, l2, recipe, losses)
            scores[f"{l2:g}"] = score = _score(task, head, val_xy)
            if best is None or score > best[0]:
                best = (score, l2, head, losses)
            progress.update(bar, advance=1, info=f"l2 {l2:g}: val {score:.3f}")
    if best is None:
        raise UsageError("ProbeRecipe.l2_grid is empty; give at least one L2 penalty")
    return best[2], best[1], best[3], scores


def train_linear_probe(
    task: str, recipe: ProbeRecipe, out_dir: str | os.PathLike[str], show_progress: bool = True
) -> dict[str, Any]:
    """Fit the linear probe of ``task`` on frozen-trunk features of AVSynth train and save it to ``out_dir``.

    The L2 penalty is chosen on AVSynth ``val`` clips (never the test split) from ``recipe.l2_grid``.
    Writes ``model.safetensors`` (the linear layers), ``probe.json`` (task, chosen penalty, recipe,
    sha256), ``loss.jsonl``/``loss.svg`` (the objective at every L-BFGS evaluation of the kept fit),
    ``recipe.json`` and ``metrics.json``.

    Returns:
        the metrics (train and val score, the val score of every penalty, clips, seconds, versions).
    """
    if task not in PROBE_TASKS:
        raise UsageError(f"no linear probe for task {task!r}; probes exist for {', '.join(PROBE_TASKS)}")
    out, start = Path(out_dir), time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    seed_everything(recipe.seed)
    encoder = load_encoder(recipe.encoder)
    sets = [
        build_feature_set(get_task("avel"), encoder, split, count, _SEGMENTS, recipe.data_seed,
                          show_progress=show_progress)
        for split, count in (("train", recipe.train_clips), ("val", recipe.val_clips))
    ]  # fmt: skip
    head, l2, losses, val_scores = _select(task, sets[0], sets[1], recipe, show_progress)
    with LossLog(out / "loss.jsonl") as log:
        for step, value in enumerate(losses, start=1):
            log.write(step=step, loss=value)
    plot_losses_svg(log.records, out / "loss.svg", title=f"{task} linear probe: L-BFGS objective")
    sha = save_weights(head, out / "model.safetensors")
    meta = {"task": task, "l2": l2, "recipe": config_to_dict(recipe), "sha256": sha}
    (out / _PROBE_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    save_config(recipe, out / "recipe.json")
    metrics = {
        "recipe": f"{task}-linear-probe",
        "l2": l2,
        "train_score": _score(task, head, _examples(task, sets[0])),
        "val_score": val_scores[f"{l2:g}"],
        "val_score_by_l2": val_scores,
        "train_clips": recipe.train_clips,
        "val_clips": recipe.val_clips,
        "lbfgs_evaluations": len(losses),
        "num_parameters": sum(p.numel() for p in head.parameters()),
        "seconds": round(time.perf_counter() - start, 2),
        "avikit_version": __version__,
        "torch_version": torch.__version__,
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    logger.info("linear probe %s done in %.1f s (l2 %g)", task, metrics["seconds"], l2)
    return metrics
