"""The packaged neural audio codec: a reference model for the ``codec-reconstruction`` task.

An :class:`avikit.nn.codec.AudioCodec` (conv encoder, residual VQ with EMA codebooks, conv decoder; the
EnCodec / DAC family without adversarial losses) trained on AVSynth ``train`` clips with an L1 waveform loss
plus a multi-scale log-mel loss. :class:`CodecModel` implements the suite's ``Model`` protocol: each clip's
audio (channels averaged) is encoded to codes and decoded back at full length, and the reconstruction is
written as a ``.npy`` file under the task's ``scratch`` folder.

File order: config dataclasses, builder, model, ``from_pretrained``, trainer.

Example:
    >>> model = from_pretrained("codec")
    >>> model.tasks, model.codec.frame_rate, model.bitrate
    (('codec-reconstruction',), 250.0, 16000.0)
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch

from avikit.data.synth import SynthConfig, generate
from avikit.metrics.reconstruction import compute_mel_distance, compute_si_sdr
from avikit.models.protocol import Item
from avikit.models.training_loops import draw_crops, run_steps
from avikit.nn.codec import AudioCodec, build_audio_codec
from avikit.nn.objectives import MultiScaleMelLoss
from avikit.nn.quantize import VectorQuantizer
from avikit.nn.tokenizer import bitrate
from avikit.nn.weights import WEIGHTS_NAME, resolve_pretrained, save_pretrained, weights_sha256
from avikit.nn.weights import from_pretrained as load_pretrained
from avikit.tasks import Task
from avikit.tasks.generation import prediction_folder

__all__ = [
    "KIND",
    "CodecConfig",
    "CodecModel",
    "CodecTrainConfig",
    "build_codec",
    "evaluate_codec",
    "from_pretrained",
    "train_codec",
]

log = logging.getLogger(__name__)

KIND = "avikit.codec"
WEIGHTS_DIR = Path(__file__).parent / "weights"
"""Folder of the weights shipped with the package (this model's are in ``codec/``)."""


@dataclass(frozen=True)
class CodecConfig:
    """Codec sizes: ``sample_rate / prod(strides)`` code steps per second, ``num_codebooks`` codes each."""

    sample_rate: int = 16000
    strides: tuple[int, ...] = (4, 4, 4)
    base: int = 16
    latent_dim: int = 32
    num_codebooks: int = 8
    codebook_size: int = 256


@dataclass(frozen=True)
class CodecTrainConfig:
    """The training recipe of the packaged codec (AVSynth ``train`` clips are made in memory)."""

    model: CodecConfig = field(default_factory=CodecConfig)
    num_clips: int = 192
    clip_seconds: int = 10
    steps: int = 4000
    batch_size: int = 16
    crop_samples: int = 16000
    learning_rate: float = 3e-3
    ema_decay: float = 0.9
    seed: int = 0


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
            raise ValueError(f"num_codebooks must lie in [1, {codec.num_codebooks}], got {num_codebooks}")
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
        folder = prediction_folder(task, self.id, self.tasks, self.codec.sample_rate)
        out = []
        for item in batch:  # clips may differ in length: one at a time
            waveform = np.asarray(item.waveform, dtype=np.float32)
            if waveform.ndim != 2 or waveform.shape[1] == 0:
                raise ValueError(
                    f"{item.sample.id}: waveform must be [C, N] with N > 0, got {waveform.shape}"
                )
            decoded = self.reconstruct(torch.from_numpy(waveform)[None])[0].numpy()  # [1, N]
            path = folder / f"{item.sample.id}_audio.npy"
            np.save(path, decoded.astype(np.float32))
            out.append({"id": item.sample.id, "audio": str(path)})
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


def _training_audio(cfg: CodecTrainConfig) -> torch.Tensor:
    """Mono audio ``[N, 1, S]`` of the first ``num_clips`` AVSynth ``train`` clips."""
    synth = SynthConfig(duration=Fraction(cfg.clip_seconds), sample_rate=cfg.model.sample_rate)
    clips = [generate("train", index, seed=cfg.seed, config=synth)[1] for index in range(cfg.num_clips)]
    return torch.stack([torch.from_numpy(c.require_waveform().mean(0, keepdims=True)) for c in clips])


def train_codec(cfg: CodecTrainConfig, out_dir: str | os.PathLike[str], device: str = "cpu") -> Path:
    """Train the codec and save it with :func:`avikit.nn.weights.save_pretrained` (loadable by name or path).

    Adam with cosine decay on random 1 s crops, L1 + multi-scale mel loss plus the commitment loss, EMA
    codebooks with dead-code restart. Writes ``config.json``, ``model.safetensors`` and ``train_log.json``
    (recipe, seconds, loss every 100 steps) into ``out_dir``.
    """
    out = Path(out_dir)
    torch.manual_seed(cfg.seed)
    audio = _training_audio(cfg).to(device)
    codec = build_codec(cfg.model).to(device)
    for module in codec.modules():
        if isinstance(module, VectorQuantizer):
            module.decay = cfg.ema_decay
    loss_fn = MultiScaleMelLoss(cfg.model.sample_rate)
    optimizer = torch.optim.Adam(codec.parameters(), lr=cfg.learning_rate)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(cfg.steps, 1))
    generator = torch.Generator().manual_seed(cfg.seed)
    curve: list[list[float]] = []
    start = time.perf_counter()

    def step_loss() -> torch.Tensor:
        target = draw_crops(audio, cfg.batch_size, cfg.crop_samples, generator)
        reconstruction, _, losses = codec(target)
        return loss_fn(reconstruction, target) + losses["commitment"]

    def on_step(step: int, loss: float) -> None:
        if step % 100 == 0 or step == cfg.steps - 1:
            curve.append([step, loss])
            log.info("codec step %d loss %.4f", step, loss)

    run_steps(codec, (optimizer, schedule), step_loss, cfg.steps, on_step=on_step)
    codec = codec.cpu().eval()
    save_pretrained(codec, cfg.model, out, kind=KIND)
    record = {"recipe": asdict(cfg), "device": device, "seconds": time.perf_counter() - start, "loss": curve}
    (out / "train_log.json").write_text(json.dumps(record) + "\n", encoding="utf-8")
    return out
