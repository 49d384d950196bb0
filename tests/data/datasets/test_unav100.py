"""UnAV-100 recipe on a fixture of unav100_annotations.json."""

from __future__ import annotations

import json

import pytest

from avikit.data.datasets.unav100 import download_unav100, prepare_unav100
from avikit.data.download import ManualDownloadError
from avikit.data.manifest import read_manifest
from avikit.data.prepared import read_prepared
from tests.data.datasets.conftest import touch


def test_splits_events_and_media(official, tmp_path):
    root = official("unav100")
    touch(root / "raw_videos/__2MwJ2uHu0.mp4")
    manifests = prepare_unav100(root, tmp_path / "out")
    assert sorted(manifests) == ["test", "train", "val"]
    train = read_manifest(manifests["train"])[0]
    assert train.target("duration") == 51.48 and train.target("labels") == ["man speaking", "playing piano"]
    assert train.target("events")["audio_visual"][1] == {
        "label": "playing piano",
        "label_id": 76,
        "onset": 10.2,
        "offset": 51.48,
    }
    record = read_prepared(tmp_path / "out")
    assert (
        record["splits"]["train"]["found"] == 1 and record["splits"]["val"]["events"] == 2
    )  # duplicate kept


def test_unknown_fields_fail(official, tmp_path):
    root = official("unav100")
    path = root / "annotations/unav100_annotations.json"
    data = json.loads(path.read_text())
    data["database"]["__2MwJ2uHu0"]["annotations"][0]["score"] = 1
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"__2MwJ2uHu0 event 0: unknown field\(s\) \['score'\]"):
        prepare_unav100(root, tmp_path / "out")
    data["database"]["__2MwJ2uHu0"]["annotations"][0].pop("score")
    data["database"]["__2MwJ2uHu0"]["subset"] = "dev"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="subset 'dev'"):
        prepare_unav100(root, tmp_path / "out")


def test_download_names_what_to_fetch(tmp_path):
    with pytest.raises(ManualDownloadError, match="unav100_annotations.json.*scripts/video_download.py"):
        download_unav100(tmp_path)
