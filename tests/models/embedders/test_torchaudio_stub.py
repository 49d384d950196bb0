"""The torchaudio stub: torchcrepe imports and loads audio through it, and nobody else sees a torchaudio."""

from __future__ import annotations

import importlib.util
import sys
import wave

import numpy as np
import pytest

from avikit.models.embedders.torchaudio_stub import import_torchcrepe


def test_torchcrepe_imports_and_torchaudio_stays_absent(tmp_path):
    if importlib.util.find_spec("torchaudio") is not None:
        pytest.skip("a real torchaudio is installed; the stub is not used")
    crepe = import_torchcrepe()
    assert "torchaudio" not in sys.modules and importlib.util.find_spec("torchaudio") is None
    transformers_utils = pytest.importorskip("transformers.utils")
    assert not transformers_utils.is_torchaudio_available()
    # torchcrepe.load.audio reads a file through the stub's load: the samples of the WAV, and its rate
    samples = (np.sin(np.arange(8000) / 5) * 12000).astype("<i2")
    path = tmp_path / "tone.wav"
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(samples.tobytes())
    audio, rate = crepe.load.audio(str(path))
    assert rate == 8000 and audio.shape == (1, 8000)
    np.testing.assert_array_equal(audio[0].numpy(), samples / 32768.0)
    stub = crepe.load.torchaudio
    with pytest.raises(AttributeError, match="torchaudio_stub"):
        _ = stub.functional
