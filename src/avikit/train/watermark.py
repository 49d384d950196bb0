"""Training recipe of the learned audio watermark (:mod:`avikit.models.watermark.learned`).

AudioSeal's recipe at laptop scale. Each step draws 0.5 s crops of AVSynth ``train`` audio (mono) and of
speech-like babble (:mod:`avikit.data.synth.speech`, seeds from 0), a random 16-bit message per crop, and:

1. the embedder makes the watermark; a random share of each crop keeps it (the whole crop, nothing, or
   1-3 random spans: the per-sample mask the detector must find);
2. one random augmentation of the batch: white noise (5-30 dB SNR), low-pass (2.5-6 kHz), high-pass
   (100-800 Hz), resampling through 8-12 kHz, speed 0.85-1.15 (the mask moves along), echo, volume,
   mixing with another crop (0-20 dB), a random crop, MP3 or AAC re-encoding (straight-through: the codec's
   error is added as a constant), or none;
3. losses: per-sample detection BCE against the mask; the message BCE of each crop's bit logits pooled
   (averaged) over its watermarked samples, which is how a clip's message is decoded; a masking loss that
   keeps each time-frequency bin of the watermark 10 dB under the host's, its weight rising from 0 over the
   first ``perceptual_ramp`` of the steps (so the message is found before the watermark is squeezed); and a
   penalty on the embedder's ``tanh`` input beyond +-1.5 (a saturated ``tanh`` passes no gradient, and the
   message is then never learned).

Example:
    >>> recipe = WatermarkRecipe.tiny()
    >>> recipe.steps, recipe.model.hidden
    (3, 16)
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from avikit import __version__
from avikit.data.synth.audio import render_audio
from avikit.data.synth.scene import sample_scene
from avikit.data.synth.speech import SPEECH_SEEDS, render_speech
from avikit.metrics.watermark_attacks import reencode
from avikit.models.watermark.learned import KIND, WatermarkNetConfig, WatermarkPair, build_watermark_pair
from avikit.nn import save_config, save_pretrained, seed_everything
from avikit.train.loops import StepLog, run_steps

__all__ = ["WatermarkRecipe", "load_watermark_audio", "pooled_message_loss", "train_watermark"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WatermarkRecipe:
    """The learned watermark's training run.

    Attributes:
        model: the networks' sizes.
        steps: optimisation steps.
        batch_size: crops per step.
        crop_seconds: seconds per crop.
        lr: AdamW peak learning rate (one-cycle schedule).
        synth_clips: AVSynth ``train`` clips (10 s each) in the pool.
        speech_clips: speech-like clips (10 s each) in the pool.
        perceptual_weight: weight of the masking loss (after its ramp).
        perceptual_ramp: share of the steps over which the masking loss's weight rises linearly from 0.
        message_weight: weight of the pooled message BCE.
        saturation_weight: weight of the penalty on the ``tanh`` input beyond +-1.5.
        codec_probability: chance per step of MP3/AAC re-encoding (slow: FFmpeg on every crop).
        seed: seed of initialisation, crops, messages and augmentations.
        threads: torch threads.
    """

    model: WatermarkNetConfig = field(default_factory=WatermarkNetConfig)
    steps: int = 2500
    batch_size: int = 8
    crop_seconds: float = 0.5
    lr: float = 3e-3
    synth_clips: int = 200
    speech_clips: int = 200
    perceptual_weight: float = 0.4
    perceptual_ramp: float = 0.15
    message_weight: float = 10.0
    saturation_weight: float = 1.0
    codec_probability: float = 0.08
    seed: int = 0
    threads: int = 1

    @classmethod
    def tiny(cls) -> WatermarkRecipe:
        """A few steps of tiny networks on a few clips (seconds)."""
        model = WatermarkNetConfig(channels=8, hidden=16, depth=1, skip_taps=32)
        return cls(model=model, steps=3, batch_size=2, synth_clips=2, speech_clips=2, codec_probability=0.0)


def load_watermark_audio(
    split: str, synth_clips: int, speech_clips: int, sample_rate: int = 16000
) -> np.ndarray:
    """Mono audio ``float32 [synth_clips + speech_clips, 10 * sample_rate]``: AVSynth clips, then speech."""
    if sample_rate != 16000:
        raise ValueError(
            f"AVSynth audio is 16 kHz; the watermark recipe needs sample_rate 16000, got {sample_rate}"
        )
    synth = [render_audio(sample_scene(split, i)).mean(0) for i in range(synth_clips)]
    speech = [render_speech(SPEECH_SEEDS[split] + i, 10.0, sample_rate) for i in range(speech_clips)]
    return np.stack([*synth, *speech]).astype(np.float32)


# ------------------------------------------------------------------------------------------- augmentation


def _masks(batch: int, length: int, gen: torch.Generator) -> torch.Tensor:
    """Per-crop watermark masks ``[B, 1, T]``: 10% none, 45% whole, 45% 1-3 random spans."""
    mask = torch.zeros(batch, 1, length)
    for b in range(batch):
        draw = float(torch.rand((), generator=gen))
        if draw < 0.1:
            continue
        if draw < 0.55:
            mask[b] = 1
            continue
        for _ in range(int(torch.randint(1, 4, (), generator=gen))):
            size = int(torch.randint(length // 10, length // 2, (), generator=gen))
            start = int(torch.randint(0, length - size, (), generator=gen))
            mask[b, :, start : start + size] = 1
    return mask


def _uniform(low: float, high: float, gen: torch.Generator) -> float:
    return low + (high - low) * float(torch.rand((), generator=gen))


def _band(audio: torch.Tensor, rate: int, low: float, high: float) -> torch.Tensor:
    """Zero-phase FFT filter keeping ``[low, high]`` Hz with 100 Hz cosine edges."""
    spectrum = torch.fft.rfft(audio)
    freqs = torch.fft.rfftfreq(audio.shape[-1], 1 / rate)
    keep = torch.sigmoid((freqs - low) / 25) * torch.sigmoid((high - freqs) / 25)
    return torch.fft.irfft(spectrum * keep, audio.shape[-1])


def _speed(audio: torch.Tensor, mask: torch.Tensor, factor: float) -> tuple[torch.Tensor, torch.Tensor]:
    length = round(audio.shape[-1] / factor)
    return (
        F.interpolate(audio, size=length, mode="linear", align_corners=False),
        F.interpolate(mask, size=length, mode="nearest"),
    )


def _codec(audio: torch.Tensor, rate: int, gen: torch.Generator) -> torch.Tensor:
    codec = "libmp3lame" if float(torch.rand((), generator=gen)) < 0.5 else "aac"
    bitrate = int(torch.randint(32, 129, (), generator=gen)) * 1000
    coded = [reencode(row.detach().numpy(), rate, codec, bitrate) for row in audio[:, 0]]
    return audio + (torch.from_numpy(np.stack(coded))[:, None] - audio).detach()  # straight-through


def augment(
    audio: torch.Tensor,
    mask: torch.Tensor,
    clean: torch.Tensor,
    rate: int,
    gen: torch.Generator,
    codec_p: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One random augmentation of a batch ``[B, 1, T]`` and its masks (module docstring)."""
    if float(torch.rand((), generator=gen)) < codec_p:
        return _codec(audio, rate, gen), mask
    kind = int(torch.randint(0, 10, (), generator=gen))
    if kind == 1:
        noise = torch.randn(audio.shape, generator=gen)
        snr = _uniform(5, 30, gen)
        power = audio.square().mean(-1, keepdim=True).detach()
        return audio + noise * (power / 10 ** (snr / 10)).sqrt(), mask
    if kind == 2:
        return _band(audio, rate, 0.0, _uniform(2500, 6000, gen)), mask
    if kind == 3:
        return _band(audio, rate, _uniform(100, 800, gen), rate), mask
    if kind == 4:
        low = int(audio.shape[-1] * _uniform(8000, 12000, gen) / rate)
        down = F.interpolate(audio, size=low, mode="linear", align_corners=False)
        return F.interpolate(down, size=audio.shape[-1], mode="linear", align_corners=False), mask
    if kind == 5:
        return _speed(audio, mask, _uniform(0.85, 1.15, gen))
    if kind == 6:
        delay = int(_uniform(0.05, 0.3, gen) * rate)
        return audio + _uniform(0.2, 0.5, gen) * F.pad(audio, (delay, 0))[..., : audio.shape[-1]], mask
    if kind == 7:
        return audio * _uniform(0.2, 2.0, gen), mask
    if kind == 8:
        other = clean.roll(1, 0)
        gain = audio.square().mean(-1, keepdim=True) / other.square().mean(-1, keepdim=True).clamp_min(1e-8)
        return audio + other * (gain.detach() / 10 ** (_uniform(0, 20, gen) / 10)).sqrt(), mask
    if kind == 9:
        keep = int(audio.shape[-1] * _uniform(0.5, 1.0, gen))
        start = int(torch.randint(0, audio.shape[-1] - keep + 1, (), generator=gen))
        return audio[..., start : start + keep], mask[..., start : start + keep]
    return audio, mask


