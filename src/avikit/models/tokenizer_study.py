"""The tokenizer study: how token rate, codebook size and count trade fidelity, bitrate and alignment.

Trains tiny audio codecs (a few token rate / codebook size pairs, with quantizer dropout so each is scored
at every codebook count) and one frame tokenizer on AVSynth, on CPU, then measures on held-out clips:

- reconstruction: mel distance and SI-SDR for audio (``avikit.metrics.reconstruction``), PSNR/SSIM for frames,
  next to two reference points: silence and white noise of the test clips' loudness;
- bitrate: ``frame_rate * Q * log2(K)`` bits per second;
- codebook usage and perplexity of the codes;
- audio-visual alignment of the tokens: a ridge map from audio bag-of-tokens to video bag-of-tokens is fitted
  on the training clips, and each test audio retrieves its video among the test clips (R@1, chance 1/N).

The codecs train on 1 s crops with an L1 waveform loss plus a multi-scale log-mel loss (FFT 256/512/1024),
Adam with cosine decay, and EMA codebooks with a fast decay (0.9) so that unused codewords are restarted on
batch vectors within a few steps. Without adversarial losses the decoders match the spectrum before the phase,
so SI-SDR stays low at low token rates while mel distance separates the configurations.

Results go to ``tokenizer_study.json``, ``tokenizer_study.md`` and ``tokenizer_study.svg`` (bitrate against
mel distance, one line per codec).
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from avikit.data.synth import SynthConfig, generate
from avikit.media.mel import mel_filterbank
from avikit.metrics.reconstruction import compute_mel_distance, compute_psnr, compute_si_sdr, compute_ssim
from avikit.nn.codec import AudioCodec, build_audio_codec
from avikit.nn.quantize import VectorQuantizer, codebook_usage
from avikit.nn.tokenizer import bitrate
from avikit.nn.visual_tokenizer import VisualTokenizer, build_visual_tokenizer

__all__ = ["MultiScaleMelLoss", "StudyConfig", "run_tokenizer_study"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StudyConfig:
    """Knobs of the study; the defaults run in about three minutes on one busy CPU core.

    Attributes:
        num_train: AVSynth ``train`` clips to train on.
        num_test: AVSynth ``test`` clips to score.
        duration: clip length in seconds.
        image_size: frame size in pixels.
        codecs: one ``(strides, codebook_size)`` pair per codec; its token rate is ``16000 / prod(strides)``.
        num_codebooks: codebooks of each codec; scored at 1 .. this many.
        steps: optimisation steps per audio codec.
        visual_steps: optimisation steps of the frame tokenizer.
        batch_size: crops per step.
        crop_samples: audio crop length in samples (16000 = 1 s).
        learning_rate: Adam's initial learning rate (cosine decay to zero).
        ema_decay: decay of the EMA codebooks (fast, so dead codewords restart early).
        num_threads: torch intra-op threads while training (1 is fastest on a shared machine).
        seed: seed of data order and initialisation.
    """

    num_train: int = 24
    num_test: int = 12
    duration: int = 2
    image_size: int = 32
    codecs: tuple[tuple[tuple[int, ...], int], ...] = (((4, 4, 4), 64), ((4, 4, 16), 64), ((4, 4, 16), 512))
    num_codebooks: int = 4
    steps: int = 500
    visual_steps: int = 200
    batch_size: int = 4
    crop_samples: int = 16000
    learning_rate: float = 3e-3
    ema_decay: float = 0.9
    num_threads: int = 1
    seed: int = 0


def _load_split(split: str, count: int, config: StudyConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Mono audio ``[N, 1, S]`` and frames ``[N, T, 3, H, W]`` in [0, 1] of AVSynth clips."""
    synth = SynthConfig(duration=Fraction(config.duration), size=config.image_size)
    audio, video = [], []
    for index in range(count):
        _, clip = generate(split, index, seed=config.seed, config=synth)[:2]
        audio.append(torch.from_numpy(clip.require_waveform().mean(0, keepdims=True)))
        video.append(torch.from_numpy(clip.require_frames()).permute(0, 3, 1, 2).float() / 255)
    return torch.stack(audio), torch.stack(video)


