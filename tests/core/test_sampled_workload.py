"""A described workload above `max_requests` is sampled over the whole window and scaled back.

The fleet must be sized on the day's real peak (14:00 for the diurnal pattern), not on the first hours
of the day, and every figure must agree with simulating all the requests.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from costaudit.config.pricing import PriceTable
from costaudit.config.scenario import ScenarioFile
from costaudit.core.simulate.engine import ScenarioResult, SimulationResult, simulate
from costaudit.core.simulate.state import Workload
from costaudit.core.simulate.synthetic import StreamPrompt, generate
from costaudit.pricetable.layers import load_prices

DAY_S = 86_400


@pytest.fixture(scope="module")
def prices() -> PriceTable:
    """The packaged table: gpt-4o-mini, llama-3.1-8b and the H100 as users get them."""
    return load_prices().table


def workload(
    *, max_requests: int, prompt: StreamPrompt | None = None, **fields: Any
) -> tuple[ScenarioFile, Workload]:
    stream = {
        "requests_per_day": 1_000_000,
        "model": "gpt-4o-mini",
        "input_tokens": 1000,
        "output_tokens": 300,
        "arrival": {"pattern": "diurnal", "peak_to_average": 2},
        "max_requests": max_requests,
        **fields,
    }
    file = ScenarioFile.model_validate(
        {
            "workload": {"synthetic": stream},
            "scenarios": [
                {"name": "api"},
                {
                    "name": "static",
                    "hosting": {"model": "llama-3.1-8b", "gpu": "h100", "precision": "fp8"},
                },
                {
                    "name": "autoscaled",
                    "hosting": {
                        "model": "llama-3.1-8b",
                        "gpu": "h100",
                        "precision": "fp8",
                        "autoscale": True,
                    },
                },
            ],
        }
    )
    synthetic = file.workload.synthetic
    assert synthetic is not None
    return file, generate(synthetic, [prompt])


def scenario(result: SimulationResult, name: str) -> ScenarioResult:
    return next(s for s in result.scenarios if s.name == name)


@pytest.fixture(scope="module")
def capped(prices: PriceTable) -> tuple[Workload, SimulationResult]:
    file, sampled = workload(max_requests=200_000)
    return sampled, simulate(sampled, file, prices)


@pytest.fixture(scope="module")
def uncapped(prices: PriceTable) -> SimulationResult:
    file, every = workload(max_requests=1_000_000)
    return simulate(every, file, prices)


def test_the_sample_spans_the_whole_day(capped: tuple[Workload, SimulationResult]) -> None:
    sampled, _ = capped
    seconds = sampled.requests.timestamp_ns / 1e9
    assert len(sampled.requests) == 200_000
    assert sampled.weight == Decimal(5)
    assert seconds.min() < 3600 and seconds.max() > DAY_S - 3600
    busiest_hour = int(np.bincount((seconds // 3600).astype(int), minlength=24).argmax())
    assert busiest_hour in (13, 14, 15)


def test_the_result_states_the_sampling_and_counts_the_whole_traffic(
    capped: tuple[Workload, SimulationResult],
) -> None:
    _, result = capped
    assert result.workload.requests == 1_000_000
    assert result.workload.simulated_requests == 200_000
    assert result.workload.days == Decimal(1)
    assert any(
        "200,000 of the 1,000,000 requests" in note and "whole window" in note
        for note in result.notes
    )
    assert scenario(result, "api").api_requests == 1_000_000


def test_replicas_and_monthly_cost_agree_with_and_without_the_cap(
    capped: tuple[Workload, SimulationResult], uncapped: SimulationResult
) -> None:
    _, sampled = capped
    # Exact for a constant-size stream: 1M/day × (1,000 × $0.15 + 300 × $0.60) per 1M tokens × 30.
    api = Decimal(1_000_000) * (1000 * Decimal("0.15") + 300 * Decimal("0.6")) / 1_000_000 * 30
    assert scenario(sampled, "api").monthly_usd == scenario(uncapped, "api").monthly_usd == api
    for name in ("static", "autoscaled"):
        with_cap, without = scenario(sampled, name), scenario(uncapped, name)
        fleet, full = with_cap.details.hosting, without.details.hosting
        assert fleet is not None and full is not None
        assert fleet.replicas == full.replicas
        assert with_cap.monthly_usd is not None and without.monthly_usd is not None
        assert abs(with_cap.monthly_usd - without.monthly_usd) <= without.monthly_usd / 100
    # The peak of a 2× diurnal day needs two H100s at $2.69/h (what the first 0.2 days hid).
    static = scenario(sampled, "static").details.hosting
    assert static is not None and static.replicas == 2
    assert scenario(sampled, "static").monthly_usd == 2 * 720 * Decimal("2.69")


def test_cache_lifetimes_are_scaled_with_the_sample(prices: PriceTable) -> None:
    """Sampled requests arrive `weight` times further apart: the replay stretches lifetimes to match,
    so the hit rate of a shared system prompt under a short TTL agrees with the full traffic."""
    rules = {
        "short": {
            "min_prefix_tokens": 1024,
            "block_tokens": 64,
            "ttl": "5s",
            "ttl_low": "5s",
            "source": "test",
        }
    }
    table = PriceTable.model_validate({**prices.model_dump(), "cache_rules": rules})
    rates = []
    for cap in (40_000, 10_000):
        file, traffic = workload(
            max_requests=cap,
            prompt=StreamPrompt(tokens=2048),
            requests_per_day=40_000,
            arrival={"pattern": "poisson"},
            input_tokens=100,
        )
        cached = file.model_copy(
            update={
                "scenarios": [
                    file.scenarios[0].model_validate(
                        {
                            "name": "cached",
                            "prompt_cache": {"preset": "short", "breakpoints": "automatic"},
                        }
                    )
                ]
            }
        )
        result = simulate(traffic, cached, table.model_copy(update={"models": _as_provider(table)}))
        details = result.scenarios[0].details.prompt_cache
        assert details is not None
        rates.append(details.hit_rate.central)
    # 40,000 a day is one request per 2.16 s on average: a 5 s lifetime catches ~90 % of the prefix.
    assert rates[0] == pytest.approx(rates[1], abs=0.02)
    assert 0.8 < rates[0] < 0.95


def _as_provider(table: PriceTable) -> dict[str, Any]:
    """gpt-4o-mini billed under the `short` test rule's provider."""
    models = dict(table.models)
    models["gpt-4o-mini"] = models["gpt-4o-mini"].model_copy(update={"provider": "short"})
    return models
