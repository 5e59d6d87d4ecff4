"""Prefix-cache replay: hand-checked cases, the Mooncake reference numbers, and properties."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costaudit.core.prompt_cache import (
    CacheReplay,
    PrefixBlocks,
    chained_block_hashes,
    coarsen,
    from_lists,
    hit_rate_band,
    replay_prefix_cache,
    synthetic_prefix_blocks,
    take,
)


def _replay(
    hash_lists: Sequence[Sequence[int]],
    inputs: Sequence[int],
    arrivals: Sequence[float],
    *,
    block_tokens: int = 10,
    scope: Sequence[int] | None = None,
    ttl_s: float | None = None,
    min_prefix_tokens: int = 0,
    count_partial_block: bool = False,
) -> CacheReplay:
    return replay_prefix_cache(
        np.asarray(arrivals, dtype=np.float64),
        np.zeros(len(inputs), dtype=np.int64) if scope is None else np.asarray(scope, np.int64),
        from_lists(hash_lists, block_tokens),
        np.asarray(inputs, dtype=np.int64),
        ttl_s=ttl_s,
        min_prefix_tokens=min_prefix_tokens,
        count_partial_block=count_partial_block,
    )


def _tokens(result: CacheReplay) -> tuple[list[int], list[int]]:
    return result.hit_tokens.tolist(), result.write_tokens.tolist()


# --- PrefixBlocks helpers -------------------------------------------------------------------------


def test_from_lists_builds_csr_offsets() -> None:
    blocks = from_lists([[5, 6], [], [7, 8, 9]], 16)
    assert blocks.offsets.tolist() == [0, 2, 2, 5]
    assert blocks.hashes.tolist() == [5, 6, 7, 8, 9]
    assert blocks.hashes.dtype == np.uint64
    assert blocks.n_requests == 3
    assert blocks.block_counts.tolist() == [2, 0, 3]
    via_class = PrefixBlocks.from_lists([[5, 6], [], [7, 8, 9]], 16)
    assert via_class.offsets.tolist() == blocks.offsets.tolist()
    assert via_class.hashes.tolist() == blocks.hashes.tolist()


def test_prefix_blocks_rejects_inconsistent_offsets() -> None:
    with pytest.raises(ValueError, match="offsets end"):
        PrefixBlocks(np.array([0, 3], np.int64), np.array([1, 2], np.uint64), 16)
    with pytest.raises(ValueError, match="non-decreasing"):
        PrefixBlocks(np.array([0, 2, 1, 2], np.int64), np.array([1, 2], np.uint64), 16)
    with pytest.raises(ValueError, match="block_tokens"):
        PrefixBlocks(np.array([0], np.int64), np.array([], np.uint64), 0)


def test_take_selects_and_reorders_requests() -> None:
    blocks = from_lists([[1, 2], [3], [4, 5, 6]], 8)
    picked = take(blocks, np.array([2, 0, 2], dtype=np.int64))
    assert picked.offsets.tolist() == [0, 3, 5, 8]
    assert picked.hashes.tolist() == [4, 5, 6, 1, 2, 4, 5, 6]
    assert picked.block_tokens == 8


def test_coarsen_keeps_every_kth_hash_and_the_trailing_partial_one() -> None:
    blocks = from_lists([[1, 2, 3, 4, 5], [6, 7, 8, 9], [10], []], 64)
    coarse = coarsen(blocks, 128)
    assert coarse.block_tokens == 128
    assert coarse.offsets.tolist() == [0, 3, 5, 6, 6]
    assert coarse.hashes.tolist() == [2, 4, 5, 7, 9, 10]
    assert coarsen(blocks, 64).hashes.tolist() == blocks.hashes.tolist()


def test_coarsen_rejects_granularity_that_is_not_a_multiple() -> None:
    blocks = from_lists([[1, 2]], 64)
    with pytest.raises(ValueError, match="multiple"):
        coarsen(blocks, 96)
    with pytest.raises(ValueError, match="multiple"):
        coarsen(blocks, 32)


# --- chained_block_hashes -------------------------------------------------------------------------


def test_chained_hashes_are_blake2b_over_previous_hash_and_block() -> None:
    hashes = chained_block_hashes([1, 2, 3, 4, 5], 2)
    assert hashes.dtype == np.uint64
    assert hashes.size == 3  # the partial block [5] is included
    first = hashlib.blake2b(bytes(8) + np.array([1, 2], "<u4").tobytes(), digest_size=8).digest()
    second = hashlib.blake2b(first + np.array([3, 4], "<u4").tobytes(), digest_size=8).digest()
    assert int(hashes[0]) == int.from_bytes(first, "little")
    assert int(hashes[1]) == int.from_bytes(second, "little")


def test_chained_hashes_identify_whole_prefixes() -> None:
    base = chained_block_hashes(np.array([1, 2, 3, 4, 5, 6], dtype=np.uint32), 2)
    same_start = chained_block_hashes([1, 2, 3, 4, 9, 9], 2)
    other_start = chained_block_hashes([0, 2, 3, 4, 5, 6], 2)
    assert base[:2].tolist() == same_start[:2].tolist()
    assert base[2] != same_start[2]
    assert not set(base.tolist()) & set(other_start.tolist())
    assert chained_block_hashes([], 4).size == 0
    with pytest.raises(ValueError, match="positive"):
        chained_block_hashes([1], 0)


# --- synthetic_prefix_blocks ----------------------------------------------------------------------


def test_synthetic_blocks_share_only_prefixes_inside_the_shared_part() -> None:
    inputs = np.array([1000, 1500, 300, 300], dtype=np.int64)
    blocks = synthetic_prefix_blocks(inputs, 600, 256)
    per_request = [
        blocks.hashes[blocks.offsets[i] : blocks.offsets[i + 1]].tolist() for i in range(4)
    ]
    assert [len(h) for h in per_request] == [4, 6, 2, 2]
    assert per_request[0][:2] == per_request[1][:2]  # blocks ending at 256 and 512 ≤ 600
    assert per_request[0][2] != per_request[1][2]  # block ending at 768 is past the shared part
    assert per_request[2] == per_request[3]  # both are exactly the first 300 shared tokens
    assert per_request[2][0] == per_request[0][0]
    assert per_request[2][1] not in per_request[0] + per_request[1]
    unique = per_request[0][2:] + per_request[1][2:]
    assert len(set(unique)) == len(unique)


def test_synthetic_blocks_groups_do_not_share() -> None:
    inputs = np.array([512, 512, 512], dtype=np.int64)
    blocks = synthetic_prefix_blocks(inputs, 512, 256, group=np.array([0, 1, 0], np.int64))
    hashes = blocks.hashes.reshape(3, 2).tolist()
    assert hashes[0] == hashes[2]
    assert not set(hashes[0]) & set(hashes[1])


def test_synthetic_blocks_replay_hits_the_shared_prefix() -> None:
    inputs = np.array([1000, 1000, 200], dtype=np.int64)
    blocks = synthetic_prefix_blocks(inputs, 600, 100)
    result = replay_prefix_cache(
        np.array([0.0, 1.0, 2.0]),
        np.zeros(3, dtype=np.int64),
        blocks,
        inputs,
        ttl_s=None,
    )
    assert _tokens(result) == ([0, 600, 200], [1000, 400, 0])


# --- replay: hand-built cases ---------------------------------------------------------------------


def test_two_requests_sharing_three_of_four_blocks() -> None:
    result = _replay([[1, 2, 3, 4], [1, 2, 3, 5]], [40, 40], [0.0, 1.0])
    assert _tokens(result) == ([0, 30], [40, 10])
    assert result.hit_rate == pytest.approx(30 / 80)
    assert result.write_rate == pytest.approx(50 / 80)


def test_match_stops_at_first_missing_block() -> None:
    result = _replay([[1, 2, 3], [1, 9, 3]], [30, 30], [0.0, 1.0])
    assert _tokens(result) == ([0, 10], [30, 20])


def test_entry_expires_after_ttl_and_gap_equal_to_ttl_still_hits() -> None:
    hashes = [[1, 2], [1, 2], [1, 2]]
    result = _replay(hashes, [20, 20, 20], [0.0, 10.0, 20.5], ttl_s=10.0)
    assert _tokens(result) == ([0, 20, 0], [20, 0, 20])


def test_hits_refresh_the_ttl_across_a_chain_of_short_gaps() -> None:
    arrivals = [0.0, 8.0, 16.0, 24.0, 32.0]
    result = _replay([[1, 2]] * 5, [20] * 5, arrivals, ttl_s=10.0)
    assert result.hit_tokens.tolist() == [0, 20, 20, 20, 20]
    assert result.write_tokens.tolist() == [20, 0, 0, 0, 0]


def test_only_the_blocks_a_request_used_are_refreshed() -> None:
    hashes = [[1, 2, 3, 4], [1, 2, 9], [1, 2, 3, 4]]
    result = _replay(hashes, [40, 30, 40], [0.0, 8.0, 16.0], ttl_s=10.0)
    assert _tokens(result) == ([0, 20, 20], [40, 10, 20])


def test_scopes_have_separate_caches() -> None:
    hashes = [[1, 2], [1, 2], [1, 2]]
    result = _replay(hashes, [20, 20, 20], [0.0, 1.0, 2.0], scope=[0, 1, 0])
    assert _tokens(result) == ([0, 0, 20], [20, 20, 0])


def test_request_below_minimum_neither_reads_nor_writes() -> None:
    hashes = [[1, 2, 3], [1, 2], [7, 8], [7, 8, 9]]
    inputs = [30, 20, 20, 30]
    result = _replay(hashes, inputs, [0.0, 1.0, 2.0, 3.0], min_prefix_tokens=25)
    # request 1 would match 20 tokens and request 3 would match request 2's blocks without the minimum
    assert _tokens(result) == ([0, 0, 0, 0], [30, 0, 0, 30])
    without_minimum = _replay(hashes, inputs, [0.0, 1.0, 2.0, 3.0])
    assert _tokens(without_minimum) == ([0, 20, 0, 20], [30, 0, 20, 10])


def test_match_shorter_than_minimum_counts_as_zero() -> None:
    hashes = [[1, 2, 3], [1, 5, 6], [1, 2, 7]]
    result = _replay(hashes, [30, 30, 30], [0.0, 1.0, 2.0], min_prefix_tokens=20)
    assert _tokens(result) == ([0, 0, 20], [30, 30, 10])


def test_partial_last_block_counted_only_when_asked() -> None:
    hashes = [[1, 2, 3], [1, 2, 3]]
    with_partial = _replay(hashes, [25, 25], [0.0, 1.0], count_partial_block=True)
    assert _tokens(with_partial) == ([0, 25], [25, 0])
    full_only = _replay(hashes, [25, 25], [0.0, 1.0], count_partial_block=False)
    assert _tokens(full_only) == ([0, 20], [20, 0])


def test_hit_is_capped_at_input_length() -> None:
    hashes = [[1, 2, 3], [1, 2, 3]]
    result = _replay(hashes, [30, 21], [0.0, 1.0], count_partial_block=True)
    assert _tokens(result) == ([0, 21], [30, 0])


def test_results_are_in_original_order_when_input_is_unsorted() -> None:
    hashes = [[1, 2, 3], [1, 2], [1]]
    result = _replay(hashes, [30, 20, 10], [5.0, 0.0, 3.0])
    # arrival order: request 1 (writes 1, 2), request 2 (hits 1), request 0 (hits 1, 2)
    assert _tokens(result) == ([20, 0, 10], [10, 20, 0])


def test_ties_are_processed_in_input_order() -> None:
    result = _replay([[1, 2], [1, 2]], [20, 20], [3.0, 3.0])
    assert _tokens(result) == ([0, 20], [20, 0])


def test_empty_log_has_zero_hit_rate() -> None:
    result = _replay([], [], [])
    assert result.hit_tokens.size == 0
    assert result.hit_rate == 0.0
    assert result.write_rate == 0.0


def test_replay_rejects_mismatched_lengths_and_bad_parameters() -> None:
    with pytest.raises(ValueError, match="input_tokens"):
        replay_prefix_cache(
            np.array([0.0, 1.0]),
            np.zeros(2, dtype=np.int64),
            from_lists([[1], [2]], 10),
            np.array([10], dtype=np.int64),
            ttl_s=None,
        )
    with pytest.raises(ValueError, match="ttl_s"):
        _replay([[1]], [10], [0.0], ttl_s=-1.0)
    with pytest.raises(ValueError, match="finite"):
        _replay([[1]], [10], [math.nan])


def _random_prompts(rng: np.random.Generator, count: int) -> list[npt.NDArray[np.uint32]]:
    """Prompts that reuse a few system prompts and extend each other, so prefixes collide."""
    system = [rng.integers(0, 50_000, size=size, dtype=np.uint32) for size in (100, 300, 700)]
    prompts: list[npt.NDArray[np.uint32]] = []
    for _ in range(count):
        if prompts and rng.random() < 0.4:
            start = prompts[int(rng.integers(len(prompts)))]
        else:
            start = system[int(rng.integers(len(system)))]
        tail = rng.integers(0, 50_000, size=int(rng.integers(0, 400)), dtype=np.uint32)
        prompts.append(np.concatenate([start, tail]))
    return prompts


@pytest.mark.parametrize("count_partial_block", [False, True])
def test_coarsened_hashes_replay_like_hashes_built_at_the_coarse_size(
    count_partial_block: bool,
) -> None:
    rng = np.random.default_rng(7)
    prompts = _random_prompts(rng, 60)
    inputs = np.array([p.size for p in prompts], dtype=np.int64)
    arrivals = np.sort(rng.uniform(0, 600, size=len(prompts)))
    scope = rng.integers(0, 2, size=len(prompts)).astype(np.int64)
    fine = from_lists([chained_block_hashes(p, 64).tolist() for p in prompts], 64)
    direct = from_lists([chained_block_hashes(p, 128).tolist() for p in prompts], 128)
    coarse = coarsen(fine, 128)
    assert coarse.offsets.tolist() == direct.offsets.tolist()
    results = [
        replay_prefix_cache(
            arrivals,
            scope,
            blocks,
            inputs,
            ttl_s=120.0,
            min_prefix_tokens=256,
            count_partial_block=count_partial_block,
        )
        for blocks in (coarse, direct)
    ]
    assert results[0].hit_tokens.tolist() == results[1].hit_tokens.tolist()
    assert results[0].write_tokens.tolist() == results[1].write_tokens.tolist()
    assert results[0].hit_rate > 0.2  # the comparison is not vacuous


def test_hit_rate_band_orders_low_central_high() -> None:
    hashes = [[1, 2]] * 4
    arrivals = np.array([0.0, 30.0, 100.0, 1000.0])
    band = hit_rate_band(
        arrivals,
        np.zeros(4, dtype=np.int64),
        from_lists(hashes, 10),
        np.full(4, 20, dtype=np.int64),
        ttl_s=60.0,
        ttl_low_s=10.0,
    )
    assert (band.low, band.central, band.high) == (0.0, 0.25, 0.75)
    assert band.central_replay.hit_tokens.tolist() == [0, 20, 0, 0]
    with pytest.raises(ValueError, match="ttl_low_s"):
        hit_rate_band(
            arrivals,
            np.zeros(4, dtype=np.int64),
            from_lists(hashes, 10),
            np.full(4, 20, dtype=np.int64),
            ttl_s=5.0,
            ttl_low_s=10.0,
        )


# --- Mooncake FAST'25 traces (routing.md §6.3) ----------------------------------------------------


@dataclass(frozen=True)
class _Trace:
    arrival_s: npt.NDArray[np.float64]
    input_tokens: npt.NDArray[np.int64]
    hash_ids: list[list[int]]
    timestamps_ms: list[int]

    def replay(self, ttl_s: float | None) -> CacheReplay:
        return replay_prefix_cache(
            self.arrival_s,
            np.zeros(self.input_tokens.size, dtype=np.int64),
            from_lists(self.hash_ids, 512),
            self.input_tokens,
            ttl_s=ttl_s,
            count_partial_block=True,
        )


def _load_trace(path: Path) -> _Trace:
    with path.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return _Trace(
        arrival_s=np.array([row["timestamp"] for row in rows], dtype=np.float64) / 1000,
        input_tokens=np.array([row["input_length"] for row in rows], dtype=np.int64),
        hash_ids=[row["hash_ids"] for row in rows],
        timestamps_ms=[row["timestamp"] for row in rows],
    )


@pytest.fixture(scope="module")
def mooncake(shared_data: Path) -> dict[str, _Trace]:
    folder = shared_data / "mooncake-fast25"
    return {
        name: _load_trace(folder / f"{name}_trace.jsonl") for name in ("conversation", "synthetic")
    }


def _simplest_infinite_replay(trace: _Trace) -> float:
    """Leading ids already seen × 512, capped at the input; written without the module's code."""
    order = sorted(range(len(trace.hash_ids)), key=lambda i: trace.timestamps_ms[i])
    seen: set[int] = set()
    hit = 0
    for i in order:
        matched = 0
        for block_id in trace.hash_ids[i]:
            if block_id not in seen:
                break
            matched += 1
        hit += min(matched * 512, int(trace.input_tokens[i]))
        seen.update(trace.hash_ids[i])
    return hit / int(trace.input_tokens.sum())


