r"""Reading the text files of official annotations, with errors that name the file, line and column.

A damaged download, a file of another format saved under the expected name, or a stray binary blob gives
bytes that are not UTF-8, or control characters that no annotation holds. Both raise
:class:`~avikit.errors.DataError` with ``path:line:column`` instead of a bare ``UnicodeDecodeError`` or a
confusing parse error further on. A UTF-8 byte order mark is dropped; tabs and CR/LF line ends are text.

Example:
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "Annotations.txt"
    >>> _ = path.write_bytes(b"Dog&abc&good&0&3\r\nCat&\xff&good&1&2\n")
    >>> try:
    ...     read_text(path)
    ... except DataError as err:
    ...     print(str(err).split(": ", 1)[1].split(";")[0])
    byte 0xff is not UTF-8 text
"""

from __future__ import annotations

import codecs
import os
import re
from pathlib import Path

from avikit.errors import DataError

__all__ = ["read_text", "read_text_lines"]

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _where(path: Path, data: bytes | str, offset: int) -> str:
    """``path:line:column`` (1-based) of an offset into the file's bytes or text."""
    if isinstance(data, bytes):
        line, start = data.count(b"\n", 0, offset) + 1, data.rfind(b"\n", 0, offset) + 1
    else:
        line, start = data.count("\n", 0, offset) + 1, data.rfind("\n", 0, offset) + 1
    return f"{path}:{line}:{offset - start + 1}"


def read_text(path: str | os.PathLike[str]) -> str:
    """Return the text of a UTF-8 file (without a byte order mark).

    Raises:
        DataError: a byte sequence is not UTF-8, or the text holds a control character other than tab,
            CR and LF (binary data); the message names the file, line and column.
    """
    file = Path(path)
    raw = file.read_bytes()
    bom = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    try:
        text = raw[bom:].decode("utf-8")
    except UnicodeDecodeError as err:
        offset = bom + err.start
        raise DataError(
            f"{_where(file, raw, offset)}: byte 0x{raw[offset]:02x} is not UTF-8 text; the file is damaged "
            "or not in the official format: download it again"
        ) from err
    found = _CONTROL.search(text)
    if found is not None:
        raise DataError(
            f"{_where(file, text, found.start())}: control character 0x{ord(found.group()):02x} (binary "
            "data) in a text file; the file is damaged or not in the official format: download it again"
        )
    return text


def read_text_lines(path: str | os.PathLike[str]) -> list[str]:
    """Return the lines of a UTF-8 text file (LF or CR/LF ends removed); errors as :func:`read_text`."""
    return read_text(path).splitlines()
