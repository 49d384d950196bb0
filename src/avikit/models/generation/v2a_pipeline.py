"""Packaged video-to-audio models for the ``v2a`` task: the generators and a retrieval baseline.

The generators are those of :mod:`avikit.models.generation.v2a_network`, loaded from shipped weights and
measured like every other model.

:class:`V2AGenerator` wraps one trained network (flow matching over log-Mel, or autoregressive / MaskGIT
decoding over codec tokens, with the codec: the packaged ones over mel tokens) behind the
:class:`~avikit.models.protocol.Model` protocol. The networks were trained on short windows (``window_frames``
video frames, 2 s by default), so a clip of any length is cut into consecutive windows (the last one padded by
repeating its last frame), each window is generated (all windows of a clip in one batch), and the windows'
log-Mel frames (or codes) are joined on the timeline before the one vocoder / codec-decoder pass, so the
waveform has no seam of its own. The result is cut to the exact length of the task's audio window.

:class:`V2ARetrieval` is the baseline every generator must beat: the audio of the nearest training video by
its mean 8 x 8 colour image (:func:`visual_bank_feature`). AVSynth regenerates a training clip exactly from
``(split, index, seed)``, so the package ships only the bank's features and indices.

Predictions follow the task's schema: ``{"id": sample_id, "audio": path}``, the path of a float32 mono
``.npy`` array at the task's sample rate, written to ``item.output_dir / f"{item.id}_audio.npy"``.
Generation is seeded per sample (``seed`` and a CRC of the sample id), so a clip gets the same audio
whatever batch it is in. The packaged generators watermark their audio (``watermarker``, the default of
:mod:`avikit.models.watermark`; ``from_pretrained(..., watermark=False)`` or
:func:`~avikit.models.watermark.set_watermarking` turns it off); the weights hash then names the watermark
too.

Example:
    >>> import numpy as np
    >>> model = build_v2a_generator(V2AModelConfig(network=V2AConfig(dim=32, depth=1, heads=2), num_steps=2))
    >>> audio = model.generate(np.zeros((24, 64, 64, 3), np.uint8))
    >>> audio.shape, audio.dtype
    ((48000,), dtype('float32'))
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from avikit.errors import UsageError
from avikit.models.encoders.trunk import WEIGHTS_DIR
from avikit.models.generation.v2a_network import (
    FlowV2A,
    TokenV2A,
    V2AConfig,
    build_flow_v2a,
    build_token_v2a,
    build_v2a_codec,
    griffin_lim,
)
from avikit.models.generation.v2a_sampling import generate_autoregressive, generate_flow, generate_maskgit
from avikit.models.generation.windows import frame_windows, frames_to_tensor, input_seed, write_audio
from avikit.models.protocol import Item
from avikit.models.tokenizers.mel_codec import MelCodec, build_mel_codec
from avikit.models.tokenizers.vocoder import KIND as VOCODER_KIND
from avikit.models.tokenizers.vocoder import MelVocoder, VocoderConfig, build_vocoder
from avikit.models.watermark import AudioWatermarker, load_watermarker, watermark_output, watermarked_hash
from avikit.nn import from_pretrained as load_pretrained
from avikit.nn import resolve_pretrained, save_pretrained, weights_sha256
from avikit.nn.codec import AudioCodec
from avikit.nn.weights import CONFIG_NAME
from avikit.tasks import Task
from avikit.tasks.generation import prediction_folder

__all__ = [
    "KIND",
    "PARADIGMS",
    "V2AGenerator",
    "V2AModelConfig",
    "build_v2a_generator",
    "frames_to_tensor",
    "from_pretrained",
    "load_v2a_ar",
    "load_v2a_flow",
    "load_vocoder",
    "save_v2a",
]

KIND = "avikit.models.v2a_model"
PARADIGMS = ("flow", "autoregressive", "maskgit")
"""The generator families, by the name their weights' config gives."""


# ----------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class V2AModelConfig:
    """A packaged generator: its network sizes and how it samples.

    Attributes:
        paradigm: one of :data:`PARADIGMS`.
        network: sizes and rates of the network (and codec, for the token paradigms).
        window_frames: video frames per generated window (what the network was trained on).
        num_steps: Euler steps (flow) or decoding steps (MaskGIT); the autoregressive model takes one step
            per code step.
        guidance: classifier-free guidance scale.
        seed: base seed of sampling (combined with each sample id).
        vocoder: the mel vocoder: of the flow paradigm (``None``: Griffin-Lim), or of the token paradigms'
            mel tokenizer (``network.tokenizer == "mel"``, required there;
            :mod:`avikit.models.tokenizers.mel_codec`).
    """

    paradigm: str = "flow"
    network: V2AConfig = field(default_factory=V2AConfig)
    window_frames: int = 16
    num_steps: int = 16
    guidance: float = 2.0
    seed: int = 0
    vocoder: VocoderConfig | None = None