# ------------------------------------------------------------------------------------------------ losses


def masking_loss(watermark: torch.Tensor, host: torch.Tensor, margin_db: float = 10.0) -> torch.Tensor:
    """Mean excess (in bels) of each STFT bin of the watermark over the host's bin minus ``margin_db``."""
    window = torch.hann_window(512)

    def power(x: torch.Tensor) -> torch.Tensor:
        return torch.stft(x[:, 0], 512, 128, window=window, return_complex=True).abs().square() + 1e-10

    return F.relu(torch.log10(power(watermark)) - torch.log10(power(host)) + margin_db / 10).mean()


def pooled_message_loss(logits: torch.Tensor, mask: torch.Tensor, bits: torch.Tensor) -> torch.Tensor:
    """BCE of each crop's bit logits ``[B, K, T]`` averaged over its watermarked samples (``mask [B, 1, T]``).

    Crops without a watermarked sample are left out; 0 when no crop has one.
    """
    count = mask.sum(-1)  # [B, 1]
    pooled = (logits * mask).sum(-1) / count.clamp_min(1.0)  # [B, K]
    per_crop = F.binary_cross_entropy_with_logits(pooled, bits.float(), reduction="none").mean(1)  # [B]
    marked = (count[:, 0] > 0).float()
    return (per_crop * marked).sum() / marked.sum().clamp_min(1.0)


