"""Cache replays cut into parts of whole cache scopes (or response-cache keys) against the same replays
run whole, on random logs with many scopes. The parts are computed in a shuffled order, so a replay
whose parts depended on each other, or on the order they run in, would differ."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import numpy.typing as npt
import pytest

from costaudit.config.pricing import PriceTable
from costaudit.core import prompt_cache
from costaudit.core.parts import Fanout, grouped_parts, sequential
from costaudit.core.prompt_cache import (
    BlockView,
    CacheReplay,
    replay_prefix_cache_at,
)
from costaudit.core.response_cache import NO_KEY, replay_response_cache
from costaudit.core.simulate.engine import scenario_run
from support import MakeTable, ShuffledMap, many_scopes, three_scope_scenario


def _replays(
    arrival: npt.NDArray[np.float64],
    scope: npt.NDArray[np.int64],
    view: BlockView,
    inputs: npt.NDArray[np.int64],
    ttls: list[float | None],
    min_prefix: int,
    partial: bool,
    fanout: Fanout | None,
) -> list[CacheReplay]:
    return list(
        replay_prefix_cache_at(
            arrival,
            scope,
            view,
            inputs,
            ttls=ttls,
            min_prefix_tokens=min_prefix,
            count_partial_block=partial,
            fanout=fanout,
        )
    )


def _same(split: list[CacheReplay], whole: list[CacheReplay]) -> None:
    assert len(split) == len(whole)
    for cut, one in zip(split, whole, strict=True):
        for name in ("hit_tokens", "write_tokens", "input_tokens"):
            assert getattr(cut, name).dtype == getattr(one, name).dtype
            assert np.array_equal(getattr(cut, name), getattr(one, name)), name


@pytest.mark.parametrize("seed", range(12))
def test_a_prefix_replay_in_parts_of_whole_scopes_is_the_whole_replay(seed: int) -> None:
    rng = np.random.default_rng(seed)
    arrival, scope, blocks, inputs = many_scopes(rng, 600, int(rng.integers(2, 60)))
    factor = int(rng.choice([1, 2]))
    rows = rng.permutation(blocks.n_requests)[: blocks.n_requests - 50].astype(np.int64)
    view = BlockView(blocks, rows, factor)
    ttls: list[float | None] = [None, 0.0, 1.0, 2.5, 7.0]
    min_prefix = int(rng.choice([0, 4, 9]))
    partial = bool(rng.integers(0, 2))
    picked = (arrival[rows], scope[rows], view, inputs[rows])
    mapper = ShuffledMap(seed)
    fanout = Fanout(mapper, min_part_size=int(rng.integers(1, 40)))
    split = _replays(*picked, ttls, min_prefix, partial, fanout)
    whole = _replays(*picked, ttls, min_prefix, partial, None)
    _same(split, whole)
    assert mapper.calls == 1
    assert mapper.parts > 1


def test_parts_are_sliced_like_the_whole_replay(monkeypatch: pytest.MonkeyPatch) -> None:
    """Slices of hashes inside each part (a part of a large log is sliced too) change nothing."""
    monkeypatch.setattr(prompt_cache, "REPLAY_SLICE", 16)
    rng = np.random.default_rng(99)
    arrival, scope, blocks, inputs = many_scopes(rng, 800, 12)
    picked = (arrival, scope, BlockView.of(blocks), inputs)
    fanout = Fanout(ShuffledMap(1), min_part_size=200)
    _same(
        _replays(*picked, [None, 3.0], 0, True, fanout),
        _replays(*picked, [None, 3.0], 0, True, None),
    )


def test_one_part_replays_whole_without_the_map() -> None:
    rng = np.random.default_rng(5)
    arrival, scope, blocks, inputs = many_scopes(rng, 100, 5)
    mapper = ShuffledMap(0)
    picked = (arrival, scope, BlockView.of(blocks), inputs)
    split = _replays(*picked, [1.0], 0, False, Fanout(mapper))
    _same(split, _replays(*picked, [1.0], 0, False, None))
    assert mapper.calls == 0


def test_the_sequential_map_keeps_the_order_of_the_parts() -> None:
    assert sequential(str, [3, 1, 2]) == ["3", "1", "2"]


def test_grouped_parts_hold_whole_scopes_of_at_least_the_minimum() -> None:
    rng = np.random.default_rng(3)
    scope = rng.integers(-5, 40, size=2_000).astype(np.int64)
    sizes = rng.integers(0, 5, size=2_000).astype(np.int64)
    parts = grouped_parts(scope, sizes, 150)
    assert len(parts) > 5
    seen = np.concatenate(parts)
    assert np.array_equal(np.sort(seen), np.flatnonzero(sizes > 0))
    scopes_of = [set(scope[rows].tolist()) for rows in parts]
    assert sum(len(found) for found in scopes_of) == len(set().union(*scopes_of))
    for rows in parts:
        assert np.all(np.diff(rows) > 0)
    assert all(int(sizes[rows].sum()) >= 150 for rows in parts[:-1])
    assert grouped_parts(scope, np.zeros_like(sizes), 10) == []


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("ttl", [None, 0.0, 2.0, 9.5])
def test_a_response_replay_in_parts_of_whole_keys_is_the_whole_replay(
    seed: int, ttl: float | None
) -> None:
    rng = np.random.default_rng(seed)
    size = 3_000
    keys = rng.integers(0, 400, size=size).astype(np.uint64)
    keys[rng.random(size) < 0.05] = NO_KEY
    keys[rng.random(size) < 0.2] = np.uint64(2**63 + 12_345)  # one hot key, above int64
    arrival = rng.integers(0, 50, size=size).astype(np.float64) / 4
    mapper = ShuffledMap(seed)
    split = replay_response_cache(arrival, keys, ttl, Fanout(mapper, min_part_size=200))
    whole = replay_response_cache(arrival, keys, ttl)
    assert np.array_equal(split, whole)
    assert mapper.parts > 1
    assert not split[keys == NO_KEY].any()


def test_a_small_response_replay_runs_whole_without_the_map() -> None:
    mapper = ShuffledMap(0)
    keys = np.array([1, 2, 1, 2], dtype=np.uint64)
    hits = replay_response_cache(np.arange(4.0), keys, None, Fanout(mapper, min_part_size=3))
    assert hits.tolist() == [False, False, True, True]
    assert mapper.calls == 0


def _rules(make_table: MakeTable) -> PriceTable:
    prices = {
        name: {"input": "1", "output": "2", "cached_input": "0.1", "tokenizer": "cl100k_base"}
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
    return PriceTable.model_validate({**table.model_dump(), "cache_rules": {"test": rule}})


def test_a_scenario_with_a_fanout_is_the_scenario_without(make_table: MakeTable) -> None:
    """A described workload of three models (three cache scopes), under both caches, with a range
    (Monte Carlo draws) and the cache band: every replay of the scenario split, the same run."""
    file, workload = three_scope_scenario(
        {
            "name": "both",
            "response_cache": {"ttl": "1h", "near_duplicate_rate": [0, 0.1]},
            "prompt_cache": {"preset": "test"},
        }
    )
    table = _rules(make_table)
    mapper = ShuffledMap(2)
    fanout = Fanout(mapper, min_part_size=10)
    split = scenario_run(workload, file.scenarios[0], table, file, (), fanout=fanout)
    whole = scenario_run(workload, file.scenarios[0], table, file, ())
    assert split == whole
    assert whole.result.details.prompt_cache is not None
    assert whole.result.details.prompt_cache.hit_rate.central > 0
    assert mapper.calls >= 13  # the run, ten draws and both ends of the band
    assert whole.result.monthly_usd is not None and whole.result.monthly_usd > Decimal(0)
