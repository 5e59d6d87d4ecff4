"""Batching: deferrable requests go through the provider's batch API at batch prices.

Deferrable requests are those `applies_to` selects (e.g. `{feature: reports}`; all by default), or a
random `share` of them. Requests on models without batch prices stay on standard prices and the result
says how many. Batch discounts stack with prompt caching as each provider bills them (the price
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


def _has_batch_prices(state: State, context: Context) -> npt.NDArray[np.bool_]:
    table = context.table
    flags = []
    for name in state.models:
        price_id = context.price_id(name)
        flags.append(price_id is not None and table.models[price_id].batch is not None)
    return np.array([*flags, False], dtype=np.bool_)[state.codes]


def apply_batching(state: State, batching: Batching, context: Context) -> None:
    deferrable = context.selected(state, batching.applies_to)
    if batching.share is not None:
        deferrable &= context.rng.random(state.size) < float(context.params(batching.share))
    possible = _has_batch_prices(state, context)
    without = int((deferrable & ~possible).sum())
    chosen = deferrable & possible
    if chosen.any():
        state.writable_batch()[chosen] = True
    represented = context.workload.represented
    if without:
        state.notes.append(
            f"{represented(without):,} deferrable requests are on models without batch prices: left at standard prices"
        )
    state.details.batching = BatchingDetails(
        share=float(chosen.mean()) if state.size else 0.0,
        requests=represented(int(chosen.sum())),
        deferrable_without_batch_api=represented(without),
    )
