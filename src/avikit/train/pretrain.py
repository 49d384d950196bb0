"""Pretraining the joint audio-visual encoder without labels on AVSynth (contrastive + masked reconstruction).

The encoder itself (config, blocks, model, ``from_pretrained``) is :mod:`avikit.models.encoders.av_encoder`.
Pretraining follows CAV-MAE (Gong et al., ICLR 2023) at laptop scale:

- contrastive: symmetric InfoNCE between the unmasked audio and visual embeddings, per clip and per segment;
- masked reconstruction: most patches of both modalities are hidden; the encoders see the rest, and small
  decoders, given the fused segment tokens of their own modality (which have read the other modality),
  predict the hidden log-Mel and pixel patches.

File order: config dataclasses, data, trainer.

Example:
    >>> import torch
    >>> cfg = PretrainConfig.tiny()
    >>> model = build_av_encoder(cfg.model)  # untrained: retrieval among 4 clips near chance
    >>> mel = torch.randn(4, cfg.model.n_mels, 401)  # 4 s of log-Mel per clip
    >>> frames = torch.randint(0, 256, (4, 4, 3, 64, 64), dtype=torch.uint8)  # one frame per second
    >>> scores = evaluate_pretrained_retrieval(model, mel, frames)
    >>> scores["chance_r1"], scores["num_clips"]
    (0.25, 4.0)
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from avikit import __version__
from avikit.data.synth import SynthConfig, iter_samples
from avikit.media import log_mel
from avikit.metrics.retrieval import evaluate_retrieval
from avikit.models.encoders.av_encoder import (
    KIND,
    AVEncoderConfig,
    AVJointEncoder,
    build_av_encoder,
)
from avikit.nn import (
    LossLog,
    cosine_similarity_matrix,
    count_parameters,
    make_progress,
    plot_losses_svg,
    save_config,
    save_pretrained,
    seed_everything,
    segment_frame_indices,
)

__all__ = [
    "PretrainConfig",
    "PretrainResult",
    "TrainConfig",
    "evaluate_pretrained_retrieval",
    "load_avsynth_tensors",
    "pretrain",
]

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class TrainConfig:
    """Pretraining schedule and objectives (AVSynth clips are made in memory from ``data_seed``)."""

    train_clips: int = 320
    val_clips: int = 64
    epochs: int = 8
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 0.05
    warmup_steps: int = 10
    temperature: float = 0.2
    segment_weight: float = 0.5
    reconstruction_weight: float = 0.5
    audio_mask_ratio: float = 0.4
    visual_mask_ratio: float = 0.6
    seed: int = 0
    data_seed: int = 0
    clip_seconds: int = 10


@dataclass(frozen=True)
class PretrainConfig:
    """Everything a pretraining run needs: the model sizes and the schedule."""

    model: AVEncoderConfig = field(default_factory=AVEncoderConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    @classmethod
    def tiny(cls) -> PretrainConfig:
        """A configuration for tests: 4 s clips, 4 x 4 patches per frame, small widths; runs in seconds."""
        model = AVEncoderConfig(n_mels=32, image_size=64, patch_size=16, dim=32, heads=2, embed_dim=16)
        model = replace(model, audio_depth=1, visual_depth=1, decoder_dim=32)
        train = TrainConfig(train_clips=96, val_clips=32, epochs=10, batch_size=16, clip_seconds=4)
        return cls(model=model, train=train)


# ------------------------------------------------------------------------------------------------- data


def load_avsynth_tensors(
    split: str, count: int, cfg: PretrainConfig, start: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Make AVSynth clips in memory and return model inputs.

    Each clip gives its log-Mel (channel mean) and ``frames_per_segment`` evenly spaced frames per second,
    resized to the encoder's ``image_size``.

    Returns:
        ``mel float32 [N, M, T_mel]`` and ``frames uint8 [N, S * frames_per_segment, 3, H, W]``.
    """
    m, seconds = cfg.model, cfg.train.clip_seconds
    synth = SynthConfig(duration=Fraction(seconds), sample_rate=m.sample_rate)
    mels, frames = [], []
    for _, clip in iter_samples(split, count, seed=cfg.train.data_seed, config=synth, start=start):
        assert clip.frames is not None and clip.waveform is not None  # AVSynth clips have both
        mono = torch.from_numpy(clip.waveform).mean(dim=0)  # [N]
        mels.append(log_mel(mono, m.sample_rate, m.n_mels, hop_length=m.hop_length))  # [M, T_mel]
        picked = segment_frame_indices(clip.num_frames, seconds, m.frames_per_segment)
        x = torch.from_numpy(clip.frames[picked]).permute(0, 3, 1, 2)  # [T, 3, H, W] uint8
        if x.shape[-1] != m.image_size:
            x = (
                F.interpolate(x.float(), size=(m.image_size, m.image_size), mode="area")
                .round()
                .to(torch.uint8)
            )
        frames.append(x)
    return torch.stack(mels), torch.stack(frames)


# ---------------------------------------------------------------------------------------------- trainer


@dataclass(frozen=True)
class PretrainResult:
    """Where a pretraining run wrote its files, and its numbers."""

    out_dir: Path
    metrics: dict[str, Any]


