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
from costaudit.core.simulate.state import State


def _matching(state: State, batching: Batching, context: Context) -> npt.NDArray[np.bool_]:
    assert batching.filter is not None
    frame = context.workload.requests
    mask = np.ones(state.size, dtype=np.bool_)
    for key, wanted in batching.filter.items():
        values = set(wanted) if isinstance(wanted, list) else {wanted}
        if key == "model":
            names = np.array([name in values for name in state.models] + [False])
            mask &= names[state.model]
            continue
        if key not in frame:
            state.notes.append(
                f"batching filter key `{key}` is not in the workload: no request matches it"
            )
            return np.zeros(state.size, dtype=np.bool_)
        column = frame[key].astype("string").fillna("").to_numpy(dtype=object)[state.origin]

        mask &= np.isin(column, list(values))
    return mask


def _has_batch_prices(state: State, context: Context) -> npt.NDArray[np.bool_]:
    table = context.table
    flags = []
    for name in state.models:
        price_id = context.price_id(name)
        flags.append(price_id is not None and table.models[price_id].batch is not None)
    return np.array([*flags, False], dtype=np.bool_)[state.model]


def apply_batching(state: State, batching: Batching, context: Context) -> None:
    if batching.filter is not None:
        deferrable = _matching(state, batching, context)
    else:
        assert batching.share is not None
        deferrable = context.rng.random(state.size) < float(context.params(batching.share))
    possible = _has_batch_prices(state, context)
    without = int((deferrable & ~possible).sum())
    chosen = deferrable & possible
    state.batch |= chosen
    if without:
        state.notes.append(
            f"{without:,} deferrable requests are on models without batch prices: left at standard prices"
        )
    state.details["batching"] = {
        "share": float(chosen.mean()) if state.size else 0.0,
        "requests": int(chosen.sum()),
        "deferrable_without_batch_api": without,
    }
