"""Timestamps in every form log sources use, converted to UTC nanoseconds in one vectorized pass.

Numbers (or numeric strings) are epoch seconds, milliseconds, microseconds or nanoseconds, told apart
by magnitude: any date between 1973 and 5138 has exactly one reading. Strings are ISO 8601 with or
without a zone (naive times are taken as UTC, the convention of every source we read) or the
`YYYY-MM-DD HH:MM:SS.fffffff` form of the Azure traces.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

NAT = np.iinfo(np.int64).min
"""Missing timestamp (numpy's NaT as int64)."""

_SCALE_LIMITS = ((1e11, 1_000_000_000), (1e14, 1_000_000), (1e17, 1_000), (float("inf"), 1))
"""Upper bound of the magnitude → nanoseconds per unit (s, ms, µs, ns)."""


def epoch_numbers_to_ns(values: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Epoch numbers in s/ms/µs/ns (picked per value by magnitude) → int64 ns; NaN/negative → NaT."""
    out = np.full(values.shape, NAT, dtype=np.int64)
    valid = np.isfinite(values) & (values > 0)
    lower = 0.0
    for upper, ns_per_unit in _SCALE_LIMITS:
        in_band = valid & (values >= lower) & (values < upper)
        if ns_per_unit == 1:
            out[in_band] = values[in_band].astype(np.int64)
        else:
            out[in_band] = np.round(values[in_band] * ns_per_unit).astype(np.int64)
        lower = upper
    return out


def _strings_to_ns(texts: Sequence[str]) -> npt.NDArray[np.int64]:
    parsed = pd.to_datetime(
        pd.Series(texts, dtype="object"), utc=True, format="ISO8601", errors="coerce"
    )
    result: npt.NDArray[np.int64] = pd.DatetimeIndex(parsed).as_unit("ns").asi8.copy()
    return result


def to_epoch_ns(raw: Sequence[object]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Convert raw timestamp values; returns (ns with NaT for missing/bad, mask of unparseable values).

    A value that is present but cannot be read is reported in the mask so the caller can skip that
    record with a reason rather than silently treating it as undated.
    """
    count = len(raw)
    out = np.full(count, NAT, dtype=np.int64)
    bad = np.zeros(count, dtype=np.bool_)
    number_index: list[int] = []
    numbers: list[float] = []
    string_index: list[int] = []
    strings: list[str] = []
    for index, value in enumerate(raw):
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            bad[index] = True
        elif isinstance(value, int | float):
            number_index.append(index)
            numbers.append(float(value))
        elif isinstance(value, str):
            stripped = value.strip()
            try:
                numbers.append(float(stripped))
                number_index.append(index)
            except ValueError:
                string_index.append(index)
                strings.append(stripped)
        else:
            bad[index] = True
    if numbers:
        converted = epoch_numbers_to_ns(np.asarray(numbers, dtype=np.float64))
        positions = np.asarray(number_index, dtype=np.int64)
        out[positions] = converted
        bad[positions] = converted == NAT
    if strings:
        converted = _strings_to_ns(strings)
        positions = np.asarray(string_index, dtype=np.int64)
        out[positions] = converted
        bad[positions] = converted == NAT
    return out, bad
