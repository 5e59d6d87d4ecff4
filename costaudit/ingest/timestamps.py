"""Timestamps in every form log sources use, converted to UTC nanoseconds in one vectorized pass.

Numbers (or numeric strings) are epoch seconds, milliseconds, microseconds or nanoseconds, told apart
by magnitude: any date between 1973 and 2262 has exactly one reading. Whole numbers (ints and digit
strings, e.g. OTLP's `"1755856800000000000"`) are converted exactly, in integer arithmetic; fractional
ones through float64. Strings are ISO 8601 with or without a zone (naive times are taken as UTC, the
convention of every source we read), including the `YYYY-MM-DD HH:MM:SS.fffffff` form of the Azure
traces and the `YYYY-MM-DD HH:MM:SS.mmm` form of ClickHouse exports. `datetime` values (from Parquet)
are taken as they are (naive = UTC). A `timedelta` is an offset from the start of a trace (readers of
relative-time traces mark such rows `relative_time`): it becomes that many nanoseconds after 0.

A zero or NaN number means "no timestamp" (exporters write them as placeholders); negative numbers,
dates outside what int64 nanoseconds can hold (1677–2262) and unparseable strings are reported as bad.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from costaudit.core.request_table import EPOCH
from costaudit.core.request_table import NAT as NAT

if TYPE_CHECKING:
    import pandas as pd

INT64_MAX = np.iinfo(np.int64).max

_SCALE_LIMITS = ((1e11, 1_000_000_000), (1e14, 1_000_000), (1e17, 1_000), (float("inf"), 1))
"""Upper bound of the magnitude → nanoseconds per unit (s, ms, µs, ns)."""
_INTEGER_BANDS: tuple[tuple[int | None, int], ...] = (
    (10**11, 1_000_000_000),
    (10**14, 1_000_000),
    (10**17, 1_000),
    (None, 1),
)
"""The same bands for whole numbers, in exact integer arithmetic."""
MAX_DIGITS = 19
"""Digit strings longer than int64 nanoseconds cannot be a timestamp (and Python refuses huge ones)."""
_NS_PER_UNIT = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


def _whole_epoch_seconds(values: npt.NDArray[np.float64]) -> npt.NDArray[np.int64] | None:
    """The common case in one step (every value a whole epoch second, as in OpenAI's `created`);
    None when any value needs the general conversion."""
    if not len(values):
        return None
    low, high = float(values.min()), float(values.max())
    if not (low > 0 and high < INT64_MAX // 1_000_000_000):  # the seconds band, within int64 ns
        return None
    whole = values.astype(np.int64)
    if not (whole == values).all():
        return None
    return whole * 1_000_000_000


def epoch_numbers_to_ns(values: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Epoch numbers in s/ms/µs/ns (picked per value by magnitude) → int64 ns; bad values → NaT.

    The whole and fractional parts are scaled separately so float64 rounding does not leak into the
    result; fractions of epoch seconds and milliseconds are rounded to the microsecond, the precision
    a float64 epoch actually carries. NaN, zero, negative values and values beyond the int64
    nanosecond range become NaT.
    """
    whole_seconds = _whole_epoch_seconds(values)
    if whole_seconds is not None:
        return whole_seconds
    out = np.full(values.shape, NAT, dtype=np.int64)
    valid = np.isfinite(values) & (values > 0)
    lower = 0.0
    for upper, ns_per_unit in _SCALE_LIMITS:
        in_band = valid & (values >= lower) & (values < upper)
        in_band &= np.where(in_band, values, 0.0) < float(INT64_MAX // ns_per_unit)
        band = values[in_band]
        whole = np.floor(band)
        step = 1_000 if ns_per_unit >= 1_000_000 else 1
        fraction = np.round((band - whole) * (ns_per_unit // step)).astype(np.int64) * step
        out[in_band] = whole.astype(np.int64) * ns_per_unit + fraction
        lower = upper
    return out


def epoch_integers_to_ns(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Whole epoch numbers in s/ms/µs/ns → int64 ns, exactly; ≤ 0 or out of range → NaT."""
    out = np.full(values.shape, NAT, dtype=np.int64)
    lower = 1
    for upper, ns_per_unit in _INTEGER_BANDS:
        in_band = values >= lower
        if upper is not None:
            in_band &= values < upper
            lower = upper
        fits = in_band & (values <= INT64_MAX // ns_per_unit)
        out[fits] = values[fits] * ns_per_unit
    return out


_SECONDS_FRACTION = re.compile(r"(?<=\d\d:\d\d:\d\d)[.,](\d+)|(?<=T\d{6})[.,](\d+)")
"""Fractional seconds after hh:mm:ss (or basic hhmmss): kept to the nanosecond, which Python's
datetime (microseconds) cannot hold."""


def _iso_to_ns(text: str) -> int | None:
    """One ISO 8601 string → ns (NAT when outside the ns range); None when Python cannot read it.

    `datetime.fromisoformat` reads every form the log sources write (zone or none, `Z`, space or `T`,
    any number of fraction digits); the fraction is split off first so nanoseconds stay exact.
    """
    fraction = _SECONDS_FRACTION.search(text)
    whole_text = text
    fraction_ns = 0
    if fraction is not None:
        digits = fraction.group(1) or fraction.group(2)
        fraction_ns = int(digits[:9].ljust(9, "0"))
        whole_text = text[: fraction.start()] + text[fraction.end() :]
    try:
        moment = datetime.fromisoformat(whole_text)
    except ValueError:
        return None
    return _moment_to_ns(moment, fraction_ns)


def _strings_to_ns(texts: Sequence[str]) -> npt.NDArray[np.int64]:
    """ISO 8601 strings → int64 ns (NaT where unparseable or outside the ns range).

    Python's own parser reads them one by one (and keeps pandas unimported); the few strings it
    cannot read go to pandas, whose ISO 8601 reader accepts some other spellings.
    """
    out = np.full(len(texts), NAT, dtype=np.int64)
    unread: list[int] = []
    for index, text in enumerate(texts):
        ns = _iso_to_ns(text)
        if ns is None:
            unread.append(index)
        else:
            out[index] = ns
    if unread:
        out[unread] = _strings_to_ns_pandas([texts[index] for index in unread])
    return out


def _strings_to_ns_pandas(texts: Sequence[str]) -> npt.NDArray[np.int64]:
    import pandas as pd

    try:
        parsed = pd.DatetimeIndex(
            pd.to_datetime(
                pd.Series(texts, dtype="object"), utc=True, format="ISO8601", errors="coerce"
            )
        )
    except (ValueError, OverflowError, TypeError):
        if len(texts) == 1:
            return np.full(1, NAT, dtype=np.int64)
        return np.concatenate([_strings_to_ns_pandas([text]) for text in texts])
    return _index_to_ns(parsed)


def _index_to_ns(parsed: pd.DatetimeIndex) -> npt.NDArray[np.int64]:
    """A DatetimeIndex of any resolution → int64 ns, with NaT for values that do not fit."""
    raw = parsed.asi8.copy()
    factor = _NS_PER_UNIT.get(str(parsed.unit), 1)
    missing = raw == NAT
    limit = INT64_MAX // factor
    fits = ~missing & (raw > -limit) & (raw < limit)
    out = np.full(raw.shape, NAT, dtype=np.int64)
    out[fits] = raw[fits] * factor
    return out


def _datetime_to_ns(value: date) -> int:
    """A datetime (naive = UTC; pandas' Timestamp keeps its nanoseconds) or a date (midnight UTC)
    → ns, NAT when out of range."""
    moment = (
        value
        if isinstance(value, datetime)
        else datetime(value.year, value.month, value.day, tzinfo=UTC)
    )
    return _moment_to_ns(moment)


def _moment_to_ns(moment: datetime, extra_ns: int = 0) -> int:
    """An instant (naive = UTC) plus `extra_ns` → ns since the epoch; NAT outside the ns range."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    try:
        delta = aware - EPOCH
    except OverflowError:
        return int(NAT)
    ns = _delta_to_ns(delta) + extra_ns
    return ns if -INT64_MAX < ns < INT64_MAX else int(NAT)


def _delta_to_ns(delta: timedelta) -> int:
    """A timedelta in whole nanoseconds (pandas' Timedelta keeps its own sub-microsecond part)."""
    whole = (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
    return whole + int(getattr(delta, "nanoseconds", 0))


def _offset_to_ns(value: timedelta) -> int:
    """A trace-relative offset → ns after 0; NAT when negative."""
    ns = _delta_to_ns(value)
    return ns if 0 <= ns <= INT64_MAX else int(NAT)


class _Sorted:
    """Raw values sorted by kind, each with its row index, for one vectorized pass per kind."""

    def __init__(self, count: int) -> None:
        self.out = np.full(count, NAT, dtype=np.int64)
        self.bad = np.zeros(count, dtype=np.bool_)
        self.integers: tuple[list[int], list[int]] = ([], [])
        self.floats: tuple[list[int], list[float]] = ([], [])
        self.strings: tuple[list[int], list[str]] = ([], [])

    def add(self, index: int, value: object) -> None:
        if value is None or value == "":
            return
        if isinstance(value, bool):
            self.bad[index] = True
        elif isinstance(value, int | np.integer):
            self._integer(index, int(value))
        elif isinstance(value, float | np.floating):
            self._float(index, float(value))
        elif isinstance(value, str):
            self._string(index, value.strip())
        elif isinstance(value, timedelta):
            self._direct(index, _offset_to_ns(value))
        elif isinstance(value, date):
            self._direct(index, _datetime_to_ns(value))
        else:
            self.bad[index] = True

    def _direct(self, index: int, ns: int) -> None:
        self.out[index] = ns
        self.bad[index] = ns == NAT

    def _integer(self, index: int, value: int) -> None:
        if value == 0:
            return
        if not 0 < value <= INT64_MAX:
            self.bad[index] = True
            return
        self.integers[0].append(index)
        self.integers[1].append(value)

    def _float(self, index: int, value: float) -> None:
        if math.isnan(value) or value == 0:
            return
        self.floats[0].append(index)
        self.floats[1].append(value)

    def _string(self, index: int, text: str) -> None:
        if not text:
            return
        unsigned = text[1:] if text[0] in "+-" else text
        if unsigned.isdigit() and unsigned.isascii():
            if len(unsigned) > MAX_DIGITS:
                self.bad[index] = True
            else:
                self._integer(index, int(text))
            return
        try:
            number = float(text)
        except ValueError:
            self.strings[0].append(index)
            self.strings[1].append(text)
            return
        if math.isfinite(number):
            self._float(index, number)
        else:
            self.bad[index] = True

    def convert(self) -> None:
        """Convert each kind in one vectorized pass and scatter the results back to their rows."""
        if self.integers[0]:
            self._scatter(
                self.integers[0], epoch_integers_to_ns(np.asarray(self.integers[1], dtype=np.int64))
            )
        if self.floats[0]:
            self._scatter(
                self.floats[0], epoch_numbers_to_ns(np.asarray(self.floats[1], dtype=np.float64))
            )
        if self.strings[0]:
            self._scatter(self.strings[0], _strings_to_ns(self.strings[1]))

    def _scatter(self, positions: list[int], converted: npt.NDArray[np.int64]) -> None:
        where = np.asarray(positions, dtype=np.int64)
        self.out[where] = converted
        self.bad[where] = converted == NAT


def to_epoch_ns(raw: Sequence[object]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Convert raw timestamp values; returns (ns with NaT for missing/bad, mask of unparseable values).

    A value that is present but cannot be read is reported in the mask so the caller can skip that
    record with a reason rather than silently treating it as undated.
    """
    values = _Sorted(len(raw))
    for index, value in enumerate(raw):
        values.add(index, value)
    values.convert()
    return values.out, values.bad
