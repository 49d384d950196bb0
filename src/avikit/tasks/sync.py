"""Audio-visual synchronisation as offset classification (Synchformer protocol, 21 offsets of -2..2 s).

The task shifts the audio itself: the video window is ``[2.5, 7.5)`` s and the audio window the same
shifted by the sample's offset, one of ``linspace(-2, 2, 21)`` s chosen from a hash of the sample id (so
the label is fixed by the protocol, not by the data). A positive offset takes the audio from later.

Example:
    >>> from avikit.data.synth import generate
    >>> sample, _ = generate("test", 1)
    >>> task = SyncTask()
    >>> task.build_target(sample)["label"], task.build_inputs(sample).audio
    (19, (68800, 148800))
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from avikit.data.sample import Sample
from avikit.metrics import compute_sync_scores, compute_sync_statistics
from avikit.tasks.base import Evaluation, Protocol, Task, TaskInputs, TaskSpec, mean_values
from avikit.tasks.schema import FieldSpec

__all__ = ["SYNC_OFFSETS", "SyncTask", "sync_offset_class"]

SYNC_OFFSETS: tuple[Fraction, ...] = tuple(Fraction(k - 10, 5) for k in range(21))
"""The 21 offset classes in exact seconds: -2, -1.8, ..., 2 (Synchformer's ``linspace(-2, 2, 21)``)."""
_WINDOW = (Fraction(5, 2), Fraction(5))


def sync_offset_class(sample_id: str) -> int:
    """The offset class of a sample: SHA-256 of ``"sync/<id>"`` modulo 21.

    Example:
        >>> sync_offset_class("test_000001")
        19
    """
    digest = hashlib.sha256(f"sync/{sample_id}".encode()).digest()
    return int.from_bytes(digest[:8], "little") % len(SYNC_OFFSETS)


class SyncTask(Task):
    """Offset classification: exact accuracy (ties to the last class) and accuracy within one class."""

    spec = TaskSpec(
        name="sync",
        pillar="perception",
        family="synchronization",
        version=1,
        benchmark="Synchformer offset classification (VGGSound-Sparse / LRS3 style)",
        description="Tell how far the audio is shifted against the video: one of 21 offsets of -2..2 s.",
        inputs=("audio", "video"),
        protocol=Protocol(
            window=(str(_WINDOW[0]), str(_WINDOW[1])),
            frame_sampling="all",
            params={"offsets": [str(o) for o in SYNC_OFFSETS], "label": "sha256('sync/<id>') % 21"},
        ),
        target_schema={"label": "index of the applied offset in the offsets grid"},
        prediction_schema=(
            FieldSpec("logits", "numbers", (len(SYNC_OFFSETS),), None, "one logit per offset class"),
        ),
        metrics=("accuracy", "accuracy_within_one"),
        primary_metric="accuracy",
        unit="fraction",
    )

    def build_inputs(self, sample: Sample) -> TaskInputs:
        """The video window's frames and the audio window shifted by the sample's offset.

        Raises:
            ValueError: if the clip is too short for the window and the largest offset (9.5 s).
        """
        start, length = _WINDOW
        geometry = self.check_rates(sample, float(start + length + max(SYNC_OFFSETS)))
        frames = tuple(range(int(start * geometry.fps), int((start + length) * geometry.fps)))
        audio_start = int((start + SYNC_OFFSETS[sync_offset_class(sample.id)]) * geometry.sample_rate)
        audio = (audio_start, audio_start + int(length * geometry.sample_rate))
        return TaskInputs(sample.id, frames, audio, geometry.frame_shape)

    def build_target(self, sample: Sample, root: str | Path | None = None) -> dict[str, Any]:
        """``{"label": int}``."""
        return {"label": sync_offset_class(sample.id)}

    def evaluate(
        self, predictions: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> Evaluation:
        """Exact and within-one accuracy."""
        logits = np.stack([p["logits"] for p in predictions])
        statistics = compute_sync_statistics(logits, np.array([t["label"] for t in targets]))
        values = {
            "accuracy": mean_values(statistics["exact_correct"]),
            "accuracy_within_one": mean_values(statistics["within_one_correct"]),
        }
        return Evaluation(compute_sync_scores(statistics), values, len(predictions))

    def oracle_prediction(self, target: Mapping[str, Any], inputs: TaskInputs) -> dict[str, Any]:
        """One-hot on the true offset."""
        return {"id": inputs.sample_id, "logits": np.eye(len(SYNC_OFFSETS))[target["label"]].tolist()}

    def chance_prediction(self, inputs: TaskInputs, rng: np.random.Generator) -> dict[str, Any]:
        """Uniform random logits."""
        return {"id": inputs.sample_id, "logits": rng.random(len(SYNC_OFFSETS)).round(6).tolist()}