class MultiScaleMelLoss(nn.Module):
    """L1 on the waveform plus the mean L1 of natural-log mels at FFT sizes 256/512/1024 (hop = FFT / 4)."""

    filterbanks: dict[int, torch.Tensor]

    def __init__(
        self,
        sample_rate: int = 16000,
        scales: tuple[tuple[int, int], ...] = ((256, 32), (512, 64), (1024, 64)),
    ) -> None:
        super().__init__()
        self.filterbanks = {
            n_fft: torch.from_numpy(mel_filterbank(sample_rate, n_fft, n_mels).copy()).float()
            for n_fft, n_mels in scales
        }

    def _log_mel(self, waveform: torch.Tensor, n_fft: int) -> torch.Tensor:
        window = torch.hann_window(n_fft, device=waveform.device)
        spec = torch.stft(waveform.flatten(0, 1), n_fft, n_fft // 4, window=window, return_complex=True)
        return torch.log(self.filterbanks[n_fft] @ spec.abs() + 1e-5)  # [B*C, n_mels, frames]

    def forward(self, reconstruction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Loss of ``reconstruction`` against ``target``, both ``[B, C, N]``."""
        mel = sum(
            (self._log_mel(reconstruction, n) - self._log_mel(target, n)).abs().mean()
            for n in self.filterbanks
        )
        return (reconstruction - target).abs().mean() + mel / len(self.filterbanks)


def _train(model: nn.Module, batches: Any, config: StudyConfig, steps: int, loss_fn: Any) -> dict[str, Any]:
    """Adam with cosine decay for ``steps`` on ``batches()``; returns seconds and the loss curve."""
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(steps, 1))
    for module in model.modules():  # a fast EMA lets dead codewords restart within a few steps
        if isinstance(module, VectorQuantizer):
            module.decay = config.ema_decay
    model.train()
    start, curve = time.perf_counter(), []
    for _ in range(steps):
        target = batches()
        reconstruction, _, losses = model(target)
        loss = loss_fn(reconstruction, target) + sum(losses.values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        curve.append(float(loss.detach()))
    model.eval()
    return {"seconds": time.perf_counter() - start, "loss_curve": curve}


def _audio_batches(audio: torch.Tensor, config: StudyConfig, generator: torch.Generator) -> Any:
    def draw() -> torch.Tensor:
        rows = torch.randint(0, len(audio), (config.batch_size,), generator=generator)
        starts = torch.randint(
            0, audio.shape[-1] - config.crop_samples + 1, (config.batch_size,), generator=generator
        )
        return torch.stack(
            [audio[r, :, s : s + config.crop_samples] for r, s in zip(rows, starts, strict=True)]
        )

    return draw


def _histograms(codes: torch.Tensor, cardinality: int) -> np.ndarray:
    """Bag of tokens per clip ``[N, Q * K]``, each codebook's histogram L1-normalised, then square-rooted."""
    counts = torch.stack(
        [torch.bincount(book, minlength=cardinality) for book in codes.flatten(2).flatten(0, 1)]
    )
    counts = counts.view(codes.shape[0], -1).double()  # [N, Q*K]
    return np.sqrt((counts / counts.sum(1, keepdim=True) * codes.shape[1]).numpy())


def _retrieval_r1(train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray]) -> float:
    """Fit ridge ``audio -> video`` on train; R@1 of retrieving each test video from its audio (cosine)."""
    audio, video = train
    weights = np.linalg.solve(audio.T @ audio + 1.0 * np.eye(audio.shape[1]), audio.T @ video)
    predicted = test[0] @ weights
    predicted /= np.linalg.norm(predicted, axis=1, keepdims=True) + 1e-12
    gallery = test[1] / (np.linalg.norm(test[1], axis=1, keepdims=True) + 1e-12)
    return float(np.mean(np.argmax(predicted @ gallery.T, axis=1) == np.arange(len(gallery))))


def _score_codec(
    codec: AudioCodec, audio: dict[str, torch.Tensor], video_tokens: dict[str, np.ndarray], count: int
) -> dict[str, float]:
    with torch.no_grad():
        codes = {split: codec.encode(audio[split], count) for split in audio}
        decoded = codec.decode(codes["test"])[..., : audio["test"].shape[-1]]
    reference, estimate = audio["test"].squeeze(1).numpy(), decoded.squeeze(1).numpy()
    usage = codebook_usage(codes["test"], codec.cardinality)
    hist = {split: _histograms(codes[split], codec.cardinality) for split in codes}
    return {
        "frame_rate": codec.frame_rate,
        "codebook_size": codec.cardinality,
        "num_codebooks": count,
        "bitrate": bitrate(codec, count),
        "mel_distance": float(np.mean(compute_mel_distance(reference, estimate, codec.sample_rate))),
        "si_sdr": float(np.mean(compute_si_sdr(reference, estimate))),
        "usage": usage["usage"],
        "perplexity": usage["perplexity"],
        "av_retrieval_r1": _retrieval_r1(
            (hist["train"], video_tokens["train"]), (hist["test"], video_tokens["test"])
        ),
    }


def _visual(config: StudyConfig, video: dict[str, torch.Tensor]) -> tuple[VisualTokenizer, dict[str, Any]]:
    tokenizer = build_visual_tokenizer(config.image_size, levels=2, base=8, latent_dim=16, codebook_size=64)
    generator = torch.Generator().manual_seed(config.seed)
    frames = video["train"].flatten(0, 1)  # [N*T, 3, H, W]

    def draw() -> torch.Tensor:
        return frames[torch.randint(0, len(frames), (16,), generator=generator)].unsqueeze(
            0
        )  # [1, 16, 3, H, W]

    trained = _train(tokenizer, draw, config, config.visual_steps, lambda r, t: ((r - t) ** 2).mean())
    with torch.no_grad():
        decoded = tokenizer.decode(tokenizer.encode(video["test"]))
    reference, estimate = (  # [N*T, H, W, 3] in 0..255
        (x.permute(0, 1, 3, 4, 2).numpy() * 255).reshape(-1, *x.shape[-2:], 3)
        for x in (video["test"], decoded)
    )
    usage = codebook_usage(tokenizer.encode(video["test"]), tokenizer.cardinality)
    return tokenizer, {
        "frame_rate": tokenizer.frame_rate,
        "codebook_size": tokenizer.cardinality,
        "bitrate": bitrate(tokenizer),
        "psnr": float(np.mean(compute_psnr(reference, estimate))),
        "ssim": float(np.mean(compute_ssim(reference, estimate))),
        "usage": usage["usage"],
        "perplexity": usage["perplexity"],
        "train_seconds": trained["seconds"],
    }


def _markdown(
    audio_rows: list[dict[str, Any]], visual: dict[str, Any], baselines: dict[str, dict[str, float]]
) -> str:
    head = "| codes/s | K | Q | kbit/s | mel dist ↓ | SI-SDR dB ↑ | usage | perplexity | AV R@1 ↑ |"
    lines = [head, "|" + "---|" * 9]
    for row in audio_rows:
        lines.append(
            f"| {row['frame_rate']:.0f} | {row['codebook_size']} | {row['num_codebooks']} | "
            f"{row['bitrate'] / 1000:.2f} | {row['mel_distance']:.3f} | {row['si_sdr']:.2f} | "
            f"{row['usage']:.2f} | {row['perplexity']:.1f} | {row['av_retrieval_r1']:.3f} |"
        )
    for name, row in baselines.items():
        si_sdr = f"{row['si_sdr']:.2f}" if "si_sdr" in row else "-"
        lines.append(f"| {name} | - | - | 0 | {row['mel_distance']:.3f} | {si_sdr} | - | - | - |")
    lines += [
        "",
        "| frames | codes/s | K | kbit/s | PSNR dB ↑ | SSIM ↑ | usage | perplexity |",
        "|---|---|---|---|---|---|---|---|",
        f"| VQ | {visual['frame_rate']:.0f} | {visual['codebook_size']} | {visual['bitrate'] / 1000:.2f} | "
        f"{visual['psnr']:.2f} | {visual['ssim']:.3f} | {visual['usage']:.2f} | {visual['perplexity']:.1f} |",
    ]
    return "\n".join(lines) + "\n"


def _svg(rows: list[dict[str, Any]], width: int = 560, height: int = 360) -> str:
    """Bitrate (log x) against mel distance (y), one polyline per codec, drawn without a plotting library."""
    xs = [math.log10(row["bitrate"]) for row in rows]
    ys = [row["mel_distance"] for row in rows]
    x0, x1, y0, y1 = min(xs), max(xs) + 1e-9, min(ys), max(ys) + 1e-9
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]

    def point(row: dict[str, Any]) -> str:
        x = 60 + (math.log10(row["bitrate"]) - x0) / (x1 - x0) * (width - 90)
        y = height - 40 - (row["mel_distance"] - y0) / (y1 - y0) * (height - 70)
        return f"{x:.1f},{y:.1f}"

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-size="11">']
    parts.append(f'<text x="{width / 2}" y="{height - 8}">bitrate (bit/s, log scale)</text>')
    parts.append(f'<text x="4" y="14">mel distance {y0:.2f}..{y1:.2f} (lower is better)</text>')
    groups = sorted({(row["frame_rate"], row["codebook_size"]) for row in rows})
    for index, (rate, size) in enumerate(groups):
        line = [point(row) for row in rows if (row["frame_rate"], row["codebook_size"]) == (rate, size)]
        colour = colours[index % len(colours)]
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(line)}"/>')
        parts.append(
            f'<text x="{width - 150}" y="{30 + 14 * index}" fill="{colour}">{rate:.0f}/s, K={size}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _baselines(test_audio: torch.Tensor, seed: int) -> dict[str, dict[str, float]]:
    """Mel distance and SI-SDR of silence and of white noise at each test clip's RMS: the floor to beat."""
    reference = test_audio.squeeze(1).numpy().astype(np.float64)  # [N, S]
    rms = np.sqrt(np.mean(reference**2, axis=1, keepdims=True))
    noise = np.random.default_rng(seed).normal(size=reference.shape) * rms
    silence = np.zeros_like(reference)
    return {  # SI-SDR is undefined for silence
        "silence": {"mel_distance": float(np.mean(compute_mel_distance(reference, silence, 16000)))},
        "noise": {
            "mel_distance": float(np.mean(compute_mel_distance(reference, noise, 16000))),
            "si_sdr": float(np.mean(compute_si_sdr(reference, noise))),
        },
    }


def _train_codec(
    strides: tuple[int, ...], size: int, config: StudyConfig, train_audio: torch.Tensor
) -> tuple[AudioCodec, dict[str, Any]]:
    codec = build_audio_codec(
        strides=strides, base=8, latent_dim=32, num_codebooks=config.num_codebooks, codebook_size=size
    )
    generator = torch.Generator().manual_seed(config.seed)
    batches = _audio_batches(train_audio, config, generator)
    trained = _train(codec, batches, config, config.steps, MultiScaleMelLoss())
    log.info("trained codec %s K=%d in %.1f s", strides, size, trained["seconds"])
    return codec, trained


def _curve_summary(curve: list[float]) -> dict[str, float]:
    """Mean loss over the first and the last tenth of the steps."""
    tenth = max(len(curve) // 10, 1)
    return {"loss_first": float(np.mean(curve[:tenth])), "loss_last": float(np.mean(curve[-tenth:]))}


def run_tokenizer_study(config: StudyConfig, out_dir: str | Path) -> dict[str, Any]:
    """Train and score the tokenizers of the study and write JSON, markdown and SVG into ``out_dir``.

    Args:
        config: the study's knobs (see :class:`StudyConfig`).
        out_dir: output folder (created).

    Returns:
        ``{"config", "audio": [row per codec and codebook count], "visual": {...}, "baselines": {"silence",
        "noise"}, "seconds"}``; each audio row carries its codec's ``loss_first`` / ``loss_last``.
    """
    start, threads = time.perf_counter(), torch.get_num_threads()
    torch.set_num_threads(config.num_threads)
    try:
        torch.manual_seed(config.seed)
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        splits = {
            "train": _load_split("train", config.num_train, config),
            "test": _load_split("test", config.num_test, config),
        }
        audio = {split: splits[split][0] for split in splits}
        video = {split: splits[split][1] for split in splits}
        tokenizer, visual = _visual(config, video)
        with torch.no_grad():
            video_tokens = {
                split: _histograms(tokenizer.encode(video[split]), tokenizer.cardinality) for split in video
            }
        rows: list[dict[str, Any]] = []
        for strides, size in config.codecs:
            codec, trained = _train_codec(strides, size, config, audio["train"])
            extra = {"train_seconds": trained["seconds"], **_curve_summary(trained["loss_curve"])}
            for count in range(1, config.num_codebooks + 1):
                rows.append({**_score_codec(codec, audio, video_tokens, count), **extra})
    finally:
        torch.set_num_threads(threads)
    baselines = _baselines(audio["test"], config.seed)
    result = {
        "config": asdict(config),
        "audio": rows,
        "visual": visual,
        "baselines": baselines,
        "seconds": time.perf_counter() - start,
    }
    (out / "tokenizer_study.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    (out / "tokenizer_study.md").write_text(_markdown(rows, visual, baselines), encoding="utf-8")
    (out / "tokenizer_study.svg").write_text(_svg(rows), encoding="utf-8")
    return result
