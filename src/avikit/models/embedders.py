"""Pluggable embedders for the generation metrics, with their preprocessing pinned and stated.

An :class:`Embedder` turns one :class:`~avikit.media.AVClip` into named arrays (``"embedding"``,
``"logits"``); ``avikit.metrics.generation`` scores those arrays and never imports a model.
:class:`ModuleEmbedder` wraps any torch module (the AVSynth reference encoders, or a user's model) with
av-benchmark's audio preprocessing: mono, mean removed, cut (not padded) to a fixed duration, at a fixed
sample rate. A clip at another sample rate is an error, never silently resampled.

:func:`load_embedder` builds the real embedders users expect from their upstream packages and a local
checkpoint or the package's own download: VGGish (``torchvggish`` via ``torch.hub``), PANNs Cnn14
(``panns_inference``), PaSST (``hear21passt``), CLAP (``laion_clap``) and ImageBind (``imagebind``). DeSync
takes the offset logits of a sync model (Synchformer's ``compare_v_a``) directly. The pinned preprocessing of
each is ``avikit.metrics.generation.PREPROCESSING``.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn

from avikit.media import AVClip
from avikit.metrics.generation import PREPROCESSING

__all__ = ["EMBEDDER_LOADERS", "Embedder", "ModuleEmbedder", "load_embedder"]

log = logging.getLogger(__name__)


@runtime_checkable
class Embedder(Protocol):
    """Clip to named feature arrays, under a stated, JSON-serialisable preprocessing."""

    name: str

    @property
    def preprocessing(self) -> Mapping[str, Any]:
        """Every value that changes the output (rates, durations, crops); part of the feature-cache key."""

    def embed(self, clip: AVClip) -> dict[str, np.ndarray]:
        """Features of one clip, e.g. ``{"embedding": [D], "logits": [C]}``."""


class ModuleEmbedder:
    """Wraps ``module: waveform [1, N] -> {name: tensor}`` (or a tensor, named ``"embedding"``)."""

    def __init__(self, name: str, module: nn.Module, sample_rate: int, duration: float | None = 8.0) -> None:
        self.name, self.module = name, module.eval()
        self.sample_rate, self.duration = sample_rate, duration

    @property
    def preprocessing(self) -> Mapping[str, Any]:
        """Mono, mean removed, cut to ``duration`` s at ``sample_rate`` (av-benchmark ``extract.py``)."""
        return {"sample_rate": self.sample_rate, "duration": self.duration, "mono": True, "remove_mean": True}

    def prepare(self, clip: AVClip) -> torch.Tensor:
        """The module's input ``[1, N]``: checked rate, mono, mean removed, cut to the duration."""
        waveform = clip.require_waveform()  # [C, N]
        if clip.sample_rate != self.sample_rate:
            raise ValueError(
                f"{self.name} needs audio at {self.sample_rate} Hz, the clip has {clip.sample_rate} Hz; "
                "resample it first (avikit never resamples silently)"
            )
        mono = waveform.mean(axis=0)
        mono = mono - mono.mean()
        if self.duration is not None:
            mono = mono[: round(self.duration * self.sample_rate)]
        return torch.from_numpy(np.ascontiguousarray(mono, dtype=np.float32))[None]

    @torch.no_grad()
    def embed(self, clip: AVClip) -> dict[str, np.ndarray]:
        """Run the module on the prepared waveform; returns float arrays without the batch axis."""
        output = self.module(self.prepare(clip))
        named = output if isinstance(output, Mapping) else {"embedding": output}
        return {key: value.detach().cpu().numpy()[0] for key, value in named.items()}


def _require(module: str, install: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"this embedder needs the package {module!r}; install it with `{install}`"
        ) from error


class _Outputs(nn.Module):
    """Adapts an upstream model's call to ``{name: tensor}``."""

    def __init__(self, model: Any, call: Callable[[Any, torch.Tensor], dict[str, torch.Tensor]]) -> None:
        super().__init__()
        self.model, self.call = model, call

    def forward(self, waveform: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.call(self.model, waveform)


def _load_vggish(checkpoint: str | os.PathLike[str] | None) -> ModuleEmbedder:
    model = torch.hub.load("harritaylor/torchvggish", "vggish", postprocess=False, preprocess=True)
    if checkpoint is not None:
        model.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True))

    def call(net: Any, waveform: torch.Tensor) -> dict[str, torch.Tensor]:
        frames = net(waveform[0].numpy(), PREPROCESSING["vggish"]["sample_rate"])  # [frames, 128]
        return {"embedding": frames[None]}

    return ModuleEmbedder("vggish", _Outputs(model, call), 16000)


