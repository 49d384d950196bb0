"""LLP recipe on the real official CSVs (current and pre-2024 annotations), the real clip, and a quirk fixture."""

from __future__ import annotations

import pytest

from avikit.data.datasets.llp import LLP_CLASSES, prepare_llp
from avikit.data.manifest import read_manifest
from avikit.data.prepared import read_prepared
from avikit.media import probe
from tests.data.datasets.conftest import link_reference, touch


def _by_id(path):
    return {s.id: s for s in read_manifest(path)}


@pytest.fixture(scope="module")
def real(reference_data, tmp_path_factory):
    """The real CSVs in the repository layout (data/), with the one real clip where the download script puts it."""
    root = tmp_path_factory.mktemp("llp")
    link_reference(reference_data, "llp", root / "data")
    (root / "data/LLP_dataset/video").mkdir(parents=True)
    (root / "data/LLP_dataset/video/BjCEufrlXm4.mp4").symlink_to(reference_data / "llp/BjCEufrlXm4.mp4")
    (root / "data/BjCEufrlXm4.mp4").unlink()
    out = {a: prepare_llp(root, tmp_path_factory.mktemp(a), a) for a in ("current", "pre2024")}
    return root, out


def test_real_counts_and_the_one_real_clip(real):
    _, out = real
    record = read_prepared(out["current"]["test"].parent)
    counts = {s: (e["samples"], e["found"]) for s, e in record["splits"].items()}
    assert counts == {"train": (10000, 1), "val": (649, 0), "test": (1200, 0)}
    train = _by_id(out["current"]["train"])
    clip = train["BjCEufrlXm4_20_30"]
    assert clip.target("labels") == ["Speech", "Dog"]
    assert clip.media.path.endswith("data/LLP_dataset/video/BjCEufrlXm4.mp4") and clip.media.duration == 10
    assert "events" not in clip.targets  # train has weak labels only
    info = probe(out["current"]["train"].parent / clip.media.path)
    assert abs(info.duration - 10.028) < 0.01 and info.audio is not None and info.video is not None
    assert (
        read_prepared(out["current"]["test"].parent)["splits"]["train"]["found_ids_sha256"]
        != read_prepared(out["current"]["test"].parent)["splits"]["train"]["ids_sha256"]
    )


def test_real_dense_targets_follow_the_official_rules(real):
    _, out = real
    test = _by_id(out["current"]["test"])
    first = test["4YdbENYcIyE_23_33"].target("segment_labels")
    assert first["audio"][:4] == [["Baby_cry_infant_cry"]] * 4 and first["audio"][4] == []
    assert first["visual"] == [["Baby_cry_infant_cry"]] * 10
    assert (
        first["audio_visual"][:4] == [["Baby_cry_infant_cry"]] * 4 and first["audio_visual"][4:] == [[]] * 6
    )
    labels = {e["label"] for s in test.values() for m in ("audio", "visual") for e in s.target("events")[m]}
    assert labels <= set(LLP_CLASSES) and len(labels) == 25
    val = _by_id(out["current"]["val"])
    reversed_row = {**test, **val}["8DF2PxdT5tE_390_400"].target("events")["audio"]
    assert all(e["onset"] < e["offset"] for e in reversed_row)


def test_real_pre2024_annotations_restore_the_three_rows(real):
    _, out = real
    new, old = _by_id(out["current"]["test"]), _by_id(out["pre2024"]["test"])
    changed = [i for i in new if new[i].targets != old[i].targets]
    assert sorted(changed) == ["JfZEqeLZqWk_30_40", "KvIjsmANkxI_10_20"]
    assert [e for e in old["JfZEqeLZqWk_30_40"].target("events")["audio"] if e["label"] == "Speech"] == []
    cats = [e for e in old["KvIjsmANkxI_10_20"].target("events")["audio"] if e["label"] == "Cat"]
    assert [(e["onset"], e["offset"]) for e in cats] == [(3, 7), (8, 10)]
    new_rec, old_rec = (read_prepared(out[a]["test"].parent) for a in ("current", "pre2024"))
    assert new_rec["options"]["annotations"] == "current" and old_rec["options"]["annotations"] == "pre2024"
    assert "Baby_cry_infant_cry" in old_rec["notes"][0] and "Baby_cry_infant_cry" not in new_rec["notes"][0]
    assert new_rec["splits"]["test"]["ids_sha256"] == old_rec["splits"]["test"]["ids_sha256"]  # same subset


def test_fixture_quirks(official, tmp_path):
    root = official("llp")
    touch(root / "data/LLP_dataset/video/KvIjsmANkxI.mp4")
    manifests = prepare_llp(root, tmp_path / "out")
    test = _by_id(manifests["test"])
    assert test["KvIjsmANkxI_10_20"].media.path.endswith("KvIjsmANkxI.mp4")
    assert read_prepared(tmp_path / "out")["splits"]["test"]["found"] == 1
    assert test["8DF2PxdT5tE_390_400"].target("events")["audio"] == [
        {"label": "Cheering", "onset": 2, "offset": 6}
    ]
    av = test["JfZEqeLZqWk_30_40"].target("events")["audio_visual"]
    assert {"label": "Speech", "onset": 2, "offset": 4} in av  # audio 0-4 and visual 2-6 overlap on 2-4
    notes = read_prepared(tmp_path / "out")["notes"]
    assert "VMTJRpjbE_150_160" in notes[0] and "9-0 Cheering" in notes[1]
    old = _by_id(prepare_llp(root, tmp_path / "old", "pre2024")["test"])
    assert {e["label"] for e in old["JfZEqeLZqWk_30_40"].target("events")["audio"]} == {"Baby_cry_infant_cry"}


def test_format_errors(official, tmp_path):
    root = official("llp")
    with pytest.raises(ValueError, match="unknown LLP annotations 'old'"):
        prepare_llp(root, tmp_path / "out", "old")
    (root / "data/AVVP_val_pd.csv").write_text("filename\tevent_labels\tnote\nx_0_10\tSpeech\tx\n")
    with pytest.raises(ValueError, match="header .* is not the official"):
        prepare_llp(root, tmp_path / "out")
    (root / "data/AVVP_val_pd.csv").write_text("filename\tevent_labels\nx_0_10\tSpeech,Kazoo\n")
    with pytest.raises(ValueError, match=r"unknown LLP class\(es\) \['Kazoo'\]"):
        prepare_llp(root, tmp_path / "out")
