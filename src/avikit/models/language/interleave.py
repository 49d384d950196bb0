"""Audio and video tokens on one clock: the order in which an AV-LLM reads them, and their time ids.

Two published schemes:

- **chunked** (Qwen2.5-Omni, ``use_audio_in_video=True``): temporal position ids advance
  ``position_ids_per_second`` (25) per second; a video grid step of ``temporal_patch_size`` frames at
  ``fps`` gets the id ``floor(step * temporal_patch_size / fps * 25)``, the ``k``-th audio token the id ``k``
  (25 audio tokens per second). Both streams are cut into windows of ``seconds_per_chunk`` (2 s, so 50
  ids) and emitted window by window: that window's video tokens, then its audio tokens.
- **time-sorted** (Qwen3-Omni): one merge by time id; a video token goes first when its time id is at most
  the audio token's.

:func:`video_time_ids` and :func:`audio_time_ids` give each token's time id; :func:`interleave` gives the
order. Golden case (tests): a 4 s clip at fps 2 (temporal patch 2: 4 grid steps, ids 0, 25, 50, 75) with
25 audio tokens per second (100 tokens) reads, chunked, ``V(steps 0-1) A(0-49) V(steps 2-3) A(50-99)``.

Example:
    >>> video = video_time_ids(num_frames=8, fps=2, temporal_patch_size=2, tokens_per_step=1)
    >>> video.tolist()
    [0, 25, 50, 75]
    >>> audio = audio_time_ids(num_tokens=100, tokens_per_second=25)
    >>> order = interleave(video, audio, mode="chunked")
    >>> [(m, len(list(g))) for m, g in __import__("itertools").groupby(order.modality)]
    [('video', 2), ('audio', 50), ('video', 2), ('audio', 50)]
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

from avikit.errors import UsageError

__all__ = [
    "MODES",
    "QWEN2_5_OMNI",
    "QWEN3_OMNI",
    "Clock",
    "Interleaved",
    "audio_time_ids",
    "interleave",
    "video_time_ids",
]

MODES = ("chunked", "time_sorted")


@dataclass(frozen=True)
class Clock:
    """The shared clock of both streams.

    Attributes:
        position_ids_per_second: temporal position ids per second (Qwen2.5-Omni 25, Qwen3-Omni 13).
        seconds_per_chunk: window length of the chunked mode (Qwen2.5-Omni 2 s).
    """

    position_ids_per_second: int = 25
    seconds_per_chunk: Fraction = Fraction(2)

    @property
    def ids_per_chunk(self) -> int:
        """Time ids in one chunk: ``int(position_ids_per_second * seconds_per_chunk)`` (50)."""
        return int(self.position_ids_per_second * Fraction(self.seconds_per_chunk))


QWEN2_5_OMNI = Clock(25, Fraction(2))
"""Qwen2.5-Omni's clock: 25 ids per second, 2 s chunks."""
QWEN3_OMNI = Clock(13, Fraction(2))
"""Qwen3-Omni's clock: 13 ids per second (audio ~12.5 tokens per second)."""


@dataclass(frozen=True)
class Interleaved:
    """The reading order of the merged sequence.

    Attributes:
        modality: ``"video"`` or ``"audio"`` per position of the merged sequence.
        index: the token's index in its own stream, per position.
        time_ids: the token's temporal position id, per position.
    """

    modality: tuple[str, ...]
    index: NDArray[np.int64]
    time_ids: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.modality)


