"""Flow-matching integration against exact transports, MaskGIT schedule and decoding, guidance helpers."""

from __future__ import annotations

import math

import pytest
import torch

from avikit.nn.schedulers import (
    FlowMatchingScheduler,
    MaskGITSchedule,
    Sampler,
    classifier_free_guidance,
    drop_condition,
    sample_logits,
)


def _gaussian_velocity(mu: float, sigma: float):
    """Exact marginal velocity of rectified flow from N(0, 1) at t=0 to N(mu, sigma^2) at t=1.

    With independent noise and data, x_t ~ N(t mu, s_t^2), s_t^2 = (1 - t)^2 + t^2 sigma^2, and the flow
    x_t = t mu + s_t z carries z to mu + sigma z (a curved path in t, so Euler is not exact).
    """

    def velocity(x: torch.Tensor, t: float) -> torch.Tensor:
        s2 = (1 - t) ** 2 + t**2 * sigma**2
        return mu + (t * sigma**2 - (1 - t)) / s2 * (x - t * mu)

    return velocity


def _integrate(scheduler: FlowMatchingScheduler, velocity, x: torch.Tensor, steps: int) -> torch.Tensor:
    for t, t_next in scheduler.pairs(steps):
        v = velocity(x, t)
        x_next = scheduler.step(v, t, t_next, x)
        if scheduler.method == "heun":
            x_next = scheduler.correct(v, velocity(x_next, t_next), t, t_next, x)
        x = x_next
    return x


@pytest.mark.parametrize(("method", "steps", "tol"), [("euler", 100, 0.05), ("heun", 10, 0.01)])
def test_flow_transports_gaussian_to_gaussian(method, steps, tol):
    scheduler = FlowMatchingScheduler(method)
    assert isinstance(scheduler, Sampler)
    z = torch.randn(200_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    out = _integrate(scheduler, _gaussian_velocity(3.0, 0.5), z, steps)
    assert abs(out.mean().item() - 3.0) < tol
    assert abs(out.std().item() - 0.5) < tol
    exact = 3.0 + 0.5 * z  # the flow's end point of each z
    assert (out - exact).abs().max().item() < tol


def test_heun_is_more_accurate_than_euler_at_equal_steps():
    z = torch.randn(1000, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    velocity, exact = _gaussian_velocity(-1.0, 2.0), -1.0 + 2.0 * z
    errors = {
        m: (_integrate(FlowMatchingScheduler(m), velocity, z, 4) - exact).abs().max()
        for m in ("euler", "heun")
    }
    assert errors["heun"] < 0.2 * errors["euler"]


def test_interpolation_and_target_are_consistent():
    scheduler = FlowMatchingScheduler()
    data, noise = torch.randn(4, 3, 5), torch.randn(4, 3, 5)
    t = torch.tensor([0.0, 0.25, 0.5, 1.0])
    xt = scheduler.interpolate(data, noise, t)
    assert torch.allclose(xt[0], noise[0]) and torch.allclose(xt[3], data[3])
    dt = 1e-3
    derivative = (scheduler.interpolate(data, noise, t + dt) - xt) / dt
    # linear in t: exact but for float32 cancellation, |x| 2^-24 / dt <= 3e-4
    assert torch.allclose(derivative, scheduler.velocity_target(data, noise).expand_as(xt), atol=1e-3)
    assert scheduler.timesteps(4).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    with pytest.raises(ValueError):
        FlowMatchingScheduler("ddim")


def test_cfg_scale_one_is_conditional_and_zero_unconditional():
    cond, uncond = torch.randn(2, 7), torch.randn(2, 7)
    assert torch.allclose(classifier_free_guidance(cond, uncond, 1.0), cond)
    assert torch.allclose(classifier_free_guidance(cond, uncond, 0.0), uncond)
    assert torch.allclose(classifier_free_guidance(cond, uncond, 3.0), uncond + 3 * (cond - uncond))


def test_drop_condition_replaces_rows():
    cond, null = torch.ones(1000, 4), torch.zeros(4)
    dropped = drop_condition(cond, null, 0.3, torch.Generator().manual_seed(0))
    rows = dropped.sum(1)
    assert set(rows.tolist()) <= {0.0, 4.0} and 0.25 < (rows == 0).float().mean().item() < 0.35
    assert torch.equal(drop_condition(cond, null, 0.0), cond)


def test_maskgit_schedule_counts_and_training_mask():
    schedule = MaskGITSchedule(mask_id=16)
    counts = [schedule.num_masked(s, 8, 100) for s in range(8)]
    assert counts == sorted(counts, reverse=True) and counts[-1] == 0
    assert counts[0] == math.floor(math.cos(math.pi / 16) * 100)
    mask = schedule.training_mask((64, 50), torch.Generator().manual_seed(0))
    assert mask.dtype == torch.bool and mask.sum(1).min() >= 1


def test_maskgit_decoding_fills_every_token_and_keeps_fixed_ones():
    schedule = MaskGITSchedule(mask_id=8)
    generator = torch.Generator().manual_seed(0)
    target = torch.randint(0, 8, (2, 20), generator=generator)
    logits = torch.nn.functional.one_hot(target, 8).float() * 20  # a confident, correct model
    tokens = torch.full((2, 20), 8)
    history = []
    for step in range(5):
        tokens = schedule.step(logits, tokens, step, 5, temperature=1.0, generator=generator)
        history.append(int((tokens == 8).sum()))
    assert history == [2 * schedule.num_masked(s, 5, 20) for s in range(5)]
    assert torch.equal(tokens, target)


def test_sample_logits_greedy_and_top_k():
    logits = torch.tensor([[0.0, 5.0, 1.0, 4.0]])
    assert sample_logits(logits, 0.0).tolist() == [1]
    draws = sample_logits(logits.expand(500, 4), 1.0, top_k=2, generator=torch.Generator().manual_seed(0))
    assert set(draws.tolist()) <= {1, 3}
