"""Linear probes: one linear layer on pooled features of the frozen AVSynth trunk.

The standard way to measure what a self-supervised representation holds (as in CAV-MAE's and MAE's
linear-probe tables): the trunk stays frozen, its features are pooled, and one ``nn.Linear`` is fit on them.
Nothing else is learned: no attention, no fusion layer, no hidden layer. Three tasks:

- ``avel``: per-second logits ``W x_t + b`` over :data:`~avikit.tasks.AVEL_LABELS`, where ``x_t`` is the
  trunk's four segment features of second ``t`` side by side (audio, visual, fused audio, fused visual);
- ``classification``: class logits ``W mean_t(x_t) + b`` over the AVSynth classes;
- ``retrieval``: audio ``W_a mean_t(a_t)`` and video ``W_v mean_t(v_t)`` embeddings from the unfused audio
  and visual segment features (a query must not see its partner); one linear map per modality.

The classifiers are multinomial logistic regression with an L2 penalty, fit to convergence by full-batch
L-BFGS on standardised features; the standardisation is folded back into the layer, so the saved probe is
exactly ``x -> W x + b`` on the raw pooled features. The retrieval probe minimises symmetric InfoNCE.

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit import __version__
from avikit.data.synth.classes import CLASS_NAMES
from avikit.models.feature_sets import FeatureSet, build_feature_set
from avikit.models.retrieval import main_class
from avikit.models.trunk import ENCODER_NAME, WEIGHTS_DIR, TrunkModel, combined_hash, load_encoder
from avikit.models.trunk_encoding import MediaItem, encode_items
from avikit.nn import (
    LossLog,
    info_nce,
    load_weights,
    make_progress,
    plot_losses_svg,
    resolve_pretrained,
    save_config,
    save_weights,
    seed_everything,
)
from avikit.nn.config import config_from_dict, config_to_dict
from avikit.tasks import AVEL_LABELS, Task, get_task

__all__ = [
    "PROBE_TASKS",
    "LinearProbeModel",
    "ProbeRecipe",
    "fit_contrastive",
    "fit_logistic",
    "load_linear_probe",
    "pooled_features",
    "train_linear_probe",
]

logger = logging.getLogger(__name__)

PROBE_TASKS = ("avel", "classification", "retrieval")
"""Tasks with a linear probe."""
_SEGMENTS = 10  # every probe task sees the avel inputs: 10 s, one trunk segment per second
_PROBE_FILE = "probe.json"


@dataclass(frozen=True)
class ProbeRecipe:
    """A linear probe's data and fit: ``train_clips`` AVSynth train clips through the task's inputs.

    Attributes:
        encoder: the frozen trunk (a packaged name or a folder).
        train_clips: AVSynth ``train`` clips (the same clips the shipped heads trained on).
        val_clips: AVSynth ``val`` clips that choose the L2 penalty.
        l2_grid: L2 penalties tried (mean loss + ``l2 / 2 * |W|^2``, on standardised features).
        max_iter: L-BFGS iterations (the fit stops earlier once converged).
        temperature: InfoNCE temperature (retrieval only).
        seed: seed of the fit.
        data_seed: AVSynth seed.
    """

    encoder: str = ENCODER_NAME
    train_clips: int = 300
    val_clips: int = 64
    l2_grid: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)
    max_iter: int = 200
    temperature: float = 0.07
    seed: int = 0
    data_seed: int = 0


# -------------------------------------------------------------------------------------------- features


def pooled_features(task: str, features: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """The probe's input: trunk features pooled for ``task`` (no learned pooling).

    Returns:
        ``avel``: ``([B, S, 4D],)``; ``classification``: ``([B, 4D],)``; ``retrieval``: audio ``[B, D]`` and
        video ``[B, D]``.
    """
    if task == "retrieval":
        return features["audio_segments"].mean(1), features["visual_segments"].mean(1)
    keys = ("audio_segments", "visual_segments", "joint_audio", "joint_visual")
    per_second = torch.cat([features[k] for k in keys], dim=-1)  # [B, S, 4D]
    if task == "avel":
        return (per_second,)
    if task == "classification":
        return (per_second.mean(1),)
    raise ValueError(f"no linear probe for task {task!r}; probes exist for {', '.join(PROBE_TASKS)}")


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
        raise ValueError(f"need x [N, F] and y [N], got {list(x.shape)} and {list(y.shape)}")
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


# ------------------------------------------------------------------------------------------------ model


class LinearProbeModel(TrunkModel):
    """The frozen trunk and one linear layer per output (a ``ModuleList`` of one or two ``nn.Linear``)."""

    head: nn.ModuleList

    def __init__(self, encoder: Any, head: nn.ModuleList, task: str, weights_hash: str) -> None:
        super().__init__(encoder, head, f"avikit/{task}-linear-probe", weights_hash)
        if task not in PROBE_TASKS:
            raise ValueError(f"no linear probe for task {task!r}; probes exist for {', '.join(PROBE_TASKS)}")
        self.tasks = (task,)

    def logits(self, features: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        """The probe's outputs on trunk features: one linear map of the pooled features per output."""
        pooled = pooled_features(self.tasks[0], features)
        return tuple(layer(x) for layer, x in zip(self.head, pooled, strict=True))

    @torch.no_grad()
    def predict(self, task: Task, batch: Sequence[MediaItem]) -> list[dict[str, Any]]:
        """Predictions in the task's schema (labels, class scores or unit embeddings)."""
        self.check_task(task)
        outputs = self.logits(encode_items(self.encoder, batch, _SEGMENTS))
        if task.name == "avel":
            labels = outputs[0].argmax(-1)  # [B, S]
            return [
                {"id": item.sample.id, "labels": [AVEL_LABELS[k] for k in row.tolist()]}
                for item, row in zip(batch, labels, strict=True)
            ]
        if task.name == "classification":
            scores = outputs[0].softmax(-1)
            return [
                {"id": it.sample.id, "scores": row.tolist()} for it, row in zip(batch, scores, strict=True)
            ]
        audio, video = (F.normalize(x, dim=-1) for x in outputs)
        return [
            {"id": it.sample.id, "audio_embedding": a.tolist(), "video_embedding": v.tolist()}
            for it, a, v in zip(batch, audio, video, strict=True)
        ]


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
        raise ValueError("ProbeRecipe.l2_grid is empty; give at least one L2 penalty")
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
        raise ValueError(f"no linear probe for task {task!r}; probes exist for {', '.join(PROBE_TASKS)}")
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