# ----------------------------------------------------------------------------------------------- blocks


# ------------------------------------------------------------------------------------------------ model


class V2AGenerator(nn.Module):
    """A trained video-to-audio network (and its codec) behind the Model protocol, for task ``v2a``."""

    tasks: tuple[str, ...] = ("v2a",)

    def __init__(
        self,
        network: FlowV2A | TokenV2A,
        codec: AudioCodec | None,
        sample_rate: int,
        fps: int,
        image_size: int,
        window_frames: int,
        num_steps: int,
        guidance: float,
        seed: int = 0,
        vocoder: MelVocoder | None = None,
        model_id: str = "avikit/v2a",
        weights_hash: str = "untrained",
        watermarker: AudioWatermarker | None = None,
    ) -> None:
        super().__init__()
        self.watermarker = watermarker
        if isinstance(network, TokenV2A) and codec is None:
            raise UsageError("a token network needs the codec that made its tokens")
        self.network, self.codec, self.vocoder = network, codec, vocoder
        self.sample_rate, self.fps, self.image_size = sample_rate, fps, image_size
        self.window_frames, self.num_steps, self.guidance, self.seed = (
            window_frames,
            num_steps,
            guidance,
            seed,
        )
        self.id, self.network_hash = model_id, weights_hash

    @property
    def weights_hash(self) -> str:
        """The network's weights hash, with the watermark's when one is on."""
        return watermarked_hash(self.network_hash, self.watermarker)

    @weights_hash.setter
    def weights_hash(self, value: str) -> None:
        self.network_hash = value

    @property
    def paradigm(self) -> str:
        """``"flow"``, ``"autoregressive"`` or ``"maskgit"``."""
        if isinstance(self.network, FlowV2A):
            return "flow"
        return "autoregressive" if self.network.causal else "maskgit"

    @torch.no_grad()
    def generate(self, frames: NDArray[np.uint8], seed: int = 0) -> NDArray[np.float32]:
        """Mono float32 audio ``[T * sample_rate / fps]`` for one clip's uint8 frames ``[T, H, W, 3]``."""
        if frames.ndim != 4 or len(frames) == 0:
            raise UsageError(f"need one clip's frames [T, H, W, 3], got shape {list(frames.shape)}")
        windows = frame_windows(
            frames_to_tensor(frames, self.image_size), self.window_frames
        )  # [W, t, 3, s, s]
        generator = torch.Generator().manual_seed(seed)
        network = self.network
        if isinstance(network, FlowV2A):
            mel = generate_flow(network, windows, self.num_steps, self.guidance, None, generator)  # [W, n, M]
            joined_mel = mel.reshape(1, -1, mel.shape[-1])  # [1, W * n, M]
            if self.vocoder is not None:
                audio = self.vocoder(joined_mel).clamp(-1, 1)  # [1, 1, W * n * hop]
            else:
                audio = griffin_lim(network.features, joined_mel)
        else:
            if network.causal:
                codes = generate_autoregressive(network, windows, self.guidance, generator=generator)
            else:
                codes = generate_maskgit(network, windows, self.num_steps, self.guidance, generator=generator)
            joined = codes.permute(1, 0, 2).reshape(1, codes.shape[1], -1)  # [1, Q, W * n]
            assert self.codec is not None  # checked in __init__
            audio = self.codec.decode(joined)  # [1, 1, W * n * hop]
        length = len(frames) * self.sample_rate // self.fps
        return audio[0, 0, :length].float().numpy()

    def predict(self, task: Task, batch: Sequence[Item]) -> list[dict[str, Any]]:
        """Generate and write each item's audio; ``{"id", "audio": path}`` per item."""
        folder = prediction_folder(task, batch, self.id, ("v2a",), self.sample_rate, self.fps)
        out = []
        for item in batch:
            start, stop = item.inputs.audio
            audio = self.generate(item.frames, input_seed(self.seed, item))
            if self.watermarker is not None:
                audio = watermark_output(self.watermarker, audio, self.id)
            out.append(write_audio(folder, item.id, audio, stop - start))
        return out


# ---------------------------------------------------------------------------------------------- build


