"""The ``models`` layer: reference models, adapters and the Model protocol (`avikit.models.protocol`)."""

from avikit.models.av_encoder import AVEncoderConfig, AVFeatures, AVJointEncoder, build_av_encoder
from avikit.models.av_encoder import from_pretrained as load_av_encoder
from avikit.models.pretrain import PretrainConfig, PretrainResult, TrainConfig, pretrain
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