def watermark_losses(
    pair: WatermarkPair,
    clean: torch.Tensor,
    recipe: WatermarkRecipe,
    gen: torch.Generator,
    progress: float = 1.0,
) -> dict[str, torch.Tensor]:
    """The step's losses on a batch of clean crops ``[B, 1, T]`` (``"loss"`` is their weighted sum).

    ``progress`` is the share of the run done (it sets the masking loss's ramp).
    """
    batch, length = clean.shape[0], clean.shape[-1]
    bits = torch.randint(0, 2, (batch, recipe.model.num_bits), generator=gen)
    activation, level = pair.embedder.activation(clean, bits)
    watermark = pair.embedder.shape(activation, level)[..., :length]
    mask = _masks(batch, length, gen)
    attacked, moved = augment(clean + mask * watermark, mask, clean, recipe.model.sample_rate, gen,
                              recipe.codec_probability)  # fmt: skip
    logits = pair.detector(attacked)  # [B, 1 + K, T']
    detection = F.binary_cross_entropy_with_logits(logits[:, 0], moved[:, 0])
    message = pooled_message_loss(logits[:, 1:], moved, bits)
    perceptual = masking_loss(watermark, clean)
    saturation = F.relu(activation.abs() - 1.5).square().mean()
    ramp = min(1.0, progress / recipe.perceptual_ramp) if recipe.perceptual_ramp > 0 else 1.0
    loss = (
        detection
        + recipe.message_weight * message
        + ramp * recipe.perceptual_weight * perceptual
        + recipe.saturation_weight * saturation
    )
    return {
        "loss": loss,
        "detection": detection,
        "message": message,
        "perceptual": perceptual,
        "saturation": saturation,
    }


# ------------------------------------------------------------------------------------------------ driver


def train_watermark(recipe: WatermarkRecipe, out: str | Path, show_progress: bool = True) -> dict[str, Any]:
    """Train the pair on the recipe's pool and write it to ``out`` (``config.json`` + ``model.safetensors``).

    Also writes ``recipe.json``, ``train_loss.jsonl``, ``train_loss.svg`` and ``metrics.json`` (seconds,
    the last 100 steps' mean losses). Returns the metrics.
    """
    start, folder = time.perf_counter(), Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(recipe.threads)
    gen = seed_everything(recipe.seed)
    pool = torch.from_numpy(load_watermark_audio("train", recipe.synth_clips, recipe.speech_clips))[:, None]
    pair = build_watermark_pair(recipe.model)
    length = int(recipe.crop_seconds * recipe.model.sample_rate)
    optimizer = torch.optim.AdamW(pair.parameters(), lr=recipe.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, recipe.lr, total_steps=recipe.steps, pct_start=0.05
    )
    parts: list[dict[str, float]] = []

    def step() -> torch.Tensor:
        rows = torch.randint(0, len(pool), (recipe.batch_size,), generator=gen)
        starts = torch.randint(0, pool.shape[-1] - length + 1, (recipe.batch_size,), generator=gen)
        clean = torch.stack([pool[r, :, s : s + length] for r, s in zip(rows, starts, strict=True)])
        losses = watermark_losses(pair, clean, recipe, gen, len(parts) / recipe.steps)
        parts.append({k: float(v.detach()) for k, v in losses.items()})
        return losses["loss"]

    report = StepLog("train", folder, "watermark: training loss", show_progress)
    run_steps(pair, (optimizer, schedule), step, recipe.steps, report, clip_norm=1.0)
    save_pretrained(pair, recipe.model, folder, KIND)
    save_config(recipe, folder / "recipe.json")
    tail = parts[-100:]
    metrics = {
        "recipe": "watermark",
        "steps": recipe.steps,
        "last_100_steps": {k: float(np.mean([p[k] for p in tail])) for k in tail[0]},
        "seconds": round(time.perf_counter() - start, 1),
        "avikit_version": __version__,
        "torch_version": torch.__version__,
    }
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    logger.info("watermark recipe done in %.1f s", metrics["seconds"])
    return metrics
