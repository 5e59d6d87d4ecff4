"""LiteLLM's price map → costaudit table: exact per-1M prices, and the engine on the imported table
prices requests as LiteLLM's calculator does (expected values written out by hand, per 1M tokens)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from costaudit.config.pricing import PriceTable
from costaudit.configfile import read_yaml
from costaudit.core.pricing import ModelResolver, assign, cost_lines, total_cost
from costaudit.core.request_table import RequestTable
from costaudit.pricetable.importers.litellm import convert_litellm, per_million
from costaudit.pricetable.schema import SCHEMA_COMMENT
from costaudit.pricetable.validate import table_problems
from costaudit.pricetable.yamlio import dump_table
from support import MakeRequests, data_file

M = Decimal(1_000_000)
DAY = date(2026, 11, 25)
EXCERPT = data_file("pricing/litellm_excerpt.json")


def excerpt() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(EXCERPT.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return convert_litellm(excerpt(), file_name=EXCERPT.name, imported=DAY).table


def price(table: PriceTable, requests: RequestTable) -> Decimal:
    return total_cost(cost_lines(requests, table, assign(requests, table)))


@pytest.mark.parametrize(
    ("per_token", "per_1m"),
    [
        (2.5e-06, "2.5"),
        (1.25e-07, "0.125"),
        (3.75e-06, "3.75"),
        (1e-05, "10"),
        (7.5e-08, "0.075"),
        (2.8e-08, "0.028"),
        (1.875e-06, "1.875"),
        (0.0, "0"),
    ],
)
def test_per_token_floats_become_exact_per_million_decimals(per_token: float, per_1m: str) -> None:
    assert per_million(per_token) == Decimal(per_1m)
    assert str(per_million(per_token)) == per_1m


def test_the_float_itself_is_not_exact() -> None:
    """Why the conversion goes through repr: the binary value of 2.5e-06 is not 2.5 per 1M."""
    binary_value = 2.5e-06
    assert Decimal(binary_value) * M != Decimal("2.5")


@given(
    st.integers(min_value=1, max_value=10**9),
    st.integers(min_value=0, max_value=6),
)
def test_any_published_price_survives_the_float_round_trip(digits: int, scale: int) -> None:
    """A price of up to 15 significant digits, written per token as LiteLLM does, comes back exact."""
    published = Decimal(digits).scaleb(-scale)
    assert per_million(float(published / M)) == published


def test_imports_text_models_and_counts_what_it_skips() -> None:
    result = convert_litellm(excerpt(), file_name=EXCERPT.name, imported=DAY)
    assert list(result.table.models) == sorted(result.table.models)
    assert list(result.table.models) == [
        "claude-3-haiku-20240307",
        "claude-sonnet-4-5",
        "dashscope/qwen-plus",
        "deepseek/deepseek-chat",
        "gemini/gemini-2.5-pro",
        "gpt-4o",
        "gpt-4o-mini",
        "o3",
        "openrouter/vendor/thinker",
        "xai/grok-4",
    ]
    assert result.skipped == {
        "not a text model (mode=image_generation)": 1,
        "not a text model (mode=embedding)": 1,
        "no per-token input and output price": 1,
    }
    assert result.skipped_total == 3
    assert result.table.effective == DAY


def test_tiered_pricing_ranges_become_whole_request_tiers(
    table: PriceTable, make_requests: MakeRequests
) -> None:
    """LiteLLM bills the range with `start < input <= end` for every token: 256,000 input tokens are
    in the first range, 256,001 in the second."""
    qwen = table.models["dashscope/qwen-plus"]
    assert (qwen.input, qwen.output) == (Decimal("0.4"), Decimal("1.2"))
    assert [(tier.above_input_tokens, tier.input, tier.output) for tier in qwen.tiers] == [
        (256_000, Decimal("1.2"), Decimal("3.6"))
    ]
    first = make_requests(
        {"model": "dashscope/qwen-plus", "input_tokens": 256_000, "output_tokens": 1000}
    )
    second = make_requests(
        {"model": "dashscope/qwen-plus", "input_tokens": 256_001, "output_tokens": 1000}
    )
    assert price(table, first) == (256_000 * Decimal("0.4") + 1000 * Decimal("1.2")) / M
    assert price(table, second) == (256_001 * Decimal("1.2") + 1000 * Decimal("3.6")) / M
    assert price(table, second) == Decimal("0.3108012")


def test_a_reasoning_rate_is_kept(table: PriceTable, make_requests: MakeRequests) -> None:
    thinker = table.models["openrouter/vendor/thinker"]
    assert (thinker.output, thinker.reasoning) == (Decimal(2), Decimal(3))
    requests = make_requests(
        {
            "model": "openrouter/vendor/thinker",
            "input_tokens": 1000,
            "output_tokens": 500,
            "reasoning_tokens": 300,
        }
    )
    expected = (1000 * Decimal(1) + 200 * Decimal(2) + 300 * Decimal(3)) / M
    assert price(table, requests) == expected == Decimal("0.0023")


def test_gapped_ranges_are_skipped_with_the_reason() -> None:
    gapped = {
        "gap": {
            "litellm_provider": "dashscope",
            "mode": "chat",
            "tiered_pricing": [
                {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06, "range": [0, 1000]},
                {
                    "input_cost_per_token": 2e-06,
                    "output_cost_per_token": 4e-06,
                    "range": [2000, 9000],
                },
            ],
        }
    }
    result = convert_litellm(gapped, file_name="gap.json", imported=DAY)
    assert result.skipped == {"`tiered_pricing` ranges that do not start at 0 or leave a gap": 1}


def test_gpt_4o_prices_like_litellm(table: PriceTable, make_requests: MakeRequests) -> None:
    """pricing.md §1.4, verified in LiteLLM: 1000 in (200 cached) / 500 out = $0.00725."""
    gpt = table.models["gpt-4o"]
    assert (gpt.input, gpt.cached_input, gpt.output) == (
        Decimal("2.5"),
        Decimal("1.25"),
        Decimal(10),
    )
    assert (gpt.provider, gpt.tokenizer, gpt.context_window, gpt.max_output_tokens) == (
        "openai",
        "o200k_base",
        128000,
        16384,
    )
    request = {
        "model": "gpt-4o",
        "input_tokens": 1000,
        "cached_input_tokens": 200,
        "output_tokens": 500,
    }
    assert (
        price(table, make_requests(request))
        == (800 * Decimal("2.5") + 200 * Decimal("1.25") + 500 * Decimal(10)) / M
        == Decimal("0.00725")
    )


def test_batch_keeps_cached_tokens_at_the_standard_rate(
    table: PriceTable, make_requests: MakeRequests
) -> None:
    """pricing.md §1.4: LiteLLM has no batch cache-read key for gpt-4o, so batch = $0.00375."""
    request = {
        "model": "gpt-4o",
        "input_tokens": 1000,
        "cached_input_tokens": 200,
        "output_tokens": 500,
        "batch": True,
    }
    assert (
        price(table, make_requests(request))
        == (800 * Decimal("1.25") + 200 * Decimal("1.25") + 500 * Decimal(5)) / M
        == Decimal("0.00375")
    )


def test_long_context_tier_applies_to_the_whole_request_strictly_above(
    table: PriceTable, make_requests: MakeRequests
) -> None:
    """pricing.md §1.4, verified in LiteLLM on gemini-2.5-pro: $0.26 at 200,000, $0.5150025 above."""
    at = make_requests(
        {"model": "gemini/gemini-2.5-pro", "input_tokens": 200_000, "output_tokens": 1000}
    )
    above = make_requests(
        {"model": "gemini/gemini-2.5-pro", "input_tokens": 200_001, "output_tokens": 1000}
    )
    assert (
        price(table, at) == (200_000 * Decimal("1.25") + 1000 * Decimal(10)) / M == Decimal("0.26")
    )
    assert (
        price(table, above)
        == (200_001 * Decimal("2.5") + 1000 * Decimal(15)) / M
        == Decimal("0.5150025")
    )


def test_tier_cached_price_comes_from_its_own_key(
    table: PriceTable, make_requests: MakeRequests
) -> None:
    requests = make_requests(
        {
            "model": "gemini/gemini-2.5-pro",
            "input_tokens": 300_000,
            "cached_input_tokens": 100_000,
            "output_tokens": 2000,
        }
    )
    expected = (200_000 * Decimal("2.5") + 100_000 * Decimal("0.25") + 2000 * Decimal(15)) / M
    assert price(table, requests) == expected


def test_anthropic_cache_writes_five_minute_and_one_hour(
    table: PriceTable, make_requests: MakeRequests
) -> None:
    """`cache_creation_input_token_cost_above_1hr` is the 1-hour write rate: 700×3 + 200×3.75 + 100×6."""
    sonnet = table.models["claude-sonnet-4-5"]
    assert (sonnet.cache_write, sonnet.cache_write_1h) == (Decimal("3.75"), Decimal(6))
    requests = make_requests(
        {
            "model": "claude-sonnet-4-5",
            "input_tokens": 1000,
            "cache_write_tokens": 300,
            "cache_write_1h_tokens": 100,
            "output_tokens": 10,
        }
    )
    expected = (700 * Decimal(3) + 200 * Decimal("3.75") + 100 * Decimal(6) + 10 * Decimal(15)) / M
    assert price(table, requests) == expected == Decimal("0.0036")


def test_batch_cache_keys_are_used_where_litellm_has_them(table: PriceTable) -> None:
    batch = table.models["claude-sonnet-4-5"].batch
    assert batch is not None
    assert (batch.input, batch.cached_input, batch.cache_write, batch.output) == (
        Decimal("1.5"),
        Decimal("0.15"),
        Decimal("1.875"),
        Decimal("7.5"),
    )
    assert batch.cache_write_1h == Decimal(6), "no `_batches` key: the standard 1h price"


def test_xai_tiers_start_at_the_threshold(table: PriceTable, make_requests: MakeRequests) -> None:
    """LiteLLM compares `>=` for xAI only: 128,000 input tokens are already in the tier."""
    grok = table.models["xai/grok-4"]
    assert [tier.above_input_tokens for tier in grok.tiers] == [127_999]
    requests = make_requests({"model": "xai/grok-4", "input_tokens": 128_000, "output_tokens": 10})
    assert price(table, requests) == (128_000 * Decimal(6) + 10 * Decimal(30)) / M


def test_deepseek_cache_hit_price_is_the_cached_price(table: PriceTable) -> None:
    assert table.models["deepseek/deepseek-chat"].cached_input == Decimal("0.028")


def test_alias_of_entries_become_aliases(table: PriceTable) -> None:
    assert table.models["claude-sonnet-4-5"].aliases == ["claude-sonnet-latest"]
    assert ModelResolver(table).resolve("claude-sonnet-latest") == "claude-sonnet-4-5"


def test_deprecation_dates_mark_retired_models(table: PriceTable) -> None:
    haiku, sonnet = table.models["claude-3-haiku-20240307"], table.models["claude-sonnet-4-5"]
    assert (haiku.deprecated, haiku.notes) == (True, "LiteLLM deprecation_date 2025-03-01")
    assert (sonnet.deprecated, sonnet.notes) == (False, "LiteLLM deprecation_date 2026-11-30")


def test_a_matching_reasoning_rate_is_imported(table: PriceTable) -> None:
    assert table.models["o3"].output == Decimal(8)


def test_source_and_checked_say_where_and_when(table: PriceTable) -> None:
    model = table.models["o3"]
    assert model.source == (
        "LiteLLM model_prices_and_context_window.json (litellm_excerpt.json, imported 2026-11-25)"
    )
    assert model.checked == DAY


def test_a_class_priced_only_in_a_tier_starts_at_the_input_price() -> None:
    """Gemini's shape: no base cache-write rate but one above 200k; below it LiteLLM bills input."""
    data = {
        "gemini-x": {
            "mode": "chat",
            "litellm_provider": "vertex_ai",
            "input_cost_per_token": 1.25e-06,
            "output_cost_per_token": 1e-05,
            "input_cost_per_token_above_200k_tokens": 2.5e-06,
            "output_cost_per_token_above_200k_tokens": 1.5e-05,
            "cache_creation_input_token_cost_above_200k_tokens": 2.5e-07,
        }
    }
    model = convert_litellm(data, file_name="x.json", imported=DAY).table.models["gemini-x"]
    assert model.cache_write == Decimal("1.25")
    assert model.tiers[0].cache_write == Decimal("0.25")


def test_imported_yaml_round_trips_and_validates(tmp_path: Path, table: PriceTable) -> None:
    path = tmp_path / "litellm.yaml"
    path.write_text(dump_table(table), encoding="utf-8")
    assert path.read_text(encoding="utf-8").splitlines()[0] == SCHEMA_COMMENT
    reread, problems = table_problems(read_yaml(path), str(path))
    assert problems == []
    assert reread == table