def _embed(
    model: AVJointEncoder, mel: torch.Tensor, frames: torch.Tensor, batch: int = 32
) -> tuple[torch.Tensor, ...]:
    audio, visual = [], []
    with torch.no_grad():
        for i in range(0, len(mel), batch):
            feats = model.encode(mel[i : i + batch], frames[i : i + batch].float() / 255)
            audio.append(feats.audio_embedding)
            visual.append(feats.visual_embedding)
    return torch.cat(audio), torch.cat(visual)


def evaluate_pretrained_retrieval(
    model: AVJointEncoder, mel: torch.Tensor, frames: torch.Tensor
) -> dict[str, float]:
    """Audio-to-visual and visual-to-audio retrieval among ``N`` held-out clips (chance R@1 is ``1/N``)."""
    was_training = model.training
    model.eval()
    audio, visual = _embed(model, mel, frames)
    model.train(was_training)
    scores = evaluate_retrieval(cosine_similarity_matrix(audio, visual).numpy())
    return {**scores, "chance_r1": 1.0 / len(mel), "num_clips": float(len(mel))}


def _lr_at(step: int, total: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps)
    return cfg.lr * 0.5 * (1.0 + math.cos(math.pi * progress))


def _train_step(
    model: AVJointEncoder, batch: tuple[torch.Tensor, torch.Tensor], cfg: TrainConfig, gen: torch.Generator
) -> dict[str, torch.Tensor]:
    mel, frames = batch[0], batch[1].float() / 255  # [B, M, T_mel], [B, T, 3, H, W]
    losses = model.pretrain_losses(
        mel, frames, cfg.temperature, cfg.audio_mask_ratio, cfg.visual_mask_ratio, gen
    )
    losses["loss"] = (
        losses["clip_nce"]
        + cfg.segment_weight * losses["segment_nce"]
        + cfg.reconstruction_weight * (losses["audio_mae"] + losses["visual_mae"])
    )
    return losses


def pretrain(
    cfg: PretrainConfig, out_dir: str | os.PathLike[str], show_progress: bool = True
) -> PretrainResult:
    """Pretrain the joint encoder on AVSynth ``train`` and measure retrieval on held-out ``val`` clips.

    Writes to ``out_dir``: ``model.safetensors`` and ``config.json`` (for :func:`from_pretrained`),
    ``pretrain_config.json``, ``loss.jsonl`` (one record per step), ``loss.svg`` and ``metrics.json``.
    Seeded by ``cfg.train.seed``: the same config gives the same weights on the same machine.
    """
    out, t = Path(out_dir), cfg.train
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    gen = seed_everything(t.seed)
    train_mel, train_frames = load_avsynth_tensors("train", t.train_clips, cfg)
    val_mel, val_frames = load_avsynth_tensors("val", t.val_clips, cfg)
    model = build_av_encoder(cfg.model)
    before = evaluate_pretrained_retrieval(model, val_mel, val_frames)
    optimizer = torch.optim.AdamW(model.parameters(), lr=t.lr, weight_decay=t.weight_decay)
    steps_per_epoch = max(1, t.train_clips // t.batch_size)
    total = t.epochs * steps_per_epoch
    model.train()
    with LossLog(out / "loss.jsonl") as log, make_progress(disable=not show_progress) as progress:
        task = progress.add_task("pretrain", total=total, info="")
        for step in range(total):
            if step % steps_per_epoch == 0:
                order = torch.randperm(t.train_clips, generator=gen)
            idx = order[(step % steps_per_epoch) * t.batch_size :][: t.batch_size]
            for group in optimizer.param_groups:
                group["lr"] = _lr_at(step, total, t)
            losses = _train_step(model, (train_mel[idx], train_frames[idx]), t, gen)
            optimizer.zero_grad(set_to_none=True)
            losses["loss"].backward()
            optimizer.step()
            values = {k: float(v.detach()) for k, v in losses.items()}
            log.write(step=step + 1, epoch=step // steps_per_epoch + 1, **values)
            progress.update(task, advance=1, info=f"loss {values['loss']:.3f} nce {values['clip_nce']:.3f}")
    model.eval()
    after = evaluate_pretrained_retrieval(model, val_mel, val_frames)
    plot_losses_svg([{k: r[k] for k in r if k != "epoch"} for r in log.records], out / "loss.svg")
    save_pretrained(model, cfg.model, out, KIND)
    save_config(cfg, out / "pretrain_config.json")
    metrics = _metrics(model, before, after, log.records, time.perf_counter() - start, t.seed)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    logger.info(
        "pretraining done in %.1f s: val R@1 a->v %.3f", metrics["seconds"], after["audio_to_video_r1"]
    )
    return PretrainResult(out, metrics)


def _metrics(
    model: AVJointEncoder,
    before: dict[str, float],
    after: dict[str, float],
    records: list[dict[str, float]],
    seconds: float,
    seed: int,
) -> dict[str, Any]:
    first, last = records[0], records[-1]
    return {
        "val_retrieval": after,
        "val_retrieval_untrained": before,
        "first_step": first,
        "last_step": last,
        "num_parameters": count_parameters(model),
        "seconds": round(seconds, 2),
        "seed": seed,
        "avikit_version": __version__,
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
    }
