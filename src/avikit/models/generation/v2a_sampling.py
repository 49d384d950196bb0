"""The video-to-audio sampling loops, one readable function per paradigm, with classifier-free guidance.

The networks (:mod:`~avikit.models.generation.v2a_network`) predict a velocity (flow) or logits (tokens);
the schedulers of :mod:`avikit.nn.schedulers` say how to step; each ``generate_*`` function is the loop.

Example:
    >>> import torch
    >>> from avikit.models.generation.v2a_network import V2AConfig, build_flow_v2a
    >>> model = build_flow_v2a(V2AConfig(dim=32, depth=1, heads=2))
    >>> mel = generate_flow(model, torch.rand(1, 4, 3, 32, 32), num_steps=2)
    >>> tuple(mel.shape)
    (1, 32, 64)
"""

from __future__ import annotations

import torch

from avikit.models.generation.v2a_network import FlowV2A, TokenV2A, undelay_codes
from avikit.nn.schedulers import (
    FlowMatchingScheduler,
    MaskGITSchedule,
    classifier_free_guidance,
    sample_logits,
)

__all__ = ["generate_autoregressive", "generate_flow", "generate_maskgit"]


# ------------------------------------------------------------------------------------------ sampling


@torch.no_grad()
def generate_flow(
    model: FlowV2A,
    frames: torch.Tensor,
    num_steps: int = 16,
    guidance: float = 2.0,
    scheduler: FlowMatchingScheduler | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Sample a normalised log-Mel ``[B, N, M]`` for ``frames [B, T, 3, H, W]`` by integrating the flow."""
    scheduler = scheduler or FlowMatchingScheduler()
    tokens, sync = model.condition(frames)  # [B, T, D] each
    null_tokens, null_sync = model.null_condition(tokens, sync)
    length = frames.shape[1] * model.steps_per_frame
    x = torch.randn(frames.shape[0], length, model.n_mels, generator=generator)  # noise at t = 0
    for t, t_next in scheduler.pairs(num_steps):

        def velocity(sample: torch.Tensor, time: float) -> torch.Tensor:
            at = torch.full((sample.shape[0],), time)
            conditional = model(sample, at, tokens, sync)
            return classifier_free_guidance(conditional, model(sample, at, null_tokens, null_sync), guidance)

        v = velocity(x, t)
        x_next = scheduler.step(v, t, t_next, x)  # Euler
        if scheduler.method == "heun":
            x_next = scheduler.correct(v, velocity(x_next, t_next), t, t_next, x)
        x = x_next
    return x  # data at t = 1


@torch.no_grad()
def generate_autoregressive(
    model: TokenV2A,
    frames: torch.Tensor,
    guidance: float = 2.0,
    temperature: float = 1.0,
    top_k: int | None = 32,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Sample codes ``[B, Q, N]`` one step at a time (all ``Q`` codebooks of a step together).

    A ``delay`` model samples the delayed sequence (``N + Q - 1`` steps; at step ``s`` codebook ``q`` gets
    its code for time ``s - q``, where that exists) and returns it undelayed.
    """
    tokens, sync = model.condition(frames)
    null_tokens, null_sync = model.null_condition(tokens, sync)
    length = frames.shape[1] * model.steps_per_frame
    steps = length + (model.num_codebooks - 1 if model.delay else 0)
    codes = torch.full((frames.shape[0], model.num_codebooks, steps), model.special)
    books = torch.arange(model.num_codebooks)
    for step in range(steps):
        inputs = model.shift_right(codes)  # causal: positions after `step` do not matter
        conditional = model(inputs, tokens, sync)[:, :, step]  # [B, Q, K]
        unconditional = model(inputs, null_tokens, null_sync)[:, :, step]
        logits = classifier_free_guidance(conditional, unconditional, guidance)
        sampled = sample_logits(logits, temperature, top_k, generator)  # [B, Q]
        if model.delay:  # codebook q holds time step - q: padding before its start and after its end
            inside = (step - books >= 0) & (step - books < length)  # [Q]
            sampled = torch.where(inside, sampled, model.special)
        codes[:, :, step] = sampled
    return undelay_codes(codes, length) if model.delay else codes


@torch.no_grad()
def generate_maskgit(
    model: TokenV2A,
    frames: torch.Tensor,
    num_steps: int = 12,
    guidance: float = 2.0,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Sample codes ``[B, Q, N]`` in ``num_steps`` parallel steps, most confident tokens first."""
    schedule = MaskGITSchedule(model.special)
    tokens, sync = model.condition(frames)
    null_tokens, null_sync = model.null_condition(tokens, sync)
    shape = (frames.shape[0], model.num_codebooks, frames.shape[1] * model.steps_per_frame)
    codes = torch.full(shape, model.special)  # everything masked
    for step in range(num_steps):
        conditional = model(codes, tokens, sync)  # [B, Q, N, K]
        logits = classifier_free_guidance(conditional, model(codes, null_tokens, null_sync), guidance)
        flat = schedule.step(logits.flatten(1, 2), codes.flatten(1), step, num_steps, temperature, generator)
        codes = flat.view(shape)
    return codes
