"""Cross-modal retrieval, audio to video and back: each sample gives one audio and one video embedding.

The similarity of audio ``i`` and video ``j`` is the cosine of their embeddings; pairs are the diagonal.

Example:
    >>> task = RetrievalTask()
    >>> a = task.oracle_prediction({}, TaskInputs("x", (0,), (0, 1), (8, 8)))
    >>> a["audio_embedding"] == a["video_embedding"]
    True
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from avikit.data.sample import Sample
from avikit.errors import UsageError
from avikit.metrics import compute_retrieval_scores, compute_retrieval_statistics
from avikit.tasks.base import Evaluation, Protocol, Task, TaskInputs, TaskSpec, mean_values
from avikit.tasks.schema import FieldSpec

__all__ = ["RetrievalTask"]

_DIRECTIONS = ("audio_to_video", "video_to_audio")
_ORACLE_DIM = 32


def _unit_rows(rows: Sequence[Any], name: str) -> np.ndarray:
    matrix = np.stack([np.asarray(row, dtype=np.float64) for row in rows])
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise UsageError(f"a {name} is all zeros; cosine similarity needs a non-zero vector")
    return matrix / norms


class RetrievalTask(Task):
    """Audio-to-video and video-to-audio retrieval: R@1/5/10, median and mean rank (cosine similarity)."""

    per_sample_scores = False
    spec = TaskSpec(
        name="retrieval",
        pillar="perception",
        family="retrieval",
        version=1,
        benchmark="VGGSound / AudioSet audio-visual retrieval (CAV-MAE protocol)",
        description="Embed the audio and the video of every clip; each audio finds its video and back.",
        inputs=("audio", "video"),
        protocol=Protocol(params={"similarity": "cosine", "ties": "official"}),
        target_schema={"pair": "audio i belongs with video i (the diagonal)"},
        prediction_schema=(
            FieldSpec("audio_embedding", "numbers", ("*",), None, "the audio's embedding, D numbers"),
            FieldSpec("video_embedding", "numbers", ("*",), None, "the video's embedding, same D numbers"),
        ),
        metrics=tuple(
            f"{d}_{k}" for d in _DIRECTIONS for k in ("r1", "r5", "r10", "median_rank", "mean_rank")
        ),
        primary_metric="audio_to_video_r1",
        unit="fraction",
        lower_is_better=tuple(f"{d}_{k}" for d in _DIRECTIONS for k in ("median_rank", "mean_rank")),
    )

    def build_inputs(self, sample: Sample) -> TaskInputs:
        """All frames and the whole audio."""
        geometry = self.check_rates(sample)
        frames = tuple(range(geometry.num_frames))
        return TaskInputs(sample.id, frames, (0, geometry.num_samples), geometry.frame_shape)

    def build_target(self, sample: Sample, root: str | Path | None = None) -> dict[str, Any]:
        """Nothing per sample: the pairs are the diagonal of the set."""
        return {"id": sample.id}

    def evaluate(
        self, predictions: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> Evaluation:
        """Ranks of the true item both ways; R@K hits back the intervals."""
        audio = _unit_rows([p["audio_embedding"] for p in predictions], "audio_embedding")
        video = _unit_rows([p["video_embedding"] for p in predictions], "video_embedding")
        if audio.shape != video.shape:
            raise UsageError(f"audio embeddings {audio.shape} and video embeddings {video.shape} must match")
        statistics = compute_retrieval_statistics(audio @ video.T, "official")
        values = {
            f"{d}_r{k}": mean_values(statistics[f"{d}_rank"] < k) for d in _DIRECTIONS for k in (1, 5, 10)
        }
        queries = {key: statistics[f"{key.rsplit('_r', 1)[0]}_query"] for key in values}
        return Evaluation(compute_retrieval_scores(statistics), values, len(predictions), queries)

    def oracle_prediction(self, target: Mapping[str, Any], inputs: TaskInputs) -> dict[str, Any]:
        """The same random unit vector for the audio and the video, seeded by the sample id."""
        seed = int.from_bytes(hashlib.sha256(inputs.sample_id.encode()).digest()[:8], "little")
        vector = np.random.default_rng(seed).standard_normal(_ORACLE_DIM).round(6).tolist()
        return {"id": inputs.sample_id, "audio_embedding": vector, "video_embedding": vector}

    def chance_prediction(self, inputs: TaskInputs, rng: np.random.Generator) -> dict[str, Any]:
        """Independent random vectors."""
        audio, video = rng.standard_normal((2, _ORACLE_DIM)).round(6).tolist()
        return {"id": inputs.sample_id, "audio_embedding": audio, "video_embedding": video}
