"""Training and scoring recipes for audio-to-video and joint audio+video generation on AVSynth.

Joint generation uses single-source AVSynth scenes (one visible object that sounds, no off-screen sound),
so a clip's activity belongs to one source and its caption names one class. Audio-to-video uses the
scenes it meets on the benchmark (:func:`load_scenes`: up to three objects, some silent or off-screen,
drawn at 128 px and area-resized), with still objects, since the reference frame cannot move them. Each
default run trains in about 3 minutes on one busy CPU core.

- :func:`train_a2v` trains the audio-to-video generator on L1 plus L1 on the changing pixels (and, with a
  sync weight, first trains and freezes the sync expert on real against shifted and misplaced windows
  and adds its loss); :func:`evaluate_a2v` scores PSNR/SSIM to the real frames and sync (offset
  accuracy, DeSync and the activity correlation of the simple sync scorer of
  :func:`avikit.models.gen_recipes.sync_logits`) against two baselines: *retrieval* (the frames of the
  nearest training clip by an audio feature) and *static* (the reference frame repeated).
- :func:`train_joint` trains the joint flow on captions; :func:`evaluate_joint` scores the within-sample
  sync of each generated pair (the same scorer), class consistency (a tiny audio and a tiny video
  classifier trained on real ``val`` clips must recognise the prompted class) and the real-time factor,
  against a retrieval baseline (the real pair of the training clip whose caption shares most words).
"""

from __future__ import annotations

import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.data.synth import SEEN_CLASSES, SynthConfig, generate
from avikit.metrics.generation import evaluate_desync
from avikit.metrics.reconstruction import compute_psnr, compute_ssim
from avikit.models.a2v import KIND as A2V_KIND
from avikit.models.a2v import (
    A2VConfig,
    build_a2v,
    build_sync_expert,
    generate_a2v,
    select_reference,
    sync_expert_loss,
)
from avikit.models.gen_recipes import SYNC_OFFSETS, GenTrainConfig, fit, sync_logits
from avikit.models.joint_gen import KIND as JOINT_KIND
from avikit.models.joint_gen import (
    CaptionVocabulary,
    JointCheckpoint,
    JointConfig,
    build_joint,
    build_vocabulary,
    generate_joint,
)
from avikit.models.v2a import griffin_lim
from avikit.nn import save_pretrained
from avikit.nn.schedulers import FlowMatchingScheduler

__all__ = [
    "SourceClassifier",
    "audio_feature",
    "evaluate_a2v",
    "evaluate_joint",
    "load_scenes",
    "load_sources",
    "sample_joint",
    "save_a2v",
    "save_joint",
    "save_predictions",
    "sync_scores",
    "train_a2v",
    "train_joint",
]


def load_sources(
    split: str, count: int, config: GenTrainConfig, image_size: int, moving: bool = False
) -> dict[str, Any]:
    """Single-source clips: ``{"audio" [N, 1, S], "frames" [N, T, 3, H, W], "classes", "captions", "ids"}``.

    Frames are in [0, 1]; the one object sounds and stays still unless ``moving``. Below AVSynth's smallest
    size (32 px) clips are made at 32 px and area-downsampled.
    """
    synth = SynthConfig(
        duration=Fraction(config.duration),
        size=max(image_size, 32),
        max_objects=1,
        p_silent=0.0,
        p_offscreen=0.0,
        p_moving=0.5 if moving else 0.0,
    )
    audio, frames, classes, captions, ids = [], [], [], [], []
    for index in range(count):
        sample, clip = generate(split, index, seed=config.seed, config=synth)[:2]
        audio.append(torch.from_numpy(clip.require_waveform().mean(0, keepdims=True).copy()))
        frames.append(torch.from_numpy(clip.require_frames().copy()).permute(0, 3, 1, 2).float() / 255)
        classes.append(str(next(iter(sample.targets.get("labels", [])), "")))
        captions.append(str(sample.targets.get("caption", "")))
        ids.append(sample.id)
    return {
        "audio": torch.stack(audio),
        "frames": _shrink(torch.stack(frames), image_size),
        "classes": classes,
        "captions": captions,
        "ids": ids,
    }


