"""Reconstruction metrics for tokenizers and codecs: mel distance, SI-SDR, PSNR and SSIM, in numpy.

Every function scores items along the leading axes and returns one value per item, so a caller can average,
bootstrap (:func:`avikit.metrics.compute_bootstrap_ci`) or look at the worst items.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from avikit.errors import UsageError
from avikit.media.mel import mel_filterbank
from avikit.metrics._validation import as_finite, same_shape

__all__ = ["compute_mel_distance", "compute_psnr", "compute_si_sdr", "compute_ssim"]


def _pair(reference: ArrayLike, estimate: ArrayLike, min_ndim: int) -> tuple[NDArray, NDArray]:
    ref = as_finite(reference, "reference", tuple(range(min_ndim, 6))).astype(np.float64)
    est = as_finite(estimate, "estimate", tuple(range(min_ndim, 6))).astype(np.float64)
    same_shape(ref, est, "reference", "estimate")
    return ref, est


def compute_si_sdr(reference: ArrayLike, estimate: ArrayLike, zero_mean: bool = True) -> NDArray[np.float64]:
    """Scale-invariant signal-to-distortion ratio in dB, per signal.

    Definition: Le Roux, Wisdom, Erdogan, Hershey, "SDR - half-baked or well done?" (ICASSP 2019), eq. 1:
    ``a = <est, ref> / ||ref||^2``, ``SI-SDR = 10 log10(||a ref||^2 / ||a ref - est||^2)``, with both signals
    made zero-mean first (``zero_mean=True``, as torchmetrics' default).

    Args:
        reference: ``[..., N]`` reference signals.
        estimate: ``[..., N]`` reconstructed signals.
        zero_mean: remove each signal's mean first.

    Returns:
        ``float64 [...]`` in dB, unbounded, ``higher_is_better=True``.

    Example:
        >>> phase = 2 * np.pi * 5 * np.arange(1000) / 1000
        >>> round(float(compute_si_sdr(np.sin(phase), 2 * np.sin(phase) + 0.02 * np.cos(phase))), 6)
        40.0
    """
    ref, est = _pair(reference, estimate, 1)
    if zero_mean:
        ref = ref - ref.mean(axis=-1, keepdims=True)
        est = est - est.mean(axis=-1, keepdims=True)
    eps = np.finfo(np.float64).eps
    alpha = (np.sum(est * ref, axis=-1, keepdims=True) + eps) / (np.sum(ref**2, axis=-1, keepdims=True) + eps)
    target = alpha * ref
    noise = target - est
    return 10 * np.log10((np.sum(target**2, axis=-1) + eps) / (np.sum(noise**2, axis=-1) + eps))


def compute_psnr(reference: ArrayLike, estimate: ArrayLike, data_range: float = 255.0) -> NDArray[np.float64]:
    """Peak signal-to-noise ratio in dB, per image over its last three axes ``[..., H, W, C]``.

    Definition: ``10 log10(data_range^2 / MSE)`` (as ``skimage.metrics.peak_signal_noise_ratio``); ``inf`` for
    identical images.

    Args:
        reference: ``[..., H, W, C]`` reference images.
        estimate: ``[..., H, W, C]`` reconstructed images.
        data_range: peak value (255 for uint8, 1 for floats in [0, 1]).

    Returns:
        ``float64 [...]`` in dB, ``higher_is_better=True``.

    Example:
        >>> round(float(compute_psnr(np.zeros((2, 2, 1)), np.full((2, 2, 1), 25.5))), 6)
        20.0
    """
    ref, est = _pair(reference, estimate, 3)
    mse = np.mean((ref - est) ** 2, axis=(-3, -2, -1))
    with np.errstate(divide="ignore"):
        return 10 * np.log10(data_range**2 / mse)


def _gaussian_filter(image: NDArray, sigma: float, truncate: float) -> NDArray:
    """Separable Gaussian blur over the two axes before the last (``scipy.ndimage`` ``mode="reflect"``)."""
    from scipy.ndimage import gaussian_filter1d

    out = gaussian_filter1d(image, sigma, axis=-3, truncate=truncate, mode="reflect")
    return gaussian_filter1d(out, sigma, axis=-2, truncate=truncate, mode="reflect")


def compute_ssim(
    reference: ArrayLike, estimate: ArrayLike, data_range: float = 255.0, sigma: float = 1.5
) -> NDArray[np.float64]:
    """Structural similarity, per image ``[..., H, W, C]``, mean over pixels and channels.

    Definition: Wang, Bovik, Sheikh and Simoncelli, "Image quality assessment: from error visibility to
    structural similarity" (IEEE TIP 2004): Gaussian window with ``sigma = 1.5`` (11 x 11), ``K1 = 0.01``,
    ``K2 = 0.03``, population covariances; the mean is taken after cropping the 5-pixel border, as
    ``skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
    channel_axis=-1)``.

    Args:
        reference: ``[..., H, W, C]`` images, ``H, W >= 11``.
        estimate: ``[..., H, W, C]`` reconstructions.
        data_range: value range of the images.
        sigma: Gaussian window width.

    Returns:
        ``float64 [...]`` in ``[-1, 1]``, ``higher_is_better=True``.

    Example:
        >>> image = np.random.default_rng(0).integers(0, 256, (16, 16, 3))
        >>> float(compute_ssim(image, image))
        1.0
    """
    ref, est = _pair(reference, estimate, 3)
    truncate = 3.5
    radius = int(truncate * sigma + 0.5)
    if min(ref.shape[-3:-1]) < 2 * radius + 1:
        raise UsageError(
            f"images must be at least {2 * radius + 1} pixels high and wide, got {ref.shape[-3:-1]}"
        )
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_x, mu_y = _gaussian_filter(ref, sigma, truncate), _gaussian_filter(est, sigma, truncate)
    var_x = _gaussian_filter(ref * ref, sigma, truncate) - mu_x**2
    var_y = _gaussian_filter(est * est, sigma, truncate) - mu_y**2
    cov = _gaussian_filter(ref * est, sigma, truncate) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    cropped = ssim_map[..., radius:-radius, radius:-radius, :]
    return cropped.mean(axis=(-3, -2, -1))


def _log_mel(signal: NDArray[np.float64], sample_rate: int, window: int, n_mels: int) -> NDArray[np.float64]:
    """``log10(max(mel magnitude, 1e-5))`` ``[..., n_mels, frames]``; periodic Hann, hop ``window // 4``."""
    hop = window // 4
    padded = np.pad(signal, [(0, 0)] * (signal.ndim - 1) + [(window // 2, window // 2)], mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, window, axis=-1)[..., ::hop, :]
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(window) / window)
    magnitude = np.abs(np.fft.rfft(frames * hann, axis=-1))  # [..., frames, window // 2 + 1]
    mel = magnitude @ mel_filterbank(sample_rate, window, n_mels).T  # [..., frames, n_mels]
    return np.log10(np.maximum(mel, 1e-5)).swapaxes(-1, -2)


def compute_mel_distance(
    reference: ArrayLike,
    estimate: ArrayLike,
    sample_rate: int,
    windows: Sequence[int] = (2048, 512),
    n_mels: Sequence[int] = (150, 80),
) -> NDArray[np.float64]:
    """Multi-scale log-mel L1 distance, per signal.

    Definition: the log term of the multi-scale mel loss of DAC (Kumar et al., "High-fidelity audio
    compression with improved RVQGAN", NeurIPS 2023; ``audiotools.metrics.spectral.MelSpectrogramLoss``,
    default scales): per scale, the mean absolute difference of ``log10(max(mel, 1e-5))`` of the STFT
    magnitude (periodic Hann,
    hop = window / 4, reflect-padded centred frames, Slaney mel filterbank); summed over scales.

    Args:
        reference: ``[..., N]`` reference signals.
        estimate: ``[..., N]`` reconstructions.
        sample_rate: sample rate of both in Hz.
        windows: STFT window lengths, one per scale.
        n_mels: mel bands, one per scale.

    Returns:
        ``float64 [...]`` (log10 units, >= 0, ``higher_is_better=False``).

    Example:
        >>> noise = np.random.default_rng(0).normal(size=4000)
        >>> float(compute_mel_distance(noise, noise, 16000))
        0.0
    """
    ref, est = _pair(reference, estimate, 1)
    if len(windows) != len(n_mels):
        raise UsageError(f"windows and n_mels need one entry per scale, got {len(windows)} and {len(n_mels)}")
    if ref.shape[-1] <= max(windows) // 2:
        raise UsageError(f"signals need more than {max(windows) // 2} samples for window {max(windows)}")
    total = np.zeros(ref.shape[:-1])
    for window, mels in zip(windows, n_mels, strict=True):
        diff = np.abs(_log_mel(ref, sample_rate, window, mels) - _log_mel(est, sample_rate, window, mels))
        total = total + diff.mean(axis=(-2, -1))
    return total
