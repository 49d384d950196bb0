"""Issue 15: annotation files with binary garbage raise a typed error that names the file and the line.

Before, AVE's ``Annotations.txt`` with bytes that are not UTF-8 gave a bare ``UnicodeDecodeError``. The
same holds for LLP's CSV files, read by the recipe and by the metric loaders.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from avikit.data.datasets import prepare_ave, prepare_llp
from avikit.errors import DataError
from avikit.metrics import load_ave_annotations, load_llp_annotations, load_llp_video_ids

GOOD = b"Category&VideoID&Quality&StartTime&EndTime\nChurch bell&RUhOCu3LNXM&good&0&10\n"


def _ave(tmp_path: Path, tail: bytes) -> Path:
    folder = tmp_path / "AVE_Dataset"
    folder.mkdir()
    (folder / "Annotations.txt").write_bytes(GOOD + tail)
    return folder / "Annotations.txt"


@pytest.mark.parametrize(
    ("tail", "what"),
    [
        (b"Dog&abc\xff\xfe\x00&good&0&3\n", r"Annotations\.txt:3:8: byte 0xff is not UTF-8"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", r"Annotations\.txt:3:1: byte 0x89 is not UTF-8"),
        (b"Dog&ab\x00c&good&0&3\n", r"Annotations\.txt:3:7: control character 0x00"),
    ],
)
def test_ave_garbage_names_file_line_and_column(tmp_path, tail, what):
    path = _ave(tmp_path, tail)
    with pytest.raises(DataError, match=what):
        prepare_ave(tmp_path, tmp_path / "out")
    with pytest.raises(DataError, match=what):
        load_ave_annotations(path)


def test_llp_garbage_names_file_and_line(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    weak = "filename\tevent_labels\nBjCEufrlXm4_20_30\tSpeech,Dog\n"
    for name in ("AVVP_train.csv", "AVVP_val_pd.csv", "AVVP_test_pd.csv"):
        (data / name).write_text(weak)
    dense = b"filename\tonset\toffset\tevent_labels\nBjCEufrlXm4_20_30\t0\t3\tSpeech\n"
    (data / "AVVP_eval_audio.csv").write_bytes(dense + b"BjCEufrlXm4_20_30\t\xc3\x28\t3\tDog\n")
    (data / "AVVP_eval_visual.csv").write_bytes(dense)
    with pytest.raises(DataError, match=r"AVVP_eval_audio\.csv:3:19: byte 0xc3 is not UTF-8"):
        prepare_llp(tmp_path, tmp_path / "out")
    with pytest.raises(DataError, match=r"AVVP_eval_audio\.csv:3:19"):
        load_llp_annotations(data / "AVVP_eval_audio.csv")
    (data / "AVVP_test_pd.csv").write_bytes(b"filename\tevent_labels\n\x00\x01\x02\n")
    with pytest.raises(DataError, match=r"AVVP_test_pd\.csv:2:1: control character 0x00"):
        load_llp_video_ids(data / "AVVP_test_pd.csv")


def test_a_bom_and_crlf_line_ends_are_still_text(tmp_path):
    path = _ave(tmp_path, b"")
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.replace(b"\n", b"\r\n"))
    assert [r.video_id for r in load_ave_annotations(path)] == ["RUhOCu3LNXM"]
    assert prepare_ave(tmp_path, tmp_path / "out")
