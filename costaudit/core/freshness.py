"""Is the price table fresh enough for these requests? Pure checks, warnings only.

A cost is only as right as the price behind it. Two situations make a dollar figure quietly wrong:

- the table was last brought up to date (`effective`) long before the traffic it prices: providers
  cut and raise prices every few months, so after about a quarter the numbers deserve a look;
- requests are dated before a model's first known price (`available_from`): the engine prices them
  at the oldest price it has, which is a guess (the model may not have existed, or had launch prices).

The checks never change a cost; the caller shows the warnings next to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

import numpy as np
import numpy.typing as npt

from costaudit.config.pricing import PriceTable
from costaudit.core.pricing import PriceAssignment
from costaudit.core.request_table import NAT, RequestTable, utc_datetime

NS_PER_SECOND = 1_000_000_000
MAX_TABLE_AGE_DAYS = 90
"""How much older than the newest request the table's `effective` date may be before a warning."""


@dataclass(frozen=True)
class FreshnessWarning:
    """One reason to doubt a price; `message` is a complete sentence for people."""

    kind: Literal["stale_table", "before_first_price"]
    message: str
    price_id: str | None = None
    """The price entry concerned (None for the whole table)."""
    requests: int = 0
    """How many requests the warning is about."""


def freshness_warnings(
    table: PriceTable,
    timestamps_by_price_id: Mapping[str, npt.NDArray[np.int64]],
    *,
    max_table_age_days: int = MAX_TABLE_AGE_DAYS,
) -> list[FreshnessWarning]:
    """Warnings for a table and the request times (int64 UTC nanoseconds, NAT for unknown) of each
    price entry the requests resolved to.

    Price ids the table does not know are ignored (unpriced requests are reported elsewhere).
    """
    times = {
        price_id: values[values != NAT]
        for price_id, values in timestamps_by_price_id.items()
        if price_id in table.models
    }
    warnings: list[FreshnessWarning] = []
    newest = max((int(values.max()) for values in times.values() if len(values)), default=None)
    if newest is not None:
        stale = stale_table_warning(
            table.effective, utc_datetime(newest).date(), max_table_age_days
        )
        if stale is not None:
            warnings.append(stale)
    for price_id in sorted(times):
        early = before_first_price_warning(table, price_id, times[price_id])
        if early is not None:
            warnings.append(early)
    return warnings


def stale_table_warning(
    effective: date, newest_request: date, max_age_days: int = MAX_TABLE_AGE_DAYS
) -> FreshnessWarning | None:
    """A warning when `effective` is more than `max_age_days` before the newest request."""
    age = (newest_request - effective).days
    if age <= max_age_days:
        return None
    return FreshnessWarning(
        kind="stale_table",
        message=(
            f"the price table is effective {effective}, {age} days before the newest request "
            f"({newest_request}); prices may have changed since: update the table or check the "
            "models you use (costaudit pricing show MODEL)"
        ),
    )


def before_first_price_warning(
    table: PriceTable, price_id: str, times: npt.NDArray[np.int64]
) -> FreshnessWarning | None:
    """A warning when requests for `price_id` (UTC nanoseconds) are dated before its
    `available_from` day (UTC)."""
    first_day = table.models[price_id].available_from
    if first_day is None or not len(times):
        return None
    start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC)
    early = times[times < int(start.timestamp()) * NS_PER_SECOND]
    if not len(early):
        return None
    count = len(early)
    return FreshnessWarning(
        kind="before_first_price",
        price_id=price_id,
        requests=count,
        message=(
            f"{price_id}: {count:,} request{'s' if count != 1 else ''} dated before its first "
            f"known price (available_from {first_day}, earliest request {utc_datetime(int(early.min())).date()}); "
            "priced at the oldest price the table has"
        ),
    )


def request_times(
    requests: RequestTable, assignment: PriceAssignment
) -> dict[str, npt.NDArray[np.int64]]:
    """Timestamps (UTC nanoseconds) per resolved price id from a request table and its price
    assignment.

    Undated rows and relative trace times (seconds from an unknown start) are left out: they carry
    no calendar date to compare with a price's dates.
    """
    stamps = requests.timestamp_ns
    dated = (stamps != NAT) & ~requests.relative_time
    return {
        price_id: stamps[(assignment.price_code == code) & dated]
        for code, price_id in enumerate(assignment.price_ids)
    }
