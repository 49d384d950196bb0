"""The one model registry: every model by name, by import path or by entry point (STYLE #15).

A model is found in three ways, tried in this order (``worker:`` before any of them runs it in its own
process, :mod:`avikit.models.worker`):

1. a registered name in :data:`MODELS` (reference models, generators, baselines), also with its id's
   ``avikit/`` prefix (``"avikit/avel"`` is ``"avel"``);
2. an import path ``package.module:factory`` naming a callable that returns a model (or a model class);
3. an entry point of the ``avikit.models`` group that another installed package declares, e.g. in its
   ``pyproject.toml``: ``[project.entry-points."avikit.models"] my-model = "my_pkg.models:build"``.

Example:
    >>> [name for name in MODELS][:4]
    ['oracle', 'chance', 'constant', 'prior']
    >>> get_model("avikit.models.baselines:OracleModel").id
    'oracle'
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from avikit.errors import UnknownNameError, UsageError
from avikit.models.protocol import Model

__all__ = [
    "ENTRY_POINT_GROUP",
    "MODELS",
    "WORKER_PREFIX",
    "ModelInfo",
    "describe_model",
    "get_model",
    "list_models",
]

ENTRY_POINT_GROUP = "avikit.models"
"""The entry-point group through which installed packages register models."""

MODELS: dict[str, str] = {
    "oracle": "avikit.models.baselines:OracleModel",
    "chance": "avikit.models.baselines:ChanceModel",
    "constant": "avikit.models.baselines:ConstantModel",
    "prior": "avikit.models.baselines:PriorModel",
    "avel": "avikit.models.perception.avel:from_pretrained",
    "avel-cross-modal": "avikit.models.perception.avel_cross_modal:from_pretrained",
    "avvp": "avikit.models.perception.avvp:from_pretrained",
    "dense-localization": "avikit.models.perception.dense_localization:from_pretrained",
    "avs": "avikit.models.perception.avs:from_pretrained",
    "ref-avs": "avikit.models.perception.ref_avs:from_pretrained",
    "source-localization": "avikit.models.perception.source_localization:from_pretrained",
    "retrieval": "avikit.models.perception.retrieval:from_pretrained",
    "retrieval-minilm": "avikit.models.perception.retrieval:load_minilm",
    "classification": "avikit.models.perception.classification:from_pretrained",
    "classification-zeroshot": "avikit.models.perception.classification:zero_shot_from_pretrained",
    "classification-zeroshot-minilm": "avikit.models.perception.classification:load_zero_shot_minilm",
    "sync": "avikit.models.perception.sync:from_pretrained",
    "avqa": "avikit.models.perception.avqa:from_pretrained",
    "codec": "avikit.models.tokenizers.codec:from_pretrained",
    "v2a": "avikit.models.generation.v2a_pipeline:from_pretrained",
    "v2a-ar": "avikit.models.generation.v2a_pipeline:load_v2a_ar",
    "v2a-flow": "avikit.models.generation.v2a_pipeline:load_v2a_flow",
    "v2a-retrieval": "avikit.models.generation.retrieval_baselines:retrieval_from_pretrained",
    "a2v": "avikit.models.generation.a2v_pipeline:load_a2v",
    "a2v-retrieval": "avikit.models.generation.retrieval_baselines:load_a2v_retrieval",
    "joint-generation": "avikit.models.generation.joint_pipeline:load_joint",
    "joint-retrieval": "avikit.models.generation.retrieval_baselines:load_joint_retrieval",
    "joint-caption-retrieval": "avikit.models.generation.retrieval_baselines:load_caption_retrieval",
    "encoder-llm": "avikit.models.language.encoder_llm:from_pretrained",
    "encoder-llm-dpo": "avikit.models.language.encoder_llm:load_encoder_llm_dpo",
    "unified-av": "avikit.models.language.unified:from_pretrained",
    "llm-generator": "avikit.models.language.llm_generator:load_llm_generator",
    "llm-generator-zero-shot": "avikit.models.language.llm_generator:load_llm_generator_zero_shot",
    "blind-lm": "avikit.models.language.encoder_llm:load_blind_lm",
    "blind-lm-sft": "avikit.models.language.encoder_llm:load_blind_lm_sft",
    "text-prior": "avikit.models.language.baselines:load_text_prior",
}
"""Model name -> ``module:factory`` of its factory, imported only when the model is built (so that
listing names and ``--help`` import no model code); reference models load the weights shipped in
``avikit/models/weights``."""


def _entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def _from_import_path(spec: str) -> Callable[[], Any]:
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise UsageError(f"model {spec!r}: an import path is written 'package.module:factory'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise UsageError(
            f"model {spec!r}: cannot import {module_name!r} ({error}); install it or put it on PYTHONPATH"
        ) from error
    factory = module
    for part in attribute.split("."):
        if not hasattr(factory, part):
            raise UsageError(f"model {spec!r}: {module_name!r} has no attribute {attribute!r}")
        factory = getattr(factory, part)
    if not callable(factory):
        raise UsageError(f"model {spec!r}: {attribute!r} is not callable; name a factory or a class")
    return factory


WORKER_PREFIX = "worker:"
"""``worker:NAME`` hosts model ``NAME`` in a worker process (:func:`avikit.models.worker.worker_command`)."""


def _worker_factory(name: str) -> Callable[[], Any]:
    hosted = name.removeprefix(WORKER_PREFIX)
    if not hosted or hosted.startswith(WORKER_PREFIX):
        raise UsageError(f"model {name!r}: write 'worker:NAME' with a model name or 'package.module:factory'")

    def build() -> Any:
        from avikit.models.worker import WorkerModel, worker_command

        return WorkerModel(worker_command(hosted), name=hosted)

    return build


def _factory(name: str) -> Callable[[], Any]:
    if name.startswith(WORKER_PREFIX):
        return _worker_factory(name)
    key = name.removeprefix("avikit/")
    if key in MODELS:
        return _from_import_path(MODELS[key])
    if ":" in name:
        return _from_import_path(name)
    entry_points = _entry_points()
    if name in entry_points:
        return entry_points[name].load()
    known = ", ".join([*MODELS, *entry_points])
    raise UnknownNameError(
        f"unknown model {name!r}; known models are: {known}; or give an import path 'package.module:factory'"
    )


def get_model(name: str) -> Model:
    """Build a model by registered name, ``package.module:factory`` or ``avikit.models`` entry point.

    ``worker:`` before any of them builds the model in a worker process of its own and returns a
    :class:`~avikit.models.worker.WorkerModel` speaking to it.

    Raises:
        UnknownNameError: for an unknown name (a ``KeyError``); the message lists the known ones.
        UsageError: for an import path that does not import, or names no callable, or a factory whose
            result is not a :class:`~avikit.models.protocol.Model`.
        WorkerError: for a ``worker:`` model whose worker cannot build it or fails the handshake.
    """
    model = _factory(name)()
    if not isinstance(model, Model):
        missing = [a for a in ("id", "weights_hash", "tasks", "predict") if not hasattr(model, a)]
        raise UsageError(
            f"model {name!r} built a {type(model).__name__} without {', '.join(missing)}: a model has "
            "'id', 'weights_hash', 'tasks' and 'predict(task, batch)' (docs/models.md)"
        )
    return model


def list_models() -> list[str]:
    """Registered model names, in registry order, then the names of installed entry points."""
    return [*MODELS, *(n for n in _entry_points() if n not in MODELS)]


@dataclass(frozen=True)
class ModelInfo:
    """What ``avikit models list`` shows of one model."""

    name: str
    id: str
    tasks: tuple[str, ...]
    parameters: int
    weights_hash: str
    defined_in: str


def describe_model(name: str) -> ModelInfo:
    """Build the model and describe it: its id, tasks, parameter count, weights hash and defining module."""
    factory = _factory(name)
    model = get_model(name)
    parameters = getattr(model, "parameters", None)
    count = sum(int(p.numel()) for p in parameters()) if callable(parameters) else 0
    source = inspect.getmodule(factory)
    where = source.__name__ if source is not None else type(model).__module__
    return ModelInfo(name, model.id, tuple(model.tasks), count, model.weights_hash, where)