def video_time_ids(
    num_frames: int,
    fps: Fraction | int,
    temporal_patch_size: int,
    tokens_per_step: int,
    clock: Clock = QWEN2_5_OMNI,
) -> NDArray[np.int64]:
    """Time ids of the video tokens: ``tokens_per_step`` per grid step of ``temporal_patch_size`` frames.

    Step ``s`` covers frames ``[s * p, (s + 1) * p)``; its id is ``floor(s * p / fps * ids_per_second)``.
    Frames that do not fill a last step are padded to one (as the processors repeat the last frame).
    """
    if num_frames < 1 or temporal_patch_size < 1 or tokens_per_step < 1 or Fraction(fps) <= 0:
        raise UsageError("video_time_ids needs num_frames, temporal_patch_size, tokens_per_step and fps > 0")
    steps = -(-num_frames // temporal_patch_size)
    seconds_per_step = Fraction(temporal_patch_size) / Fraction(fps)
    ids = [int(s * seconds_per_step * clock.position_ids_per_second) for s in range(steps)]
    return np.repeat(np.array(ids, dtype=np.int64), tokens_per_step)


def audio_time_ids(
    num_tokens: int, tokens_per_second: Fraction | int, clock: Clock = QWEN2_5_OMNI
) -> NDArray[np.int64]:
    """Time ids of the audio tokens: token ``k`` starts at ``k / tokens_per_second`` s.

    Its id is ``floor(k / tokens_per_second * position_ids_per_second)`` (Qwen2.5-Omni: ``k`` itself).
    """
    if num_tokens < 0 or Fraction(tokens_per_second) <= 0:
        raise UsageError("audio_time_ids needs num_tokens >= 0 and tokens_per_second > 0")
    rate = Fraction(clock.position_ids_per_second) / Fraction(tokens_per_second)
    return np.array([int(k * rate) for k in range(num_tokens)], dtype=np.int64)


def _chunked(video: NDArray[np.int64], audio: NDArray[np.int64], clock: Clock) -> list[tuple[str, int]]:
    size = clock.ids_per_chunk
    chunks_v, chunks_a = video // size, audio // size
    last = int(max(chunks_v.max(initial=-1), chunks_a.max(initial=-1)))
    order: list[tuple[str, int]] = []
    for chunk in range(last + 1):
        order += [("video", int(i)) for i in np.flatnonzero(chunks_v == chunk)]
        order += [("audio", int(i)) for i in np.flatnonzero(chunks_a == chunk)]
    return order


def _time_sorted(video: NDArray[np.int64], audio: NDArray[np.int64]) -> list[tuple[str, int]]:
    order: list[tuple[str, int]] = []
    i = j = 0
    while i < len(video) or j < len(audio):
        if j == len(audio) or (i < len(video) and video[i] <= audio[j]):
            order.append(("video", i))
            i += 1
        else:
            order.append(("audio", j))
            j += 1
    return order


def interleave(
    video_ids: NDArray[np.int64],
    audio_ids: NDArray[np.int64],
    mode: str = "chunked",
    clock: Clock = QWEN2_5_OMNI,
) -> Interleaved:
    """The reading order of video and audio tokens with the given time ids (each stream non-decreasing).

    Args:
        video_ids: time ids of the video tokens ``[Nv]`` (:func:`video_time_ids`).
        audio_ids: time ids of the audio tokens ``[Na]`` (:func:`audio_time_ids`).
        mode: ``"chunked"`` (Qwen2.5-Omni) or ``"time_sorted"`` (Qwen3-Omni).
        clock: the shared clock (its chunk length is used by the chunked mode).

    Raises:
        UsageError: for an unknown mode or time ids that go backwards within a stream.
    """
    video, audio = np.asarray(video_ids, dtype=np.int64), np.asarray(audio_ids, dtype=np.int64)
    for name, ids in (("video", video), ("audio", audio)):
        if ids.ndim != 1 or (len(ids) > 1 and bool(np.any(np.diff(ids) < 0))) or bool(np.any(ids < 0)):
            raise UsageError(f"{name} time ids must be a non-negative, non-decreasing 1-D array")
    if mode == "chunked":
        order = _chunked(video, audio, clock)
    elif mode == "time_sorted":
        order = _time_sorted(video, audio)
    else:
        raise UsageError(f"unknown interleave mode {mode!r}; valid modes are {', '.join(MODES)}")
    streams = {"video": video, "audio": audio}
    return Interleaved(
        modality=tuple(m for m, _ in order),
        index=np.array([i for _, i in order], dtype=np.int64),
        time_ids=np.array([streams[m][i] for m, i in order], dtype=np.int64),
    )