def _load_panns(checkpoint: str | os.PathLike[str] | None) -> ModuleEmbedder:
    panns = _require("panns_inference", "pip install panns-inference")
    tagger = panns.AudioTagging(checkpoint_path=None if checkpoint is None else str(checkpoint), device="cpu")

    def call(net: Any, waveform: torch.Tensor) -> dict[str, torch.Tensor]:
        out = net.model(waveform, None)
        return {"embedding": out["embedding"], "probabilities": out["clipwise_output"]}

    return ModuleEmbedder("panns-cnn14-16k", _Outputs(tagger, call), 16000)


def _load_passt(checkpoint: str | os.PathLike[str] | None) -> ModuleEmbedder:
    passt = _require("hear21passt.base", "pip install hear21passt")
    model = passt.get_basic_model(mode="all")
    if checkpoint is not None:
        model.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True))
    num_logits = PREPROCESSING["passt"]["num_logits"]

    def call(net: Any, waveform: torch.Tensor) -> dict[str, torch.Tensor]:
        out = net(waveform)  # [1, 527 + 768]
        return {"logits": out[:, :num_logits], "embedding": out[:, num_logits:]}

    return ModuleEmbedder("passt", _Outputs(model, call), 32000, duration=10.0)


def _load_clap(checkpoint: str | os.PathLike[str] | None) -> ModuleEmbedder:
    clap = _require("laion_clap", "pip install laion-clap")
    model = clap.CLAP_Module(enable_fusion=False)
    model.load_ckpt(None if checkpoint is None else str(checkpoint))

    def call(net: Any, waveform: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"embedding": net.get_audio_embedding_from_data(x=waveform, use_tensor=True)}

    return ModuleEmbedder("laion-clap", _Outputs(model, call), 48000, duration=10.0)


def _load_imagebind(checkpoint: str | os.PathLike[str] | None) -> ModuleEmbedder:
    models = _require(
        "imagebind.models.imagebind_model", "pip install git+https://github.com/facebookresearch/ImageBind"
    )
    model = models.imagebind_huge(pretrained=checkpoint is None)
    if checkpoint is not None:
        model.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True))
    data = _require("imagebind.data", "pip install git+https://github.com/facebookresearch/ImageBind")

    def call(net: Any, waveform: torch.Tensor) -> dict[str, torch.Tensor]:
        clips = data.waveform2melspec  # ImageBind's own audio preprocessing (3 clips x 2 s, 128 mels)
        inputs = {models.ModalityType.AUDIO: clips(waveform, 16000, 128, 204)[None, None]}
        return {"embedding": net(inputs)[models.ModalityType.AUDIO]}

    return ModuleEmbedder("imagebind-huge-audio", _Outputs(model, call), 16000, duration=None)


EMBEDDER_LOADERS: dict[str, Callable[[str | os.PathLike[str] | None], ModuleEmbedder]] = {
    "vggish": _load_vggish,
    "panns": _load_panns,
    "passt": _load_passt,
    "clap": _load_clap,
    "imagebind": _load_imagebind,
}
"""Name to loader of the real embedders; each takes an optional local checkpoint path."""


def load_embedder(name: str, checkpoint: str | os.PathLike[str] | None = None) -> ModuleEmbedder:
    """Build a real embedder by name from its upstream package (and a local checkpoint, if given).

    Raises:
        ValueError: for an unknown name (the message lists the known ones).
        ImportError: when the upstream package is missing (the message says how to install it).
    """
    if name not in EMBEDDER_LOADERS:
        raise ValueError(f"unknown embedder {name!r}; choose one of {sorted(EMBEDDER_LOADERS)}")
    log.info("loading embedder %s (checkpoint: %s)", name, checkpoint or "upstream default")
    return EMBEDDER_LOADERS[name](checkpoint)
