"""Exact-duplicate response cache: TTL boundaries, unknown prompts, re-stores, and a reference."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costaudit.core.response_cache import duplicate_rate, replay_response_cache


def _hits(arrivals: Sequence[float], keys: Sequence[int], ttl_s: float | None) -> list[bool]:
    result = replay_response_cache(
        np.asarray(arrivals, dtype=np.float64), np.asarray(keys, dtype=np.uint64), ttl_s
    )
    assert result.dtype == np.bool_
    return [bool(hit) for hit in result]


def test_first_request_misses_and_repeats_hit_without_ttl() -> None:
    assert _hits([0.0, 1.0, 1e9], [7, 7, 7], None) == [False, True, True]


def test_gap_equal_to_ttl_hits_and_longer_gap_misses() -> None:
    assert _hits([0.0, 10.0], [7, 7], 10.0) == [False, True]
    assert _hits([0.0, 10.5], [7, 7], 10.0) == [False, False]


def test_hit_does_not_extend_the_entry() -> None:
    # with refresh-on-hit the request at 12 would hit; the entry stored at 0 expired at 10
    assert _hits([0.0, 6.0, 12.0], [7, 7, 7], 10.0) == [False, True, False]


def test_miss_after_expiry_stores_a_new_entry() -> None:
    arrivals = [0.0, 10.0, 10.5, 15.0, 20.5, 21.0]
    assert _hits(arrivals, [7] * 6, 10.0) == [False, True, False, True, True, False]


def test_key_zero_never_hits_and_never_stores() -> None:
    assert _hits([0.0, 1.0, 2.0], [0, 0, 0], None) == [False, False, False]
    assert _hits([0.0, 1.0, 2.0], [0, 5, 0], 10.0) == [False, False, False]


def test_keys_are_independent() -> None:
    assert _hits([0.0, 1.0, 2.0, 3.0], [1, 2, 1, 2], None) == [False, False, True, True]


def test_unsorted_input_is_replayed_in_arrival_order_and_returned_in_input_order() -> None:
    assert _hits([20.5, 0.0, 10.0], [7, 7, 7], 10.0) == [False, False, True]


def test_ties_keep_input_order() -> None:
    assert _hits([3.0, 3.0, 3.0], [4, 4, 4], 0.0) == [False, True, True]


def test_zero_ttl_only_serves_simultaneous_duplicates() -> None:
    assert _hits([0.0, 0.0, 1.0], [4, 4, 4], 0.0) == [False, True, False]


def test_empty_log() -> None:
    assert _hits([], [], 10.0) == []
    assert duplicate_rate(np.zeros(0, dtype=np.bool_)) == 0.0


def test_duplicate_rate_is_the_share_of_hits() -> None:
    assert duplicate_rate(np.array([True, False, True, False])) == 0.5


def test_rejects_bad_inputs() -> None:
    with pytest.raises(ValueError, match="same length"):
        replay_response_cache(np.zeros(2), np.zeros(3, dtype=np.uint64), None)
    with pytest.raises(ValueError, match="ttl_s"):
        replay_response_cache(np.zeros(1), np.ones(1, dtype=np.uint64), -1.0)
    with pytest.raises(ValueError, match="finite"):
        replay_response_cache(np.array([np.inf]), np.ones(1, dtype=np.uint64), None)


def _reference(
    arrivals: npt.NDArray[np.float64], keys: npt.NDArray[np.uint64], ttl_s: float | None
) -> list[bool]:
    """The semantics written out as a plain loop over requests in arrival order."""
    stored_at: dict[int, float] = {}
    hits = [False] * arrivals.size
    for i in sorted(range(arrivals.size), key=lambda i: float(arrivals[i])):
        key, now = int(keys[i]), float(arrivals[i])
        if key == 0:
            continue
        if key in stored_at and (ttl_s is None or now - stored_at[key] <= ttl_s):
            hits[i] = True
        else:
            stored_at[key] = now
    return hits


@settings(max_examples=300, deadline=None)
@given(
    pairs=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 3)), max_size=40),
    ttl_tenths=st.one_of(st.none(), st.integers(0, 30)),
)
def test_matches_plain_loop_reference(pairs: list[tuple[int, int]], ttl_tenths: int | None) -> None:
    # times and TTLs in tenths of a second, so float rounding at the boundary is exercised
    arrivals = np.array([tenths / 10 for tenths, _ in pairs], dtype=np.float64)
    keys = np.array([key for _, key in pairs], dtype=np.uint64)
    ttl_s = None if ttl_tenths is None else ttl_tenths / 10
    result = replay_response_cache(arrivals, keys, ttl_s)
    assert result.tolist() == _reference(arrivals, keys, ttl_s)


@pytest.mark.parametrize(
    ("stored", "ttl_s", "later", "expected"),
    [
        (0.2, 0.7, 0.9, True),  # 0.9 - 0.2 <= 0.7 in floats although 0.9 > 0.2 + 0.7
        (0.1, 0.3, 0.4, False),  # 0.4 - 0.1 > 0.3 in floats although 0.4 <= 0.1 + 0.3
    ],
)
def test_ttl_boundary_is_the_float_gap_like_the_prompt_cache(
    stored: float, ttl_s: float, later: float, expected: bool
) -> None:
    # the last request makes the key outlive its TTL, so the per-key expiry search runs
    arrivals = [0.0, stored, later, later + 10]
    assert _hits(arrivals, [1, 2, 2, 2], ttl_s) == [False, False, expected, False]
    assert (later - stored <= ttl_s) is expected


def test_large_keys_are_not_confused() -> None:
    top = np.iinfo(np.uint64).max
    keys = np.array([top, top - 1, top, top - 1], dtype=np.uint64)
    result = replay_response_cache(np.arange(4, dtype=np.float64), keys, None)
    assert result.tolist() == [False, False, True, True]
