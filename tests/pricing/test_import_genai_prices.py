"""genai-prices data → costaudit table, fed a checked-in excerpt in genai-prices' published shape.

The package itself is an optional extra and is not needed here. Expected costs are written out by
hand (tokens × USD per 1M) and match what pricing.md §2.4 records genai-prices computing.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from costaudit.config.pricing import PriceTable
from costaudit.configfile import read_yaml
from costaudit.core.pricing import ModelResolver, assign, cost_lines, total_cost
from costaudit.core.request_table import RequestTable
from costaudit.pricetable.importers import genai_prices
from costaudit.pricetable.importers.common import exclude_names
from costaudit.pricetable.importers.genai_prices import convert_genai_prices, match_to_names
from costaudit.pricetable.validate import table_problems
from costaudit.pricetable.yamlio import dump_table
from support import MakeRequests, data_file

M = Decimal(1_000_000)
DAY = date(2026, 11, 25)
EXCERPT = data_file("pricing/genai_prices_excerpt.json")


def providers() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(
        EXCERPT.read_text(encoding="utf-8"), parse_float=Decimal
    )
    return data


def convert(*provider_ids: str) -> Any:
    return convert_genai_prices(
        providers(), origin="genai-prices data (excerpt)", imported=DAY, provider_ids=provider_ids
    )


@pytest.fixture(scope="module")
def table() -> PriceTable:
    result: PriceTable = convert().table
    return result


def price(table: PriceTable, requests: RequestTable) -> Decimal:
    return total_cost(cost_lines(requests, table, assign(requests, table)))


def at(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp())


def test_first_party_providers_by_default_and_skips_counted() -> None:
    result = convert()
    assert list(result.table.models) == [
        "claude-3-5-haiku",
        "claude-sonnet-4-5",
        "deepseek-chat",
        "gemini-2.5-pro",
        "gpt-4o",
        "gpt-5",
        "o3",
        "o4-mini-deep-research",
        "o9-thinker",
    ]
    assert result.skipped == {
        "no input and output token price": 1,
        "prices `requests_kcount`, which costaudit cannot express": 1,
    }
    thinker = result.table.models["o9-thinker"]
    assert (thinker.output, thinker.reasoning) == (Decimal(4), Decimal(6))


def test_dated_prices_become_history(table: PriceTable, make_requests: MakeRequests) -> None:
    """o3: $10/$40 until 2025-06-10, then $2/$8 (pricing.md §2.4: $0.03 vs $0.006 for 1000/500)."""
    o3 = table.models["o3"]
    assert [(entry.until, entry.input, entry.output) for entry in o3.history] == [
        (date(2025, 6, 10), Decimal(10), Decimal(40))
    ]
    before = make_requests(
        {
            "model": "o3",
            "timestamp": at("2025-05-01T12:00:00"),
            "input_tokens": 1000,
            "output_tokens": 500,
        }
    )
    after = make_requests(
        {
            "model": "o3",
            "timestamp": at("2025-07-01T12:00:00"),
            "input_tokens": 1000,
            "output_tokens": 500,
        }
    )
    assert price(table, before) == (1000 * Decimal(10) + 500 * Decimal(40)) / M == Decimal("0.03")
    assert price(table, after) == (1000 * Decimal(2) + 500 * Decimal(8)) / M == Decimal("0.006")


def test_batch_variant_overrides_only_the_classes_it_names(
    table: PriceTable, make_requests: MakeRequests
) -> None:
    """gpt-4o batch: $1.25/$5 with cached reads at the standard $1.25 (pricing.md §2.4: $0.00375)."""
    standard = {
        "model": "gpt-4o",
        "input_tokens": 1000,
        "cached_input_tokens": 200,
        "output_tokens": 500,
    }
    assert price(table, make_requests(standard)) == Decimal("0.00725")
    batch = make_requests({**standard, "batch": True})
    assert (
        price(table, batch)
        == (800 * Decimal("1.25") + 200 * Decimal("1.25") + 500 * Decimal(5)) / M
        == Decimal("0.00375")
    )


def test_batch_reaches_only_price_sets_in_force_after_it_starts(table: PriceTable) -> None:
    o3 = table.models["o3"]
    assert o3.history[0].batch is None
    assert o3.batch is not None and (o3.batch.input, o3.batch.output) == (Decimal(1), Decimal(4))


def test_tiered_prices_become_whole_request_tiers(
    table: PriceTable, make_requests: MakeRequests
) -> None:
    """claude-sonnet-4-5: 250k input, 150k cached, 1k out = $0.7125 (pricing.md §2.4)."""
    requests = make_requests(
        {
            "model": "claude-sonnet-4-5",
            "input_tokens": 250_000,
            "cached_input_tokens": 150_000,
            "output_tokens": 1000,
        }
    )
    expected = (100_000 * Decimal(6) + 150_000 * Decimal("0.6") + 1000 * Decimal("22.5")) / M
    assert price(table, requests) == expected == Decimal("0.7125")


def test_one_hour_cache_writes(table: PriceTable, make_requests: MakeRequests) -> None:
    """pricing.md §2.4: 1000 input incl. 300 writes of which 100 1-hour, 10 out = $0.0036."""
    requests = make_requests(
        {
            "model": "claude-sonnet-4-5",
            "input_tokens": 1000,
            "cache_write_tokens": 300,
            "cache_write_1h_tokens": 100,
            "output_tokens": 10,
        }
    )
    assert price(table, requests) == Decimal("0.0036")


def test_tiered_batch_prices(table: PriceTable, make_requests: MakeRequests) -> None:
    requests = make_requests(
        {"model": "gemini-2.5-pro", "input_tokens": 300_000, "output_tokens": 2000, "batch": True}
    )
    assert price(table, requests) == (300_000 * Decimal("1.25") + 2000 * Decimal("7.5")) / M
    at_cliff = make_requests(
        {"model": "gemini-2.5-pro", "input_tokens": 200_001, "output_tokens": 1000}
    )
    assert price(table, at_cliff) == Decimal("0.5150025")


def test_time_of_day_prices_use_the_peak_rate(table: PriceTable) -> None:
    """DeepSeek's off-peak discount cannot be expressed per hour: never under-state the cost."""
    chat = table.models["deepseek-chat"]
    assert (chat.input, chat.cached_input, chat.output) == (
        Decimal("0.27"),
        Decimal("0.07"),
        Decimal("1.1"),
    )
    assert (
        convert().notes["time-of-day prices: the highest (peak) price is used at every hour"] == 1
    )


