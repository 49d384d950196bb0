"""Judging decoded audio per domain with judges nobody here trained, with intervals over clips.

:class:`DomainJudges` scores estimates of a domain's test clips against the originals:

- every domain: mel distance and SI-SDR (:mod:`avikit.metrics.reconstruction`);
- speech: PESQ (wide band) and STOI (:mod:`avikit.metrics.speech`); with the neural judges, the WER of
  Whisper tiny.en's transcripts against the corpus transcripts and DNSMOS overall MOS, both on the English
  clips only (the recogniser is English-only; DNSMOS is kept to the same clips to bound its cost);
- music: with the neural judges, the raw pitch accuracy of CREPE's pitch track against the MIDI melody and
  the onset F1 of librosa's detected onsets against the MIDI note onsets (:mod:`avikit.metrics.music`).

Each score is summarised as ``{"mean", "low", "high", "per_clip"}``: the mean over clips (for WER and RPA the
ratio of summed counts) with a 95% percentile bootstrap interval that resamples clips. Judge time is counted
per judge (``seconds``), so the study can report what judging costs.

Example:
    >>> import numpy as np
    >>> reference = np.random.default_rng(0).normal(0, 0.1, (3, 16000)).astype(np.float32)
    >>> scores = DomainJudges(neural=False).judge("effects", [], reference, reference * 0.5)
    >>> round(scores["si_sdr"]["mean"], 1) > 100, sorted(scores)
    (True, ['mel_distance', 'si_sdr'])
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from avikit.data.sample import Sample
from avikit.metrics.bootstrap import compute_bootstrap_ci
from avikit.metrics.music import (
    compute_onset_f1,
    compute_onset_statistics,
    compute_pitch_statistics,
    melody_frequencies,
    note_onsets,
)
from avikit.metrics.reconstruction import compute_mel_distance, compute_si_sdr
from avikit.metrics.speech import compute_pesq, compute_stoi, compute_wer_statistics

__all__ = ["DomainJudges", "summarize", "summarize_ratio"]

SAMPLE_RATE = 16000


def summarize(values: NDArray[np.float64], seed: int = 0) -> dict[str, Any]:
    """Mean over clips with its 95% bootstrap interval, and the per-clip values."""
    low, high = compute_bootstrap_ci(values, seed=seed)
    return {"mean": float(np.mean(values)), "low": low, "high": high, "per_clip": [float(v) for v in values]}


def summarize_ratio(counts: NDArray[np.int64], seed: int = 0, resamples: int = 1000) -> dict[str, Any]:
    """``sum(counts[:, 0]) / sum(counts[:, 1])`` with a 95% bootstrap interval over clips (rows)."""
    counts = np.asarray(counts, dtype=np.float64)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(counts), (resamples, len(counts)))
    ratios = counts[picks, 0].sum(1) / np.maximum(counts[picks, 1].sum(1), 1e-12)
    low, high = np.quantile(ratios, [0.025, 0.975])
    per_clip = counts[:, 0] / np.maximum(counts[:, 1], 1e-12)
    return {
        "mean": float(counts[:, 0].sum() / counts[:, 1].sum()),
        "low": float(low),
        "high": float(high),
        "per_clip": [float(v) for v in per_clip],
    }


class DomainJudges:
    """Scores a domain's decoded clips; the neural judges are built on first use and timed.

    Args:
        neural: run Whisper, DNSMOS and CREPE (otherwise only the signal metrics, PESQ and STOI).
        crepe_model: CREPE weights, ``"tiny"`` or ``"full"``.
        seed: bootstrap seed.
    """

    def __init__(self, neural: bool = True, crepe_model: str = "tiny", seed: int = 0) -> None:
        self.neural, self.crepe_model, self.seed = neural, crepe_model, seed
        self._models: dict[str, Any] = {}
        self.seconds: dict[str, float] = {}
        self.clips: dict[str, int] = {}

    def _model(self, name: str) -> Any:
        if name not in self._models:
            from avikit.models.embedders.pitch_judges import CrepePitch
            from avikit.models.embedders.speech_judges import Dnsmos, WhisperTranscriber

            build: dict[str, Callable[[], Any]] = {
                "whisper": WhisperTranscriber,
                "dnsmos": Dnsmos,
                "crepe": lambda: CrepePitch(self.crepe_model),
            }
            self._models[name] = build[name]()
        return self._models[name]

    def _timed(self, name: str, count: int, function: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        out = function()
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
        self.clips[name] = self.clips.get(name, 0) + count
        return out

    def judge(
        self,
        domain: str,
        samples: Sequence[Sample],
        reference: NDArray[np.float32],
        estimate: NDArray[np.float32],
        neural: bool | None = None,
    ) -> dict[str, dict[str, Any]]:
        """Scores of ``estimate [N, S]`` against ``reference [N, S]`` of ``domain``'s clips ``samples``."""
        estimate = np.clip(estimate, -1.0, 1.0)
        out = {
            "mel_distance": summarize(compute_mel_distance(reference, estimate, SAMPLE_RATE), self.seed),
            "si_sdr": summarize(compute_si_sdr(reference, estimate), self.seed),
        }
        use_neural = self.neural if neural is None else neural
        if domain == "speech":
            out["pesq"] = summarize(
                self._timed("pesq", len(reference), lambda: compute_pesq(reference, estimate))
            )
            out["stoi"] = summarize(
                self._timed("stoi", len(reference), lambda: compute_stoi(reference, estimate))
            )
        if use_neural:
            out.update(self.judge_neural(domain, samples, estimate))
        return out

    def judge_neural(
        self, domain: str, samples: Sequence[Sample], audio: NDArray[np.float32]
    ) -> dict[str, dict[str, Any]]:
        """The neural judges' scores of ``audio [N, S]`` (decoded or original) for ``domain``."""
        if domain == "speech":
            return self._speech(samples, audio)
        if domain == "music":
            return self._music(samples, audio)
        return {}

    def _speech(self, samples: Sequence[Sample], audio: NDArray[np.float32]) -> dict[str, dict[str, Any]]:
        english = [i for i, s in enumerate(samples) if s.targets["language"] == "en"]
        if not english:
            return {}
        clips = audio[english]
        texts = self._timed("whisper", len(english), lambda: self._model("whisper").transcribe(clips))
        references = [samples[i].targets["transcript"] for i in english]
        mos = self._timed("dnsmos", len(english), lambda: self._model("dnsmos").score(clips))
        return {
            "wer": {
                **summarize_ratio(compute_wer_statistics(references, texts), self.seed),
                "transcripts": texts,
            },
            "dnsmos_ovrl": summarize(mos["ovrl_mos"], self.seed),
        }

    def _music(self, samples: Sequence[Sample], audio: NDArray[np.float32]) -> dict[str, dict[str, Any]]:
        crepe = self._model("crepe")
        frequency, _ = self._timed("crepe", len(audio), lambda: crepe.track(audio))
        melody = np.stack(
            [
                melody_frequencies(s.targets["notes"]["melody"], frequency.shape[1], crepe.hop_seconds)
                for s in samples
            ]
        )
        from avikit.models.embedders.pitch_judges import detect_onsets

        estimated = self._timed("onsets", len(audio), lambda: [detect_onsets(row) for row in audio])
        onsets = [note_onsets([n for notes in s.targets["notes"].values() for n in notes]) for s in samples]
        return {
            "pitch_accuracy": summarize_ratio(compute_pitch_statistics(melody, frequency), self.seed),
            "onset_f1": summarize(compute_onset_f1(compute_onset_statistics(onsets, estimated)), self.seed),
        }

    def costs(self) -> dict[str, float]:
        """Seconds per clip of each judge so far (on this CPU)."""
        return {name: self.seconds[name] / max(self.clips[name], 1) for name in self.seconds}