def _shrink(frames: torch.Tensor, size: int) -> torch.Tensor:
    """``[N, T, 3, H, W]`` to ``[N, T, 3, size, size]`` by area averaging (unchanged at ``H``)."""
    if frames.shape[-1] == size:
        return frames
    return F.interpolate(frames.flatten(0, 1), size=(size, size), mode="area").unflatten(0, frames.shape[:2])


def _threads(config: GenTrainConfig) -> int:
    previous = torch.get_num_threads()
    torch.set_num_threads(config.num_threads)
    torch.manual_seed(config.seed)
    return previous


def _folder(out_dir: str | Path | None) -> Path | None:
    out = Path(out_dir) if out_dir else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    return out


def _parameters(model: nn.Module) -> float:
    return float(sum(p.numel() for p in model.parameters()))


# -------------------------------------------------------------------------------------------- a2v


def load_scenes(
    split: str, count: int, config: GenTrainConfig, image_size: int, render_size: int = 128
) -> dict[str, Any]:
    """Still AVSynth scenes as the benchmark shows them: ``{"audio" [N, 1, S], "frames" [N, T, 3, H, W]}``.

    Up to three objects, some silent or off-screen (AVSynth's defaults), none moving; drawn at
    ``render_size`` px and area-resized to ``image_size`` as :class:`~avikit.models.av_generators.A2VModel`
    resizes the benchmark's 128 px frames. Frames are in [0, 1].
    """
    synth = SynthConfig(duration=Fraction(config.duration), size=render_size, p_moving=0.0)
    audio, frames = [], []
    for index in range(count):
        clip = generate(split, index, seed=config.seed, config=synth)[1]
        audio.append(torch.from_numpy(clip.require_waveform().mean(0, keepdims=True).copy()))
        drawn = torch.from_numpy(clip.require_frames().copy()).permute(0, 3, 1, 2).float() / 255
        frames.append(_shrink(drawn[None], image_size)[0])
    return {"audio": torch.stack(audio), "frames": torch.stack(frames)}


def train_a2v(
    config: GenTrainConfig,
    a2v: A2VConfig | None = None,
    out_dir: str | Path | None = None,
    expert_steps: int | None = None,
) -> dict[str, Any]:
    """Train the sync expert (``expert_steps``, default ``4 * config.steps``), freeze it, then the generator.

    The expert's loss joins the generator's after the first ``a2v.sync_warmup`` of its steps. With
    ``a2v.sync_weight == 0`` the generator does not use the expert, which is then not trained
    (``training["sync_expert"]`` is ``None``).

    Returns:
        ``{"model", "expert", "training": {"sync_expert", "a2v"}, "data": {"train", "test"}, "config"}``.
    """
    a2v, out = a2v or A2VConfig(), _folder(out_dir)
    previous = _threads(config)
    try:
        train = load_scenes("train", config.num_train, config, a2v.image_size)
        audio, frames = train["audio"], train["frames"]
        reference = select_reference(audio, frames)  # [N, 3, H, W]
        model, expert = build_a2v(a2v), build_sync_expert(a2v)
        with torch.no_grad():
            mel = model.features(audio)  # [N, 8 T, M]
        generator = torch.Generator().manual_seed(config.seed + 1)
        training: dict[str, Any] = {"sync_expert": None}
        if a2v.sync_weight:
            training["sync_expert"] = fit(
                expert,
                lambda rows: sync_expert_loss(expert, frames[rows], mel[rows], generator),
                4 * config.steps if expert_steps is None else expert_steps,
                config,
                out,
                "sync_expert",
            )
        expert.requires_grad_(False).eval()
        warmup, calls = int(a2v.sync_warmup * config.steps), [0]

        def a2v_loss(rows: torch.Tensor) -> torch.Tensor:
            calls[0] += 1
            sync_weight = a2v.sync_weight if calls[0] > warmup else 0.0
            return model.loss(
                reference[rows],
                audio[rows],
                frames[rows],
                expert if sync_weight else None,
                sync_weight,
                generator,
                a2v.change_weight,
            )

        training["a2v"] = fit(
            model,
            a2v_loss,
            config.steps,
            config,
            out,
            "a2v",
        )
    finally:
        torch.set_num_threads(previous)
    test = load_scenes("test", config.num_test, config, a2v.image_size)
    return {
        "model": model,
        "expert": expert,
        "training": training,
        "data": {"train": train, "test": test},
        "config": a2v,
    }


