"""Self-supervised alignment objectives: InfoNCE between audio and vision, masked reconstruction.

- :func:`info_nce`: the contrastive loss of CLIP / CAV-MAE. With L2-normalised embeddings ``a_i``, ``v_j``
  and logits ``l_ij = <a_i, v_j> / tau``, audio-to-visual is ``-mean_i log softmax_j(l)_ii``, visual-to-
  audio the same on ``l^T``, and the symmetric loss is their mean.
- :func:`segment_info_nce`: the same over segments: segment ``s`` of clip ``b`` in one modality is the
  positive of segment ``s`` of clip ``b`` in the other; every other segment of the batch (same clip or
  not) is a negative.
- :func:`masked_reconstruction_loss`: the mean squared error of MAE / CAV-MAE, over hidden patches only,
  with targets normalised per patch (``norm_pix_loss``).
- :class:`MultiScaleMelLoss`: the waveform-codec reconstruction loss (as in DAC and EnCodec, without the
  adversarial terms): L1 on the waveform plus the mean L1 of natural-log mels at several FFT sizes.

Example:
    >>> import torch
    >>> a = torch.eye(3)
    >>> round(float(info_nce(a, a, temperature=1.0)), 4)  # log(1 + 2 / e) ~= 0.5514
    0.5514
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.errors import UsageError
from avikit.media.mel import mel_filterbank

__all__ = [
    "MultiScaleMelLoss",
    "cosine_similarity_matrix",
    "info_nce",
    "masked_reconstruction_loss",
    "segment_info_nce",
]


def cosine_similarity_matrix(a: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Cosine similarity ``[N, M]`` of every row of ``a [N, D]`` with every row of ``v [M, D]``."""
    return F.normalize(a, dim=-1) @ F.normalize(v, dim=-1).T


def info_nce(
    a: torch.Tensor, v: torch.Tensor, temperature: float | torch.Tensor = 0.07, symmetric: bool = True
) -> torch.Tensor:
    """Contrastive InfoNCE loss of paired embeddings (pairs on the same row).

    Args:
        a: audio embeddings ``[N, D]`` (normalised inside).
        v: visual embeddings ``[N, D]``; row ``i`` is the positive of ``a[i]``.
        temperature: ``tau > 0`` (a float, or a tensor for a learned temperature).
        symmetric: average the audio-to-visual and visual-to-audio losses; else audio-to-visual only.

    Returns:
        scalar loss (``log N`` for embeddings that carry no information).
    """
    if a.ndim != 2 or a.shape != v.shape:
        raise UsageError(
            f"need paired embeddings [N, D] of one shape, got {list(a.shape)} and {list(v.shape)}"
        )
    logits = cosine_similarity_matrix(a, v) / temperature  # [N, N]
    target = torch.arange(a.shape[0], device=a.device)
    loss = F.cross_entropy(logits, target)
    if symmetric:
        loss = 0.5 * (loss + F.cross_entropy(logits.T, target))
    return loss


def segment_info_nce(
    a: torch.Tensor,
    v: torch.Tensor,
    temperature: float | torch.Tensor = 0.07,
    valid: torch.Tensor | None = None,
    symmetric: bool = True,
) -> torch.Tensor:
    """InfoNCE over the segments of a batch: positives are same-clip, same-step segment pairs.

    Args:
        a: audio segment embeddings ``[B, S, D]``.
        v: visual segment embeddings ``[B, S, D]``.
        temperature: ``tau > 0``.
        valid: ``bool [B, S]``, ``False`` for padded segments (left out as anchors and as negatives).
        symmetric: as in :func:`info_nce`.

    Returns:
        scalar loss.
    """
    if a.ndim != 3 or a.shape != v.shape:
        raise UsageError(
            f"need segment embeddings [B, S, D] of one shape, got {list(a.shape)} and {list(v.shape)}"
        )
    flat_a, flat_v = a.flatten(0, 1), v.flatten(0, 1)  # [B*S, D]
    if valid is not None:
        keep = valid.flatten()
        flat_a, flat_v = flat_a[keep], flat_v[keep]
    return info_nce(flat_a, flat_v, temperature, symmetric)


def masked_reconstruction_loss(
    prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, normalize_target: bool = True
) -> torch.Tensor:
    """Mean squared error over hidden patches only.

    Args:
        prediction: predicted patches ``[..., N, K]``.
        target: true patches ``[..., N, K]``.
        mask: ``bool [..., N]``, ``True`` for hidden patches (the only ones that count).
        normalize_target: normalise each target patch to zero mean and unit variance first.

    Returns:
        scalar: mean over hidden patches of the per-patch mean squared error.
    """
    if prediction.shape != target.shape or mask.shape != target.shape[:-1]:
        raise UsageError(
            f"prediction {list(prediction.shape)}, target {list(target.shape)} and mask {list(mask.shape)} "
            "must be [..., N, K], [..., N, K] and [..., N]"
        )
    if not bool(mask.any()):
        raise UsageError("the mask hides no patch; there is nothing to reconstruct")
    if normalize_target:
        mean = target.mean(dim=-1, keepdim=True)
        var = target.var(dim=-1, keepdim=True)
        target = (target - mean) / (var + 1e-6).sqrt()
    per_patch = (prediction - target).square().mean(dim=-1)  # [..., N]
    weights = mask.to(per_patch.dtype)
    return (per_patch * weights).sum() / weights.sum()


class MultiScaleMelLoss(nn.Module):
    """L1 on the waveform plus the mean L1 of natural-log mels at FFT sizes 256/512/1024 (hop = FFT / 4).

    Example:
        >>> loss = MultiScaleMelLoss()
        >>> waveform = torch.randn(2, 1, 4096) * 0.1
        >>> float(loss(waveform, waveform))
        0.0
    """

    filterbanks: dict[int, torch.Tensor]

    def __init__(
        self,
        sample_rate: int = 16000,
        scales: tuple[tuple[int, int], ...] = ((256, 32), (512, 64), (1024, 64)),
    ) -> None:
        super().__init__()
        self.filterbanks = {
            n_fft: torch.from_numpy(mel_filterbank(sample_rate, n_fft, n_mels).copy()).float()
            for n_fft, n_mels in scales
        }

    def _log_mel(self, waveform: torch.Tensor, n_fft: int) -> torch.Tensor:
        window = torch.hann_window(n_fft, device=waveform.device)
        spec = torch.stft(waveform.flatten(0, 1), n_fft, n_fft // 4, window=window, return_complex=True)
        bank = self.filterbanks[n_fft].to(waveform.device)
        return torch.log(bank @ spec.abs() + 1e-5)  # [B*C, n_mels, frames]

    def forward(self, reconstruction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Loss of ``reconstruction`` against ``target``, both ``[B, C, N]``."""
        if reconstruction.shape != target.shape or target.ndim != 3:
            raise UsageError(
                f"reconstruction {list(reconstruction.shape)} and target {list(target.shape)} must both be "
                "[B, C, N] of one shape"
            )
        mel = sum(
            (self._log_mel(reconstruction, n) - self._log_mel(target, n)).abs().mean()
            for n in self.filterbanks
        )
        return (reconstruction - target).abs().mean() + mel / len(self.filterbanks)
