"""Array operations numpy has, in the form this package needs them."""

from __future__ import annotations

from typing import TypeVar

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
