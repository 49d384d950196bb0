"""The model registry: reference model name -> factory that loads its packaged weights (STYLE #15).

Example:
    >>> sorted(MODELS)[:3]
    ['a2v', 'a2v-retrieval', 'avel']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from avikit._registry import lookup
from avikit.models import (
    av_generators,
    avel,
    avel_cross_modal,
    avqa,
    avs,
    avvp,
    classification,
    codec_model,
    dense_localization,
    retrieval,
    source_localization,
    sync,
    v2a_model,
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
    "retrieval-minilm": lambda: retrieval.from_pretrained("retrieval-minilm"),
    "classification": classification.from_pretrained,
    "classification-zeroshot": classification.zero_shot_from_pretrained,
    "classification-zeroshot-minilm": lambda: classification.zero_shot_from_pretrained("retrieval-minilm"),
    "sync": sync.from_pretrained,
    "avqa": avqa.from_pretrained,
    "codec": codec_model.from_pretrained,
    "v2a": v2a_model.from_pretrained,
    "v2a-ar": v2a_model.load_v2a_ar,
    "v2a-flow": v2a_model.load_v2a_flow,
    "v2a-retrieval": v2a_model.retrieval_from_pretrained,
    "a2v": av_generators.load_a2v,
    "a2v-retrieval": av_generators.load_a2v_retrieval,
    "joint-generation": av_generators.load_joint,
    "joint-retrieval": av_generators.load_joint_retrieval,
    "joint-caption-retrieval": av_generators.load_caption_retrieval,
}
"""Reference model name -> factory (loads the weights shipped in ``avikit/models/weights``)."""


def get_model(name: str) -> Any:
    """Load a reference model by name (an object with ``id``, ``weights_hash``, ``tasks`` and ``predict``).

    Raises:
        KeyError: for an unknown name; the message lists the known ones.
    """
    return lookup(MODELS, name, "model")()


def list_models() -> list[str]:
    """Registered model names, in registry order."""
    return list(MODELS)
