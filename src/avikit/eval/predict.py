"""The one predict loop: (task, samples, model, condition) -> checked prediction records.

Every path that runs a model (the runner, the bench's open-vocabulary pass, the generation bench, the
reference embedders, the generator studies) goes through :func:`predict_records`:

1. :class:`ItemFactory` cuts each sample's media to the task's inputs once per condition (a clip is decoded
   once and shared by every model of the batch), applies the condition's control, and hands the model plain
   data (no callback into the harness): only
   what the task's protocol declares (:meth:`~avikit.tasks.TaskInputs.model_view`,
   :func:`~avikit.tasks.model_media`) under an opaque per-run id (:class:`OpaqueIds`);
2. the model predicts the batch; its wall time is shared among the batch's items;
3. every prediction is checked against the task's schema and its opaque id, then keyed back to the sample.

A model that raises is retried one item at a time; an item that still raises becomes an error record
(``{"id", "error"}``), counted and shown, never an empty answer or a zero. Only the harness's own reference
baselines (:class:`~avikit.models.baselines.ReferenceBaseline`) receive a
:class:`~avikit.models.protocol.ReferenceItem`, which carries the target and the stable sample id.

Example:
    >>> from avikit.data.synth import generate, load_clip
    >>> from avikit.models.baselines import OracleModel
    >>> from avikit.tasks import get_task
    >>> task, samples = get_task("sync"), [generate("test", i)[0] for i in range(2)]
    >>> factory = ItemFactory(task, lambda s: load_clip(s, None), OpaqueIds(b"secret"))
    >>> records = predict_records(task, OracleModel(), samples, factory)
    >>> [r["id"] for r in records], "error" in records[0]
    (['test_000000', 'test_000001'], False)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from avikit.data.sample import Sample
from avikit.errors import DataError
from avikit.eval.controls import apply_control, swap_partner
from avikit.media import AVClip
from avikit.models.baselines import ReferenceBaseline
from avikit.models.protocol import Item, Media, Model, ReferenceItem
from avikit.tasks import Task, cut_media, model_media

__all__ = ["ItemFactory", "OpaqueIds", "is_reference_baseline", "predict_all", "predict_records"]

log = logging.getLogger(__name__)


class OpaqueIds:
    """Opaque per-run item ids: an HMAC of the sample id under a secret the model never sees.

    Example:
        >>> ids = OpaqueIds(b"k")
        >>> ids("test_000001") == ids("test_000001"), ids("test_000001").startswith("item-")
        (True, True)
    """

    def __init__(self, secret: bytes | None = None) -> None:
        self.secret = os.urandom(16) if secret is None else secret

    def __call__(self, key: str) -> str:
        """The opaque id of sample ``key``."""
        return "item-" + hmac.new(self.secret, key.encode(), hashlib.sha256).hexdigest()[:20]


def is_reference_baseline(model: object) -> bool:
    """Whether ``model`` is one of the harness's reference baselines, which may read targets."""
    return isinstance(model, ReferenceBaseline)


class ItemFactory:
    """Makes the items of one task under one condition, decoding each clip once for every model.

    Args:
        task: the task.
        load_clip: decodes a (resolved) sample.
        ids: the run's opaque ids.
        control: the condition's modality control, if any.
        load_target: the sample's target (for the reference baselines and for scoring).
    """

    def __init__(
        self,
        task: Task,
        load_clip: Callable[[Sample], AVClip],
        ids: OpaqueIds,
        control: str | None = None,
        load_target: Callable[[Sample], Mapping[str, Any]] | None = None,
    ) -> None:
        self.task, self.load_clip, self.ids, self.control = task, load_clip, ids, control
        self.load_target = load_target or (lambda sample: task.build_target(sample))
        self._media: dict[str, tuple[Any, Any]] = {}
        self._inputs: dict[str, Any] = {}

    def inputs(self, sample: Sample) -> Any:
        """The task's (absolute) inputs of ``sample``, built once."""
        if sample.id not in self._inputs:
            self._inputs[sample.id] = self.task.build_inputs(sample)
        return self._inputs[sample.id]

    def _cut(self, sample: Sample) -> tuple[Any, Any]:
        if sample.id not in self._media:
            self._media[sample.id] = cut_media(self.load_clip(sample), self.inputs(sample))
        return self._media[sample.id]

    def _model_media(self, samples: Sequence[Sample], index: int) -> Media:
        frames, waveform = self._cut(samples[index])
        if self.control is not None:
            donor = None
            if self.control == "audio_swapped":
                donor = self._cut(samples[swap_partner(index, len(samples))])[1]
            frames, waveform = apply_control(self.control, frames, waveform, donor)
        return model_media(frames, waveform, self.task.spec.inputs)

    def item(
        self, samples: Sequence[Sample], index: int, reference: bool = False, output_dir: Path | None = None
    ) -> Item:
        """The item of ``samples[index]`` (its control partner, if any, is the next sample).

        ``output_dir`` is where a generator writes its files (generation tasks).
        """
        sample = samples[index]
        opaque = self.ids(sample.id)
        view = self.inputs(sample).model_view(opaque, self.task.spec.inputs)
        item = Item(opaque, view, self._model_media(samples, index), output_dir)
        if not reference:
            return item
        return ReferenceItem(item, sample.id, self.load_target(sample))

    def release(self, samples: Sequence[Sample]) -> None:
        """Forget the decoded media of ``samples`` (after every model has predicted them)."""
        for sample in samples:
            self._media.pop(sample.id, None)