def build_v2a_generator(cfg: V2AModelConfig) -> V2AGenerator:
    """Build an (untrained) packaged generator from its config."""
    if cfg.paradigm not in PARADIGMS:
        raise UsageError(f"unknown paradigm {cfg.paradigm!r}; choose one of {PARADIGMS}")
    net, vocoder = cfg.network, None
    codec: AudioCodec | None = None
    if cfg.paradigm == "flow":
        network: FlowV2A | TokenV2A = build_flow_v2a(net)
        vocoder = build_vocoder(cfg.vocoder) if cfg.vocoder is not None else None
    else:
        network = build_token_v2a(net, cfg.paradigm == "autoregressive")
        if net.tokenizer == "mel":
            if cfg.vocoder is None:
                raise UsageError("a mel tokenizer needs the vocoder that turns its mel into sound; set one")
            codec = build_mel_codec(net, cfg.vocoder)
        elif cfg.vocoder is not None:
            raise UsageError(f"the {cfg.paradigm} model decodes waveform-codec codes; it takes no vocoder")
        else:
            codec = build_v2a_codec(net)
    return V2AGenerator(
        network,
        codec,
        net.sample_rate,
        net.fps,
        net.image_size,
        cfg.window_frames,
        cfg.num_steps,
        cfg.guidance,
        cfg.seed,
        vocoder,
    )


def save_v2a(model: nn.Module, config: Any, out_dir: str | os.PathLike[str], half: bool = True) -> Path:
    """Save a generator or retrieval bank as ``config.json`` + ``model.safetensors`` (float16 by default).

    Float tensors are stored in half precision to keep the package small; loading casts them back.
    """
    kind = getattr(model, "kind", KIND)  # a retrieval bank states its own kind
    stored = copy.deepcopy(model).half() if half else model  # .half() casts floating tensors only
    return save_pretrained(stored, config, out_dir, kind)


def _load(name_or_path: str | os.PathLike[str], config_type: Any, build: Any, kind: str) -> Any:
    """A package in float32, its ``id`` ``avikit/<folder>`` and ``weights_hash`` set."""
    folder = resolve_pretrained(name_or_path, [WEIGHTS_DIR])
    model, _ = load_pretrained(folder, config_type, build, kind, [WEIGHTS_DIR])
    model.float()
    model.id = f"avikit/{folder.name}"
    model.weights_hash = weights_sha256(folder / "model.safetensors")[:16]
    return model


def from_pretrained(name_or_path: str | os.PathLike[str] = "v2a", watermark: bool = True) -> V2AGenerator:
    """Load a packaged generator (``"v2a"``: MaskGIT, ``"v2a-ar"``, ``"v2a-flow"``), a folder or a hub id.

    With ``watermark`` (the default) its audio carries the default watermark.
    """
    generator: V2AGenerator = _load(name_or_path, V2AModelConfig, build_v2a_generator, KIND)
    generator.watermarker = load_watermarker() if watermark else None
    return generator


def load_vocoder(name_or_path: str | os.PathLike[str] = "v2a-flow") -> tuple[MelVocoder, VocoderConfig]:
    """A trained vocoder and its config: from a vocoder folder, or from a v2a package that carries one.

    The default is the vocoder of the packaged ``v2a-flow``, the one the packaged mel-token models decode
    with.
    """
    folder = resolve_pretrained(name_or_path, [WEIGHTS_DIR])
    if json.loads((folder / CONFIG_NAME).read_text()).get("kind") == VOCODER_KIND:
        vocoder, vocoder_config = load_pretrained(folder, VocoderConfig, build_vocoder, VOCODER_KIND)
        return vocoder.float(), vocoder_config
    model, config = load_pretrained(folder, V2AModelConfig, build_v2a_generator, KIND)
    model.float()
    codec = model.codec
    found = codec.decoder.vocoder if isinstance(codec, MelCodec) else model.vocoder
    if found is None or config.vocoder is None:
        raise UsageError(
            f"{folder} carries no vocoder (it decodes with Griffin-Lim or a waveform codec); name a vocoder "
            "folder (avikit.train.vocoder.train_vocoder) or a package with one, such as 'v2a-flow'"
        )
    return found, config.vocoder


def load_v2a_ar() -> V2AGenerator:
    """The packaged autoregressive generator (registry name ``"v2a-ar"``)."""
    return from_pretrained("v2a-ar")


def load_v2a_flow() -> V2AGenerator:
    """The packaged flow-matching generator (registry name ``"v2a-flow"``)."""
    return from_pretrained("v2a-flow")
