"""VGGSound protocols and AudioSet segment CSVs on fixtures in the official formats."""

from __future__ import annotations

import pytest

from avikit.data.datasets.audioset import prepare_audioset
from avikit.data.datasets.vggsound import prepare_vggsound
from avikit.data.manifest import read_manifest
from avikit.data.prepared import read_prepared
from tests.data.datasets.conftest import touch


def test_vggsound_classification_quoted_labels_and_media(official, tmp_path):
    root = official("vggsound")
    touch(root / "video/---g-f_I2yQ_000001.mp4")
    manifests = prepare_vggsound(root, tmp_path / "out")
    test = {s.id: s for s in read_manifest(manifests["test"])}
    assert sorted(test) == ["---g-f_I2yQ_000001", "-0BIyqJj9ZU_000030", "zpWuikVorYg_000032"]
    assert test["-0BIyqJj9ZU_000030"].target("labels") == ["male speech, man speaking"]
    assert len(read_manifest(manifests["train"])) == 1
    assert read_prepared(tmp_path / "out")["splits"]["test"]["found"] == 1


def test_vggsound_retrieval_subset_and_v2a_window(official, tmp_path):
    root = official("vggsound")
    ids = tmp_path / "ids.txt"
    ids.write_text("zpWuikVorYg_000032\n---g-f_I2yQ_000001\n")
    retrieval = prepare_vggsound(root, tmp_path / "r", "retrieval", ids)
    assert list(retrieval) == ["test"]
    samples = read_manifest(retrieval["test"])
    assert [s.id for s in samples] == ["---g-f_I2yQ_000001", "zpWuikVorYg_000032"]
    assert samples[1].target("retrieval") == {"text": "elk bugling", "group": "elk bugling"}
    v2a = read_manifest(prepare_vggsound(root, tmp_path / "v", "v2a")["test"])
    assert v2a[0].media.duration == 8 and v2a[0].target("caption") == "people marching"
    ids.write_text("nope_000001\n")
    with pytest.raises(ValueError, match="not in the VGGSound test split"):
        prepare_vggsound(root, tmp_path / "x", "retrieval", ids)
    with pytest.raises(ValueError, match="unknown VGGSound protocol"):
        prepare_vggsound(root, tmp_path / "x", "captioning")


def test_vggsound_bad_row(official, tmp_path):
    root = official("vggsound")
    (root / "vggsound.csv").write_text("abc,1,label,test,extra\n")
    with pytest.raises(ValueError, match="expected 4 fields"):
        prepare_vggsound(root, tmp_path / "out")


def test_audioset_comment_lines_quoted_lists_and_declared_counts(official, tmp_path):
    root = official("audioset")
    touch(root / "eval/--4gqARaEJE_0.wav")
    manifests = prepare_audioset(root, tmp_path / "out")
    assert sorted(manifests) == ["balanced_train", "eval"]
    first = read_manifest(manifests["balanced_train"])[0]
    assert first.id == "--PJHxphWEs_30" and first.media.duration == 10
    assert first.target("label_ids") == ["/m/09x0r", "/t/dd00088"] and first.target("labels") == [
        "Speech",
        "Gush",
    ]
    second = read_manifest(manifests["balanced_train"])[1]
    assert second.target("labels") == ["Male speech, man speaking"]
    assert read_prepared(tmp_path / "out")["splits"]["eval"]["found"] == 1


def test_audioset_truncated_file_and_unknown_label_fail(official, tmp_path):
    root = official("audioset")
    path = root / "eval_segments.csv"
    path.write_text(path.read_text().rsplit("\n", 2)[0] + "\n")
    with pytest.raises(ValueError, match="header declares 2 segments and 2 labels, the rows hold 1"):
        prepare_audioset(root, tmp_path / "out")
    path.write_text('# YTID, start_seconds, end_seconds, positive_labels\nabc, 0.000, 10.000, "/m/unknown"\n')
    with pytest.raises(ValueError, match=r"label\(s\) \['/m/unknown'\] are not in class_labels_indices.csv"):
        prepare_audioset(root, tmp_path / "out")
