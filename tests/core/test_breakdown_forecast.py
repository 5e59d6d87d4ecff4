"""Breakdowns add up to each scenario's monthly cost; forecasts grow traffic month by month."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from costaudit.config.pricing import PriceTable
from costaudit.config.scenario import ScenarioFile
from costaudit.core.simulate.context import ScenarioProblem
from costaudit.core.simulate.engine import ScenarioResult, SimulationResult, simulate
from costaudit.core.simulate.forecast import GrowthFitError, fitted_growth
from costaudit.core.simulate.state import Workload
from support import MakeRequests, MakeTable

M = Decimal(1_000_000)
PRICES: dict[str, dict[str, Any]] = {
    "big": {"input": "10", "output": "30"},
    "small": {"input": "0.5", "output": "1.5"},
    "tunable": {
        "input": "0.15",
        "output": "0.6",
        "fine_tuning": {"training": "3", "input": "0.3", "output": "1.2", "source": "t"},
    },
}
HARDWARE = {
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
SELF_HOSTED = {
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


def prices(make_table: MakeTable) -> PriceTable:
    table = make_table(**PRICES)
    return PriceTable.model_validate(
        {**table.model_dump(), "hardware": HARDWARE, "self_hosted": SELF_HOSTED}
    )


def traffic(
    make_requests: MakeRequests, days: int = 1, growth: float = 0.0, base: int = 1
) -> Workload:
    """Each day: 2 chat requests and 1 report on `big` (1,000 in / 100 out), `base` × (1 + growth)^day
    times."""
    rows = []
    for day in range(days):
        per_kind = round(base * (1 + growth) ** day)
        for index in range(per_kind):
            for minute, feature in enumerate(("chat", "chat", "reports")):
                rows.append(
                    {
                        "model": "big",
                        "input_tokens": 1000,
                        "output_tokens": 100,
                        "groups": {"feature": feature},
                        "timestamp": 1_700_006_400 + day * 86_400 + 600 * index + 60 * minute,
                        "complexity": 0.1 * (minute + 1),
                    }
                )
    return Workload(requests=make_requests(*rows), days=Decimal(days), source="test")


def run(
    table: PriceTable, workload: Workload, *scenarios: dict[str, Any], **options: Any
) -> SimulationResult:
    file = ScenarioFile.model_validate(
        {
            "workload": {"workload": "unused.parquet", **options.pop("spec", {})},
            "scenarios": list(scenarios),
        }
    )
    return simulate(workload, file, table, **options)


def by_name(result: SimulationResult, name: str) -> ScenarioResult:
    return next(s for s in result.scenarios if s.name == name)


BIG = (1000 * Decimal(10) + 100 * Decimal(30)) / M
SMALL = (1000 * Decimal("0.5") + 100 * Decimal("1.5")) / M
TUNED = (1000 * Decimal("0.3") + 100 * Decimal("1.2")) / M


def test_every_breakdown_adds_up_to_the_monthly_cost(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    result = run(
        prices(make_table),
        traffic(make_requests),
        {"name": "as logged"},
        {
            "name": "routed",
            "routing": {
                "tiers": [{"model": "small", "share": 0.5}, {"model": "big"}],
                "overhead_usd_per_1k_requests": "3",
                "applies_to": {"feature": "chat"},
            },
            "response_cache": {"lookup_usd_per_1k": "1"},
        },
        {
            "name": "tuned",
            "fine_tune": {"base": "tunable", "training_tokens": 1_000_000, "amortize_months": 3},
        },
        {
            "name": "hosted",
            "hosting": {"model": "m", "gpu": "h"},
            "routing": {"tiers": [{"model": "small"}], "applies_to": {"feature": "reports"}},
        },
        group_by=("feature",),
    )
    for scenario in result.scenarios:
        assert scenario.monthly_usd is not None
        models = sum(
            (row.monthly_usd or Decimal(0) for row in scenario.breakdown.models), Decimal(0)
        )
        features = sum(
            (row.monthly_usd or Decimal(0) for row in scenario.breakdown.groups["feature"]),
            Decimal(0),
        )
        assert models == pytest.approx(scenario.monthly_usd, abs=Decimal("1e-20"))
        assert features == pytest.approx(scenario.monthly_usd, abs=Decimal("1e-20"))

    routed = by_name(result, "routed").breakdown
    # One chat request on small, one on big, the report on big; the router ($3/1k) on the two chat
    # requests; a $1/1k lookup on each of the three.
    assert {row.model: row.monthly_usd for row in routed.models} == {
        "big": (2 * BIG + Decimal(2) * 3 / 1000 / 2 + Decimal(2) / 1000) * 30,
        "small": (SMALL + Decimal(3) / 1000 + Decimal(1) / 1000) * 30,
    }
    chat = next(row for row in routed.groups["feature"] if row.group == "chat")
    assert chat.requests == 2
    assert chat.monthly_usd == (BIG + SMALL + Decimal(2) * 3 / 1000 + Decimal(2) / 1000) * 30

    tuned = {row.model: row.monthly_usd for row in by_name(result, "tuned").breakdown.models}
    # 1M training tokens × 3 epochs × $3 per 1M = $9, over 3 months.
    assert tuned == {"ft:tunable": 3 * TUNED * 30 + Decimal(9) / 3}

    hosted = by_name(result, "hosted").breakdown
    assert {row.model: row.requests for row in hosted.models} == {"m on h (self-hosted)": 3}
    shares = {row.group: row.monthly_usd for row in hosted.groups["feature"]}
    # The fleet ($2/h × 720 h) is shared by tokens: chat sends 2 of the 3 equal requests.
    assert shares == {"chat": Decimal(1440) * 2 / 3, "reports": Decimal(1440) / 3}


def test_a_forecast_grows_traffic_resizes_fleets_and_ends_amortisation(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    result = run(
        prices(make_table),
        traffic(make_requests),
        {"name": "as logged"},
        {
            "name": "tuned",
            "fine_tune": {"base": "tunable", "training_usd": 60, "amortize_months": 2},
        },
        {"name": "hosted", "hosting": {"model": "m", "gpu": "h"}},
        spec={"growth": {"monthly": "10%"}},
        months=3,
    )
    forecast = result.forecast
    assert forecast is not None
    assert (forecast.months, forecast.growth_monthly_pct, forecast.growth_source) == (
        3,
        Decimal(10),
        "declared",
    )
    series = {s.name: s for s in forecast.scenarios}
    logged = 3 * BIG * 30
    assert series["as logged"].monthly_usd == [
        logged,
        logged * Decimal("1.1"),
        logged * Decimal("1.21"),
    ]
    tuned = 3 * TUNED * 30
    assert series["tuned"].monthly_usd == [
        tuned + 30,
        tuned * Decimal("1.1") + 30,
        tuned * Decimal("1.21"),  # the training was paid off over two months
    ]
    assert series["hosted"].monthly_usd == [Decimal(1440)] * 3  # one replica serves the growth
    total = logged * (1 + Decimal("1.1") + Decimal("1.21"))
    assert series["as logged"].total_usd == total
    assert series["hosted"].cumulative_savings_usd == total - 3 * Decimal(1440)


def test_growth_fitted_to_the_daily_totals(make_requests: MakeRequests) -> None:
    workload = traffic(make_requests, days=23, growth=0.03, base=20)
    fitted = fitted_growth(workload.requests, Decimal(30))
    # 3 % a day is (1.03^30 − 1) = +142.7 % a month; rounding each day's count to whole requests
    # blurs it a little.
    assert Decimal(120) < fitted < Decimal(165)
    with pytest.raises(GrowthFitError, match="at least 7 whole days"):
        fitted_growth(traffic(make_requests, days=5).requests, Decimal(30))


def test_fitted_growth_on_a_described_workload_is_an_error(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    file = ScenarioFile.model_validate(
        {
            "workload": {
                "synthetic": {
                    "requests_per_day": 10,
                    "model": "big",
                    "input_tokens": 1,
                    "output_tokens": 1,
                },
                "growth": {"monthly": "fitted"},
            },
            "scenarios": [{"name": "a"}],
        }
    )
    with pytest.raises(ScenarioProblem) as caught:
        simulate(traffic(make_requests), file, prices(make_table), months=2)
    assert caught.value.field == "workload.growth.monthly"
