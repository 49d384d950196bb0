"""The shared trunk of the AVSynth reference task models: the pretrained joint encoder, frozen, and inputs.

Every reference task model (:mod:`avikit.models.avel` ... :mod:`avikit.models.avqa`) reads the features of
one joint audio-visual encoder (:mod:`avikit.models.pretrain`, pretrained without labels on AVSynth
``train``), kept frozen, seen through the exact inputs each task builds. This module holds what they share:

- :func:`encode_media`: frames ``[B, T, H, W, 3]`` uint8 and waveforms ``[B, C, N]`` -> encoder features,
  with the frames picked evenly over ``num_segments`` equal parts of the window (one per part);
- :func:`encode_items`: the same for a batch of evaluation items (anything with ``.frames``/``.waveform``);
- :func:`build_feature_set`: features of a whole AVSynth split for a task's inputs, cached on disk, with the
  sample records (a head is then trained on cached features in seconds);
- :func:`fit_head`: a seeded training loop over cached features with a rich progress bar, a JSONL loss log
  and an SVG loss plot.

Example:
    >>> import numpy as np
    >>> from avikit.models.pretrain import PretrainConfig, build_av_encoder
    >>> encoder = freeze(build_av_encoder(PretrainConfig.tiny().model))
    >>> frames = np.zeros((2, 16, 64, 64, 3), np.uint8)
    >>> waveform = np.zeros((2, 2, 64000), np.float32)
    >>> features = encode_media(encoder, frames, waveform, num_segments=4)
    >>> features["audio_segments"].shape, features["visual_maps"].shape
    (torch.Size([2, 4, 32]), torch.Size([2, 4, 32, 4, 4]))
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from numpy.typing import NDArray
from torch import nn

from avikit.data.sample import Sample
from avikit.data.synth import generate
from avikit.models.pretrain import AVJointEncoder
from avikit.models.pretrain import from_pretrained as load_av_encoder
from avikit.nn import (
    LossLog,
    make_progress,
    plot_losses_svg,
    resolve_pretrained,
    seed_everything,
    segment_frame_indices,
)
from avikit.nn import from_pretrained as load_pretrained
from avikit.tasks import Task, TaskInputs, cut_media

__all__ = [
    "ENCODER_NAME",
    "FEATURE_KEYS",
    "WEIGHTS_DIR",
    "FeatureSet",
    "FitConfig",
    "MediaItem",
    "MediaSet",
    "TrunkModel",
    "build_feature_set",
    "build_media_set",
    "combined_hash",
    "default_cache_dir",
    "encode_items",
    "encode_media",
    "encode_prepared",
    "fit_head",
    "freeze",
    "load_encoder",
    "load_head",
    "prepare_media",
    "resolve_head_encoder",
    "run_minibatches",
]

logger = logging.getLogger(__name__)

ENCODER_NAME = "av-encoder"
"""The packaged pretrained encoder every reference task model reads."""
WEIGHTS_DIR = Path(__file__).parent / "weights"
"""Folder of the weights shipped with the package (one sub-folder per model)."""
FEATURE_KEYS = (
    "audio_tokens",
    "visual_maps",
    "audio_segments",
    "visual_segments",
    "joint_audio",
    "joint_visual",
    "audio_embedding",
    "visual_embedding",
)
"""The encoder outputs (see :class:`avikit.models.pretrain.AVFeatures`), by name."""

Features = dict[str, torch.Tensor]


class MediaItem(Protocol):
    """What a task model reads from an evaluation item (satisfied by ``avikit.eval.Item``)."""

    @property
    def sample(self) -> Sample:
        """The sample record (its targets are never read by a model)."""
        ...

    @property
    def inputs(self) -> TaskInputs:
        """The task's inputs (frame indices, audio window, text)."""
        ...

    @property
    def frames(self) -> NDArray[np.uint8]:
        """``[T, H, W, 3]``."""
        ...

    @property
    def waveform(self) -> NDArray[np.float32]:
        """``[C, N]``."""
        ...


