"""Replay a log against an exact-duplicate response cache.

An exact response cache (hash of model, normalised messages and parameters → stored answer) is the
one kind of response caching whose hit rate can be computed from a log rather than guessed: a hit
is a request whose key was stored earlier and has not expired. Semantic caching is a what-if on top
of this, with false positives, and is not modelled here.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from costaudit.core.parts import Fanout

NO_KEY = 0
"""Key value meaning the prompt is unknown; such a request can never be served from cache."""


def _check_inputs(
    arrival_s: npt.NDArray[np.float64], key: npt.NDArray[np.uint64], ttl_s: float | None
) -> None:
    if np.ndim(arrival_s) != 1 or np.shape(arrival_s) != np.shape(key):
        raise ValueError("arrival_s and key must be 1-D arrays of the same length")
    if not np.all(np.isfinite(arrival_s)):
        raise ValueError("arrival_s must be finite")
    if ttl_s is not None and not ttl_s >= 0:
        raise ValueError(f"ttl_s must be >= 0 or None, got {ttl_s}")


def _first_expired(times: list[float], stored: int, stop: int, ttl_s: float) -> int:
    """First position in (stored, stop) whose gap to `stored` exceeds the TTL; `stop` if none.

    `times` is ascending within [stored, stop). The binary search compares against stored time +
    ttl, while the gap test itself is `t − stored > ttl` (the expression the prompt-cache replay
    uses), so the result is nudged past the odd position where the two roundings disagree.
    """
    stored_at = times[stored]
    position = bisect_right(times, stored_at + ttl_s, stored + 1, stop)
    while position < stop and times[position] - stored_at <= ttl_s:
        position += 1
    while position > stored + 1 and times[position - 1] - stored_at > ttl_s:
        position -= 1
    return position


def _restore_positions(
    sorted_times: npt.NDArray[np.float64],
    starts_group: npt.NDArray[np.bool_],
    keyed: npt.NDArray[np.bool_],
    ttl_s: float,
) -> npt.NDArray[np.int64]:
    """Sorted positions, after each key's first request, that miss because the entry expired.

    Each stored entry serves every request up to its expiry, so the next store is found by one
    binary search per store rather than one step per request. Only keys whose requests span more
    than the TTL can expire at all, so the loop skips the rest, and the groups whose `keyed` is
    False (requests without a key, which never hit). It runs on Python floats, one key's at a time,
    because per-call numpy overhead would dominate these small searches.
    """
    first = np.flatnonzero(starts_group)
    stop = np.append(first[1:], sorted_times.size)
    expiring = (sorted_times[stop - 1] - sorted_times[first] > ttl_s) & keyed
    restores: list[int] = []
    for start, end in zip(first[expiring].tolist(), stop[expiring].tolist(), strict=True):
        times = sorted_times[start:end].tolist()  # one key's times, not a list of the whole log's
        position = _first_expired(times, 0, end - start, ttl_s)
        while position < end - start:
            restores.append(start + position)
            position = _first_expired(times, position, end - start, ttl_s)
    return np.asarray(restores, dtype=np.int64)


def replay_response_cache(
    arrival_s: npt.NDArray[np.float64],
    key: npt.NDArray[np.uint64],
    ttl_s: float | None,
    fanout: Fanout | None = None,
) -> npt.NDArray[np.bool_]:
    """Which requests an exact-duplicate response cache would have answered.

    In arrival order (ties keep input order), the first request with a key misses and stores an
    entry. A later request with the same key hits if it arrives at most `ttl_s` seconds after the
    entry was stored (gap == ttl still hits); a hit does not extend the entry, because the answer
    goes stale from when it was generated, not from when it was last served. The first request
    after expiry misses and stores a new entry. `ttl_s=None` never expires. Key 0 (`NO_KEY`) never
    hits and never stores. The result is in the original request order.

    With a `fanout`, the keys are replayed in parts (every request of a key in the same part)
    through its map, e.g. on a cluster, with the same result: keys never share entries.
    """
    _check_inputs(arrival_s, key, ttl_s)
    if fanout is not None:
        return _split_replay(arrival_s, key, ttl_s, fanout)
    return _replay(arrival_s, key, ttl_s)


def _replay(
    arrival_s: npt.NDArray[np.float64], key: npt.NDArray[np.uint64], ttl_s: float | None
) -> npt.NDArray[np.bool_]:
    times = np.asarray(arrival_s, dtype=np.float64)
    keys = np.asarray(key, dtype=np.uint64)
    hits = np.zeros(keys.size, dtype=np.bool_)
    if keys.size == 0:
        return hits
    order = np.lexsort((times, keys))
    sorted_keys = keys[order]
    starts_group = np.ones(keys.size, dtype=np.bool_)
    starts_group[1:] = sorted_keys[1:] != sorted_keys[:-1]
    sorted_hits = ~starts_group
    if ttl_s is not None:
        keyed = sorted_keys[starts_group] != NO_KEY
        sorted_hits[_restore_positions(times[order], starts_group, keyed, ttl_s)] = False
    hits[order] = sorted_hits
    hits[keys == NO_KEY] = False
    return hits


_SPREAD = np.uint64(0x9E3779B97F4A7C15)
"""Fibonacci hashing constant: spreads keys (prompt hashes, or small ids in tests) over the parts."""


@dataclass(frozen=True)
class ResponsePart:
    """The requests of some keys, in input order: just their arrival times and keys."""

    arrival_s: npt.NDArray[np.float64]
    key: npt.NDArray[np.uint64]
    ttl_s: float | None


def replay_response_part(part: ResponsePart) -> npt.NDArray[np.bool_]:
    """The hits of a part's requests (what the whole replay finds for them)."""
    return _replay(part.arrival_s, part.key, part.ttl_s)


def _split_replay(
    arrival_s: npt.NDArray[np.float64],
    key: npt.NDArray[np.uint64],
    ttl_s: float | None,
    fanout: Fanout,
) -> npt.NDArray[np.bool_]:
    """The replay in parts of about `fanout.min_part_size` requests, each a set of whole keys chosen
    by a hash of the key; a part keeps its requests in input order, so ties in arrival time break as
    in the whole replay. Requests without a key are in no part (they never hit)."""
    keys = np.asarray(key, dtype=np.uint64)
    keyed = np.flatnonzero(keys != NO_KEY)
    count = len(keyed) // max(1, fanout.min_part_size)
    if count <= 1:
        return _replay(arrival_s, key, ttl_s)
    spread = np.multiply(keys[keyed], _SPREAD) >> np.uint64(32)
    part_of = (spread % np.uint64(count)).astype(np.int64)
    order = np.argsort(part_of, kind="stable")
    bounds = np.cumsum(np.bincount(part_of, minlength=count))[:-1]
    parts = [keyed[chunk] for chunk in np.split(order, bounds) if len(chunk)]
    times = np.asarray(arrival_s, dtype=np.float64)
    found = fanout.map(
        replay_response_part, [ResponsePart(times[rows], keys[rows], ttl_s) for rows in parts]
    )
    hits = np.zeros(keys.size, dtype=np.bool_)
    for rows, part_hits in zip(parts, found, strict=True):
        hits[rows] = part_hits
    return hits


def duplicate_rate(hits: npt.NDArray[np.bool_]) -> float:
    """Share of requests served from the response cache; 0 for an empty log."""
    return float(np.count_nonzero(hits)) / hits.size if hits.size else 0.0
