"""Playable samples for the offline report: generated media next to the real clip, as data URIs.

Audio alone becomes a 16-bit PCM WAV in an ``<audio controls>`` element; video (with its sound, when there
is sound) becomes one H.264 + AAC mp4 (:func:`avikit.media.save`, AAC at 64 kb/s) in a ``<video controls>``
element. Both are embedded as base64 ``data:`` URIs, so ``report.html`` stays one self-contained file; the
gallery plays the first :data:`SAMPLE_SECONDS` of each clip to keep it a few MB.

Example:
    >>> uri = audio_data_uri(np.zeros((1, 1600), np.float32), 16000)
    >>> uri.startswith("data:audio/wav;base64,")
    True
"""

from __future__ import annotations

import base64
import tempfile
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from avikit.errors import InputFileError, UsageError
from avikit.media import AVClip, save

__all__ = ["SAMPLE_SECONDS", "audio_data_uri", "gallery_html", "video_data_uri"]

SAMPLE_SECONDS = 5
"""Seconds of each clip the gallery plays (a 10 s WAV is 0.4 MB once base64-encoded)."""
_AUDIO_BITRATE = 64_000


def _encode(clip: AVClip, suffix: str, mime: str) -> str:
    with tempfile.TemporaryDirectory() as folder:
        path = save(clip, Path(folder) / f"sample{suffix}", audio_bitrate=_AUDIO_BITRATE)
        data = path.read_bytes()
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _as_waveform(audio: NDArray[Any]) -> NDArray[np.float32]:
    """``[N]`` or ``[C, N]`` to float32 ``[C, N]`` in [-1, 1] (clipped, as a 16-bit file stores it)."""
    array = np.asarray(audio, dtype=np.float32)
    return np.clip(array.reshape(-1, array.shape[-1]), -1.0, 1.0)


def audio_data_uri(audio: NDArray[Any], sample_rate: int) -> str:
    """A WAV (16-bit PCM) data URI of ``audio`` ``[N]`` or ``[C, N]``."""
    return _encode(AVClip(waveform=_as_waveform(audio), sample_rate=sample_rate), ".wav", "audio/wav")


def video_data_uri(
    frames: NDArray[np.uint8], fps: int, audio: NDArray[Any] | None = None, sample_rate: int | None = None
) -> str:
    """An H.264 mp4 data URI of ``frames`` ``[T, H, W, 3]``, with ``audio`` muxed in as AAC when given."""
    waveform = None if audio is None else _as_waveform(audio)
    clip = AVClip(frames=np.asarray(frames, np.uint8), waveform=waveform, fps=fps,
                  sample_rate=sample_rate if waveform is not None else None)  # fmt: skip
    return _encode(clip, ".mp4", "video/mp4")


def _player(audio: NDArray[Any] | None, frames: NDArray[np.uint8] | None, rates: tuple[int, int]) -> str:
    fps, sample_rate = rates
    if audio is not None:
        audio = np.asarray(audio)[..., : SAMPLE_SECONDS * sample_rate]
    if frames is not None:
        frames = frames[: SAMPLE_SECONDS * fps]
    if frames is None:
        if audio is None:
            raise UsageError("a sample needs audio or frames")
        return f'<audio controls preload="none" src="{audio_data_uri(audio, sample_rate)}"></audio>'
    uri = video_data_uri(frames, fps, audio, sample_rate)
    return f'<video controls preload="metadata" width="160" src="{uri}"></video>'


def _load(base: Path, relative: str) -> NDArray[Any]:
    path = Path(relative) if Path(relative).is_absolute() else base / relative
    if not path.is_file():
        raise InputFileError(
            f"{path}: the sample's media file is gone; rerun `avikit bench` into this folder"
        )
    return np.load(path)


def _streams(
    base: Path, files: Mapping[str, str], reference: Mapping[str, str], shown: Sequence[str]
) -> tuple[NDArray[Any] | None, NDArray[np.uint8] | None]:
    """The audio and frames a cell plays: generated streams from ``files``, the rest from the real clip."""
    audio = _load(base, files.get("audio", reference["audio"])) if "audio" in shown else None
    frames = _load(base, files.get("video", reference["video"])) if "video" in shown else None
    return audio, frames


def gallery_html(section: Mapping[str, Any], base: str | Path, clips: int = 2) -> str:
    """HTML tables of playable samples, one per generation task: the real clip, then every model.

    Args:
        section: the ``generation`` section of ``results.json`` (see ``run_generation``).
        base: the folder its media paths are relative to.
        clips: clips per task.
    """
    base, rates = Path(base), (int(section["fps"]), int(section["sample_rate"]))
    html = []
    for task in dict.fromkeys(row["task"] for row in section["rows"]):
        rows = [r for r in section["rows"] if r["task"] == task and r["role"] != "real media"]
        info = section["tasks"][task]
        # the real clip plays what the task sees and makes; a generated cell plays its outputs, with the real
        # other stream when that is the task's input (V2A: sound alone; A2V: its frames with the real sound)
        real_streams = [s for s in ("audio", "video") if s in info["inputs"] or s in info["outputs"]]
        shown = list(info["outputs"]) + (["audio"] if info["outputs"] == ["video"] else [])
        head = "".join(f"<th>{escape(r['name'])}<br><small>{escape(r['role'])}</small></th>" for r in rows)
        body = []
        for sample_id in section["samples"][:clips]:
            reference = section["reference"][sample_id]
            cells = [_player(*_streams(base, {}, reference, real_streams), rates)]
            cells += [_player(*_streams(base, r["media"][sample_id], reference, shown), rates) for r in rows]
            caption = escape(section["captions"].get(sample_id, ""))
            label = f"<td>{escape(sample_id)}<br><small>{caption}</small></td>"
            body.append("<tr>" + label + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        title = f"<h3>{escape(task)}: samples (first {SAMPLE_SECONDS} s)</h3>"
        html.append(
            f"{title}<table class='gallery'><tr><th>clip</th><th>real</th>{head}</tr>{''.join(body)}</table>"
        )
    return "".join(html)
