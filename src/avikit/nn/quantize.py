"""Vector quantization with EMA codebooks, dead-code restart and residual stacking (RVQ).

The codebook follows VQ-VAE-2 / SoundStream: codewords are exponential moving averages of the vectors assigned
to them (no codebook gradient), the encoder gets a commitment loss, and the decoder sees the quantized vector
through a straight-through estimator. A codeword whose EMA usage falls below ``dead_threshold`` is restarted
on a random vector of the current batch (as in Jukebox and EnCodec). RVQ quantizes what the previous stages
left; quantizer dropout (SoundStream) trains one model usable at every number of codebooks.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.errors import UsageError

__all__ = ["ResidualVectorQuantizer", "VectorQuantizer", "build_rvq", "codebook_usage"]


class VectorQuantizer(nn.Module):
    """One EMA codebook over vectors ``[B, D, T]`` (channels first, as conv features)."""

    codebook: torch.Tensor
    cluster_size: torch.Tensor
    embed_sum: torch.Tensor
    initialized: torch.Tensor

    def __init__(
        self,
        dim: int,
        codebook_size: int,
        decay: float = 0.99,
        eps: float = 1e-5,
        dead_threshold: float = 0.5,
    ) -> None:
        super().__init__()
        self.dim, self.codebook_size = dim, codebook_size
        self.decay, self.eps, self.dead_threshold = decay, eps, dead_threshold
        self.register_buffer("codebook", torch.randn(codebook_size, dim) * 0.1)  # [K, D]
        self.register_buffer("cluster_size", torch.ones(codebook_size))  # [K]
        self.register_buffer("embed_sum", self.codebook.clone())  # [K, D]
        self.register_buffer("initialized", torch.tensor(False))

    def _flatten(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 3 or x.shape[1] != self.dim:
            raise UsageError(f"expected vectors [B, {self.dim}, T], got {list(x.shape)}")
        return x.permute(0, 2, 1).reshape(-1, self.dim)  # [B*T, D]

    def _nearest(self, flat: torch.Tensor) -> torch.Tensor:
        distances = (  # [B*T, K]
            flat.pow(2).sum(1, keepdim=True) - 2 * flat @ self.codebook.T + self.codebook.pow(2).sum(1)[None]
        )
        return distances.argmin(dim=1)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Vectors ``[B, D, T]`` to codes ``[B, T]``."""
        return self._nearest(self._flatten(x)).view(x.shape[0], x.shape[2])

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes ``[B, T]`` to vectors ``[B, D, T]``."""
        return F.embedding(codes, self.codebook).permute(0, 2, 1)

    @torch.no_grad()
    def _update(self, flat: torch.Tensor, codes: torch.Tensor) -> None:
        """EMA step on usage counts and sums; restart codewords used less than ``dead_threshold``."""
        if not bool(self.initialized):  # data init: codewords start on batch vectors
            self.codebook.copy_(flat[torch.randint(0, len(flat), (self.codebook_size,), device=flat.device)])
            self.embed_sum.copy_(self.codebook)
            self.initialized.fill_(True)
            return
        onehot = F.one_hot(codes, self.codebook_size).type_as(flat)  # [B*T, K]
        self.cluster_size.mul_(self.decay).add_(onehot.sum(0), alpha=1 - self.decay)
        self.embed_sum.mul_(self.decay).add_(onehot.T @ flat, alpha=1 - self.decay)
        total = self.cluster_size.sum()
        smoothed = (self.cluster_size + self.eps) / (total + self.codebook_size * self.eps) * total
        self.codebook.copy_(self.embed_sum / smoothed[:, None])
        dead = self.cluster_size < self.dead_threshold
        if bool(dead.any()):
            fresh = flat[torch.randint(0, len(flat), (int(dead.sum()),), device=flat.device)]
            self.codebook[dead] = fresh
            self.embed_sum[dead] = fresh
            self.cluster_size[dead] = 1.0

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Quantize ``x [B, D, T]``.

        Returns:
            ``(quantized [B, D, T]`` with straight-through gradients to ``x``, ``codes [B, T]``,
            ``commitment loss``, a scalar ``mean ||x - sg(q)||^2``).
        """
        flat = self._flatten(x)
        if self.training:
            self._update(flat.detach(), self._nearest(flat.detach()))
        codes = self._nearest(flat.detach()).view(x.shape[0], x.shape[2])
        quantized = self.decode(codes)
        commitment = F.mse_loss(x, quantized.detach())
        return x + (quantized - x).detach(), codes, commitment


