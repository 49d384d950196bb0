"""Embedders built from their upstream packages, for models avikit does not reimplement.

PaSST (``hear21passt``), LAION-CLAP (``laion_clap``) and ImageBind (``imagebind``) pull torchvision (and,
for PaSST, a CUDA build of torch) or are not on PyPI, so avikit does not depend on them; these loaders call
the packages as av-benchmark does (``av_bench/extraction_models.py``) and say how to install them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from avikit.models.embedders.base import ModuleEmbedder, load_checkpoint_state, require_package
from avikit.models.embedders.hub import WEIGHTS, resolve_weights

__all__ = ["load_clap", "load_imagebind_audio", "load_passt"]


class _Outputs(nn.Module):
    """Adapts an upstream model's call to ``{name: tensor}``."""

    def __init__(self, model: Any, call: Callable[[Any, torch.Tensor], dict[str, torch.Tensor]]) -> None:
        super().__init__()
        self.model, self.call = model, call

    def forward(self, waveform: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.call(self.model, waveform)


def load_passt(checkpoint: str | os.PathLike[str] | None = None) -> ModuleEmbedder:
    """PaSST-S (``get_basic_model(mode="all")``), 32 kHz, 10 s: ``logits`` [527] and ``embedding`` [768]."""
    passt = require_package("hear21passt.base", "pip install hear21passt")
    model = passt.get_basic_model(mode="all")
    state = load_checkpoint_state(resolve_weights(WEIGHTS["passt"], checkpoint))
    model.net.load_state_dict(state)

    def call(net: Any, waveform: torch.Tensor) -> dict[str, torch.Tensor]:
        waveform = torch.nn.functional.pad(waveform, (0, max(0, 320000 - waveform.shape[-1])))[..., :320000]
        out = net(waveform)  # [1, 527 + 768]
        return {"logits": out[:, :527], "embedding": out[:, 527:]}

    return ModuleEmbedder("passt", _Outputs(model, call), 32000, duration=10.0, extra={"pad_to": 320000})


def load_clap(checkpoint: str | os.PathLike[str] | None = None) -> ModuleEmbedder:
    """LAION-CLAP HTSAT-base audio embedding at 48 kHz (av-benchmark's ``music_speech_audioset`` model)."""
    clap = require_package("laion_clap", "pip install laion-clap")
    model = clap.CLAP_Module(enable_fusion=False, amodel="HTSAT-base")
    if checkpoint is None:
        raise ValueError(
            "pass the path of music_speech_audioset_epoch_15_esc_89.98.pt (LAION-CLAP releases on the "
            "Hugging Face hub, lukewys/laion_clap), the checkpoint av-benchmark uses"
        )
    model.load_ckpt(str(checkpoint), verbose=False)

    def call(net: Any, waveform: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"embedding": net.get_audio_embedding_from_data(x=waveform, use_tensor=True)}

    return ModuleEmbedder("laion-clap", _Outputs(model, call), 48000, duration=8.0)


def load_imagebind_audio(checkpoint: str | os.PathLike[str] | None = None) -> ModuleEmbedder:
    """ImageBind-huge audio embedding at 16 kHz, as ``ImageBindAudioDataset`` of av-benchmark prepares it.

    Three 2 s clips placed by pytorchvideo's ``ConstantClipsPerVideoSampler``, each a Kaldi fbank of 128
    mel bins padded or cut to 204 frames, normalised with mean -4.268 and std 9.138.
    """
    install = "pip install git+https://github.com/facebookresearch/ImageBind"
    models = require_package("imagebind.models.imagebind_model", install)
    data = require_package("imagebind.data", install)
    sampling = require_package("pytorchvideo.data.clip_sampling", "pip install pytorchvideo")
    model = models.imagebind_huge(pretrained=checkpoint is None)
    if checkpoint is not None:
        model.load_state_dict(load_checkpoint_state(checkpoint))
    sampler = sampling.ConstantClipsPerVideoSampler(clip_duration=2, clips_per_video=3)

    def call(net: Any, waveform: torch.Tensor) -> dict[str, torch.Tensor]:
        clips = []
        for start, end in data.get_clip_timepoints(sampler, waveform.shape[-1] / 16000):
            piece = waveform[:, int(start * 16000) : int(end * 16000)].clone()  # [1, n]
            clips.append((data.waveform2melspec(piece, 16000, 128, 204) + 4.268) / 9.138)  # [1, 128, 204]
        inputs = {models.ModalityType.AUDIO: torch.stack(clips)[None]}  # [1, 3, 1, 128, 204]
        return {"embedding": net(inputs)[models.ModalityType.AUDIO]}

    extra = {"clips": 3, "clip_seconds": 2, "n_mels": 128, "frames": 204, "mean": -4.268, "std": 9.138}
    return ModuleEmbedder("imagebind-huge-audio", _Outputs(model, call), 16000, duration=None, extra=extra)
