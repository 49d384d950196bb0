"""A cache shared by evaluation runs: task inputs and model outputs, keyed by content, not by run folder.

A run folder already resumes itself (its records). This cache lets a *new* run (another ``--out``, another
condition list, ``avikit bench`` into a fresh folder) reuse what an earlier run computed, and is what the
feature-extraction pipeline (:func:`avikit.eval.ray_engine.extract_outputs`) fills:

- **Task inputs** (``inputs/``): a sample's media cut to a task's inputs (frames ``[T, H, W, 3]`` and the
  audio window), keyed by (content hash of the media files, transform). Only media decoded from files is
  cached (regenerating AVSynth is as fast as reading its arrays back). The cut is stored *before* the
  condition's control, and the model still receives only :func:`~avikit.tasks.model_media` of it: a cache
  hit hands a model exactly what a miss would.
- **Model outputs** (``outputs/``): each item's checked prediction (a model's features of the item, as the
  task's schema defines them), keyed by (content hash, transform, control, model id and weights hash,
  avikit version and git revision). The model is never handed the cache: on a hit it is not called at all.
  Generation tasks (their outputs are files) and models without a weights hash (``"none"``, ``"untrained"``:
  nothing says when they change) are not cached, except the harness's reference baselines, whose
  predictions are fixed by their code, the sample id and its targets (both in their key).

The content hash is SHA-256 of every file a clip is decoded from (with a packed folder's audio sidecar),
or of the generator record of a generated (AVSynth) clip; the transform is the task, its protocol hash,
the sample's exact inputs (frame indices, audio window, text) and its media window. A changed file, task,
protocol, model or weights therefore misses.

Example:
    >>> import tempfile
    >>> from avikit.data.synth import generate
    >>> cache = RunCache(tempfile.mkdtemp())
    >>> sample = generate("test", 0)[0]
    >>> cache.content_key(sample, None) == cache.content_key(generate("test", 0)[0], None)
    True
    >>> cache.content_key(sample, None) == cache.content_key(generate("test", 1)[0], None)
    False
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from avikit import __version__
from avikit.data.pack import is_packed, packed_media_files
from avikit.data.sample import Sample
from avikit.data.synth.recipe import URI_PREFIX
from avikit.eval.feature_cache import FileHashes
from avikit.eval.revision import git_revision
from avikit.models.baselines import ReferenceBaseline
from avikit.models.protocol import Model
from avikit.tasks import Task, TaskInputs
from avikit.tasks.generation import GenerationTask

__all__ = ["UNVERSIONED", "RunCache", "TaskCache", "inputs_key", "output_key"]

log = logging.getLogger(__name__)

UNVERSIONED = frozenset({"", "none", "untrained", "unknown"})
"""Weights hashes that do not identify a model's weights: such models' outputs are not cached."""


def _digest(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def inputs_key(content: str, task: Task, inputs: TaskInputs, sample: Sample) -> str:
    """Key of a sample's cut media: content, task, protocol hash, exact inputs and media window."""
    window = [str(sample.media.start), str(sample.media.duration)]
    return _digest("inputs", content, task.name, task.spec.protocol_hash, inputs.to_dict(), window)


def output_key(
    model: Model, task: Task, inputs_digest: str, control: str | None, partner: str | None, extra: Any = None
) -> str:
    """Key of one model output.

    It covers the inputs key, the condition's control (and the swap partner's content), the model's id and
    weights hash, avikit's version and git revision, and ``extra`` (a reference baseline's sample id and
    targets).
    """
    identity = [model.id, model.weights_hash, __version__, git_revision()]
    return _digest("output", inputs_digest, control, partner, identity, extra)


