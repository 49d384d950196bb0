"""Prediction schemas: the fields of one prediction line and their validation, with errors that say where.

A prediction file is JSON Lines, one object per sample: ``{"id": "<sample id>", <field>: <value>, ...}``.
Every task lists its fields as :class:`FieldSpec` records. A bad line raises :class:`PredictionError` naming
the line, the field and what was expected.

Masks travel as run-length encodings: ``{"size": [H, W], "runs": [[value, count], ...]}`` in row-major order.

Example:
    >>> rle = encode_mask(np.array([[0, 0, 1], [1, 1, 0]]))
    >>> rle
    {'size': [2, 3], 'runs': [[0, 2], [1, 3], [0, 1]]}
    >>> decode_mask(rle, 2, "x").tolist()
    [[0, 0, 1], [1, 1, 0]]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from avikit.errors import AvikitError

__all__ = ["FIELD_KINDS", "FieldSpec", "PredictionError", "check_record", "decode_mask", "encode_mask"]


class PredictionError(AvikitError, ValueError):
    """A prediction line does not follow its task's schema."""


@dataclass(frozen=True)
class FieldSpec:
    """One field of a prediction line.

    Attributes:
        name: the JSON key.
        kind: one of :data:`FIELD_KINDS`.
        shape: symbolic sizes (names resolved per sample, e.g. ``("T", "C")``) or fixed integers.
        vocabulary: for label kinds, the name of the allowed label list.
        doc: what the field means.
        required: whether the field must be present.
    """

    name: str
    kind: str
    shape: tuple[str | int, ...] = ()
    vocabulary: str | None = None
    doc: str = ""
    required: bool = True


