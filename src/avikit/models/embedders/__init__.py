"""Pluggable embedders for the generation metrics, with their preprocessing pinned and stated.

An :class:`Embedder` turns one :class:`~avikit.media.AVClip` into named arrays; ``avikit.metrics.generation``
scores those arrays and never imports a model. :func:`load_embedder` builds the real embedders users expect
from a local checkpoint or the published file (downloaded once, checksum-verified, see
:mod:`avikit.models.embedders.hub`):

- ``"vggish"`` and ``"panns"``: avikit's own VGGish and Cnn14 (16 kHz), reading the official checkpoints key
  for key, with the front ends av-benchmark uses;
- ``"passt"``: avikit's own PaSST-S (32 kHz), reading the official checkpoint key for key;
- ``"imagebind"`` / ``"imagebind-video"``: avikit's own ImageBind-huge audio and vision branches, reading
  ``imagebind_huge.pth`` (the other modalities in it are skipped by name);
- ``"clap"``: LAION-CLAP HTSAT-base through ``transformers``' CLAP audio model, the official laion_clap
  checkpoint converted key for key (needs ``pip install 'avikit[embedders]'``).

Synchformer, for DeSync, is avikit's own too: :func:`load_synchformer` builds the whole model (Motionformer,
AST, offset head) from the official checkpoint and :class:`SynchformerEmbedder` maps a clip to the offset
logits that ``evaluate_desync`` scores (:mod:`avikit.models.embedders.synchformer`).

Example:
    >>> sorted(EMBEDDER_LOADERS)
    ['clap', 'imagebind', 'imagebind-video', 'panns', 'passt', 'vggish']
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from avikit.errors import UsageError
from avikit.models.embedders.base import (
    CheckpointLayoutError,
    Embedder,
    ModuleEmbedder,
    load_checkpoint_state,
    load_state_strict,
)
from avikit.models.embedders.clap import ClapConfig, load_clap
from avikit.models.embedders.hub import WEIGHTS, WeightsSource, resolve_weights
from avikit.models.embedders.imagebind import (
    ImageBind,
    ImageBindConfig,
    ImageBindVideoEmbedder,
    load_imagebind,
    load_imagebind_audio,
    load_imagebind_video,
)
from avikit.models.embedders.panns import Cnn14, Cnn14Config
from avikit.models.embedders.passt import PaSST, PaSSTConfig, load_passt
from avikit.models.embedders.synchformer import (
    Synchformer,
    SynchformerConfig,
    SynchformerEmbedder,
    SynchformerHead,
    load_synchformer,
    load_synchformer_head,
)
from avikit.models.embedders.vggish import VGGISH_FRONT_END, VGGish, VGGishConfig

__all__ = [
    "EMBEDDER_LOADERS",
    "WEIGHTS",
    "CheckpointLayoutError",
    "ClapConfig",
    "Cnn14",
    "Cnn14Config",
    "Embedder",
    "ImageBind",
    "ImageBindConfig",
    "ImageBindVideoEmbedder",
    "ModuleEmbedder",
    "PaSST",
    "PaSSTConfig",
    "Synchformer",
    "SynchformerConfig",
    "SynchformerEmbedder",
    "SynchformerHead",
    "VGGish",
    "VGGishConfig",
    "WeightsSource",
    "load_clap",
    "load_embedder",
    "load_imagebind",
    "load_imagebind_audio",
    "load_imagebind_video",
    "load_panns",
    "load_passt",
    "load_synchformer",
    "load_synchformer_head",
    "load_vggish",
    "resolve_weights",
]

log = logging.getLogger(__name__)

Checkpoint = str | os.PathLike[str] | None


def load_vggish(
    checkpoint: Checkpoint = None, cfg: VGGishConfig | None = None, final_relu: bool = False
) -> ModuleEmbedder:
    """VGGish as av-benchmark uses it (no final ReLU, no PCA): ``embedding`` ``[frames, 128]`` per clip.

    Args:
        checkpoint: a local ``vggish-10086976.pth`` (or a file in its layout); ``None`` downloads it.
        cfg: widths (default: the published model).
        final_relu: keep torchvggish's ReLU after the last layer (av-benchmark drops it).
    """
    model = VGGish(cfg or VGGishConfig(), final_relu=final_relu)
    state = load_checkpoint_state(resolve_weights(WEIGHTS["vggish"], checkpoint))
    load_state_strict(model, state, "VGGish (torchvggish vggish-10086976.pth)")
    extra = {"front_end": VGGISH_FRONT_END, "final_relu": final_relu, "postprocess": False}
    return ModuleEmbedder("vggish", model, 16000, duration=8.0, extra=extra)


def load_panns(checkpoint: Checkpoint = None, cfg: Cnn14Config | None = None) -> ModuleEmbedder:
    """PANNs Cnn14 16 kHz: ``embedding`` ``[2048]`` and pre-sigmoid ``logits`` ``[527]`` per clip.

    Args:
        checkpoint: a local ``Cnn14_16k_mAP=0.438.pth`` (or a file in its layout); ``None`` downloads it.
        cfg: front end and widths (default: the 16 kHz model av-benchmark uses).
    """
    cfg = cfg or Cnn14Config()
    model = Cnn14(cfg)
    state = load_checkpoint_state(resolve_weights(WEIGHTS["panns"], checkpoint), nested=("model",))
    load_state_strict(model, state, "PANNs Cnn14 (audioset_tagging_cnn)")
    extra = {"front_end": {k: v for k, v in vars(cfg).items() if k not in ("classes", "widths")}}
    return ModuleEmbedder("panns-cnn14-16k", model, cfg.sample_rate, duration=8.0, extra=extra)


EMBEDDER_LOADERS: dict[str, Callable[[Checkpoint], Embedder]] = {
    "vggish": load_vggish,
    "panns": load_panns,
    "passt": load_passt,
    "clap": load_clap,
    "imagebind": load_imagebind_audio,
    "imagebind-video": load_imagebind_video,
}
"""Name to loader of the real embedders; each takes an optional local checkpoint path."""


def load_embedder(name: str, checkpoint: Checkpoint = None) -> Embedder:
    """Build a real embedder by name, from a local checkpoint or the published one (downloaded once).

    Raises:
        ValueError: for an unknown name (the message lists the known ones).
        ImportError: ``"clap"`` without ``transformers`` (the message says how to install it).
        CheckpointLayoutError: the checkpoint's keys or shapes are not the official layout (listed).
    """
    if name not in EMBEDDER_LOADERS:
        raise UsageError(f"unknown embedder {name!r}; choose one of {sorted(EMBEDDER_LOADERS)}")
    log.info("loading embedder %s (checkpoint: %s)", name, checkpoint or "published file")
    return EMBEDDER_LOADERS[name](checkpoint)
