"""Per-model quality labels on the scale users have them, mapped to [0, 1].

Labels come as booleans (correct or not), as scores in [0, 1], or as judge scores on another scale
(MT-Bench's GPT-4 judge scores 1–10). Routing metrics and fitted scorers work on [0, 1]: a label x on
the scale [low, high] becomes (x − low) / (high − low), so a 10 on [1, 10] is 1.0 and a 1 is 0.0. A
label outside the declared scale is an error, never clipped: it usually means the scale is wrong.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

UNIT_SCALE = (0.0, 1.0)


class LabelScaleError(ValueError):
    """Labels outside their declared scale (the message says which values and which scale)."""


def _plain(value: float) -> str:
    return f"{value:g}"


def normalise(
    values: npt.NDArray[np.float64], scale: tuple[float, float] | None = None
) -> npt.NDArray[np.float64]:
    """Labels mapped from `scale` (default [0, 1]) to [0, 1]; NaN (no label) stays NaN."""
    low, high = scale or UNIT_SCALE
    if not high > low:
        raise LabelScaleError(f"label scale [{_plain(low)}, {_plain(high)}] must have low < high")
    known = values[~np.isnan(values)]
    if len(known) and (known.min() < low or known.max() > high):
        hint = "" if scale else "; give the labels' scale, e.g. label_scale: [1, 10]"
        raise LabelScaleError(
            f"labels range from {_plain(float(known.min()))} to {_plain(float(known.max()))}, "
            f"outside the scale [{_plain(low)}, {_plain(high)}]{hint}"
        )
    return (values - low) / (high - low)
