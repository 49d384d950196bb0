"""Log-Mel spectrograms in torch, batched, matching librosa's definition for the same parameters.

Definition (librosa 0.10/0.11, ``librosa.feature.melspectrogram`` followed by a log):

- STFT with a periodic Hann window of ``win_length`` zero-padded to ``n_fft`` in the centre, frames
  centred on ``t * hop_length`` (the signal padded by ``n_fft // 2`` zeros on both sides:
  ``center=True, pad_mode="constant"``), power spectrum ``|X|^2``.
- Mel filterbank of triangular filters between ``f_min`` and ``f_max``, on the **Slaney** mel scale
  (linear below 1 kHz, logarithmic above; ``htk=False``) with **Slaney** area normalisation
  (each filter divided by half its bandwidth in Hz; ``norm="slaney"``), or the HTK scale / no
  normalisation when asked.
- ``log``: natural log of ``max(mel, amin)``; ``db``: ``10 * log10(max(mel, amin))``, optionally clipped to
  ``top_db`` below each spectrogram's maximum (``librosa.power_to_db(ref=1.0)``).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Literal

import numpy as np

from avikit.errors import UsageError

if TYPE_CHECKING:  # torch is imported where a spectrogram is computed: importing avikit.media stays light
    import torch

__all__ = ["log_mel", "mel_filterbank"]


def _hz_to_mel(hz: np.ndarray, htk: bool) -> np.ndarray:
    if htk:
        return 2595.0 * np.log10(1.0 + hz / 700.0)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    mel = hz / f_sp
    high = hz >= min_log_hz
    return np.where(high, min_log_mel + np.log(np.maximum(hz, min_log_hz) / min_log_hz) / logstep, mel)


def _mel_to_hz(mel: np.ndarray, htk: bool) -> np.ndarray:
    if htk:
        return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    return np.where(mel >= min_log_mel, min_log_hz * np.exp(logstep * (mel - min_log_mel)), f_sp * mel)


@functools.lru_cache(maxsize=32)
def _filterbank(
    sample_rate: int, n_fft: int, n_mels: int, f_min: float, f_max: float, htk: bool, norm: str | None
) -> np.ndarray:
    fft_freqs = np.linspace(0, sample_rate / 2, 1 + n_fft // 2)
    edges = np.array([f_min, f_max], dtype=np.float64)
    mel_lo, mel_hi = _hz_to_mel(edges, htk)
    mel_f = _mel_to_hz(np.linspace(mel_lo, mel_hi, n_mels + 2), htk)
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    if norm == "slaney":
        weights *= (2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels]))[:, None]
    weights.setflags(write=False)
    return weights


def mel_filterbank(
    sample_rate: int,
    n_fft: int,
    n_mels: int = 128,
    f_min: float = 0.0,
    f_max: float | None = None,
    *,
    htk: bool = False,
    norm: Literal["slaney"] | None = "slaney",
) -> np.ndarray:
    """Return the mel filterbank ``float64 [n_mels, n_fft // 2 + 1]`` (librosa's ``filters.mel``).

    Example:
        >>> mel_filterbank(16000, 400, n_mels=64).shape
        (64, 201)
    """
    if norm not in ("slaney", None):
        raise UsageError(f"norm must be 'slaney' or None, got {norm!r}")
    top = sample_rate / 2 if f_max is None else f_max
    if not 0 <= f_min < top <= sample_rate / 2:
        raise UsageError(f"need 0 <= f_min < f_max <= sample_rate / 2, got f_min={f_min}, f_max={top}")
    return _filterbank(int(sample_rate), int(n_fft), int(n_mels), float(f_min), float(top), htk, norm)


def log_mel(
    waveform: torch.Tensor | np.ndarray,
    sample_rate: int,
    n_mels: int = 128,
    *,
    n_fft: int = 400,
    hop_length: int = 160,
    win_length: int | None = None,
    f_min: float = 0.0,
    f_max: float | None = None,
    htk: bool = False,
    norm: Literal["slaney"] | None = "slaney",
    scale: Literal["log", "db"] = "log",
    amin: float = 1e-10,
    top_db: float | None = None,
) -> torch.Tensor:
    """Compute a log-Mel spectrogram of one or many waveforms.

    Args:
        waveform: ``[..., N]`` samples (e.g. ``[B, C, N]``), float; numpy arrays are converted.
        sample_rate: in Hz.
        n_mels: number of mel bands.
        n_fft: FFT size; the defaults (400 / 160 at 16 kHz) are 25 ms windows every 10 ms.
        hop_length: samples between frames.
        win_length: window length (default ``n_fft``).
        f_min: lowest filter edge in Hz.
        f_max: highest filter edge in Hz (default ``sample_rate / 2``).
        htk: use the HTK mel scale instead of Slaney's.
        norm: ``"slaney"`` area normalisation, or ``None``.
        scale: ``"log"`` (natural log) or ``"db"`` (decibels, ``10 log10``).
        amin: floor applied before the log.
        top_db: with ``scale="db"``, clip each spectrogram to ``top_db`` below its maximum.

    Returns:
        ``[..., n_mels, 1 + N // hop_length]`` in the waveform's float dtype (float32 for other dtypes).

    Example:
        >>> import torch
        >>> log_mel(torch.zeros(2, 16000), 16000).shape
        torch.Size([2, 128, 101])
    """
    import torch

    x = torch.as_tensor(waveform)
    if not torch.is_floating_point(x):
        x = x.to(torch.float32)
    if x.ndim < 1 or x.shape[-1] == 0:
        raise UsageError(f"waveform must have shape [..., N] with N > 0, got {list(x.shape)}")
    if scale not in ("log", "db"):
        raise UsageError(f"scale must be 'log' or 'db', got {scale!r}")
    win = n_fft if win_length is None else win_length
    out_dtype = x.dtype
    fb = _filterbank_tensor(sample_rate, n_fft, n_mels, f_min, f_max, htk, norm).to(x.device)
    # The STFT runs in float64, one row at a time: a float32 STFT drifts by up to 3e-4 relative in quiet
    # bins, and one row at a time keeps the float64 work in cache (faster than one large batch).
    window = torch.hann_window(win, periodic=True, dtype=torch.float64, device=x.device)
    rows = x.reshape(-1, x.shape[-1]).to(torch.float64)
    power = torch.stack([_power(row, n_fft, hop_length, win, window) for row in rows])  # [B, F, T]
    mel = torch.matmul(fb, power).clamp_min(amin)  # [B, n_mels, T]
    if scale == "log":
        out = torch.log(mel)
    else:
        out = 10.0 * torch.log10(mel)
        if top_db is not None:
            out = torch.maximum(out, out.amax(dim=(-2, -1), keepdim=True) - top_db)
    return out.to(out_dtype).reshape(*x.shape[:-1], n_mels, out.shape[-1])


def _power(row: torch.Tensor, n_fft: int, hop_length: int, win: int, window: torch.Tensor) -> torch.Tensor:
    import torch

    spec = torch.stft(
        row, n_fft, hop_length, win, window, center=True, pad_mode="constant", return_complex=True
    )
    return (spec.real.square() + spec.imag.square()).to(torch.float32)


def _filterbank_tensor(
    sample_rate: int, n_fft: int, n_mels: int, f_min: float, f_max: float | None, htk: bool, norm: str | None
) -> torch.Tensor:
    weights = mel_filterbank(sample_rate, n_fft, n_mels, f_min, f_max, htk=htk, norm=norm)  # type: ignore[arg-type]
    import torch

    return torch.from_numpy(weights.astype(np.float32))
