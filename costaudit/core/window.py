"""The time window a request table covers, chosen robustly, and what extrapolating it to a month means.

Monthly figures scale the cost of the window: monthly = cost × 30 / window days. Two things make that
scaling lie, and both are caught here:

- **Outlier timestamps.** One stray `timestamp: 1` among a day of records would stretch the window to
  56 years and shrink the monthly figure a twenty-thousandfold. So the window is the span of the BULK of
  the timestamps: at each end, at most one request in a hundred may be left out, and only when the gap
  that separates it from the rest is longer than the rest's whole span and than a day. Nothing else is
  an outlier (a quiet night between two busy days is not), and every outlier is reported with the span
  the window would have had. Outliers stay in the costs; only the window ignores them.
- **Windows too short to extrapolate.** A trace spanning 0.5 ms extrapolated to 30 days is ×5·10⁹. A
  window shorter than a day gives a monthly figure with a warning that states the factor; one shorter
  than an hour gives none unless `--days` says how long the logs are, and says why.

Requests without a timestamp are counted in the cost and taken to fall within the window of the others;
the report says how many there were, and how the window was chosen (timestamps, their bulk, `--days`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from costaudit.core.request_table import NAT, RequestTable

DAYS_PER_MONTH = Decimal(30)
NS_PER_SECOND = 1_000_000_000
NS_PER_HOUR = 3_600 * NS_PER_SECOND
NS_PER_DAY = 24 * NS_PER_HOUR
WARN_BELOW_NS = NS_PER_DAY
"""A window shorter than this gives a monthly figure only with a warning stating the factor."""
REFUSE_BELOW_NS = NS_PER_HOUR
"""A window shorter than this gives no monthly figure unless `--days` is given."""
OUTLIER_SHARE = 100
"""At most one request in this many (and at least one) may be left out of the window at each end."""
MIN_BULK = 10
"""Fewer dated requests than this are never second-guessed: there is no bulk to compare with."""


@dataclass(frozen=True)
class Window:
    """The time the requests span; `days` is None when it cannot be known."""

    start: datetime | None
    end: datetime | None
    days: Decimal | None
    source: str
    """`timestamps`, `--days`, or `none`."""
    dated: int = 0
    """Requests whose timestamps chose the window (outliers included)."""
    undated: int = 0
    """Requests without a timestamp: counted in the cost, taken to fall within the window."""
    outliers: int = 0
    """Requests whose timestamps lie far from the bulk, left out of the window (not of the cost)."""
    days_with_outliers: Decimal | None = None
    """The span the window would have had with the outliers."""
    first_outlier: datetime | None = None
    """The outlier farthest from the bulk, to show."""
    too_short: bool = False
    """The timestamps span less than an hour and no `--days` was given: no monthly figure."""


def _chosen(requests: RequestTable) -> tuple[npt.NDArray[np.int64], bool]:
    """Absolute timestamps when any exist, else relative trace times (and whether they are those)."""
    stamps = requests.timestamp_ns
    present = stamps != NAT
    relative = requests.relative_time
    absolute = present & ~relative
    if absolute.any():
        return stamps[absolute], False
    return stamps[present & relative], bool((present & relative).any())


def _outlier_ends(
    low_end: npt.NDArray[np.int64], high_end: npt.NDArray[np.int64]
) -> tuple[int, int]:
    """How many of the smallest (`low_end`, ascending) and largest (`high_end`, ascending) stamps
    are outliers: at each end, the widest split whose gap exceeds both the rest's span and a day."""
    lows = highs = 0
    for _ in range(2):  # each end's rest depends on where the other end is cut
        top = int(high_end[len(high_end) - 1 - highs])
        lows = _widest(np.diff(low_end), top - low_end[1:])
        bottom = int(low_end[lows])
        highs = _widest(np.diff(high_end)[::-1], high_end[:-1][::-1] - bottom)
    return lows, highs


def _widest(gaps: npt.NDArray[np.int64], rest: npt.NDArray[np.int64]) -> int:
    """1 + the index of the widest gap that separates an end from a rest it dwarfs (0: none)."""
    wide = gaps > np.maximum(rest, NS_PER_DAY)
    if not wide.any():
        return 0
    candidates = np.where(wide, gaps, -1)
    return int(np.argmax(candidates)) + 1


