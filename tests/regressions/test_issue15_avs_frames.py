"""Issue 15: AVSBench frames as the official preprocessing picks them, the same on AVSynth and on its export.

OpenNLPLab/AVSBench (f7414aff6a) ``preprocess_scripts/preprocess_s4.py`` and ``preprocess_ms3.py``: with
``F = int(round(fps))``, second ``l`` of the clip lists 16 frame indices ``int(l * F + i / 16 * F)``
(``i = 0..15``, past the last frame -> the last frame), and the frame at list position ``k`` is kept when
``k % 16 == 15``. The AVS tasks on an AVSynth folder must score exactly the frames, masks and audio that
the exporters write, clip for clip.
"""

from __future__ import annotations

import csv
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from avikit.data import read_manifest
from avikit.data.datasets.avsbench import avsbench_frame_indices
from avikit.data.export import export_dataset
from avikit.data.export._common import read_image, write_image
from avikit.data.synth.recipe import load_clip
from avikit.media import load
from avikit.tasks import get_task


def _official_kept(fps: float, num_frames: int, seconds: int) -> list[int]:
    """The preprocessing's sampling, written out from its definition: 16 positions a second, keep the 16th."""
    step = round(fps)  # Python's rounding, as the script's int(round(fps))
    listed = []
    for second in range(seconds):
        for position in range(16):
            index = int(second * step + (position * 1.0 / 16) * step)
            listed.append(min(index, num_frames - 1))
    return [index for k, index in enumerate(listed) if k % 16 == 15]


@pytest.mark.parametrize(
    ("fps", "num_frames", "seconds"),
    [(8, 80, 5), (25, 125, 5), (29.97, 150, 5), (30, 151, 5), (12.5, 62, 5), (24, 100, 5), (25, 110, 5),
     (8, 80, 10), (15, 40, 5)],
)  # fmt: skip
def test_frame_indices_are_the_official_sampling(fps, num_frames, seconds):
    assert list(avsbench_frame_indices(fps, num_frames, seconds)) == _official_kept(fps, num_frames, seconds)


@pytest.fixture(scope="module")
def truth(synth_dir):
    return {s.id: s for s in read_manifest(synth_dir / "manifest.jsonl")}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("variant", ["s4", "ms3"])
def test_s4_and_ms3_exports_hold_the_task_frames_masks_and_audio(synth_dir, truth, tmp_path, variant):
    base = export_dataset(synth_dir, tmp_path, f"avsbench-{variant}")
    data = base / f"{variant}_data"
    task = get_task("avs-binary")
    rows = _rows(base / f"{variant}_meta_data.csv")
    assert rows, f"no {variant} clip exported"
    for row in rows:
        name = row["name"] if variant == "s4" else row["video_id"]
        sample = truth[name]
        inputs, target = task.build_inputs(sample), task.build_target(sample, synth_dir)
        fps = sample.provenance.generator["config"]["fps"]
        assert inputs.frames == avsbench_frame_indices(fps, task.check_rates(sample).num_frames, 5)
        frames = load_clip(sample, synth_dir).require_frames()
        where = Path(row["split"]) / row["category"] / name if variant == "s4" else Path(row["split"]) / name
        frame_dir = data / "visual_frames" / (where if variant == "s4" else Path(name))
        for i, index in enumerate(inputs.frames, start=1):
            image = read_image(frame_dir / (f"{name}_{i}.png" if variant == "s4" else f"{name}.mp4_{i}.png"))
            assert np.array_equal(image, frames[index]), (name, i)
            mask = data / "gt_masks" / where / f"{name}_{i}.png"
            if mask.is_file():
                assert np.array_equal(read_image(mask), target["masks"][i - 1] * 255), (name, i)
        wav = load(data / "audio_wav" / where.parent / f"{name}.wav")
        rate = task.spec.protocol.sample_rate
        assert (wav.sample_rate, wav.num_samples) == (rate, inputs.audio[1] - inputs.audio[0])
        assert inputs.audio == (0, 5 * rate)


def test_avss_export_holds_the_semantic_task_frames_and_labels(synth_dir, truth, tmp_path):
    base = export_dataset(synth_dir, tmp_path, "avsbench-avss")
    task = get_task("avs-semantic")
    for row in _rows(base / "metadata.csv"):
        sample = truth[row["uid"]]
        inputs, target = task.build_inputs(sample), task.build_target(sample, synth_dir)
        geometry = task.check_rates(sample)
        seconds = int(Fraction(geometry.duration))
        every = avsbench_frame_indices(geometry.fps, geometry.num_frames, seconds)
        assert inputs.frames == every[:5]
        frames = load_clip(sample, synth_dir).require_frames()
        folder = base / row["label"] / row["uid"]
        assert len(list((folder / "frames").iterdir())) == seconds
        for i, index in enumerate(inputs.frames):
            # JPEG is lossy but deterministic: the file must be the task's frame through the same encoder
            expected = read_image(write_image(tmp_path / "expected.jpg", frames[index]))
            assert np.array_equal(read_image(folder / "frames" / f"{i}.jpg"), expected), (row["uid"], i)
            assert np.array_equal(read_image(folder / "labels_semantic" / f"{i}.png"), target["masks"][i])