class TrunkModel(nn.Module):
    """The frozen trunk and one task head: what every reference model shares.

    Subclasses set ``tasks`` and ``default_id``, annotate ``head`` with their head's type and write
    ``predict``. The attribute names ``encoder`` and ``head`` are the prefixes of the packaged weights.
    """

    tasks: tuple[str, ...] = ()
    default_id: str = ""

    def __init__(
        self,
        encoder: AVJointEncoder,
        head: nn.Module,
        model_id: str | None = None,
        weights_hash: str = "untrained",
    ) -> None:
        super().__init__()
        self.encoder, self.head = encoder, head
        self.id = model_id or self.default_id
        self.weights_hash = weights_hash

    def check_task(self, task: Task) -> None:
        """Raise ``ValueError`` unless the model predicts ``task``."""
        if task.name not in self.tasks:
            raise ValueError(f"{self.id} predicts {', '.join(self.tasks)}, not {task.name!r}")

    def window_seconds(self, batch: Sequence[MediaItem]) -> int:
        """Seconds in the batch's audio window (at least 1): one trunk segment per second."""
        audio = batch[0].inputs.audio
        return max(1, round((audio[1] - audio[0]) / self.encoder.sample_rate))


def freeze(encoder: AVJointEncoder) -> AVJointEncoder:
    """Put ``encoder`` in eval mode with no trainable parameters and return it."""
    encoder.eval()
    for parameter in encoder.parameters():
        parameter.requires_grad_(False)
    return encoder


def load_encoder(name_or_path: str | os.PathLike[str] = ENCODER_NAME) -> AVJointEncoder:
    """Load the pretrained encoder (a packaged name, a folder or a hub id), frozen."""
    return freeze(load_av_encoder(name_or_path))


def combined_hash(*paths: str | os.PathLike[str]) -> str:
    """SHA-256 (first 16 hex digits) over the bytes of several weight files, in order."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:16]


def _frames_uint8(frames: NDArray[np.uint8], image_size: int, num_segments: int) -> torch.Tensor:
    """``[B, T, H, W, 3]`` uint8 -> ``[B, S, 3, image_size, image_size]`` uint8 (one frame per segment)."""
    picked = segment_frame_indices(frames.shape[1], num_segments) if frames.shape[1] != num_segments else None
    x = torch.from_numpy(np.ascontiguousarray(frames if picked is None else frames[:, picked]))
    b, s = x.shape[:2]
    x = x.permute(0, 1, 4, 2, 3).flatten(0, 1)  # [B*S, 3, H, W] uint8
    if x.shape[-1] != image_size:  # area resize then round, as the encoder saw in pretraining
        x = F.interpolate(x.float(), size=(image_size, image_size), mode="area").round().to(torch.uint8)
    return x.reshape(b, s, 3, image_size, image_size)


def prepare_media(
    encoder: AVJointEncoder, frames: NDArray[np.uint8], waveform: NDArray[np.float32], num_segments: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut media -> the encoder's inputs: log-Mel ``[B, M, T_mel]`` and frames ``[B, S, 3, s, s]`` uint8.

    One frame per segment is kept (the centre of each of ``num_segments`` equal parts), resized to the
    encoder's ``image_size``; the audio goes through the encoder's (fixed) log-Mel front end.
    """
    if frames.ndim != 5 or waveform.ndim != 3 or len(frames) != len(waveform):
        raise ValueError(
            f"need frames [B, T, H, W, 3] and waveforms [B, C, N] of one batch size, got "
            f"{list(frames.shape)} and {list(waveform.shape)}"
        )
    with torch.no_grad():
        mel = encoder.frontend(torch.from_numpy(np.ascontiguousarray(waveform)))  # [B, M, T_mel]
    return mel, _frames_uint8(frames, encoder.visual.image_size, num_segments)


def encode_prepared(encoder: AVJointEncoder, mel: torch.Tensor, frames: torch.Tensor) -> Features:
    """Encoder features of prepared inputs (see :func:`prepare_media`); gradients flow when enabled."""
    out = encoder.encode(mel, frames.float() / 255)
    return {key: getattr(out, key) for key in FEATURE_KEYS}


