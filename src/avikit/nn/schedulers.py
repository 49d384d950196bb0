"""Samplers and schedules for generation, kept apart from the networks and from the sampling loops.

Three pieces, as in diffusers: a network predicts (a velocity, or logits), a scheduler here says how to
move from one step to the next, and the loop lives in the generator (e.g.
``avikit.models.generation.v2a_network``), where it can be read in one function.

- :class:`FlowMatchingScheduler`: rectified flow (Liu et al., 2023; Lipman et al., 2023). The path from
  noise ``x0`` (``t = 0``) to data ``x1`` (``t = 1``) is the straight line ``x_t = (1 - t) x0 + t x1``; the
  network learns its velocity ``x1 - x0``; sampling integrates ``dx/dt = v(x, t)`` with Euler or Heun steps.
- :class:`MaskGITSchedule`: masked parallel decoding (Chang et al., 2022): all tokens start masked; each
  step samples every masked token, keeps the most confident ones and re-masks the rest, following the
  cosine schedule ``gamma(r) = cos(pi r / 2)`` of the masked fraction.
- :func:`classifier_free_guidance` (Ho & Salimans, 2022) and :func:`drop_condition`, its training side;
  :func:`sample_logits` draws tokens with temperature and top-k.

Example:
    >>> scheduler = FlowMatchingScheduler()
    >>> x = torch.zeros(1, 3)
    >>> for t, t_next in scheduler.pairs(4):
    ...     x = scheduler.step(torch.ones(1, 3), t, t_next, x)
    >>> x
    tensor([[1., 1., 1.]])
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Protocol, runtime_checkable

import torch

from avikit.errors import UsageError

__all__ = [
    "FlowMatchingScheduler",
    "MaskGITSchedule",
    "Sampler",
    "classifier_free_guidance",
    "drop_condition",
    "sample_logits",
]


@runtime_checkable
class Sampler(Protocol):
    """Moves a sample along a schedule, given the network's output at the current step."""

    def timesteps(self, num_steps: int) -> torch.Tensor:
        """The ``num_steps + 1`` times from the start to the end of sampling."""
        ...

    def step(self, output: torch.Tensor, t: float, t_next: float, sample: torch.Tensor) -> torch.Tensor:
        """The sample at ``t_next`` from the sample and the network's ``output`` at ``t``."""
        ...


