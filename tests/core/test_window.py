"""The window a monthly figure extrapolates: the bulk of the timestamps (outliers reported), a guard on
short windows, undated requests said, and the over-time and per-file group keys."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from costaudit.core.analysis import Analysis, IngestFacts, analyze
from costaudit.core.grouping import UnknownGroupKey
from costaudit.core.request_table import RequestTable
from costaudit.core.window import duration, observed_window
from support import MakeRequests, MakeTable

M = Decimal(1_000_000)
START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday


def _rows(stamps: Sequence[datetime | None], **extra: Any) -> list[dict[str, Any]]:
    return [
        {
            "model": "m",
            "timestamp": stamp.isoformat() if stamp else None,
            "input_tokens": 1_000_000,
            **extra,
        }
        for stamp in stamps
    ]


def _analysis(
    requests: RequestTable,
    make_table: MakeTable,
    group_by: tuple[str, ...] = (),
    days: Decimal | None = None,
) -> Analysis:
    table = make_table(m={"input": "1.00", "output": "2.00"})
    return analyze(
        requests,
        table,
        IngestFacts(len(requests), Counter(), Counter()),
        group_by=group_by,
        days=days,
    )


def _kinds(analysis: Analysis) -> dict[str, str]:
    return {problem.kind: problem.detail for problem in analysis.problems}


def test_a_stray_timestamp_is_left_out_of_the_window_and_reported(
    make_requests: MakeRequests, make_table: MakeTable
) -> None:
    """A day of hourly requests plus one stamped at the epoch's first second: the window stays one
    day (not 56 years), the stray request is still billed, and the report names it."""
    day = [START + timedelta(hours=hour) for hour in range(25)]
    stray = datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)
    result = _analysis(make_requests(*_rows([*day, stray])), make_table)
    window = result.window
    assert (window.start, window.end, window.days) == (day[0], day[-1], Decimal(1))
    assert (window.dated, window.outliers, window.first_outlier) == (26, 1, stray)
    assert result.total_cost == Decimal(26)  # 26 requests × 1M input tokens × $1/M
    assert result.monthly_cost == Decimal(26 * 30)
    detail = _kinds(result)["outlier_timestamps"]
    assert "1 request with timestamps far from the rest" in detail
    assert "1970-01-01 00:00" in detail and "56.8 years" in detail


def test_a_quiet_gap_is_not_an_outlier(make_requests: MakeRequests, make_table: MakeTable) -> None:
    """Two busy days a week apart: the gap is real traffic's, not a clock error."""
    first = [START + timedelta(hours=hour) for hour in range(24)]
    second = [stamp + timedelta(days=7) for stamp in first]
    window = _analysis(make_requests(*_rows(first + second)), make_table).window
    assert window.outliers == 0
    assert window.days == Decimal(7) + Decimal(23) / 24


def test_too_few_requests_are_never_second_guessed(
    make_requests: MakeRequests, make_table: MakeTable
) -> None:
    stamps = [START, START + timedelta(hours=1), START + timedelta(days=400)]
    window = _analysis(make_requests(*_rows(stamps)), make_table).window
    assert window.outliers == 0
    assert window.end == stamps[-1]


def test_a_window_under_a_day_warns_with_its_factor(
    make_requests: MakeRequests, make_table: MakeTable
) -> None:
    stamps = [START, START + timedelta(minutes=210)]
    result = _analysis(make_requests(*_rows(stamps)), make_table)
    factor = Decimal(30) / (Decimal(210) / (24 * 60))
    assert result.extrapolation_factor == factor
    assert result.monthly_cost == Decimal(2) * 30 / (Decimal(210) / (24 * 60))
    assert _kinds(result)["short_window"] == (
        "monthly figure extrapolates 3.5 hours to 30 days (×206)"
    )


def test_a_window_under_an_hour_gives_no_monthly_figure_without_days(
    make_requests: MakeRequests, make_table: MakeTable
) -> None:
    """500 µs of trace would be ×5,184,000,000: no monthly figure unless --days is given."""
    stamps = [START, START + timedelta(microseconds=500)]
    requests = make_requests(*_rows(stamps))
    result = _analysis(requests, make_table)
    assert result.monthly_cost is None
    assert result.window.too_short
    assert result.extrapolation_factor == Decimal(5_184_000_000)
    assert _kinds(result)["window_too_short"] == (
        "the timestamps span only 500 µs: too short to extrapolate to a month (×5,184,000,000), "
        "so there is no monthly figure; give --days N for one"
    )
    assert all(row.monthly is None for row in result.models)
    with_days = _analysis(requests, make_table, days=Decimal(1))
    assert with_days.monthly_cost == Decimal(60)
    assert "window_too_short" not in _kinds(with_days)