def _size(dim: str | int, dims: Mapping[str, int]) -> int:
    """The size of one dimension; ``"*"`` (any size) is -1."""
    return dim if isinstance(dim, int) else -1 if dim == "*" else dims[dim]


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fail(where: str, name: str, expected: str, value: Any) -> PredictionError:
    return PredictionError(f"{where}: field {name!r}: expected {expected}, got {_describe(value)}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _non_numbers(value: Any) -> list[Any]:
    """The leaves of nested lists that are not JSON numbers (strings, booleans, null), first first."""
    found: list[Any] = []
    stack = [value]
    while stack and not found:
        item = stack.pop()
        if isinstance(item, list | tuple):
            stack.extend(reversed(item))
        elif isinstance(item, np.ndarray):
            continue  # arrays from Python callers are checked by their dtype below
        elif isinstance(item, bool) or not isinstance(item, int | float | np.integer | np.floating):
            found.append(item)
    return found


def _check_numbers(value: Any, spec: FieldSpec, dims: Mapping[str, int], where: str) -> NDArray[np.float64]:
    shape = tuple(_size(d, dims) for d in spec.shape)
    text = " x ".join("N" if n < 0 else str(n) for n in shape)
    expected = f"a {text or 'scalar'} array of finite numbers"
    bad = _non_numbers(value)
    if bad:
        raise _fail(where, spec.name, expected, bad[0])
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise _fail(where, spec.name, expected, value) from None
    fits = array.ndim == len(shape) and all(n < 0 or n == m for n, m in zip(shape, array.shape, strict=False))
    if not fits or 0 in array.shape or isinstance(value, bool | str):
        raise _fail(where, spec.name, f"{expected} (shape [{text}])", f"shape {list(array.shape)}")
    if not np.all(np.isfinite(array)):
        raise _fail(where, spec.name, expected, "NaN or infinite values")
    return array


def _check_list(value: Any, spec: FieldSpec, dims: Mapping[str, int], where: str, what: str) -> list[Any]:
    length = _size(spec.shape[0], dims) if spec.shape else None
    if not isinstance(value, list) or (length is not None and len(value) != length):
        count = "a list" if length is None else f"a list of {length}"
        raise _fail(where, spec.name, f"{count} {what}", value)
    return value


def _check_label(label: Any, allowed: Sequence[str], spec: FieldSpec, where: str) -> str:
    if not isinstance(label, str) or label not in allowed:
        shown = ", ".join(allowed[:8]) + (", ..." if len(allowed) > 8 else "")
        raise _fail(where, spec.name, f"labels from the task's {spec.vocabulary} list ({shown})", label)
    return label


def _check_labels(
    value: Any, spec: FieldSpec, dims: Mapping[str, int], vocab: Sequence[str], where: str
) -> Any:
    items = _check_list(value, spec, dims, where, "label strings")
    return [_check_label(item, vocab, spec, where) for item in items]


def _check_label_sets(
    value: Any, spec: FieldSpec, dims: Mapping[str, int], vocab: Sequence[str], where: str
) -> Any:
    items = _check_list(value, spec, dims, where, "lists of label strings")
    out = []
    for item in items:
        if not isinstance(item, list):
            raise _fail(where, spec.name, "a list of label strings per segment", item)
        out.append(sorted({_check_label(label, vocab, spec, where) for label in item}))
    return out


def _check_detections(
    value: Any, spec: FieldSpec, dims: Mapping[str, int], vocab: Sequence[str], where: str
) -> Any:
    need = "objects {label, start, end, score}, times in seconds"  # end < start is scored, as by UnAV-100
    out = []
    for item in _check_list(value, spec, dims, where, need):
        if not isinstance(item, dict) or set(item) != {"label", "start", "end", "score"}:
            raise _fail(where, spec.name, need, item)
        label = _check_label(item["label"], vocab, spec, where)
        numbers = [item["start"], item["end"], item["score"]]
        if not all(_is_number(v) for v in numbers):
            raise _fail(where, spec.name, need, item)
        out.append(
            {
                "label": label,
                "start": float(item["start"]),
                "end": float(item["end"]),
                "score": float(item["score"]),
            }
        )
    return out


def decode_mask(
    rle: Any, max_value: int, where: str, name: str = "masks", size: tuple[int, int] | None = None
) -> NDArray[np.int64]:
    """Decode ``{"size": [H, W], "runs": [[value, count], ...]}`` to an integer array ``[H, W]``.

    Raises:
        PredictionError: if the encoding is malformed, its size differs from ``size``, a value lies outside
            ``[0, max_value]`` or the counts do not add up to ``H * W``.
    """
    need = (
        f"run-length masks {{'size': [H, W], 'runs': [[value, count], ...]}} with values in [0, {max_value}]"
    )
    if not isinstance(rle, dict) or set(rle) != {"size", "runs"}:
        raise _fail(where, name, need, rle)
    try:
        height, width = (int(v) for v in rle["size"])
        runs = np.asarray(rle["runs"], dtype=np.int64).reshape(-1, 2)
    except (TypeError, ValueError):
        raise _fail(where, name, need, rle) from None
    if size is not None and (height, width) != size:
        raise _fail(where, name, f"masks of size {list(size)}", rle["size"])
    if np.any(runs[:, 1] < 0) or runs[:, 1].sum() != height * width:
        raise _fail(where, name, f"run counts that add up to H * W = {height * width}", int(runs[:, 1].sum()))
    if runs.size and (runs[:, 0].min() < 0 or runs[:, 0].max() > max_value):
        raise _fail(where, name, need, f"value {int(runs[:, 0].max())}")
    return np.repeat(runs[:, 0], runs[:, 1]).reshape(height, width)


def encode_mask(mask: NDArray[Any]) -> dict[str, Any]:
    """Run-length encode an integer mask ``[H, W]`` (the inverse of :func:`decode_mask`)."""
    flat = np.asarray(mask).reshape(-1).astype(np.int64)
    starts = np.flatnonzero(np.r_[True, flat[1:] != flat[:-1]])
    counts = np.diff(np.r_[starts, len(flat)])
    return {
        "size": [int(mask.shape[0]), int(mask.shape[1])],
        "runs": [[int(v), int(c)] for v, c in zip(flat[starts], counts, strict=True)],
    }


def _check_masks(
    value: Any, spec: FieldSpec, dims: Mapping[str, int], vocab: Sequence[str], where: str
) -> Any:
    items = _check_list(value, spec, dims, where, "run-length masks")
    size = (dims["H"], dims["W"])
    return (
        np.stack([decode_mask(item, dims["max_value"], where, spec.name, size) for item in items])
        if items
        else []
    )


def _check_strings(
    value: Any, spec: FieldSpec, dims: Mapping[str, int], vocab: Sequence[str], where: str
) -> Any:
    items = _check_list(value, spec, dims, where, "strings")
    for item in items:
        if not isinstance(item, str):
            raise _fail(where, spec.name, "a string per item", item)
    return items


def _check_spans(
    value: Any, spec: FieldSpec, dims: Mapping[str, int], vocab: Sequence[str], where: str
) -> Any:
    need = "objects {start, end} in seconds with start <= end (or null)"
    out: list[dict[str, float] | None] = []
    for item in _check_list(value, spec, dims, where, need):
        if item is None:
            out.append(None)
            continue
        if not isinstance(item, dict) or set(item) != {"start", "end"}:
            raise _fail(where, spec.name, need, item)
        if not (_is_number(item["start"]) and _is_number(item["end"])) or item["end"] < item["start"]:
            raise _fail(where, spec.name, need, item)
        out.append({"start": float(item["start"]), "end": float(item["end"])})
    return out


def _check_string(
    value: Any, spec: FieldSpec, dims: Mapping[str, int], vocab: Sequence[str], where: str
) -> Any:
    if not isinstance(value, str):
        raise _fail(where, spec.name, "a string", value)
    return value


def _numbers(value: Any, spec: FieldSpec, dims: Mapping[str, int], vocab: Sequence[str], where: str) -> Any:
    return _check_numbers(value, spec, dims, where)


_Checker = Callable[[Any, FieldSpec, Mapping[str, int], Sequence[str], str], Any]
_CHECKERS: dict[str, _Checker] = {
    "numbers": _numbers,
    "labels": _check_labels,
    "label_sets": _check_label_sets,
    "detections": _check_detections,
    "masks": _check_masks,
    "strings": _check_strings,
    "spans": _check_spans,
    "string": _check_string,
}
FIELD_KINDS: tuple[str, ...] = tuple(_CHECKERS)
"""The field kinds a prediction schema can use."""


def check_record(
    record: Any,
    schema: Sequence[FieldSpec],
    dims: Mapping[str, int],
    vocabularies: Mapping[str, Sequence[str]],
    where: str,
) -> dict[str, Any]:
    """Validate one parsed prediction line and return it with arrays for numeric fields.

    Args:
        record: the parsed JSON value of the line.
        schema: the task's prediction fields (``id`` is implicit).
        dims: sizes of the symbolic dimensions for this sample.
        vocabularies: allowed labels per vocabulary name.
        where: what to name in errors, e.g. ``"preds.jsonl:3"``.

    Raises:
        PredictionError: naming ``where``, the field and what was expected.
    """
    if not isinstance(record, dict):
        raise PredictionError(f"{where}: expected a JSON object with 'id' and the prediction fields")
    if not isinstance(record.get("id"), str):
        raise _fail(where, "id", "the sample id as a string", record.get("id"))
    known = {"id", *(spec.name for spec in schema)}
    unknown = sorted(set(record) - known)
    if unknown:
        raise PredictionError(f"{where}: unknown field(s) {unknown}; this task's fields are {sorted(known)}")
    out: dict[str, Any] = {"id": record["id"]}
    for spec in schema:
        if spec.name not in record:
            if spec.required:
                raise PredictionError(f"{where}: field {spec.name!r} is missing; {spec.doc}")
            continue
        vocab = vocabularies.get(spec.vocabulary or "", ())
        out[spec.name] = _CHECKERS[spec.kind](record[spec.name], spec, dims, vocab, where)
    return out