@pytest.mark.shared_data
@pytest.mark.parametrize(("name", "expected"), [("conversation", 0.374), ("synthetic", 0.651)])
def test_mooncake_infinite_cache_matches_simple_replay_and_research(
    mooncake: dict[str, _Trace], name: str, expected: float
) -> None:
    trace = mooncake[name]
    hit_rate = trace.replay(None).hit_rate
    assert hit_rate == _simplest_infinite_replay(trace)
    assert hit_rate == pytest.approx(expected, abs=0.0015)


@pytest.mark.shared_data
@pytest.mark.parametrize(("name", "expected"), [("conversation", 0.293), ("synthetic", 0.595)])
def test_mooncake_five_minute_ttl_matches_research(
    mooncake: dict[str, _Trace], name: str, expected: float
) -> None:
    assert mooncake[name].replay(300.0).hit_rate == pytest.approx(expected, abs=0.002)


# --- properties -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Log:
    arrival_s: npt.NDArray[np.float64]
    scope: npt.NDArray[np.int64]
    blocks: PrefixBlocks
    input_tokens: npt.NDArray[np.int64]


@st.composite
def _logs(draw: st.DrawFn) -> _Log:
    """Short prompts over a two-token alphabet with 2-token blocks, so prefixes collide often.

    Input lengths sometimes differ from the token count so the cap at the input length and
    hashes beyond the input are exercised too.
    """
    count = draw(st.integers(0, 25))
    prompts = [draw(st.lists(st.integers(0, 1), max_size=9)) for _ in range(count)]
    inputs = [
        draw(st.sampled_from([len(p), len(p), max(len(p) - 1, 0), len(p) + 3])) for p in prompts
    ]
    arrivals = draw(st.lists(st.integers(0, 40), min_size=count, max_size=count))
    scopes = draw(st.lists(st.integers(0, 1), min_size=count, max_size=count))
    return _Log(
        arrival_s=np.asarray(arrivals, dtype=np.float64),
        scope=np.asarray(scopes, dtype=np.int64),
        blocks=from_lists([chained_block_hashes(p, 2).tolist() for p in prompts], 2),
        input_tokens=np.asarray(inputs, dtype=np.int64),
    )


