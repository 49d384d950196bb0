"""Kaldi's mel filterbank and log-mel ``fbank`` features, as ``torchaudio.compliance.kaldi`` defines them.

PaSST's front end multiplies its power spectrum by Kaldi's mel banks; ImageBind's audio front end is Kaldi
``fbank`` (Hann window, 25 ms frames every 10 ms, 128 bins). Both are written here from Kaldi's definition
so that neither needs torchaudio:

- mel scale ``1127 ln(1 + f / 700)``; ``n_mels`` triangles whose left, centre and right edges are equally
  spaced in mel between ``f_min`` and ``f_max`` (``f_max <= 0`` counts down from Nyquist), sampled at the
  ``n_fft / 2`` bin frequencies ``k * sample_rate / n_fft`` and given a zero column for the Nyquist bin;
- ``fbank``: frames of ``frame_length`` samples every ``frame_shift`` with no padding (``snip_edges``), each
  frame's mean removed, pre-emphasis ``x[n] - 0.97 x[n-1]`` (``x[-1] = x[0]``), a symmetric Hann window,
  zero-padded to the next power of two, power spectrum, mel banks, ``log(max(x, eps))`` with the float32
  epsilon.

Example:
    >>> kaldi_mel_banks(128, 1024, 32000, 0.0, 15000.0).shape
    torch.Size([128, 513])
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from avikit.errors import UsageError

__all__ = ["kaldi_fbank", "kaldi_mel_banks"]


def _mel(hz: np.ndarray | float) -> np.ndarray:
    return 1127.0 * np.log1p(np.asarray(hz, np.float64) / 700.0)


def kaldi_mel_banks(n_mels: int, n_fft: int, sample_rate: float, f_min: float, f_max: float) -> torch.Tensor:
    """Kaldi's triangular mel weights ``[n_mels, n_fft // 2 + 1]`` (float32; the Nyquist column is zero).

    Args:
        n_mels: number of triangles.
        n_fft: FFT length (the padded window).
        sample_rate: in Hz.
        f_min: lower edge of the first triangle, Hz.
        f_max: upper edge of the last triangle, Hz; ``<= 0`` means Nyquist plus ``f_max``.
    """
    nyquist = 0.5 * sample_rate
    high = f_max if f_max > 0 else f_max + nyquist
    if not 0.0 <= f_min < high <= nyquist:
        raise UsageError(f"need 0 <= f_min < f_max <= {nyquist} Hz, got f_min={f_min}, f_max={high}")
    low_mel, high_mel = float(_mel(f_min)), float(_mel(high))
    delta = (high_mel - low_mel) / (n_mels + 1)
    index = np.arange(n_mels, dtype=np.float64)[:, None]
    left, centre, right = (
        low_mel + index * delta,
        low_mel + (index + 1) * delta,
        low_mel + (index + 2) * delta,
    )
    mel = _mel(sample_rate / n_fft * np.arange(n_fft // 2, dtype=np.float64))[None]
    weights = np.maximum(0.0, np.minimum((mel - left) / (centre - left), (right - mel) / (right - centre)))
    return torch.from_numpy(np.pad(weights, ((0, 0), (0, 1))).astype(np.float32))


def kaldi_fbank(
    waveform: torch.Tensor,
    sample_rate: int = 16000,
    n_mels: int = 128,
    frame_length_ms: float = 25.0,
    frame_shift_ms: float = 10.0,
    f_min: float = 20.0,
    f_max: float = 0.0,
    preemphasis: float = 0.97,
) -> torch.Tensor:
    """Log-mel Kaldi fbank ``[frames, n_mels]`` of a 1-D waveform (``dither=0``, Hann window, power spectrum).

    ``frames = 1 + (N - frame_length) // frame_shift``; a waveform shorter than a frame gives ``[0, n_mels]``.
    """
    if waveform.ndim != 1:
        raise UsageError(f"kaldi_fbank takes one waveform [N], got shape {list(waveform.shape)}")
    length = round(sample_rate * frame_length_ms / 1000)
    shift = round(sample_rate * frame_shift_ms / 1000)
    n_fft = 1 << (length - 1).bit_length()
    banks = kaldi_mel_banks(n_mels, n_fft, sample_rate, f_min, f_max).to(waveform.device, waveform.dtype)
    if waveform.shape[0] < length:
        return waveform.new_zeros(0, n_mels)
    frames = waveform.unfold(0, length, shift)  # [T, L]
    frames = frames - frames.mean(dim=1, keepdim=True)
    previous = torch.cat([frames[:, :1], frames[:, :-1]], dim=1)
    frames = frames - preemphasis * previous
    n = torch.arange(length, dtype=torch.float64, device=waveform.device)
    window = (0.5 - 0.5 * torch.cos(2 * math.pi * n / (length - 1))).to(waveform.dtype)
    power = (
        torch.fft.rfft(F.pad(frames * window, (0, n_fft - length)), dim=1).abs().square()
    )  # [T, n_fft/2+1]
    eps = torch.finfo(torch.float32).eps
    return torch.clamp(power @ banks.T, min=eps).log()
