"""Exact sums of token counts: money must never be computed from a wrapped integer."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

INT64_SAFE = 2.0**62
"""Sums whose bound (the sum of absolute values, in float64) stays below this cannot wrap int64."""


def exact_sum(values: npt.NDArray[np.int64]) -> int:
    """Sum of integer counts as a Python int, exact whatever their size.

    int64 accumulation wraps silently above 9.2×10^18; summing the absolute values in float64 first
    tells whether that could happen (float64's relative error is far below the margin to 2^63), and
    only then are the values summed as Python ints.
    """
    if not len(values):
        return 0
    if _bound(values) < INT64_SAFE:
        return int(values.sum())
    return sum(int(value) for value in values.tolist())


_BOUND_PIECE = 1 << 20
"""Values bounded at a time: the float64 copy of a 10⁷-row column would be 80 MB."""


def _bound(values: npt.NDArray[np.int64]) -> float:
    """The sum of absolute values in float64, a piece at a time."""
    return sum(
        float(np.abs(values[start : start + _BOUND_PIECE]).astype(np.float64).sum())
        for start in range(0, len(values), _BOUND_PIECE)
    )
