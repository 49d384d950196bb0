"""VGG-SS and Flickr-SoundNet recipes on fixtures in the official formats."""

from __future__ import annotations

import pytest

from avikit.data.datasets.flickr_soundnet import prepare_flickr_soundnet
from avikit.data.datasets.vggss import prepare_vggss
from avikit.data.manifest import read_manifest
from avikit.data.prepared import read_prepared
from tests.data.datasets.conftest import media_file, touch


def test_vggss_boxes_quirk_and_media(official, tmp_path):
    root = official("vggss")
    touch(root / "frames/zpWuikVorYg_000032.jpg")
    media_file(root / "audio/zpWuikVorYg_000032.wav")
    touch(root / "audio/Db6Hjt0x28k_000056.wav")  # no frame: not found
    samples = read_manifest(prepare_vggss(root, tmp_path / "out")["test"])
    assert [s.id for s in samples] == ["zpWuikVorYg_000032", "Db6Hjt0x28k_000056"]
    assert samples[0].target("boxes") == [[0.403125, 0.253125, 0.6, 0.75]]
    assert samples[1].target("boxes")[0][3] == -2.8823037615171176e16  # written as published
    assert samples[0].target("labels") == ["elk bugling"] and samples[0].target("ground_truth") == "union"
    record = read_prepared(tmp_path / "out")
    assert record["splits"]["test"]["found"] == 1 and "corrupt" in record["notes"][0]


def test_vggss_test_list_must_be_annotated(official, tmp_path):
    root = official("vggss")
    (root / "metadata/vggss_test.csv").write_text("unknown_000001\n")
    with pytest.raises(ValueError, match="unknown_000001 has no boxes"):
        prepare_vggss(root, tmp_path / "out")


def test_flickr_annotators_and_consensus(official, tmp_path):
    root = official("flickr_soundnet")
    touch(root / "frames/10000130166.jpg")
    media_file(root / "audio/10000130166.wav")
    samples = read_manifest(prepare_flickr_soundnet(root, tmp_path / "out")["test"])
    assert [s.id for s in samples] == ["10000130166", "10007936344"]
    assert samples[0].target("boxes") == [
        [52, 81, 190, 230],
        [60, 90, 180, 256],
        [0, 0, 30, 40],
        [55, 85, 200, 240],
    ]
    assert samples[0].target("box_format") == "xyxy_256" and samples[0].target("ground_truth") == "consensus"
    assert read_prepared(tmp_path / "out")["splits"]["test"]["found"] == 1


def test_flickr_bad_files(official, tmp_path):
    root = official("flickr_soundnet")
    (root / "Annotations/10007936344.xml").write_text(
        "<annotation><object><bbox><a>1</a><xmin>x</xmin></bbox></object></annotation>"
    )
    with pytest.raises(ValueError, match="first element and then 4 integer coordinates"):
        prepare_flickr_soundnet(root, tmp_path / "out")
    (root / "Annotations/10007936344.xml").unlink()
    with pytest.raises(FileNotFoundError, match="annotation of 10007936344"):
        prepare_flickr_soundnet(root, tmp_path / "out")
