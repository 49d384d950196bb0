"""Packaged video-to-audio models for the ``v2a`` task: the generators and a retrieval baseline.

The generators are those of :mod:`avikit.models.v2a`, loaded from shipped weights and measured like every
other model.

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
``.npy`` array at the task's sample rate, written to ``Path(task.scratch) / f"{sample_id}_audio.npy"``.
Generation is seeded per sample (``seed`` and a CRC of the sample id), so a clip gets the same audio
whatever batch it is in.

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
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from numpy.typing import NDArray
from torch import nn

from avikit.data.synth import SynthConfig, generate
from avikit.models.mel_codec import MelCodec, build_mel_codec
from avikit.models.trunk import WEIGHTS_DIR
from avikit.models.trunk_encoding import MediaItem
from avikit.models.v2a import (
    FlowV2A,
    TokenV2A,
    V2AConfig,
    build_flow_v2a,
    build_token_v2a,
    build_v2a_codec,
    generate_autoregressive,
    generate_flow,
    generate_maskgit,
    griffin_lim,
)
from avikit.models.vocoder import KIND as VOCODER_KIND
from avikit.models.vocoder import MelVocoder, VocoderConfig, build_vocoder
from avikit.nn import from_pretrained as load_pretrained
from avikit.nn import resolve_pretrained, save_pretrained, weights_sha256
from avikit.nn.codec import AudioCodec
from avikit.nn.weights import CONFIG_NAME
from avikit.tasks import Task
from avikit.tasks.generation import prediction_folder

__all__ = [
    "KIND",
    "PARADIGMS",
    "RETRIEVAL_KIND",
    "RetrievalConfig",
    "V2AGenerator",
    "V2AModelConfig",
    "V2ARetrieval",
    "build_v2a_generator",
    "build_v2a_retrieval",
    "frames_to_tensor",
    "from_pretrained",
    "load_v2a_ar",
    "load_v2a_flow",
    "load_vocoder",
    "retrieval_from_pretrained",
    "save_v2a",
    "visual_bank_feature",
]

KIND = "avikit.models.v2a_model"
RETRIEVAL_KIND = "avikit.models.v2a_model.retrieval"
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
            mel tokenizer (``network.tokenizer == "mel"``, required there; :mod:`avikit.models.mel_codec`).
    """

    paradigm: str = "flow"
    network: V2AConfig = field(default_factory=V2AConfig)
    window_frames: int = 16
    num_steps: int = 16
    guidance: float = 2.0
    seed: int = 0
    vocoder: VocoderConfig | None = None


@dataclass(frozen=True)
class RetrievalConfig:
    """The retrieval bank: ``bank_size`` AVSynth clips of ``split`` (data ``seed``, ``duration`` s)."""

    bank_size: int = 512
    split: str = "train"
    seed: int = 0
    duration: int = 10
    sample_rate: int = 16000
    fps: int = 8


# ----------------------------------------------------------------------------------------------- blocks


def frames_to_tensor(frames: NDArray[np.uint8], image_size: int) -> torch.Tensor:
    """``[..., T, H, W, 3]`` uint8 to ``[..., T, 3, S, S]`` floats in [0, 1], ``S = image_size`` (area)."""
    if frames.ndim < 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"need uint8 frames [..., T, H, W, 3], got {frames.dtype} {list(frames.shape)}")
    x = torch.from_numpy(np.ascontiguousarray(frames)).float() / 255
    lead = x.shape[:-3]
    x = x.reshape(-1, *x.shape[-3:]).permute(0, 3, 1, 2)  # [N, 3, H, W]
    if x.shape[-1] != image_size or x.shape[-2] != image_size:
        x = F.interpolate(x, size=(image_size, image_size), mode="area")
    return x.reshape(*lead, 3, image_size, image_size)


def visual_bank_feature(frames: NDArray[np.uint8]) -> NDArray[np.float32]:
    """Retrieval feature of clips ``[B, T, H, W, 3]`` uint8: the mean 8 x 8 colour image, ``[B, 192]``."""
    return frames_to_tensor(frames, 8).mean(1).flatten(1).numpy()


