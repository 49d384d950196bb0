"""Input checks shared by the metric functions: shapes, dtypes, finiteness and binary values."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from avikit.errors import UsageError


def as_array(value: ArrayLike, name: str, ndim: int | tuple[int, ...], dtype: Any = None) -> NDArray[Any]:
    """Return ``value`` as an array with ``ndim`` dimensions, or raise ValueError saying what was expected."""
    try:
        array = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise UsageError(f"{name} must be a numeric array; could not convert it ({error})") from error
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if array.ndim not in allowed:
        raise UsageError(
            f"{name} must have {' or '.join(map(str, allowed))} dimensions, got shape {array.shape}; "
            "reshape it to the documented layout"
        )
    if array.dtype == object:
        raise UsageError(f"{name} must be numeric, got an object array; pass a rectangular numeric array")
    return array


def as_finite(value: ArrayLike, name: str, ndim: int | tuple[int, ...], dtype: Any = None) -> NDArray[Any]:
    """Like :func:`as_array`, and also reject NaN and infinite values."""
    array = as_array(value, name, ndim, dtype)
    if array.dtype.kind == "b":
        return array
    if not np.issubdtype(array.dtype, np.number):
        raise UsageError(f"{name} must be numeric, got dtype {array.dtype}")
    if array.dtype.kind in "fc" and not np.all(np.isfinite(array)):
        raise UsageError(f"{name} contains NaN or infinite values; clean the model output before scoring")
    return array


def as_binary(value: ArrayLike, name: str, ndim: int | tuple[int, ...]) -> NDArray[np.int64]:
    """Return a 0/1 integer array, or raise ValueError if any value is not exactly 0 or 1."""
    array = as_finite(value, name, ndim)
    if array.dtype.kind != "b" and not np.all((array == 0) | (array == 1)):
        raise UsageError(f"{name} must hold only 0 and 1; threshold the scores before scoring")
    return array.astype(np.int64)


def as_labels(value: ArrayLike, name: str, ndim: int, num_classes: int) -> NDArray[np.int64]:
    """Return integer class indices in ``[0, num_classes)``, or raise ValueError."""
    array = as_finite(value, name, ndim)
    if array.dtype.kind == "f":
        if not np.all(array == np.round(array)):
            raise UsageError(f"{name} must hold integer class indices, got fractional values")
    elif array.dtype.kind not in "iu":
        raise UsageError(f"{name} must hold integer class indices, got dtype {array.dtype}")
    array = array.astype(np.int64)
    if array.size and (array.min() < 0 or array.max() >= num_classes):
        raise UsageError(
            f"{name} must hold class indices in [0, {num_classes}), "
            f"got values in [{array.min()}, {array.max()}]"
        )
    return array


def same_shape(first: NDArray[Any], second: NDArray[Any], first_name: str, second_name: str) -> None:
    """Raise ValueError unless the two arrays have the same shape."""
    if first.shape != second.shape:
        raise UsageError(
            f"{first_name} has shape {first.shape} but {second_name} has shape {second.shape}; "
            "they must match item for item"
        )


def non_empty(array: NDArray[Any], name: str) -> None:
    """Raise ValueError if the array has no items along its first axis."""
    if array.shape[0] == 0:
        raise UsageError(f"{name} is empty; a score needs at least one item")
