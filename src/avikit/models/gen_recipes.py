"""Training and scoring recipes for the generators, seeded and CPU-sized (each default run under 5 minutes).

:func:`train_v2a` trains the three video-to-audio paradigms of :mod:`avikit.models.v2a` on the same AVSynth
clips (the token paradigms first train their codec), writing a loss log and SVG curve per model.
:func:`evaluate_v2a` scores generated audio on held-out clips against the reference audio and a retrieval
baseline (the audio of the nearest training video by a visual feature):

- ``mel_distance`` to the reference audio (``avikit.metrics.reconstruction``, lower is better);
- ``alignment``: the IB-score analogue (``avikit.metrics.generation.evaluate_alignment``) with a tiny
  contrastive audio/video embedder trained on ``val`` pairs, which no generator saw (:class:`PairEmbedder`);
- ``desync`` (s) and ``offset_accuracy`` from a simple sync scorer: the correlation of the video's
  frame-to-frame change with the audio's frame-to-frame loudness change over offsets of +-3 frames;
- ``rtf``: sampling seconds per second of audio on this CPU (below 1 is faster than real time).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.data.synth import SynthConfig, generate
from avikit.metrics.generation import evaluate_alignment, evaluate_desync
from avikit.metrics.reconstruction import compute_mel_distance
from avikit.models.mel_codec import build_mel_codec, train_mel_codec
from avikit.models.training_loops import StepLog, run_steps
from avikit.models.v2a import (
    V2AConfig,
    build_flow_v2a,
    build_token_v2a,
    build_v2a_codec,
    generate_autoregressive,
    generate_flow,
    generate_maskgit,
    griffin_lim,
)
from avikit.models.v2a_model import (
    PARADIGMS,
    RetrievalConfig,
    V2AModelConfig,
    build_v2a_generator,
    build_v2a_retrieval,
    frames_to_tensor,
    save_v2a,
)
from avikit.models.vocoder import MelVocoder, VocoderConfig
from avikit.nn.codec import AudioCodec
from avikit.nn.objectives import MultiScaleMelLoss
from avikit.nn.schedulers import FlowMatchingScheduler

__all__ = [
    "EXPORT_NAMES",
    "GenTrainConfig",
    "PairEmbedder",
    "evaluate_v2a",
    "export_v2a",
    "fit",
    "load_pairs",
    "sync_logits",
    "train_v2a",
    "visual_feature",
]

log = logging.getLogger(__name__)

SYNC_OFFSETS = np.arange(-3, 4)
"""Offsets (video frames) the simple sync scorer compares."""


@dataclass(frozen=True)
class GenTrainConfig:
    """Knobs of the generator recipes (defaults: each model under 5 minutes on one busy CPU core).

    ``token_noise`` is the fraction of input codes the autoregressive model sees replaced by random ids in
    training (:meth:`~avikit.models.v2a.TokenV2A.loss`).
    """

    num_train: int = 192
    num_test: int = 16
    duration: int = 2
    steps: int = 400
    codec_steps: int = 400
    batch_size: int = 4
    learning_rate: float = 1e-3
    seed: int = 0
    num_threads: int = 1
    progress: bool = True
    token_noise: float = 0.8


def load_pairs(
    split: str, count: int, config: GenTrainConfig, image_size: int = 32, render_size: int | None = None
) -> dict[str, Any]:
    """AVSynth clips: ``{"audio": [N, 1, S] mono, "frames": [N, T, 3, H, W] in [0, 1], "labels", ...}``.

    Frames are drawn at ``render_size`` px (default ``image_size``) and area-resized to ``image_size``, as a
    packaged model resizes the benchmark's 128 px frames.
    """
    synth = SynthConfig(duration=Fraction(config.duration), size=render_size or image_size)
    audio, frames, labels, captions = [], [], [], []
    for index in range(count):
        sample, clip = generate(split, index, seed=config.seed, config=synth)[:2]
        audio.append(torch.from_numpy(clip.require_waveform().mean(0, keepdims=True).copy()))
        frames.append(frames_to_tensor(clip.require_frames(), image_size))
        labels.append(list(sample.targets.get("labels", [])))
        captions.append(str(sample.targets.get("caption", "")))
    return {
        "audio": torch.stack(audio),
        "frames": torch.stack(frames),
        "labels": labels,
        "captions": captions,
    }


def fit(
    model: nn.Module,
    loss_fn: Callable[[torch.Tensor], torch.Tensor],
    steps: int,
    config: GenTrainConfig,
    out_dir: Path | None,
    name: str,
) -> dict[str, Any]:
    """AdamW with a one-cycle schedule over ``steps`` calls of ``loss_fn(batch_rows)``; logs the loss curve.

    Each step draws ``config.batch_size`` random training rows (with replacement, seeded by ``config.seed``)
    and clips the gradient norm to 1. With ``out_dir``, writes ``<name>_loss.jsonl`` and ``<name>_loss.svg``.

    Returns:
        ``{"seconds", "loss_curve"}``.
    """
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, config.learning_rate, total_steps=max(steps, 2))
    generator = torch.Generator().manual_seed(config.seed)

    def step_loss() -> torch.Tensor:
        return loss_fn(torch.randint(0, config.num_train, (config.batch_size,), generator=generator))

    report = StepLog(name, out_dir, f"{name} training loss", config.progress)
    return run_steps(model, (optimizer, schedule), step_loss, steps, report, clip_norm=1.0)


def _train_codec(
    audio: torch.Tensor,
    config: GenTrainConfig,
    v2a: V2AConfig,
    out: Path | None,
    vocoder: tuple[MelVocoder, VocoderConfig] | None,
) -> tuple[AudioCodec, dict[str, Any], torch.Tensor]:
    """Train the codec of the token paradigms; returns it, its training record and the clips' codes.

    The waveform codec trains on whole clips with the multi-scale mel loss; the mel codec on 1 s crops with
    the mel L1, decoding through ``vocoder`` (frozen).
    """
    if v2a.tokenizer == "mel":
        if vocoder is None:
            raise ValueError(
                "the mel tokenizer decodes through a trained vocoder: pass vocoder=load_vocoder('v2a-flow')"
            )
        mel_codec = build_mel_codec(v2a, vocoder[1], vocoder_weights=vocoder[0])
        report = StepLog("codec", out, "codec training loss", config.progress)
        record = train_mel_codec(mel_codec, audio, config.codec_steps, seed=config.seed, report=report)
        codec: AudioCodec = mel_codec
    else:
        codec = build_v2a_codec(v2a)
        codec_loss = MultiScaleMelLoss(v2a.sample_rate)

        def codec_step(rows: torch.Tensor) -> torch.Tensor:
            target = audio[rows]
            reconstruction, _, losses = codec(target)
            return codec_loss(reconstruction, target) + sum(losses.values())

        record = fit(codec, codec_step, config.codec_steps, config, out, "codec")
    with torch.no_grad():
        codes = torch.cat([codec.encode(audio[i : i + 32]) for i in range(0, len(audio), 32)])
    return codec, record, codes


def train_v2a(
    config: GenTrainConfig,
    v2a: V2AConfig | None = None,
    out_dir: str | Path | None = None,
    paradigms: tuple[str, ...] = PARADIGMS,
    render_size: int | None = 128,
    vocoder: tuple[MelVocoder, VocoderConfig] | None = None,
) -> dict[str, Any]:
    """Train the codec and the flow, autoregressive and MaskGIT video-to-audio models on the same clips.

    ``paradigms`` picks a subset (the codec is trained only for a token paradigm). Training frames are
    drawn at ``render_size`` px (the benchmark's 128 by default) and area-resized to ``v2a.image_size``.
    ``vocoder`` (a trained vocoder and its config, :func:`~avikit.models.v2a_model.load_vocoder`) decodes
    the mel tokenizer (``v2a.tokenizer == "mel"``, where it is required) and the flow model's mel.

    Returns:
        ``{"models": {paradigm: network}, "codec" (or None), "vocoder" (or None), "training": {name:
        {seconds, loss_curve}}, "data": {"train", "test"}, "render_size"}``.
    """
    v2a = v2a or V2AConfig()
    unknown = set(paradigms) - set(PARADIGMS)
    if unknown:
        raise ValueError(f"unknown paradigms {sorted(unknown)}; choose from {PARADIGMS}")
    out = Path(out_dir) if out_dir else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    threads = torch.get_num_threads()
    torch.set_num_threads(config.num_threads)
    try:
        torch.manual_seed(config.seed)
        train = load_pairs("train", config.num_train, config, v2a.image_size, render_size)
        audio, frames = train["audio"], train["frames"]
        training: dict[str, Any] = {}
        codec, codes = None, torch.empty(0)
        if set(paradigms) - {"flow"}:
            codec, training["codec"], codes = _train_codec(audio, config, v2a, out, vocoder)
        generator = torch.Generator().manual_seed(config.seed + 1)
        scheduler, models = FlowMatchingScheduler(), dict[str, nn.Module]()
        for name in paradigms:
            if name == "flow":
                net: nn.Module = build_flow_v2a(v2a)

                def step(rows: torch.Tensor, net: Any = net) -> torch.Tensor:
                    return net.loss(audio[rows], frames[rows], scheduler, v2a.condition_dropout, generator)
            else:
                net = build_token_v2a(v2a, name == "autoregressive")

                def step(rows: torch.Tensor, net: Any = net) -> torch.Tensor:
                    dropout, noise = v2a.condition_dropout, config.token_noise
                    return net.loss(codes[rows], frames[rows], dropout, generator, noise)

            training[name] = fit(net, step, config.steps, config, out, name)
            models[name] = net
    finally:
        torch.set_num_threads(threads)
    test = load_pairs("test", config.num_test, config, v2a.image_size, render_size)
    data = {"train": train, "test": test}
    return {
        "models": models,
        "codec": codec,
        "vocoder": vocoder,
        "training": training,
        "data": data,
        "render_size": render_size,
    }


# ---------------------------------------------------------------------------------------------- scoring


def visual_feature(frames: torch.Tensor) -> np.ndarray:
    """Retrieval feature per clip ``[N, F]``: the mean 8x8 colour image and the per-frame change curve."""
    pooled = F.adaptive_avg_pool2d(frames.flatten(0, 1), 8).reshape(*frames.shape[:2], -1)  # [N, T, 192]
    change = (frames[:, 1:] - frames[:, :-1]).abs().mean(dim=(2, 3, 4))  # [N, T-1]
    return torch.cat([pooled.mean(1), change], dim=1).numpy()


def _activity(audio: np.ndarray, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Audio loudness change and video change per video frame: ``[N, T]`` each, z-scored."""
    count = frames.shape[1]
    rms = np.sqrt(
        np.mean(audio[:, 0, : count * (audio.shape[-1] // count)].reshape(len(audio), count, -1) ** 2, -1)
    )
    loud = np.abs(np.diff(np.log(rms + 1e-4), axis=1, prepend=np.log(rms[:, :1] + 1e-4)))
    change = np.abs(np.diff(frames, axis=1, prepend=frames[:, :1])).mean(axis=(2, 3, 4))
    z = [(x - x.mean(1, keepdims=True)) / (x.std(1, keepdims=True) + 1e-6) for x in (loud, change)]
    return z[0], z[1]


def sync_logits(audio: torch.Tensor, frames: torch.Tensor) -> np.ndarray:
    """Simple sync scorer: ``[N, 1, K]`` correlations of video change and audio change at each offset.

    Offsets are :data:`SYNC_OFFSETS` video frames (audio shifted later by the offset); the argmax is the
    predicted offset, so an in-sync generation scores 0 s DeSync.
    """
    loud, change = _activity(audio.numpy(), frames.numpy())
    count, out = loud.shape[1], []
    for shift in SYNC_OFFSETS:
        a = loud[:, max(shift, 0) : count + min(shift, 0)]
        v = change[:, max(-shift, 0) : count + min(-shift, 0)]
        out.append(np.mean(a * v, axis=1))
    return np.stack(out, axis=1)[:, None]


class PairEmbedder(nn.Module):
    """Tiny contrastive audio/video embedder for the alignment score (an IB-score analogue on AVSynth)."""

    def __init__(self, mel_bins: int = 64, dim: int = 32) -> None:
        super().__init__()
        self.mel_bins = mel_bins
        self.audio = nn.Sequential(nn.Linear(mel_bins, 64), nn.GELU(), nn.Linear(64, dim))
        self.video = nn.Sequential(nn.Linear(192, 64), nn.GELU(), nn.Linear(64, dim))

    def _audio_features(self, audio: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(audio[:, 0], 1024, 256, window=torch.hann_window(1024), return_complex=True).abs()
        profile = torch.log(spec + 1e-4).mean(-1)[:, None]  # [N, 1, F]: time-averaged log spectrum
        return F.adaptive_avg_pool1d(profile, self.mel_bins)[:, 0]

    @staticmethod
    def _video_features(frames: torch.Tensor) -> torch.Tensor:
        pooled = F.adaptive_avg_pool2d(frames.flatten(0, 1), 8)  # [N*T, 3, 8, 8]
        return pooled.reshape(*frames.shape[:2], -1).mean(1)  # [N, 192]: mean colour image

    def embed_audio(self, audio: torch.Tensor) -> torch.Tensor:
        """``[N, 1, S]`` to unit vectors ``[N, dim]`` (from the time-averaged log spectrum)."""
        return F.normalize(self.audio(self._audio_features(audio)), dim=-1)

    def embed_video(self, frames: torch.Tensor) -> torch.Tensor:
        """``[N, T, 3, H, W]`` to unit vectors ``[N, dim]`` (from the mean 8x8 colour image)."""
        return F.normalize(self.video(self._video_features(frames)), dim=-1)

    def fit(self, audio: torch.Tensor, frames: torch.Tensor, steps: int = 300, seed: int = 0) -> PairEmbedder:
        """InfoNCE on the paired clips; returns ``self`` in eval mode."""
        torch.manual_seed(seed)
        optimizer = torch.optim.Adam(self.parameters(), lr=3e-3)
        audio_in, video_in = self._audio_features(audio), self._video_features(frames)
        target = torch.arange(len(audio))
        for _ in range(steps):
            a = F.normalize(self.audio(audio_in), dim=-1)
            v = F.normalize(self.video(video_in), dim=-1)
            logits = a @ v.T / 0.1  # [N, N]
            loss = F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return self.eval()


def _scores(audio: torch.Tensor, test: dict[str, Any], embedder: PairEmbedder) -> dict[str, float]:
    reference = test["audio"]
    mel = compute_mel_distance(reference[:, 0].double().numpy(), audio[:, 0].double().numpy(), 16000)
    with torch.no_grad():
        video_emb = embedder.embed_video(test["frames"]).numpy()
        audio_emb = embedder.embed_audio(audio).numpy()
    logits = sync_logits(audio, test["frames"])
    grid = SYNC_OFFSETS / test["frames"].shape[1] * 2.0  # frames to seconds at 8 fps over 2 s clips
    return {
        "mel_distance": float(np.mean(mel)),
        "alignment": evaluate_alignment(video_emb, audio_emb)["alignment"],
        "desync": evaluate_desync(logits, grid)["desync"],
        "offset_accuracy": float(np.mean(SYNC_OFFSETS[logits[:, 0].argmax(1)] == 0)),
    }


def evaluate_v2a(
    trained: dict[str, Any], guidance: float = 2.0, seed: int = 0
) -> dict[str, dict[str, float]]:
    """Score each paradigm, the retrieval baseline and the reference audio on the test clips.

    Returns:
        ``{name: {"mel_distance", "alignment", "desync", "offset_accuracy", "rtf", "parameters"}}``.
    """
    train, test = trained["data"]["train"], trained["data"]["test"]
    seconds = test["audio"].shape[-1] // 16000
    frames, models, codec = test["frames"], trained["models"], trained["codec"]
    size, render = frames.shape[-1], trained.get("render_size")
    held_out = load_pairs("val", len(train["audio"]), GenTrainConfig(duration=seconds), size, render)
    embedder = PairEmbedder().fit(held_out["audio"], held_out["frames"], seed=seed)  # clips no model saw
    seconds_of_audio = test["audio"].shape[0] * test["audio"].shape[-1] / 16000
    vocoder = trained.get("vocoder")

    def to_audio(mel: torch.Tensor) -> torch.Tensor:
        return vocoder[0](mel).clamp(-1, 1) if vocoder else griffin_lim(models["flow"].features, mel)

    samplers: dict[str, Callable[[torch.Generator], torch.Tensor]] = {
        "flow": lambda g: to_audio(generate_flow(models["flow"], frames, 16, guidance, None, g)),
        "autoregressive": lambda g: codec.decode(
            generate_autoregressive(models["autoregressive"], frames, guidance, generator=g)
        ),
        "maskgit": lambda g: codec.decode(
            generate_maskgit(models["maskgit"], frames, 12, guidance, generator=g)
        ),
    }
    results: dict[str, dict[str, float]] = {}
    for name, sample in samplers.items():
        if name not in models:
            continue
        start = time.perf_counter()
        with torch.no_grad():
            audio = sample(torch.Generator().manual_seed(seed))[..., : test["audio"].shape[-1]]
        rtf = (time.perf_counter() - start) / seconds_of_audio
        parameters = sum(p.numel() for p in models[name].parameters())
        results[name] = {**_scores(audio, test, embedder), "rtf": rtf, "parameters": float(parameters)}
    nearest = np.argmin(
        ((visual_feature(frames)[:, None] - visual_feature(train["frames"])[None]) ** 2).sum(-1), axis=1
    )
    results["retrieval"] = {**_scores(train["audio"][nearest], test, embedder), "rtf": 0.0, "parameters": 0.0}
    results["reference"] = {**_scores(test["audio"], test, embedder), "rtf": 0.0, "parameters": 0.0}
    return results


# ---------------------------------------------------------------------------------------------- export

EXPORT_NAMES = {"maskgit": "v2a", "autoregressive": "v2a-ar", "flow": "v2a-flow"}
"""Weights folder of each paradigm when exported (the registry names of :mod:`avikit.models.registry`)."""


def export_v2a(
    trained: dict[str, Any],
    weights_dir: str | Path,
    v2a: V2AConfig | None = None,
    window_frames: int | None = None,
    retrieval_bank: int = 512,
    names: dict[str, str] | None = None,
    guidance: float = 2.0,
) -> dict[str, Path]:
    """Save the trained generators (and a retrieval bank of ``retrieval_bank`` train clips) as packages.

    Each paradigm goes to ``weights_dir / names[paradigm]`` (default :data:`EXPORT_NAMES`), the bank to
    ``weights_dir / "v2a-retrieval"``, loadable by :func:`avikit.models.v2a_model.from_pretrained` and
    :func:`~avikit.models.v2a_model.retrieval_from_pretrained`. Float tensors are stored in float16; the
    packages sample with classifier-free guidance ``guidance``.
    """
    v2a = v2a or V2AConfig()
    window = window_frames or trained["data"]["train"]["frames"].shape[1]
    root, out = Path(weights_dir), {}
    vocoder = trained.get("vocoder")
    for paradigm, name in (names or EXPORT_NAMES).items():
        if paradigm not in trained["models"]:
            continue
        decodes_mel = paradigm == "flow" or v2a.tokenizer == "mel"
        config = V2AModelConfig(
            paradigm,
            v2a,
            window,
            16 if paradigm == "flow" else 12,
            guidance,
            vocoder=vocoder[1] if vocoder is not None and decodes_mel else None,
        )
        model = build_v2a_generator(config)
        model.network.load_state_dict(trained["models"][paradigm].state_dict())
        if model.codec is not None:
            model.codec.load_state_dict(trained["codec"].state_dict())
        if model.vocoder is not None and vocoder is not None:
            model.vocoder.load_state_dict(vocoder[0].state_dict())
        out[name] = save_v2a(model, config, root / name)
    if retrieval_bank:
        bank = RetrievalConfig(bank_size=retrieval_bank)
        out["v2a-retrieval"] = save_v2a(build_v2a_retrieval(bank).fill(), bank, root / "v2a-retrieval")
    return out
