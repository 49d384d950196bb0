"""A VQ tokenizer for video frames: per-frame conv encoder, residual VQ on the latent grid, conv decoder.

The VQ-VAE recipe (van den Oord et al., 2017) with EMA codebooks: each frame ``[C, H, W]`` becomes a grid of
``h x w`` latent vectors (``h = H / 2**levels``), each quantized by ``Q`` codebooks. Codes are laid out
``[B, Q, T * h * w]`` (frame-major, then rows, then columns), so frame and audio tokenizers share the
:class:`avikit.nn.tokenizer.Tokenizer` protocol.

Example:
    >>> tokenizer = build_visual_tokenizer(image_size=32, levels=2, fps=8)
    >>> codes = tokenizer.encode(torch.rand(1, 3, 3, 32, 32))
    >>> tuple(codes.shape), tokenizer.frame_rate, tuple(tokenizer.decode(codes).shape)
    ((1, 1, 192), 512.0, (1, 3, 3, 32, 32))
"""

from __future__ import annotations

import torch
from torch import nn

from avikit.errors import UsageError
from avikit.nn.quantize import ResidualVectorQuantizer, build_rvq

__all__ = ["FrameDecoder", "FrameEncoder2d", "VisualTokenizer", "build_visual_tokenizer"]


class FrameEncoder2d(nn.Module):
    """Frames ``[N, C, H, W]`` in [0, 1] to latents ``[N, latent_dim, H / 2**levels, W / 2**levels]``."""

    def __init__(self, channels: int, base: int, levels: int, latent_dim: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(channels, base, 3, padding=1)]
        width = base
        for _ in range(levels):
            layers += [nn.GELU(), nn.Conv2d(width, 2 * width, 4, stride=2, padding=1)]
            width *= 2
        layers += [nn.GELU(), nn.Conv2d(width, latent_dim, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """Encode ``[N, C, H, W]`` to ``[N, latent_dim, h, w]``."""
        return self.net(frames * 2 - 1)


class FrameDecoder(nn.Module):
    """Latents ``[N, latent_dim, h, w]`` to frames ``[N, C, h * 2**levels, w * 2**levels]`` in [0, 1]."""

    def __init__(self, channels: int, base: int, levels: int, latent_dim: int) -> None:
        super().__init__()
        width = base * 2**levels
        layers: list[nn.Module] = [nn.Conv2d(latent_dim, width, 3, padding=1)]
        for _ in range(levels):
            layers += [nn.GELU(), nn.ConvTranspose2d(width, width // 2, 4, stride=2, padding=1)]
            width //= 2
        layers += [nn.GELU(), nn.Conv2d(width, channels, 3, padding=1), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        """Decode ``[N, latent_dim, h, w]`` to ``[N, C, H, W]``."""
        return self.net(latents)


class VisualTokenizer(nn.Module):
    """Frame VQ tokenizer; satisfies :class:`avikit.nn.tokenizer.Tokenizer` with ``sample_rate`` = fps."""

    def __init__(
        self, encoder: nn.Module, quantizer: ResidualVectorQuantizer, decoder: nn.Module, fps: int, grid: int
    ) -> None:
        super().__init__()
        self.encoder, self.quantizer, self.decoder = encoder, quantizer, decoder
        self.fps, self.grid = fps, grid

    @property
    def sample_rate(self) -> int:
        """Frames per second of the video."""
        return self.fps

    @property
    def frame_rate(self) -> float:
        """Code steps per second: ``fps * grid**2``."""
        return float(self.fps * self.grid**2)

    @property
    def num_codebooks(self) -> int:
        """Codebooks per latent vector."""
        return self.quantizer.num_codebooks

    @property
    def cardinality(self) -> int:
        """Entries per codebook."""
        return self.quantizer.cardinality

    def _latents(self, video: torch.Tensor) -> torch.Tensor:
        if video.ndim != 5:
            raise UsageError(f"video must be [B, T, C, H, W] in [0, 1], got {list(video.shape)}")
        batch, steps = video.shape[:2]
        latents = self.encoder(video.flatten(0, 1))  # [B*T, D, h, w]
        if latents.shape[-1] != self.grid or latents.shape[-2] != self.grid:
            raise UsageError(
                f"frames give a {list(latents.shape[-2:])} grid; this tokenizer expects {self.grid}"
            )
        # [B*T, D, h, w] -> [B, D, T*h*w]
        return latents.view(batch, steps, latents.shape[1], -1).permute(0, 2, 1, 3).flatten(2)

    def _frames(self, vectors: torch.Tensor) -> torch.Tensor:
        batch, dim, length = vectors.shape  # [B, D, T*h*w]
        steps = length // self.grid**2
        grid = vectors.view(batch, dim, steps, self.grid, self.grid).permute(0, 2, 1, 3, 4)  # [B, T, D, h, w]
        return self.decoder(grid.flatten(0, 1)).unflatten(0, (batch, steps))  # [B, T, C, H, W]

    def encode(self, video: torch.Tensor, num_codebooks: int | None = None) -> torch.Tensor:
        """Video ``[B, T, C, H, W]`` in [0, 1] to codes ``[B, Q, T * h * w]``."""
        return self.quantizer.encode(self._latents(video), num_codebooks)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes ``[B, Q, T * h * w]`` to video ``[B, T, C, H, W]`` in [0, 1]."""
        return self._frames(self.quantizer.decode(codes))

    def forward(
        self, video: torch.Tensor, num_codebooks: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """Reconstruct ``video``: ``(reconstruction [B, T, C, H, W], codes [B, Q, T*h*w], losses)``."""
        quantized, codes, commitment = self.quantizer(self._latents(video), num_codebooks)
        return self._frames(quantized), codes, {"commitment": commitment}


def build_visual_tokenizer(
    image_size: int = 32,
    levels: int = 2,
    fps: int = 8,
    base: int = 16,
    latent_dim: int = 32,
    num_codebooks: int = 1,
    codebook_size: int = 256,
    channels: int = 3,
) -> VisualTokenizer:
    """Build a tiny :class:`VisualTokenizer` for square frames of ``image_size`` pixels."""
    if image_size % 2**levels:
        raise UsageError(f"image_size {image_size} must be divisible by 2**levels = {2**levels}")
    return VisualTokenizer(
        FrameEncoder2d(channels, base, levels, latent_dim),
        build_rvq(latent_dim, codebook_size, num_codebooks),
        FrameDecoder(channels, base, levels, latent_dim),
        fps,
        image_size // 2**levels,
    )