class FlowMatchingScheduler:
    """Rectified-flow training targets and Euler/Heun integration from noise (``t = 0``) to data (``t = 1``).

    Args:
        method: ``"euler"`` (one network call per step) or ``"heun"`` (two; second order).
        sigma_min: noise left at ``t = 1`` (0 for the plain straight path).
    """

    def __init__(self, method: str = "euler", sigma_min: float = 0.0) -> None:
        if method not in ("euler", "heun"):
            raise UsageError(f"method must be 'euler' or 'heun', got {method!r}")
        self.method, self.sigma_min = method, sigma_min

    def timesteps(self, num_steps: int) -> torch.Tensor:
        """Uniform times ``[num_steps + 1]`` from 0 to 1."""
        if num_steps < 1:
            raise UsageError(f"num_steps must be >= 1, got {num_steps}")
        return torch.linspace(0.0, 1.0, num_steps + 1)

    def pairs(self, num_steps: int) -> Iterator[tuple[float, float]]:
        """Consecutive ``(t, t_next)`` of :meth:`timesteps`, as floats."""
        times = self.timesteps(num_steps).tolist()
        return itertools.pairwise(times)

    def sample_time(self, batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Training times ``[B]`` from the logit-normal density of SD3 (more weight mid-path)."""
        return torch.sigmoid(torch.randn(batch, generator=generator))

    def _expand(self, t: torch.Tensor | float, like: torch.Tensor) -> torch.Tensor:
        t = torch.as_tensor(t, dtype=like.dtype, device=like.device)
        return t.reshape(-1, *([1] * (like.ndim - 1))) if t.ndim else t

    def interpolate(self, data: torch.Tensor, noise: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
        """The point ``x_t = (1 - (1 - sigma_min) t) noise + t data`` (``t`` scalar or ``[B]``)."""
        t = self._expand(t, data)
        return (1 - (1 - self.sigma_min) * t) * noise + t * data

    def velocity_target(self, data: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """The velocity of the path, ``data - (1 - sigma_min) noise``, the network's regression target."""
        return data - (1 - self.sigma_min) * noise

    def step(self, output: torch.Tensor, t: float, t_next: float, sample: torch.Tensor) -> torch.Tensor:
        """Euler step: ``x + (t_next - t) v``."""
        return sample + (t_next - t) * output

    def correct(
        self, output: torch.Tensor, output_next: torch.Tensor, t: float, t_next: float, sample: torch.Tensor
    ) -> torch.Tensor:
        """Heun's corrector: ``x + (t_next - t) (v(x, t) + v(x_euler, t_next)) / 2``."""
        return sample + (t_next - t) * 0.5 * (output + output_next)


class MaskGITSchedule:
    """The cosine masking schedule of MaskGIT, for training masks and for the decoding steps.

    Args:
        mask_id: the token id that stands for "masked" (usually the codebook size).
    """

    def __init__(self, mask_id: int) -> None:
        self.mask_id = mask_id

    @staticmethod
    def masked_fraction(progress: torch.Tensor | float) -> torch.Tensor:
        """``gamma(r) = cos(pi r / 2)``: the fraction still masked after a fraction ``r`` of the steps."""
        return torch.cos(torch.as_tensor(progress, dtype=torch.float32) * math.pi / 2)

    def num_masked(self, step: int, num_steps: int, length: int) -> int:
        """Tokens still masked after decoding step ``step`` (0-based) of ``num_steps``; 0 after the last."""
        if step + 1 >= num_steps:
            return 0
        return max(math.floor(float(self.masked_fraction((step + 1) / num_steps)) * length), 0)

    def training_mask(self, shape: tuple[int, int], generator: torch.Generator | None = None) -> torch.Tensor:
        """Random mask ``bool [B, L]``: per row a uniform ``r``, then ``ceil(gamma(r) L)`` positions."""
        batch, length = shape
        counts = (
            (self.masked_fraction(torch.rand(batch, generator=generator)) * length).ceil().clamp(1, length)
        )
        ranks = torch.rand(batch, length, generator=generator).argsort(dim=1).argsort(dim=1)  # [B, L]
        return ranks < counts[:, None]

    def step(
        self,
        logits: torch.Tensor,
        tokens: torch.Tensor,
        step: int,
        num_steps: int,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """One decoding step: fill every masked token, then re-mask the least confident new ones.

        Args:
            logits: ``[B, L, K]`` predictions for every position.
            tokens: ``[B, L]`` current tokens, ``mask_id`` where still masked.
            step: this step's index (0-based).
            num_steps: steps in total.
            temperature: sampling temperature; it also scales the confidence noise, annealed to 0.
            generator: random source.

        Returns:
            ``[B, L]`` tokens with ``num_masked(step)`` positions masked again.
        """
        masked = tokens == self.mask_id  # [B, L]
        sampled = sample_logits(logits, temperature, generator=generator)  # [B, L]
        probs = torch.softmax(logits.float(), dim=-1).gather(-1, sampled[..., None])[..., 0]  # [B, L]
        noise = -torch.log(-torch.log(torch.rand(probs.shape, generator=generator).clamp(1e-9, 1 - 1e-9)))
        anneal = temperature * (1 - (step + 1) / num_steps)
        confidence = torch.log(probs.clamp_min(1e-9)) + anneal * noise
        confidence = confidence.masked_fill(~masked, float("inf"))  # tokens already fixed stay fixed
        filled = torch.where(masked, sampled, tokens)
        count = self.num_masked(step, num_steps, tokens.shape[1])
        if count == 0:
            return filled
        lowest = confidence.argsort(dim=1)[:, :count]  # [B, count]
        return filled.scatter(1, lowest, self.mask_id)


def classifier_free_guidance(
    conditional: torch.Tensor, unconditional: torch.Tensor, scale: float
) -> torch.Tensor:
    """``unconditional + scale (conditional - unconditional)``: scale 1 is the conditional prediction.

    Works for velocities and for logits alike.
    """
    return unconditional + scale * (conditional - unconditional)


def drop_condition(
    condition: torch.Tensor,
    null: torch.Tensor,
    probability: float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Replace each row of ``condition [B, ...]`` by ``null`` (broadcastable) with ``probability``."""
    keep = torch.rand(condition.shape[0], generator=generator, device=condition.device) >= probability
    keep = keep.reshape(-1, *([1] * (condition.ndim - 1)))
    return torch.where(keep, condition, null.to(condition.dtype).expand_as(condition))


def sample_logits(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Draw token ids ``[...]`` from ``logits [..., K]``; temperature 0 takes the argmax."""
    if temperature <= 0:
        return logits.argmax(dim=-1)
    scaled = logits.float() / temperature
    if top_k is not None and top_k < scaled.shape[-1]:
        threshold = scaled.topk(top_k, dim=-1).values[..., -1:]
        scaled = scaled.masked_fill(scaled < threshold, float("-inf"))
    probs = torch.softmax(scaled, dim=-1).reshape(-1, scaled.shape[-1])
    return torch.multinomial(probs, 1, generator=generator).reshape(scaled.shape[:-1])
