"""The packaged neural audio codec: a reference model for the ``codec-reconstruction`` task.

An :class:`avikit.nn.codec.AudioCodec` (conv encoder, residual VQ with EMA codebooks, conv decoder; the
EnCodec / DAC family without adversarial losses) trained on AVSynth ``train`` clips with an L1 waveform loss
plus a multi-scale log-mel loss. :class:`CodecModel` implements the suite's ``Model`` protocol: each clip's
audio (channels averaged) is encoded to codes and decoded back at full length, and the reconstruction is
written as a ``.npy`` file in the item's ``output_dir``.

File order: config dataclasses, builder, model, ``from_pretrained``, trainer.

Example:
    >>> model = from_pretrained("codec")
    >>> model.tasks, model.codec.frame_rate, model.bitrate
    (('codec-reconstruction',), 250.0, 16000.0)
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from avikit.data.synth import SynthConfig, generate
from avikit.errors import UsageError
from avikit.metrics.reconstruction import compute_mel_distance, compute_si_sdr
from avikit.models.packaged import WEIGHTS_DIR
from avikit.models.protocol import Item
from avikit.nn.codec import AudioCodec, build_audio_codec
from avikit.nn.tokenizer import bitrate
from avikit.nn.weights import WEIGHTS_NAME, resolve_pretrained, weights_sha256
from avikit.nn.weights import from_pretrained as load_pretrained
from avikit.tasks import Task
from avikit.tasks.generation import prediction_folder

__all__ = ["KIND", "CodecConfig", "CodecModel", "build_codec", "evaluate_codec", "from_pretrained"]


KIND = "avikit.codec"


@dataclass(frozen=True)
class CodecConfig:
    """Codec sizes: ``sample_rate / prod(strides)`` code steps per second, ``num_codebooks`` codes each."""

    sample_rate: int = 16000
    strides: tuple[int, ...] = (4, 4, 4)
    base: int = 16
    latent_dim: int = 32
    num_codebooks: int = 8
    codebook_size: int = 256


def build_codec(cfg: CodecConfig) -> AudioCodec:
    """Build the codec of ``cfg`` (with quantizer dropout, so any codebook count decodes)."""
    return build_audio_codec(
        sample_rate=cfg.sample_rate,
        strides=cfg.strides,
        base=cfg.base,
        latent_dim=cfg.latent_dim,
        num_codebooks=cfg.num_codebooks,
        codebook_size=cfg.codebook_size,
    )


class CodecModel:
    """The codec as a ``Model``: ``codec-reconstruction`` predictions written as ``.npy`` files.

    Attributes:
        id: ``"avikit/codec"``.
        weights_hash: sha256 of the weights file.
        tasks: ``("codec-reconstruction",)``.
        codec: the :class:`AudioCodec` in eval mode.
        num_codebooks: codebooks used to encode (at most the codec's).
    """

    tasks: tuple[str, ...] = ("codec-reconstruction",)

    def __init__(
        self,
        codec: AudioCodec,
        weights_hash: str = "untrained",
        num_codebooks: int | None = None,
        model_id: str = "avikit/codec",
    ) -> None:
        used = codec.num_codebooks if num_codebooks is None else num_codebooks
        if not 1 <= used <= codec.num_codebooks:
            raise UsageError(f"num_codebooks must lie in [1, {codec.num_codebooks}], got {num_codebooks}")
        self.codec, self.num_codebooks = codec.eval(), used
        self.id, self.weights_hash = model_id, weights_hash

    @property
    def bitrate(self) -> float:
        """Bits per second of the codes at ``num_codebooks``."""
        return bitrate(self.codec, self.num_codebooks)

    def reconstruct(self, waveform: torch.Tensor) -> torch.Tensor:
        """Encode and decode ``waveform [B, C, N]``: mono reconstruction ``[B, 1, N]``."""
        with torch.no_grad():
            mono = waveform.float().mean(1, keepdim=True)  # [B, 1, N]
            codes = self.codec.encode(mono, self.num_codebooks)  # [B, Q, ceil(N / hop)]
            return self.codec.decode(codes)[..., : waveform.shape[-1]]

    def predict(self, task: Task, batch: Sequence[Item]) -> list[dict[str, Any]]:
        """Reconstruct each item's whole audio window; ``{"id", "audio": path of a float32 [1, N] .npy}``."""
        folder = prediction_folder(task, batch, self.id, self.tasks, self.codec.sample_rate)
        out = []
        for item in batch:  # clips may differ in length: one at a time
            waveform = np.asarray(item.waveform, dtype=np.float32)
            if waveform.ndim != 2 or waveform.shape[1] == 0:
                raise UsageError(f"{item.id}: waveform must be [C, N] with N > 0, got {waveform.shape}")
            decoded = self.reconstruct(torch.from_numpy(waveform)[None])[0].numpy()  # [1, N]
            path = folder / f"{item.id}_audio.npy"
            np.save(path, decoded.astype(np.float32))
            out.append({"id": item.id, "audio": str(path)})
        return out


def from_pretrained(
    name_or_path: str | os.PathLike[str] = "codec",
    num_codebooks: int | None = None,
    revision: str | None = None,
) -> CodecModel:
    """Load the codec from a packaged name (default ``"codec"``), a folder or a hub id, in eval mode.

    Args:
        name_or_path: packaged name, local folder with ``config.json`` and ``model.safetensors``, or hub id.
        num_codebooks: codebooks to encode with (default: all; fewer gives a lower bitrate).
        revision: hub revision.
    """
    folder = resolve_pretrained(name_or_path, [WEIGHTS_DIR], revision)
    codec, _ = load_pretrained(folder, CodecConfig, build_codec, KIND)
    return CodecModel(codec, weights_sha256(folder / WEIGHTS_NAME), num_codebooks)


def evaluate_codec(
    model: CodecModel, num_clips: int = 16, split: str = "test", seed: int = 0
) -> dict[str, float]:
    """Reconstruct AVSynth clips (10 s, 16 kHz, as in the benchmark) and score them against the originals.

    Returns:
        mean ``mel_distance`` (lower is better) and ``si_sdr`` (dB), ``seconds_per_clip`` (median time of one
        encode + decode on this machine), ``bitrate`` (bit/s) and ``num_clips``.
    """
    references, estimates, seconds = [], [], []
    for index in range(num_clips):
        clip = generate(split, index, seed=seed, config=SynthConfig(sample_rate=model.codec.sample_rate))[1]
        waveform = torch.from_numpy(clip.require_waveform())[None]  # [1, C, N]
        begin = time.perf_counter()
        estimates.append(model.reconstruct(waveform)[0, 0].numpy())
        seconds.append(time.perf_counter() - begin)
        references.append(waveform[0].mean(0).numpy())
    reference, estimate = np.stack(references), np.stack(estimates)
    return {
        "mel_distance": float(np.mean(compute_mel_distance(reference, estimate, model.codec.sample_rate))),
        "si_sdr": float(np.mean(compute_si_sdr(reference, estimate))),
        "seconds_per_clip": float(np.median(seconds)),
        "bitrate": model.bitrate,
        "num_clips": num_clips,
    }