def _reference_replay(
    log: _Log, ttl_s: float | None, min_prefix_tokens: int, count_partial_block: bool
) -> tuple[list[int], list[int]]:
    """A deliberately naive replay: a list of (scope, hash, last use) entries searched linearly."""
    size = log.blocks.block_tokens
    entries: list[tuple[int, int, float]] = []
    hits = [0] * log.blocks.n_requests
    writes = [0] * log.blocks.n_requests
    for i in sorted(range(log.blocks.n_requests), key=lambda i: float(log.arrival_s[i])):
        scope, now, length = int(log.scope[i]), float(log.arrival_s[i]), int(log.input_tokens[i])
        if length < min_prefix_tokens:
            continue
        own = log.blocks.hashes[log.blocks.offsets[i] : log.blocks.offsets[i + 1]].tolist()
        usable = length // size + (1 if count_partial_block and length % size else 0)
        own = own[:usable]

        present = {h for s, h, t in entries if s == scope and (ttl_s is None or now - t <= ttl_s)}
        matched = 0
        while matched < len(own) and own[matched] in present:
            matched += 1
        hit = min(matched * size, length)
        hits[i] = hit if hit >= min_prefix_tokens else 0
        writes[i] = min(len(own) * size, length) - hits[i]
        entries = [e for e in entries if not (e[0] == scope and e[1] in own)]
        entries += [(scope, block, now) for block in own]
    return hits, writes