def _bulk(stamps: npt.NDArray[np.int64]) -> tuple[int, int, int, int, int]:
    """(low, high, outliers, farthest outlier, full span) of the bulk of `stamps`."""
    count = len(stamps)
    cut = max(1, count // OUTLIER_SHARE)
    if count < MIN_BULK:
        low, high = int(stamps.min()), int(stamps.max())
        return low, high, 0, 0, high - low
    ends = np.partition(stamps, [cut, count - 1 - cut])
    low_end = np.sort(ends[: cut + 1])
    high_end = np.sort(ends[count - 1 - cut :])
    lows, highs = _outlier_ends(low_end, high_end)
    low, high = int(low_end[lows]), int(high_end[-1 - highs])
    first, last = int(low_end[0]), int(high_end[-1])
    farthest = first if low - first >= last - high else last
    return low, high, lows + highs, farthest, last - first


def _datetime(ns: int, relative: bool) -> datetime | None:
    return None if relative else datetime.fromtimestamp(ns / 1e9, tz=UTC)


def observed_window(requests: RequestTable, days: Decimal | None) -> Window:
    """The window: `days` when given, else the span of the bulk of the timestamps (relative trace
    times count when nothing else does)."""
    stamps, relative = _chosen(requests)
    undated = int((requests.timestamp_ns == NAT).sum())
    if not len(stamps):
        if days is not None:
            return Window(None, None, days, "--days", undated=undated)
        return Window(None, None, None, "none", undated=undated)
    low, high, outliers, farthest, full = _bulk(stamps)
    span_days = Decimal(high - low) / NS_PER_DAY if high > low else None
    common = {
        "start": _datetime(low, relative),
        "end": _datetime(high, relative),
        "dated": len(stamps),
        "undated": undated,
        "outliers": outliers,
        "days_with_outliers": Decimal(full) / NS_PER_DAY if outliers else None,
        "first_outlier": _datetime(farthest, relative) if outliers else None,
    }
    if days is not None:
        return Window(days=days, source="--days", **common)  # type: ignore[arg-type]
    if span_days is None:
        return Window(days=None, source="none", **common)  # type: ignore[arg-type]
    return Window(
        days=span_days,
        source="timestamps",
        too_short=high - low < REFUSE_BELOW_NS,
        **common,  # type: ignore[arg-type]
    )


def extrapolation_factor(
    window: Window, days_per_month: Decimal = DAYS_PER_MONTH
) -> Decimal | None:
    """What the window's cost is multiplied by for a month (days per month / window days); None
    without a window. A window too short to extrapolate has a factor but no monthly figure."""
    if window.days is None:
        return None
    return days_per_month / window.days


def duration(days: Decimal) -> str:
    """A span in the unit that reads best (`0.5 ms`, `35 minutes`, `56 years`)."""
    seconds = float(days) * 86_400
    for size, unit in (
        (365.25 * 86_400, "years"),
        (86_400, "days"),
        (3_600, "hours"),
        (60, "minutes"),
        (1, "seconds"),
        (1e-3, "ms"),
    ):
        if seconds >= size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds * 1e6:.3g} µs"


def factor_text(factor: Decimal) -> str:
    return f"×{factor:,.0f}" if factor >= 10 else f"×{factor:.3g}"


def window_warnings(
    window: Window, days_per_month: Decimal = DAYS_PER_MONTH
) -> list[tuple[str, str, int]]:
    """What a reader must know about the window, as (kind, detail, requests concerned)."""
    found: list[tuple[str, str, int]] = []
    if window.outliers and window.days_with_outliers is not None:
        where = (
            f" (the farthest at {window.first_outlier:%Y-%m-%d %H:%M} UTC)"
            if window.first_outlier
            else ""
        )
        found.append(
            (
                "outlier_timestamps",
                f"{window.outliers:,} request{'' if window.outliers == 1 else 's'} with timestamps far "
                f"from the rest{where} left out of the window: it would span "
                f"{duration(window.days_with_outliers)} with them (their cost is counted)",
                window.outliers,
            )
        )
    if window.undated and window.dated:
        found.append(
            (
                "undated",
                f"{window.undated:,} request{'' if window.undated == 1 else 's'} without a timestamp: "
                "counted in the cost and taken to fall within the window of the others",
                window.undated,
            )
        )
    if window.source == "timestamps" and window.days is not None:
        factor = days_per_month / window.days
        span = duration(window.days)
        if window.too_short:
            found.append(
                (
                    "window_too_short",
                    f"the timestamps span only {span}: too short to extrapolate to a month "
                    f"({factor_text(factor)}), so there is no monthly figure; give --days N for one",
                    1,
                )
            )
        elif window.days * NS_PER_DAY < WARN_BELOW_NS:
            found.append(
                (
                    "short_window",
                    f"monthly figure extrapolates {span} to {days_per_month:g} days "
                    f"({factor_text(factor)})",
                    1,
                )
            )
    return found


def workload_notes(window: Window, days_per_month: Decimal = DAYS_PER_MONTH) -> list[str]:
    """The window's warnings as notes on a simulated workload: outliers and undated requests as for
    `analyze`; a window under a day states its extrapolation factor (the simulator still
    extrapolates it, so that a scenario file always has figures to compare)."""
    notes = [
        detail
        for kind, detail, _ in window_warnings(window, days_per_month)
        if kind in {"outlier_timestamps", "undated"}
    ]
    short = window.days is not None and window.days * NS_PER_DAY < WARN_BELOW_NS
    if window.source == "timestamps" and window.days is not None and short:
        notes.append(
            f"monthly figures extrapolate {duration(window.days)} to {days_per_month:g} days "
            f"({factor_text(days_per_month / window.days)}): give the workload `days:` for a "
            "sounder figure"
        )
    return notes