@torch.no_grad()
def encode_media(
    encoder: AVJointEncoder,
    frames: NDArray[np.uint8],
    waveform: NDArray[np.float32],
    num_segments: int,
    batch_size: int = 32,
) -> Features:
    """Encode cut media with the frozen encoder.

    Args:
        encoder: the joint encoder (its ``frames_per_segment`` must be 1).
        frames: ``[B, T, H, W, 3]`` uint8 with ``T >= num_segments``; one frame per segment is used (the
            centre of each of ``num_segments`` equal parts).
        waveform: ``[B, C, N]`` float32 at the encoder's sample rate; split into ``num_segments`` equal parts.
        num_segments: time steps of the output.
        batch_size: clips per encoder call.

    Returns:
        the encoder outputs by name (see :data:`FEATURE_KEYS`), e.g. ``audio_segments [B, S, D]`` and
        ``visual_maps [B, S, D, h, w]``.
    """
    parts: list[Features] = []
    for begin in range(0, len(frames), batch_size):
        end = begin + batch_size
        parts.append(
            encode_prepared(
                encoder, *prepare_media(encoder, frames[begin:end], waveform[begin:end], num_segments)
            )
        )
    if not parts:
        raise ValueError("encode_media needs at least one clip")
    return {key: torch.cat([p[key] for p in parts]) for key in FEATURE_KEYS}


def encode_items(encoder: AVJointEncoder, batch: Sequence[MediaItem], num_segments: int) -> Features:
    """Encode a batch of evaluation items (items of one task share their media shapes)."""
    frames = np.stack([item.frames for item in batch])  # [B, T, H, W, 3]
    waveform = np.stack([item.waveform for item in batch]).astype(np.float32, copy=False)  # [B, C, N]
    return encode_media(encoder, frames, waveform, num_segments)


# ------------------------------------------------------------------------------------------ feature sets


@dataclass
class FeatureSet:
    """Encoder features of a split, seen through one task's inputs, with the sample records.

    Attributes:
        features: name -> ``[N, ...]`` tensors (see :data:`FEATURE_KEYS`).
        samples: the ``N`` sample records in index order (their targets give the training labels).
        inputs: the ``N`` task inputs.
    """

    features: Features
    samples: list[Sample]
    inputs: list[TaskInputs]

    def __len__(self) -> int:
        return len(self.samples)


def default_cache_dir() -> Path:
    """``$AVIKIT_CACHE/features`` (default ``~/.cache/avikit/features``)."""
    root = os.environ.get("AVIKIT_CACHE") or Path.home() / ".cache" / "avikit"
    return Path(root) / "features"


def _cache_key(task: Task, encoder: AVJointEncoder, split: str, count: int, seed: int, segments: int) -> str:
    state = encoder.state_dict()
    digest = hashlib.sha256()
    for name in sorted(state):
        digest.update(name.encode())
        digest.update(state[name].detach().numpy().tobytes())
    key = {
        "task": task.name,
        "protocol": task.spec.protocol_hash,
        "split": split,
        "count": count,
        "seed": seed,
        "segments": segments,
        "encoder": digest.hexdigest(),
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]


def _iter_task_media(
    task: Task, split: str, count: int, seed: int, show: bool, chunk: int = 32
) -> Iterator[tuple[list[Sample], list[TaskInputs], NDArray[np.uint8], NDArray[np.float32]]]:
    """Chunks of the AVSynth clips ``0 .. count - 1`` the task scores: records, inputs, cut frames, waves."""
    samples: list[Sample] = []
    inputs: list[TaskInputs] = []
    frames: list[NDArray[np.uint8]] = []
    waves: list[NDArray[np.float32]] = []
    with make_progress(disable=not show) as progress:
        bar = progress.add_task(f"media {task.name} {split}", total=count, info="")
        for index in range(count):
            sample, clip = generate(split, index, seed)[:2]
            progress.update(bar, advance=1)
            if not task.includes(replace(sample, split=task.spec.protocol.split)):
                continue  # e.g. source localisation needs an audio-visual event
            item_inputs = task.build_inputs(sample)
            cut = cut_media(clip, item_inputs)
            samples.append(sample)
            inputs.append(item_inputs)
            frames.append(cut[0])
            waves.append(cut[1])
            if len(frames) == chunk or (index == count - 1 and frames):
                yield samples, inputs, np.stack(frames), np.stack(waves)
                samples, inputs, frames, waves = [], [], [], []