def _uint8(frames: torch.Tensor) -> np.ndarray:
    """``[N, T, 3, H, W]`` in [0, 1] to ``uint8 [N, T, H, W, 3]``."""
    return (frames.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 1, 3, 4, 2).numpy()


def sync_scores(audio: torch.Tensor, frames: torch.Tensor) -> dict[str, float]:
    """Offset accuracy, DeSync (s) and the zero-offset activity correlation of the simple sync scorer."""
    logits = sync_logits(audio, frames)  # [N, 1, K]
    grid = SYNC_OFFSETS / 8.0  # video frames to seconds at 8 fps
    zero = int(np.flatnonzero(SYNC_OFFSETS == 0)[0])
    return {
        "offset_accuracy": float(np.mean(SYNC_OFFSETS[logits[:, 0].argmax(1)] == 0)),
        "desync": evaluate_desync(logits, grid)["desync"],
        "activity_correlation": float(np.mean(logits[:, 0, zero])),
    }


def _frame_scores(frames: torch.Tensor, test: dict[str, Any]) -> dict[str, float]:
    real, fake = _uint8(test["frames"]), _uint8(frames)
    clips = (len(real), -1, *real.shape[-2:])  # PSNR per clip: the MSE over all its frames
    psnr = np.minimum(compute_psnr(real.reshape(clips), fake.reshape(clips)), 100.0)  # identical: 100 dB
    return {
        "psnr": float(np.mean(psnr)),
        "ssim": float(np.mean(compute_ssim(real, fake))),
        **sync_scores(test["audio"], frames),
    }


