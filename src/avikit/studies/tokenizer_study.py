"""The tokenizer study: how token rate, codebook size and count trade fidelity, bitrate and alignment.

Trains tiny audio codecs on AVSynth, on CPU: acoustic ones (EnCodec / DAC style, a few token rate / codebook
size pairs), a semantic+acoustic one (X-Codec style: the features of the packaged audio-visual encoder's
audio branch are quantized together with the acoustic latent and must be predicted back from the codes) and
a mel tokenizer (:mod:`avikit.models.tokenizers.mel_codec`: residual VQ over log-Mel frames, decoded by a
trained
vocoder), all with quantizer dropout so each is scored at every codebook count; and one frame tokenizer. On
held-out
``test`` clips it measures:

- reconstruction: mel distance and SI-SDR for audio (``avikit.metrics.reconstruction``), PSNR/SSIM for frames,
  next to two reference points: silence and white noise of the test clips' loudness;
- bitrate: ``frame_rate * Q * log2(K)`` bits per second;
- codebook usage and perplexity of the codes;
- audio-visual alignment of the tokens: retrieval of each test clip's video from its audio tokens with the
  linear contrastive probe of :mod:`avikit.studies.token_probe` (summed codebook embeddings pooled per second,
  fit on the ``train`` clips against the encoder's frozen visual segment features); R@1 and R@5 with 95%
  bootstrap intervals and chance ``1 / N`` and ``5 / N``. The same probe on continuous features (the log-mel
  spectrogram, the encoder's audio tokens) and the encoder's own zero-shot embeddings are the references.

The waveform codecs train on 1 s crops with an L1 waveform loss plus a multi-scale log-mel loss (FFT
256/512/1024), Adam with cosine decay (the mel tokenizer on the same crops and steps with the mel L1 and its
vocoder frozen, AdamW with a one-cycle schedule: :func:`~avikit.train.mel_codec.train_mel_codec`), and EMA
codebooks with a fast decay (0.9) so that unused codewords are restarted on batch vectors within a few steps.
Without adversarial losses the decoders match the spectrum before the phase, so SI-SDR stays low at low token
rates while mel distance separates the configurations.

Results go to ``tokenizer_study.json``, ``tokenizer_study.md`` and ``tokenizer_study.svg`` (bitrate against
mel distance and against the retrieval mean rank, one line per codec), written by
:mod:`avikit.studies.tokenizer_study_report`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.data.synth import SynthConfig, generate
from avikit.errors import UsageError
from avikit.metrics.reconstruction import compute_mel_distance, compute_psnr, compute_si_sdr, compute_ssim
from avikit.models.encoders.av_encoder import AVJointEncoder
from avikit.models.encoders.trunk import load_encoder
from avikit.models.encoders.trunk_encoding import encode_media
from avikit.models.generation.v2a_network import V2AConfig
from avikit.models.generation.v2a_pipeline import load_vocoder
from avikit.models.tokenizers.mel_codec import build_mel_codec
from avikit.nn.codec import AudioCodec, build_audio_codec, build_semantic_codec
from avikit.nn.objectives import MultiScaleMelLoss
from avikit.nn.quantize import VectorQuantizer, codebook_usage
from avikit.nn.tokenizer import bitrate
from avikit.nn.visual_tokenizer import build_visual_tokenizer
from avikit.studies.token_probe import (
    code_vectors,
    evaluate_probe_retrieval,
    fit_retrieval_probe,
    pool_segment_statistics,
)
from avikit.studies.tokenizer_study_report import write_study_report
from avikit.train.loops import draw_crops, run_steps
from avikit.train.mel_codec import train_mel_codec

__all__ = ["CodecSpec", "StudyConfig", "load_study_split", "run_tokenizer_study"]

log = logging.getLogger(__name__)

MEL_HOP = V2AConfig().hop_length
"""Samples per mel frame of the mel tokenizer."""


@dataclass(frozen=True)
class CodecSpec:
    """One codec of the study.

    Attributes:
        strides: encoder strides; the token rate is ``16000 / prod(strides)`` code steps per second.
        codebook_size: entries ``K`` per codebook.
        semantic: quantize the audio-visual encoder's audio features with the acoustic latent (X-Codec style).
        mel: the mel tokenizer of :mod:`avikit.models.tokenizers.mel_codec` instead of a waveform codec;
            ``prod(strides)`` must be a multiple of the mel hop (250 samples): ``prod(strides) / 250`` mel
            frames per step.
    """

    strides: tuple[int, ...]
    codebook_size: int
    semantic: bool = False
    mel: bool = False

    def __post_init__(self) -> None:
        if self.mel and (self.semantic or int(np.prod(self.strides)) % MEL_HOP):
            raise UsageError(
                f"a mel codec is not semantic and steps a multiple of {MEL_HOP} samples, got {self.strides}"
            )

    @property
    def name(self) -> str:
        """``"semantic"``, ``"mel"`` or ``"acoustic"``."""
        return "semantic" if self.semantic else "mel" if self.mel else "acoustic"


@dataclass(frozen=True)
class StudyConfig:
    """Knobs of the study; the defaults run in about four minutes on one busy CPU core.

    Attributes:
        num_train: AVSynth ``train`` clips: codecs train on crops of them, the retrieval probe on all of them.
        num_test: AVSynth ``test`` clips: the retrieval gallery.
        num_reconstruct: the first this many test clips are decoded and scored for reconstruction.
        duration: clip length in seconds (one retrieval segment per second).
        image_size: frame size of the frame tokenizer in pixels.
        codecs: the audio codecs to train.
        num_codebooks: codebooks of each codec; scored at 1 .. this many.
        steps: optimisation steps per audio codec.
        visual_steps: optimisation steps of the frame tokenizer.
        batch_size: crops per step.
        crop_samples: audio crop length in samples (16000 = 1 s).
        learning_rate: Adam's initial learning rate (cosine decay to zero).
        ema_decay: decay of the EMA codebooks (fast, so dead codewords restart early).
        probe_steps: optimisation steps of each retrieval probe.
        encoder: the audio-visual encoder (packaged name or folder): teacher and visual features.
        vocoder: the trained vocoder of mel codecs
        (:func:`avikit.models.generation.v2a_pipeline.load_vocoder`).
        num_threads: torch intra-op threads while training (1 is fastest on a shared machine).
        seed: seed of data order and initialisation.
    """

    num_train: int = 320
    num_test: int = 96
    num_reconstruct: int = 8
    duration: int = 4
    image_size: int = 32
    codecs: tuple[CodecSpec, ...] = (
        CodecSpec((4, 4, 4), 64),
        CodecSpec((4, 4, 16), 64),
        CodecSpec((4, 4, 16), 512),
        CodecSpec((4, 4, 16), 64, semantic=True),
        CodecSpec((500,), 64, mel=True),
    )
    num_codebooks: int = 4
    steps: int = 500
    visual_steps: int = 200
    batch_size: int = 4
    crop_samples: int = 16000
    learning_rate: float = 3e-3
    ema_decay: float = 0.9
    probe_steps: int = 300
    encoder: str = "av-encoder"
    vocoder: str = "v2a-flow"
    num_threads: int = 1
    seed: int = 0


Split = dict[str, torch.Tensor]


def load_study_split(split: str, count: int, config: StudyConfig, encoder: AVJointEncoder) -> Split:
    """AVSynth clips as ``audio [N, 1, S]``, ``frames [N, T, 3, s, s]`` uint8 and the encoder's features.

    ``visual`` are the encoder's visual segment features ``[N, duration, D]`` (one frame per second);
    ``audio_embedding`` / ``visual_embedding`` ``[N, E]`` its zero-shot clip embeddings.
    """
    synth = SynthConfig(duration=Fraction(config.duration))
    parts: list[Split] = []
    for begin in range(0, count, 32):
        clips = [
            generate(split, i, seed=config.seed, config=synth)[1]
            for i in range(begin, min(count, begin + 32))
        ]
        waveform = np.stack([clip.require_waveform() for clip in clips])  # [b, C, S]
        frames = np.stack([clip.require_frames() for clip in clips])  # [b, T, H, W, 3]
        features = encode_media(encoder, frames, waveform, num_segments=config.duration)
        small = torch.from_numpy(frames).flatten(0, 1).permute(0, 3, 1, 2).float()  # [b*T, 3, H, W]
        small = F.interpolate(small, size=config.image_size, mode="area").round().to(torch.uint8)
        parts.append(
            {
                "audio": torch.from_numpy(waveform).mean(1, keepdim=True),
                "frames": small.unflatten(0, frames.shape[:2]),
                "visual": features["visual_segments"],
                "audio_embedding": features["audio_embedding"],
                "visual_embedding": features["visual_embedding"],
            }
        )
    return {key: torch.cat([part[key] for part in parts]) for key in parts[0]}


class _AudioTeacher(nn.Module):
    """The encoder's audio branch as a teacher: waveform ``[B, C, N]`` to tokens ``[B, N / 1600, D]``."""

    def __init__(self, encoder: AVJointEncoder) -> None:
        super().__init__()
        self.frontend, self.audio = encoder.frontend, encoder.audio

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return self.audio(self.frontend(waveform))  # 10 tokens per second