def _extract(
    task: Task, encoder: AVJointEncoder, split: str, count: int, seed: int, segments: int, show: bool
) -> FeatureSet:
    samples: list[Sample] = []
    inputs: list[TaskInputs] = []
    parts = []
    for chunk_samples, chunk_inputs, frames, waves in _iter_task_media(task, split, count, seed, show):
        samples += chunk_samples
        inputs += chunk_inputs
        parts.append(encode_media(encoder, frames, waves, segments))
    if not parts:
        raise ValueError(f"none of the first {count} {split} clips is scored by task {task.name}")
    features = {key: torch.cat([p[key] for p in parts]) for key in FEATURE_KEYS}
    return FeatureSet(features, samples, inputs)


def build_feature_set(
    task: Task,
    encoder: AVJointEncoder,
    split: str,
    count: int,
    num_segments: int,
    seed: int = 0,
    cache_dir: str | os.PathLike[str] | None = None,
    show_progress: bool = True,
) -> FeatureSet:
    """Features of AVSynth clips ``0 .. count - 1`` of ``split`` under ``task``'s inputs (cached on disk).

    Clips the task would not score (e.g. without an audio-visual event, for source localisation) are skipped.

    The cache key covers the task's protocol hash, the encoder's weights, the split, count, seed and the
    number of segments, so a changed protocol or encoder never reuses stale features.
    """
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = folder / f"{task.name}-{split}-{_cache_key(task, encoder, split, count, seed, num_segments)}.pt"
    if path.is_file():
        data = torch.load(path, weights_only=True)
        records = json.loads(path.with_suffix(".json").read_text())
        samples = [Sample.from_dict(r) for r in records]
        return FeatureSet(data, samples, [task.build_inputs(s) for s in samples])
    start = time.perf_counter()
    result = _extract(task, encoder, split, count, seed, num_segments, show_progress)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(result.features, path)
    path.with_suffix(".json").write_text(json.dumps([s.to_dict() for s in result.samples]))
    logger.info(
        "features of %d %s clips for %s in %.1f s", count, split, task.name, time.perf_counter() - start
    )
    return result


@dataclass
class MediaSet:
    """Encoder inputs of a split, seen through one task's inputs, with the sample records.

    What end-to-end training (:mod:`avikit.models.finetune`) reads: the encoder runs on these each step.

    Attributes:
        mel: ``[N, M, T_mel]`` log-Mel of each clip's audio window (the encoder's fixed front end).
        frames: ``[N, S, 3, s, s]`` uint8, one frame per segment at the encoder's image size.
        samples: the ``N`` sample records in index order.
        inputs: the ``N`` task inputs.
    """

    mel: torch.Tensor
    frames: torch.Tensor
    samples: list[Sample]
    inputs: list[TaskInputs]

    def __len__(self) -> int:
        return len(self.samples)


def build_media_set(
    task: Task,
    encoder: AVJointEncoder,
    split: str,
    count: int,
    num_segments: int,
    seed: int = 0,
    show_progress: bool = True,
) -> MediaSet:
    """Encoder inputs of AVSynth clips ``0 .. count - 1`` of ``split`` under ``task``'s inputs (in memory).

    The same clips, cuts and frame choice as :func:`build_feature_set`, before the encoder.
    """
    samples: list[Sample] = []
    inputs: list[TaskInputs] = []
    mels, frames = [], []
    for chunk_samples, chunk_inputs, cut_frames, waves in _iter_task_media(
        task, split, count, seed, show_progress
    ):
        samples += chunk_samples
        inputs += chunk_inputs
        mel, picked = prepare_media(encoder, cut_frames, waves, num_segments)
        mels.append(mel)
        frames.append(picked)
    if not samples:
        raise ValueError(f"none of the first {count} {split} clips is scored by task {task.name}")
    return MediaSet(torch.cat(mels), torch.cat(frames), samples, inputs)


# --------------------------------------------------------------------------------------------- training


@dataclass(frozen=True)
class FitConfig:
    """The schedule of a head trained on cached features."""

    steps: int = 400
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-2
    seed: int = 0


LossFn = Callable[[Mapping[str, torch.Tensor]], dict[str, torch.Tensor]]