class RunCache:
    """Task inputs and model outputs under ``root`` (see the module docs); safe for concurrent writers.

    Attributes:
        hits: cache hits per kind (``"inputs"``, ``"outputs"``).
        misses: cache misses per kind.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.hits = {"inputs": 0, "outputs": 0}
        self.misses = {"inputs": 0, "outputs": 0}
        self._file_hash = FileHashes()
        self._skipped: set[str] = set()

    # ------------------------------------------------------------------------------------------ keys

    def content_key(self, sample: Sample, root: str | os.PathLike[str] | None) -> str:
        """SHA-256 of the files the sample's clip is decoded from, or of its generator record."""
        if sample.media.path.startswith(URI_PREFIX):
            generator = sample.provenance.generator
            return _digest("generated", json.loads(json.dumps(dict(generator or {}), default=list)))
        base = Path(root or ".")
        files = packed_media_files(sample, base) if is_packed(base) else [base / sample.media.path]
        return _digest("files", [self._file_hash(f) for f in files])

    def cacheable(self, model: Model, task: Task) -> bool:
        """Whether ``model``'s outputs on ``task`` are cached (see the module docs); logs a skip once."""
        if isinstance(task, GenerationTask):
            return False
        if isinstance(model, ReferenceBaseline) or model.weights_hash not in UNVERSIONED:
            return True
        if model.id not in self._skipped:
            self._skipped.add(model.id)
            log.info("model %s has weights hash %r: its outputs are not cached", model.id, model.weights_hash)
        return False

    # ---------------------------------------------------------------------------------------- inputs

    def _path(self, kind: str, key: str, suffix: str) -> Path:
        return self.root / kind / key[:2] / f"{key}{suffix}"

    def get_inputs(self, key: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The cut ``(frames, waveform)`` under ``key``, or ``None``."""
        path = self._path("inputs", key, ".npz")
        if not path.is_file():
            self.misses["inputs"] += 1
            return None
        self.hits["inputs"] += 1
        with np.load(path) as data:
            return np.asarray(data["frames"]), np.asarray(data["waveform"])

    def put_inputs(self, key: str, frames: np.ndarray, waveform: np.ndarray) -> None:
        """Store a cut (atomically: a concurrent writer of the same key writes the same bytes)."""
        path = self._path("inputs", key, ".npz")
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.stem}.{os.getpid()}.partial.npz")
        np.savez(partial, frames=frames, waveform=waveform)
        os.replace(partial, path)

    # --------------------------------------------------------------------------------------- outputs

    def get_output(self, key: str) -> dict[str, Any] | None:
        """``{"prediction", "predict_seconds"}`` under ``key`` (prediction without its id), or ``None``."""
        path = self._path("outputs", key, ".json")
        if not path.is_file():
            self.misses["outputs"] += 1
            return None
        self.hits["outputs"] += 1
        return dict(json.loads(path.read_text(encoding="utf-8")))

    def put_output(self, key: str, prediction: Mapping[str, Any], predict_seconds: float) -> None:
        """Store one output (its ``id`` field dropped: ids are per run)."""
        path = self._path("outputs", key, ".json")
        path.parent.mkdir(parents=True, exist_ok=True)
        body = {
            "prediction": {k: v for k, v in prediction.items() if k != "id"},
            "predict_seconds": predict_seconds,
        }
        partial = path.with_name(f".{path.stem}.{os.getpid()}.partial")
        partial.write_text(json.dumps(body, separators=(",", ":"), allow_nan=False), encoding="utf-8")
        os.replace(partial, path)


class TaskCache:
    """The cache as one task under one condition uses it: its samples' keys, memoised.

    It is the input store of the task's :class:`~avikit.eval.predict.ItemFactory` (:meth:`get_cut`,
    :meth:`put_cut`) and splits the runner's work into cached outputs and the rest (:meth:`lookup`).

    Args:
        cache: the shared cache.
        task: the task.
        samples: the task's samples under the condition (the swap partner of ``audio_swapped`` is the next).
        root: where relative media paths start.
        control: the condition's modality control, if any.
    """

    def __init__(
        self,
        cache: RunCache,
        task: Task,
        samples: Sequence[Sample],
        root: str | os.PathLike[str] | None,
        control: str | None,
    ) -> None:
        self.cache, self.task, self.samples, self.root, self.control = cache, task, samples, root, control
        self._content: dict[str, str] = {}

    def _content_of(self, sample: Sample) -> str:
        if sample.id not in self._content:
            self._content[sample.id] = self.cache.content_key(sample, self.root)
        return self._content[sample.id]

    def _inputs_of(self, sample: Sample, inputs: TaskInputs | None = None) -> str:
        return inputs_key(
            self._content_of(sample), self.task, inputs or self.task.build_inputs(sample), sample
        )

    def get_cut(self, sample: Sample, inputs: TaskInputs) -> tuple[np.ndarray, np.ndarray] | None:
        """The cached cut of a sample decoded from files, or ``None``."""
        if sample.media.path.startswith(URI_PREFIX):
            return None
        return self.cache.get_inputs(self._inputs_of(sample, inputs))

    def put_cut(self, sample: Sample, inputs: TaskInputs, cut: tuple[np.ndarray, np.ndarray]) -> None:
        """Store the cut of a sample decoded from files."""
        if not sample.media.path.startswith(URI_PREFIX):
            self.cache.put_inputs(self._inputs_of(sample, inputs), *cut)

    def output_key(self, model: Model, index: int) -> str | None:
        """The key of ``model``'s output on ``samples[index]``, or ``None`` if it is not cached."""
        if not self.cache.cacheable(model, self.task):
            return None
        sample = self.samples[index]
        partner = None
        if self.control == "audio_swapped":
            from avikit.eval.controls import swap_partner

            partner = self._content_of(self.samples[swap_partner(index, len(self.samples))])
        extra = None
        if isinstance(model, ReferenceBaseline):  # fixed by the sample id and its targets
            extra = [sample.id, _digest(sample.to_dict()["targets"])]
        return output_key(model, self.task, self._inputs_of(sample), self.control, partner, extra)

    def lookup(self, model: Model, indices: Sequence[int]) -> tuple[dict[int, dict[str, Any]], list[int]]:
        """``({index: raw record}, indices to predict)``: cached outputs as records of the predict loop."""
        hits: dict[int, dict[str, Any]] = {}
        misses: list[int] = []
        for index in indices:
            key = self.output_key(model, index)
            found = None if key is None else self.cache.get_output(key)
            if found is None:
                misses.append(index)
                continue
            sample_id = self.samples[index].id
            hits[index] = {"id": sample_id, "prediction": {**found["prediction"], "id": sample_id},
                           "predict_seconds": found["predict_seconds"], "cached": True}  # fmt: skip
        return hits, misses

    def store(self, model: Model, index: int, record: Mapping[str, Any]) -> None:
        """Keep a successful raw record of the predict loop (an error record is never cached)."""
        key = None if "error" in record else self.output_key(model, index)
        if key is not None:
            self.cache.put_output(key, record["prediction"], record["predict_seconds"])
