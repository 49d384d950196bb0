"""Patches and random masking: cut spectrograms and frames into patches, hide most of them (MAE style).

Masking works on the last-but-one axis of any ``[..., N, D]`` tensor, independently for every leading
index: masking audio tokens viewed as ``[B, S, n, D]`` hides the same number of tokens in each of the
``S`` segments, and masking visual tokens ``[B, T, P, D]`` hides the same number in every frame.

Example:
    >>> import torch
    >>> x = torch.randn(2, 3, 8, 4)
    >>> visible, mask, restore = random_masking(x, 0.75, torch.Generator().manual_seed(0))
    >>> visible.shape, mask.shape, int(mask.sum())
    (torch.Size([2, 3, 2, 4]), torch.Size([2, 3, 8]), 36)
    >>> bool((unmask(visible, restore, torch.zeros(4)) == x * ~mask[..., None]).all())
    True
"""

from __future__ import annotations

import torch

from avikit.errors import UsageError

__all__ = ["patchify_frames", "patchify_spectrogram", "random_masking", "unmask"]


def patchify_spectrogram(mel: torch.Tensor, patch_frames: int) -> torch.Tensor:
    """Cut a spectrogram into full-height time patches.

    Args:
        mel: ``[B, M, T]`` (``M`` mel bands, ``T`` frames; trailing frames past a whole patch are dropped).
        patch_frames: frames per patch ``p``.

    Returns:
        ``[B, T // p, M * p]``; patch ``s`` holds frames ``s*p .. s*p + p - 1``, band-major.
    """
    b, m, t = mel.shape
    s = t // patch_frames
    x = mel[:, :, : s * patch_frames].reshape(b, m, s, patch_frames)  # [B, M, S, p]
    return x.permute(0, 2, 1, 3).reshape(b, s, m * patch_frames)


def patchify_frames(frames: torch.Tensor, patch_size: int) -> torch.Tensor:
    """Cut frames into square patches (row-major over the patch grid, as a strided conv sees them).

    Args:
        frames: ``[B, T, C, H, W]`` with ``H`` and ``W`` multiples of ``patch_size``.
        patch_size: patch side ``p``.

    Returns:
        ``[B, T, (H/p) * (W/p), p * p * C]``, pixels ordered ``(row, col, channel)`` inside a patch.
    """
    b, t, c, h, w = frames.shape
    p = patch_size
    if h % p or w % p:
        raise UsageError(f"frame size {h}x{w} is not a multiple of the patch size {p}")
    x = frames.reshape(b, t, c, h // p, p, w // p, p)  # [B, T, C, h, p, w, p]
    x = x.permute(0, 1, 3, 5, 4, 6, 2)  # [B, T, h, w, p, p, C]
    return x.reshape(b, t, (h // p) * (w // p), p * p * c)


def random_masking(
    x: torch.Tensor, ratio: float, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Keep a random ``1 - ratio`` share of the tokens of every row.

    Args:
        x: ``[..., N, D]`` tokens.
        ratio: share of tokens hidden, in ``[0, 1)``; ``round(N * (1 - ratio))`` tokens stay (at least 1).
        generator: random source (seed it for reproducible masks).

    Returns:
        ``visible [..., K, D]`` (kept tokens, in random order), ``mask bool [..., N]`` (``True``: hidden),
        and ``restore long [..., N]``, the permutation that puts tokens back in place (see :func:`unmask`).
    """
    if not 0.0 <= ratio < 1.0:
        raise UsageError(f"mask ratio must be in [0, 1), got {ratio}")
    *lead, n, d = x.shape
    keep = max(1, round(n * (1.0 - ratio)))
    noise = torch.rand(*lead, n, generator=generator).to(x.device)  # [..., N]
    shuffle = noise.argsort(dim=-1)  # [..., N]: token ids, kept ones first
    restore = shuffle.argsort(dim=-1)  # [..., N]
    kept = shuffle[..., :keep]  # [..., K]
    visible = x.gather(-2, kept[..., None].expand(*lead, keep, d))  # [..., K, D]
    mask = torch.ones(*lead, n, dtype=torch.bool, device=x.device)
    mask.scatter_(-1, kept, False)
    return visible, mask, restore


def unmask(visible: torch.Tensor, restore: torch.Tensor, fill: torch.Tensor) -> torch.Tensor:
    """Put visible tokens back in place and fill hidden places with ``fill`` (e.g. a learned mask token).

    Args:
        visible: ``[..., K, D]`` from :func:`random_masking` (possibly transformed since).
        restore: ``long [..., N]`` from :func:`random_masking`.
        fill: ``[D]`` token for hidden places.

    Returns:
        ``[..., N, D]``.
    """
    *lead, k, d = visible.shape
    n = restore.shape[-1]
    filler = fill.to(visible.dtype).expand(*lead, n - k, d)
    full = torch.cat([visible, filler], dim=-2)  # [..., N, D] in shuffled order
    return full.gather(-2, restore[..., None].expand(*lead, n, d))
