"""Explicit cache breakpoints: placed on the prefixes other requests share, never on a unique suffix;
presets and provider rules apply to their own provider's models only."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from costaudit.config.pricing import PriceTable
from costaudit.config.scenario import ScenarioFile
from costaudit.core import prompt_cache
from costaudit.core.cache_breakpoints import (
    replay_with_breakpoints,
    shared_prefix_breakpoints,
    sharing_counts,
)
from costaudit.core.prompt_cache import from_lists
from costaudit.core.simulate.context import ScenarioProblem
from costaudit.core.simulate.engine import SimulationResult, simulate
from costaudit.core.simulate.state import Workload
from costaudit.core.simulate.synthetic import StreamPrompt, generate
from support import MakeTable

M = Decimal(1_000_000)
RULE = {"min_prefix_tokens": 1024, "block_tokens": 64, "ttl": "5m", "ttl_low": "5m", "source": "t"}
CLAUDE = {
    "provider": "anthropic",
    "input": "3",
    "cached_input": "0.3",
    "cache_write": "3.75",
    "output": "15",
}
GPT = {"provider": "openai", "input": "2.5", "cached_input": "1.25", "output": "10"}


def breakpoints_of(hash_lists: list[list[int]], block: int = 1, limit: int = 4) -> list[list[int]]:
    blocks = from_lists(hash_lists, block)
    inputs = blocks.block_counts * block
    scope = np.zeros(len(hash_lists), dtype=np.int64)
    found = shared_prefix_breakpoints(
        scope, blocks, blocks.block_counts, inputs, min_prefix_tokens=0, max_breakpoints=limit
    )
    return [
        found.positions[found.offsets[i] : found.offsets[i + 1]].tolist()
        for i in range(len(hash_lists))
    ]


def test_sharing_counts_count_requests_per_prefix_and_scope() -> None:
    blocks = from_lists([[1, 2, 3], [1, 2, 4], [1, 5], [1, 2, 3]], 1)
    scope = np.array([0, 0, 0, 1])
    counts = sharing_counts(scope, blocks, blocks.block_counts)
    assert counts.tolist() == [3, 2, 1, 3, 2, 1, 3, 1, 1, 1, 1]


@pytest.mark.parametrize("spread", [0, 0x9E3779B97F4A7C15])
def test_sharing_counts_match_a_count_of_every_scope_and_prefix(
    spread: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random requests over a few scopes whose prefixes repeat within and across scopes, some blocks
    past the cacheable part: each cacheable block's count is the number of blocks of its scope with
    its hash, counted one by one; also when every packed sort key clashes (spread 0)."""
    monkeypatch.setattr(prompt_cache, "_SPREAD", np.uint64(spread))
    rng = np.random.default_rng(23)
    pool = np.array([1, 2, 3, 2**40 + 1, 2**63 + 7, 2**64 - 1], dtype=np.uint64)
    hash_lists = [
        [int(value) for value in rng.choice(pool, size=int(rng.integers(1, 6)))] for _ in range(300)
    ]
    blocks = from_lists(hash_lists, 1)
    scope = rng.integers(0, 4, size=len(hash_lists)).astype(np.int64)
    cacheable = np.maximum(blocks.block_counts - rng.integers(0, 2, size=len(hash_lists)), 0)
    counts = sharing_counts(scope, blocks, cacheable)
    tally: Counter[tuple[int, int]] = Counter()
    for request, hashes in enumerate(hash_lists):
        for value in hashes[: cacheable[request]]:
            tally[int(scope[request]), value] += 1
    expected = [
        tally[int(scope[request]), value] if position < cacheable[request] else 0
        for request, hashes in enumerate(hash_lists)
        for position, value in enumerate(hashes)
    ]
    assert counts.tolist() == expected


def test_breakpoints_sit_at_the_end_of_shared_prefixes_never_on_a_unique_suffix() -> None:
    # A system prompt (blocks 1, 2) shared by three requests, then a unique question each; the last
    # request shares nothing at all.
    found = breakpoints_of([[1, 2, 10], [1, 2, 11], [1, 2, 12, 13], [7, 8]])
    assert found == [[1], [1], [1], []]


def test_a_conversation_gets_breakpoints_at_the_system_prompt_and_at_its_history() -> None:
    system = [1, 2]
    turn1 = [*system, 20]
    turn2 = [*turn1, 21, 22]
    turn3 = [*turn2, 23, 24]
    other = [*system, 30]
    found = breakpoints_of([turn1, turn2, turn3, other])
    # System shared by all four (position 1); turn 1's prompt is re-read by turns 2 and 3
    # (position 2); turn 2's by turn 3 (position 4). Turn 3's own end is read by nobody.
    assert found == [[1, 2], [1, 2, 4], [1, 2, 4], [1]]


def test_at_most_max_breakpoints_deepest_first_then_the_most_shared() -> None:
    # A prefix shared by 6, 5, 4, 3, 2 requests at positions 0..4: five branch points on the longest.
    lists = [[1, 2, 3, 4, 5, 100 + i] for i in range(2)]
    lists += [[1, 2, 3, 4, 200], [1, 2, 3, 201], [1, 2, 202], [1, 203]]
    found = breakpoints_of(lists, limit=3)
    assert found[0] == [0, 1, 4]  # the deepest (4), then the two most widely shared (0 and 1)
    assert all(len(points) <= 3 for points in found)


