"""The shared training loops: crops drawn reproducibly, the step loop's files, clipping and learning, the
budgeted loop step for step against a plain loop, and the warm-up cosine schedule in closed form."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from avikit.nn import read_loss_log
from avikit.train.loops import StepLog, draw_crops, run_budgeted, run_steps, warmup_cosine


def test_crops_are_the_slices_at_the_drawn_rows_and_starts():
    audio = torch.arange(3 * 2 * 50, dtype=torch.float32).reshape(3, 2, 50)
    crops = draw_crops(audio, 5, 7, torch.Generator().manual_seed(4))
    replay = torch.Generator().manual_seed(4)  # rows first, then starts
    rows = torch.randint(0, 3, (5,), generator=replay)
    starts = torch.randint(0, 50 - 7 + 1, (5,), generator=replay)
    assert crops.shape == (5, 2, 7)
    for crop, row, start in zip(crops, rows.tolist(), starts.tolist(), strict=True):
        assert torch.equal(crop, audio[row, :, start : start + 7])


def _problem(seed: int = 0) -> tuple[nn.Linear, torch.Tensor, torch.Tensor]:
    torch.manual_seed(seed)
    x = torch.randn(64, 4)
    return nn.Linear(4, 1), x, x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]])


def test_step_loop_learns_logs_every_step_and_leaves_eval_mode(tmp_path):
    model, x, y = _problem()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    schedule = torch.optim.lr_scheduler.ConstantLR(optimizer, 1.0)
    report = StepLog("probe", tmp_path, "probe loss")
    record = run_steps(model, (optimizer, schedule), lambda: (model(x) - y).square().mean(), 60, report)
    curve = record["loss_curve"]
    assert len(curve) == 60 and curve[-1] < 0.1 * curve[0] and not model.training
    assert read_loss_log(tmp_path / "probe_loss.jsonl") == [
        {"step": float(i), "loss": value} for i, value in enumerate(curve)
    ]
    assert "probe loss" in (tmp_path / "probe_loss.svg").read_text()


def test_step_loop_clips_the_gradient_norm():
    model, x, y = _problem()
    clipped, _, _ = _problem()
    steps = []
    for net, clip in ((model, None), (clipped, 0.01)):
        optimizer = torch.optim.SGD(net.parameters(), lr=1.0)
        schedule = torch.optim.lr_scheduler.ConstantLR(optimizer, 1.0)
        before = [p.detach().clone() for p in net.parameters()]
        run_steps(net, (optimizer, schedule), lambda n=net: (n(x) - y).square().mean(), 1, clip_norm=clip)
        change = [p.detach() - b for p, b in zip(net.parameters(), before, strict=True)]
        steps.append(torch.cat([c.flatten() for c in change]).norm().item())
    assert steps[0] > 0.1 and steps[1] == pytest.approx(0.01, rel=1e-4)  # SGD lr 1: the step is the gradient


def test_step_loop_reports_each_step_after_the_update():
    model, x, y = _problem()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    schedule = torch.optim.lr_scheduler.ConstantLR(optimizer, 1.0)
    initial = model.weight.detach().clone()
    seen: list[tuple[int, float, torch.Tensor]] = []

    def on_step(step: int, loss: float) -> None:
        seen.append((step, loss, model.weight.detach().clone()))

    record = run_steps(
        model, (optimizer, schedule), lambda: (model(x) - y).square().mean(), 5, on_step=on_step
    )
    assert [(step, loss) for step, loss, _ in seen] == list(enumerate(record["loss_curve"]))
    assert not torch.equal(seen[0][2], initial) and torch.equal(seen[-1][2], model.weight.detach())


def _dropout_problem() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(1)
    x = torch.randn(32, 4)
    model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.3), nn.Linear(8, 1))  # draws from torch's global RNG
    return model, x, x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]])


def _plain_loop(model, x, y, steps, eval_every):
    """The recipes' loop written out: numpy-drawn batches, AdamW, warm-up cosine, clipping at 1."""
    rng = np.random.default_rng(0)
    params = list(model.parameters())
    optimizer = torch.optim.AdamW(params, lr=1e-2)
    schedule = warmup_cosine(optimizer, 2, steps)
    records = []
    model.train()
    for step in range(steps):
        rows = rng.choice(len(x), size=8, replace=False)
        loss = (model(x[rows]) - y[rows]).square().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        schedule.step()
        record = {"step": float(step + 1), "loss": float(loss.detach()), "rows": float(rows.sum())}
        if (step + 1) % eval_every == 0:
            record["val"] = float((model(x) - y).square().mean().detach())
        records.append(record)
    return records


def test_budgeted_loop_matches_a_plain_loop_step_for_step(tmp_path):
    expected_model, x, y = _dropout_problem()
    torch.manual_seed(7)  # the dropout masks
    expected = _plain_loop(expected_model, x, y, 6, 3)
    model, x, y = _dropout_problem()
    torch.manual_seed(7)
    rng, params = np.random.default_rng(0), list(model.parameters())
    optimizer = torch.optim.AdamW(params, lr=1e-2)

    def step_loss():
        rows = rng.choice(len(x), size=8, replace=False)
        return (model(x[rows]) - y[rows]).square().mean(), {"rows": float(rows.sum())}

    def validate(step):
        return {"val": float((model(x) - y).square().mean().detach())} if step % 3 == 0 else {}

    run = run_budgeted(model, (optimizer, warmup_cosine(optimizer, 2, 6)), step_loss, (6, 600.0), tmp_path,
                       "probe", clip=params, after_step=validate)  # fmt: skip
    seconds = [record.pop("seconds") for record in run.records]
    assert run.records == expected  # the same floats to the last digit: same draws, same order of operations
    assert seconds == sorted(seconds) and run.steps_done == 6 and not run.stopped_by_budget
    for got, want in zip(model.parameters(), expected_model.parameters(), strict=True):
        assert torch.equal(got, want)
    assert not model.training and "probe" in (tmp_path / "loss.svg").read_text()
    logged = read_loss_log(tmp_path / "loss.jsonl")
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in logged] == expected
    assert list(logged[2]) == ["step", "loss", "rows", "seconds", "val"]


def test_budgeted_loop_stops_once_its_budget_is_spent(tmp_path):
    model, x, y = _problem()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    run = run_budgeted(model, (optimizer, None), lambda: ((model(x) - y).square().mean(), {}), (50, 0.0),
                       tmp_path, "probe")  # fmt: skip
    assert run.steps_done == 1 and run.stopped_by_budget and len(read_loss_log(tmp_path / "loss.jsonl")) == 1


def test_warmup_cosine_follows_its_closed_form():
    optimizer = torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=2.0)
    schedule, warmup, steps = warmup_cosine(optimizer, 3, 10), 3, 10
    for step in range(steps):
        closed = (step + 1) / warmup if step < warmup else 0.5 * (1 + math.cos(math.pi * (step - warmup) / 7))
        assert schedule.get_last_lr()[0] == pytest.approx(
            2.0 * closed, rel=1e-12
        )  # one float64 product apart
        optimizer.step()
        schedule.step()