def _checked(task: Task, item: Item, prediction: Any, key: str, model: Model) -> dict[str, Any]:
    """The prediction as JSON, checked against the task's schema and the item's opaque id, keyed back."""
    where = f"model {model.id}, task {task.name}, sample {key}"
    as_json = json.loads(json.dumps(prediction))
    task.check_prediction(as_json, item.inputs, where)
    return {**as_json, "id": key}


def _error(key: str, model: Model, error: BaseException) -> dict[str, Any]:
    log.warning("model %s failed on sample %s: %s", model.id, key, error)
    last = traceback.extract_tb(error.__traceback__)[-1:] if error.__traceback__ else []
    where = f" ({last[0].filename}:{last[0].lineno})" if last else ""
    return {"id": key, "error": f"{type(error).__name__}: {error}{where}"}


def _run_batch(task: Task, model: Model, items: Sequence[Item]) -> tuple[list[Any], float]:
    start = time.perf_counter()
    raw = model.predict(task, list(items))
    elapsed = time.perf_counter() - start
    if not isinstance(raw, list) or len(raw) != len(items):
        count = len(raw) if isinstance(raw, list) else type(raw).__name__
        raise TypeError(f"model {model.id} returned {count} predictions for {len(items)} items")
    return raw, elapsed / max(len(items), 1)


def predict_records(
    task: Task,
    model: Model,
    samples: Sequence[Sample],
    factory: ItemFactory,
    indices: Sequence[int] | None = None,
    output_dir: Path | None = None,
) -> list[dict[str, Any]]:
    """Predict ``samples[i]`` for ``i`` in ``indices`` (default all) in one batch and check each answer.

    ``output_dir`` is the folder where a generator writes its files (generation tasks).

    Returns:
        One record per sample, in order: ``{"id", "prediction", "predict_seconds"}``, or
        ``{"id", "error"}`` where the model failed on that sample (the prediction's ``id`` is the sample's).
    """
    chosen = list(range(len(samples))) if indices is None else list(indices)
    reference = is_reference_baseline(model)
    items = [factory.item(samples, i, reference, output_dir) for i in chosen]
    keys = [samples[i].id for i in chosen]
    try:
        raw, share = _run_batch(task, model, items)
        return [
            _record(task, model, item, p, key, share) for item, p, key in zip(items, raw, keys, strict=True)
        ]
    except Exception as error:
        if len(items) == 1:
            return [_error(keys[0], model, error)]
        log.info("model %s failed on a batch of %d (%s); retrying one at a time", model.id, len(items), error)
    out = []
    for item, key in zip(items, keys, strict=True):
        try:
            raw, share = _run_batch(task, model, [item])
            out.append(_record(task, model, item, raw[0], key, share))
        except Exception as error:
            out.append(_error(key, model, error))
    return out


def _record(task: Task, model: Model, item: Item, prediction: Any, key: str, share: float) -> dict[str, Any]:
    return {"id": key, "prediction": _checked(task, item, prediction, key, model), "predict_seconds": share}


def predict_all(
    task: Task,
    model: Model,
    samples: Sequence[Sample],
    load_clip: Callable[[Sample], AVClip],
    batch_size: int = 16,
    output_dir: Path | None = None,
) -> list[dict[str, Any]]:
    """Every sample's checked prediction, in order, keyed by sample id (for a one-off pass, not a run).

    Raises:
        DataError: if the model failed on any sample (the message names the first failures).
    """
    factory = ItemFactory(task, load_clip, OpaqueIds())
    records: list[dict[str, Any]] = []
    for begin in range(0, len(samples), batch_size):
        chunk = list(range(begin, min(begin + batch_size, len(samples))))
        records += predict_records(task, model, samples, factory, chunk, output_dir)
        factory.release([samples[i] for i in chunk])
    failed = [f"{r['id']}: {r['error']}" for r in records if "error" in r]
    if failed:
        raise DataError(
            f"model {model.id} failed on {len(failed)} sample(s) of {task.name}: {'; '.join(failed[:3])}"
        )
    return [
        task.check_prediction(r["prediction"], factory.inputs(sample), sample.id)
        for r, sample in zip(records, samples, strict=True)
    ]
