"""The dataset profile of an AVSynth set: its generator's geometry and its vocabularies.

An AVSynth set is decoded at the rates it was rendered at (its :class:`SynthConfig`), cut into 1 s segments,
and its masks have the frame size. Its classes are the classes it draws from (``config.classes``, else every
AVSynth class in index order) and its answers the template answers plus those classes.

Example:
    >>> profile = avsynth_profile(SynthConfig())
    >>> profile.fps, profile.sample_rate, profile.frame_size, profile.num_segments
    (Fraction(8, 1), 16000, (128, 128), 10)
    >>> profile.labels("classes")[:2], len(profile.labels("answers"))
    (('bell', 'chime'), 43)
"""

from __future__ import annotations

from avikit.data.profile import DatasetProfile
from avikit.data.synth.classes import CLASS_NAMES
from avikit.data.synth.questions import ANSWER_WORDS
from avikit.data.synth.scene import SynthConfig

__all__ = ["avsynth_profile"]


def avsynth_profile(config: SynthConfig | None = None) -> DatasetProfile:
    """The profile of AVSynth clips made with ``config`` (default: the default world)."""
    cfg = config or SynthConfig()
    classes = cfg.classes if cfg.classes is not None else CLASS_NAMES
    return DatasetProfile(
        "avsynth",
        fps=cfg.fps,
        sample_rate=cfg.sample_rate,
        frame_size=cfg.size,
        segment_seconds=1,
        duration=cfg.duration,
        mask_size=cfg.size,
        vocabularies={"classes": classes, "answers": (*ANSWER_WORDS, *classes)},
        source="AVSynth generator config: frames rendered at config.fps and config.size, audio at "
        "config.sample_rate; classes in AVSynth index order (or config.classes)",
    )
