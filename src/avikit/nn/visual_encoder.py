"""Visual encoder: a small vision transformer applied to every frame of a clip.

Each frame ``[C, H, W]`` (float in ``[0, 1]``) is cut into ``patch_size`` squares by a strided
convolution, given learned positions on the patch grid and run through pre-norm transformer blocks,
one frame at a time. The tokens of a frame form a spatial feature map ``[D, H/p, W/p]`` (for masks
and localisation); their maximum over patches is the frame embedding (for events, retrieval and
classification): a max keeps a small object in view where a mean would drown it in background.

Example:
    >>> import torch
    >>> encoder = VisualEncoder(image_size=64, patch_size=16, dim=32, depth=1, heads=2)
    >>> frames = torch.rand(2, 5, 3, 64, 64)
    >>> encoder(frames).shape  # 4 x 4 patches per frame
    torch.Size([2, 5, 16, 32])
    >>> embeddings, maps = encoder.encode(frames)
    >>> embeddings.shape, maps.shape
    (torch.Size([2, 5, 32]), torch.Size([2, 5, 32, 4, 4]))
"""

from __future__ import annotations

import torch
from torch import nn

from avikit.errors import UsageError
from avikit.nn.transformer import Block

__all__ = ["VisualEncoder"]

_MEAN, _STD = 0.5, 0.25  # frames in [0, 1] are mapped to about [-2, 2]


class VisualEncoder(nn.Module):
    """Per-frame ViT: ``[B, T, C, H, W] -> [B, T, P, D]`` tokens with ``P = (H/p) * (W/p)``."""

    def __init__(
        self,
        image_size: int = 128,
        patch_size: int = 16,
        channels: int = 3,
        dim: int = 96,
        depth: int = 2,
        heads: int = 4,
        mlp_ratio: float = 2.0,
    ) -> None:
        super().__init__()
        if image_size % patch_size:
            raise UsageError(f"image_size {image_size} is not a multiple of patch_size {patch_size}")
        self.image_size = image_size
        self.patch_size = patch_size
        self.channels = channels
        self.dim = dim
        self.patch_embed = nn.Conv2d(channels, dim, kernel_size=patch_size, stride=patch_size)
        self.pos = nn.Parameter(torch.randn(self.num_patches, dim) * 0.02)  # [P, D]
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)

    @property
    def grid(self) -> tuple[int, int]:
        """Patch grid ``(rows, cols)`` of one frame."""
        side = self.image_size // self.patch_size
        return side, side

    @property
    def num_patches(self) -> int:
        """Patches per frame ``P``."""
        rows, cols = self.grid
        return rows * cols

    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        """Normalise and embed patches: ``[B, T, C, H, W] -> [B, T, P, D]`` with positions added."""
        size = (self.channels, self.image_size, self.image_size)
        if frames.ndim != 5 or tuple(frames.shape[2:]) != size:
            raise UsageError(
                f"expected frames [B, T, {size[0]}, {size[1]}, {size[2]}] as floats in [0, 1], "
                f"got {list(frames.shape)}; resize frames to the encoder's image_size first"
            )
        b, t = frames.shape[:2]
        x = self.patch_embed((frames.flatten(0, 1) - _MEAN) / _STD)  # [B*T, D, h, w]
        x = x.flatten(2).transpose(1, 2) + self.pos  # [B*T, P, D]
        return x.view(b, t, self.num_patches, self.dim)

    def transform(self, tokens: torch.Tensor) -> torch.Tensor:
        """Run the transformer over each frame's tokens ``[B, T, K, D]`` (all, or a visible subset)."""
        b, t, k, d = tokens.shape
        x = tokens.reshape(b * t, k, d)  # [B*T, K, D]
        for block in self.blocks:
            x = block(x)
        return self.norm(x).view(b, t, k, d)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """Encode ``frames [B, T, C, H, W]`` into tokens ``[B, T, P, D]``."""
        return self.transform(self.embed(frames))

    def to_maps(self, tokens: torch.Tensor) -> torch.Tensor:
        """Reshape tokens ``[B, T, P, D]`` into feature maps ``[B, T, D, H/p, W/p]``."""
        b, t, _, d = tokens.shape
        return tokens.transpose(2, 3).reshape(b, t, d, *self.grid)

    def encode(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return frame embeddings ``[B, T, D]`` and feature maps ``[B, T, D, H/p, W/p]``."""
        tokens = self(frames)  # [B, T, P, D]
        return tokens.amax(dim=2), self.to_maps(tokens)
