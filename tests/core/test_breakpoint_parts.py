"""Explicit-breakpoint cache replays cut into parts of whole cache scopes against the same replays run
whole and against a plain reading of the rule, on random logs with many scopes, arrival ties and
prefix hashes that recur in every scope. The parts are computed in a shuffled order, so a replay
whose parts depended on each other, or on the order they run in, would differ."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from costaudit.config.pricing import PriceTable
from costaudit.core.cache_breakpoints import (
    BreakpointPart,
    Breakpoints,
    breakpoint_part_matches,
    end_of_prompt_breakpoints,
    replay_with_breakpoints,
    replay_with_breakpoints_at,
    shared_prefix_breakpoints,
)
from costaudit.core.parts import Fanout
from costaudit.core.prompt_cache import CacheReplay, PrefixBlocks
from costaudit.core.simulate.engine import scenario_run
from support import MakeTable, ShuffledMap, many_scopes, three_scope_scenario

TTLS: list[float | None] = [None, 0.0, 1.0, 2.5, 7.0]


def _breakpoints(
    kind: str,
    scope: npt.NDArray[np.int64],
    blocks: PrefixBlocks,
    inputs: npt.NDArray[np.int64],
    min_prefix: int,
    limit: int,
) -> Breakpoints:
    """Where the requests mark breakpoints, as the simulator finds them for a rule."""
    cacheable = np.minimum(blocks.block_counts, inputs // blocks.block_tokens)
    cacheable[inputs < min_prefix] = 0
    if kind == "end_of_prompt":
        return end_of_prompt_breakpoints(cacheable)
    return shared_prefix_breakpoints(
        scope, blocks, cacheable, inputs, min_prefix_tokens=min_prefix, max_breakpoints=limit
    )


def _plain_matches(
    arrival: npt.NDArray[np.float64],
    scope: npt.NDArray[np.int64],
    blocks: PrefixBlocks,
    points: Breakpoints,
    ttl: float | None,
) -> list[int]:
    """The rule read literally, one request after another in arrival order (ties in input order):
    look up every prefix from the last breakpoint down, take the first fresh entry and refresh it,
    then write an entry at each breakpoint."""
    hashes = [
        blocks.hashes[blocks.offsets[i] : blocks.offsets[i + 1]].tolist()
        for i in range(blocks.n_requests)
    ]
    marks = [
        points.positions[points.offsets[i] : points.offsets[i + 1]].tolist()
        for i in range(blocks.n_requests)
    ]
    caches: dict[int, dict[int, float]] = {}
    matched = [0] * blocks.n_requests
    for request in sorted(range(blocks.n_requests), key=lambda index: float(arrival[index])):
        if not marks[request]:
            continue
        now = float(arrival[request])
        cache = caches.setdefault(int(scope[request]), {})
        for position in range(marks[request][-1], -1, -1):
            used = cache.get(hashes[request][position])
            if used is not None and (ttl is None or now - used <= ttl):
                matched[request] = position + 1
                cache[hashes[request][position]] = now
                break
        for position in marks[request]:
            cache[hashes[request][position]] = now
    return matched


def _same(split: list[CacheReplay], whole: list[CacheReplay]) -> None:
    assert len(split) == len(whole)
    for cut, one in zip(split, whole, strict=True):
        for name in ("hit_tokens", "write_tokens", "input_tokens"):
            assert getattr(cut, name).dtype == getattr(one, name).dtype
            assert np.array_equal(getattr(cut, name), getattr(one, name)), name


@pytest.mark.parametrize("kind", ["shared_prefixes", "end_of_prompt"])
@pytest.mark.parametrize("seed", range(12))
def test_a_breakpoint_replay_in_parts_of_whole_scopes_is_the_whole_replay(
    seed: int, kind: str
) -> None:
    rng = np.random.default_rng(seed)
    arrival, scope, blocks, inputs = many_scopes(rng, 600, int(rng.integers(2, 60)))
    min_prefix = int(rng.choice([0, 4, 9]))
    points = _breakpoints(kind, scope, blocks, inputs, min_prefix, int(rng.integers(1, 5)))
    mapper = ShuffledMap(seed)
    fanout = Fanout(mapper, min_part_size=int(rng.integers(1, 40)))
    picked = (arrival, scope, blocks, inputs, points)
    split = list(
        replay_with_breakpoints_at(*picked, ttls=TTLS, min_prefix_tokens=min_prefix, fanout=fanout)
    )
    whole = list(replay_with_breakpoints_at(*picked, ttls=TTLS, min_prefix_tokens=min_prefix))
    _same(split, whole)
    assert mapper.calls == 1
    assert mapper.parts > 1
    for ttl, replay in zip(TTLS, whole, strict=True):
        plain = np.minimum(
            np.array(_plain_matches(arrival, scope, blocks, points, ttl)) * blocks.block_tokens,
            inputs,
        )
        plain[plain < min_prefix] = 0
        assert np.array_equal(replay.hit_tokens, plain), ttl
    one = replay_with_breakpoints(
        *picked, ttl_s=2.5, min_prefix_tokens=min_prefix, fanout=Fanout(ShuffledMap(seed), 5)
    )
    _same([one], [whole[3]])


class _PartsSeen:
    """The sequential map, keeping the parts it was given."""

    def __init__(self) -> None:
        self.parts: list[BreakpointPart] = []

    def __call__(self, function: Callable[[Any], Any], parts: Sequence[Any]) -> list[Any]:
        self.parts.extend(parts)
        return [function(part) for part in parts]


def test_each_part_carries_only_its_own_scopes_requests_with_breakpoints() -> None:
    rng = np.random.default_rng(7)
    arrival, scope, blocks, inputs = many_scopes(rng, 800, 30)
    points = _breakpoints("shared_prefixes", scope, blocks, inputs, 0, 4)
    seen = _PartsSeen()
    list(
        replay_with_breakpoints_at(
            arrival,
            scope,
            blocks,
            inputs,
            points,
            ttls=[None, 1.0],
            fanout=Fanout(seen, min_part_size=50),
        )
    )
    assert len(seen.parts) > 5
    scopes = [set(part.scope.tolist()) for part in seen.parts]
    assert sum(len(found) for found in scopes) == len(set().union(*scopes))
    assert sum(len(part.arrival) for part in seen.parts) == int((points.counts > 0).sum())
    assert sum(len(part.writes.hashes) for part in seen.parts) == len(points.positions)
    for part in seen.parts:
        assert part.ttls == (None, 1.0)
        assert len(part.reads.offsets) == len(part.writes.offsets) == len(part.arrival) + 1
        assert part.reads.offsets[-1] == len(part.reads.hashes) == len(part.reads.positions)
        assert np.all(part.writes.counts > 0)


def test_one_part_replays_whole_without_the_map() -> None:
    rng = np.random.default_rng(5)
    arrival, scope, blocks, inputs = many_scopes(rng, 100, 5)
    points = _breakpoints("shared_prefixes", scope, blocks, inputs, 0, 4)
    mapper = ShuffledMap(0)
    picked = (arrival, scope, blocks, inputs, points)
    split = replay_with_breakpoints(*picked, ttl_s=1.0, fanout=Fanout(mapper))
    _same([split], [replay_with_breakpoints(*picked, ttl_s=1.0)])
    assert mapper.calls == 0
    nobody = Breakpoints(np.zeros(len(inputs) + 1, dtype=np.int64), np.zeros(0, dtype=np.int64))
    alone = replay_with_breakpoints(*picked[:4], nobody, ttl_s=None, fanout=Fanout(mapper, 1))
    assert not alone.hit_tokens.any() and not alone.write_tokens.any()
    assert mapper.calls == 0


class _BreakpointCalls(ShuffledMap):
    """The shuffled map, counting the calls that map breakpoint-replay parts."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.breakpoint_calls = 0

    def __call__(self, function: Callable[[Any], Any], parts: Sequence[Any]) -> list[Any]:
        self.breakpoint_calls += function is breakpoint_part_matches
        return super().__call__(function, parts)