def _windows(frames: torch.Tensor, window: int) -> torch.Tensor:
    """``[T, 3, H, W]`` to ``[ceil(T / window), window, 3, H, W]``, the tail padded with the last frame."""
    count = -(-frames.shape[0] // window)
    pad = count * window - frames.shape[0]
    if pad:
        frames = torch.cat([frames, frames[-1:].expand(pad, *frames.shape[1:])])
    return frames.view(count, window, *frames.shape[1:])


def _sample_seed(seed: int, sample_id: str) -> int:
    return (seed + zlib.crc32(sample_id.encode())) % (2**63)


def _write(folder: Path, sample_id: str, audio: NDArray[np.float32], length: int) -> dict[str, Any]:
    """Save mono float32 audio cut or zero-padded to ``length`` samples; the prediction record."""
    audio = np.pad(audio[:length], (0, max(length - len(audio), 0))).astype(np.float32)
    path = folder / f"{sample_id}_audio.npy"
    np.save(path, audio)
    return {"id": sample_id, "audio": str(path)}


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
    ) -> None:
        super().__init__()
        if isinstance(network, TokenV2A) and codec is None:
            raise ValueError("a token network needs the codec that made its tokens")
        self.network, self.codec, self.vocoder = network, codec, vocoder
        self.sample_rate, self.fps, self.image_size = sample_rate, fps, image_size
        self.window_frames, self.num_steps, self.guidance, self.seed = (
            window_frames,
            num_steps,
            guidance,
            seed,
        )
        self.id, self.weights_hash = model_id, weights_hash

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
            raise ValueError(f"need one clip's frames [T, H, W, 3], got shape {list(frames.shape)}")
        windows = _windows(frames_to_tensor(frames, self.image_size), self.window_frames)  # [W, t, 3, s, s]
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

    def predict(self, task: Task, batch: Sequence[MediaItem]) -> list[dict[str, Any]]:
        """Generate and write each item's audio; ``{"id", "audio": path}`` per item."""
        folder = prediction_folder(task, self.id, ("v2a",), self.sample_rate, self.fps)
        out = []
        for item in batch:
            start, stop = item.inputs.audio
            audio = self.generate(item.frames, _sample_seed(self.seed, item.sample.id))
            out.append(_write(folder, item.sample.id, audio, stop - start))
        return out


class V2ARetrieval(nn.Module):
    """Retrieval baseline: the audio of the nearest bank video by :func:`visual_bank_feature`."""

    tasks: tuple[str, ...] = ("v2a",)
    features: torch.Tensor
    indices: torch.Tensor

    def __init__(
        self,
        bank_size: int,
        split: str,
        seed: int,
        duration: int,
        sample_rate: int,
        fps: int,
        model_id: str = "avikit/v2a-retrieval",
        weights_hash: str = "untrained",
    ) -> None:
        super().__init__()
        self.register_buffer("features", torch.zeros(bank_size, 192))  # [N, 192]
        self.register_buffer("indices", torch.zeros(bank_size, dtype=torch.int64))  # [N] clip indices
        self.split, self.data_seed, self.duration = split, seed, duration
        self.sample_rate, self.fps = sample_rate, fps
        self.id, self.weights_hash = model_id, weights_hash

    def fill(self, count: int | None = None) -> V2ARetrieval:
        """Compute the bank from AVSynth clips ``0 .. count - 1`` of the split (default: the bank's size)."""
        count = len(self.indices) if count is None else count
        config = self.synth_config()
        rows = [
            visual_bank_feature(generate(self.split, i, self.data_seed, config)[1].require_frames()[None])
            for i in range(count)
        ]
        self.features = torch.from_numpy(np.concatenate(rows))
        self.indices = torch.arange(count)
        return self

    def synth_config(self) -> SynthConfig:
        """The AVSynth world of the bank's clips."""
        return SynthConfig(duration=Fraction(self.duration), fps=self.fps, sample_rate=self.sample_rate)

    def nearest(self, frames: NDArray[np.uint8]) -> NDArray[np.int64]:
        """Bank clip index of the nearest video for each clip ``[B, T, H, W, 3]``."""
        query = torch.from_numpy(visual_bank_feature(frames))  # [B, 192]
        return self.indices[torch.cdist(query, self.features.float()).argmin(1)].numpy()

    def retrieve(self, index: int, length: int) -> NDArray[np.float32]:
        """The mono audio of bank clip ``index``, its first ``length`` samples."""
        if length > self.duration * self.sample_rate:
            raise ValueError(
                f"{self.id} retrieves {self.duration} s clips; an audio window of {length} samples is longer"
            )
        clip = generate(self.split, int(index), self.data_seed, self.synth_config())[1]
        return clip.require_waveform().mean(0)[:length].astype(np.float32)

    def predict(self, task: Task, batch: Sequence[MediaItem]) -> list[dict[str, Any]]:
        """Write each item's retrieved audio; ``{"id", "audio": path}`` per item."""
        folder = prediction_folder(task, self.id, ("v2a",), self.sample_rate, self.fps)
        out = []
        for item in batch:
            start, stop = item.inputs.audio
            index = self.nearest(item.frames[None])[0]
            out.append(_write(folder, item.sample.id, self.retrieve(index, stop - start), stop - start))
        return out