def _set_ema_decay(model: nn.Module, decay: float) -> None:
    """Give every codebook of ``model`` this EMA decay (a fast one lets dead codewords restart early)."""
    for module in model.modules():
        if isinstance(module, VectorQuantizer):
            module.decay = decay


def _train(
    model: nn.Module,
    batches: Callable[[], torch.Tensor],
    config: StudyConfig,
    steps: int,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> dict[str, Any]:
    """Adam with cosine decay for ``steps`` on ``batches()``; returns seconds and the loss curve."""
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(steps, 1))
    _set_ema_decay(model, config.ema_decay)

    def step_loss() -> torch.Tensor:
        target = batches()
        reconstruction, _, losses = model(target)
        return loss_fn(reconstruction, target) + sum(losses.values())

    return run_steps(model, (optimizer, schedule), step_loss, steps)


def _chunked(function: Any, tensor: torch.Tensor, size: int = 32) -> torch.Tensor:
    """``function`` over chunks of ``size`` rows, concatenated (bounds the memory of activations)."""
    with torch.no_grad():
        return torch.cat([function(tensor[i : i + size]) for i in range(0, len(tensor), size)])


def _retrieval(
    train: tuple[torch.Tensor, torch.Tensor], test: tuple[torch.Tensor, torch.Tensor], config: StudyConfig
) -> dict[str, float]:
    """Fit the probe on ``(audio features, visual)`` of train clips; retrieval scores on the test clips."""
    probe = fit_retrieval_probe(*train, steps=config.probe_steps, seed=config.seed)
    return {
        f"av_{key}": value for key, value in evaluate_probe_retrieval(probe, *test, seed=config.seed).items()
    }


