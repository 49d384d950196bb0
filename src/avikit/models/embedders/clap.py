"""LAION-CLAP HTSAT-base audio embedding (Wu et al. 2023), through ``transformers``' CLAP audio model.

av-benchmark loads ``music_speech_audioset_epoch_15_esc_89.98.pt`` into ``laion_clap.CLAP_Module(
enable_fusion=False, amodel="HTSAT-base")`` and calls ``get_audio_embedding_from_data(wav, use_tensor=True)``
on 48 kHz audio cut to 8 s (no int16 quantisation with ``use_tensor``). avikit runs the same network as
``transformers.ClapAudioModelWithProjection`` (HTSAT-base: patch width 128, depths 2/2/12/2, heads
4/8/16/32, window 8, 1024-d output, 512-d projection) and converts the official checkpoint to its layout
(:func:`clap_state_from_laion`):

- the ``module.`` prefix of the DDP checkpoint is dropped; so are the text tower (``text_branch``,
  ``text_projection``, ``text_transform``), ``audio_transform``, ``logit_scale_a`` / ``logit_scale_t``, the
  front end inside the audio branch (``spectrogram_extractor``, ``logmel_extractor``: fixed STFT and mel
  kernels, recomputed by the feature extractor), the AudioSet head (``tscam_conv``, ``head``) and the
  Swin ``attn_mask`` buffers (recomputed);
- ``audio_branch.`` -> ``audio_model.audio_encoder.``, ``bn0`` -> ``batch_norm``, ``norm1`` / ``norm2`` ->
  ``layernorm_before`` / ``layernorm_after``, ``attn.qkv`` split into ``attention.self.{query,key,value}``,
  ``attn.proj`` -> ``attention.output.dense``, ``attn.relative_position_*`` -> ``attention.self.*``,
  ``mlp.fc1`` / ``mlp.fc2`` -> ``intermediate.dense`` / ``output.dense``, ``audio_projection.0`` / ``.2`` ->
  ``audio_projection.linear1`` / ``linear2``.

Any other key, and any key the model does not receive, is a :class:`CheckpointLayoutError`. A file already in
the ``transformers`` layout (keys starting ``audio_model.``) loads as it is.

Front end (``transformers.ClapFeatureExtractor`` with ``truncation="rand_trunc"``, ``padding="repeatpad"``,
laion's non-fused path): audio shorter than 10 s is repeated ``floor(480000 / N)`` times and zero-padded to
480000 samples; STFT 1024 / hop 480 (Hann, centred, reflect), power, 64 Slaney-mel bands 50-14000 Hz, dB
(``10 log10(max(x, 1e-10))``). The embedding is the projection of the pooled HTSAT output, L2-normalised as
``CLAP.get_audio_embedding`` returns it. The text tower is not included.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.errors import UsageError
from avikit.models.embedders.base import (
    CheckpointLayoutError,
    ModuleEmbedder,
    load_checkpoint_state,
    load_state_strict,
    require_package,
)
from avikit.models.embedders.hub import WEIGHTS, resolve_weights

__all__ = [
    "CLAP_FRONT_END",
    "ClapConfig",
    "ClapEmbedding",
    "build_clap_audio",
    "clap_state_from_laion",
    "load_clap",
]

INSTALL = "pip install 'avikit[embedders]'  (or: pip install transformers)"

CLAP_FRONT_END: dict[str, Any] = {
    "sample_rate": 48000,
    "max_samples": 480000,
    "padding": "repeatpad",
    "truncation": "rand_trunc",
    "n_fft": 1024,
    "hop": 480,
    "n_mels": 64,
    "f_min": 50,
    "f_max": 14000,
    "mel": "slaney",
    "db": "10 log10(max(x, 1e-10))",
}
"""laion_clap's HTSAT-base ``audio_cfg`` for the non-fused model, as ``ClapFeatureExtractor`` computes it."""

_DROPPED = re.compile(
    r"^(text_branch|text_projection|text_transform|audio_transform|logit_scale_[at])\b"
    r"|^audio_branch\.(spectrogram_extractor|logmel_extractor|tscam_conv|head)\."
    r"|\.attn_mask$"
)
_RENAMES = (
    (re.compile(r"^audio_branch\."), "audio_model.audio_encoder."),
    (re.compile(r"\.bn0\."), ".batch_norm."),
    (re.compile(r"\.norm1\."), ".layernorm_before."),
    (re.compile(r"\.norm2\."), ".layernorm_after."),
    (re.compile(r"\.attn\.proj\."), ".attention.output.dense."),
    (re.compile(r"\.attn\.relative_position_"), ".attention.self.relative_position_"),
    (re.compile(r"\.mlp\.fc1\."), ".intermediate.dense."),
    (re.compile(r"\.mlp\.fc2\."), ".output.dense."),
    (re.compile(r"^audio_projection\.0\."), "audio_projection.linear1."),
    (re.compile(r"^audio_projection\.2\."), "audio_projection.linear2."),
)


@dataclass(frozen=True)
class ClapConfig:
    """HTSAT widths; the defaults are laion_clap's ``HTSAT-base`` with its 512-d joint space."""

    patch_width: int = 128
    depths: tuple[int, ...] = (2, 2, 12, 2)
    heads: tuple[int, ...] = (4, 8, 16, 32)
    window: int = 8
    spec_size: int = 256
    n_mels: int = 64
    projection_dim: int = 512

    def to_transformers(self) -> Any:
        """The matching ``transformers.ClapAudioConfig``."""
        transformers = require_package("transformers", INSTALL)
        return transformers.ClapAudioConfig(
            patch_embeds_hidden_size=self.patch_width,
            hidden_size=self.patch_width * 2 ** (len(self.depths) - 1),
            depths=list(self.depths),
            num_attention_heads=list(self.heads),
            window_size=self.window,
            spec_size=self.spec_size,
            num_mel_bins=self.n_mels,
            projection_dim=self.projection_dim,
            projection_hidden_act="relu",
            enable_fusion=False,
        )