def _replay_log(
    log: _Log, ttl_s: float | None, min_prefix_tokens: int, count_partial_block: bool
) -> CacheReplay:
    return replay_prefix_cache(
        log.arrival_s,
        log.scope,
        log.blocks,
        log.input_tokens,
        ttl_s=ttl_s,
        min_prefix_tokens=min_prefix_tokens,
        count_partial_block=count_partial_block,
    )


_ttls = st.one_of(st.none(), st.integers(0, 15).map(float))


@settings(max_examples=300, deadline=None)
@given(
    log=_logs(),
    ttl_s=_ttls,
    min_prefix_tokens=st.integers(0, 6),
    count_partial_block=st.booleans(),
)
def test_replay_equals_naive_reference(
    log: _Log, ttl_s: float | None, min_prefix_tokens: int, count_partial_block: bool
) -> None:
    result = _replay_log(log, ttl_s, min_prefix_tokens, count_partial_block)
    expected = _reference_replay(log, ttl_s, min_prefix_tokens, count_partial_block)
    assert _tokens(result) == expected


@settings(max_examples=200, deadline=None)
@given(
    log=_logs(),
    ttl_s=_ttls,
    min_prefix_tokens=st.integers(0, 6),
    count_partial_block=st.booleans(),
)
def test_hits_and_writes_never_exceed_input(
    log: _Log, ttl_s: float | None, min_prefix_tokens: int, count_partial_block: bool
) -> None:
    result = _replay_log(log, ttl_s, min_prefix_tokens, count_partial_block)
    assert np.all(result.hit_tokens >= 0)
    assert np.all(result.write_tokens >= 0)
    assert np.all(result.hit_tokens <= log.input_tokens)
    assert np.all(result.hit_tokens + result.write_tokens <= log.input_tokens)


