"""Training the packaged waveform codec of :mod:`avikit.models.tokenizers.codec` on AVSynth audio.

Example:
    >>> CodecTrainConfig().steps > 0
    True
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import torch

from avikit.data.synth import SynthConfig, generate
from avikit.models.tokenizers.codec import KIND, CodecConfig, build_codec
from avikit.nn.objectives import MultiScaleMelLoss
from avikit.nn.quantize import VectorQuantizer
from avikit.nn.weights import save_pretrained
from avikit.train.loops import draw_crops, run_steps

__all__ = ["CodecTrainConfig", "train_codec"]

log = logging.getLogger(__name__)


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
