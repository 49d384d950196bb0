"""Evaluation items made from a bare clip (no dataset record): how tools and streaming wrappers run models.

A task builds its inputs from a sample record; a clip that came from a file, a workspace or a stream has
none, so :func:`clip_item` makes a minimal record that states only the clip's geometry (rates, size,
duration) and carries no targets, builds the task's inputs (or takes given ones), cuts the media and hands
the model what the task declares, as the predict loop does (:meth:`~avikit.tasks.TaskInputs.model_view`).

Example:
    >>> import numpy as np
    >>> from avikit.media import AVClip
    >>> from avikit.tasks import get_task
    >>> clip = AVClip(np.zeros((80, 128, 128, 3), np.uint8), np.zeros((2, 160000), np.float32), 8, 16000)
    >>> item = clip_item(clip, "demo", get_task("avvp"))
    >>> item.frames.shape, item.waveform.shape
    ((80, 128, 128, 3), (2, 160000))
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from avikit.data.sample import MediaRef, Provenance, Sample
from avikit.data.synth.profile import avsynth_profile
from avikit.data.synth.scene import SynthConfig
from avikit.errors import UsageError
from avikit.media import AVClip
from avikit.models.protocol import Item
from avikit.tasks import Task, TaskInputs, cut_media, model_media

__all__ = ["clip_item", "window_inputs"]


def window_inputs(clip: AVClip, first_s: Fraction | float, seconds: Fraction | float) -> TaskInputs:
    """Inputs of every frame and sample in ``[first_s, first_s + seconds)`` of a clip (exact indices)."""
    fps, rate = Fraction(clip.fps or 1), clip.sample_rate or 1
    first, length = Fraction(first_s), Fraction(seconds)
    if clip.duration < first + length:
        raise UsageError(f"the clip lasts {float(clip.duration)} s; this needs {float(first + length)} s")
    frames = tuple(range(int(first * fps), int((first + length) * fps)))
    return TaskInputs(
        "clip", frames, (int(first * rate), int((first + length) * rate)), (clip.height, clip.width)
    )


def clip_item(
    clip: AVClip,
    name: str,
    task: Task,
    inputs: TaskInputs | None = None,
    output_dir: str | Path | None = None,
) -> Item:
    """One item of ``task`` for a clip; a clip without audio gets silence (one channel) at 16 kHz.

    ``output_dir`` is where a generator writes its outputs (required by generation tasks).
    """
    if clip.frames is None:
        raise UsageError(f"clip {name!r} has no video; the reference models read audio and video")
    duration = Fraction(clip.num_frames) / Fraction(clip.fps or 1)
    config = SynthConfig(
        duration=duration, fps=int(clip.fps or 8), sample_rate=clip.sample_rate or 16000, size=clip.height
    )
    sample = Sample(
        id=f"clip_{name}",
        dataset="clip",
        split=task.spec.protocol.split,
        media=MediaRef(f"clip:{name}", 0, duration),
        provenance=Provenance(
            "a clip without a dataset record", "unknown", generator={"config": config.to_dict()}
        ),
    )
    # a clip outside a dataset is read as an AVSynth-world clip at its own rates and size
    scored = task if task.bound else task.for_dataset(avsynth_profile(config), task.spec.protocol.split)
    built = inputs or scored.build_inputs(sample)
    if clip.waveform is None:
        per_frame = Fraction(16000) / Fraction(clip.fps or 1)
        clip = clip.with_waveform(
            np.zeros((1, int(clip.num_frames * per_frame)), np.float32), sample_rate=16000
        )
    media = model_media(*cut_media(clip, built), task.spec.inputs)
    return Item(f"clip-{name}", built.model_view(f"clip-{name}", task.spec.inputs), media, output_dir)