def fit_head(
    head: nn.Module,
    loss_fn: LossFn,
    data: Mapping[str, torch.Tensor],
    cfg: FitConfig,
    out_dir: str | os.PathLike[str],
    name: str,
    show_progress: bool = True,
) -> list[dict[str, float]]:
    """Train ``head`` by AdamW on minibatches of ``data`` (tensors with one leading size ``N``).

    ``loss_fn(batch)`` returns named scalar losses including ``"loss"``, the one minimised. Writes
    ``loss.jsonl`` (one record per step) and ``loss.svg`` to ``out_dir`` and returns the records.
    """
    out = Path(out_dir)
    gen = seed_everything(cfg.seed)
    sizes = {len(v) for v in data.values()}
    if len(sizes) != 1:
        raise ValueError(f"training tensors must share their first size, got {sorted(sizes)}")
    count = sizes.pop()
    params = [p for p in head.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, cfg.lr, total_steps=cfg.steps, pct_start=0.1)
    return run_minibatches(
        head,
        lambda idx: loss_fn({key: value[idx] for key, value in data.items()}),
        count,
        (cfg.steps, cfg.batch_size),
        (optimizer, schedule),
        gen,
        out,
        (f"train {name}", f"{name}: training loss"),
        show_progress,
    )


def run_minibatches(
    module: nn.Module,
    step_loss: Callable[[torch.Tensor], dict[str, torch.Tensor]],
    count: int,
    schedule_size: tuple[int, int],
    optim: tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler],
    gen: torch.Generator,
    out: Path,
    labels: tuple[str, str],
    show_progress: bool = True,
) -> list[dict[str, float]]:
    """The training loop: ``steps`` minibatches of row indices into ``count`` rows, reshuffled per epoch.

    ``step_loss(idx)`` returns named scalar losses including ``"loss"``, the one minimised. Writes
    ``loss.jsonl`` (one record per step) and ``loss.svg`` (titled ``labels[1]``; ``labels[0]`` is the
    progress bar's) to ``out``, leaves ``module`` in eval mode and returns the records.
    """
    (steps, batch_size), (optimizer, schedule) = schedule_size, optim
    module.train()
    order, cursor = torch.randperm(count, generator=gen), 0
    with LossLog(out / "loss.jsonl") as log, make_progress(disable=not show_progress) as progress:
        bar = progress.add_task(labels[0], total=steps, info="")
        for step in range(steps):
            if cursor + batch_size > count:
                order, cursor = torch.randperm(count, generator=gen), 0
            idx = order[cursor : cursor + batch_size]
            cursor += batch_size
            losses = step_loss(idx)
            optimizer.zero_grad(set_to_none=True)
            losses["loss"].backward()
            optimizer.step()
            schedule.step()
            values = {key: float(value.detach()) for key, value in losses.items()}
            log.write(step=step + 1, **values)
            progress.update(bar, advance=1, info=f"loss {values['loss']:.3f}")
    module.eval()
    plot_losses_svg(log.records, out / "loss.svg", title=labels[1])
    return log.records


# ----------------------------------------------------------------------------------------------- weights

H = TypeVar("H", bound=nn.Module)
C = TypeVar("C")


def resolve_head_encoder(head_folder: str | os.PathLike[str], encoder_name: str) -> Path:
    """The folder of the trunk that a head's config names.

    A sub-folder of the head's folder if one of that name holds weights (a fine-tuned trunk saved with its
    head), else a packaged name, a folder or a hub id.
    """
    local = Path(head_folder) / encoder_name
    return local if (local / "config.json").is_file() else resolve_pretrained(encoder_name, [WEIGHTS_DIR])


def load_head(
    name_or_path: str | os.PathLike[str], config_type: type[C], build: Callable[[C], H], kind: str
) -> tuple[H, C, AVJointEncoder, str]:
    """Load a task head saved by :func:`avikit.nn.save_pretrained` and the encoder its config names.

    Returns:
        ``(head, config, encoder, weights_hash)``; the hash covers the head's and the encoder's weights.
    """
    folder = resolve_pretrained(name_or_path, [WEIGHTS_DIR])
    head, cfg = load_pretrained(folder, config_type, build, kind, [WEIGHTS_DIR])
    encoder_name = getattr(cfg, "encoder")  # noqa: B009 (every head config names its encoder)
    encoder_folder = resolve_head_encoder(folder, encoder_name)
    encoder = load_encoder(encoder_folder)
    weights_hash = combined_hash(folder / "model.safetensors", encoder_folder / "model.safetensors")
    return head, cfg, encoder, weights_hash