def build_clap_audio(cfg: ClapConfig | None = None) -> nn.Module:
    """A randomly initialised ``transformers.ClapAudioModelWithProjection`` for ``cfg`` (eval mode)."""
    transformers = require_package("transformers", INSTALL)
    return transformers.ClapAudioModelWithProjection((cfg or ClapConfig()).to_transformers()).eval()


def clap_state_from_laion(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The audio tower of a laion_clap checkpoint in ``transformers``' ``ClapAudioModelWithProjection`` names.

    Raises:
        CheckpointLayoutError: a key is neither converted nor one of the known dropped keys (listed).
    """
    out: dict[str, torch.Tensor] = {}
    unknown = []
    for raw, value in state.items():
        key = raw.removeprefix("module.")
        if _DROPPED.search(key):
            continue
        if not key.startswith(("audio_branch.", "audio_projection.")):
            unknown.append(raw)
            continue
        for pattern, replacement in _RENAMES:
            key = pattern.sub(replacement, key)
        if ".attn.qkv." in key:
            for name, part in zip(("query", "key", "value"), value.chunk(3), strict=True):
                out[key.replace(".attn.qkv.", f".attention.self.{name}.")] = part
        else:
            out[key] = value
    if unknown:
        shown = ", ".join(sorted(unknown)[:12])
        raise CheckpointLayoutError(
            f"the checkpoint does not have the LAION-CLAP layout; unexpected keys: {shown}"
            f"{f' ... ({len(unknown)} in all)' if len(unknown) > 12 else ''}"
        )
    return out


class ClapEmbedding(nn.Module):
    """``[B, N]`` 48 kHz waveforms -> ``{"embedding": [B, 512]}`` (unit norm) through the HF model."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        transformers = require_package("transformers", INSTALL)
        self.model = model.eval()
        config: Any = model.config
        self.extractor = transformers.ClapFeatureExtractor(
            feature_size=config.num_mel_bins,
            sampling_rate=CLAP_FRONT_END["sample_rate"],
            hop_length=CLAP_FRONT_END["hop"],
            max_length_s=CLAP_FRONT_END["max_samples"] // CLAP_FRONT_END["sample_rate"],
            fft_window_size=CLAP_FRONT_END["n_fft"],
            frequency_min=CLAP_FRONT_END["f_min"],
            frequency_max=CLAP_FRONT_END["f_max"],
            padding=CLAP_FRONT_END["padding"],
            truncation=CLAP_FRONT_END["truncation"],
        )

    def features(self, waveform: torch.Tensor) -> torch.Tensor:
        """Log-mel input ``[B, 1, 1001, 64]`` of waveforms ``[B, N]`` (N <= 480000; longer is refused)."""
        if waveform.shape[-1] > CLAP_FRONT_END["max_samples"]:
            raise UsageError(
                f"CLAP embeds up to 10 s at 48 kHz ({CLAP_FRONT_END['max_samples']} samples), got "
                f"{waveform.shape[-1]}; cut the audio (laion_clap would take a random 10 s window)"
            )
        audio = [w.detach().cpu().double().numpy() for w in waveform]
        batch = self.extractor(audio, sampling_rate=CLAP_FRONT_END["sample_rate"], return_tensors="pt")
        return batch["input_features"]

    def forward(self, waveform: torch.Tensor) -> dict[str, torch.Tensor]:
        """Front end, HF model, L2 normalisation."""
        parameter = next(self.model.parameters())
        features = self.features(waveform).to(parameter.device, parameter.dtype)
        embeds = self.model(input_features=features).audio_embeds
        return {"embedding": F.normalize(embeds, dim=-1)}


def load_clap(
    checkpoint: str | os.PathLike[str] | None = None, cfg: ClapConfig | None = None
) -> ModuleEmbedder:
    """LAION-CLAP HTSAT-base audio embedding ``[512]`` at 48 kHz, 8 s, as av-benchmark computes it.

    Args:
        checkpoint: a local ``music_speech_audioset_epoch_15_esc_89.98.pt`` (laion_clap layout, with or
            without ``{"state_dict": ...}`` and ``module.``) or a file in ``transformers``' layout; ``None``
            downloads the published laion_clap file.
        cfg: widths (default: HTSAT-base).

    Raises:
        ImportError: ``transformers`` is not installed (the message says how to install it).
        CheckpointLayoutError: unknown, missing or mis-shaped keys (listed).

    Example:
        >>> clap = load_clap("/data/music_speech_audioset_epoch_15_esc_89.98.pt")  # doctest: +SKIP
        >>> clap.embed(clip)["embedding"].shape  # doctest: +SKIP
        (512,)
    """
    model = build_clap_audio(cfg)
    state = load_checkpoint_state(resolve_weights(WEIGHTS["clap"], checkpoint), nested=("state_dict",))
    if not any(key.startswith("audio_model.") for key in state):
        state = clap_state_from_laion(state)
    load_state_strict(
        model, state, "LAION-CLAP HTSAT audio tower (transformers ClapAudioModelWithProjection)"
    )
    extra = {"front_end": CLAP_FRONT_END}
    return ModuleEmbedder(
        "laion-clap", ClapEmbedding(model), CLAP_FRONT_END["sample_rate"], duration=8.0, extra=extra
    )
