"""One `applies_to` selector for every strategy; fine-tuned batch traffic priced; oversized requests
kept off a self-hosted model's context window."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from costaudit.config.pricing import PriceTable
from costaudit.config.scenario import ScenarioFile
from costaudit.core.simulate.context import ScenarioProblem
from costaudit.core.simulate.engine import SimulationResult, simulate
from costaudit.core.simulate.state import Workload
from support import MakeRequests, MakeTable

M = Decimal(1_000_000)
PRICES: dict[str, dict[str, Any]] = {
    "big": {"input": "10", "output": "30", "batch": {"input": "5", "output": "15"}},
    "small": {"input": "0.5", "output": "1.5"},
    "tunable": {
        "provider": "openai",
        "input": "0.15",
        "output": "0.6",
        "batch": {"input": "0.075", "output": "0.3"},
        "fine_tuning": {"training": "3", "input": "0.3", "output": "1.2", "source": "t"},
    },
    "nobatch": {
        "input": "1",
        "output": "2",
        "fine_tuning": {"training": "3", "input": "2", "output": "4", "source": "t"},
    },
}


def requests(make_requests: MakeRequests, *rows: tuple[str, str, int, bool]) -> Workload:
    """(model, feature, input tokens, batch) rows, 100 output tokens each, one a minute."""
    table = make_requests(
        *(
            {
                "model": model,
                "input_tokens": tokens,
                "output_tokens": 100,
                "batch": batch,
                "groups": {"feature": feature},
                "timestamp": 1_700_000_000 + 60 * index,
                "complexity": 0.1,
            }
            for index, (model, feature, tokens, batch) in enumerate(rows)
        )
    )
    return Workload(requests=table, days=Decimal(1), source="test")


def run(prices: PriceTable, workload: Workload, *scenarios: dict[str, Any]) -> SimulationResult:
    file = ScenarioFile.model_validate(
        {"workload": {"workload": "unused.parquet"}, "scenarios": list(scenarios)}
    )
    return simulate(workload, file, prices)


def monthly(result: SimulationResult, name: str) -> Decimal:
    value = next(s.monthly_usd for s in result.scenarios if s.name == name)
    assert value is not None
    return value


def cost(input_price: str, output_price: str, tokens: int = 1000) -> Decimal:
    return (tokens * Decimal(input_price) + 100 * Decimal(output_price)) / M


@pytest.fixture
def traffic(make_requests: MakeRequests) -> Workload:
    return requests(
        make_requests,
        ("big", "chat", 1000, False),
        ("big", "reports", 1000, False),
        ("big", "search", 1000, False),
    )


def test_routing_by_feature(make_table: MakeTable, traffic: Workload) -> None:
    result = run(
        make_table(**PRICES),
        traffic,
        {
            "name": "r",
            "routing": {
                "tiers": [{"model": "small"}],
                "applies_to": {"feature": ["chat", "search"]},
            },
        },
    )
    assert monthly(result, "r") == (2 * cost("0.5", "1.5") + cost("10", "30")) * 30


def test_batching_a_share_of_a_feature_and_a_model_selector(
    make_table: MakeTable, traffic: Workload
) -> None:
    result = run(
        make_table(**PRICES),
        traffic,
        {"name": "feature", "batching": {"applies_to": {"feature": "reports"}}},
        {"name": "none of it", "batching": {"applies_to": {"feature": "reports"}, "share": 0}},
        {"name": "by model", "batching": {"applies_to": ["big"]}},
    )
    assert monthly(result, "feature") == (2 * cost("10", "30") + cost("5", "15")) * 30
    assert monthly(result, "none of it") == 3 * cost("10", "30") * 30
    assert monthly(result, "by model") == 3 * cost("5", "15") * 30


def test_hosting_and_fine_tune_take_the_selector_too(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    workload = requests(
        make_requests, ("tunable", "chat", 1000, False), ("tunable", "reports", 1000, False)
    )
    result = run(
        make_table(**PRICES),
        workload,
        {
            "name": "tuned chat",
            "fine_tune": {"base": "tunable", "applies_to": {"feature": "chat"}},
        },
    )
    assert monthly(result, "tuned chat") == (cost("0.3", "1.2") + cost("0.15", "0.6")) * 30


def test_an_unknown_field_is_an_error_naming_the_scenario_field(
    make_table: MakeTable, traffic: Workload
) -> None:
    with pytest.raises(ScenarioProblem) as caught:
        run(
            make_table(**PRICES),
            traffic,
            {"name": "x", "batching": {"applies_to": {"featur": "a"}}},
        )
    assert caught.value.field == "scenarios[0].batching.applies_to.featur"
    assert "has no `featur` field" in caught.value.message
    assert "did you mean `feature`?" in caught.value.message


def test_batching_filter_was_renamed_applies_to() -> None:
    with pytest.raises(ValidationError, match="`filter` is now `applies_to`"):
        ScenarioFile.model_validate(
            {
                "workload": {"workload": "w.parquet"},
                "scenarios": [{"name": "x", "batching": {"filter": {"feature": "reports"}}}],
            }
        )


def test_fine_tuned_batch_requests_keep_the_batch_discount(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    """The nightly job on gpt-4o-mini's Batch API stays a batch job on the fine-tuned model: half of
    the tuned prices ($0.30/$1.20 → $0.15/$0.60), like the base model's $0.15/$0.60 → $0.075/$0.30."""
    workload = requests(
        make_requests, ("tunable", "nightly", 1000, True), ("tunable", "chat", 1000, False)
    )
    result = run(make_table(**PRICES), workload, {"name": "ft", "fine_tune": {"base": "tunable"}})
    scenario = result.scenarios[0]
    assert scenario.unpriced_requests == 0
    assert monthly(result, "ft") == (cost("0.15", "0.6") + cost("0.3", "1.2")) * 30
    assert scenario.details.fine_tune is not None
    assert scenario.details.fine_tune.batch_requests == 1