def _score_codec(codec: AudioCodec, data: dict[str, Split], config: StudyConfig) -> list[dict[str, Any]]:
    """One row per codebook count: reconstruction of the test clips, usage, bitrate and retrieval."""
    codes = {split: _chunked(codec.encode, data[split]["audio"]) for split in data}  # [N, Q, T]
    reference = data["test"]["audio"][: config.num_reconstruct].squeeze(1).numpy()
    rows = []
    for count in range(1, codec.num_codebooks + 1):  # RVQ codes at Q books are the first Q of all
        decoded = _chunked(codec.decode, codes["test"][: len(reference), :count])[..., : reference.shape[-1]]
        estimate = decoded.squeeze(1).numpy()
        usage = codebook_usage(codes["test"][:, :count], codec.cardinality)
        pooled = {
            split: pool_segment_statistics(
                code_vectors(codec.quantizer, codes[split][:, :count]), config.duration
            )
            for split in codes
        }
        rows.append(
            {
                "frame_rate": codec.frame_rate,
                "codebook_size": codec.cardinality,
                "num_codebooks": count,
                "bitrate": bitrate(codec, count),
                "mel_distance": float(np.mean(compute_mel_distance(reference, estimate, codec.sample_rate))),
                "si_sdr": float(np.mean(compute_si_sdr(reference, estimate))),
                "usage": usage["usage"],
                "perplexity": usage["perplexity"],
                **_retrieval(
                    (pooled["train"], data["train"]["visual"]),
                    (pooled["test"], data["test"]["visual"]),
                    config,
                ),
            }
        )
    return rows


