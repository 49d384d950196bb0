"""Round trip: AVSynth sets written by the official-format exporters are read back by the recipes.

The exporters write real media (mp4, PNG masks, wav) in the official layouts, so every exported clip
must be found, and the targets read back must equal AVSynth's ground truth in the shared schema.
"""

from __future__ import annotations

import pytest

from avikit.data.datasets import DATASETS
from avikit.data.export import export_dataset
from avikit.data.export.llp import llp_video_id
from avikit.data.manifest import read_manifest
from avikit.data.prepared import read_prepared, validate_prepared

FORMATS = ["ave", "llp", "unav100", "music-avqa", "avsbench-s4", "avsbench-ms3", "avsbench-avss"]


@pytest.fixture(scope="module")
def prepared(synth_dir, tmp_path_factory):
    out = {}
    for name in FORMATS:
        root = tmp_path_factory.mktemp(f"official-{name}")
        export_dataset(synth_dir, root, name)
        options = {"check_classes": False} if name == "llp" else {}  # AVSynth's classes, not LLP's 25
        out[name] = (
            root,
            DATASETS[name].prepare(root, tmp_path_factory.mktemp(f"prepared-{name}"), **options),
        )
    return out


def _truth(synth_dir):
    return {s.id: s for s in read_manifest(synth_dir / "manifest.jsonl")}


@pytest.mark.parametrize("name", FORMATS)
def test_every_exported_sample_is_found(prepared, name):
    _, manifests = prepared[name]
    folder = next(iter(manifests.values())).parent
    report = validate_prepared(folder)
    assert report.ok, report.problems
    assert sum(report.samples.values()) > 0
    assert report.found == report.samples, f"{name}: missing media {read_prepared(folder)['splits']}"


def test_ave_targets_equal_avsynth_ground_truth(prepared, synth_dir):
    truth = _truth(synth_dir)
    for split, path in prepared["ave"][1].items():
        for sample in read_manifest(path):
            assert sample.target("avel") == truth[sample.id].target("avel"), (split, sample.id)


def test_llp_targets_equal_avsynth_segment_labels(prepared, synth_dir):
    truth = _truth(synth_dir)
    back = {llp_video_id(i): i for i in truth}
    for split in ("val", "test"):
        for sample in read_manifest(prepared["llp"][1][split]):
            source = truth[back[sample.id[:11]]].target("segment_labels")
            mine = sample.target("segment_labels")
            assert mine["audio"] == source["audio"] and mine["visual"] == source["visual"]


def test_unav_and_avqa_targets(prepared, synth_dir):
    truth = _truth(synth_dir)
    for path in prepared["unav100"][1].values():
        for sample in read_manifest(path):
            events = [(e["label"], e["onset"], e["offset"]) for e in sample.target("events")["audio_visual"]]
            expected = [
                (e["label"], float(e["onset"]), float(e["offset"]))
                for e in truth[sample.id].target("events")["audio_visual"]
            ]
            assert events == expected
    for path in prepared["music-avqa"][1].values():
        for sample in read_manifest(path):
            answers = [q["answer"] for q in sample.target("qa")]
            assert answers == [q["answer"] for q in truth[sample.id].target("qa")]


def test_avsbench_frames_and_masks_are_listed(prepared):
    s4 = prepared["avsbench-s4"][1]
    for split, path in s4.items():
        for sample in read_manifest(path):
            assert len(sample.target("frames")) == 5
            assert len(sample.target("masks")) == (1 if split == "train" else 5)
    for sample in read_manifest(next(iter(prepared["avsbench-avss"][1].values()))):
        assert sample.target("subset") == "v2" and len(sample.target("masks")) == 10
    assert read_prepared(next(iter(prepared["avsbench-avss"][1].values())).parent)["options"]["classes"] > 1
