"""The shared trunk of the AVSynth reference task models: the pretrained joint encoder, frozen, and its heads.

Every reference task model (:mod:`avikit.models.avel` ... :mod:`avikit.models.avqa`) reads the features of
one joint audio-visual encoder (:mod:`avikit.models.av_encoder`, pretrained without labels on AVSynth
``train`` by :mod:`avikit.models.pretrain`), kept frozen, seen through the exact inputs each task builds.
This module holds what they share: :class:`TrunkModel` (the frozen trunk plus one head), loading the encoder
and a saved head with the encoder its config names, and the weights hash. It also gathers, under their
usual names, the pieces that live in their own modules:

- :mod:`avikit.models.trunk_encoding`: cut media -> encoder features (:func:`encode_media`,
  :func:`encode_items`, :func:`prepare_media`, :func:`encode_prepared`, :func:`freeze`);
- :mod:`avikit.models.feature_sets`: features (or encoder inputs) of a whole AVSynth split for a task's
  inputs, cached on disk, with the sample records (:func:`build_feature_set`, :func:`build_media_set`);
- :mod:`avikit.models.training_loops`: the seeded training loops with a progress bar, a JSONL loss log and
  an SVG loss plot (:func:`fit_head`, :func:`run_minibatches`).

Example:
    >>> import numpy as np
    >>> from avikit.models.av_encoder import build_av_encoder
    >>> from avikit.models.pretrain import PretrainConfig
    >>> encoder = freeze(build_av_encoder(PretrainConfig.tiny().model))
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

from avikit.models.av_encoder import AVJointEncoder
from avikit.models.av_encoder import from_pretrained as load_av_encoder
from avikit.models.feature_sets import (
    FeatureSet,
    MediaSet,
    build_feature_set,
    build_media_set,
    default_cache_dir,
)
from avikit.models.training_loops import FitConfig, fit_head, run_minibatches
from avikit.models.trunk_encoding import (
    FEATURE_KEYS,
    MediaItem,
    encode_items,
    encode_media,
    encode_prepared,
    freeze,
    prepare_media,
)
from avikit.nn import from_pretrained as load_pretrained
from avikit.nn import resolve_pretrained
from avikit.tasks import Task

__all__ = [
    "ENCODER_NAME",
    "FEATURE_KEYS",
    "WEIGHTS_DIR",
    "FeatureSet",
    "FitConfig",
    "MediaItem",
    "MediaSet",
    "TrunkModel",
    "build_feature_set",
    "build_media_set",
    "combined_hash",
    "default_cache_dir",
    "encode_items",
    "encode_media",
    "encode_prepared",
    "fit_head",
    "freeze",
    "load_encoder",
    "load_head",
    "prepare_media",
    "resolve_head_encoder",
    "run_minibatches",
]

ENCODER_NAME = "av-encoder"
"""The packaged pretrained encoder every reference task model reads."""
WEIGHTS_DIR = Path(__file__).parent / "weights"
"""Folder of the weights shipped with the package (one sub-folder per model)."""


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
            raise ValueError(f"{self.id} predicts {', '.join(self.tasks)}, not {task.name!r}")

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
