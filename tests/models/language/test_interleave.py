"""The one-clock interleave: golden cases from the published formulas, and the official processor's order."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import numpy as np
import pytest

from avikit.errors import UsageError
from avikit.models.language.interleave import (
    QWEN2_5_OMNI,
    QWEN3_OMNI,
    audio_time_ids,
    interleave,
    video_time_ids,
)


def runs(order):
    return [(m, len(list(g))) for m, g in itertools.groupby(order.modality)]


def test_golden_4s_clip_fps2_25_audio_tokens_per_second():
    # 4 s at fps 2 = 8 frames; temporal patch 2 -> 4 grid steps of 1 s: ids 0, 25, 50, 75 (Qwen2.5-Omni)
    # 4 s of audio at 25 tokens/s = 100 tokens with ids 0..99; 2 s chunks = 50 ids per chunk.
    # Each grid step has 6 tokens (e.g. a 2 x 3 merged patch grid).
    video = video_time_ids(num_frames=8, fps=2, temporal_patch_size=2, tokens_per_step=6)
    assert video.tolist() == [0] * 6 + [25] * 6 + [50] * 6 + [75] * 6
    audio = audio_time_ids(num_tokens=100, tokens_per_second=25)
    assert audio.tolist() == list(range(100))
    order = interleave(video, audio, "chunked", QWEN2_5_OMNI)
    assert runs(order) == [("video", 12), ("audio", 50), ("video", 12), ("audio", 50)]
    assert order.time_ids[:12].tolist() == [0] * 6 + [25] * 6
    assert order.index[12:62].tolist() == list(range(50))
    assert len(order) == 124


def test_time_sorted_puts_video_first_on_ties_qwen3():
    # Qwen3-Omni: 13 ids per second, audio ~12.5 tokens/s -> ids floor(k * 13 / 12.5)
    video = video_time_ids(num_frames=4, fps=2, temporal_patch_size=2, tokens_per_step=1, clock=QWEN3_OMNI)
    audio = audio_time_ids(num_tokens=25, tokens_per_second=12.5, clock=QWEN3_OMNI)
    assert video.tolist() == [0, 13]
    assert audio[:3].tolist() == [0, 1, 2] and int(audio[12]) == 12 and int(audio[13]) == 13
    order = interleave(video, audio, "time_sorted", QWEN3_OMNI)
    # video 0 before audio 0 (tie: video first); video 13 before audio id 13
    assert order.modality[:2] == ("video", "audio")
    position = list(zip(order.modality, order.index.tolist(), strict=True)).index(("video", 1))
    assert order.modality[position + 1] == "audio" and int(order.time_ids[position + 1]) == 13
    assert np.all(np.diff(order.time_ids) >= 0)


def test_chunked_matches_the_official_qwen2_5_omni_processor():
    """Our order equals transformers' ``Qwen2_5OmniProcessor.replace_video_with_audio_token`` (official code)."""
    processing = pytest.importorskip("transformers.models.qwen2_5_omni.processing_qwen2_5_omni")
    processor_class = processing.Qwen2_5OmniProcessor
    fake = SimpleNamespace(
        video_processor=SimpleNamespace(merge_size=2),
        audio_bos_token="[",
        audio_eos_token="]",
        video_token="V",
        audio_token="A",
    )
    fake.get_chunked_index = lambda indices, size: processor_class.get_chunked_index(fake, indices, size)
    for grid_t, side, audio_tokens in ((4, 4, 100), (10, 2, 250), (3, 6, 73)):
        video_inputs = {"video_grid_thw": [np.array([grid_t, side, side])], "video_second_per_grid": [1.0]}
        text = processor_class.replace_video_with_audio_token(
            fake,
            video_inputs,
            0,
            {"num_audio_tokens": [audio_tokens]},
            0,
            position_id_per_seconds=25,
            seconds_per_chunk=2.0,
        )
        per_step = side * side // 4
        order = interleave(
            video_time_ids(grid_t * 2, 2, 2, per_step), audio_time_ids(audio_tokens, 25), "chunked"
        )
        ours = "[" + "".join("V" if m == "video" else "A" for m in order.modality) + "]"
        assert ours == text


def test_bad_arguments_are_usage_errors():
    with pytest.raises(UsageError, match="unknown interleave mode"):
        interleave(np.array([0]), np.array([0]), "zigzag")
    with pytest.raises(UsageError, match="non-decreasing"):
        interleave(np.array([5, 1]), np.array([0]))
    with pytest.raises(UsageError):
        video_time_ids(0, 2, 2, 1)