def test_fine_tuning_batch_traffic_without_a_batch_api_fails_naming_the_requests(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    workload = requests(make_requests, ("big", "nightly", 1000, True))
    with pytest.raises(ScenarioProblem) as caught:
        run(make_table(**PRICES), workload, {"name": "ft", "fine_tune": {"base": "nobatch"}})
    assert caught.value.field == "scenarios[0].fine_tune.base"
    assert "1 of the requests are batch requests" in caught.value.message


def hosting_table(make_table: MakeTable) -> PriceTable:
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
            "context_window": 4096,
            "source": "t",
        }
    }
    return PriceTable.model_validate(
        {**table.model_dump(), "hardware": hardware, "self_hosted": model}
    )


def test_requests_longer_than_the_context_window_stay_on_the_api(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    workload = requests(
        make_requests,
        ("big", "chat", 1000, False),
        ("big", "review", 17_000, False),
        ("big", "chat", 3996, False),  # 3,996 + 100 = 4,096: fits exactly
    )
    result = run(
        hosting_table(make_table), workload, {"name": "host", "hosting": {"model": "m", "gpu": "h"}}
    )
    scenario = result.scenarios[0]
    hosting = scenario.details.hosting
    assert hosting is not None and hosting.context is not None
    assert (hosting.requests, hosting.context.too_long_requests) == (2, 1)
    assert hosting.context.longest_tokens == 17_100
    assert monthly(result, "host") == Decimal(2) * 720 + cost("10", "30", 17_000) * 30
    assert any("do not fit m's 4,096-token context window" in note for note in scenario.notes)


def test_too_long_fail_stops_the_scenario(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    workload = requests(make_requests, ("big", "review", 17_000, False))
    with pytest.raises(ScenarioProblem) as caught:
        run(
            hosting_table(make_table),
            workload,
            {"name": "host", "hosting": {"model": "m", "gpu": "h", "too_long": "fail"}},
        )
    assert caught.value.field == "scenarios[0].hosting.too_long"
    assert "1 requests do not fit m's 4,096-token context window" in caught.value.message


def test_a_selector_that_selects_nothing_changes_nothing_and_says_so(
    make_table: MakeTable, traffic: Workload
) -> None:
    result = run(
        hosting_table(make_table),
        traffic,
        {"name": "base"},
        {"name": "host", "hosting": {"model": "m", "gpu": "h", "applies_to": {"feature": "math"}}},
    )
    assert monthly(result, "host") == monthly(result, "base") == 3 * cost("10", "30") * 30
    assert result.scenarios[1].notes == (
        "hosting: `applies_to` selects no request, so it changes nothing",
    )


def test_hosting_where_no_request_fits_is_an_error(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    workload = requests(make_requests, ("big", "review", 17_000, False))
    with pytest.raises(ScenarioProblem) as caught:
        run(
            hosting_table(make_table),
            workload,
            {"name": "h", "hosting": {"model": "m", "gpu": "h"}},
        )
    assert caught.value.field == "scenarios[0].hosting.model"
    assert "none of the requests fits m's 4,096-token context window" in caught.value.message