def load_linear_probe(folder: str | os.PathLike[str]) -> LinearProbeModel:
    """Load a probe saved by :func:`train_linear_probe` with its frozen trunk, in eval mode."""
    path = Path(folder)
    if not (path / _PROBE_FILE).is_file():
        raise FileNotFoundError(
            f"{path} has no {_PROBE_FILE}; train one with `avikit train <task>-linear-probe`"
        )
    meta = json.loads((path / _PROBE_FILE).read_text())
    recipe = config_from_dict(ProbeRecipe, meta["recipe"])
    encoder_folder = resolve_pretrained(recipe.encoder, [WEIGHTS_DIR])
    encoder = load_encoder(encoder_folder)
    dim = encoder.audio.dim
    if meta["task"] == "retrieval":
        head = nn.ModuleList([nn.Linear(dim, dim), nn.Linear(dim, dim)])
    else:
        k = len(AVEL_LABELS) if meta["task"] == "avel" else len(CLASS_NAMES)
        head = nn.ModuleList([nn.Linear(4 * dim, k)])
    load_weights(head, path / "model.safetensors", meta["sha256"])
    weights_hash = combined_hash(path / "model.safetensors", encoder_folder / "model.safetensors")
    return LinearProbeModel(encoder, head.requires_grad_(False), meta["task"], weights_hash).eval()
