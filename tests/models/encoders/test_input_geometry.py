"""Reference models on a dataset whose geometry differs from theirs: they resample and say so in the records.

The packaged AVEL model reads 16 kHz audio and 64 px frames, one per second. Two datasets differ from it:
AVSynth exported to AVE's layout and prepared by the AVE recipe (AVE declares 16 fps and 224 px: the 8 fps,
128 px clips are decoded at AVE's geometry), and an AVSynth set rendered at 24 kHz.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avikit.data.datasets import DATASETS
from avikit.data.export import export_dataset
from avikit.data.profile import DatasetProfile
from avikit.data.synth import SynthConfig, prepare_avsynth
from avikit.eval.runner import RunConfig, read_cell_records, run_evaluation
from avikit.models.encoders.input_geometry import LabelMap, adapt_items
from avikit.models.registry import get_model
from avikit.tasks import TaskInputs, get_task


@dataclass
class _Item:
    id: str
    inputs: TaskInputs
    frames: np.ndarray
    waveform: np.ndarray


def test_label_map_keeps_the_dataset_order_and_drops_unknown_labels() -> None:
    labels = LabelMap(("bell", "dog", "owl", "background"), ("cat", "dog", "background", "bell"))
    assert labels.allowed == (0, 1, 3) and labels.mask().tolist() == [True, True, False, True]
    scores = labels.scores(np.array([[0.5, 0.25, 0.2, 0.05]]), fill=-1.0)
    assert scores.tolist() == [[-1.0, 0.25, 0.05, 0.5]]


def test_adapted_items_carry_the_window_at_the_model_rate() -> None:
    profile = DatasetProfile("demo", 8, 48000, 32, duration=2, vocabularies={"classes": ("dog",)})
    task = get_task("avel").for_dataset(profile)
    segments = ((0, 8, 0, 48000), (8, 16, 48000, 96000))
    item = _Item("x", TaskInputs("x", tuple(range(16)), (0, 96000), (32, 32), segments), np.zeros((16, 32, 32, 3),
                 np.uint8), np.zeros((2, 96000), np.float32))  # fmt: skip
    (adapted,) = adapt_items(task, [item], 16000)
    assert adapted.waveform.shape == (2, 32000) and adapted.inputs.audio == (0, 32000)
    assert (
        adapted.inputs.segments == ((0, 8, 0, 16000), (8, 16, 16000, 32000)) and adapted.frames is item.frames
    )
    assert adapt_items(task, [item], 48000) == [item]


def _spy(model):
    """Record what the model reads after bringing a batch to its geometry."""
    seen = []
    adapt = model.adapt

    def recording(task, batch):
        out = adapt(task, batch)
        seen.extend((item.frames.shape, item.waveform.shape) for item in out)
        model.last_frames = out[0].frames
        return out

    model.adapt = recording
    return seen


def test_ave_layout_is_decoded_at_ave_geometry_and_the_model_resamples(tmp_path: Path) -> None:
    prepare_avsynth(tmp_path / "synth", {"test": 4}, seed=0)  # 8 fps, 128 px, 16 kHz
    export_dataset(tmp_path / "synth", tmp_path / "official", "ave")
    DATASETS["ave"].prepare(tmp_path / "official", tmp_path / "ave")  # declares 16 fps, 224 px, 16 kHz
    model = get_model("avikit/avel")
    seen = _spy(model)
    config = RunConfig(tasks=("avel",), models=("avikit/avel",), dataset=str(tmp_path / "ave"))
    cell = run_evaluation(config, tmp_path / "run", models={"avikit/avel": model})["cells"][0]
    assert cell["complete"] and cell["count"] == len(seen) > 0
    assert set(seen) == {((160, 224, 224, 3), (2, 160000))}  # 10 s at 16 fps, 224 px; audio already 16 kHz
    frames = model.last_frames  # 8 fps decoded at 16 fps by nearest timestamp (ties to the earlier frame)
    assert np.array_equal(frames[0::2], frames[1::2]) and not np.array_equal(frames[0], frames[-1])
    note = {"frames": "16 fps at 224x224 px -> one frame per segment at 64x64 px (area average)"}
    assert cell["resampled"] == note
    assert all(
        r["resampled"] == note
        for r in read_cell_records(tmp_path / "run", "avel", "avikit/avel", "clean").values()
    )


def test_audio_at_another_rate_is_resampled_by_the_model(tmp_path: Path) -> None:
    prepare_avsynth(tmp_path / "synth", {"test": 2}, seed=0, config=SynthConfig(sample_rate=24000))
    model = get_model("avikit/avel")
    seen = _spy(model)
    config = RunConfig(tasks=("avel",), models=("avikit/avel",), dataset=str(tmp_path / "synth"))
    cell = run_evaluation(config, tmp_path / "run", models={"avikit/avel": model})["cells"][0]
    assert cell["complete"] and set(seen) == {((80, 128, 128, 3), (2, 160000))}  # 24 kHz -> 16 kHz
    assert cell["resampled"]["audio"] == "24000 Hz -> 16000 Hz (polyphase resampling)"
