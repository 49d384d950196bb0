"""The seeded training loops the reference models share, each with a progress bar and a loss log.

- :func:`run_minibatches`: minibatches of row indices, reshuffled every epoch, named losses per step (the
  heads on cached features, :func:`fit_head`, and end-to-end fine-tuning);
- :func:`run_steps`: one scalar loss per step from a closure that draws its own batch, gradient clipping
  (the generators of :mod:`avikit.train.generators`, the vocoder, the packaged codec and the tokenizer
  study's codecs);
- :func:`run_budgeted`: one scalar loss per step (with named extra values) under a wall-clock budget, logged
  with each step's elapsed seconds to ``loss.jsonl`` (the language recipes: instruction tuning, DPO, the
  call-writing adapters and the unified model);
- :func:`warmup_cosine`: linear warm-up then cosine decay, the language recipes' schedule;
- :func:`draw_crops`: random equal-length crops of a batch of clips (a closure's batch for :func:`run_steps`).

Example:
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Linear(3, 1)
    >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> schedule = torch.optim.lr_scheduler.ConstantLR(optimizer, 1.0)
    >>> record = run_steps(model, (optimizer, schedule), lambda: model(torch.ones(2, 3)).square().mean(), 4)
    >>> len(record["loss_curve"]), model.training
    (4, False)
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from avikit.errors import UsageError
from avikit.nn import LossLog, make_progress, plot_losses_svg, seed_everything

__all__ = [
    "BudgetedRun",
    "FitConfig",
    "LossFn",
    "StepLog",
    "draw_crops",
    "fit_head",
    "run_budgeted",
    "run_minibatches",
    "run_steps",
    "warmup_cosine",
]

logger = logging.getLogger(__name__)

Optim = tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]
"""An optimizer and its learning-rate schedule (stepped once per training step)."""


@dataclass(frozen=True)
class FitConfig:
    """The schedule of a head trained on cached features."""

    steps: int = 400
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-2
    seed: int = 0


LossFn = Callable[[Mapping[str, torch.Tensor]], dict[str, torch.Tensor]]
"""A batch of named tensors -> named scalar losses including ``"loss"``, the one minimised."""


def fit_head(
    head: nn.Module,
    loss_fn: LossFn,
    data: Mapping[str, torch.Tensor],
    cfg: FitConfig,
    out_dir: str | os.PathLike[str],
    name: str,
    show_progress: bool = True,
) -> list[dict[str, float]]:
    """Train ``head`` by AdamW on minibatches of ``data`` (tensors with one leading size ``N``).

    ``loss_fn(batch)`` returns named scalar losses including ``"loss"``, the one minimised. Writes
    ``loss.jsonl`` (one record per step) and ``loss.svg`` to ``out_dir`` and returns the records.
    """
    out = Path(out_dir)
    gen = seed_everything(cfg.seed)
    sizes = {len(v) for v in data.values()}
    if len(sizes) != 1:
        raise UsageError(f"training tensors must share their first size, got {sorted(sizes)}")
    count = sizes.pop()
    params = [p for p in head.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, cfg.lr, total_steps=cfg.steps, pct_start=0.1)
    return run_minibatches(
        head,
        lambda idx: loss_fn({key: value[idx] for key, value in data.items()}),
        count,
        (cfg.steps, cfg.batch_size),
        (optimizer, schedule),
        gen,
        out,
        (f"train {name}", f"{name}: training loss"),
        show_progress,
    )


def run_minibatches(
    module: nn.Module,
    step_loss: Callable[[torch.Tensor], dict[str, torch.Tensor]],
    count: int,
    schedule_size: tuple[int, int],
    optim: Optim,
    gen: torch.Generator,
    out: Path,
    labels: tuple[str, str],
    show_progress: bool = True,
) -> list[dict[str, float]]:
    """The training loop: ``steps`` minibatches of row indices into ``count`` rows, reshuffled per epoch.

    ``step_loss(idx)`` returns named scalar losses including ``"loss"``, the one minimised. Writes
    ``loss.jsonl`` (one record per step) and ``loss.svg`` (titled ``labels[1]``; ``labels[0]`` is the
    progress bar's) to ``out``, leaves ``module`` in eval mode and returns the records.
    """
    (steps, batch_size), (optimizer, schedule) = schedule_size, optim
    module.train()
    order, cursor = torch.randperm(count, generator=gen), 0
    with LossLog(out / "loss.jsonl") as log, make_progress(disable=not show_progress) as progress:
        bar = progress.add_task(labels[0], total=steps, info="")
        for step in range(steps):
            if cursor + batch_size > count:
                order, cursor = torch.randperm(count, generator=gen), 0
            idx = order[cursor : cursor + batch_size]
            cursor += batch_size
            losses = step_loss(idx)
            optimizer.zero_grad(set_to_none=True)
            losses["loss"].backward()
            optimizer.step()
            schedule.step()
            values = {key: float(value.detach()) for key, value in losses.items()}
            log.write(step=step + 1, **values)
            progress.update(bar, advance=1, info=f"loss {values['loss']:.3f}")
    module.eval()
    plot_losses_svg(log.records, out / "loss.svg", title=labels[1])
    return log.records


@dataclass(frozen=True)
class StepLog:
    """Where :func:`run_steps` reports: the progress bar's label and, with ``out_dir``, the loss files.

    Attributes:
        name: progress label and file stem: ``<name>_loss.jsonl`` (``step`` from 0, ``loss``) and
            ``<name>_loss.svg`` in ``out_dir``.
        out_dir: folder of the loss files; ``None`` writes none.
        title: title of the SVG loss curve.
        show_progress: draw the progress bar.
    """

    name: str = "train"
    out_dir: Path | None = None
    title: str = "training loss"
    show_progress: bool = False


def run_steps(
    model: nn.Module,
    optim: Optim,
    step_loss: Callable[[], torch.Tensor],
    steps: int,
    report: StepLog | None = None,
    clip_norm: float | None = None,
    on_step: Callable[[int, float], None] | None = None,
) -> dict[str, Any]:
    """``steps`` optimisation steps of ``model``, each minimising ``step_loss()`` (which draws its batch).

    Each step clears the gradients, back-propagates, clips the gradient norm of ``model``'s parameters to
    ``clip_norm`` (when given), steps the optimizer and then the schedule, then calls ``on_step(step, loss)``
    (when given; ``step`` counts from 0). Leaves ``model`` in eval mode.

    Returns:
        ``{"seconds", "loss_curve"}``: wall-clock seconds and the loss of every step.
    """
    (optimizer, schedule), report = optim, report or StepLog()
    out = report.out_dir
    curve: list[float] = []
    start = time.perf_counter()
    model.train()
    log_file = LossLog(out / f"{report.name}_loss.jsonl") if out else nullcontext()
    with log_file as log, make_progress(disable=not report.show_progress) as progress:
        task = progress.add_task(report.name, total=steps, info="")
        for step in range(steps):
            loss = step_loss()
            optimizer.zero_grad()
            loss.backward()
            if clip_norm is not None:
                nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
            optimizer.step()
            schedule.step()
            curve.append(float(loss.detach()))
            if log:
                log.write(step=step, loss=curve[-1])
            if on_step is not None:
                on_step(step, curve[-1])
            progress.update(task, advance=1, info=f"loss {curve[-1]:.3f}")
    model.eval()
    if out:
        records = [{"step": float(i), "loss": value} for i, value in enumerate(curve)]
        plot_losses_svg(records, out / f"{report.name}_loss.svg", title=report.title)
    return {"seconds": time.perf_counter() - start, "loss_curve": curve}


@dataclass(frozen=True)
class BudgetedRun:
    """What :func:`run_budgeted` did.

    Attributes:
        records: the ``loss.jsonl`` records, one per step done.
        steps_done: steps done.
        stopped_by_budget: whether the budget stopped the run before its last step.
        seconds: wall-clock seconds of the loop.
    """

    records: list[dict[str, float]]
    steps_done: int
    stopped_by_budget: bool
    seconds: float


def run_budgeted(
    module: nn.Module,
    optim: tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler | None],
    step_loss: Callable[[], tuple[torch.Tensor, dict[str, float]]],
    budget: tuple[int, float],
    out: Path,
    title: str,
    clip: Sequence[torch.Tensor] | None = None,
    after_step: Callable[[int], dict[str, float]] | None = None,
) -> BudgetedRun:
    """Up to ``budget[0]`` steps of ``module``, stopping once ``budget[1]`` wall-clock seconds are spent.

    ``step_loss()`` draws its batch and returns the loss to minimise and named extra values to log. Each
    step clears the gradients, back-propagates, clips the gradient norm of the ``clip`` tensors to 1 (when
    given), steps the optimizer and then the schedule (when there is one), and logs ``{"step"`` (from 1),
    ``"loss"``, the extra values, ``"seconds"`` (since the loop began), then ``after_step(step)``'s
    values``}`` to ``out/loss.jsonl``. Draws ``out/loss.svg`` titled ``title``; leaves ``module`` in eval
    mode.

    Example:
        >>> import tempfile
        >>> model = nn.Linear(3, 1)
        >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        >>> step_loss = lambda: (model(torch.ones(2, 3)).square().mean(), {})
        >>> out = Path(tempfile.mkdtemp())
        >>> run = run_budgeted(model, (optimizer, None), step_loss, (4, 60.0), out, "loss")
        >>> run.steps_done, run.stopped_by_budget, list(run.records[0])
        (4, False, ['step', 'loss', 'seconds'])
    """
    (optimizer, schedule), (steps, seconds) = optim, budget
    start, done = time.perf_counter(), 0
    module.train()
    with LossLog(out / "loss.jsonl") as log:
        for step in range(steps):
            loss, extra = step_loss()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if clip is not None:
                nn.utils.clip_grad_norm_(clip, 1.0)
            optimizer.step()
            if schedule is not None:
                schedule.step()
            done = step + 1
            values = {
                "step": done,
                "loss": float(loss.detach()),
                **extra,
                "seconds": time.perf_counter() - start,
            }
            log.write(**values, **(after_step(done) if after_step is not None else {}))
            if time.perf_counter() - start > seconds:
                logger.warning(
                    "%s stopped at step %d of %d: the %.0f s budget is spent", title, done, steps, seconds
                )
                break
        records = log.records
    module.eval()
    plot_losses_svg(records, out / "loss.svg", title=title)
    return BudgetedRun(records, done, done < steps, time.perf_counter() - start)


def warmup_cosine(
    optimizer: torch.optim.Optimizer, warmup: int, steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over ``warmup`` steps (from ``1 / warmup``), then cosine decay to 0 at ``steps``.

    Example:
        >>> optimizer = torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=1.0)
        >>> schedule, rates = warmup_cosine(optimizer, 2, 4), []
        >>> for _ in range(4):
        ...     rates.append(round(schedule.get_last_lr()[0], 3)); optimizer.step(); schedule.step()
        >>> rates
        [0.5, 1.0, 1.0, 0.5]
    """

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def draw_crops(audio: torch.Tensor, batch_size: int, length: int, generator: torch.Generator) -> torch.Tensor:
    """``batch_size`` random crops ``[B, C, length]`` of clips ``audio [N, C, S]``.

    Draws the clip rows first, then the start samples (both from ``generator``), so a seeded generator gives
    the same crops.
    """
    rows = torch.randint(0, len(audio), (batch_size,), generator=generator)
    starts = torch.randint(0, audio.shape[-1] - length + 1, (batch_size,), generator=generator)
    return torch.stack([audio[r, :, s : s + length] for r, s in zip(rows, starts, strict=True)])
