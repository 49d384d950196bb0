"""Small models that tests host in worker processes (``worker:tests.models.worker_models:NAME``)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np


class LoudnessV2A:
    """A generator: the audio is each frame's mean brightness held for its frame's duration (a real function
    of the input frames, so that a test can tell its files apart and check them)."""

    id = "test/loudness-v2a"
    weights_hash = "none"
    tasks = ("v2a",)

    def predict(self, task: Any, batch: list[Any]) -> list[dict[str, Any]]:
        out = []
        for item in batch:
            brightness = item.frames.reshape(len(item.frames), -1).mean(1) / 255.0
            per_frame = -(-item.inputs.audio[1] // len(item.frames))
            audio = np.repeat(brightness, per_frame)[: item.inputs.audio[1]].astype(np.float32)
            item.output_dir.mkdir(parents=True, exist_ok=True)
            path = item.output_dir / f"{item.id}_audio.npy"
            np.save(path, audio)
            out.append({"id": item.id, "audio": str(path)})
        return out


class Fragile:
    """Answers sync with offset zero, raises on items whose audio is silent and exits the process on items
    whose first frame is black (the cases a worker must turn into error records); talks on stdout."""

    id = "test/fragile"
    weights_hash = "none"
    tasks = ("sync",)

    def predict(self, task: Any, batch: list[Any]) -> list[dict[str, Any]]:
        print(f"predicting {len(batch)} items")  # stdout: a worker must keep it off the protocol channel
        os.write(1, b"and from below Python\n")
        for item in batch:
            if not item.frames[0].any():
                os._exit(7)
            if not item.waveform.any():
                raise ValueError("silent audio")
        return [{"id": item.id, "logits": [0.0] * 21} for item in batch]


class ReturnsArrays:
    """Returns a numpy array where the schema wants a list (not JSON: an error record, as in-process)."""

    id = "test/arrays"
    weights_hash = "none"
    tasks = ("sync",)

    def predict(self, task: Any, batch: list[Any]) -> list[dict[str, Any]]:
        return [{"id": item.id, "logits": np.zeros(21)} for item in batch]


class MarkedV2A(LoudnessV2A):
    """:class:`LoudnessV2A` with an audio watermark (on by default), as avikit's generators have."""

    id = "test/marked-v2a"

    def __init__(self) -> None:
        from avikit.models.watermark import load_watermarker

        self.watermarker = load_watermarker("spread-spectrum")

    @property
    def weights_hash(self) -> str:  # type: ignore[override]
        from avikit.models.watermark import watermarked_hash

        return watermarked_hash("none", self.watermarker)

    def predict(self, task: Any, batch: list[Any]) -> list[dict[str, Any]]:
        from avikit.models.watermark import watermark_output

        predictions = super().predict(task, batch)
        for prediction in predictions if self.watermarker is not None else []:
            audio = np.load(prediction["audio"])
            np.save(prediction["audio"], watermark_output(self.watermarker, audio, self.id))
        return predictions
