"""The keys costs can be broken down by, on one request table.

`--group-by` takes the built-in keys — `model`, `provider` (from the price table unless the logs name
one), `source` (the input file), and `hour`/`day`/`week` (cost over time, UTC; offsets from the start
for relative trace times) — and any grouping field the logs carry (feature, user, team, tags, a
metadata key). A field the logs carry wins over a built-in key of the same name. A key that is none
of these is an error that lists the available keys and suggests the closest: a misspelt key must never
quietly put everything under "(none)".
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from datetime import timedelta

import numpy as np
import numpy.typing as npt

from costaudit.core.arrays import distinct
from costaudit.core.request_table import EPOCH, NAT, Category, RequestTable

TIME_KEYS = ("hour", "day", "week")
BUILT_IN_KEYS = ("model", "provider", "source", *TIME_KEYS)
NS_PER_HOUR = 3_600_000_000_000
NS_PER_DAY = 24 * NS_PER_HOUR
MONDAY_OFFSET_DAYS = 3
"""1970-01-01 was a Thursday: day d + 3 counts whole weeks from the Monday before it."""


class UnknownGroupKey(ValueError):
    """A `--group-by` key that is neither built in nor a field of these logs."""

    def __init__(self, key: str, available: Sequence[str]) -> None:
        self.key = key
        self.available = list(available)
        close = difflib.get_close_matches(key, self.available, n=1, cutoff=0.6)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        super().__init__(
            f"no grouping key `{key}` in these logs (available: {', '.join(self.available)}){hint}"
        )


def available_keys(requests: RequestTable) -> list[str]:
    """Every key `--group-by` accepts on this table: the built-in keys, then the logs' fields."""
    return [*BUILT_IN_KEYS, *sorted(key for key in requests.groups if key not in BUILT_IN_KEYS)]


def with_group_keys(
    requests: RequestTable, keys: Sequence[str], providers: Callable[[], Category]
) -> RequestTable:
    """The table with a grouping column for every key (built-in keys computed, `providers` giving the
    price table's provider of each request); UnknownGroupKey for a key there is no column for."""
    for key in keys:
        if key in requests.groups:
            continue
        if key == "model":
            column = requests.model
        elif key == "source":
            column = requests.source
        elif key == "provider":
            column = providers()
        elif key in TIME_KEYS:
            column = period_column(requests, key)
        else:
            raise UnknownGroupKey(key, available_keys(requests))
        requests = requests.with_group(key, column)
    return requests


def _dated(requests: RequestTable) -> tuple[npt.NDArray[np.bool_], bool]:
    """Rows whose times place them: absolute timestamps when any exist, else relative trace times."""
    present = requests.timestamp_ns != NAT
    absolute = present & ~requests.relative_time
    if absolute.any():
        return absolute, False
    return present & requests.relative_time, True


def period_numbers(stamps: npt.NDArray[np.int64], unit: str) -> npt.NDArray[np.int64]:
    """The hour, day or ISO week (Monday-based) each stamp falls in, as a number."""
    if unit == "hour":
        return stamps // NS_PER_HOUR
    days = stamps // NS_PER_DAY
    return days if unit == "day" else (days + MONDAY_OFFSET_DAYS) // 7


def period_label(period: int, unit: str, relative: bool, first: int) -> str:
    """A period's name: its UTC hour, day or ISO week, or its offset from `first` for relative
    trace times."""
    if relative:
        return f"+{period - first}{unit[0]}"
    if unit == "hour":
        return f"{EPOCH + timedelta(hours=period):%Y-%m-%d %H:00}"
    if unit == "day":
        return f"{EPOCH + timedelta(days=period):%Y-%m-%d}"
    monday = EPOCH + timedelta(days=period * 7 - MONDAY_OFFSET_DAYS)
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def period_column(requests: RequestTable, unit: str) -> Category:
    """Each request's UTC hour, day or ISO week (Monday-based) as a category whose names are in
    time order; relative trace times are offsets from the first period (`+0d`, `+1d`…); requests
    without a usable time have none."""
    dated, relative = _dated(requests)
    periods = period_numbers(requests.timestamp_ns[dated], unit)
    present = distinct(periods)
    first = int(present[0]) if len(present) else 0
    names = [period_label(int(period), unit, relative, first) for period in present.tolist()]
    codes = np.full(len(requests), -1, dtype=np.int32)
    codes[dated] = np.searchsorted(present, periods).astype(np.int32)
    return Category(names, codes)
