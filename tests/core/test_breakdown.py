"""Cost split for charts: per group value by model, and per day or hour, against hand-computed sums."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

from costaudit.core.analysis import Analysis, IngestFacts, analyze
from costaudit.core.request_table import RequestTable
from support import MakeRequests, MakeTable

M = Decimal(1_000_000)
PRICES = {"big": {"input": "2.50", "output": "10"}, "small": {"input": "0.15", "output": "0.60"}}


def _analysis(
    requests: RequestTable,
    make_table: MakeTable,
    group_by: tuple[str, ...] = (),
    timeline: bool = True,
) -> Analysis:
    facts = IngestFacts(len(requests), Counter(), Counter())
    return analyze(requests, make_table(**PRICES), facts, group_by=group_by, timeline=timeline)


def test_each_group_value_is_split_by_model_and_adds_up(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    requests = make_requests(
        # chat: big 1000 in / 100 out, small 2000 in / 500 out; search: small 4000 in; no feature: big
        {
            "model": "big",
            "timestamp": "2026-11-01T00:00:00Z",
            "input_tokens": 1000,
            "output_tokens": 100,
            "groups": {"feature": "chat"},
        },
        {
            "model": "small",
            "timestamp": "2026-11-02T00:00:00Z",
            "input_tokens": 2000,
            "output_tokens": 500,
            "groups": {"feature": "chat"},
        },
        {
            "model": "small",
            "timestamp": "2026-11-03T00:00:00Z",
            "input_tokens": 4000,
            "groups": {"feature": "search"},
        },
        {
            "model": "big",
            "timestamp": "2026-11-05T00:00:00Z",
            "input_tokens": 10,
            "output_tokens": 10,
        },
        {"model": "unknown", "timestamp": "2026-11-05T00:00:00Z", "input_tokens": 10},
    )
    result = _analysis(requests, make_table, group_by=("feature",))
    [breakdown] = result.group_breakdowns
    assert breakdown.key == "feature"
    rows = {row.value: row for row in breakdown.rows}
    chat_big = (1000 * Decimal("2.50") + 100 * 10) / M
    chat_small = (2000 * Decimal("0.15") + 500 * Decimal("0.60")) / M
    assert [(part.model, part.cost) for part in rows["chat"].models] == [
        ("big", chat_big),
        ("small", chat_small),
    ]
    assert rows["chat"].cost == chat_big + chat_small
    assert rows["search"].cost == 4000 * Decimal("0.15") / M
    assert rows[None].cost == (10 * Decimal("2.50") + 10 * 10) / M
    # Four days from the first to the last timestamp: monthly = cost × 30 / 4.
    assert rows["chat"].monthly == rows["chat"].cost * 30 / 4
    assert result.extrapolation_factor == Decimal(30) / 4
    assert [row.value for row in breakdown.rows] == ["chat", "search", None]
    assert sum(row.cost for row in breakdown.rows) == result.total_cost


def test_cost_per_day_by_model_leaves_out_undated_requests(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    requests = make_requests(
        {"model": "big", "timestamp": "2026-11-01T03:00:00Z", "input_tokens": 1000},
        {"model": "small", "timestamp": "2026-11-01T23:59:00Z", "input_tokens": 1000},
        {"model": "big", "timestamp": "2026-11-04T12:00:00Z", "input_tokens": 2000},
        {"model": "big", "input_tokens": 5000},
    )
    timeline = _analysis(requests, make_table).cost_over_time
    assert timeline is not None
    assert timeline.unit == "day" and not timeline.relative
    assert timeline.undated_requests == 1
    assert [(p.start, p.requests, p.cost) for p in timeline.periods] == [
        (
            datetime(2026, 11, 1, tzinfo=UTC),
            2,
            (1000 * Decimal("2.50") + 1000 * Decimal("0.15")) / M,
        ),
        (datetime(2026, 11, 4, tzinfo=UTC), 1, 2000 * Decimal("2.50") / M),
    ]
    assert [part.model for part in timeline.periods[0].models] == ["big", "small"]


def test_two_days_or_less_are_shown_per_hour(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    requests = make_requests(
        {"model": "big", "timestamp": "2026-11-01T10:15:00Z", "input_tokens": 100},
        {"model": "big", "timestamp": "2026-11-01T10:45:00Z", "input_tokens": 100},
        {"model": "big", "timestamp": "2026-11-02T09:00:00Z", "input_tokens": 100},
    )
    timeline = _analysis(requests, make_table).cost_over_time
    assert timeline is not None
    assert timeline.unit == "hour"
    assert [(p.start.hour, p.requests) for p in timeline.periods] == [(10, 2), (9, 1)]
    assert timeline.periods[0].cost == 200 * Decimal("2.50") / M


def test_timeline_is_skipped_when_not_asked_for(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    requests = make_requests(
        {"model": "big", "timestamp": "2026-11-01T10:15:00Z", "input_tokens": 1}
    )
    assert _analysis(requests, make_table, timeline=False).cost_over_time is None