def _anthropic(make_table: MakeTable) -> PriceTable:
    prices = {
        name: {
            "provider": "anthropic",
            "input": "3",
            "cached_input": "0.3",
            "cache_write": "3.75",
            "output": "15",
            "tokenizer": "cl100k_base",
        }
        for name in ("a", "b", "c")
    }
    table = make_table(**prices)
    rule = {
        "min_prefix_tokens": 128,
        "block_tokens": 64,
        "ttl": "5m",
        "ttl_low": "1m",
        "source": "test",
    }
    return PriceTable.model_validate({**table.model_dump(), "cache_rules": {"anthropic": rule}})


@pytest.mark.parametrize("breakpoints", ["provider", "end_of_prompt"])
def test_an_anthropic_scenario_with_a_fanout_is_the_scenario_without(
    make_table: MakeTable, breakpoints: str
) -> None:
    """A described workload on three Anthropic models (three cache scopes) with Monte Carlo draws
    and the cache band: every breakpoint replay of the scenario split, the same run."""
    file, workload = three_scope_scenario(
        {
            "name": "cached",
            "response_cache": {"ttl": "1h", "near_duplicate_rate": [0, 0.1]},
            "prompt_cache": {"breakpoints": breakpoints},
        }
    )
    table = _anthropic(make_table)
    mapper = _BreakpointCalls(2)
    split = scenario_run(
        workload, file.scenarios[0], table, file, (), fanout=Fanout(mapper, min_part_size=10)
    )
    whole = scenario_run(workload, file.scenarios[0], table, file, ())
    assert split == whole
    cache = whole.result.details.prompt_cache
    assert cache is not None
    assert cache.rules[0].breakpoints == (
        "shared_prefixes" if breakpoints == "provider" else breakpoints
    )
    assert cache.write_tokens > 0
    assert mapper.breakpoint_calls >= 12  # the run, ten draws and the band's other end
    assert whole.result.monthly_usd is not None and whole.result.monthly_usd > Decimal(0)
