"""Real pretrained components: Silero VAD and Whisper on real synthesized speech, MediaPipe on a real face."""

from __future__ import annotations

import shutil
import subprocess
import wave

import numpy as np
import pytest

from avikit.eval.agent.pretrained_tools import pretrained_tools
from avikit.eval.agent.toolbox import ToolBox
from avikit.media import AVClip

SENTENCE = "the quick brown fox jumps over the lazy dog"


@pytest.fixture(scope="module")
def box() -> ToolBox:
    return ToolBox(pretrained_tools())


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> AVClip:
    """One second of silence, the sentence spoken by espeak-ng (a formant synthesizer), one second of silence."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    path = tmp_path_factory.mktemp("speech") / "s.wav"
    subprocess.run(["espeak-ng", "-w", str(path), SENTENCE], check=True, capture_output=True)
    with wave.open(str(path)) as f:
        rate, data = f.getframerate(), np.frombuffer(f.readframes(f.getnframes()), np.int16)
    voice = data.astype(np.float32) / 32768
    silence = np.zeros(rate, np.float32)
    return AVClip(waveform=np.concatenate([silence, voice, silence])[None], sample_rate=rate)


def test_silero_finds_the_speech_and_not_the_silence(box: ToolBox, speech: AVClip) -> None:
    box.workspace.put(speech, "speech")
    out = box.call("detect_speech", {"clip": "speech"})
    assert out["ok"], out
    segments = out["result"]["segments"]
    end = float(speech.duration) - 1.0
    assert segments and segments[0]["start"] >= 0.7 and segments[-1]["end"] <= end + 0.3
    covered = sum(s["end"] - s["start"] for s in segments)
    assert covered > 0.6 * (end - 1.0)


def test_whisper_transcribes_the_sentence(box: ToolBox, speech: AVClip) -> None:
    box.workspace.put(speech, "speech")
    out = box.call("transcribe", {"clip": "speech"})
    assert out["ok"], out
    words = set(out["result"]["text"].lower().replace(".", "").split())
    assert len(words & set(SENTENCE.split())) >= 6  # tiny.en on a formant voice: most words, not all
    assert (
        out["result"]["segments"][0]["start"]
        < out["result"]["segments"][-1]["end"]
        <= float(speech.duration) + 0.5
    )


def test_mediapipe_finds_the_one_face_of_a_photograph(box: ToolBox) -> None:
    from skimage.data import astronaut  # a photograph shipped with scikit-image (NASA, public domain)

    image = astronaut()  # 512 x 512; the face is in the upper middle
    clip = AVClip(frames=np.stack([image, np.zeros_like(image)]), fps=1)
    box.workspace.put(clip, "photo")
    out = box.call("detect_faces", {"clip": "photo", "fps": 1})
    assert out["ok"], out
    first, blank = out["result"]["frames"]
    assert len(first["faces"]) == 1 and blank["faces"] == []
    face = first["faces"][0]
    cx, cy = face["x"] + face["width"] / 2, face["y"] + face["height"] / 2
    assert 0.3 < cx < 0.6 and 0.1 < cy < 0.4
    mouth = box.call("mouth_opening", {"clip": "photo", "fps": 1})["result"]["frames"]
    assert mouth[0]["opening"] is not None and 0 <= mouth[0]["opening"] < 0.2 and mouth[1]["opening"] is None


def test_a_clip_without_audio_is_a_structured_error(box: ToolBox) -> None:
    box.workspace.put(AVClip(frames=np.zeros((2, 8, 8, 3), np.uint8), fps=1), "mute")
    out = box.call("detect_speech", {"clip": "mute"})
    assert out["error"]["type"] == "tool_error" and "no audio" in out["error"]["message"]
