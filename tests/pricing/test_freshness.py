"""Freshness warnings: a table much older than the traffic, and requests before a model's first price."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
import pandas as pd

from costaudit.config.pricing import PriceTable
from costaudit.core.freshness import (
    MAX_TABLE_AGE_DAYS,
    freshness_warnings,
    request_times,
    stale_table_warning,
)
from costaudit.core.pricing import assign
from costaudit.core.request_table import NAT
from support import MakeRequests, MakeTable


def table(make_table: MakeTable) -> PriceTable:
    """Effective 2026-11-25 (the fixture's date); o3 first priced 2025-04-16."""
    return make_table(
        o3={"input": "2", "output": "8", "available_from": "2025-04-16"},
        plain={"input": "1", "output": "1"},
    )


def stamps(*days: str | None) -> npt.NDArray[np.int64]:
    """UTC nanoseconds, as the request table holds them; None becomes NAT (an undated request)."""
    return np.array(
        [NAT if day is None else pd.Timestamp(day, tz="UTC").value for day in days], dtype=np.int64
    )


def test_fresh_table_and_dated_requests_give_no_warning(make_table: MakeTable) -> None:
    assert freshness_warnings(table(make_table), {"o3": stamps("2026-11-01", "2026-12-20")}) == []


def test_table_more_than_90_days_older_than_the_newest_request(make_table: MakeTable) -> None:
    [warning] = freshness_warnings(table(make_table), {"plain": stamps("2026-01-01", "2027-03-01")})
    assert warning.kind == "stale_table"
    assert warning.price_id is None
    assert warning.message.startswith(
        "the price table is effective 2026-11-25, 96 days before the newest request (2027-03-01)"
    )


def test_exactly_90_days_is_still_fresh() -> None:
    from datetime import date

    assert MAX_TABLE_AGE_DAYS == 90
    assert stale_table_warning(date(2026, 1, 1), date(2026, 4, 1)) is None  # 90 days
    assert stale_table_warning(date(2026, 1, 1), date(2026, 4, 2)) is not None  # 91 days
    assert stale_table_warning(date(2026, 1, 1), date(2026, 3, 1), max_age_days=30) is not None


def test_requests_before_the_first_price(make_table: MakeTable) -> None:
    times = {
        "o3": stamps("2025-04-15T23:59:59", "2025-01-02T00:00:00", "2025-04-16T00:00:00", None)
    }
    [warning] = freshness_warnings(table(make_table), times)
    assert (warning.kind, warning.price_id, warning.requests) == ("before_first_price", "o3", 2)
    assert warning.message == (
        "o3: 2 requests dated before its first known price (available_from 2025-04-16, earliest "
        "request 2025-01-02); priced at the oldest price the table has"
    )


def test_ignores_price_ids_the_table_does_not_know(make_table: MakeTable) -> None:
    early = stamps("2025-04-15T10:00")
    aware = stamps("2025-04-01")
    warnings = freshness_warnings(table(make_table), {"o3": early, "not-in-table": aware})
    assert [w.requests for w in warnings] == [1]
    assert [w.price_id for w in freshness_warnings(table(make_table), {"o3": aware})] == ["o3"]


def test_request_times_from_a_request_table(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    prices = table(make_table)
    day = int(datetime(2025, 4, 1, tzinfo=UTC).timestamp())
    requests = make_requests(
        {"model": "o3", "timestamp": day, "input_tokens": 1},
        {"model": "o3", "input_tokens": 1},
        {"model": "o3", "timestamp": 5, "relative_time": True, "input_tokens": 1},
        {"model": "plain", "timestamp": day, "input_tokens": 1},
        {"model": "unknown", "timestamp": day, "input_tokens": 1},
    )
    times = request_times(requests, assign(requests, prices))
    assert {price_id: len(index) for price_id, index in times.items()} == {"o3": 1, "plain": 1}
    [warning] = freshness_warnings(prices, times)
    assert (warning.price_id, warning.requests) == ("o3", 1)
