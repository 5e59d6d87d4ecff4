"""`applies_to`: which requests a strategy acts on, the same way for every strategy.

A selector names fields and the values to keep: `model` (a logged model name, or any name that resolves
to the same price-table entry), `provider` (from the price table), `source` (the log file) or any
grouping field the workload carries (feature, user, team, tags, a metadata key). A request is selected
when it matches every field named; `tags` holds several comma-separated tags and matches when any of
them is listed. A field the workload does not have is a configuration error naming the scenario field,
never an empty selection.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from costaudit.config.scenario import Selector, selection
from costaudit.core.pricing import ModelResolver
from costaudit.core.request_table import Category, RequestTable

BUILT_IN_FIELDS = ("model", "provider", "source")
MULTI_VALUED = frozenset({"tags"})
"""Grouping fields holding several comma-separated values."""


class UnknownField(ValueError):
    """A selector or `--group-by` names a field the workload does not carry."""

    def __init__(self, key: str, requests: RequestTable) -> None:
        self.key = key
        super().__init__(unknown_field_message(key, requests))


def known_fields(requests: RequestTable) -> list[str]:
    """Every field a selector (or `--group-by`) can name on this table."""
    return [*BUILT_IN_FIELDS, *sorted(requests.groups)]


def few_valued_fields(requests: RequestTable, limit: int) -> list[str]:
    """Grouping fields with between 2 and `limit` distinct values (feature, team, stream — not user
    ids): the ones whose costs are worth recording by default."""
    found = []
    for key, column in sorted(requests.groups.items()):
        present = len(column.present_codes()) + int(bool((column.codes < 0).any()))
        if 2 <= present <= limit:
            found.append(key)
    return found


def unknown_field_message(key: str, requests: RequestTable) -> str:
    """`the workload has no `x` field (it has: …; did you mean `y`?)`."""
    fields = known_fields(requests)
    close = difflib.get_close_matches(key, fields, n=1, cutoff=0.6)
    hint = f"; did you mean `{close[0]}`?" if close else ""
    return f"the workload has no `{key}` field (it has: {', '.join(fields)}){hint}"


def _model_matches(
    requests: RequestTable, wanted: Sequence[str], resolver: ModelResolver
) -> npt.NDArray[np.bool_]:
    """Rows whose model is one of `wanted`, comparing price-table entries where both resolve."""
    targets = {resolver.resolve(name) or name for name in wanted}
    names = requests.model.names
    hits = np.array(
        [(resolver.resolve(name) or name) in targets for name in names] + [False], dtype=np.bool_
    )
    return np.asarray(hits[requests.model.codes], dtype=np.bool_)


def _provider_column(requests: RequestTable, resolver: ModelResolver) -> Category:
    providers = []
    for name in requests.model.names:
        price_id = resolver.resolve(name)
        providers.append(resolver.table.models[price_id].provider if price_id else None)
    names = sorted({provider for provider in providers if provider is not None})
    lookup = np.array(
        [names.index(provider) if provider is not None else -1 for provider in providers] + [-1],
        dtype=np.int32,
    )
    return Category(names, lookup[requests.model.codes])


def field_column(requests: RequestTable, key: str, resolver: ModelResolver) -> Category | None:
    """The column a field names (provider computed from the price table); None when absent."""
    if key == "model":
        return requests.model
    if key == "source":
        return requests.source
    if key == "provider" and "provider" not in requests.groups:
        return _provider_column(requests, resolver)
    return requests.groups.get(key)


def _values_match(column: Category, key: str, wanted: Sequence[str]) -> npt.NDArray[np.bool_]:
    if key not in MULTI_VALUED:
        return column.matching(set(wanted))
    targets = set(wanted)
    hits = np.array(
        [bool(targets & {part.strip() for part in name.split(",")}) for name in column.names]
        + [False],
        dtype=np.bool_,
    )
    return np.asarray(hits[column.codes], dtype=np.bool_)


def selected(
    requests: RequestTable,
    applies_to: Selector | None,
    resolver: ModelResolver,
) -> npt.NDArray[np.bool_]:
    """Mask of the requests `applies_to` selects (all when None); `UnknownField` when it names a field
    the workload does not have."""
    mask = np.ones(len(requests), dtype=np.bool_)
    for key, wanted in selection(applies_to).items():
        if key == "model":
            mask &= _model_matches(requests, wanted, resolver)
            continue
        column = field_column(requests, key, resolver)
        if column is None:
            raise UnknownField(key, requests)
        mask &= _values_match(column, key, wanted)
    return mask