def test_undated_requests_are_counted_and_said(
    make_requests: MakeRequests, make_table: MakeTable
) -> None:
    stamps = [START, START + timedelta(days=2), None, None, None]
    result = _analysis(make_requests(*_rows(stamps)), make_table)
    assert (result.window.dated, result.window.undated, result.window.days) == (2, 3, Decimal(2))
    assert result.total_cost == Decimal(5)
    assert result.monthly_cost == Decimal(5) * 30 / 2
    assert _kinds(result)["undated"] == (
        "3 requests without a timestamp: counted in the cost and taken to fall within the window "
        "of the others"
    )


@pytest.mark.parametrize(
    ("days", "text"),
    [
        (Decimal("0.0000000057870"), "500 µs"),
        (Decimal(1) / 86_400_000 * 5, "5 ms"),
        (Decimal(35) / 1440, "35 minutes"),
        (Decimal(3), "3 days"),
        (Decimal(365) * 2, "2 years"),
    ],
)
def test_durations_read_in_their_unit(days: Decimal, text: str) -> None:
    assert duration(days) == text


def test_relative_trace_times_have_a_window_but_no_dates(make_requests: MakeRequests) -> None:
    requests = make_requests(
        {"model": "m", "timestamp": timedelta(0), "relative_time": True, "input_tokens": 1},
        {"model": "m", "timestamp": timedelta(days=2), "relative_time": True, "input_tokens": 1},
    )
    window = observed_window(requests, None)
    assert (window.start, window.days, window.source) == (None, Decimal(2), "timestamps")


def test_cost_per_day_and_week_in_time_order(
    make_requests: MakeRequests, make_table: MakeTable
) -> None:
    """Requests on Sunday 8 Nov (1), Monday 2 Nov (2), Tuesday 10 Nov (3) and one undated: days in time
    order (undated last), ISO weeks 45 and 46, no monthly figure per period."""
    requests = make_requests(
        *_rows([START + timedelta(days=6)]),
        *_rows([START, START + timedelta(hours=5)]),
        *_rows([START + timedelta(days=8)] * 3),
        *_rows([None]),
    )
    by_day = _analysis(requests, make_table, group_by=("day",))
    assert [(row.key, row.requests, row.cost, row.monthly) for row in by_day.groups] == [
        (("2026-11-02",), 2, Decimal(2), None),
        (("2026-11-08",), 1, Decimal(1), None),
        (("2026-11-10",), 3, Decimal(3), None),
        ((None,), 1, Decimal(1), None),
    ]
    by_week = _analysis(requests, make_table, group_by=("week",))
    assert [(row.key, row.requests) for row in by_week.groups] == [
        (("2026-W45",), 3),
        (("2026-W46",), 3),
        ((None,), 1),
    ]
    by_hour = _analysis(requests, make_table, group_by=("hour",))
    assert [row.key for row in by_hour.groups][:2] == [("2026-11-02 00:00",), ("2026-11-02 05:00",)]


def test_group_by_source_is_one_row_per_file(make_table: MakeTable) -> None:
    from costaudit.ingest.problems import Problems
    from costaudit.ingest.table import Draft, TableBuilder

    builder = TableBuilder(Problems(), lambda _model: "cl100k_base")
    for file, tokens in (("a.jsonl", 1_000_000), ("b.jsonl", 2_000_000), ("a.jsonl", 3_000_000)):
        builder.add(Draft(model="m", input_tokens=tokens, output_tokens=0), file, 1)
    result = _analysis(builder.finish(), make_table, group_by=("source",))
    assert {row.key: row.cost for row in result.groups} == {
        ("a.jsonl",): Decimal(4),
        ("b.jsonl",): Decimal(2),
    }


def test_an_unknown_group_key_names_the_available_ones(
    make_requests: MakeRequests, make_table: MakeTable
) -> None:
    requests = make_requests(*_rows([START], groups={"feature": "chat"}))
    with pytest.raises(UnknownGroupKey) as raised:
        _analysis(requests, make_table, group_by=("featur",))
    assert str(raised.value) == (
        "no grouping key `featur` in these logs (available: model, provider, source, hour, day, "
        "week, feature); did you mean `feature`?"
    )