def test_replay_writes_only_at_breakpoints_and_reads_the_deepest_entry() -> None:
    blocks = from_lists([[1, 2, 10], [1, 2, 11], [1, 2, 12]], 100)
    inputs = np.array([300, 300, 250])
    scope = np.zeros(3, dtype=np.int64)
    points = shared_prefix_breakpoints(
        scope, blocks, np.array([3, 3, 2]), inputs, min_prefix_tokens=0, max_breakpoints=4
    )
    replay = replay_with_breakpoints(
        np.array([0.0, 60.0, 600.0]), scope, blocks, inputs, points, ttl_s=300.0
    )
    # First: writes the 200-token system prompt. Second (60 s later): reads it. Third (540 s after
    # the last use, past the 5-minute TTL): the entry expired, it writes it again.
    assert replay.hit_tokens.tolist() == [0, 200, 0]
    assert replay.write_tokens.tolist() == [200, 0, 200]


def table(make_table: MakeTable, **models: dict[str, Any]) -> PriceTable:
    base = make_table(**models)
    rules = {
        "anthropic": RULE,
        "anthropic-1h": {**RULE, "ttl": "1h", "ttl_low": "1h"},
        "openai": RULE,
    }
    return PriceTable.model_validate({**base.model_dump(), "cache_rules": rules})


def run(prices: PriceTable, workload: Workload, *scenarios: dict[str, Any]) -> SimulationResult:
    file = ScenarioFile.model_validate(
        {"workload": {"workload": "unused.parquet"}, "scenarios": list(scenarios)}
    )
    return simulate(workload, file, prices)


def one_a_minute(model: str, system_tokens: int = 2048, question_tokens: int = 2000) -> Workload:
    file = ScenarioFile.model_validate(
        {
            "workload": {
                "synthetic": {
                    "requests_per_day": 1440,
                    "model": model,
                    "input_tokens": question_tokens,
                    "output_tokens": 0,
                    "arrival": {"pattern": "uniform"},
                }
            },
            "scenarios": [{"name": "x"}],
        }
    )
    assert file.workload.synthetic is not None
    return generate(file.workload.synthetic, [StreamPrompt(tokens=system_tokens)])


def monthly(result: SimulationResult, name: str) -> Decimal:
    value = next(s.monthly_usd for s in result.scenarios if s.name == name)
    assert value is not None
    return value


def test_anthropic_caching_writes_the_shared_system_prompt_once_and_never_the_questions(
    make_table: MakeTable,
) -> None:
    prices = table(make_table, claude=CLAUDE)
    result = run(
        prices,
        one_a_minute("claude"),
        {"name": "none"},
        {"name": "provider rules", "prompt_cache": {}},
        {"name": "whole prompts", "prompt_cache": {"breakpoints": "end_of_prompt"}},
    )
    n = 1440
    first = 2048 * Decimal("3.75") + 2000 * Decimal(3)
    rest = 2048 * Decimal("0.3") + 2000 * Decimal(3)
    assert monthly(result, "none") == n * 4048 * Decimal(3) / M * 30
    assert monthly(result, "provider rules") == (first + (n - 1) * rest) / M * 30
    cache = result.scenarios[1].details.prompt_cache
    assert cache is not None
    assert cache.write_tokens == 2048
    assert cache.rules[0].breakpoints == "shared_prefixes"
    # One breakpoint at the end of every prompt (63 full 64-token blocks): every prompt is written at
    # 1.25× and none is read back, since each ends with its own question.
    whole = n * (4032 * Decimal("3.75") + 16 * Decimal(3))
    assert monthly(result, "whole prompts") == whole / M * 30
    assert (
        monthly(result, "whole prompts")
        > monthly(result, "none")
        > monthly(result, "provider rules")
    )


def test_openai_caching_stays_automatic(make_table: MakeTable) -> None:
    prices = table(make_table, gpt=GPT)
    result = run(prices, one_a_minute("gpt"), {"name": "cached", "prompt_cache": {}})
    cache = result.scenarios[0].details.prompt_cache
    assert cache is not None and cache.rules[0].breakpoints == "automatic"
    n = 1440
    # Automatic caching writes every block at no extra cost and reads the system prompt back.
    first = 4048 * Decimal("2.5")
    rest = 2048 * Decimal("1.25") + 2000 * Decimal("2.5")
    assert monthly(result, "cached") == (first + (n - 1) * rest) / M * 30


def test_a_preset_applies_to_its_providers_models_only(make_table: MakeTable) -> None:
    prices = table(make_table, claude=CLAUDE, gpt=GPT)
    claude, gpt = one_a_minute("claude"), one_a_minute("gpt")
    from costaudit.core.request_table import RequestTable

    both = Workload(
        requests=RequestTable.concat([claude.requests, gpt.requests]),
        days=Decimal(1),
        source="test",
    )
    result = run(prices, both, {"name": "1h", "prompt_cache": {"preset": "anthropic-1h"}})
    cache = result.scenarios[0].details.prompt_cache
    assert cache is not None
    assert sorted(rule.rule for rule in cache.rules) == ["anthropic-1h", "openai"]
    assert any(
        "openai models keep their provider's rule" in note for note in result.scenarios[0].notes
    )


def test_a_preset_aimed_at_another_providers_traffic_is_an_error(make_table: MakeTable) -> None:
    prices = table(make_table, claude=CLAUDE, gpt=GPT)
    with pytest.raises(ScenarioProblem) as caught:
        run(
            prices,
            one_a_minute("gpt"),
            {"name": "base"},
            {"name": "wrong", "prompt_cache": {"preset": "anthropic-1h"}},
        )
    assert caught.value.field == "scenarios[1].prompt_cache.preset"
    assert "a cache rule for anthropic models" in caught.value.message
    assert "the cached traffic is on openai models" in caught.value.message
