"""The shared training loops: crops drawn reproducibly, the step loop's files, clipping and learning."""

import pytest
import torch
from torch import nn

from avikit.nn import read_loss_log
from avikit.train.loops import StepLog, draw_crops, run_steps


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
