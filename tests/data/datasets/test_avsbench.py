"""AVSBench recipe on fixtures of the S4, MS3 and AVSS metadata (the exporter round trip covers real media)."""

from __future__ import annotations

import pytest

from avikit.data.datasets.avsbench import prepare_avsbench
from avikit.data.manifest import read_manifest
from avikit.data.prepared import read_prepared
from tests.data.datasets.conftest import touch


def test_s4_train_annotates_the_first_frame_only(official, tmp_path):
    root = official("avsbench")
    manifests = prepare_avsbench(root, tmp_path / "s4", "s4")
    train = read_manifest(manifests["train"])[0]
    assert train.id == "-2Jb8lZqBfw_1000" and train.dataset == "avsbench-s4"
    assert train.target("annotated_frames") == [1] and len(train.target("frames")) == 5
    assert train.target("masks")[0].endswith(
        "s4_data/gt_masks/train/baby_laughter/-2Jb8lZqBfw_1000/-2Jb8lZqBfw_1000_1.png"
    )
    assert train.media.path.endswith("s4_data/audio_wav/train/baby_laughter/-2Jb8lZqBfw_1000.wav")
    test = read_manifest(manifests["test"])[0]
    assert test.target("annotated_frames") == [1, 2, 3, 4, 5] and test.target("labels") == ["playing_violin"]


def test_ms3_paths_and_found_needs_every_file(official, tmp_path):
    root = official("avsbench")
    data = root / "Multi-sources/ms3_data"
    touch(data / "audio_wav/test/4bPTZkBFCmc.wav")
    for i in range(1, 6):
        touch(data / f"visual_frames/4bPTZkBFCmc/4bPTZkBFCmc.mp4_{i}.png")
    prepare_avsbench(root, tmp_path / "a", "ms3")
    assert read_prepared(tmp_path / "a")["splits"]["test"]["found"] == 0  # masks missing
    for i in range(1, 6):
        touch(data / f"gt_masks/test/4bPTZkBFCmc/4bPTZkBFCmc_{i}.png")
    prepare_avsbench(root, tmp_path / "b", "ms3")
    assert read_prepared(tmp_path / "b")["splits"]["test"]["found"] == 1


def test_avss_subsets_and_metadata(official, tmp_path):
    root = official("avsbench")
    manifests = prepare_avsbench(root / "avss", tmp_path / "out", "avss")
    assert sorted(manifests) == ["test", "train", "val"]
    v2 = read_manifest(manifests["val"])[0]
    assert v2.target("subset") == "v2" and len(v2.target("frames")) == 10 and v2.target("source_start") == 80
    v1m = read_manifest(manifests["test"])[0]
    assert (
        v1m.target("subset") == "v1m"
        and len(v1m.target("masks")) == 5
        and v1m.target("sounding_objects") == "man_piano"
    )
    assert read_prepared(tmp_path / "out")["options"] == {"variant": "avss", "classes": 5}


def test_unknown_columns_and_variants_fail(official, tmp_path):
    root = official("avsbench")
    with pytest.raises(ValueError, match="unknown AVSBench variant"):
        prepare_avsbench(root, tmp_path / "out", "s5")
    (root / "Single-source/s4_meta_data.csv").write_text("name,start_time,category,split,extra\n")
    with pytest.raises(ValueError, match="is not the official"):
        prepare_avsbench(root, tmp_path / "out", "s4")
    (root / "avss/metadata.csv").write_text("vid,uid,s_min,s_sec,a_obj,split,label\nx,x_0,0,0,dog,test,v3\n")
    with pytest.raises(ValueError, match="unknown subset label 'v3'"):
        prepare_avsbench(root, tmp_path / "out", "avss")
