"""Training data of the reference task heads: a whole AVSynth split seen through one task's inputs.

- :func:`build_feature_set`: the frozen trunk's features of every clip the task scores, cached on disk, with
  the sample records (a head is then trained on cached features in seconds, see
  :func:`avikit.train.loops.fit_head`);
- :func:`build_media_set`: the same clips, cuts and frame choice before the encoder (what end-to-end
  fine-tuning reads: the encoder runs on these each step).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
from numpy.typing import NDArray

from avikit.data.sample import Sample
from avikit.data.synth import generate
from avikit.errors import UsageError
from avikit.models.encoders.av_encoder import AVJointEncoder
from avikit.models.encoders.trunk_encoding import FEATURE_KEYS, Features, encode_media, prepare_media
from avikit.nn import make_progress
from avikit.tasks import Task, TaskInputs, cut_media

__all__ = ["FeatureSet", "MediaSet", "build_feature_set", "build_media_set", "default_cache_dir"]

logger = logging.getLogger(__name__)

P = TypeVar("P")


@dataclass
class FeatureSet:
    """Encoder features of a split, seen through one task's inputs, with the sample records.

    Attributes:
        features: name -> ``[N, ...]`` tensors (see
        :data:`~avikit.models.encoders.trunk_encoding.FEATURE_KEYS`).
        samples: the ``N`` sample records in index order (their targets give the training labels).
        inputs: the ``N`` task inputs.
    """

    features: Features
    samples: list[Sample]
    inputs: list[TaskInputs]

    def __len__(self) -> int:
        return len(self.samples)


def default_cache_dir() -> Path:
    """``$AVIKIT_CACHE/features`` (default ``~/.cache/avikit/features``)."""
    root = os.environ.get("AVIKIT_CACHE") or Path.home() / ".cache" / "avikit"
    return Path(root) / "features"


def _cache_key(task: Task, encoder: AVJointEncoder, split: str, count: int, seed: int, segments: int) -> str:
    state = encoder.state_dict()
    digest = hashlib.sha256()
    for name in sorted(state):
        digest.update(name.encode())
        digest.update(state[name].detach().numpy().tobytes())
    key = {
        "task": task.name,
        "protocol": task.spec.protocol_hash,
        "split": split,
        "count": count,
        "seed": seed,
        "segments": segments,
        "encoder": digest.hexdigest(),
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]


def _iter_task_media(
    task: Task, split: str, count: int, seed: int, show: bool, chunk: int = 32
) -> Iterator[tuple[list[Sample], list[TaskInputs], NDArray[np.uint8], NDArray[np.float32]]]:
    """Chunks of the AVSynth clips ``0 .. count - 1`` the task scores: records, inputs, cut frames, waves."""
    samples: list[Sample] = []
    inputs: list[TaskInputs] = []
    frames: list[NDArray[np.uint8]] = []
    waves: list[NDArray[np.float32]] = []
    with make_progress(disable=not show) as progress:
        bar = progress.add_task(f"media {task.name} {split}", total=count, info="")
        for index in range(count):
            sample, clip = generate(split, index, seed)[:2]
            progress.update(bar, advance=1)
            if not task.includes(replace(sample, split=task.spec.protocol.split)):
                continue  # e.g. source localisation needs an audio-visual event
            item_inputs = task.build_inputs(sample)
            cut = cut_media(clip, item_inputs)
            samples.append(sample)
            inputs.append(item_inputs)
            frames.append(cut[0])
            waves.append(cut[1])
            if len(frames) == chunk or (index == count - 1 and frames):
                yield samples, inputs, np.stack(frames), np.stack(waves)
                samples, inputs, frames, waves = [], [], [], []


def _collect(
    task: Task,
    split: str,
    count: int,
    seed: int,
    show: bool,
    convert: Callable[[NDArray[np.uint8], NDArray[np.float32]], P],
) -> tuple[list[Sample], list[TaskInputs], list[P]]:
    """The records, inputs and ``convert(frames, waves)`` of every chunk of clips the task scores."""
    samples: list[Sample] = []
    inputs: list[TaskInputs] = []
    parts: list[P] = []
    for chunk_samples, chunk_inputs, frames, waves in _iter_task_media(task, split, count, seed, show):
        samples += chunk_samples
        inputs += chunk_inputs
        parts.append(convert(frames, waves))
    if not parts:
        raise UsageError(f"none of the first {count} {split} clips is scored by task {task.name}")
    return samples, inputs, parts


def build_feature_set(
    task: Task,
    encoder: AVJointEncoder,
    split: str,
    count: int,
    num_segments: int,
    seed: int = 0,
    cache_dir: str | os.PathLike[str] | None = None,
    show_progress: bool = True,
) -> FeatureSet:
    """Features of AVSynth clips ``0 .. count - 1`` of ``split`` under ``task``'s inputs (cached on disk).

    Clips the task would not score (e.g. without an audio-visual event, for source localisation) are skipped.

    The cache key covers the task's protocol hash, the encoder's weights, the split, count, seed and the
    number of segments, so a changed protocol or encoder never reuses stale features.
    """
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = folder / f"{task.name}-{split}-{_cache_key(task, encoder, split, count, seed, num_segments)}.pt"
    if path.is_file():
        data = torch.load(path, weights_only=True)
        records = json.loads(path.with_suffix(".json").read_text())
        samples = [Sample.from_dict(r) for r in records]
        return FeatureSet(data, samples, [task.build_inputs(s) for s in samples])
    start = time.perf_counter()
    samples, inputs, parts = _collect(
        task, split, count, seed, show_progress, lambda f, w: encode_media(encoder, f, w, num_segments)
    )
    result = FeatureSet({key: torch.cat([p[key] for p in parts]) for key in FEATURE_KEYS}, samples, inputs)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(result.features, path)
    path.with_suffix(".json").write_text(json.dumps([s.to_dict() for s in result.samples]))
    logger.info(
        "features of %d %s clips for %s in %.1f s", count, split, task.name, time.perf_counter() - start
    )
    return result


@dataclass
class MediaSet:
    """Encoder inputs of a split, seen through one task's inputs, with the sample records.

    What end-to-end training (:mod:`avikit.train.finetune`) reads: the encoder runs on these each step.

    Attributes:
        mel: ``[N, M, T_mel]`` log-Mel of each clip's audio window (the encoder's fixed front end).
        frames: ``[N, S, 3, s, s]`` uint8, one frame per segment at the encoder's image size.
        samples: the ``N`` sample records in index order.
        inputs: the ``N`` task inputs.
    """

    mel: torch.Tensor
    frames: torch.Tensor
    samples: list[Sample]
    inputs: list[TaskInputs]

    def __len__(self) -> int:
        return len(self.samples)


def build_media_set(
    task: Task,
    encoder: AVJointEncoder,
    split: str,
    count: int,
    num_segments: int,
    seed: int = 0,
    show_progress: bool = True,
) -> MediaSet:
    """Encoder inputs of AVSynth clips ``0 .. count - 1`` of ``split`` under ``task``'s inputs (in memory).

    The same clips, cuts and frame choice as :func:`build_feature_set`, before the encoder.
    """
    samples, inputs, parts = _collect(
        task, split, count, seed, show_progress, lambda f, w: prepare_media(encoder, f, w, num_segments)
    )
    return MediaSet(torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts]), samples, inputs)
