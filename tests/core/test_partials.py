"""Partial analyses merge exactly: any split of a request table into partitions, analyzed partition by
partition and merged, gives the analysis of the whole table, field for field (money, percentiles,
the window with its outliers, histograms, per-hour arrivals, problems, groups, cost over time)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from itertools import pairwise

import numpy as np
import pytest

from costaudit.api import load_prices
from costaudit.config.pricing import PriceTable
from costaudit.core import partials
from costaudit.core.analysis import IngestFacts, analyze
from costaudit.core.columns import TOKEN_COLUMNS
from costaudit.core.grouping import UnknownGroupKey
from costaudit.core.request_table import NAT, Category, RequestTable

NS_PER_HOUR = 3_600_000_000_000
START = int(datetime(2026, 10, 1, tzinfo=UTC).timestamp()) * 1_000_000_000
MODELS = [
    "gpt-4o-2024-08-06",
    "gpt-4o-mini",
    "claude-sonnet-4-5",
    "gemini-2.5-pro",
    "no-such-model",
    "gpt-4-0613",
]


@pytest.fixture(scope="module")
def prices() -> PriceTable:
    return load_prices().table


def _stamps(rng: np.random.Generator, count: int, shape: str) -> np.ndarray:
    """Timestamps of several shapes: days of traffic, a stray far outlier at either end, a cluster of
    outliers, a short burst, a handful of requests, undated rows."""
    spans = {"days": 9 * 24, "burst": 0.2, "hours": 30}
    width = spans.get(shape, 5 * 24)
    stamps = START + (rng.random(count) * width * NS_PER_HOUR).astype(np.int64)
    if shape == "stray":
        stamps[rng.integers(count)] = 1_000_000_000
        stamps[rng.integers(count)] = START + 400 * 24 * NS_PER_HOUR
    elif shape == "cluster":
        stamps[: max(1, count // 150)] = START - 90 * 24 * NS_PER_HOUR + rng.integers(0, 10**9)
    stamps[rng.random(count) < 0.05] = NAT
    return stamps


def _table(rng: np.random.Generator, count: int, shape: str) -> RequestTable:
    inputs = rng.choice([5, 120, 800, 1500, 250_000, 12], size=count) + rng.integers(0, 40, count)
    cached = (inputs * rng.choice([0, 0, 0.5], size=count)).astype(np.int64)
    output = rng.integers(0, 3000, count)
    tokens = {name: np.zeros(count, dtype=np.int64) for name in TOKEN_COLUMNS}
    tokens["input_tokens"] = inputs.astype(np.int64)
    tokens["cached_input_tokens"] = cached
    tokens["output_tokens"] = output.astype(np.int64)
    tokens["reasoning_tokens"] = output // 3
    complexity = rng.random(count).astype(np.float32)
    complexity[rng.random(count) < 0.3] = np.nan
    model_codes = rng.integers(-1, len(MODELS), count).astype(np.int32)
    features = rng.integers(-1, 3, count).astype(np.int32)
    return RequestTable(
        timestamp_ns=_stamps(rng, count, shape),
        relative_time=np.zeros(count, dtype=np.bool_),
        model=Category(list(MODELS), model_codes),
        tokens=tokens,
        batch=rng.random(count) < 0.2,
        token_source=rng.integers(0, 3, count).astype(np.int8),
        complexity=complexity,
        prompt_hash=np.zeros(count, dtype=np.uint64),
        source=Category(["a.jsonl", "b.jsonl"], rng.integers(0, 2, count).astype(np.int32)),
        groups={"feature": Category(["chat", "search", "agent"], features)},
    )


def _split(rng: np.random.Generator, table: RequestTable, parts: int) -> list[RequestTable]:
    cuts = np.sort(rng.integers(0, len(table) + 1, parts - 1))
    bounds = [0, *cuts.tolist(), len(table)]
    return [table.take(np.arange(a, b)) for a, b in pairwise(bounds)]


def _merged(
    pieces: Sequence[RequestTable], prices: PriceTable, group_by: tuple[str, ...]
) -> partials.Partial | None:
    return partials.merge(
        partials.partial(piece, prices, group_by, index=index) for index, piece in enumerate(pieces)
    )


@pytest.mark.parametrize(
    "shape", ["days", "stray", "cluster", "burst", "hours", "few", "relative", "mixed"]
)
@pytest.mark.parametrize(
    "group_by",
    [
        (),
        ("feature",),
        ("model", "provider", "feature"),
        ("day",),
        ("hour", "feature"),
        ("week", "provider"),
    ],
)
def test_merged_partials_equal_the_whole_table_analysis(
    prices: PriceTable, shape: str, group_by: tuple[str, ...]
) -> None:
    rng = np.random.default_rng(sum(map(ord, shape)) + len(group_by))
    count = 8 if shape == "few" else 1_200
    table = _table(rng, count, shape)
    if shape == "relative":
        table = replace(table, relative_time=np.ones(count, dtype=np.bool_))
    elif shape == "mixed":
        table = replace(table, relative_time=rng.random(count) < 0.3)
    facts = IngestFacts(count + 2, Counter({"malformed JSON": 2}), Counter())
    expected = analyze(table, prices, facts, group_by=group_by)
    for parts in (1, 2, 7):
        merged = _merged(_split(rng, table, parts), prices, group_by)
        got = partials.finish(merged, prices, facts, group_by=group_by)
        assert got == expected, f"{parts} partitions"


def test_the_stray_outlier_is_found_across_partitions(prices: PriceTable) -> None:
    """The stray stamp lives in one partition, the bulk in others: the window still leaves it out."""
    rng = np.random.default_rng(3)
    table = _table(rng, 2_000, "stray")
    facts = IngestFacts(2_000, Counter(), Counter())
    merged = _merged(_split(rng, table, 5), prices, ())
    window = partials.finish(merged, prices, facts).window
    assert window.outliers == 2
    assert window.days is not None and window.days < 6


def test_percentiles_from_value_counts_match_numpy_to_the_bit() -> None:
    rng = np.random.default_rng(11)
    for size in (1, 2, 3, 10, 101, 5_000):
        values = rng.integers(0, 50, size)
        counts = partials.ValueCounts.of(values)
        expected = np.percentile(values, [50, 90, 99])
        got = partials.percentiles(counts)
        assert [got[50], got[90], got[99]] == expected.tolist()


def test_a_group_key_no_partition_has_is_refused_with_the_available_keys(
    prices: PriceTable,
) -> None:
    rng = np.random.default_rng(5)
    table = _table(rng, 50, "days")
    merged = _merged(_split(rng, table, 3), prices, ("team",))
    with pytest.raises(UnknownGroupKey, match="feature"):
        partials.finish(merged, prices, IngestFacts(50, Counter(), Counter()), group_by=("team",))


def test_money_is_one_decimal_multiplication_per_price_key(prices: PriceTable) -> None:
    """Two partitions of gpt-4o-mini requests: the merged cost is the hand-computed Decimal."""
    rng = np.random.default_rng(1)
    table = _table(rng, 10, "days")
    table = RequestTable(
        **{
            **table.__dict__,
            "model": Category(["gpt-4o-mini"], np.zeros(10, dtype=np.int32)),
            "batch": np.zeros(10, dtype=np.bool_),
            "tokens": {
                name: np.full(10, 1_000_000 if name == "input_tokens" else 0, dtype=np.int64)
                for name in TOKEN_COLUMNS
            },
        }
    )
    merged = _merged(_split(rng, table, 2), prices, ())
    got = partials.finish(merged, prices, IngestFacts(10, Counter(), Counter()))
    rate = prices.models["gpt-4o-mini"].input
    assert got.total_cost == Decimal(10) * rate
