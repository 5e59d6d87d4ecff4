"""Every timestamp form the sources use becomes UTC nanoseconds; bad ones are flagged, missing ones not."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from costaudit.ingest.timestamps import NAT, to_epoch_ns

NS = 1_000_000_000
BASE = 1755856800  # 2025-08-22T10:00:00Z


@pytest.mark.parametrize(
    ("value", "expected_ns"),
    [
        ("2025-08-22T10:00:00Z", BASE * NS),
        ("2025-08-22T10:00:00.123Z", BASE * NS + 123_000_000),
        ("2025-08-22T12:00:00+02:00", BASE * NS),
        ("2025-08-22T05:00:00-05:00", BASE * NS),
        ("2025-08-22T10:00:00", BASE * NS),  # no zone: UTC
        ("2025-08-22 10:00:00.123", BASE * NS + 123_000_000),  # ClickHouse export
        ("2025-08-22 10:00:00.1234567", BASE * NS + 123_456_700),  # Azure: 7 digits
        ("2025-08-22T10:00:00.123456789Z", BASE * NS + 123_456_789),
        ("2025-08-22", (BASE - 10 * 3600) * NS),
        (BASE, BASE * NS),  # epoch seconds
        (BASE * 1000 + 250, BASE * NS + 250_000_000),  # epoch ms
        (BASE * 1_000_000 + 7, BASE * NS + 7_000),  # epoch µs
        (BASE * NS + 1, BASE * NS + 1),  # epoch ns, exact
        (str(BASE * NS + 1), BASE * NS + 1),  # OTLP nano string, exact
        (str(BASE), BASE * NS),
        (f"{BASE}.25", BASE * NS + 250_000_000),
        (BASE + 0.25, BASE * NS + 250_000_000),  # LiteLLM float epoch seconds
        (1724858089.123, 1724858089 * NS + 123_000_000),  # float noise rounded to µs
        (float(BASE * 1000), BASE * NS),
        (datetime(2025, 8, 22, 10, tzinfo=UTC), BASE * NS),
        (datetime(2025, 8, 22, 12, tzinfo=timezone(timedelta(hours=2))), BASE * NS),
        (datetime(2025, 8, 22, 10, tzinfo=UTC).replace(tzinfo=None), BASE * NS),  # naive: UTC
        (pd.Timestamp("2025-08-22T10:00:00Z"), BASE * NS),
        (date(2025, 8, 22), (BASE - 10 * 3600) * NS),
        (np.int64(BASE), BASE * NS),
        (timedelta(milliseconds=1500), 1_500_000_000),  # trace-relative offset
        (timedelta(0), 0),
    ],
)
def test_forms_become_utc_nanoseconds(value: object, expected_ns: int) -> None:
    out, bad = to_epoch_ns([value])
    assert not bad[0]
    assert int(out[0]) == expected_ns


@pytest.mark.parametrize("value", [None, "", "  ", 0, 0.0, "0", float("nan")])
def test_missing_values_are_undated_not_bad(value: object) -> None:
    out, bad = to_epoch_ns([value])
    assert int(out[0]) == NAT
    assert not bad[0]


@pytest.mark.parametrize(
    "value",
    [
        "soon",
        "2025-13-45",
        "0001-01-01",  # outside what int64 nanoseconds hold
        "9999-12-31",
        -5,
        "-5",
        1e300,
        10**30,
        float("inf"),
        "inf",
        "nan",
        True,
        {"seconds": 1},
        [BASE],
        timedelta(seconds=-1),
        datetime(1, 1, 1, tzinfo=UTC),
    ],
)
def test_unreadable_values_are_flagged(value: object) -> None:
    out, bad = to_epoch_ns([value])
    assert int(out[0]) == NAT
    assert bad[0]


def test_a_mixed_batch_keeps_positions() -> None:
    values: list[object] = ["2025-08-22T10:00:00Z", None, BASE, "junk", str(BASE * NS), 1.5e9]
    out, bad = to_epoch_ns(values)
    assert out.tolist() == [BASE * NS, NAT, BASE * NS, NAT, BASE * NS, 1_500_000_000 * NS]
    assert bad.tolist() == [False, False, False, True, False, False]


@pytest.mark.parametrize("value", ["²³", "9" * 5000, "-" + "9" * 30, "１２x"])
def test_strange_digit_strings_are_flagged_not_fatal(value: str) -> None:
    out, bad = to_epoch_ns([value])
    assert int(out[0]) == NAT
    assert bad[0]
