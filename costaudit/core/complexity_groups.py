"""Complexity classes per group (`analyze --group-by feature`): which features send simple traffic.

A routing decision is usually made per feature or endpoint ("route the summariser to the small
model"), so the class shares are counted for every combination of grouping values, as the cost rows are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from costaudit.core.complexity import CLASS_NAMES, complexity_classes
from costaudit.core.request_table import RequestTable


@dataclass(frozen=True)
class GroupClasses:
    key: tuple[str | None, ...]
    """One value per grouping key (None where a request has no value)."""
    requests: int
    scored: int
    classes: dict[str, int]


def classes_by_group(requests: RequestTable, group_by: Sequence[str]) -> list[GroupClasses]:
    """Requests per complexity class for each combination of the grouping values, largest first."""
    if not group_by or not len(requests):
        return []
    columns = [requests.group(key) for key in group_by]
    codes = np.stack([column.codes for column in columns], axis=1)
    combos, owner = np.unique(codes, axis=0, return_inverse=True)
    owner = owner.reshape(-1)
    classes = complexity_classes(requests.complexity.astype(np.float64))
    counts = np.zeros((len(combos), len(CLASS_NAMES) + 1), dtype=np.int64)
    np.add.at(counts, (owner, classes + 1), 1)
    result = []
    for index, combo in enumerate(combos.tolist()):
        key = tuple(
            column.names[code] if code >= 0 else None
            for column, code in zip(columns, combo, strict=True)
        )
        per_class = {name: int(counts[index, i + 1]) for i, name in enumerate(CLASS_NAMES)}
        result.append(
            GroupClasses(key, int(counts[index].sum()), sum(per_class.values()), per_class)
        )
    result.sort(key=lambda group: (-group.requests, tuple(str(value) for value in group.key)))
    return result
