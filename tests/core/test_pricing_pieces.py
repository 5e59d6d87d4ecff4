"""A large table is priced a piece of rows at a time, the pieces' groups merged by key: the lines are
those of the table priced whole (same groups in the same order, same token sums, same cost)."""

from __future__ import annotations

import numpy as np
import pytest

from costaudit import api
from costaudit.core import pricing
from costaudit.core.arrays import constant
from costaudit.core.columns import TOKEN_COLUMNS
from costaudit.core.pricing import aggregate_lines, assign
from costaudit.core.request_table import Category, RequestTable

MODELS = ["gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5", "no-such-model"]


def _table(rng: np.random.Generator, rows: int) -> RequestTable:
    inputs = rng.integers(0, 300_000, size=rows)  # some above Sonnet's long-context threshold
    cached = rng.integers(0, 1 + inputs // 2)
    tokens = {name: constant(np.int64(0), rows) for name in TOKEN_COLUMNS}
    tokens["input_tokens"] = inputs
    tokens["cached_input_tokens"] = cached
    tokens["output_tokens"] = rng.integers(0, 4_000, size=rows)
    stamps = np.datetime64("2026-01-01", "ns").astype(np.int64) + rng.integers(
        0, 300 * 86_400 * 10**9, size=rows
    )
    return RequestTable(
        timestamp_ns=stamps,
        relative_time=np.zeros(rows, dtype=np.bool_),
        model=Category(MODELS, rng.integers(-1, len(MODELS), size=rows).astype(np.int32)),
        tokens=tokens,
        batch=rng.random(rows) < 0.3,
        token_source=np.zeros(rows, dtype=np.int8),
        complexity=np.full(rows, np.nan, dtype=np.float32),
        prompt_hash=np.zeros(rows, dtype=np.uint64),
        source=Category.constant("log", rows),
        groups={
            "feature": Category(["a", "b", "c"], rng.integers(-1, 3, size=rows).astype(np.int32))
        },
    )


@pytest.mark.parametrize("seed", range(4))
def test_pieces_price_like_the_whole_table(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    table = api.load_prices().table
    requests = _table(np.random.default_rng(seed), 500)
    groups = [requests.group("feature")]
    whole = aggregate_lines(requests, assign(requests, table), table, groups)
    assert len(whole) > 20
    monkeypatch.setattr(pricing, "PRICING_PIECE", int(np.random.default_rng(seed).integers(1, 60)))
    pieces = aggregate_lines(requests, assign(requests, table), table, groups)
    assert pieces == whole
