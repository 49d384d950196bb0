"""log-Mel against librosa's definition (reference-parity test), batched and single."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

from avikit.media import log_mel, mel_filterbank


def signal(seconds: float = 2.0, rate: int = 16000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    chirp = np.sin(2 * np.pi * (200 + 900 * t) * t)
    return (0.3 * chirp + 0.05 * rng.standard_normal(t.size)).astype(np.float32)


CASES = [
    dict(
        rate=16000,
        n_mels=128,
        n_fft=400,
        hop_length=160,
        win_length=None,
        f_min=0.0,
        f_max=None,
        htk=False,
        norm="slaney",
    ),
    dict(
        rate=16000,
        n_mels=64,
        n_fft=512,
        hop_length=128,
        win_length=400,
        f_min=50.0,
        f_max=7000.0,
        htk=True,
        norm=None,
    ),
    dict(
        rate=22050,
        n_mels=80,
        n_fft=1024,
        hop_length=256,
        win_length=None,
        f_min=0.0,
        f_max=8000.0,
        htk=False,
        norm="slaney",
    ),
]


@pytest.mark.parametrize("case", CASES)
def test_equals_librosa_to_1e_4_relative(case: dict) -> None:
    x = signal(rate=case["rate"])
    reference = librosa.feature.melspectrogram(
        y=x,
        sr=case["rate"],
        n_fft=case["n_fft"],
        hop_length=case["hop_length"],
        win_length=case["win_length"],
        n_mels=case["n_mels"],
        fmin=case["f_min"],
        fmax=case["f_max"],
        htk=case["htk"],
        norm=case["norm"],
        power=2.0,
    )
    ours = log_mel(
        torch.from_numpy(x),
        case["rate"],
        case["n_mels"],
        n_fft=case["n_fft"],
        hop_length=case["hop_length"],
        win_length=case["win_length"],
        f_min=case["f_min"],
        f_max=case["f_max"],
        htk=case["htk"],
        norm=case["norm"],
    ).numpy()
    assert ours.shape == reference.shape
    mel = np.exp(ours.astype(np.float64))
    loud = reference > 1e-8
    # float32 FFT + mel sums, two libraries: 7e-7 measured; every bin sits on the noise floor
    np.testing.assert_allclose(mel[loud], reference[loud], rtol=1e-4)
    # the same in the log domain: 1e-6 measured
    np.testing.assert_allclose(ours, np.log(np.maximum(reference, 1e-10)), atol=1e-4)


def test_filterbank_equals_librosa() -> None:
    # float32 weights from the same float64 formula: one float32 rounding, 2^-24 < 1e-5 relative
    np.testing.assert_allclose(
        mel_filterbank(16000, 400, 128),
        librosa.filters.mel(sr=16000, n_fft=400, n_mels=128),
        rtol=1e-5,
        atol=1e-9,
    )


def test_db_scale_equals_power_to_db() -> None:
    x = signal()
    reference = librosa.power_to_db(
        librosa.feature.melspectrogram(y=x, sr=16000, n_fft=400, hop_length=160, n_mels=128),
        ref=1.0,
        top_db=80.0,
    )
    ours = log_mel(x, 16000, scale="db", top_db=80.0).numpy()
    # dB of float32 powers: 10 log10(e) * 1e-6 relative; 8e-6 dB measured
    np.testing.assert_allclose(ours, reference, atol=1e-3)


def test_batched_equals_single() -> None:
    batch = np.stack([np.stack([signal(seed=i), signal(seed=i + 10)]) for i in range(3)])  # [B, C, N]
    out = log_mel(torch.from_numpy(batch), 16000, 64)
    assert out.shape == (3, 2, 64, 201) and out.dtype == torch.float32
    for b in range(3):
        for c in range(2):
            torch.testing.assert_close(out[b, c], log_mel(torch.from_numpy(batch[b, c]), 16000, 64))


def test_bad_input() -> None:
    with pytest.raises(ValueError, match=r"\[\.\.\., N\]"):
        log_mel(torch.zeros(2, 0), 16000)
    with pytest.raises(ValueError, match="f_max"):
        mel_filterbank(16000, 400, f_max=9000.0)
    with pytest.raises(ValueError, match="scale"):
        log_mel(torch.zeros(100), 16000, scale="ln")  # type: ignore[arg-type]
