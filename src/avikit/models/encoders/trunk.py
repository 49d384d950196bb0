"""The shared trunk of the AVSynth reference task models: the pretrained joint encoder, frozen, and its heads.

Every reference task model (:mod:`avikit.models.perception.avel` ... :mod:`avikit.models.perception.avqa`)
reads the features of
one joint audio-visual encoder (:mod:`avikit.models.encoders.av_encoder`, pretrained without labels on AVSynth
``train`` by :mod:`avikit.train.pretrain`), kept frozen, seen through the exact inputs each task builds.
This module holds what they share: :class:`TrunkModel` (the frozen trunk plus one head), loading the encoder
and a saved head with the encoder its config names, and the weights hash. Cut media become encoder
features in :mod:`avikit.models.encoders.trunk_encoding`; heads are trained by :mod:`avikit.train`.

Example:
    >>> import numpy as np
    >>> from avikit.models.encoders.av_encoder import AVEncoderConfig, build_av_encoder
    >>> from avikit.models.encoders.trunk_encoding import encode_media, freeze
    >>> config = AVEncoderConfig(n_mels=32, image_size=64, patch_size=16, dim=32, heads=2, embed_dim=16)
    >>> encoder = freeze(build_av_encoder(config))
    >>> frames = np.zeros((2, 16, 64, 64, 3), np.uint8)
    >>> waveform = np.zeros((2, 2, 64000), np.float32)
    >>> features = encode_media(encoder, frames, waveform, num_segments=4)
    >>> features["audio_segments"].shape, features["visual_maps"].shape
    (torch.Size([2, 4, 32]), torch.Size([2, 4, 32, 4, 4]))
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from torch import nn

from avikit.errors import UsageError
from avikit.models.encoders.av_encoder import AVJointEncoder
from avikit.models.encoders.av_encoder import from_pretrained as load_av_encoder
from avikit.models.encoders.input_geometry import adapt_items, resampling_note
from avikit.models.encoders.trunk_encoding import (
    MediaItem,
    freeze,
)
from avikit.models.packaged import WEIGHTS_DIR
from avikit.nn import from_pretrained as load_pretrained
from avikit.nn import resolve_pretrained
from avikit.tasks import Task

__all__ = [
    "ENCODER_NAME",
    "WEIGHTS_DIR",
    "TrunkModel",
    "combined_hash",
    "load_encoder",
    "load_head",
    "resolve_head_encoder",
]

ENCODER_NAME = "av-encoder"
"""The packaged pretrained encoder every reference task model reads."""


class TrunkModel(nn.Module):
    """The frozen trunk and one task head: what every reference model shares.

    Subclasses set ``tasks`` and ``default_id``, annotate ``head`` with their head's type and write
    ``predict``. The attribute names ``encoder`` and ``head`` are the prefixes of the packaged weights.
    """

    tasks: tuple[str, ...] = ()
    default_id: str = ""

    def __init__(
        self,
        encoder: AVJointEncoder,
        head: nn.Module,
        model_id: str | None = None,
        weights_hash: str = "untrained",
    ) -> None:
        super().__init__()
        self.encoder, self.head = encoder, head
        self.id = model_id or self.default_id
        self.weights_hash = weights_hash

    def check_task(self, task: Task) -> None:
        """Raise ``ValueError`` unless the model predicts ``task``."""
        if task.name not in self.tasks:
            raise UsageError(f"{self.id} predicts {', '.join(self.tasks)}, not {task.name!r}")

    def adapt(self, task: Task, batch: Sequence[MediaItem]) -> list[MediaItem]:
        """The batch at the trunk's input geometry: audio resampled from the dataset's rate to the trunk's.

        Frames keep the dataset's size: the trunk picks one per segment and resizes it to its image size.
        """
        return adapt_items(task, batch, self.encoder.sample_rate)

    def input_resampling(self, task: Task) -> dict[str, str]:
        """What the model changes in the task's media to reach its own geometry (written into the records)."""
        return resampling_note(task, self.encoder.sample_rate, self.encoder.visual.image_size)

    def window_seconds(self, batch: Sequence[MediaItem]) -> int:
        """Seconds in the batch's audio window (at least 1): one trunk segment per second."""
        audio = batch[0].inputs.audio
        return max(1, round((audio[1] - audio[0]) / self.encoder.sample_rate))


def load_encoder(name_or_path: str | os.PathLike[str] = ENCODER_NAME) -> AVJointEncoder:
    """Load the pretrained encoder (a packaged name, a folder or a hub id), frozen."""
    return freeze(load_av_encoder(name_or_path))


def combined_hash(*paths: str | os.PathLike[str]) -> str:
    """SHA-256 (first 16 hex digits) over the bytes of several weight files, in order."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:16]


# ----------------------------------------------------------------------------------------------- weights

H = TypeVar("H", bound=nn.Module)
C = TypeVar("C")


def resolve_head_encoder(head_folder: str | os.PathLike[str], encoder_name: str) -> Path:
    """The folder of the trunk that a head's config names.

    A sub-folder of the head's folder if one of that name holds weights (a fine-tuned trunk saved with its
    head), else a packaged name, a folder or a hub id.
    """
    local = Path(head_folder) / encoder_name
    return local if (local / "config.json").is_file() else resolve_pretrained(encoder_name, [WEIGHTS_DIR])


def load_head(
    name_or_path: str | os.PathLike[str], config_type: type[C], build: Callable[[C], H], kind: str
) -> tuple[H, C, AVJointEncoder, str]:
    """Load a task head saved by :func:`avikit.nn.save_pretrained` and the encoder its config names.

    Returns:
        ``(head, config, encoder, weights_hash)``; the hash covers the head's and the encoder's weights.
    """
    folder = resolve_pretrained(name_or_path, [WEIGHTS_DIR])
    head, cfg = load_pretrained(folder, config_type, build, kind, [WEIGHTS_DIR])
    encoder_name = getattr(cfg, "encoder")  # noqa: B009 (every head config names its encoder)
    encoder_folder = resolve_head_encoder(folder, encoder_name)
    encoder = load_encoder(encoder_folder)
    weights_hash = combined_hash(folder / "model.safetensors", encoder_folder / "model.safetensors")
    return head, cfg, encoder, weights_hash