# ---------------------------------------------------------------------------------------------- build


def build_v2a_generator(cfg: V2AModelConfig) -> V2AGenerator:
    """Build an (untrained) packaged generator from its config."""
    if cfg.paradigm not in PARADIGMS:
        raise ValueError(f"unknown paradigm {cfg.paradigm!r}; choose one of {PARADIGMS}")
    net, vocoder = cfg.network, None
    codec: AudioCodec | None = None
    if cfg.paradigm == "flow":
        network: FlowV2A | TokenV2A = build_flow_v2a(net)
        vocoder = build_vocoder(cfg.vocoder) if cfg.vocoder is not None else None
    else:
        network = build_token_v2a(net, cfg.paradigm == "autoregressive")
        if net.tokenizer == "mel":
            if cfg.vocoder is None:
                raise ValueError("a mel tokenizer needs the vocoder that turns its mel into sound; set one")
            codec = build_mel_codec(net, cfg.vocoder)
        elif cfg.vocoder is not None:
            raise ValueError(f"the {cfg.paradigm} model decodes waveform-codec codes; it takes no vocoder")
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


def build_v2a_retrieval(cfg: RetrievalConfig) -> V2ARetrieval:
    """Build an empty retrieval bank (fill it with :meth:`V2ARetrieval.fill`)."""
    return V2ARetrieval(cfg.bank_size, cfg.split, cfg.seed, cfg.duration, cfg.sample_rate, cfg.fps)


def save_v2a(model: nn.Module, config: Any, out_dir: str | os.PathLike[str], half: bool = True) -> Path:
    """Save a generator or retrieval bank as ``config.json`` + ``model.safetensors`` (float16 by default).

    Float tensors are stored in half precision to keep the package small; loading casts them back.
    """
    kind = RETRIEVAL_KIND if isinstance(model, V2ARetrieval) else KIND
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


def from_pretrained(name_or_path: str | os.PathLike[str] = "v2a") -> V2AGenerator:
    """Load a packaged generator (``"v2a"``: MaskGIT, ``"v2a-ar"``, ``"v2a-flow"``), a folder or a hub id."""
    generator: V2AGenerator = _load(name_or_path, V2AModelConfig, build_v2a_generator, KIND)
    return generator


def retrieval_from_pretrained(name_or_path: str | os.PathLike[str] = "v2a-retrieval") -> V2ARetrieval:
    """Load the packaged retrieval bank (default ``"v2a-retrieval"``), a folder or a hub id."""
    bank: V2ARetrieval = _load(name_or_path, RetrievalConfig, build_v2a_retrieval, RETRIEVAL_KIND)
    return bank


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
        raise ValueError(
            f"{folder} carries no vocoder (it decodes with Griffin-Lim or a waveform codec); name a vocoder "
            "folder (avikit.models.vocoder.train_vocoder) or a package with one, such as 'v2a-flow'"
        )
    return found, config.vocoder


def load_v2a_ar() -> V2AGenerator:
    """The packaged autoregressive generator (registry name ``"v2a-ar"``)."""
    return from_pretrained("v2a-ar")


def load_v2a_flow() -> V2AGenerator:
    """The packaged flow-matching generator (registry name ``"v2a-flow"``)."""
    return from_pretrained("v2a-flow")
