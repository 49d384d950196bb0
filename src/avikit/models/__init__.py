"""The ``models`` layer: the Model protocol, the one registry, baselines and the reference models.

Sub-packages by role: ``encoders`` (the self-supervised audio-visual trunk), ``perception`` (one head per
task family), ``generation`` (networks, sampling loops and pipelines of the generators, and their retrieval
baselines), ``tokenizers`` (codecs, the mel tokenizer, vocoders) and ``embedders`` (the official metric
networks). Training lives in :mod:`avikit.train`, which this layer never imports.

Example:
    >>> model = get_model("oracle")
    >>> isinstance(model, Model), "avel" in model.tasks
    (True, True)
"""

from avikit.models.protocol import Item, Model
from avikit.models.registry import MODELS, ModelInfo, describe_model, get_model, list_models

__all__ = ["MODELS", "Item", "Model", "ModelInfo", "describe_model", "get_model", "list_models"]
