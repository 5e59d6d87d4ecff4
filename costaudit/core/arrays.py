"""Array operations numpy has, in the form this package needs them."""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

_Integer = TypeVar("_Integer", bound=np.integer)


def distinct(values: npt.NDArray[_Integer]) -> npt.NDArray[_Integer]:
    """The sorted distinct values of a 1-D integer array, as `np.unique(values)` gives them.

    `np.unique` without its `return_*` options checks for a masked array first, and that check imports
    numpy.ma on first use: about 20 ms, a fortieth of a one-record run, for a module nothing here
    uses.
    """
    ordered = np.sort(values)
    if not len(ordered):
        return ordered
    first = np.empty(len(ordered), dtype=np.bool_)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return ordered[first]


def is_sorted(values: npt.NDArray[np.integer[Any]] | npt.NDArray[np.floating[Any]]) -> bool:
    """True when `values` never decreases (a sort would leave it as it is)."""
    return len(values) < 2 or bool(np.all(values[1:] >= values[:-1]))


_Scalar = TypeVar("_Scalar", bound=np.generic)


def constant(value: _Scalar, rows: int) -> npt.NDArray[_Scalar]:
    """`rows` copies of `value` held as one (a read-only view with stride 0). A saved workload's
    token columns are often all zero (cache writes, audio on a chat log): 80 MB each at 10⁷ rows."""
    column: npt.NDArray[_Scalar] = np.broadcast_to(np.asarray(value), (rows,))
    return column


def is_constant(values: npt.NDArray[np.generic]) -> bool:
    """True for a column made by `constant` (or any stride-0 view)."""
    return values.ndim == 1 and values.strides == (0,) and len(values) > 0


def is_zero(values: npt.NDArray[np.generic]) -> bool:
    """True for a `constant` column of zeros (known without reading it)."""
    return is_constant(values) and not values[0]


def compact(values: npt.NDArray[_Scalar]) -> npt.NDArray[_Scalar]:
    """`values` as a `constant` when every value is zero, else unchanged."""
    if len(values) and not values.any():
        return constant(values.dtype.type(0), len(values))
    return values


def taken(
    values: npt.NDArray[_Scalar], rows: npt.NDArray[np.intp] | npt.NDArray[np.int64]
) -> npt.NDArray[_Scalar]:
    """`values[rows]`, still held as one value when `values` is a `constant`."""
    if is_constant(values):
        return constant(values[0], len(rows))
    picked: npt.NDArray[_Scalar] = values[rows]
    return picked


def joined(pieces: list[npt.NDArray[_Scalar]]) -> npt.NDArray[_Scalar]:
    """The pieces one after another, still held as one value when all are the same `constant`."""
    if all(is_constant(piece) for piece in pieces) and len({piece[0] for piece in pieces}) == 1:
        return constant(pieces[0][0], sum(len(piece) for piece in pieces))
    whole: npt.NDArray[_Scalar] = np.concatenate(pieces)
    return whole
