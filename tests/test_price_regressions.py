"""The bundled price table against list prices written out by hand, and end-to-end costs.

Every number below is copied from shared/research/pricing.md §6 ("Price table (USD per 1M tokens) as
found in the data files", dated 2026-11-25), which cites the row it came from: genai-prices 0.2.3
`genai_prices/data.py` and LiteLLM 1.110.2 `model_prices_and_context_window_backup.json`. A change to
pricing/default.yaml that moves one of these numbers must change this file too, on purpose.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import NamedTuple

import pytest

from costaudit.config.pricing import PriceTable
from costaudit.core.pricing import assign, class_rates, cost_lines, total_cost
from costaudit.core.request_table import RequestTable
from costaudit.pricetable.layers import load_prices
from support import REPO, MakeRequests

M = Decimal(1_000_000)


class ListPrice(NamedTuple):
    model: str
    input: str
    cached: str | None
    """None: the provider publishes no cache-read price (the table leaves it unset)."""
    output: str
    batch_input: str | None = None
    batch_output: str | None = None
    """None: §6 has no batch figure for the model in either source (not checked here)."""


LIST_PRICES = [
    # OpenAI — genai-prices 0.2.3 openai:* = LiteLLM 1.110.2 (pricing.md §6)
    ListPrice("gpt-4o", "2.5", "1.25", "10", "1.25", "5"),
    ListPrice("gpt-4o-2024-05-13", "5", None, "15", "2.5", "7.5"),
    ListPrice("gpt-4o-mini", "0.15", "0.075", "0.6", "0.075", "0.3"),
    ListPrice("gpt-4.1", "2", "0.5", "8", "1", "4"),
    ListPrice("gpt-4.1-mini", "0.4", "0.1", "1.6", "0.2", "0.8"),
    ListPrice("gpt-5", "1.25", "0.125", "10", "0.625", "5"),
    ListPrice("gpt-5-mini", "0.25", "0.025", "2", "0.125", "1"),
    ListPrice("gpt-5-nano", "0.05", "0.005", "0.4", "0.025", "0.2"),
    ListPrice("gpt-5.1", "1.25", "0.125", "10", "0.625", "5"),
    ListPrice("gpt-5.2", "1.75", "0.175", "14", "0.875", "7"),
    ListPrice("gpt-5.4", "2.5", "0.25", "15", "1.25", "7.5"),
    ListPrice("gpt-5.5", "5", "0.5", "30", "2.5", "15"),
    ListPrice("o3", "2", "0.5", "8", "1", "4"),
    ListPrice("o4-mini", "1.1", "0.275", "4.4", "0.55", "2.2"),
    # GPT-4 Turbo — genai-prices 0.2.3 openai:gpt-4-turbo (batch 5/15; LiteLLM has it only on -2024-04-09)
    ListPrice("gpt-4-turbo", "10", None, "30", "5", "15"),
    # Anthropic — genai-prices 0.2.3 anthropic:* (= LiteLLM 1.110.2 where it still lists the model)
    ListPrice("claude-3-5-sonnet", "3", "0.3", "15"),
    ListPrice("claude-3-5-haiku", "0.8", "0.08", "4"),
    ListPrice("claude-3-opus", "15", "1.5", "75"),
    ListPrice("claude-haiku-4-5", "1", "0.1", "5", "0.5", "2.5"),
    ListPrice("claude-sonnet-4-5", "3", "0.3", "15", "1.5", "7.5"),
    ListPrice("claude-opus-4-5", "5", "0.5", "25", "2.5", "12.5"),
    ListPrice("claude-sonnet-4-6", "3", "0.3", "15", "1.5", "7.5"),
    ListPrice("claude-opus-4-6", "5", "0.5", "25", "2.5", "12.5"),
    ListPrice("claude-sonnet-5", "2", "0.2", "10", "1", "5"),
    ListPrice("claude-opus-5", "5", "0.5", "25", "2.5", "12.5"),
    # Google — genai-prices 0.2.3 google:* (Gemini 3.5 Flash batch from LiteLLM 1.110.2 only)
    ListPrice("gemini-1.5-flash", "0.075", "0.01875", "0.3"),
    ListPrice("gemini-1.5-pro", "1.25", None, "5"),
    ListPrice("gemini-2.0-flash", "0.1", "0.025", "0.4"),
    ListPrice("gemini-2.5-flash", "0.3", "0.03", "2.5", "0.15", "1.25"),
    ListPrice("gemini-2.5-pro", "1.25", "0.125", "10", "0.625", "5"),
    ListPrice("gemini-3.1-pro-preview", "2", "0.2", "12", "1", "6"),
    ListPrice("gemini-3.5-flash", "1.5", "0.15", "9", "0.75", "4.5"),
]

CACHE_WRITES = [
    # (model, 5-minute write, 1-hour write) — genai-prices 0.2.3 anthropic:* (pricing.md §6; LiteLLM
    # 1.80.11's 1h value of 6 for Haiku 3.5 and Opus 3 is a copied Sonnet value, §6 discrepancies)
    ("claude-3-5-haiku", "1", "1.6"),
    ("claude-3-5-sonnet", "3.75", "6"),
    ("claude-3-opus", "18.75", "30"),
    ("claude-haiku-4-5", "1.25", "2"),
    ("claude-sonnet-4-5", "3.75", "6"),
    ("claude-opus-4-5", "6.25", "10"),
    ("claude-sonnet-5", "2.5", "4"),
]

LONG_CONTEXT = [
    # (model, above input tokens, input, cached, output) — the "(>Nk: y)" figures of pricing.md §6
    ("gemini-1.5-flash", 128_000, "0.15", "0.0375", "0.6"),
    ("gemini-1.5-pro", 128_000, "2.5", None, "10"),
    ("gemini-2.5-pro", 200_000, "2.5", "0.25", "15"),
    ("gemini-3.1-pro-preview", 200_000, "4", "0.4", "18"),
    ("claude-sonnet-4-5", 200_000, "6", "0.6", "22.5"),
    ("gpt-5.4", 272_000, "5", "0.5", "22.5"),
    ("gpt-5.5", 272_000, "10", "1", "45"),
]


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return load_prices([REPO / "pricing" / "default.yaml"]).table


def _d(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def test_list_covers_enough_models_across_providers() -> None:
    assert len(LIST_PRICES) >= 15
    assert {price.model.split("-")[0] for price in LIST_PRICES} >= {"gpt", "o3", "claude", "gemini"}


@pytest.mark.parametrize("expected", LIST_PRICES, ids=lambda price: price.model)
def test_list_prices(table: PriceTable, expected: ListPrice) -> None:
    model = table.models[expected.model]
    assert (model.input, model.cached_input, model.output) == (
        Decimal(expected.input),
        _d(expected.cached),
        Decimal(expected.output),
    )
    if expected.batch_input is not None:
        batch = class_rates(model, len(model.history), 0, batch=True)
        assert batch is not None, f"{expected.model} has no batch prices"
        assert (batch.input, batch.output) == (
            Decimal(expected.batch_input),
            _d(expected.batch_output),
        )


@pytest.mark.parametrize(("model_id", "write_5m", "write_1h"), CACHE_WRITES)
def test_anthropic_cache_write_prices(
    table: PriceTable, model_id: str, write_5m: str, write_1h: str
) -> None:
    model = table.models[model_id]
    assert (model.cache_write, model.cache_write_1h) == (Decimal(write_5m), Decimal(write_1h))


@pytest.mark.parametrize(("model_id", "above", "input_price", "cached", "output"), LONG_CONTEXT)
def test_long_context_tiers(
    table: PriceTable, model_id: str, above: int, input_price: str, cached: str | None, output: str
) -> None:
    [tier] = table.models[model_id].tiers
    assert (tier.above_input_tokens, tier.input, tier.cached_input, tier.output) == (
        above,
        Decimal(input_price),
        _d(cached),
        Decimal(output),
    )


# ------------------------------------------------------------------------------- end-to-end costs


def price(table: PriceTable, requests: RequestTable) -> Decimal:
    return total_cost(cost_lines(requests, table, assign(requests, table)))


def at(moment: str) -> int:
    return int(datetime.fromisoformat(moment).replace(tzinfo=UTC).timestamp())


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # o3 before the 2025-06-10 cut: $10 in / $2.50 cached / $40 out (history entry)
        ("2025-06-09T23:59:59", (800 * Decimal(10) + 200 * Decimal("2.5") + 500 * Decimal(40)) / M),
        # from 2025-06-10: $2 / $0.50 / $8 (pricing.md §2.2: "o3 is $10/$40 initially, then 2025-06-10 → $2/$8")
        ("2025-06-10T00:00:00", (800 * Decimal(2) + 200 * Decimal("0.5") + 500 * Decimal(8)) / M),
    ],
)
def test_o3_before_and_after_the_price_cut(
    table: PriceTable, make_requests: MakeRequests, moment: str, expected: Decimal
) -> None:
    requests = make_requests(
        {
            "model": "o3-2025-04-16",
            "timestamp": at(moment),
            "input_tokens": 1000,
            "cached_input_tokens": 200,
            "output_tokens": 500,
        }
    )
    assert price(table, requests) == expected
    assert expected in (Decimal("0.0285"), Decimal("0.0057"))


def test_claude_sonnet_4_5_with_one_hour_cache_writes(
    table: PriceTable, make_requests: MakeRequests
) -> None:
    """1000 input: 500 uncached, 200 read, 200 written for 5 minutes, 100 for 1 hour; 500 out."""
    requests = make_requests(
        {
            "model": "claude-sonnet-4-5-20250929",
            "input_tokens": 1000,
            "cached_input_tokens": 200,
            "cache_write_tokens": 300,
            "cache_write_1h_tokens": 100,
            "output_tokens": 500,
        }
    )
    expected = (
        500 * Decimal(3)
        + 200 * Decimal("0.3")
        + 200 * Decimal("3.75")
        + 100 * Decimal(6)
        + 500 * Decimal(15)
    ) / M
    assert price(table, requests) == expected == Decimal("0.01041")


def test_gemini_2_5_pro_above_200k_reprices_the_whole_request(
    table: PriceTable, make_requests: MakeRequests
) -> None:
    row = {
        "model": "gemini-2.5-pro",
        "input_tokens": 250_000,
        "cached_input_tokens": 50_000,
        "output_tokens": 2000,
    }
    standard = (200_000 * Decimal("2.5") + 50_000 * Decimal("0.25") + 2000 * Decimal(15)) / M
    batch = (200_000 * Decimal("1.25") + 50_000 * Decimal("0.25") + 2000 * Decimal("7.5")) / M
    assert price(table, make_requests(row)) == standard == Decimal("0.5425")
    assert price(table, make_requests({**row, "batch": True})) == batch == Decimal("0.2775")


def test_the_design_card_example(table: PriceTable, make_requests: MakeRequests) -> None:
    """100k queries/day at GPT-4 Turbo prices, 1,500 in / 500 out: $90,000 per 30-day month."""
    one = price(
        table, make_requests({"model": "gpt-4-turbo", "input_tokens": 1500, "output_tokens": 500})
    )
    assert one == (1500 * Decimal(10) + 500 * Decimal(30)) / M == Decimal("0.03")
    assert one * 100_000 * 30 == Decimal(90_000)
