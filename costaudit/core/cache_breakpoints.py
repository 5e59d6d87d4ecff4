"""Prompt caching with explicit breakpoints, as Anthropic (and Bedrock) bill it.

With explicit caching a request marks up to four breakpoints (`cache_control`) in its prompt. Only the
prefix ending at a breakpoint is written to the cache — one entry per breakpoint — and a request reads
the longest entry that matches a prefix of its prompt up to its last breakpoint. The write is billed for
the tokens from the end of the hit to the last breakpoint (at 1.25× or 2× the input price); tokens after
the last breakpoint are plain input (research/routing.md §3.2).

So where breakpoints go decides the bill. A sensible user puts them at the end of what other requests
will read again — the system prompt, the tool definitions, a shared document, the conversation so far —
and never after a part that is unique to the request, since writing it costs a premium and nobody reads
it back. This module finds those places in a log: a prefix is *shared* when at least two requests of the
same cache scope carry it (chained block hashes make that a hash count), and the breakpoint candidates of
a request are the *branch points* of its shared prefix, where the number of requests sharing it drops.
The deepest branch point (the longest shared prefix) is always kept; the other slots go to the most
widely shared ones (system prompt and tools before a document shared by a few).

The replay itself is a loop over requests in time order, but scopes never see each other's entries,
so it runs in parts of whole scopes as well as whole (`core/parts.py`: one after another, or as tasks
of a cluster), each part carrying only the cache entries its requests look up or write.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from costaudit.core.parts import Fanout, grouped_parts
from costaudit.core.prompt_cache import CacheReplay, PrefixBlocks, grouped_order


@dataclass(frozen=True)
class Breakpoints:
    """Breakpoint block positions of every request, in CSR form, each request's in ascending order.

    Position k marks the end of block k: the entry written there covers the first k + 1 blocks.
    """

    offsets: npt.NDArray[np.int64]
    positions: npt.NDArray[np.int64]

    @property
    def counts(self) -> npt.NDArray[np.int64]:
        return np.diff(self.offsets)


def _offsets(counts: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    offsets = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets


def _position_in_request(offsets: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    counts = np.diff(offsets)
    return np.arange(int(offsets[-1]), dtype=np.int64) - np.repeat(offsets[:-1], counts)


def _cacheable_mask(
    blocks: PrefixBlocks, cacheable: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """Per flat block: does it lie within its request's cacheable blocks?"""
    position = _position_in_request(blocks.offsets)
    return position < np.repeat(cacheable, blocks.block_counts)


