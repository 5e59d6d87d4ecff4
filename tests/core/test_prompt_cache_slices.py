"""The sliced prefix-cache replay against a plain sequential one (a dict per scope, request by request)
on small random logs, with slices small enough that every replay is cut into many of them."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from costaudit.core import prompt_cache
from costaudit.core.prompt_cache import (
    BlockView,
    PrefixBlocks,
    coarsen,
    from_lists,
    replay_prefix_cache,
    replay_prefix_cache_at,
    take,
)
from support import prefix_chains


def _reference(
    arrival: npt.NDArray[np.float64],
    scope: npt.NDArray[np.int64],
    blocks: PrefixBlocks,
    inputs: npt.NDArray[np.int64],
    ttl: float | None,
    min_prefix: int,
    partial: bool,
) -> tuple[list[int], list[int]]:
    """Hit and write tokens per request, replayed one request at a time."""
    size = blocks.block_tokens
    horizon = math.inf if ttl is None else ttl
    caches: dict[int, dict[int, float]] = {}
    hits = [0] * len(inputs)
    writes = [0] * len(inputs)
    for request in np.argsort(arrival, kind="stable").tolist():
        tokens = int(inputs[request])
        covered = tokens // size + (1 if partial and tokens % size else 0)
        start, end = int(blocks.offsets[request]), int(blocks.offsets[request + 1])
        count = min(end - start, covered) if tokens >= min_prefix else 0
        own = [int(value) for value in blocks.hashes[start : start + count]]
        cache = caches.setdefault(int(scope[request]), {})
        now = float(arrival[request])
        run = 0
        for value in own:
            used = cache.get(value)
            if used is None or now - used > horizon:
                break
            run += 1
        for value in own:
            cache[value] = now
        hit = min(run * size, tokens)
        hit = 0 if hit < min_prefix else hit
        hits[request] = hit
        writes[request] = max(min(count * size, tokens) - hit, 0)
    return hits, writes


def _random_log(
    rng: np.random.Generator, requests: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], PrefixBlocks, npt.NDArray[np.int64]]:
    """Requests sharing prefixes from a few trees of chained ids, with tied arrivals, a few repeated
    hashes inside one request, two scopes and inputs shorter or longer than their blocks."""
    blocks = from_lists(prefix_chains(rng, requests), 4)
    arrival = rng.integers(0, 40, size=requests).astype(np.float64) / 2
    scope = rng.integers(0, 2, size=requests).astype(np.int64)
    inputs = blocks.block_counts * 4 - rng.integers(-3, 4, size=requests)
    return arrival, scope, blocks, np.maximum(inputs, 0).astype(np.int64)


@pytest.mark.parametrize("seed", range(12))
def test_sliced_replay_matches_the_sequential_one(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(seed)
    monkeypatch.setattr(prompt_cache, "REPLAY_SLICE", int(rng.integers(1, 30)))
    arrival, scope, blocks, inputs = _random_log(rng, int(rng.integers(1, 80)))
    if seed % 3 == 0:  # already in arrival order: replayed without reordering
        arrival = np.sort(arrival)
    for ttl in (None, 0.0, 1.5, 4.0):
        for min_prefix, partial in ((0, False), (0, True), (9, True), (13, False)):
            replay = replay_prefix_cache(
                arrival,
                scope,
                blocks,
                inputs,
                ttl_s=ttl,
                min_prefix_tokens=min_prefix,
                count_partial_block=partial,
            )
            expected = _reference(arrival, scope, blocks, inputs, ttl, min_prefix, partial)
            assert (replay.hit_tokens.tolist(), replay.write_tokens.tolist()) == expected


@pytest.mark.parametrize("seed", range(8))
def test_a_view_replays_like_the_copied_coarser_blocks(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Requests picked from a larger log and read two or three blocks at a time give what taking them
    out and coarsening them gives, at every lifetime of one call."""
    rng = np.random.default_rng(100 + seed)
    monkeypatch.setattr(prompt_cache, "REPLAY_SLICE", int(rng.integers(1, 20)))
    arrival, scope, blocks, inputs = _random_log(rng, 60)
    rows = rng.choice(60, size=int(rng.integers(1, 60)), replace=False).astype(np.int64)
    factor = int(rng.integers(1, 4))
    ttls = [None, 1.0, 3.5]
    viewed = replay_prefix_cache_at(
        arrival[rows],
        scope[rows],
        BlockView(blocks, rows, factor),
        inputs[rows],
        ttls=ttls,
        min_prefix_tokens=4,
        count_partial_block=True,
    )
    copied = take(blocks, rows)
    if factor > 1:
        copied = coarsen(copied, 4 * factor)
    for ttl, replay in zip(ttls, viewed, strict=True):
        expected = _reference(arrival[rows], scope[rows], copied, inputs[rows], ttl, 4, True)
        assert (replay.hit_tokens.tolist(), replay.write_tokens.tolist()) == expected


