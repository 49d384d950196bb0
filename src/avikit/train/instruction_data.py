"""The training data of the AV-LLMs: instruction records of AVSynth clips and their trunk tokens, cached.

:func:`build_instruction_set` generates AVSynth clips (clean ones, and some with the audio shifted by
``av_offset_ms`` for the sync questions), cuts them as every language task does (video at 2 fps, the whole
audio), runs the frozen trunk once and keeps the stream features of
:func:`avikit.models.language.av_tokens.clip_tokens` (a few kB per clip), with the clips' instruction
records (:func:`avikit.data.instructions.build_instructions`). The result is cached on disk under a key of
everything that can change it (trunk weights, clips, offsets, seed, kinds).

Example:
    >>> sorted(DEFAULT_WEIGHTS)[:3]
    ['caption', 'evidence', 'grounding']
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from avikit.data.instructions import KINDS, Instruction, build_instructions
from avikit.data.synth import generate
from avikit.models.encoders.av_encoder import AVJointEncoder
from avikit.models.encoders.trunk_encoding import encode_media
from avikit.models.language.av_tokens import ClipTokens, clip_tokens
from avikit.tasks.language import VIDEO_FPS
from avikit.train.feature_sets import default_cache_dir

__all__ = ["DEFAULT_WEIGHTS", "SYNC_OFFSETS_MS", "InstructionSet", "build_instruction_set", "sample_records"]

logger = logging.getLogger(__name__)

DEFAULT_WEIGHTS: dict[str, float] = {
    "qa": 0.22,
    "mc": 0.08,
    "evidence": 0.1,
    "caption": 0.15,
    "grounding": 0.1,
    "probe": 0.15,
    "refusal": 0.05,
    "sync": 0.15,
}
"""How often each kind of record is drawn in a training batch."""
SYNC_OFFSETS_MS = (-2000.0, 0.0, 2000.0)
"""Audio shifts of the sync clips (early, in sync, late), cycled over the clips."""


@dataclass
class InstructionSet:
    """Instruction records and the stream features of their clips.

    Attributes:
        tokens: stream features of every clip (rows in ``clips`` order).
        clips: the clip keys (sample id, plus ``@<offset>ms`` for shifted clips).
        records: every record; ``row[k]`` is the clip row of record ``k``.
        row: ``[R]`` clip row of each record.
    """

    tokens: ClipTokens
    clips: list[str]
    records: list[Instruction]
    row: np.ndarray

    def kinds(self) -> dict[str, np.ndarray]:
        """Record indices by kind."""
        found: dict[str, list[int]] = {}
        for k, record in enumerate(self.records):
            found.setdefault(record.kind, []).append(k)
        return {kind: np.array(rows) for kind, rows in found.items()}


def _cut(frames: np.ndarray, waveform: np.ndarray, fps: int) -> tuple[np.ndarray, np.ndarray]:
    return frames[:: max(1, fps // VIDEO_FPS)], waveform


def _key(
    encoder: AVJointEncoder, split: str, count: int, sync_count: int, seed: int, kinds: Sequence[str]
) -> str:
    digest = hashlib.sha256()
    for name, value in sorted(encoder.state_dict().items()):
        digest.update(name.encode())
        digest.update(value.detach().numpy().tobytes())
    spec = {
        "split": split,
        "count": count,
        "sync": sync_count,
        "seed": seed,
        "kinds": list(kinds),
        "offsets": SYNC_OFFSETS_MS,
        "fps": VIDEO_FPS,
        "encoder": digest.hexdigest(),
        "version": 1,
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:20]


def _clips(split: str, count: int, sync_count: int) -> list[tuple[int, dict[str, float]]]:
    clean: list[tuple[int, dict[str, float]]] = [(i, {}) for i in range(count)]
    shifted = [
        (count + i, {"av_offset_ms": SYNC_OFFSETS_MS[i % len(SYNC_OFFSETS_MS)]}) for i in range(sync_count)
    ]
    return clean + shifted


def build_instruction_set(
    encoder: AVJointEncoder,
    split: str = "train",
    count: int = 400,
    sync_count: int = 120,
    seed: int = 0,
    kinds: Sequence[str] = KINDS,
    cache_dir: str | os.PathLike[str] | None = None,
    batch_size: int = 16,
) -> InstructionSet:
    """Records and trunk stream features of AVSynth ``split`` clips ``0 .. count + sync_count - 1`` (cached).

    Clips ``count ..`` are made with the audio shifted (:data:`SYNC_OFFSETS_MS`) and give only ``sync``
    records; the clean clips give every other kind.
    """
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = folder / f"instructions-{split}-{_key(encoder, split, count, sync_count, seed, kinds)}.pt"
    plan = _clips(split, count, sync_count)
    if path.is_file():
        data = torch.load(path, weights_only=True)
        meta = json.loads(path.with_suffix(".json").read_text())
        tokens = ClipTokens(data["audio"], data["video"], data["audio_times"], data["video_times"])
        cached = [Instruction.from_dict(r) for r in meta["records"]]
        return InstructionSet(tokens, meta["clips"], cached, np.array(meta["row"]))
    start = time.perf_counter()
    parts: list[ClipTokens] = []
    clips: list[str] = []
    records: list[Instruction] = []
    rows: list[int] = []
    for begin in range(0, len(plan), batch_size):
        frames, waves = [], []
        for index, conditions in plan[begin : begin + batch_size]:
            sample, clip = generate(split, index, seed, conditions=conditions)[:2]
            cut = _cut(clip.require_frames(), clip.require_waveform(), int(clip.fps or VIDEO_FPS))
            frames.append(cut[0])
            waves.append(cut[1])
            wanted = ("sync",) if conditions else tuple(k for k in kinds if k != "sync")
            made = build_instructions(
                sample.to_dict()["targets"], sample.id, split, [k for k in wanted if k in kinds]
            )
            key = sample.id + (f"@{conditions['av_offset_ms']:+.0f}ms" if conditions else "")
            records += made
            rows += [len(clips)] * len(made)
            clips.append(key)
        seconds = max(1, round(waves[0].shape[-1] / encoder.sample_rate))
        parts.append(clip_tokens(encode_media(encoder, np.stack(frames), np.stack(waves), seconds)))
    tokens = ClipTokens(
        torch.cat([p.audio for p in parts]),
        torch.cat([p.video for p in parts]),
        parts[0].audio_times,
        parts[0].video_times,
    )
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "audio": tokens.audio,
            "video": tokens.video,
            "audio_times": tokens.audio_times,
            "video_times": tokens.video_times,
        },
        path,
    )
    meta = {"clips": clips, "records": [r.to_dict() for r in records], "row": rows}
    path.with_suffix(".json").write_text(json.dumps(meta))
    logger.info(
        "instruction set of %d clips (%d records) in %.1f s",
        len(clips),
        len(records),
        time.perf_counter() - start,
    )
    return InstructionSet(tokens, clips, records, np.array(rows))


def sample_records(
    data: InstructionSet, batch_size: int, weights: Mapping[str, float], rng: np.random.Generator
) -> list[int]:
    """Record indices of one batch: a kind drawn by ``weights`` (kinds present only), then a record of it."""
    by_kind = data.kinds()
    kinds = [k for k in weights if k in by_kind and weights[k] > 0]
    if not kinds:
        raise ValueError(f"no records of the weighted kinds {sorted(weights)}; the set has {sorted(by_kind)}")
    p = np.array([weights[k] for k in kinds], dtype=np.float64)
    picked = rng.choice(len(kinds), size=batch_size, p=p / p.sum())
    return [int(rng.choice(by_kind[kinds[k]])) for k in picked]
