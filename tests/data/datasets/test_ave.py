"""AVE recipe on the real Annotations.txt and on a fixture of the AVE_Dataset release layout."""

from __future__ import annotations

import json

import pytest

from avikit.data.datasets.ave import prepare_ave
from avikit.data.manifest import read_manifest
from avikit.data.prepared import read_prepared, validate_prepared
from tests.data.datasets.conftest import touch


def test_real_annotations_without_split_files(reference_data, tmp_path):
    manifests = prepare_ave(reference_data / "ave", tmp_path / "out")
    assert list(manifests) == ["all"]
    samples = read_manifest(manifests["all"])
    assert len(samples) == 4143 and len({s.id for s in samples}) == 4143
    assert len({s.media.path for s in samples}) == 4097  # 45 clips carry 2-3 categories
    assert len({s.target("labels")[0] for s in samples}) == 28
    record = read_prepared(tmp_path / "out")
    assert record["splits"]["all"]["found"] == 0 and record["splits"]["all"]["missing"] == 4143
    assert "VWi2ENBuTbw" in record["notes"][0]
    first = samples[0]
    assert first.id == "RUhOCu3LNXM" and first.target("avel") == ["Church bell"] * 10
    assert {"-ccciEuH9FE#Male speech, man speaking", "-ccciEuH9FE#Female speech, woman speaking"} <= {
        s.id for s in samples
    }


def test_release_layout_with_splits_media_and_idempotence(official, tmp_path):
    root = official("ave")
    touch(root / "AVE_Dataset/AVE/RUhOCu3LNXM.mp4")
    touch(root / "AVE_Dataset/AVE/-ccciEuH9FE.mp4")
    out = tmp_path / "out"
    manifests = prepare_ave(root, out)
    assert sorted(manifests) == ["test", "train", "val"]
    record = read_prepared(out)
    assert {s: (e["samples"], e["found"]) for s, e in record["splits"].items()} == {
        "train": (2, 2),
        "val": (1, 0),
        "test": (2, 1),
    }
    assert (out / "test.missing.txt").read_text() == "0IklLP7_kBw\n"
    test = read_manifest(manifests["test"])
    assert test[0].id == "-ccciEuH9FE#Female speech, woman speaking"
    assert test[1].target("avel") == ["background"] * 4 + ["Mandolin"] * 6
    assert test[1].target("events") == {"audio_visual": [{"label": "Mandolin", "onset": 4, "offset": 10}]}
    val = read_manifest(manifests["val"])[0]
    assert val.target("avel") == ["background"] * 10 and val.target("events") == {"audio_visual": []}
    assert (out / test[0].media.path).resolve() == (root / "AVE_Dataset/AVE/-ccciEuH9FE.mp4").resolve()
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    prepare_ave(root, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert validate_prepared(out).ok


def test_bad_lines_fail_loudly(official, tmp_path):
    root = official("ave")
    path = root / "AVE_Dataset/testSet.txt"
    path.write_text("Mandolin&0IklLP7_kBw&good&4&10&extra\n")
    with pytest.raises(ValueError, match=r"testSet.txt:1: expected 5 '&'-separated fields"):
        prepare_ave(root, tmp_path / "out")
    path.write_text("Banjo&0IklLP7_kBw&good&4&10\n")
    with pytest.raises(ValueError, match="is not in .*Annotations.txt"):
        prepare_ave(root, tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="AVE Annotations.txt not found"):
        prepare_ave(tmp_path, tmp_path / "out")
    assert not (tmp_path / "out" / "prepared.json").exists()


def test_media_added_later_shows_as_count_mismatch(official, tmp_path):
    root = official("ave")
    prepare_ave(root, tmp_path / "out")
    touch(root / "AVE_Dataset/AVE/0IklLP7_kBw.mp4")
    report = validate_prepared(tmp_path / "out")
    assert not report.ok and any("recorded found 0 but the folder gives 1" in p for p in report.problems)
    assert json.loads((tmp_path / "out/croissant.json").read_text())["avikit:subsets"]["test"]["found"] == 0


def test_files_of_splits_no_longer_written_are_removed(official, tmp_path):
    root = official("ave")
    split_files = [root / "AVE_Dataset" / n for n in ("trainSet.txt", "valSet.txt", "testSet.txt")]
    saved = {p: p.read_bytes() for p in split_files}
    for p in split_files:
        p.unlink()
    prepare_ave(root, tmp_path / "out")
    assert (tmp_path / "out/all.jsonl").is_file()
    for p, data in saved.items():
        p.write_bytes(data)
    prepare_ave(root, tmp_path / "out")
    assert not (tmp_path / "out/all.jsonl").exists() and not (tmp_path / "out/all.missing.txt").exists()
    assert validate_prepared(tmp_path / "out").ok