class ResidualVectorQuantizer(nn.Module):
    """A stack of codebooks, each quantizing the residual of the ones before it."""

    def __init__(self, quantizers: list[VectorQuantizer], quantizer_dropout: bool = False) -> None:
        super().__init__()
        if not quantizers:
            raise UsageError("a residual quantizer needs at least one codebook")
        self.layers = nn.ModuleList(quantizers)
        self.quantizer_dropout = quantizer_dropout

    @property
    def num_codebooks(self) -> int:
        """Codebooks in the stack."""
        return len(self.layers)

    @property
    def cardinality(self) -> int:
        """Entries per codebook (of the first; all are equal when built by ``build_rvq``)."""
        first: VectorQuantizer = self.layers[0]  # type: ignore[assignment]
        return first.codebook_size

    def _count(self, num_codebooks: int | None) -> int:
        if num_codebooks is None:
            if self.training and self.quantizer_dropout:
                return int(torch.randint(1, self.num_codebooks + 1, ()).item())
            return self.num_codebooks
        if not 1 <= num_codebooks <= self.num_codebooks:
            raise UsageError(f"num_codebooks must lie in [1, {self.num_codebooks}], got {num_codebooks}")
        return num_codebooks

    def forward(
        self, x: torch.Tensor, num_codebooks: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Quantize ``x [B, D, T]`` with the first ``num_codebooks`` stages.

        Returns:
            ``(quantized [B, D, T], codes [B, Q, T], commitment loss summed over stages)``.
        """
        residual, total = x, torch.zeros_like(x)
        codes, loss = [], x.new_zeros(())
        for layer in list(self.layers)[: self._count(num_codebooks)]:
            quantized, stage_codes, commitment = layer(residual)
            residual = residual - quantized.detach()
            total = total + quantized
            codes.append(stage_codes)
            loss = loss + commitment
        return total, torch.stack(codes, dim=1), loss

    def encode(self, x: torch.Tensor, num_codebooks: int | None = None) -> torch.Tensor:
        """Vectors ``[B, D, T]`` to codes ``[B, Q, T]`` from the first ``num_codebooks`` stages (default all).

        Each stage quantizes what the stages before it left, so the codes at ``Q`` codebooks are the first
        ``Q`` rows of the codes at any larger count.
        """
        count = self.num_codebooks if num_codebooks is None else self._count(num_codebooks)
        residual, codes = x, []
        for layer in list(self.layers)[:count]:
            stage = layer.encode(residual)  # type: ignore[operator]
            residual = residual - layer.decode(stage)  # type: ignore[operator]
            codes.append(stage)
        return torch.stack(codes, dim=1)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes ``[B, Q, T]`` (any ``Q`` up to the stack size) to the summed vectors ``[B, D, T]``."""
        if codes.ndim != 3 or codes.shape[1] > self.num_codebooks:
            raise UsageError(f"codes must be [B, Q <= {self.num_codebooks}, T], got {list(codes.shape)}")
        return sum(  # type: ignore[return-value]
            layer.decode(codes[:, index])  # type: ignore[operator]
            for index, layer in enumerate(list(self.layers)[: codes.shape[1]])
        )


def build_rvq(
    dim: int, codebook_size: int, num_codebooks: int, quantizer_dropout: bool = False, decay: float = 0.99
) -> ResidualVectorQuantizer:
    """Build a residual quantizer of ``num_codebooks`` equal EMA codebooks."""
    stages = [VectorQuantizer(dim, codebook_size, decay=decay) for _ in range(num_codebooks)]
    return ResidualVectorQuantizer(stages, quantizer_dropout=quantizer_dropout)


def codebook_usage(codes: torch.Tensor, codebook_size: int) -> dict[str, float]:
    """Usage of each codebook over a set of codes ``[..., Q, T]``, averaged over the ``Q`` codebooks.

    Returns:
        ``{"usage": fraction of entries used at least once (0..1], "perplexity": exp of the entropy of the
        code histogram (1..codebook_size), "perplexity_fraction": perplexity / codebook_size}``.
    """
    per_book = codes.transpose(0, -2).reshape(codes.shape[-2], -1)  # [Q, all]
    counts = torch.stack([torch.bincount(book, minlength=codebook_size) for book in per_book]).double()
    probs = counts / counts.sum(1, keepdim=True)
    entropy = -(probs * torch.log(probs.clamp_min(1e-12))).sum(1)
    perplexity = float(entropy.exp().mean())
    return {
        "usage": float((counts > 0).double().mean()),
        "perplexity": perplexity,
        "perplexity_fraction": perplexity / codebook_size,
    }
