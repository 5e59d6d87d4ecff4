"""Independent parts of a computation, and who maps a function over them.

The cache replays are sequential only within a cache scope (a model's prompt cache, a response-cache
key): scopes never see each other's entries. So a replay can be cut into parts, each a group of whole
scopes, each replayed on its own in time order, and the per-part results put back in request order.
Who runs the parts is the caller's choice (`Fanout.map`): one after another here, or as tasks of a
cluster. Nothing here knows about clusters; core stays pure computation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np
import numpy.typing as npt

_Part = TypeVar("_Part")
_Result = TypeVar("_Result")


class MapParts(Protocol):
    """Applies `function` to every part and returns the results in the parts' order. The parts are
    independent: any order of computing them, or computing them at once, gives the same results."""

    def __call__(
        self, function: Callable[[_Part], _Result], parts: Sequence[_Part]
    ) -> list[_Result]: ...


def sequential(function: Callable[[_Part], _Result], parts: Sequence[_Part]) -> list[_Result]:
    """The parts one after another, here."""
    return [function(part) for part in parts]


MIN_PART_SIZE = 1 << 17
"""Blocks (prompt cache), cache entries looked up or written times lifetimes replayed (breakpoint
prompt cache) or requests (response cache) a part holds at least, unless the whole replay is
smaller: below about this size a task costs more to send than to compute, so small scopes are
grouped together rather than each made a task."""


@dataclass(frozen=True)
class Fanout:
    """How a replay runs its independent parts: `map` over parts of at least `min_part_size`
    (`MIN_PART_SIZE`'s units); a replay that would make one part runs whole, without `map`."""

    map: MapParts = sequential
    min_part_size: int = MIN_PART_SIZE


def grouped_parts(
    scope: npt.NDArray[np.int64], sizes: npt.NDArray[np.int64], min_part_size: int
) -> list[npt.NDArray[np.int64]]:
    """The rows of each part, ascending: whole scopes (all rows of one `scope` value in one part),
    grouped in scope order until a part holds at least `min_part_size` (the summed `sizes` of its
    rows; the last part may hold less). Rows of size 0 are in no part: they have nothing to replay."""
    rows = np.flatnonzero(sizes > 0)
    if not len(rows):
        return []
    scopes, member = np.unique(scope[rows], return_inverse=True)
    per_scope = np.bincount(member, weights=sizes[rows], minlength=len(scopes)).astype(np.int64)
    part_of_scope = np.empty(len(scopes), dtype=np.int64)
    part, filled = 0, 0
    for index, size in enumerate(per_scope.tolist()):
        if filled >= min_part_size:
            part, filled = part + 1, 0
        part_of_scope[index] = part
        filled += size
    part_of_row = part_of_scope[member]
    order = np.argsort(part_of_row, kind="stable")
    bounds = np.cumsum(np.bincount(part_of_row))[:-1]
    return [rows[chunk] for chunk in np.split(order, bounds)]
