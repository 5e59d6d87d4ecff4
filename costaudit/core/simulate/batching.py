"""Batching: deferrable requests go through the provider's batch API at batch prices.

Deferrable requests are a random share of the traffic, or those whose grouping values match a filter
(e.g. `{feature: reports}`). Requests on models without batch prices stay on standard prices and the
result says how many. Batch discounts stack with prompt caching as each provider bills them (the price
table encodes it: Anthropic's 50 % applies to cache reads and writes; OpenAI prices batch cache reads
explicitly).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from costaudit.config.scenario import Batching
from costaudit.core.simulate.context import Context
from costaudit.core.simulate.details import BatchingDetails
from costaudit.core.simulate.state import State


def _matching(state: State, batching: Batching, context: Context) -> npt.NDArray[np.bool_]:
    assert batching.filter is not None
    requests = state.requests
    mask = np.ones(state.size, dtype=np.bool_)
    for key, wanted in batching.filter.items():
        values = {str(value) for value in wanted} if isinstance(wanted, list) else {str(wanted)}
        if key in ("model", "source"):
            mask &= (requests.model if key == "model" else requests.source).matching(values)
            continue
        if key not in requests.groups:
            state.notes.append(
                f"batching filter key `{key}` is not in the workload: no request matches it"
            )
            return np.zeros(state.size, dtype=np.bool_)
        mask &= requests.groups[key].matching(values)
    return mask


def _has_batch_prices(state: State, context: Context) -> npt.NDArray[np.bool_]:
    table = context.table
    flags = []
    for name in state.models:
        price_id = context.price_id(name)
        flags.append(price_id is not None and table.models[price_id].batch is not None)
    return np.array([*flags, False], dtype=np.bool_)[state.codes]


def apply_batching(state: State, batching: Batching, context: Context) -> None:
    if batching.filter is not None:
        deferrable = _matching(state, batching, context)
    else:
        assert batching.share is not None
        deferrable = context.rng.random(state.size) < float(context.params(batching.share))
    possible = _has_batch_prices(state, context)
    without = int((deferrable & ~possible).sum())
    chosen = deferrable & possible
    state.requests.batch[chosen] = True
    if without:
        state.notes.append(
            f"{without:,} deferrable requests are on models without batch prices: left at standard prices"
        )
    state.details.batching = BatchingDetails(
        share=float(chosen.mean()) if state.size else 0.0,
        requests=int(chosen.sum()),
        deferrable_without_batch_api=without,
    )