@pytest.mark.parametrize(
    ("logged", "resolved"),
    [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("Claude-Sonnet-4.5", "claude-sonnet-4-5"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
        ("gpt-5-2025-08-07", "gpt-5"),
        ("gpt-5-mini", None),
        ("o4-mini-deep-research-2025-06-26", "o4-mini-deep-research"),
        ("o4-mini", None),
        ("gemini-2.5-pro-preview-06-05", "gemini-2.5-pro"),
        ("deepseek-chat-v3-0324", "deepseek-chat"),
    ],
)
def test_match_clauses_resolve_like_genai_prices(
    table: PriceTable, logged: str, resolved: str | None
) -> None:
    assert ModelResolver(table).resolve(logged) == resolved


def test_match_clauses_translate_to_aliases_and_one_pattern() -> None:
    assert match_to_names({"or": [{"equals": "a"}, {"equals": "b"}]}) == (["a", "b"], None)
    assert match_to_names({"or": [{"equals": "a"}, {"starts_with": "a-"}]}) == (["a"], r"(?i)a\-.*")
    assert match_to_names({"ends_with": "-x"}) == ([], r"(?i).*\-x")
    assert match_to_names({"contains": "mini"}) == ([], "(?i).*mini.*")


def test_a_pattern_never_covers_another_entrys_exact_names() -> None:
    pattern = exclude_names("(?i)gpt-4o.*", ["gpt-4o-mini"])
    assert pattern.startswith("(?i)")
    import re

    assert re.fullmatch(pattern, "gpt-4o-2024-08-06")
    assert not re.fullmatch(pattern, "GPT-4o-mini")


def test_a_second_provider_with_the_same_id_gets_a_prefixed_id() -> None:
    result = convert("all")
    azure = result.table.models["azure/gpt-4o"]
    assert (azure.provider, azure.input) == ("azure", Decimal("2.75"))
    assert azure.aliases == ["azure/gpt-4o-2024-11-20"], "`gpt-4o` stays with openai"
    assert result.table.models["gpt-4o"].provider == "openai"
    assert result.notes["alias dropped: already the name of another entry"] == 1


def test_explicit_provider_order_decides_who_keeps_the_bare_id() -> None:
    table = convert("azure", "openai").table
    assert table.models["gpt-4o"].provider == "azure"
    assert table.models["openai/gpt-4o"].provider == "openai"


def test_unknown_providers_are_refused() -> None:
    with pytest.raises(genai_prices.UnknownProviders, match="unknown provider nope"):
        convert("nope")


def test_imported_yaml_round_trips_and_validates(tmp_path: Path) -> None:
    table = convert("all").table
    path = tmp_path / "genai.yaml"
    path.write_text(dump_table(table), encoding="utf-8")
    reread, problems = table_problems(read_yaml(path), str(path))
    assert problems == []
    assert reread == table


def test_missing_package_is_reported_not_raised_as_import_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "genai_prices", None)
    with pytest.raises(genai_prices.MissingPackage):
        genai_prices.installed_providers()


def test_installed_package_converts_when_present() -> None:
    """Only where the optional extra is installed: the real data converts and validates."""
    pytest.importorskip("genai_prices")
    data, origin = genai_prices.installed_providers()
    result = convert_genai_prices(data, origin=origin, imported=DAY)
    assert result.imported > 100
    assert result.table.models["gpt-4o"].input == Decimal("2.5")