def sharing_counts(
    scope: npt.NDArray[np.int64], blocks: PrefixBlocks, cacheable: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Per flat block: how many requests of the same scope carry the same prefix (itself included).

    Only cacheable blocks count; the others get 0. Chained hashes identify whole prefixes, so a count
    of 2 or more means at least one other request starts with exactly the same tokens. Equal (scope,
    hash) pairs are brought together by the replay's `grouped_order` (a plain sort of packed keys),
    several times faster than a two-key lexsort on millions of blocks.
    """
    flat_scope = np.repeat(np.asarray(scope, dtype=np.int64), blocks.block_counts)
    inside = _cacheable_mask(blocks, cacheable)
    counts = np.zeros(blocks.hashes.size, dtype=np.int64)
    picked = np.flatnonzero(inside)
    if not picked.size:
        return counts
    hashes = blocks.hashes[picked]
    scopes = flat_scope[picked]
    order = grouped_order(hashes, scopes)
    sorted_hashes, sorted_scopes = hashes[order], scopes[order]
    starts = np.ones(order.size, dtype=np.bool_)
    starts[1:] = (sorted_hashes[1:] != sorted_hashes[:-1]) | (
        sorted_scopes[1:] != sorted_scopes[:-1]
    )
    run = np.cumsum(starts) - 1
    run_sizes = np.bincount(run)
    counts[picked[order]] = run_sizes[run]
    return counts


def shared_prefix_breakpoints(
    scope: npt.NDArray[np.int64],
    blocks: PrefixBlocks,
    cacheable: npt.NDArray[np.int64],
    input_tokens: npt.NDArray[np.int64],
    *,
    min_prefix_tokens: int,
    max_breakpoints: int,
) -> Breakpoints:
    """Up to `max_breakpoints` per request at the branch points of its shared prefix.

    A branch point is a shared block after which fewer requests share the prefix (or the last shared
    block). Breakpoints whose prefix is shorter than `min_prefix_tokens` are useless (the provider does
    not cache below its minimum) and are left out. A request with no shared prefix gets none: it
    neither writes nor reads.
    """
    counts = sharing_counts(scope, blocks, cacheable)
    position = _position_in_request(blocks.offsets)
    request = np.repeat(np.arange(blocks.n_requests, dtype=np.int64), blocks.block_counts)
    next_count = np.zeros_like(counts)
    next_count[:-1] = counts[1:]
    last_in_request = np.zeros(counts.size, dtype=np.bool_)
    ends = blocks.offsets[1:][blocks.block_counts > 0] - 1
    last_in_request[ends] = True
    next_count[last_in_request] = 0
    prefix_tokens = np.minimum((position + 1) * blocks.block_tokens, input_tokens[request])
    branch = (counts >= 2) & (next_count < counts) & (prefix_tokens >= max(min_prefix_tokens, 1))
    candidates = np.flatnonzero(branch)
    cand_request = request[candidates]
    cand_position = position[candidates]
    cand_count = counts[candidates]
    deepest = np.zeros(candidates.size, dtype=np.bool_)
    if candidates.size:
        last_of_request = np.ones(candidates.size, dtype=np.bool_)
        last_of_request[:-1] = cand_request[1:] != cand_request[:-1]
        deepest = last_of_request
    # Within each request: the deepest first, then the most widely shared, deeper first on ties.
    order = np.lexsort((-cand_position, -cand_count, ~deepest, cand_request))
    ranked_request = cand_request[order]
    starts = np.ones(order.size, dtype=np.bool_)
    starts[1:] = ranked_request[1:] != ranked_request[:-1]
    first_of_run = np.maximum.accumulate(np.where(starts, np.arange(order.size), 0))
    rank = np.arange(order.size) - first_of_run
    kept = order[rank < max_breakpoints]
    kept = kept[np.lexsort((cand_position[kept], cand_request[kept]))]
    per_request = np.bincount(cand_request[kept], minlength=blocks.n_requests).astype(np.int64)
    return Breakpoints(_offsets(per_request), cand_position[kept].astype(np.int64))


def end_of_prompt_breakpoints(cacheable: npt.NDArray[np.int64]) -> Breakpoints:
    """One breakpoint at the last cacheable block of every prompt (Anthropic's automatic caching)."""
    has = (cacheable > 0).astype(np.int64)
    return Breakpoints(_offsets(has), (cacheable[cacheable > 0] - 1).astype(np.int64))


def _readable_positions(blocks: PrefixBlocks, breakpoints: Breakpoints) -> Breakpoints:
    """Per request, the positions up to its last breakpoint whose prefix some request writes: the only
    places an entry can be found (hashes identify whole prefixes, so scopes need not be told apart)."""
    flat = np.repeat(blocks.offsets[:-1], breakpoints.counts) + breakpoints.positions
    written = np.unique(blocks.hashes[flat])
    has = breakpoints.counts > 0
    deepest = np.full(blocks.n_requests, -1, dtype=np.int64)
    deepest[has] = breakpoints.positions[breakpoints.offsets[1:][has] - 1]
    position = _position_in_request(blocks.offsets)
    within = np.flatnonzero(position <= np.repeat(deepest, blocks.block_counts))
    readable = within[_members(blocks.hashes[within], written)]
    request = np.repeat(np.arange(blocks.n_requests, dtype=np.int64), blocks.block_counts)
    counts = np.bincount(request[readable], minlength=blocks.n_requests).astype(np.int64)
    return Breakpoints(_offsets(counts), position[readable].astype(np.int64))


def _members(
    values: npt.NDArray[np.uint64], known: npt.NDArray[np.uint64]
) -> npt.NDArray[np.bool_]:
    """Which `values` are among `known` (sorted, distinct), by binary search: `np.isin` sorts the
    values along with `known`, several times slower on millions of blocks against the few hundred
    thousand distinct prefixes written at breakpoints."""
    if not known.size:
        return np.zeros(values.size, dtype=np.bool_)
    at = np.searchsorted(known, values)
    np.minimum(at, known.size - 1, out=at)
    found: npt.NDArray[np.bool_] = known[at] == values
    return found


@dataclass(frozen=True)
class Entries:
    """Cache entries each request looks up or writes, in CSR form: their block positions and the
    hashes there. The replay needs nothing else of a request's blocks, so its unique tail (most of
    a long prompt) is never carried along."""

    offsets: npt.NDArray[np.int64]
    positions: npt.NDArray[np.int64]
    hashes: npt.NDArray[np.uint64]

    @property
    def counts(self) -> npt.NDArray[np.int64]:
        return np.diff(self.offsets)

    def take(self, rows: npt.NDArray[np.int64]) -> Entries:
        """The entries of the requests at `rows`, in that order, with offsets starting again at 0."""
        counts = self.counts[rows]
        offsets = _offsets(counts)
        source = np.repeat(self.offsets[:-1][rows], counts) + _position_in_request(offsets)
        return Entries(offsets, self.positions[source], self.hashes[source])


def _entries(blocks: PrefixBlocks, at: Breakpoints) -> Entries:
    """The hashes of `blocks` at each request's positions `at`."""
    flat = np.repeat(blocks.offsets[:-1], at.counts) + at.positions
    return Entries(at.offsets, at.positions, blocks.hashes[flat])


@dataclass(frozen=True)
class BreakpointPart:
    """Requests of some whole cache scopes, on their own: what the replay loop reads of each (its
    arrival, scope, the entries it may read and the entries it writes) and the lifetimes to replay
    at. Just these requests' arrays, so a part is cheap to send to another process; the whole
    replay is the part holding every request."""

    arrival: npt.NDArray[np.float64]
    scope: npt.NDArray[np.int64]
    reads: Entries
    writes: Entries
    ttls: tuple[float | None, ...]

    def take(self, rows: npt.NDArray[np.int64]) -> BreakpointPart:
        """The part of the requests at `rows` (ascending: ties in arrival keep their order)."""
        return BreakpointPart(
            self.arrival[rows],
            self.scope[rows],
            self.reads.take(rows),
            self.writes.take(rows),
            self.ttls,
        )


def _breakpoint_matches(
    order: list[int],
    arrival_s: list[float],
    scope: list[int],
    reads: tuple[list[int], list[int], list[int]],
    writes: tuple[list[int], list[int]],
    ttl_s: float | None,
) -> list[int]:
    """Blocks read from the cache per request: the deepest fresh entry on its prefix up to its last
    breakpoint. Entries exist only where some request put a breakpoint; the entry read and every
    breakpoint of the request are refreshed (or written) at its arrival."""
    horizon = math.inf if ttl_s is None else ttl_s
    read_offsets, read_positions, read_hashes = reads
    write_offsets, write_hashes = writes
    caches: dict[int, dict[int, float]] = {}
    matched = [0] * len(order)
    for request in order:
        first, last = write_offsets[request], write_offsets[request + 1]
        if first == last:
            continue
        cache = caches.setdefault(scope[request], {})
        now = arrival_s[request]
        for index in range(read_offsets[request + 1] - 1, read_offsets[request] - 1, -1):
            block_hash = read_hashes[index]
            used = cache.get(block_hash)
            if used is not None and now - used <= horizon:
                matched[request] = read_positions[index] + 1
                cache[block_hash] = now
                break
        for index in range(first, last):
            cache[write_hashes[index]] = now
    return matched


def breakpoint_part_matches(part: BreakpointPart) -> list[npt.NDArray[np.int64]]:
    """Blocks read from the cache per request of the part, at each of its lifetimes. Requests are
    processed in arrival order, ties in the part's order (a stable sort), as the whole replay
    processes them: no request of another scope could change what these find."""
    order = np.argsort(part.arrival, kind="stable").tolist()
    arrival, scope = part.arrival.tolist(), part.scope.tolist()
    reads = (part.reads.offsets.tolist(), part.reads.positions.tolist(), part.reads.hashes.tolist())
    writes = (part.writes.offsets.tolist(), part.writes.hashes.tolist())
    return [
        np.asarray(_breakpoint_matches(order, arrival, scope, reads, writes, ttl), dtype=np.int64)
        for ttl in part.ttls
    ]


def _split_matches(whole: BreakpointPart, fanout: Fanout) -> list[npt.NDArray[np.int64]]:
    """`breakpoint_part_matches` one part of whole scopes at a time through `fanout.map`, the
    results put back in request order. A part's size is what its loop visits at most: the entries
    its requests may read plus those they write, once per lifetime (a Python step each, some three
    times a block's cost in the vectorized automatic replay, so a part of `MIN_PART_SIZE` is still
    about 0.1 s of work). A request without breakpoints costs nothing and is in no part: it reads 0
    blocks either way."""
    sizes = (whole.reads.counts + whole.writes.counts) * len(whole.ttls)
    parts = grouped_parts(whole.scope, sizes, fanout.min_part_size)
    if len(parts) <= 1:
        return breakpoint_part_matches(whole)
    found = fanout.map(breakpoint_part_matches, [whole.take(rows) for rows in parts])
    matched = [np.zeros(len(whole.arrival), dtype=np.int64) for _ in whole.ttls]
    for rows, runs in zip(parts, found, strict=True):
        for request_runs, run in zip(matched, runs, strict=True):
            request_runs[rows] = run
    return matched


def replay_with_breakpoints_at(
    arrival_s: npt.NDArray[np.float64],
    scope: npt.NDArray[np.int64],
    blocks: PrefixBlocks,
    input_tokens: npt.NDArray[np.int64],
    breakpoints: Breakpoints,
    *,
    ttls: Sequence[float | None],
    min_prefix_tokens: int = 0,
    fanout: Fanout | None = None,
) -> Iterator[CacheReplay]:
    """`replay_with_breakpoints` at several lifetimes, one replay at a time. The entries each request
    reads and writes are found once for all of them. With a `fanout`, the cache scopes are replayed
    in parts of whole scopes through its map (e.g. on a cluster), with the same result; without
    one, all at once here."""
    inputs = np.asarray(input_tokens, dtype=np.int64)
    whole = BreakpointPart(
        np.asarray(arrival_s, dtype=np.float64),
        np.asarray(scope, dtype=np.int64),
        _entries(blocks, _readable_positions(blocks, breakpoints)),
        _entries(blocks, breakpoints),
        tuple(ttls),
    )
    matched = breakpoint_part_matches(whole) if fanout is None else _split_matches(whole, fanout)
    del whole
    has = breakpoints.counts > 0
    last = np.zeros(inputs.size, dtype=np.int64)
    last[has] = breakpoints.positions[breakpoints.offsets[1:][has] - 1]
    written_end = np.where(has, np.minimum((last + 1) * blocks.block_tokens, inputs), 0)
    while matched:
        run = matched.pop(0)
        hit = np.minimum(run * blocks.block_tokens, inputs)
        del run
        hit[hit < min_prefix_tokens] = 0
        write = np.maximum(written_end - hit, 0)
        yield CacheReplay(hit_tokens=hit, write_tokens=write, input_tokens=inputs)


def replay_with_breakpoints(
    arrival_s: npt.NDArray[np.float64],
    scope: npt.NDArray[np.int64],
    blocks: PrefixBlocks,
    input_tokens: npt.NDArray[np.int64],
    breakpoints: Breakpoints,
    *,
    ttl_s: float | None,
    min_prefix_tokens: int = 0,
    fanout: Fanout | None = None,
) -> CacheReplay:
    """Replay requests in arrival order (ties in input order) through an explicit-breakpoint cache.

    hit_tokens = the matched prefix (capped at the input; 0 below `min_prefix_tokens`), write_tokens =
    tokens up to the last breakpoint not read from the cache. Requests without breakpoints are billed
    as plain input. Each scope has its own cache, so with a `fanout` the scopes are replayed in parts
    through its map, with the same result.
    """
    replays = replay_with_breakpoints_at(
        arrival_s,
        scope,
        blocks,
        input_tokens,
        breakpoints,
        ttls=[ttl_s],
        min_prefix_tokens=min_prefix_tokens,
        fanout=fanout,
    )
    return next(replays)
