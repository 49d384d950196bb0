"""Spread-spectrum audio watermark: a keyed pseudo-noise block, repeated, under the host's loudness.

The classic direct-sequence scheme (Cox et al., "Secure spread spectrum watermarking for multimedia", IEEE
TIP 1997; Kirovski and Malvar, "Spread-spectrum watermarking of audio signals", IEEE TSP 2003), kept plain
as the baseline the learned watermark must beat:

- **Chips.** A key seeds 17 random +-1 sequences of one block (``block`` samples, 256 ms), band-limited to
  ``band`` Hz (inside telephone bandwidth, so resampling to 8 kHz keeps it) and scaled to unit RMS: a sync
  sequence ``p`` and one sequence ``c_k`` per message bit.
- **Embedding.** One block ``s = sqrt(1/2) p + sqrt(1/(2K)) sum_k (2 b_k - 1) c_k`` is repeated over the
  clip and multiplied by ``strength`` times the host's local RMS (the envelope of
  :func:`~avikit.models.watermark.learned.envelope`, 64 ms), so it follows the host's loudness and is silent
  where the host is.
- **Detection.** The received audio is divided by its own envelope, whitened by its order-16 linear
  prediction error filter (which flattens the host's spectrum), and folded modulo the block length: the
  watermark adds up coherently over the ``M`` blocks whatever its offset, the host does not. Circular
  correlation with the equally filtered sync sequence at every offset gives normalized scores ``z``
  (standard normal without a watermark); the clip score is the largest. At that offset each bit's
  correlation gives its probability ``Phi(z_k)``; a sample's watermark probability is the logistic of its
  256 ms neighbourhood's own sync score minus 3.

Time shifts and crops keep the watermark (the fold finds any offset); a speed change breaks the block
length and with it the watermark.

Example:
    >>> marker = SpreadSpectrumWatermarker()
    >>> rng = np.random.default_rng(0)
    >>> host = (0.1 * rng.standard_normal(48000)).astype(np.float32)
    >>> bits = rng.integers(0, 2, 16)
    >>> found = marker.detect(marker.embed(host, bits))
    >>> bool(found.score > 5), bool((found.message == bits).all())
    (True, True)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import linalg, signal, special

from avikit.models.watermark.base import NUM_BITS, Detection

__all__ = ["SpreadSpectrumConfig", "SpreadSpectrumWatermarker", "numpy_envelope"]


@dataclass(frozen=True)
class SpreadSpectrumConfig:
    """The scheme's parameters (the key is part of them: another key finds nothing).

    Attributes:
        key: seed of the chip sequences.
        sample_rate: rate in Hz.
        block: samples per repeated block.
        band: ``(low, high)`` Hz of the chips.
        strength: the watermark's RMS ratio to the host's local RMS (0.0671: the SI-SNR of the learned
            watermark on val, 23.5 dB, so the two cost the same; ``tools/watermark/build.py``).
        lpc_order: order of the detector's whitening filter.
        envelope_window: samples of the loudness envelope.
    """

    key: int = 20240
    sample_rate: int = 16000
    block: int = 4096
    band: tuple[float, float] = (300.0, 3500.0)
    strength: float = 0.0671
    lpc_order: int = 16
    envelope_window: int = 1025


def _moving_sum(values: NDArray[np.float64], window: int) -> NDArray[np.float64]:
    """Sums of ``values`` over centred windows of ``window`` samples (cut at the ends), same length."""
    total = np.r_[0.0, np.cumsum(values)]
    index = np.arange(len(values))
    low = np.clip(index - window // 2, 0, len(values))
    high = np.clip(index + (window - window // 2), 0, len(values))
    return total[high] - total[low]


def numpy_envelope(audio: NDArray[np.float64], window: int, floor: float = 1e-3) -> NDArray[np.float64]:
    """Local RMS over ``window`` samples (centred, cut at the ends), ``sqrt(mean power + floor^2)``."""
    power = _moving_sum(audio**2, window) / _moving_sum(np.ones(len(audio)), window)
    return np.sqrt(np.maximum(power, 0.0) + floor**2)


def _chips(cfg: SpreadSpectrumConfig) -> NDArray[np.float64]:
    """``[1 + K, block]`` unit-RMS band-limited +-1 sequences: sync first, then one per bit."""
    rng = np.random.default_rng(cfg.key)
    raw = rng.choice([-1.0, 1.0], size=(1 + NUM_BITS, cfg.block))
    spectrum = np.fft.rfft(raw, axis=-1)
    freqs = np.fft.rfftfreq(cfg.block, 1 / cfg.sample_rate)
    spectrum[:, (freqs < cfg.band[0]) | (freqs > cfg.band[1])] = 0
    chips = np.fft.irfft(spectrum, cfg.block, axis=-1)
    return chips / np.sqrt(np.mean(chips**2, axis=-1, keepdims=True))


class SpreadSpectrumWatermarker:
    """Embeds and detects the spread-spectrum watermark of one key (module docstring)."""

    name = "spread-spectrum"

    def __init__(self, cfg: SpreadSpectrumConfig | None = None) -> None:
        self.cfg = cfg or SpreadSpectrumConfig()
        self.sample_rate = self.cfg.sample_rate
        self.chips = _chips(self.cfg)  # [1 + K, L]
        self.weights_hash = hashlib.sha256(repr(self.cfg).encode()).hexdigest()[:16]

    def block_signal(self, message: NDArray[np.integer]) -> NDArray[np.float64]:
        """The repeated block ``s [L]`` of a message (about unit RMS)."""
        bits = np.asarray(message).reshape(-1)
        if bits.shape != (NUM_BITS,) or not np.isin(bits, (0, 1)).all():
            raise ValueError(f"message must be {NUM_BITS} bits of 0/1, got {bits!r}")
        signs = 2.0 * bits - 1.0
        return np.sqrt(0.5) * self.chips[0] + np.sqrt(0.5 / NUM_BITS) * signs @ self.chips[1:]

    def embed(self, audio: NDArray[np.floating], message: NDArray[np.integer]) -> NDArray[np.float32]:
        """Watermarked ``float32 [N]`` of mono ``audio [N]``."""
        host = np.asarray(audio, np.float64).reshape(-1)
        block = self.block_signal(message)
        tiled = np.resize(block, len(host))
        level = numpy_envelope(host, self.cfg.envelope_window)
        return (host + self.cfg.strength * level * tiled).astype(np.float32)

    def _whiten(self, audio: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Envelope-normalized, prediction-error-filtered audio, and the filter ``a [order + 1]``."""
        flat = audio / numpy_envelope(audio, self.cfg.envelope_window)
        order = self.cfg.lpc_order
        if len(flat) <= 2 * order:
            return flat, np.array([1.0])
        corr = np.array([np.dot(flat[: len(flat) - k], flat[k:]) for k in range(order + 1)])
        if corr[0] <= 0:
            return flat, np.array([1.0])
        corr = corr * np.exp(-0.5 * (0.01 * np.arange(order + 1)) ** 2)  # lag window: a stable, tame filter
        corr[0] *= 1 + 1e-6
        coefficients = linalg.solve_toeplitz(corr[:-1], corr[1:])
        error_filter = np.r_[1.0, -coefficients]
        return signal.lfilter(error_filter, [1.0], flat), error_filter

    def _templates(self, error_filter: NDArray[np.float64]) -> NDArray[np.float64]:
        """The chips through the whitening filter (circularly: the block repeats), ``[1 + K, L]``."""
        response = np.fft.rfft(error_filter, self.cfg.block)
        return np.fft.irfft(np.fft.rfft(self.chips, axis=-1) * response, self.cfg.block, axis=-1)

    def _scores(self, folded: NDArray[np.float64], templates: NDArray[np.float64]) -> NDArray[np.float64]:
        """Normalized circular correlation ``[1 + K, L]`` of ``folded [L]`` with each template, every lag."""
        cross = np.fft.irfft(
            np.fft.rfft(folded)[None] * np.conj(np.fft.rfft(templates, axis=-1)), self.cfg.block
        )
        norm = (
            np.linalg.norm(folded)
            * np.linalg.norm(templates, axis=-1, keepdims=True)
            / np.sqrt(self.cfg.block)
        )
        return cross / np.maximum(norm, 1e-12)

    def _fold(self, whitened: NDArray[np.float64]) -> NDArray[np.float64]:
        padded = np.pad(whitened, (0, -len(whitened) % self.cfg.block))
        return padded.reshape(-1, self.cfg.block).sum(0)

    def detect(self, audio: NDArray[np.floating]) -> Detection:
        """Clip score (max sync ``z`` over offsets), per-sample probability and bit probabilities."""
        received = np.asarray(audio, np.float64).reshape(-1)
        if len(received) == 0:
            raise ValueError("cannot detect a watermark in empty audio")
        whitened, error_filter = self._whiten(received)
        templates = self._templates(error_filter)
        scores = self._scores(self._fold(whitened), templates)  # [1 + K, L]
        lag = int(np.argmax(scores[0]))
        bits = special.ndtr(scores[1:, lag])
        return Detection(
            float(scores[0, lag]), self._local(whitened, templates[0], lag), bits.astype(np.float32)
        )

    def _local(
        self, whitened: NDArray[np.float64], sync: NDArray[np.float64], lag: int
    ) -> NDArray[np.float32]:
        """Per-sample probability from the sync score of the block-long neighbourhood at the found lag."""
        reference = np.resize(np.roll(sync, lag), len(whitened))
        window = self.cfg.block
        product = _moving_sum(whitened * reference, window)
        energy = _moving_sum(whitened**2, window) * _moving_sum(reference**2, window)
        z = product / np.sqrt(np.maximum(energy, 1e-12)) * np.sqrt(window)  # correlation coefficient as z
        return special.expit(z - 3.0).astype(np.float32)