@pytest.mark.parametrize("spread", [0, 1, 0x9E3779B97F4A7C15])
def test_grouping_order_is_a_stable_sort_by_scope_and_hash(
    spread: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks of equal (scope, hash) come together in their given order, also when the packed sort
    keys clash (a spread of 0 makes every key clash, 1 makes hashes differing only in their low bits
    clash)."""
    monkeypatch.setattr(prompt_cache, "_SPREAD", np.uint64(spread))
    rng = np.random.default_rng(spread % 1000)
    for size in (1, 7, 300):
        hashes = rng.choice(np.array([3, 5, 2**40 + 3, 2**63 + 5], dtype=np.uint64), size=size)
        scopes = rng.integers(0, 3, size=size).astype(np.int64)
        order = prompt_cache.grouped_order(hashes, scopes)
        assert sorted(order.tolist()) == list(range(size))
        pairs = list(zip(scopes[order].tolist(), hashes[order].tolist(), strict=True))
        groups = [
            pair for index, pair in enumerate(pairs) if index == 0 or pair != pairs[index - 1]
        ]
        assert len(groups) == len(set(pairs))
        for pair in set(pairs):
            members = [int(i) for i, other in zip(order, pairs, strict=True) if other == pair]
            assert members == sorted(members)


def test_sliced_replay_with_every_key_clashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prompt_cache, "_SPREAD", np.uint64(0))
    monkeypatch.setattr(prompt_cache, "REPLAY_SLICE", 9)
    arrival, scope, blocks, inputs = _random_log(np.random.default_rng(5), 70)
    replay = replay_prefix_cache(arrival, scope, blocks, inputs, ttl_s=2.0, min_prefix_tokens=5)
    expected = _reference(arrival, scope, blocks, inputs, 2.0, 5, False)
    assert (replay.hit_tokens.tolist(), replay.write_tokens.tolist()) == expected


class _ArrayStore:
    """Hashes "kept outside memory", counting the reads so a test can see the passes."""

    def __init__(self, hashes: npt.NDArray[np.uint64]) -> None:
        self.hashes = hashes
        self.reads = 0

    def read(self, start: int, stop: int) -> npt.NDArray[np.uint64]:
        self.reads += 1
        return self.hashes[start:stop].copy()


@pytest.mark.parametrize("seed", range(10))
def test_blocks_kept_in_a_store_replay_like_blocks_in_memory(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read in passes over small chunks of a store, requests picked in any order or in stored order
    (some twice, as a cascade's copies are), arriving in order or not, at any granularity: the
    sequential replay's tokens at every lifetime."""
    rng = np.random.default_rng(200 + seed)
    monkeypatch.setattr(prompt_cache, "REPLAY_SLICE", int(rng.integers(1, 20)))
    monkeypatch.setattr(prompt_cache, "STORE_CHUNK", int(rng.integers(1, 40)))
    monkeypatch.setattr(prompt_cache, "SLICES_PER_PASS", int(rng.integers(1, 4)))
    arrival, scope, blocks, inputs = _random_log(rng, 60)
    store = _ArrayStore(blocks.hashes)
    stored = prompt_cache.StoredBlocks(blocks.offsets, store, blocks.block_tokens)
    rows = rng.integers(0, 60, size=int(rng.integers(1, 90))).astype(np.int64)
    if seed % 2:  # already in arrival order and in stored order, as a saved log usually is
        arrival = np.sort(arrival)
        rows = np.sort(rows)
    factor = int(rng.integers(1, 4))
    ttls = [None, 1.0, 3.5]
    replays = replay_prefix_cache_at(
        arrival[rows],
        scope[rows],
        BlockView(stored, rows, factor),
        inputs[rows],
        ttls=ttls,
        min_prefix_tokens=4,
        count_partial_block=True,
    )
    copied = coarsen(take(blocks, rows), 4 * factor) if factor > 1 else take(blocks, rows)
    for ttl, replay in zip(ttls, replays, strict=True):
        expected = _reference(arrival[rows], scope[rows], copied, inputs[rows], ttl, 4, True)
        assert (replay.hit_tokens.tolist(), replay.write_tokens.tolist()) == expected
    assert store.reads > 0


def test_stored_blocks_are_read_back_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Taking, coarsening and gathering from a store give what the same calls give in memory, and a
    copy sent to another process carries the hashes themselves."""
    import pickle

    monkeypatch.setattr(prompt_cache, "STORE_CHUNK", 7)
    _, _, blocks, _ = _random_log(np.random.default_rng(9), 50)
    stored = prompt_cache.StoredBlocks(blocks.offsets, _ArrayStore(blocks.hashes), 4)
    rows = np.array([49, 0, 3, 3, 17], dtype=np.int64)
    for picked, expected in (
        (take(stored, rows), take(blocks, rows)),
        (coarsen(stored, 12), coarsen(blocks, 12)),
        (prompt_cache.in_memory(stored), blocks),
        (pickle.loads(pickle.dumps(stored)), blocks),
    ):
        assert isinstance(picked, PrefixBlocks)
        assert picked.offsets.tolist() == expected.offsets.tolist()
        assert picked.hashes.tolist() == expected.hashes.tolist()