@settings(max_examples=200, deadline=None)
@given(
    log=_logs(),
    shorter=st.integers(0, 15),
    longer=st.integers(0, 15),
    min_prefix_tokens=st.integers(0, 6),
)
def test_longer_ttl_never_loses_a_hit(
    log: _Log, shorter: int, longer: int, min_prefix_tokens: int
) -> None:
    shorter, longer = sorted((shorter, longer))
    per_ttl = [
        _replay_log(log, ttl, min_prefix_tokens, count_partial_block=True).hit_tokens
        for ttl in (float(shorter), float(longer), None)
    ]
    assert np.all(per_ttl[0] <= per_ttl[1])
    assert np.all(per_ttl[1] <= per_ttl[2])


@settings(max_examples=100, deadline=None)
@given(log=_logs(), seed=st.integers(0, 2**32 - 1))
def test_request_order_in_the_log_does_not_matter_when_times_are_distinct(
    log: _Log, seed: int
) -> None:
    distinct = log.arrival_s + np.arange(log.arrival_s.size) * 1e-3
    permutation = np.random.default_rng(seed).permutation(distinct.size).astype(np.int64)

    def replay(index: npt.NDArray[np.int64]) -> CacheReplay:
        return replay_prefix_cache(
            distinct[index],
            log.scope[index],
            take(log.blocks, index),
            log.input_tokens[index],
            ttl_s=5.0,
        )

    original = replay(np.arange(distinct.size, dtype=np.int64))
    shuffled = replay(permutation)
    assert shuffled.hit_tokens.tolist() == original.hit_tokens[permutation].tolist()
    assert shuffled.write_tokens.tolist() == original.write_tokens[permutation].tolist()