def _references(
    data: dict[str, Split], encoder: AVJointEncoder, config: StudyConfig
) -> dict[str, dict[str, float]]:
    """Retrieval from continuous audio features with the same probe, the encoder zero-shot, and chance."""
    teacher = _AudioTeacher(encoder)
    features = {
        "log-mel": lambda audio: encoder.frontend(audio).transpose(1, 2),  # [N, T_mel, M]
        "encoder audio tokens": teacher,  # [N, 10 * duration, D]
    }
    out = {}
    for name, function in features.items():
        pooled = {
            s: pool_segment_statistics(_chunked(function, data[s]["audio"]), config.duration) for s in data
        }
        out[name] = _retrieval(
            (pooled["train"], data["train"]["visual"]), (pooled["test"], data["test"]["visual"]), config
        )
    test = data["test"]
    zero_shot = evaluate_probe_retrieval(
        None, test["audio_embedding"][:, None], test["visual_embedding"][:, None], seed=config.seed
    )
    out["encoder zero-shot"] = {f"av_{key}": value for key, value in zero_shot.items()}
    return out


def _visual(config: StudyConfig, frames: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Train the frame tokenizer on train frames and score PSNR/SSIM, bitrate and usage on test frames."""
    tokenizer = build_visual_tokenizer(config.image_size, levels=2, base=8, latent_dim=16, codebook_size=64)
    generator = torch.Generator().manual_seed(config.seed)
    pool = frames["train"].flatten(0, 1)  # [N*T, 3, s, s] uint8

    def draw() -> torch.Tensor:  # [1, 16, 3, s, s] in [0, 1]
        return pool[torch.randint(0, len(pool), (16,), generator=generator)].unsqueeze(0).float() / 255

    trained = _train(tokenizer, draw, config, config.visual_steps, lambda r, t: ((r - t) ** 2).mean())
    test = frames["test"][: config.num_reconstruct].float() / 255  # [N, T, 3, s, s]
    codes = _chunked(tokenizer.encode, test)
    decoded = _chunked(tokenizer.decode, codes)
    reference, estimate = (  # [N*T, s, s, 3] in 0..255
        (x.permute(0, 1, 3, 4, 2).numpy() * 255).reshape(-1, *x.shape[-2:], 3) for x in (test, decoded)
    )
    usage = codebook_usage(codes, tokenizer.cardinality)
    return {
        "frame_rate": tokenizer.frame_rate,
        "codebook_size": tokenizer.cardinality,
        "bitrate": bitrate(tokenizer),
        "psnr": float(np.mean(compute_psnr(reference, estimate))),
        "ssim": float(np.mean(compute_ssim(reference, estimate))),
        "usage": usage["usage"],
        "perplexity": usage["perplexity"],
        "train_seconds": trained["seconds"],
    }


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
    spec: CodecSpec, config: StudyConfig, train_audio: torch.Tensor, encoder: AVJointEncoder
) -> tuple[AudioCodec, dict[str, Any]]:
    codec: AudioCodec
    if spec.mel:
        return _train_mel_codec(spec, config, train_audio)
    if spec.semantic:
        codec = build_semantic_codec(
            _AudioTeacher(encoder),
            encoder.audio.dim,
            strides=spec.strides,
            base=8,
            latent_dim=32,
            num_codebooks=config.num_codebooks,
            codebook_size=spec.codebook_size,
        )
    else:
        codec = build_audio_codec(
            strides=spec.strides,
            base=8,
            latent_dim=32,
            num_codebooks=config.num_codebooks,
            codebook_size=spec.codebook_size,
        )
    generator = torch.Generator().manual_seed(config.seed)

    def batches() -> torch.Tensor:
        return draw_crops(train_audio, config.batch_size, config.crop_samples, generator)

    trained = _train(codec, batches, config, config.steps, MultiScaleMelLoss())
    log.info(
        "trained %s codec %s K=%d in %.1f s", spec.name, spec.strides, spec.codebook_size, trained["seconds"]
    )
    return codec, trained


def _train_mel_codec(
    spec: CodecSpec, config: StudyConfig, train_audio: torch.Tensor
) -> tuple[AudioCodec, dict[str, Any]]:
    """The mel tokenizer on the study's crops and schedule length, decoding through ``config.vocoder``."""
    vocoder, vocoder_config = load_vocoder(config.vocoder)
    network = V2AConfig(
        tokenizer="mel",
        token_stride=int(np.prod(spec.strides)) // MEL_HOP,
        codebook_size=spec.codebook_size,
        num_codebooks=config.num_codebooks,
    )
    codec = build_mel_codec(network, vocoder_config, quantizer_dropout=True, vocoder_weights=vocoder)
    _set_ema_decay(codec, config.ema_decay)
    trained = train_mel_codec(
        codec,
        train_audio,
        config.steps,
        config.batch_size,
        config.crop_samples / codec.sample_rate,
        config.learning_rate,
        config.seed,
    )
    log.info("trained mel codec %s K=%d in %.1f s", spec.strides, spec.codebook_size, trained["seconds"])
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
        "noise"}, "references": {retrieval reference: scores}, "seconds"}``; each audio row carries its
        codec's ``codec`` kind, ``train_seconds``, ``loss_first`` / ``loss_last`` and ``av_*`` retrieval
        scores.
    """
    if config.duration < 1 or config.num_train < 2 or not 1 <= config.num_reconstruct <= config.num_test:
        raise UsageError(
            "the study needs duration >= 1 s, at least 2 train clips and 1 <= num_reconstruct <= num_test"
        )
    start, threads = time.perf_counter(), torch.get_num_threads()
    torch.set_num_threads(config.num_threads)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    try:
        torch.manual_seed(config.seed)
        encoder = load_encoder(config.encoder)
        data = {
            "train": load_study_split("train", config.num_train, config, encoder),
            "test": load_study_split("test", config.num_test, config, encoder),
        }
        data_seconds = time.perf_counter() - start
        visual = _visual(config, {split: data[split]["frames"] for split in data})
        references = _references(data, encoder, config)
        rows: list[dict[str, Any]] = []
        for spec in config.codecs:
            codec, trained = _train_codec(spec, config, data["train"]["audio"], encoder)
            scoring = time.perf_counter()
            scored = _score_codec(codec, data, config)
            extra = {
                "codec": spec.name,
                "train_seconds": trained["seconds"],
                **_curve_summary(trained["loss_curve"]),
            }
            extra["score_seconds"] = time.perf_counter() - scoring
            rows += [{"codec": spec.name, **row, **extra} for row in scored]
    finally:
        torch.set_num_threads(threads)
    result = {
        "config": asdict(config),
        "audio": rows,
        "visual": visual,
        "baselines": _baselines(data["test"]["audio"][: config.num_reconstruct], config.seed),
        "references": references,
        "data_seconds": data_seconds,
        "seconds": time.perf_counter() - start,
    }
    write_study_report(out, result)
    return result
