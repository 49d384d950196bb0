"""Text annotation files: UTF-8 with a typed error naming file, line and column; BOM and CR/LF are text."""

from __future__ import annotations

import pytest

from avikit.data.text import read_text, read_text_lines
from avikit.errors import DataError


def test_text_with_bom_tabs_and_crlf_reads_as_lines(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"\xef\xbb\xbfa\tb\r\nc\xc3\xa9\td\n")
    assert read_text_lines(path) == ["a\tb", "c\u00e9\td"]


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b"ok\nx\xe9y\n", ":2:2: byte 0xe9 is not UTF-8"),  # Latin-1, not UTF-8
        (b"\xef\xbb\xbf\xff", ":1:4: byte 0xff"),  # the column counts the BOM's bytes
        (b"ok\nok\n\x1b[0m\n", ":3:1: control character 0x1b"),
        (b"a\x7f", ":1:2: control character 0x7f"),
    ],
)
def test_bytes_that_are_not_text_name_file_line_and_column(tmp_path, data, where):
    path = tmp_path / "b.txt"
    path.write_bytes(data)
    with pytest.raises(DataError, match=rf"b\.txt{where}"):
        read_text(path)
