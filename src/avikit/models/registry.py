"""The model registry: reference model name -> factory that loads its packaged weights (STYLE #15).

Example:
    >>> sorted(MODELS)[:3]
    ['avel', 'avel-cross-modal', 'avqa']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from avikit.models import (
    avel,
    avel_cross_modal,
    avqa,
    avs,
    avvp,
    classification,
    dense_localization,
    retrieval,
    source_localization,
    sync,
)

__all__ = ["MODELS", "get_model", "list_models"]

MODELS: dict[str, Callable[[], Any]] = {
    "avel": avel.from_pretrained,
    "avel-cross-modal": avel_cross_modal.from_pretrained,
    "avvp": avvp.from_pretrained,
    "dense-localization": dense_localization.from_pretrained,
    "avs": avs.from_pretrained,
    "source-localization": source_localization.from_pretrained,
    "retrieval": retrieval.from_pretrained,
    "classification": classification.from_pretrained,
    "classification-zeroshot": classification.zero_shot_from_pretrained,
    "sync": sync.from_pretrained,
    "avqa": avqa.from_pretrained,
}
"""Reference model name -> factory (loads the weights shipped in ``avikit/models/weights``)."""


def get_model(name: str) -> Any:
    """Load a reference model by name (an object with ``id``, ``weights_hash``, ``tasks`` and ``predict``).

    Raises:
        KeyError: for an unknown name; the message lists the known ones.
    """
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; known models are: {', '.join(MODELS)}")
    return MODELS[name]()


def list_models() -> list[str]:
    """Registered model names, in registry order."""
    return list(MODELS)
