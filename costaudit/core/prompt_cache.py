"""Replay a log against a provider-style prefix (prompt) cache and count hit and write tokens.

Providers and self-hosted servers all reuse KV state the same way: the prompt is cut into blocks, each
block is identified by a hash chained over every block before it, and a request reuses the longest
leading run of its blocks that are still cached. Chained hashes are what make a leading-run match
correct: an equal hash at position k means the whole prefix up to that block is equal, so we never
need prompt text once the hashes exist (Mooncake `hash_ids`, LiteLLM `prefix_block_hashes`, or
`chained_block_hashes` over token ids).

Per-request hashes are stored in CSR form (`PrefixBlocks`) so a million-request log is two flat
arrays rather than a million Python lists. The replay looks sequential (each request sees what earlier
ones left in the cache) but is not: every cacheable block is refreshed whenever it is used, so a block
hits exactly when the previous use of its hash in the same scope is recent enough. Sorting the blocks
by (scope, hash) in processing order finds every previous use at once; the sort runs on bounded
slices of hashes, so memory stays flat in the size of the log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, pairwise
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from costaudit.core.arrays import is_sorted
from costaudit.core.parts import Fanout, grouped_parts
from costaudit.core.sums import exact_sum

_HASH_BYTES = 8
_CHAIN_SEED = bytes(_HASH_BYTES)
"""The "previous hash" of a prompt's first block: all requests start from the same empty prefix."""


class _Requests:
    """What the CSR offsets of prefix blocks say, wherever the hashes are kept."""

    offsets: npt.NDArray[np.int64]

    @property
    def n_requests(self) -> int:
        """How many requests the container describes."""
        return int(self.offsets.size - 1)

    @property
    def block_counts(self) -> npt.NDArray[np.int64]:
        """Number of hashes (blocks) of each request."""
        return np.diff(self.offsets)


@dataclass(frozen=True)
class PrefixBlocks(_Requests):
    """Chained prefix-block hashes of every request, in CSR form.

    Request i's hashes are `hashes[offsets[i]:offsets[i + 1]]`. Hash k identifies the first
    (k + 1) × block_tokens tokens of the prompt; the last block of a request may be partial, in which
    case its hash identifies the whole prompt.
    """

    offsets: npt.NDArray[np.int64]
    hashes: npt.NDArray[np.uint64]
    block_tokens: int

    def __post_init__(self) -> None:
        if self.block_tokens <= 0:
            raise ValueError(f"block_tokens must be positive, got {self.block_tokens}")
        if self.offsets.ndim != 1 or self.offsets.size == 0 or self.offsets[0] != 0:
            raise ValueError("offsets must be a 1-D array starting at 0")
        if self.offsets[-1] != self.hashes.size:
            raise ValueError(
                f"offsets end at {self.offsets[-1]} but there are {self.hashes.size} hashes"
            )
        if np.any(np.diff(self.offsets) < 0):
            raise ValueError("offsets must be non-decreasing")

    @classmethod
    def from_lists(cls, hash_lists: Sequence[Sequence[int]], block_tokens: int) -> PrefixBlocks:
        """Same as the module-level `from_lists`, for callers that prefer a constructor."""
        return from_lists(hash_lists, block_tokens)


def from_lists(hash_lists: Sequence[Sequence[int]], block_tokens: int) -> PrefixBlocks:
    """Pack one list of chained hashes per request (e.g. Mooncake `hash_ids`) into CSR form."""
    counts = np.fromiter(
        (len(hashes) for hashes in hash_lists), dtype=np.int64, count=len(hash_lists)
    )
    offsets = _offsets_from_counts(counts)
    flat = np.fromiter(chain.from_iterable(hash_lists), dtype=np.uint64, count=int(offsets[-1]))
    return PrefixBlocks(offsets=offsets, hashes=flat, block_tokens=block_tokens)


