"""The ``models`` layer: reference models, adapters and the Model protocol (`avikit.models.protocol`)."""

from avikit.models.pretrain import (
    AVEncoderConfig,
    AVFeatures,
    AVJointEncoder,
    PretrainConfig,
    PretrainResult,
    TrainConfig,
    build_av_encoder,
    pretrain,
)
from avikit.models.pretrain import from_pretrained as load_av_encoder
from avikit.models.protocol import Item, Model

__all__ = [
    "AVEncoderConfig",
    "AVFeatures",
    "AVJointEncoder",
    "Item",
    "Model",
    "PretrainConfig",
    "PretrainResult",
    "TrainConfig",
    "build_av_encoder",
    "load_av_encoder",
    "pretrain",
]