def audio_feature(audio: torch.Tensor) -> np.ndarray:
    """Retrieval feature ``[N, F]``: mean log spectrum (32 bands) and the loudness curve per 1/8 s."""
    spec = torch.stft(audio[:, 0], 512, 250, window=torch.hann_window(512), return_complex=True).abs()
    profile = F.adaptive_avg_pool1d(torch.log(spec + 1e-4).mean(-1)[:, None], 32)[:, 0]  # [N, 32]
    loud = torch.log(spec.square().mean(1) + 1e-6)  # [N, frames]
    curve = F.adaptive_avg_pool1d(loud[:, None], audio.shape[-1] // 2000)[:, 0]  # [N, T]
    return torch.cat([profile, curve], dim=1).numpy()


def evaluate_a2v(trained: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Score the generator, the retrieval and static baselines and the real frames on the test clips.

    Returns:
        ``{name: {"psnr", "ssim", "offset_accuracy", "desync", "activity_correlation", "rtf",
        "parameters"}}``.
    """
    train, test, model = trained["data"]["train"], trained["data"]["test"], trained["model"]
    reference = select_reference(test["audio"], test["frames"])
    start = time.perf_counter()
    generated = generate_a2v(model, reference, test["audio"])
    seconds_of_audio = test["audio"].shape[0] * test["audio"].shape[-1] / 16000
    results = {
        "a2v": {
            **_frame_scores(generated, test),
            "rtf": (time.perf_counter() - start) / seconds_of_audio,
            "parameters": _parameters(model),
        }
    }
    distances = (audio_feature(test["audio"])[:, None] - audio_feature(train["audio"])[None]) ** 2
    nearest = distances.sum(-1).argmin(1)
    static = reference[:, None].expand_as(test["frames"])
    for name, frames in (
        ("retrieval", train["frames"][nearest]),
        ("static", static),
        ("reference", test["frames"]),
    ):
        results[name] = {**_frame_scores(frames, test), "rtf": 0.0, "parameters": 0.0}
    return results


# ------------------------------------------------------------------------------------------ joint


def train_joint(
    config: GenTrainConfig, joint: JointConfig | None = None, out_dir: str | Path | None = None
) -> dict[str, Any]:
    """Train the joint flow on the captions of single-source clips.

    Returns:
        ``{"model", "vocabulary", "training": {"joint"}, "data": {"train", "test"}, "config"}``.
    """
    joint, out = joint or JointConfig(), _folder(out_dir)
    previous = _threads(config)
    try:
        train = load_sources("train", config.num_train, config, joint.image_size)
        vocabulary = build_vocabulary(train["captions"])
        ids = vocabulary.encode(train["captions"])  # [N, L]
        model, scheduler = build_joint(joint, len(vocabulary)), FlowMatchingScheduler()
        generator = torch.Generator().manual_seed(config.seed + 1)
        audio, frames = train["audio"], train["frames"]
        training = {
            "joint": fit(
                model,
                lambda rows: model.loss(
                    audio[rows],
                    frames[rows],
                    ids[rows],
                    scheduler,
                    joint.condition_dropout,
                    generator,
                ),
                config.steps,
                config,
                out,
                "joint",
            )
        }
    finally:
        torch.set_num_threads(previous)
    test = load_sources("test", config.num_test, config, joint.image_size)
    return {
        "model": model,
        "vocabulary": vocabulary,
        "training": training,
        "data": {"train": train, "test": test},
        "config": joint,
    }


class SourceClassifier(nn.Module):
    """Tiny class recogniser for class consistency: audio from its log spectrum, video from its colours."""

    def __init__(self, num_classes: int, hidden: int = 64) -> None:
        super().__init__()
        self.audio = nn.Sequential(nn.Linear(64, hidden), nn.GELU(), nn.Linear(hidden, num_classes))
        self.video = nn.Sequential(nn.Linear(199, hidden), nn.GELU(), nn.Linear(hidden, num_classes))

    @staticmethod
    def audio_features(audio: torch.Tensor) -> torch.Tensor:
        """``[N, 1, S]`` to the time-averaged log spectrum in 64 bands ``[N, 64]``."""
        spec = torch.stft(audio[:, 0], 1024, 256, window=torch.hann_window(1024), return_complex=True).abs()
        return F.adaptive_avg_pool1d(torch.log(spec + 1e-4).mean(-1)[:, None], 64)[:, 0]

    @staticmethod
    def video_features(frames: torch.Tensor) -> torch.Tensor:
        """``[N, T, 3, H, W]`` to the colours of the 16 pixels furthest from the median colour, and more.

        Per clip ``[N, 199]``: mean and spread of those pixels' colours, the share of pixels far from the
        median, and the mean 8x8 colour image.
        """
        flat = frames.flatten(3)  # [N, T, 3, HW]
        deviation = (flat - flat.median(-1, keepdim=True).values).abs().sum(2)  # [N, T, HW]
        top = deviation.topk(16, dim=-1).indices[:, :, None].expand(-1, -1, 3, -1)  # [N, T, 3, 16]
        colours = flat.gather(-1, top)  # [N, T, 3, 16]
        pooled = F.adaptive_avg_pool2d(frames.flatten(0, 1), 8).reshape(*frames.shape[:2], -1)  # [N, T, 192]
        parts = [colours.mean(-1), colours.std(-1), (deviation > 0.3).float().mean(-1, keepdim=True), pooled]
        return torch.cat([p.mean(1) for p in parts], dim=1)

    def fit(
        self, audio: torch.Tensor, frames: torch.Tensor, labels: torch.Tensor, steps: int = 500
    ) -> SourceClassifier:
        """Cross-entropy on both heads; returns ``self`` in eval mode."""
        optimizer = torch.optim.Adam(self.parameters(), lr=3e-3, weight_decay=1e-4)
        a, v = self.audio_features(audio), self.video_features(frames)
        for _ in range(steps):
            loss = F.cross_entropy(self.audio(a), labels) + F.cross_entropy(self.video(v), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return self.eval()

    @torch.no_grad()
    def predict(self, audio: torch.Tensor, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Class indices ``([N] from audio, [N] from video)``."""
        a, v = self.audio(self.audio_features(audio)), self.video(self.video_features(frames))
        return a.argmax(-1), v.argmax(-1)


def _nearest_caption(captions: list[str], pool: list[str]) -> np.ndarray:
    """Index in ``pool`` of the caption sharing most words (Jaccard) with each of ``captions``."""
    words = [set(CaptionVocabulary.split(c)) for c in pool]
    out = []
    for caption in captions:
        query = set(CaptionVocabulary.split(caption))
        out.append(int(np.argmax([len(query & w) / max(len(query | w), 1) for w in words])))
    return np.asarray(out)


def _pair_scores(
    audio: torch.Tensor, frames: torch.Tensor, labels: torch.Tensor, classifier: SourceClassifier
) -> dict[str, float]:
    by_audio, by_video = classifier.predict(audio, frames)
    return {
        **sync_scores(audio, frames),
        "audio_class_accuracy": float((by_audio == labels).float().mean()),
        "video_class_accuracy": float((by_video == labels).float().mean()),
    }


def sample_joint(
    trained: dict[str, Any], captions: list[str], guidance: float = 2.0, num_steps: int = 16, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generate ``(audio [N, 1, S], frames [N, T, 3, H, W])`` for ``captions``, audio by Griffin-Lim."""
    model, test = trained["model"], trained["data"]["test"]
    mel, frames = generate_joint(
        model,
        trained["vocabulary"].encode(captions),
        test["frames"].shape[1],
        num_steps,
        guidance,
        generator=torch.Generator().manual_seed(seed),
    )
    return griffin_lim(model.features, mel)[..., : test["audio"].shape[-1]], frames


def evaluate_joint(
    trained: dict[str, Any], guidance: float = 2.0, num_steps: int = 16, seed: int = 0
) -> dict[str, dict[str, float]]:
    """Generate a pair for each test caption; score sync and class consistency against retrieval and real.

    Returns:
        ``{name: {"offset_accuracy", "desync", "activity_correlation", "audio_class_accuracy",
        "video_class_accuracy", "rtf", "parameters"}}`` for ``joint``, ``retrieval`` and ``reference``.
    """
    train, test, model = trained["data"]["train"], trained["data"]["test"], trained["model"]
    classes = list(SEEN_CLASSES)
    size, seconds = test["frames"].shape[-1], test["audio"].shape[-1] // 16000
    held_out = load_sources("val", len(train["captions"]), GenTrainConfig(duration=seconds), size)
    classifier = SourceClassifier(len(classes))
    classifier.fit(
        held_out["audio"], held_out["frames"], torch.tensor([classes.index(c) for c in held_out["classes"]])
    )
    labels = torch.tensor([classes.index(c) for c in test["classes"]])
    start = time.perf_counter()
    audio, frames = sample_joint(trained, test["captions"], guidance, num_steps, seed)
    rtf = (time.perf_counter() - start) / (test["audio"].shape[0] * seconds)
    nearest = _nearest_caption(test["captions"], train["captions"])
    return {
        "joint": {
            **_pair_scores(audio, frames, labels, classifier),
            "rtf": rtf,
            "parameters": _parameters(model),
        },
        "retrieval": {
            **_pair_scores(train["audio"][nearest], train["frames"][nearest], labels, classifier),
            "rtf": 0.0,
            "parameters": 0.0,
        },
        "reference": {
            **_pair_scores(test["audio"], test["frames"], labels, classifier),
            "rtf": 0.0,
            "parameters": 0.0,
        },
    }


def save_a2v(trained: dict[str, Any], out_dir: str | Path) -> Path:
    """Write the trained audio-to-video generator as a weights folder (read by ``a2v.from_pretrained``)."""
    return save_pretrained(trained["model"], trained["config"], out_dir, A2V_KIND)


def save_joint(
    trained: dict[str, Any],
    out_dir: str | Path,
    num_steps: int = 16,
    guidance: float = 2.0,
    vocoder_iterations: int = 32,
) -> Path:
    """Write the trained joint generator, its vocabulary and sampling settings as a weights folder."""
    words = trained["vocabulary"].words
    checkpoint = JointCheckpoint(trained["config"], words, num_steps, guidance, vocoder_iterations)
    return save_pretrained(trained["model"], checkpoint, out_dir, JOINT_KIND)


def save_predictions(
    folder: str | Path,
    sample_ids: list[str],
    frames: torch.Tensor | None = None,
    audio: torch.Tensor | None = None,
) -> list[dict[str, str]]:
    """Write generated media as ``.npy`` files and return prediction records of the generation tasks.

    Args:
        folder: where the arrays go (created).
        sample_ids: one id per clip.
        frames: ``[N, T, 3, H, W]`` in [0, 1], written as ``uint8 [T, H, W, 3]`` (``video``).
        audio: ``[N, 1, S]``, written as ``float32 [1, S]`` (``audio``).
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    records: list[dict[str, str]] = [{"id": sample_id} for sample_id in sample_ids]
    for index, record in enumerate(records):
        if frames is not None:
            record["video"] = str(out / f"{record['id']}_video.npy")
            np.save(record["video"], _uint8(frames[index : index + 1])[0])
        if audio is not None:
            record["audio"] = str(out / f"{record['id']}_audio.npy")
            np.save(record["audio"], audio[index].numpy().astype(np.float32))
    return records
