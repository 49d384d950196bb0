"""Intervals over each task's unit and the paired comparisons of a run, recomputed by hand."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from avikit.data.sample import MediaRef
from avikit.data.synth import generate
from avikit.errors import UsageError
from avikit.eval.intervals import item_units, sample_units
from avikit.eval.runner import RunConfig, read_cell_records, run_evaluation
from avikit.metrics import bootstrap_indices, compute_bootstrap_ci, compute_mean_replicates
from avikit.models.baselines import PriorModel
from avikit.tasks import Evaluation, get_task

COUNT = 6


class Noisy:
    """Labels every AVEL segment from the truth with some segments wrong (a model better than background)."""

    id, weights_hash, tasks = "noisy", "none", ("avel", "classification-multilabel")

    def predict(self, task, batch):
        out = []
        for item in batch:
            if task.name == "avel":
                energy = [float(np.abs(item.waveform[:, a:b]).mean()) for _, _, a, b in item.inputs.segments]
                loud = np.array(energy) > np.median(energy)
                out.append({"id": item.id, "labels": ["dog" if k else "background" for k in loud]})
            else:
                scores = np.abs(np.fft.rfft(item.waveform.mean(0)))[:27]
                out.append({"id": item.id, "scores": scores.round(4).tolist()})
        return out


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("run")
    config = RunConfig(tasks=("avel", "classification-multilabel"), models=("noisy",), num_samples=COUNT,
                       conditions=("clean", "video_blanked", "audio_muted"), baselines=("constant", "prior"))  # fmt: skip
    train = [generate("train", i)[0] for i in range(12)]
    return run_evaluation(config, out, models={"noisy": Noisy(), "prior": PriorModel(samples=train)}), out


def _cell(results, task, model, condition="clean"):
    return next(
        c for c in results["cells"] if (c["task"], c["model_id"], c["condition"]) == (task, model, condition)
    )


def test_segment_scores_resample_whole_clips(run) -> None:
    results, _ = run
    cell = _cell(results, "avel", "noisy")
    segments = np.asarray(cell["items"]["accuracy"])
    assert len(segments) == 10 * cell["count"]
    clips = np.repeat(np.arange(cell["count"]), 10)
    # same draws and the same sums, computed by the metrics layer directly
    assert cell["ci"]["accuracy"] == pytest.approx(compute_bootstrap_ci(segments, units=clips), rel=1e-12)
    assert cell["ci"]["accuracy"] != pytest.approx(compute_bootstrap_ci(segments), rel=1e-3)
    assert results["tasks"]["avel"]["resampling_unit"] == "video"


def test_baselines_run_clean_only_and_the_strongest_is_compared_paired(run) -> None:
    results, _ = run
    assert {c["condition"] for c in results["cells"] if c.get("baseline")} == {"clean"}
    best = results["baselines"]["avel"]
    candidates = [c for c in results["cells"] if c.get("baseline") and c["task"] == "avel"]
    assert best["score"] == max(c["scores"]["accuracy"] for c in candidates)
    (entry,) = [c for c in results["comparisons"] if (c["kind"], c["task"]) == ("vs_baseline", "avel")]
    model, base = _cell(results, "avel", "noisy"), _cell(results, "avel", best["model"])
    clips = np.repeat(np.arange(model["count"]), 10)
    diff = np.asarray(model["items"]["accuracy"]) - np.asarray(base["items"]["accuracy"])
    reps = compute_mean_replicates(diff, clips, seed=0)
    # the difference of two cells' replicates (same draws) is the replicate of the difference
    assert entry["ci"] == pytest.approx(list(np.quantile(reps, [0.025, 0.975])), rel=1e-9, abs=1e-12)
    assert entry["difference"] == pytest.approx(model["scores"]["accuracy"] - best["score"], rel=1e-12)
    assert entry["significant"] == (entry["ci"][0] > 0 or entry["ci"][1] < 0)


def test_av_gain_is_paired_over_the_three_conditions(run) -> None:
    results, _ = run
    (gain,) = [c for c in results["comparisons"] if (c["kind"], c["task"]) == ("av_gain", "avel")]
    cells = [_cell(results, "avel", "noisy", c) for c in ("clean", "video_blanked", "audio_muted")]
    clips = np.repeat(np.arange(cells[0]["count"]), 10)
    reps = [compute_mean_replicates(np.asarray(c["items"]["accuracy"]), clips, seed=0) for c in cells]
    expected = np.quantile(reps[0] - np.maximum(reps[1], reps[2]), [0.025, 0.975])
    assert gain["ci"] == pytest.approx(list(expected), rel=1e-9, abs=1e-12)


def test_a_set_metric_gets_a_percentile_interval_over_resampled_clips(run) -> None:
    results, out = run
    cell = _cell(results, "classification-multilabel", "noisy")
    task = get_task("classification-multilabel")
    samples = [generate("test", i)[0] for i in range(COUNT)]
    records = read_cell_records(out, task.name, "noisy", "clean")
    predictions = [
        task.check_prediction(records[s.id]["prediction"], task.build_inputs(s), s.id) for s in samples
    ]
    targets = [task.build_target(s) for s in samples]
    by_hand = []
    for rows in bootstrap_indices(COUNT, 1000, 0):
        truth = np.stack([targets[i]["labels"] for i in rows])
        by_hand.append(task.evaluate([predictions[i] for i in rows], [targets[i] for i in rows]).scores["map"]
                       if truth.sum() else np.nan)  # fmt: skip
    assert np.isfinite(by_hand).all()
    # mAP recomputed on the same resampled clips
    assert cell["ci"]["map"] == pytest.approx(list(np.quantile(by_hand, [0.025, 0.975])), rel=1e-12)


def test_a_video_unit_groups_the_clips_of_one_file() -> None:
    samples = [generate("test", i)[0] for i in range(3)]
    samples[2] = replace(samples[2], media=MediaRef(samples[0].media.path, 0, samples[2].media.duration))
    assert sample_units(get_task("avel"), samples).tolist() == [0, 1, 0]  # avel resamples videos
    assert sample_units(get_task("classification"), samples).tolist() == [0, 1, 2]  # clips


def test_items_without_their_samples_are_refused() -> None:
    evaluation = Evaluation({"accuracy": 0.5}, {"accuracy": (np.zeros(20), 1.0)}, 2)
    with pytest.raises(UsageError, match="item_samples"):
        item_units(get_task("avel"), evaluation, "accuracy", np.arange(2))