def _offsets_from_counts(counts: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    offsets = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets


def _position_in_request(offsets: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """For every flat block, its index within its own request (0, 1, … restarting per request)."""
    counts = np.diff(offsets)
    total = int(offsets[-1])
    return np.arange(total, dtype=np.int64) - np.repeat(offsets[:-1], counts)


class HashStore(Protocol):
    """Hashes kept outside memory (a temporary file): `read(start, stop)` gives hashes[start:stop]."""

    def read(self, start: int, stop: int) -> npt.NDArray[np.uint64]: ...


STORE_CHUNK = 1 << 20
"""Hashes read from a store at a time (8 MB; what a pass computes per block is a few times that)."""


@dataclass(frozen=True)
class StoredBlocks(_Requests):
    """`PrefixBlocks` whose hashes stay in a store, read a chunk at a time: the offsets (8 bytes a
    request) are in memory, the hashes (8 bytes a block, 16 blocks a request on a typical chat log)
    are not. A saved workload of 10⁷ requests holds 1.3 GB of hashes, more than the rest of its
    table, and a replay reads them in a few sequential passes instead of holding them.

    Sent to another process (a cluster worker), it travels as the `PrefixBlocks` it stands for:
    the store belongs to this process."""

    offsets: npt.NDArray[np.int64]
    store: HashStore
    block_tokens: int

    def row_chunks(self) -> Iterator[tuple[int, int, npt.NDArray[np.uint64]]]:
        """(first request, end request, their hashes) for runs of requests of about `STORE_CHUNK`
        hashes each, in order."""
        for first, last in _request_spans(self.offsets, STORE_CHUNK):
            yield first, last, self.store.read(int(self.offsets[first]), int(self.offsets[last]))

    def gather(self, flat: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64]:
        """hashes[flat], reading only the chunks that hold some of them."""
        order = np.argsort(flat, kind="stable")
        wanted = flat[order]
        picked = np.empty(len(flat), dtype=np.uint64)
        total = int(self.offsets[-1])
        for start in range(0, total, STORE_CHUNK):
            stop = min(start + STORE_CHUNK, total)
            low, high = np.searchsorted(wanted, [start, stop])
            if high > low:
                picked[order[low:high]] = self.store.read(start, stop)[wanted[low:high] - start]
        return picked

    def load(self) -> PrefixBlocks:
        """The blocks with their hashes in memory."""
        return PrefixBlocks(
            self.offsets, self.store.read(0, int(self.offsets[-1])), self.block_tokens
        )

    def __reduce__(self) -> tuple[Any, ...]:
        loaded = self.load()
        return PrefixBlocks, (loaded.offsets, loaded.hashes, loaded.block_tokens)


Blocks = PrefixBlocks | StoredBlocks
"""Prefix blocks with their hashes in memory or in a store."""


def hashes_at(blocks: Blocks, flat: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64]:
    """The hashes at flat positions `flat`, wherever they are kept."""
    if isinstance(blocks, StoredBlocks):
        return blocks.gather(flat)
    picked: npt.NDArray[np.uint64] = blocks.hashes[flat]
    return picked


def in_memory(blocks: Blocks) -> PrefixBlocks:
    """The blocks with their hashes in memory (read from the store when they are kept there)."""
    return blocks.load() if isinstance(blocks, StoredBlocks) else blocks


def coarsen(blocks: Blocks, block_tokens: int) -> PrefixBlocks:
    """Re-express the hashes at a coarser granularity that is a multiple k of the current one.

    Providers match at different granularities (vLLM 16 tokens, DeepSeek 64, OpenAI 128 above its
    minimum) and a log hashed once at a fine granularity can serve all of them: because hashes are
    chained, fine hash k·j − 1 already identifies the first j coarse blocks. The last fine hash of a
    request is kept when the request ends inside a coarse block, so that the trailing partial coarse
    block still exists for partial-block accounting.
    """
    if block_tokens < blocks.block_tokens or block_tokens % blocks.block_tokens != 0:
        raise ValueError(
            f"block_tokens {block_tokens} is not a multiple of the current {blocks.block_tokens}"
        )
    factor = block_tokens // blocks.block_tokens
    fine_counts = blocks.block_counts
    coarse_counts = (fine_counts + factor - 1) // factor
    coarse_offsets = _offsets_from_counts(coarse_counts)
    coarse_position = _position_in_request(coarse_offsets)
    last_fine = np.repeat(fine_counts - 1, coarse_counts)
    fine_position = np.minimum((coarse_position + 1) * factor - 1, last_fine)
    fine_index = np.repeat(blocks.offsets[:-1], coarse_counts) + fine_position
    return PrefixBlocks(
        offsets=coarse_offsets, hashes=hashes_at(blocks, fine_index), block_tokens=block_tokens
    )


def take(blocks: Blocks, indices: npt.NDArray[np.int64]) -> PrefixBlocks:
    """The requests at `indices`, in that order (e.g. the share of traffic a router sends to a model)."""
    picked = np.asarray(indices, dtype=np.int64)
    counts = blocks.block_counts[picked]
    offsets = _offsets_from_counts(counts)
    source = np.repeat(blocks.offsets[:-1][picked], counts) + _position_in_request(offsets)
    return PrefixBlocks(
        offsets=offsets, hashes=hashes_at(blocks, source), block_tokens=blocks.block_tokens
    )


def chained_block_hashes(
    token_ids: npt.NDArray[np.uint32] | Sequence[int], block_tokens: int
) -> npt.NDArray[np.uint64]:
    """Chained 64-bit hashes of a prompt's token blocks, the last (partial) block included.

    Each hash covers the previous hash plus the block's tokens, so equal hashes mean equal prefixes.
    Tokens are serialised as little-endian uint32 and hashed with BLAKE2b, never Python's `hash()`,
    so the same prompt gets the same hashes on every run and platform and logs hashed on different
    machines can be replayed together.
    """
    if block_tokens <= 0:
        raise ValueError(f"block_tokens must be positive, got {block_tokens}")
    tokens = np.asarray(token_ids, dtype="<u4")
    if tokens.ndim != 1:
        raise ValueError("token_ids must be one-dimensional")
    data = tokens.tobytes()
    step = block_tokens * tokens.itemsize
    hashes: list[int] = []
    previous = _CHAIN_SEED
    for start in range(0, len(data), step):
        block = data[start : start + step]
        previous = hashlib.blake2b(previous + block, digest_size=_HASH_BYTES).digest()
        hashes.append(int.from_bytes(previous, "little"))
    return np.array(hashes, dtype=np.uint64)


def _as_per_request(
    value: int | npt.NDArray[np.int64], count: int, name: str
) -> npt.NDArray[np.int64]:
    array = np.broadcast_to(np.asarray(value, dtype=np.int64), (count,))
    if np.any(array < 0):
        raise ValueError(f"{name} must not be negative")
    return array


def _dense_ids(
    groups: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], int]:
    """Ids 0..n−1 of the distinct (group, end) pairs, in sorted pair order, without sorting rows.

    Pairs are folded into one integer key; when the key space is small (the usual case: a few groups,
    prefixes of a few thousand tokens) a presence table and a running count number them in linear
    time, else np.unique on the 1-D keys does it.
    """
    if not groups.size:
        return np.zeros(0, dtype=np.int64), 0
    low = groups.min()
    span = int(ends.max()) + 1
    keys = (groups - low) * span + ends
    size = int(keys.max()) + 1
    if size <= max(1 << 24, 4 * keys.size):
        present = np.zeros(size, dtype=np.bool_)
        present[keys] = True
        numbering = np.cumsum(present) - 1
        return numbering[keys].astype(np.int64), int(present.sum())
    unique, inverse = np.unique(keys, return_inverse=True)
    return inverse.astype(np.int64), len(unique)


MAX_PREFIX_BLOCKS = 50_000_000
"""The most stand-in prefix blocks one replay builds (about 3.2 billion input tokens at 64 tokens a
block, ~2 GB of arrays): a workload whose token counts need more cannot be replayed block by
block, and is refused instead of exhausting memory."""


class TooManyBlocks(ValueError):
    """The input tokens would need more than MAX_PREFIX_BLOCKS stand-in blocks."""


def bounded_block_tokens(input_tokens: npt.NDArray[np.int64], smallest: int) -> int:
    """The finest block size, `smallest` doubled as often as needed, at which the stand-in blocks of
    these requests stay within MAX_PREFIX_BLOCKS (coarser blocks approximate the cache rule's
    granularity, and the replay says so, instead of exhausting memory)."""
    block_tokens = smallest
    while exact_sum(-(-np.maximum(input_tokens, 0) // block_tokens)) > MAX_PREFIX_BLOCKS:
        block_tokens *= 2
    return block_tokens


def synthetic_prefix_blocks(
    input_tokens: npt.NDArray[np.int64],
    shared_prefix_tokens: int | npt.NDArray[np.int64],
    block_tokens: int,
    group: npt.NDArray[np.int64] | None = None,
) -> PrefixBlocks:
    """Stand-in hashes for logs that have token counts but no text or hashes.

    The best we can assume is a stable prefix (system prompt, tool definitions) of known length per
    endpoint: every request of a group shares its first min(shared_prefix_tokens, input) tokens and
    the rest is unique. A block's hash is shared only if the whole prefix it identifies lies in the
    shared part; it is then keyed by (group, prefix length), so a short request's partial last block
    matches only requests that cover exactly the same shared tokens. Hashes are dense ids starting
    at 1 (shared prefixes first), like Mooncake's remapped ids. `shared_prefix_tokens` may be one
    value or one per request.
    """
    if block_tokens <= 0:
        raise ValueError(f"block_tokens must be positive, got {block_tokens}")
    inputs = np.asarray(input_tokens, dtype=np.int64)
    if inputs.ndim != 1:
        raise ValueError("input_tokens must be one-dimensional")
    inputs = _as_per_request(inputs, inputs.size, "input_tokens")
    shared = _as_per_request(shared_prefix_tokens, inputs.size, "shared_prefix_tokens")
    groups = np.zeros(inputs.size, dtype=np.int64) if group is None else np.asarray(group, np.int64)
    if groups.shape != inputs.shape:
        raise ValueError("group must have one value per request")
    counts = -(-inputs // block_tokens)
    needed = exact_sum(counts)
    if needed > MAX_PREFIX_BLOCKS:
        raise TooManyBlocks(
            f"{exact_sum(inputs):,} input tokens make {needed:,} prompt-cache blocks of "
            f"{block_tokens} tokens, more than the {MAX_PREFIX_BLOCKS:,} a replay may hold"
        )
    offsets = _offsets_from_counts(counts)
    request = np.repeat(np.arange(inputs.size, dtype=np.int64), counts)
    prefix_end = np.minimum((_position_in_request(offsets) + 1) * block_tokens, inputs[request])
    is_shared = prefix_end <= shared[request]
    shared_ids, n_shared_ids = _dense_ids(groups[request][is_shared], prefix_end[is_shared])

    hashes = np.empty(int(offsets[-1]), dtype=np.uint64)
    hashes[is_shared] = shared_ids.reshape(-1).astype(np.uint64) + 1
    n_unique = int(np.count_nonzero(~is_shared))
    hashes[~is_shared] = np.arange(n_unique, dtype=np.uint64) + np.uint64(n_shared_ids + 1)
    return PrefixBlocks(offsets=offsets, hashes=hashes, block_tokens=block_tokens)


@dataclass(frozen=True)
class CacheReplay:
    """Per-request outcome of a cache replay, in the caller's original request order."""

    hit_tokens: npt.NDArray[np.int64]
    """Prompt tokens served from cache (billed at the read rate)."""
    write_tokens: npt.NDArray[np.int64]
    """Prompt tokens newly written to cache (billed at the write rate where writes cost extra)."""
    input_tokens: npt.NDArray[np.int64]
    """All prompt tokens, the denominator of the rates."""

    @property
    def hit_rate(self) -> float:
        """Share of all prompt tokens served from cache; 0 when there is no input at all."""
        total = exact_sum(self.input_tokens)
        return exact_sum(self.hit_tokens) / total if total else 0.0

    @property
    def write_rate(self) -> float:
        """Share of all prompt tokens written to cache; 0 when there is no input at all."""
        total = exact_sum(self.input_tokens)
        return exact_sum(self.write_tokens) / total if total else 0.0


def _check_replay_inputs(
    arrival_s: npt.NDArray[np.float64],
    scope: npt.NDArray[np.int64],
    blocks: PrefixBlocks,
    input_tokens: npt.NDArray[np.int64],
    ttl_s: float | None,
    min_prefix_tokens: int,
) -> None:
    n = blocks.n_requests
    for name, array in (("arrival_s", arrival_s), ("scope", scope), ("input_tokens", input_tokens)):
        if np.shape(array) != (n,):
            raise ValueError(f"{name} has shape {np.shape(array)}, expected ({n},) like blocks")
    if not np.all(np.isfinite(arrival_s)):
        raise ValueError("arrival_s must be finite")
    if np.any(input_tokens < 0):
        raise ValueError("input_tokens must not be negative")
    if ttl_s is not None and not ttl_s >= 0:
        raise ValueError(f"ttl_s must be >= 0 or None, got {ttl_s}")
    if min_prefix_tokens < 0:
        raise ValueError(f"min_prefix_tokens must be >= 0, got {min_prefix_tokens}")


REPLAY_SLICE = 1 << 21
"""Blocks sorted at a time by the replay: the cacheable blocks are split by hash into this many per
slice, so the replay's working memory stays a few hundred MB whatever the size of the log."""
_SPREAD = np.uint64(0x9E3779B97F4A7C15)
"""Fibonacci hashing constant: spreads dense ids (stand-in hashes 1, 2, 3, …) over the slices."""


@dataclass(frozen=True)
class BlockView:
    """The blocks of some requests, read in place from a larger `PrefixBlocks` (never copied).

    Request i is the source's request `rows[i]`. With `factor` k > 1 the view has k times coarser
    blocks: coarse block j is fine block k·(j + 1) − 1 (chained hashes: it identifies the first j + 1
    coarse blocks), or the request's last fine block when the request ends inside coarse block j —
    exactly what `coarsen` builds, without building it.
    """

    source: Blocks
    rows: npt.NDArray[np.int64]
    factor: int = 1

    @classmethod
    def of(cls, blocks: Blocks) -> BlockView:
        """Every request of `blocks`, at its own granularity."""
        return cls(blocks, np.arange(blocks.n_requests, dtype=np.int64))

    @property
    def block_tokens(self) -> int:
        return self.source.block_tokens * self.factor

    @property
    def block_counts(self) -> npt.NDArray[np.int64]:
        fine = self.source.block_counts[self.rows]
        return fine if self.factor == 1 else -(-fine // self.factor)

    def materialize(self) -> PrefixBlocks:
        """The viewed blocks copied out (for the replays that need them whole)."""
        blocks = take(self.source, self.rows)
        return blocks if self.factor == 1 else coarsen(blocks, self.block_tokens)

    def hashes_at(
        self, requests: npt.NDArray[np.int64], positions: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.uint64]:
        """The hash of block `positions[i]` of view request `requests[i]`, for every i."""
        rows = self.rows[requests]
        start = self.source.offsets[rows]
        if self.factor == 1:
            return hashes_at(self.source, start + positions)
        last = self.source.offsets[rows + 1] - 1
        return hashes_at(self.source, np.minimum(start + (positions + 1) * self.factor - 1, last))


def _slice_of(hashes: npt.NDArray[np.uint64], slices: int) -> npt.NDArray[np.int64]:
    """Which of `slices` slices each hash falls into (equal hashes always in the same one)."""
    spread = np.multiply(hashes, _SPREAD) >> np.uint64(32)
    return (spread % np.uint64(slices)).astype(np.int64)


_SCOPE_SPREAD = np.uint64(0xD6E8FEB86659FD93)


def grouped_order(
    hashes: npt.NDArray[np.uint64], scopes: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """An order of the blocks that puts equal (scope, hash) pairs together, each pair's blocks in
    their given order: what a stable sort by (scope, hash) gives, up to the order of the groups.

    Sorting plain integers is several times faster than a stable argsort, so each block becomes one
    integer: the high bits a mix of its scope and hash, the low bits its position. Two different
    pairs whose mixes agree in the high bits would interleave; such runs (rare) are found by
    comparing the pairs themselves, and put in order exactly by a sort of just their blocks.
    """
    count = len(hashes)
    bits = max(1, (count - 1).bit_length())
    if bits > 40:
        exact: npt.NDArray[np.int64] = np.lexsort((hashes, scopes))
        return exact
    shift = np.uint64(bits)
    mixed = np.multiply(hashes ^ np.multiply(scopes.astype(np.uint64), _SCOPE_SPREAD), _SPREAD)
    keys = (mixed >> shift) << shift
    del mixed
    keys |= np.arange(count, dtype=np.uint64)
    keys.sort()
    order: npt.NDArray[np.int64] = (keys & np.uint64((1 << bits) - 1)).astype(np.int64)
    top = keys >> shift
    del keys
    same_top = top[1:] == top[:-1]
    del top
    sorted_hashes, sorted_scopes = hashes[order], scopes[order]
    clash = same_top & (
        (sorted_hashes[1:] != sorted_hashes[:-1]) | (sorted_scopes[1:] != sorted_scopes[:-1])
    )
    del sorted_hashes, sorted_scopes
    if clash.any():
        run = np.concatenate([[0], np.cumsum(~same_top)])
        members = np.flatnonzero(np.isin(run, run[1:][clash]))
        blocks = order[members]
        fixed = np.lexsort((blocks, hashes[blocks], scopes[blocks], run[members]))
        order[members] = blocks[fixed]
    return order


def _replay_slice(
    requests: npt.NDArray[np.int64],
    positions: npt.NDArray[np.int64],
    hashes: npt.NDArray[np.uint64],
    scope: npt.NDArray[np.int64],
    arrival: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """For blocks given in processing order (`requests` non-decreasing): whether an earlier request of
    the same scope used the same hash, and how long before.

    Sorting by (scope, hash), stably, keeps each key's uses in processing order; a block's previous use
    is the last one before its own request's run of that key (a hash repeated inside one request sees
    the cache as it was before the request, like its first occurrence).
    """
    block_scope = scope[requests]
    order = grouped_order(hashes, block_scope)
    key_hash = hashes[order]
    key_scope = block_scope[order]
    who = requests[order]
    del block_scope
    same_key = np.zeros(len(order), dtype=np.bool_)
    same_key[1:] = (key_hash[1:] == key_hash[:-1]) & (key_scope[1:] == key_scope[:-1])
    del key_hash, key_scope
    run_start = ~same_key
    run_start[1:] |= who[1:] != who[:-1]
    first_of_run = np.maximum.accumulate(np.where(run_start, np.arange(len(order)), 0))
    del run_start
    seen = same_key[first_of_run]
    previous = who[np.maximum(first_of_run - 1, 0)]
    gap = arrival[who] - arrival[previous]
    del first_of_run, previous
    found = np.empty(len(order), dtype=np.bool_)
    found[order] = seen
    since = np.empty(len(order), dtype=np.float64)
    since[order] = gap
    return found, since


def _request_spans(offsets: npt.NDArray[np.int64], size: int) -> list[tuple[int, int]]:
    """Consecutive runs of requests holding about `size` blocks each (a bigger request alone)."""
    cuts = np.searchsorted(offsets, np.arange(size, int(offsets[-1]), size), side="right") - 1
    bounds = np.unique(np.concatenate([[0], cuts, [len(offsets) - 1]]))
    return [(int(a), int(b)) for a, b in pairwise(bounds.tolist()) if b > a]


def _run_dtype(cacheable: npt.NDArray[np.int64]) -> type[np.signedinteger[Any]]:
    """The narrowest integer type of the matched-block runs (half the memory of int64 when it fits)."""
    return np.int32 if len(cacheable) and int(cacheable.max()) < 1 << 31 else np.int64


def _leading_matches(
    arrival: npt.NDArray[np.float64],
    scope: npt.NDArray[np.int64],
    view: BlockView,
    cacheable: npt.NDArray[np.int64],
    ttls: Sequence[float | None],
) -> list[npt.NDArray[Any]]:
    """Matched leading blocks per request (in processing order), at each lifetime in `ttls`.

    A block of a request hits when an earlier request of its scope used the same hash (every cacheable
    block is written or refreshed after its request's lookup, so the last use is the last write) no
    more than the lifetime before; the match is the leading run of hits. Blocks are split into slices
    by hash (all uses of a hash fall in one slice) and each slice is sorted on its own.
    """
    total = exact_sum(cacheable)
    matched = [cacheable.astype(_run_dtype(cacheable)) for _ in ttls]
    if not total:
        return matched
    slices = -(-total // REPLAY_SLICE)
    cut = _stored_slices if isinstance(view.source, StoredBlocks) else _memory_slices
    for requests, positions, hashes in cut(view, cacheable, slices):
        found, since = _replay_slice(requests, positions, hashes, scope, arrival)
        del hashes
        for ttl, run in zip(ttls, matched, strict=True):
            hit = found if ttl is None else found & (since <= ttl)
            missed = ~hit
            np.minimum.at(run, requests[missed], positions[missed].astype(run.dtype))
    return matched


Slice = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.uint64]]
"""The blocks of one slice in processing order: their requests, positions and hashes."""


def _memory_slices(
    view: BlockView, cacheable: npt.NDArray[np.int64], slices: int
) -> Iterator[Slice]:
    """Each slice's blocks, read in place from hashes held in memory."""
    offsets = _offsets_from_counts(cacheable)
    owner = None
    total = int(offsets[-1])
    if slices > 1:
        owner = np.empty(total, dtype=np.int16 if slices < 1 << 15 else np.int64)
        for first, last in _request_spans(offsets, REPLAY_SLICE):
            counts = cacheable[first:last]
            requests = np.repeat(np.arange(first, last, dtype=np.int64), counts)
            positions = np.arange(len(requests), dtype=np.int64) - np.repeat(
                offsets[first:last] - offsets[first], counts
            )
            hashes = view.hashes_at(requests, positions)
            owner[offsets[first] : offsets[last]] = _slice_of(hashes, slices)
    for part in range(slices):
        flat = np.flatnonzero(owner == part) if owner is not None else np.arange(total)
        requests = np.searchsorted(offsets, flat, side="right") - 1
        positions = flat - offsets[requests]
        del flat
        yield requests, positions, view.hashes_at(requests, positions)


SLICES_PER_PASS = 2
"""Slices collected in one pass over hashes kept in a store (16 bytes a block: 64 MB)."""


def _stored_slices(
    view: BlockView, cacheable: npt.NDArray[np.int64], slices: int
) -> Iterator[Slice]:
    """Each slice's blocks, collected in sequential passes over hashes kept in a store (random reads
    there would cost a pass each): a pass reads every chunk and keeps the blocks of the next
    `SLICES_PER_PASS` slices, so memory holds those slices, never all the hashes."""
    source = view.source
    assert isinstance(source, StoredBlocks)
    narrow = np.int32 if max(len(cacheable), source.n_requests) < 1 << 31 else np.int64
    by_row = None if is_sorted(view.rows) else np.argsort(view.rows, kind="stable").astype(narrow)
    rows_in_order = view.rows if by_row is None else view.rows[by_row].astype(narrow)
    for first_slice in range(0, slices, SLICES_PER_PASS):
        wanted = range(first_slice, min(first_slice + SLICES_PER_PASS, slices))
        pieces: dict[int, list[tuple[Any, Any, Any]]] = {part: [] for part in wanted}
        for first, last, chunk in source.row_chunks():
            low, high = np.searchsorted(rows_in_order, [first, last])
            if high == low:
                continue
            requests = (np.arange(low, high) if by_row is None else by_row[low:high]).astype(
                np.int64
            )
            counts = cacheable[requests]
            block_requests = np.repeat(requests, counts)
            positions = _position_in_request(_offsets_from_counts(counts))
            hashes = chunk[
                _chunk_positions(
                    source, rows_in_order[low:high], first, counts, positions, view.factor
                )
            ]
            owner = _slice_of(hashes, slices)
            for part in wanted:
                mine = owner == part
                pieces[part].append(
                    (
                        block_requests[mine].astype(narrow),
                        positions[mine].astype(narrow),
                        hashes[mine],
                    )
                )
        for part in wanted:
            collected = pieces.pop(part)
            if not collected:
                continue
            requests = np.concatenate([item[0] for item in collected])
            order = np.argsort(requests, kind="stable")
            yield (
                requests[order].astype(np.int64),
                np.concatenate([item[1] for item in collected])[order].astype(np.int64),
                np.concatenate([item[2] for item in collected])[order],
            )


def _chunk_positions(
    source: StoredBlocks,
    rows: npt.NDArray[np.int64],
    first: int,
    counts: npt.NDArray[np.int64],
    positions: npt.NDArray[np.int64],
    factor: int,
) -> npt.NDArray[np.int64]:
    """Where each of the leading `counts[i]` blocks of stored request `rows[i]` (block `positions`,
    counted per request) lies in the chunk that starts at request `first`, at `factor` times the
    stored granularity, as `BlockView.hashes_at` reads them."""
    base = source.offsets[first]
    start = np.repeat(source.offsets[rows] - base, counts)
    if factor == 1:
        local: npt.NDArray[np.int64] = start + positions
        return local
    last = np.repeat(source.offsets[rows + 1] - base - 1, counts)
    coarse: npt.NDArray[np.int64] = np.minimum(start + (positions + 1) * factor - 1, last)
    return coarse


@dataclass(frozen=True)
class ReplayPart:
    """Some whole cache scopes of a replay, on their own: each request's cacheable blocks (at the
    replay's granularity) and what `_leading_matches` needs, in processing order. Just these
    requests' arrays, so a part is cheap to send to another process."""

    arrival: npt.NDArray[np.float64]
    scope: npt.NDArray[np.int64]
    blocks: PrefixBlocks
    ttls: tuple[float | None, ...]


def replay_part(part: ReplayPart) -> list[npt.NDArray[Any]]:
    """The matched leading blocks of a part's requests at each lifetime (what the whole replay finds
    for them: no request of another scope could have changed it)."""
    return _leading_matches(
        part.arrival, part.scope, BlockView.of(part.blocks), part.blocks.block_counts, part.ttls
    )


def _part_of(
    arrival: npt.NDArray[np.float64],
    scope: npt.NDArray[np.int64],
    view: BlockView,
    cacheable: npt.NDArray[np.int64],
    rows: npt.NDArray[np.int64],
    ttls: tuple[float | None, ...],
) -> ReplayPart:
    """The part of the requests at `rows` (ascending, so still in processing order): their leading
    cacheable blocks copied out of the view, nothing else."""
    counts = cacheable[rows]
    offsets = _offsets_from_counts(counts)
    requests = np.repeat(rows, counts)
    positions = _position_in_request(offsets)
    blocks = PrefixBlocks(offsets, view.hashes_at(requests, positions), view.block_tokens)
    return ReplayPart(arrival[rows], scope[rows], blocks, ttls)


def _split_leading_matches(
    arrival: npt.NDArray[np.float64],
    scope: npt.NDArray[np.int64],
    view: BlockView,
    cacheable: npt.NDArray[np.int64],
    ttls: Sequence[float | None],
    fanout: Fanout,
) -> list[npt.NDArray[Any]]:
    """`_leading_matches`, one part of whole scopes at a time through `fanout.map`, the parts' runs
    put back in processing order. A request's run depends only on the earlier requests of its scope
    (scopes have separate caches), so the parts give exactly the whole replay's runs. Requests with
    nothing cacheable are in no part: their run is 0 either way."""
    parts = grouped_parts(scope, cacheable, fanout.min_part_size)
    if len(parts) <= 1:
        return _leading_matches(arrival, scope, view, cacheable, ttls)
    lifetimes = tuple(ttls)
    found = fanout.map(
        replay_part, [_part_of(arrival, scope, view, cacheable, rows, lifetimes) for rows in parts]
    )
    matched = [np.zeros(len(cacheable), dtype=_run_dtype(cacheable)) for _ in ttls]
    for rows, runs in zip(parts, found, strict=True):
        for whole, run in zip(matched, runs, strict=True):
            whole[rows] = run
    return matched


def replay_prefix_cache(
    arrival_s: npt.NDArray[np.float64],
    scope: npt.NDArray[np.int64],
    blocks: PrefixBlocks,
    input_tokens: npt.NDArray[np.int64],
    *,
    ttl_s: float | None,
    min_prefix_tokens: int = 0,
    count_partial_block: bool = False,
) -> CacheReplay:
    """Replay requests through a prefix cache and report hit and write tokens per request.

    Semantics, chosen to mirror how providers bill rather than how a server evicts:

    - Requests are processed in arrival order; ties keep their input order (stable sort). Results
      are returned in the original request order.
    - Each `scope` value (model, organisation, cache key) has its own cache, because KV state is
      specific to a model and providers isolate caches per organisation.
    - A request's match is the leading run of its cacheable block hashes that are in its scope's
      cache and not expired. A block is present if its last use is at most `ttl_s` seconds before
      the request (gap == ttl still hits); `ttl_s=None` never expires. There is no capacity limit.
    - hit_tokens = matched blocks × block_tokens, capped at the input length. A hit shorter than
      `min_prefix_tokens` counts as 0, as providers report no cached tokens below their minimum.
    - A request whose input is below `min_prefix_tokens` neither reads nor writes: providers skip
      caching for it entirely.
    - After the lookup every cacheable block of the request is written or refreshed with last-used
      = its arrival time, so a hit restarts the TTL (Anthropic: "refreshed … each time the cached
      content is used"). An entry is usable by the very next request, even one arriving at the same
      instant (providers that publish entries only once the response starts are not modelled).
    - Cacheable blocks are the full blocks, plus the trailing partial block when
      `count_partial_block` is set; write_tokens = cacheable tokens (capped at the input) − hit
      tokens, never negative.

    With `count_partial_block=True`, `ttl_s=None` and `min_prefix_tokens=0` this is the method of
    the Mooncake validation replay (matched blocks × 512 capped at the input length).
    """
    _check_replay_inputs(arrival_s, scope, blocks, input_tokens, ttl_s, min_prefix_tokens)
    replays = replay_prefix_cache_at(
        arrival_s,
        scope,
        BlockView.of(blocks),
        input_tokens,
        ttls=[ttl_s],
        min_prefix_tokens=min_prefix_tokens,
        count_partial_block=count_partial_block,
    )
    return next(replays)


def replay_prefix_cache_at(
    arrival_s: npt.NDArray[np.float64],
    scope: npt.NDArray[np.int64],
    view: BlockView,
    input_tokens: npt.NDArray[np.int64],
    *,
    ttls: Sequence[float | None],
    min_prefix_tokens: int = 0,
    count_partial_block: bool = False,
    fanout: Fanout | None = None,
) -> Iterator[CacheReplay]:
    """`replay_prefix_cache` at several lifetimes in one pass (which blocks were used before, and
    when, does not depend on the lifetime), over blocks read in place through a `BlockView`. The
    replays come one lifetime at a time, so a caller that keeps only hit rates holds one at most.
    With a `fanout`, the cache scopes are replayed in parts of whole scopes through its map (e.g.
    on a cluster), with the same result; without one, all at once here."""
    inputs = np.asarray(input_tokens, dtype=np.int64)
    eligible = inputs >= min_prefix_tokens
    covered = inputs // view.block_tokens
    if count_partial_block:
        covered = covered + (inputs % view.block_tokens > 0)
    cacheable_blocks = np.where(eligible, np.minimum(view.block_counts, covered), 0)
    del covered, eligible
    arrival = np.asarray(arrival_s, dtype=np.float64)
    scopes = np.asarray(scope, dtype=np.int64)
    order = processing_order(arrival)
    if order is None:
        ordered = (arrival, scopes, view)
    else:
        ordered = (
            arrival[order],
            scopes[order],
            BlockView(view.source, view.rows[order], view.factor),
        )
        cacheable_blocks = cacheable_blocks[order]
    runs = (
        _leading_matches(*ordered, cacheable_blocks, ttls)
        if fanout is None
        else _split_leading_matches(*ordered, cacheable_blocks, ttls, fanout)
    )
    del ordered
    if order is not None:
        cacheable_blocks[order] = cacheable_blocks.copy()
    cacheable_tokens = cacheable_blocks
    cacheable_tokens *= view.block_tokens
    np.minimum(cacheable_tokens, inputs, out=cacheable_tokens)
    del cacheable_blocks
    while runs:
        # In place, one array at a time: at 10⁷ requests each is 80 MB.
        hit = runs.pop(0).astype(np.int64)
        if order is not None:
            hit[order] = hit.copy()
        hit *= view.block_tokens
        np.minimum(hit, inputs, out=hit)
        hit[hit < min_prefix_tokens] = 0
        write = cacheable_tokens - hit
        np.maximum(write, 0, out=write)
        yield CacheReplay(hit_tokens=hit, write_tokens=write, input_tokens=inputs)
        del hit, write


def processing_order(arrival: npt.NDArray[np.float64]) -> npt.NDArray[np.int64] | None:
    """The requests in arrival order (ties in their given order); None when they already are, as
    logs and saved workloads usually are, which spares a reordered copy of every per-request array."""
    if is_sorted(arrival):
        return None
    order: npt.NDArray[np.int64] = np.argsort(arrival, kind="stable")
    return order


@dataclass(frozen=True)
class HitRateBand:
    """Prompt-cache hit rate as a band, because providers call caching best-effort.

    low uses a pessimistic TTL, central the provider's nominal TTL, high an infinite cache (the
    reuse ceiling of the log). `central_replay` carries the per-request tokens for pricing.
    """

    low: float
    central: float
    high: float
    central_replay: CacheReplay


def hit_rate_band(
    arrival_s: npt.NDArray[np.float64],
    scope: npt.NDArray[np.int64],
    blocks: PrefixBlocks,
    input_tokens: npt.NDArray[np.int64],
    *,
    ttl_s: float,
    ttl_low_s: float,
    min_prefix_tokens: int = 0,
    count_partial_block: bool = False,
) -> HitRateBand:
    """Replay at `ttl_low_s`, `ttl_s` and with no expiry, giving low ≤ central ≤ high.

    The ordering holds per request, not just on average: every cacheable block is refreshed on every
    request whatever the TTL, so last-used times do not depend on the TTL and a longer TTL can only
    keep more blocks present.
    """
    if ttl_low_s > ttl_s:
        raise ValueError(f"ttl_low_s ({ttl_low_s}) must not exceed ttl_s ({ttl_s})")

    def replay(ttl: float | None) -> CacheReplay:
        return replay_prefix_cache(
            arrival_s,
            scope,
            blocks,
            input_tokens,
            ttl_s=ttl,
            min_prefix_tokens=min_prefix_tokens,
            count_partial_block=count_partial_block,
        )

    central = replay(ttl_s)
    return HitRateBand(
        low=replay(ttl_low_s).hit_rate,
        central=central.hit_rate,
        high=replay(None).hit_rate,
        central_replay=central,
    )
