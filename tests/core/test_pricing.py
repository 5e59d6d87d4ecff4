"""The pricing engine against hand-computed costs: each rule of DESIGN.md §3, one test at a time.

Expected values are written out as tokens × price per 1M, so each can be checked by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costaudit.config.pricing import PriceTable
from costaudit.core.pricing import (
    ModelResolver,
    assign,
    class_rates,
    cost_lines,
    total_cost,
)
from costaudit.core.request_table import RequestTable
from costaudit.ingest.formats.anthropic import apply_usage as anthropic_usage
from costaudit.ingest.formats.gemini import apply_usage as gemini_usage
from costaudit.ingest.table import Draft
from support import MakeRequests, MakeTable

M = Decimal(1_000_000)

GPT_4O = {
    "input": "2.50",
    "cached_input": "1.25",
    "output": "10.00",
    "aliases": ["gpt-4o-2024-08-06"],
    "batch": {"input": "1.25", "output": "5.00", "cached_input": "1.25"},
}
SONNET = {
    "input": "3",
    "cached_input": "0.30",
    "cache_write": "3.75",
    "cache_write_1h": "6",
    "output": "15",
    "batch": {"discount": "0.5"},
    "tiers": [
        {
            "above_input_tokens": 200_000,
            "input": "6",
            "cached_input": "0.60",
            "cache_write": "7.50",
            "cache_write_1h": "12",
            "output": "22.50",
        }
    ],
}
GEMINI_PRO = {
    "input": "1.25",
    "cached_input": "0.125",
    "output": "10",
    "batch": {"input": "0.625", "output": "5"},
    "tiers": [
        {"above_input_tokens": 200_000, "input": "2.50", "cached_input": "0.25", "output": "15"}
    ],
}
O3 = {
    "input": "2",
    "cached_input": "0.50",
    "output": "8",
    "history": [{"until": "2025-06-10", "input": "10", "cached_input": "2.50", "output": "40"}],
}


def price(table: PriceTable, requests: RequestTable) -> Decimal:
    lines = cost_lines(requests, table, assign(requests, table))
    return total_cost(lines)


def at(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp())


def test_cached_reads_cost_the_cached_price(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    table = make_table(**{"gpt-4o": GPT_4O})
    requests = make_requests(
        {"model": "gpt-4o", "input_tokens": 1000, "cached_input_tokens": 200, "output_tokens": 500}
    )
    assert (
        price(table, requests)
        == (800 * Decimal("2.50") + 200 * Decimal("1.25") + 500 * Decimal("10")) / M
    )
    assert price(table, requests) == Decimal("0.00725")


def test_anthropic_input_tokens_exclude_cache_reads_and_writes(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    """Anthropic reports 700 uncached + 200 read + 100 written = 1,000 input tokens billed at 3 rates."""
    draft = Draft()
    anthropic_usage(
        draft,
        {
            "input_tokens": 700,
            "cache_read_input_tokens": 200,
            "cache_creation_input_tokens": 100,
            "output_tokens": 500,
        },
    )
    assert (draft.input_tokens, draft.cached_input_tokens, draft.cache_write_tokens) == (
        1000,
        200,
        100,
    )
    table = make_table(**{"claude-sonnet-4-5": SONNET})
    requests = make_requests({**_fields(draft), "model": "claude-sonnet-4-5"})
    expected = (
        700 * Decimal(3) + 200 * Decimal("0.30") + 100 * Decimal("3.75") + 500 * Decimal(15)
    ) / M
    assert price(table, requests) == expected == Decimal("0.010035")


def test_one_hour_cache_writes_cost_the_one_hour_price(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    draft = Draft()
    anthropic_usage(
        draft,
        {
            "input_tokens": 700,
            "cache_creation_input_tokens": 300,
            "cache_creation": {"ephemeral_5m_input_tokens": 200, "ephemeral_1h_input_tokens": 100},
            "output_tokens": 10,
        },
    )
    table = make_table(**{"claude-sonnet-4-5": SONNET})
    requests = make_requests({**_fields(draft), "model": "claude-sonnet-4-5"})
    expected = (700 * Decimal(3) + 200 * Decimal("3.75") + 100 * Decimal(6) + 10 * Decimal(15)) / M
    assert price(table, requests) == expected == Decimal("0.0036")


def test_gemini_thoughts_are_billed_as_output(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    draft = Draft()
    gemini_usage(
        draft,
        {
            "promptTokenCount": 1000,
            "cachedContentTokenCount": 200,
            "candidatesTokenCount": 100,
            "thoughtsTokenCount": 400,
        },
    )
    assert (
        draft.input_tokens,
        draft.cached_input_tokens,
        draft.output_tokens,
        draft.reasoning_tokens,
    ) == (
        1000,
        200,
        500,
        400,
    )
    table = make_table(
        **{"gemini-2.5-flash": {"input": "0.30", "cached_input": "0.03", "output": "2.50"}}
    )
    requests = make_requests({**_fields(draft), "model": "gemini-2.5-flash"})
    expected = (800 * Decimal("0.30") + 200 * Decimal("0.03") + 500 * Decimal("2.50")) / M
    assert price(table, requests) == expected == Decimal("0.001496")


def test_reasoning_tokens_are_billed_as_output(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    table = make_table(o3=O3)
    plain = make_requests({"model": "o3", "input_tokens": 1000, "output_tokens": 500})
    reasoning = make_requests(
        {"model": "o3", "input_tokens": 1000, "output_tokens": 500, "reasoning_tokens": 400}
    )
    assert (
        price(table, reasoning) == price(table, plain) == (1000 * Decimal(2) + 500 * Decimal(8)) / M
    )


def test_long_context_tier_reprices_the_whole_request(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    table = make_table(**{"gemini-2.5-pro": GEMINI_PRO})
    at_threshold = make_requests(
        {"model": "gemini-2.5-pro", "input_tokens": 200_000, "output_tokens": 1000}
    )
    above = make_requests(
        {"model": "gemini-2.5-pro", "input_tokens": 200_001, "output_tokens": 1000}
    )
    assert (
        price(table, at_threshold)
        == (200_000 * Decimal("1.25") + 1000 * Decimal(10)) / M
        == Decimal("0.26")
    )
    assert (
        price(table, above)
        == (200_001 * Decimal("2.50") + 1000 * Decimal(15)) / M
        == Decimal("0.5150025")
    )


def test_tier_threshold_counts_cached_tokens(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    """250k input of which 150k cached crosses the 200k tier: every class at the tier rate."""
    table = make_table(**{"claude-sonnet-4-5": SONNET})
    requests = make_requests(
        {
            "model": "claude-sonnet-4-5",
            "input_tokens": 250_000,
            "cached_input_tokens": 150_000,
            "output_tokens": 1000,
        }
    )
    expected = (100_000 * Decimal(6) + 150_000 * Decimal("0.60") + 1000 * Decimal("22.50")) / M
    assert price(table, requests) == expected == Decimal("0.7125")


def test_batch_uses_explicit_batch_class_prices(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    """gpt-4o in batch: the table prices cached reads at the standard cached price explicitly."""
    table = make_table(**{"gpt-4o": GPT_4O})
    requests = make_requests(
        {
            "model": "gpt-4o",
            "input_tokens": 1000,
            "cached_input_tokens": 200,
            "output_tokens": 500,
            "batch": True,
        }
    )
    assert (
        price(table, requests)
        == (800 * Decimal("1.25") + 200 * Decimal("1.25") + 500 * Decimal(5)) / M
    )


def test_batch_discount_applies_to_cache_reads_and_writes(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    table = make_table(**{"claude-sonnet-4-5": SONNET})
    requests = make_requests(
        {
            "model": "claude-sonnet-4-5",
            "input_tokens": 1000,
            "cached_input_tokens": 200,
            "cache_write_tokens": 100,
            "output_tokens": 500,
            "batch": True,
        }
    )
    full = 700 * Decimal(3) + 200 * Decimal("0.30") + 100 * Decimal("3.75") + 500 * Decimal(15)
    assert price(table, requests) == full * Decimal("0.5") / M == Decimal("0.0050175")


def test_batch_discount_inferred_from_batch_input_price_applies_in_a_tier(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    """Gemini's batch block gives 0.625 for 1.25 input: a ×0.5 discount, applied to the tier's prices."""
    table = make_table(**{"gemini-2.5-pro": GEMINI_PRO})
    requests = make_requests(
        {
            "model": "gemini-2.5-pro",
            "input_tokens": 300_000,
            "cached_input_tokens": 100_000,
            "output_tokens": 2000,
            "batch": True,
        }
    )
    expected = (200_000 * Decimal("1.25") + 100_000 * Decimal("0.125") + 2000 * Decimal("7.5")) / M
    assert price(table, requests) == expected


def test_batch_request_for_a_model_without_batch_prices_is_unpriced(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    table = make_table(o3=O3)
    requests = make_requests(
        {"model": "o3", "input_tokens": 1000, "output_tokens": 10, "batch": True}
    )
    lines = cost_lines(requests, table, assign(requests, table))
    assert [line.cost for line in lines] == [None]
    assert total_cost(lines) == 0


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2025-05-01T12:00:00", (1000 * Decimal(10) + 500 * Decimal(40)) / M),
        ("2025-06-09T23:59:59", (1000 * Decimal(10) + 500 * Decimal(40)) / M),
        ("2025-06-10T00:00:00", (1000 * Decimal(2) + 500 * Decimal(8)) / M),
        ("2025-07-01T12:00:00", (1000 * Decimal(2) + 500 * Decimal(8)) / M),
    ],
)
def test_price_in_force_at_the_request_time(
    make_table: MakeTable, make_requests: MakeRequests, day: str, expected: Decimal
) -> None:
    table = make_table(o3=O3)
    requests = make_requests(
        {"model": "o3", "timestamp": at(day), "input_tokens": 1000, "output_tokens": 500}
    )
    assert price(table, requests) == expected


def test_undated_requests_get_the_current_price(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    table = make_table(o3=O3)
    requests = make_requests({"model": "o3", "input_tokens": 1000, "output_tokens": 500})
    assert price(table, requests) == Decimal("0.006")


def test_relative_trace_times_get_the_current_price(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    table = make_table(o3=O3)
    requests = make_requests(
        {
            "model": "o3",
            "timestamp": 1000,
            "relative_time": True,
            "input_tokens": 1000,
            "output_tokens": 500,
        }
    )
    assert price(table, requests) == Decimal("0.006")


def test_unknown_models_are_unpriced_never_zero(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    table = make_table(**{"gpt-4o": GPT_4O})
    requests = make_requests(
        {"model": "my-finetune", "input_tokens": 10, "output_tokens": 1},
        {"model": "my-finetune", "input_tokens": 20, "output_tokens": 1},
        {"model": "gpt-4o", "input_tokens": 1000, "output_tokens": 0},
    )
    lines = cost_lines(requests, table, assign(requests, table))
    unpriced = [line for line in lines if line.price_id is None]
    assert [(line.model, line.tokens.requests, line.cost) for line in unpriced] == [
        ("my-finetune", 2, None)
    ]
    assert total_cost(lines) == Decimal("0.0025")


@pytest.mark.parametrize(
    ("logged", "resolved"),
    [
        ("gpt-4o", "gpt-4o"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("GPT-4o", "gpt-4o"),
        ("openai/gpt-4o", "gpt-4o"),
        ("azure/gpt-4o", "gpt-4o"),
        ("gpt-4o-2024-11-20", "gpt-4o"),
        ("gpt-4o-2024-05-13", None),
        ("gpt-4", None),
        ("together_ai/gpt-4o", "gpt-4o"),
        ("deepinfra/meta-llama/Llama-3.1-8B-Instruct", None),
    ],
)
def test_model_names_resolve_to_known_names_only(
    make_table: MakeTable, logged: str, resolved: str | None
) -> None:
    table = make_table(
        **{
            "gpt-4o": {**GPT_4O, "provider": "openai", "available_from": "2024-08-06"},
            "llama": {"input": 1, "output": 1, "match": r"meta-llama/Llama-3\.1-8B.*"},
        }
    )
    assert ModelResolver(table).resolve(logged) == resolved


def test_regex_match_resolves(make_table: MakeTable) -> None:
    table = make_table(llama={"input": 1, "output": 1, "match": r"meta-llama/Llama-3\.1-8B.*"})
    assert ModelResolver(table).resolve("meta-llama/Llama-3.1-8B-Instruct-Turbo") == "llama"


def test_rates_fall_back_when_a_class_has_no_price(make_table: MakeTable) -> None:
    table = make_table(
        plain={"input": "2", "output": "4"},
        writes={"input": "2", "output": "4", "cache_write": "2.5"},
    )
    plain = class_rates(table.models["plain"], 0, 0, batch=False)
    assert plain is not None
    assert (plain.cached_input, plain.cache_write, plain.cache_write_1h) == (
        Decimal(2),
        Decimal(2),
        Decimal(2),
    )
    writes = class_rates(table.models["writes"], 0, 0, batch=False)
    assert writes is not None
    assert writes.cache_write_1h == Decimal("2.5")


def _fields(draft: Draft) -> dict[str, Any]:
    return {
        name: getattr(draft, name)
        for name in (
            "input_tokens",
            "cached_input_tokens",
            "cache_write_tokens",
            "cache_write_1h_tokens",
            "output_tokens",
            "reasoning_tokens",
        )
    }


token_counts = st.integers(min_value=0, max_value=10**9)


@st.composite
def usage_rows(draw: st.DrawFn) -> dict[str, Any]:
    total = draw(token_counts)
    cached = draw(st.integers(0, total))
    writes = draw(st.integers(0, total - cached))
    return {
        "model": draw(st.sampled_from(["gpt-4o", "claude-sonnet-4-5", "unknown"])),
        "input_tokens": total,
        "cached_input_tokens": cached,
        "cache_write_tokens": writes,
        "cache_write_1h_tokens": draw(st.integers(0, writes)),
        "output_tokens": draw(token_counts),
        "batch": draw(st.booleans()),
    }


PROPERTY_TABLE = PriceTable.model_validate(
    {
        "schema_version": 1,
        "effective": "2026-11-25",
        "models": {
            name: {"provider": "t", "source": "t", "checked": "2026-11-25", **fields}
            for name, fields in (("claude-sonnet-4-5", {**SONNET, "tiers": []}), ("gpt-4o", GPT_4O))
        },
    }
)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(usage_rows(), min_size=1, max_size=8),
    factor=st.integers(1, 50),
    seed=st.randoms(),
)
def test_cost_is_non_negative_linear_and_order_free(
    make_requests: MakeRequests, rows: list[dict[str, Any]], factor: int, seed: Any
) -> None:
    table = PROPERTY_TABLE
    cost = price(table, make_requests(*rows))
    assert cost >= 0
    scaled = [
        {key: value * factor if key.endswith("tokens") else value for key, value in row.items()}
        for row in rows
    ]
    assert price(table, make_requests(*scaled)) == cost * factor
    shuffled = list(rows)
    seed.shuffle(shuffled)
    assert price(table, make_requests(*shuffled)) == cost
