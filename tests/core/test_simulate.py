"""The simulation engine: exact baselines, each strategy's arithmetic, and the invariants of DESIGN.md §10."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costaudit.config.pricing import PriceTable
from costaudit.config.scenario import ScenarioFile
from costaudit.core.request_table import RequestTable
from costaudit.core.simulate.engine import SimulationResult, simulate
from costaudit.core.simulate.state import Workload
from costaudit.core.simulate.synthetic import StreamPrompt, generate
from support import MakeRequests, MakeTable

M = Decimal(1_000_000)

PRICES: dict[str, dict[str, Any]] = {
    "big": {
        "input": "10",
        "output": "30",
        "batch": {"input": "5", "output": "15"},
        "tokenizer": "cl100k_base",
    },
    "small": {
        "input": "0.5",
        "output": "1.5",
        "cached_input": "0.05",
        "cache_write": "0.625",
        "tokenizer": "cl100k_base",
    },
    "mid": {"input": "2", "output": "8", "tokenizer": "cl100k_base"},
}


def table_with_rules(make_table: MakeTable) -> PriceTable:
    table = make_table(**PRICES)
    rules = {
        "test": {
            "min_prefix_tokens": 1024,
            "block_tokens": 64,
            "ttl": "5m",
            "ttl_low": "5m",
            "source": "test",
        }
    }
    return PriceTable.model_validate({**table.model_dump(), "cache_rules": rules})


def scenario_file(
    *scenarios: dict[str, Any], workload: dict[str, Any] | None = None, **extra: Any
) -> ScenarioFile:
    return ScenarioFile.model_validate(
        {
            "workload": workload or {"workload": "unused.parquet"},
            "scenarios": list(scenarios),
            **extra,
        }
    )


def run(
    table: PriceTable, workload: Workload, *scenarios: dict[str, Any], **extra: Any
) -> SimulationResult:
    return simulate(workload, scenario_file(*scenarios, **extra), table)


def monthly(result: SimulationResult, name: str) -> Decimal:
    value = next(s.monthly_usd for s in result.scenarios if s.name == name)
    assert value is not None
    return value


def logged(make_requests: MakeRequests, *rows: dict[str, Any], days: str = "1") -> Workload:
    return Workload(requests=make_requests(*rows), days=Decimal(days), source="test")


def synthetic(**fields: Any) -> Workload:
    config = scenario_file({"name": "x"}, workload={"synthetic": fields}).workload.synthetic
    assert config is not None
    return generate(config, [None] * len(config.all_streams()))


def test_design_card_workload_costs_exactly_90000_a_month(make_table: MakeTable) -> None:
    """100,000 requests/day × (1,500 × $10 + 500 × $30) per 1M tokens × 30 days."""
    table = make_table(**{"gpt-4-turbo": {"input": "10", "output": "30"}})
    workload = synthetic(
        requests_per_day=100_000, model="gpt-4-turbo", input_tokens=1500, output_tokens=500
    )
    result = run(table, workload, {"name": "current"})
    assert result.baseline.name == "current"
    assert (
        result.baseline.monthly_usd == 100_000 * (1500 * Decimal(10) + 500 * Decimal(30)) / M * 30
    )
    assert result.baseline.monthly_usd == Decimal(90_000)


def test_no_strategy_equals_the_logged_cost(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    table = make_table(**PRICES)
    workload = logged(make_requests, {"model": "big", "input_tokens": 1000, "output_tokens": 100})
    result = run(table, workload, {"name": "a"}, {"name": "b", "batching": {"share": 0}})
    expected = (1000 * Decimal(10) + 100 * Decimal(30)) / M * 30
    assert monthly(result, "a") == monthly(result, "b") == expected


def test_routing_by_share_moves_the_least_complex_requests(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    table = make_table(**PRICES)
    rows = [
        {"model": "big", "input_tokens": 1000, "output_tokens": 100, "complexity": c / 10}
        for c in range(10)
    ]
    workload = logged(make_requests, *rows)
    result = run(
        table,
        workload,
        {
            "name": "tiered",
            "routing": {"tiers": [{"model": "small", "share": 0.7}, {"model": "big"}]},
        },
    )
    per_small = (1000 * Decimal("0.5") + 100 * Decimal("1.5")) / M
    per_big = (1000 * Decimal(10) + 100 * Decimal(30)) / M
    assert monthly(result, "tiered") == (7 * per_small + 3 * per_big) * 30
    routing = result.scenarios[0].details.routing
    assert routing is not None
    assert [(t.model, t.requests) for t in routing.tiers] == [("small", 7), ("big", 3)]
    assert routing.tiers[0].max_score == pytest.approx(0.6)


def test_routing_by_max_complexity(make_table: MakeTable, make_requests: MakeRequests) -> None:
    table = make_table(**PRICES)
    rows = [
        {"model": "big", "input_tokens": 100, "output_tokens": 0, "complexity": c}
        for c in (0.1, 0.5, 0.9)
    ]
    result = run(
        table,
        logged(make_requests, *rows),
        {
            "name": "r",
            "routing": {
                "tiers": [
                    {"model": "small", "max_complexity": 0.2},
                    {"model": "mid", "max_complexity": 0.6},
                    {"model": "big"},
                ]
            },
        },
    )
    assert (
        monthly(result, "r")
        == (100 * Decimal("0.5") + 100 * Decimal(2) + 100 * Decimal(10)) / M * 30
    )


def test_cascade_pays_both_calls_for_escalated_requests(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    table = make_table(**PRICES)
    rows = [{"model": "big", "input_tokens": 1000, "output_tokens": 0, "complexity": 0.1}] * 4
    result = run(
        table,
        logged(make_requests, *rows),
        {
            "name": "c",
            "routing": {
                "mode": "cascade",
                "escalation_rate": 1,
                "tiers": [{"model": "small", "share": 1}, {"model": "big"}],
            },
        },
    )
    assert monthly(result, "c") == 4 * (1000 * Decimal("0.5") + 1000 * Decimal(10)) / M * 30
    assert result.scenarios[0].details.routing.escalated_requests == 4  # type: ignore[union-attr]


def test_router_overhead_is_added_per_request(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    table = make_table(**PRICES)
    rows = [{"model": "big", "input_tokens": 0, "output_tokens": 0, "complexity": 0.5}] * 10
    result = run(
        table,
        logged(make_requests, *rows),
        {
            "name": "o",
            "routing": {"tiers": [{"model": "big"}], "overhead_usd_per_1k_requests": "3.32"},
        },
    )
    assert monthly(result, "o") == Decimal("3.32") * 10 / 1000 * 30


def test_routing_everything_to_the_logged_model_equals_the_baseline(make_table: MakeTable) -> None:
    table = make_table(**PRICES)
    workload = synthetic(
        requests_per_day=500,
        model="big",
        input_tokens={"distribution": "lognormal", "mean": 800, "sigma": 0.5},
        output_tokens=120,
        complexity={"distribution": "beta", "a": 2, "b": 5},
    )
    result = run(
        table,
        workload,
        {"name": "base"},
        {"name": "same", "routing": {"tiers": [{"model": "big"}]}},
    )
    assert monthly(result, "same") == monthly(result, "base")


def test_batching_a_filtered_feature(make_table: MakeTable, make_requests: MakeRequests) -> None:
    table = make_table(**PRICES)
    workload = logged(
        make_requests,
        {
            "model": "big",
            "input_tokens": 1000,
            "output_tokens": 100,
            "groups": {"feature": "reports"},
        },
        {"model": "big", "input_tokens": 1000, "output_tokens": 100, "groups": {"feature": "chat"}},
    )
    result = run(
        table, workload, {"name": "nightly", "batching": {"applies_to": {"feature": "reports"}}}
    )
    batch = (1000 * Decimal(5) + 100 * Decimal(15)) / M
    standard = (1000 * Decimal(10) + 100 * Decimal(30)) / M
    assert monthly(result, "nightly") == (batch + standard) * 30
    assert result.scenarios[0].details.batching.requests == 1  # type: ignore[union-attr]


def test_batching_leaves_models_without_batch_prices_alone(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    table = make_table(**PRICES)
    workload = logged(make_requests, {"model": "small", "input_tokens": 1000, "output_tokens": 100})
    result = run(table, workload, {"name": "base"}, {"name": "all", "batching": {"share": 1}})
    assert monthly(result, "all") == monthly(result, "base")
    assert result.scenarios[1].details.batching.deferrable_without_batch_api == 1  # type: ignore[union-attr]


def test_response_cache_answers_exact_duplicates_within_the_ttl(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    table = make_table(**PRICES)
    prompt = [("user", "What is our refund policy?", None)]
    rows = [
        {
            "model": "big",
            "input_tokens": 100,
            "output_tokens": 10,
            "messages": prompt,
            "timestamp": t,
        }
        for t in (1_700_000_000, 1_700_000_060, 1_700_010_000)
    ]
    result = run(
        table,
        logged(make_requests, *rows),
        {"name": "cache", "response_cache": {"ttl": "1h", "lookup_usd_per_1k": "1"}},
    )
    per_call = (100 * Decimal(10) + 10 * Decimal(30)) / M
    assert monthly(result, "cache") == (2 * per_call + Decimal(3) / 1000) * 30
    cache = result.scenarios[0].details.response_cache
    assert cache is not None
    assert cache.exact_duplicate_rate == pytest.approx(1 / 3)


def test_prompt_cache_replays_a_shared_system_prompt(make_table: MakeTable) -> None:
    """2,048-token system prompt + 64 unique tokens, one request a minute: every request after the first
    reads the 2,048 shared tokens from the cache and writes its own last block."""
    table = table_with_rules(make_table)
    config = scenario_file(
        {"name": "x"},
        workload={
            "synthetic": {
                "requests_per_day": 1440,
                "model": "small",
                "input_tokens": 64,
                "output_tokens": 0,
                "arrival": {"pattern": "uniform"},
            }
        },
    ).workload.synthetic
    assert config is not None
    workload = generate(config, [StreamPrompt(tokens=2048)])
    result = run(
        table, workload, {"name": "base"}, {"name": "cached", "prompt_cache": {"preset": "test"}}
    )
    n = 1440
    uncached = n * 2112 * Decimal("0.5")
    first = 2112 * Decimal("0.625")
    rest = (n - 1) * (2048 * Decimal("0.05") + 64 * Decimal("0.625"))
    assert monthly(result, "base") == uncached / M * 30
    assert monthly(result, "cached") == (first + rest) / M * 30
    cache = result.scenarios[1].details.prompt_cache
    assert cache is not None
    band = cache.hit_rate
    assert band.central == pytest.approx((n - 1) * 2048 / (n * 2112))
    assert band.low <= band.central <= band.high


def test_ranges_give_seeded_percentiles(make_table: MakeTable) -> None:
    table = make_table(**PRICES)
    workload = synthetic(
        requests_per_day=2000,
        model="big",
        input_tokens=1000,
        output_tokens=100,
        complexity={"distribution": "uniform", "low": 0, "high": 1},
    )
    scenario = {
        "name": "r",
        "routing": {"tiers": [{"model": "small", "share": [0.2, 0.8]}, {"model": "big"}]},
    }
    first = run(table, workload, scenario, samples=30)
    again = run(table, workload, scenario, samples=30)
    p = first.scenarios[0].percentiles
    assert p is not None and p == again.scenarios[0].percentiles
    assert p.p10 < p.p50 < p.p90
    assert monthly(first, "r") == monthly(again, "r")


def test_strategy_key_order_does_not_matter(make_table: MakeTable) -> None:
    table = make_table(**PRICES)
    workload = synthetic(
        requests_per_day=3000,
        model="big",
        input_tokens=1000,
        output_tokens=100,
        complexity={"distribution": "beta", "a": 2, "b": 5},
    )
    routing = {"tiers": [{"model": "small", "share": 0.5}, {"model": "big"}]}
    batching = {"share": 0.4}
    one = run(table, workload, {"name": "s", "routing": routing, "batching": batching})
    two = run(table, workload, {"batching": batching, "name": "s", "routing": routing})
    assert monthly(one, "s") == monthly(two, "s")


@settings(max_examples=25, deadline=None)
@given(
    factor=st.integers(1, 5),
    share=st.decimals(min_value=0, max_value=1, places=2),
    tokens=st.integers(1, 5000),
)
def test_invariants(make_table: MakeTable, factor: int, share: Decimal, tokens: int) -> None:
    """Cost is linear in traffic; batching never costs more; a 0 % share changes nothing."""
    table = make_table(**PRICES)
    base = synthetic(
        requests_per_day=100,
        model="big",
        input_tokens=tokens,
        output_tokens=50,
        arrival={"pattern": "uniform"},
    )
    scaled = synthetic(
        requests_per_day=100 * factor,
        model="big",
        input_tokens=tokens,
        output_tokens=50,
        arrival={"pattern": "uniform"},
    )
    scenarios = (
        {"name": "base"},
        {"name": "batch", "batching": {"share": share}},
        {"name": "none", "batching": {"share": 0}},
    )
    result = run(table, base, *scenarios)
    assert monthly(run(table, scaled, {"name": "base"}), "base") == monthly(result, "base") * factor
    assert monthly(result, "batch") <= monthly(result, "base")
    assert monthly(result, "none") == monthly(result, "base")


def hosting_table(make_table: MakeTable) -> PriceTable:
    """The test prices plus one $2/h GPU and one 8B model to host on it."""
    table = make_table(**PRICES)
    hardware = {
        "h": {
            "kind": "gpu",
            "name": "test GPU",
            "memory_gb": 80,
            "bandwidth_gbs": 3350,
            "bf16_tflops": 989,
            "hourly": "2",
            "source": "t",
            "checked": "2026-11-25",
        }
    }
    model = {
        "m": {
            "params_b": 8,
            "layers": 32,
            "hidden": 4096,
            "heads": 32,
            "kv_heads": 8,
            "head_dim": 128,
            "context_window": 8192,
            "source": "t",
        }
    }
    return PriceTable.model_validate(
        {**table.model_dump(), "hardware": hardware, "self_hosted": model}
    )


def test_hosting_replaces_token_costs_with_a_fleet(make_table: MakeTable) -> None:
    table = hosting_table(make_table)
    workload = synthetic(requests_per_day=1000, model="big", input_tokens=500, output_tokens=100)
    result = run(table, workload, {"name": "host", "hosting": {"model": "m", "gpu": "h"}})
    hosting = result.scenarios[0].details.hosting
    assert hosting is not None
    assert (hosting.gpu, hosting.replicas) == ("h", 1)
    assert monthly(result, "host") == Decimal(2) * 720
    assert 0 < hosting.utilization <= 1
    assert hosting.slo_output_tokens_per_s <= hosting.max_output_tokens_per_s


def test_fine_tune_amortises_training_and_serves_at_tuned_prices(make_table: MakeTable) -> None:
    table = make_table(
        **PRICES,
        tunable={
            "input": "0.15",
            "output": "0.6",
            "fine_tuning": {"training": "3", "input": "0.3", "output": "1.2", "source": "t"},
        },
    )
    workload = synthetic(requests_per_day=1000, model="big", input_tokens=1500, output_tokens=100)
    result = run(
        table,
        workload,
        {
            "name": "ft",
            "fine_tune": {
                "base": "tunable",
                "training_tokens": 2_000_000,
                "epochs": 3,
                "amortize_months": 6,
                "prompt_tokens_saved": 1000,
            },
        },
    )
    training = Decimal(2_000_000 * 3) * 3 / M
    serving = 1000 * (500 * Decimal("0.3") + 100 * Decimal("1.2")) / M * 30
    assert monthly(result, "ft") == serving + training / 6


def test_self_hosted_fine_tune_break_even_counts_its_training(make_table: MakeTable) -> None:
    workload = synthetic(requests_per_day=1000, model="big", input_tokens=500, output_tokens=100)
    result = run(
        hosting_table(make_table),
        workload,
        {
            "name": "ft",
            "fine_tune": {
                "training_usd": 600,
                "amortize_months": 12,
                "hosting": {"model": "m", "gpu": "h"},
            },
        },
    )
    # One $2/h replica all month ($1,440) plus $600 / 12 of training, at any volume one replica serves.
    assert monthly(result, "ft") == Decimal(2) * 720 + Decimal(50)
    hosting = result.scenarios[0].details.fleet()
    assert hosting is not None and hosting.break_even is not None
    assert hosting.break_even.points[0].self_hosted_monthly_usd == Decimal(1490)


def test_an_empty_workload_costs_nothing(make_table: MakeTable) -> None:
    table = make_table(**PRICES)
    empty = Workload(requests=RequestTable.empty(), days=Decimal(1), source="empty")
    result = run(table, empty, {"name": "a"}, {"name": "b", "batching": {"share": 1}})
    assert monthly(result, "a") == monthly(result, "b") == Decimal(0)
    assert result.workload.requests == 0


@settings(max_examples=20, deadline=None)
@given(tokens=st.integers(1, 3000), rate=st.integers(50, 2000))
def test_caches_that_never_hit_change_nothing(
    make_table: MakeTable, tokens: int, rate: int
) -> None:
    """A response cache with nothing to answer and a prompt cache whose minimum no prompt reaches cost
    exactly what the traffic costs without them (on a workload that logged no cache use)."""
    table = table_with_rules(make_table)
    workload = synthetic(
        requests_per_day=rate, model="small", input_tokens=tokens, output_tokens=20
    )
    result = run(
        table,
        workload,
        {"name": "base"},
        {"name": "response", "response_cache": {"ttl": "1h", "near_duplicate_rate": 0}},
        {"name": "prompt", "prompt_cache": {"preset": "test", "min_prefix_tokens": tokens + 1}},
    )
    assert monthly(result, "response") == monthly(result, "prompt") == monthly(result, "base")
    assert result.scenarios[2].details.prompt_cache.hit_rate.high == 0  # type: ignore[union-attr]
