"""The simulated traffic: per-request arrays that strategies transform, then one exact pricing pass.

A strategy never prices anything itself. It moves requests to other models, changes token counts,
flags batch requests, drops requests a cache answers, or adds costs that are not per-token (a router,
a cache lookup, a training bill, a GPU fleet). At the end the remaining requests are priced by the same
engine `analyze` uses, so a scenario with no strategy costs exactly what the logs cost.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from costaudit.config.pricing import PriceTable
from costaudit.core.pricing import (
    CostLine,
    ModelResolver,
    RequestArrays,
    aggregate_lines,
    assign,
    total_cost,
)
from costaudit.core.prompt_cache import PrefixBlocks
from costaudit.core.router_fit import ScorerSummary

TOKEN_FIELDS = ("input", "cached", "cache_write", "cache_write_1h", "output", "reasoning")
_COLUMNS = {
    "input": "input_tokens",
    "cached": "cached_input_tokens",
    "cache_write": "cache_write_tokens",
    "cache_write_1h": "cache_write_1h_tokens",
    "output": "output_tokens",
    "reasoning": "reasoning_tokens",
}
NAT = np.iinfo(np.int64).min


@dataclass(frozen=True)
class SimWorkload:
    """The traffic a scenario file describes, as a canonical request table."""

    requests: pd.DataFrame
    prefix_blocks: PrefixBlocks | None
    days: Decimal | None
    """Length of the window the requests cover; None when it cannot be known."""
    source: str
    notes: tuple[str, ...] = ()
    scorers: dict[str, ScorerSummary] = field(default_factory=dict)
    """Fitted scorers whose `score:<name>` columns the requests carry, with what they are worth."""


@dataclass
class State:
    """Mutable per-request arrays of one scenario run (rows may be added by cascades or removed by caches)."""

    models: list[str]
    model: npt.NDArray[np.int32]
    origin: npt.NDArray[np.int64]
    """Row of the workload each request comes from (cascade copies share their origin)."""
    arrival_ns: npt.NDArray[np.int64]
    relative: npt.NDArray[np.bool_]
    tokens: dict[str, npt.NDArray[np.int64]]
    batch: npt.NDArray[np.bool_]
    window_usd: Decimal = Decimal(0)
    """Extra costs over the observed window (router, cache lookups), scaled to a month like tokens."""
    monthly_usd: Decimal = Decimal(0)
    """Costs already per month (GPU fleet, amortised training)."""
    table: PriceTable | None = None
    """A price table extended for this scenario (e.g. with a fine-tuned model); None = the base table."""
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.model)

    def model_code(self, name: str) -> int:
        """Code of a model name, adding it to the list when new."""
        if name not in self.models:
            self.models.append(name)
        return self.models.index(name)

    def keep(self, mask: npt.NDArray[np.bool_]) -> None:
        """Drop the requests where `mask` is False (answered without a model call)."""
        self.model = self.model[mask]
        self.origin = self.origin[mask]
        self.arrival_ns = self.arrival_ns[mask]
        self.relative = self.relative[mask]
        self.batch = self.batch[mask]
        self.tokens = {name: values[mask] for name, values in self.tokens.items()}

    def append(
        self, rows: npt.NDArray[np.int64], model: int, tokens: dict[str, npt.NDArray[np.int64]]
    ) -> None:
        """Add copies of existing requests sent to another model (a cascade's second call)."""
        self.model = np.concatenate([self.model, np.full(len(rows), model, dtype=np.int32)])
        self.origin = np.concatenate([self.origin, self.origin[rows]])
        self.arrival_ns = np.concatenate([self.arrival_ns, self.arrival_ns[rows]])
        self.relative = np.concatenate([self.relative, self.relative[rows]])
        self.batch = np.concatenate([self.batch, self.batch[rows]])
        self.tokens = {
            name: np.concatenate([values, tokens[name]]) for name, values in self.tokens.items()
        }

    def arrival_seconds(self) -> npt.NDArray[np.float64]:
        """Arrival times in seconds; undated requests get their row position (one per second)."""
        seconds = self.arrival_ns.astype(np.float64) / 1e9
        undated = self.arrival_ns == NAT
        seconds[undated] = np.flatnonzero(undated).astype(np.float64)
        return seconds

    def arrays(self) -> RequestArrays:
        """The state as pricing arrays."""
        return RequestArrays(
            model_names=list(self.models),
            model_code=self.model,
            timestamp_ns=self.arrival_ns,
            undated=(self.arrival_ns == NAT) | self.relative,
            batch=self.batch,
            input=self.tokens["input"],
            cached=self.tokens["cached"],
            cache_write=self.tokens["cache_write"],
            cache_write_1h=self.tokens["cache_write_1h"],
            output=self.tokens["output"],
            reasoning=self.tokens["reasoning"],
        )


def initial_state(workload: SimWorkload) -> State:
    """The workload as logged, ready for strategies."""
    requests = workload.requests
    models = requests["model"].astype("category")
    names = [str(name) for name in models.cat.categories]
    codes = models.cat.codes.to_numpy().astype(np.int32)
    if (codes < 0).any():
        names.append("(no model)")
        codes[codes < 0] = len(names) - 1
    return State(
        models=names,
        model=codes,
        origin=np.arange(len(requests), dtype=np.int64),
        arrival_ns=requests["timestamp"].array.asi8.copy()
        if len(requests)
        else np.zeros(0, dtype=np.int64),
        relative=requests["relative_time"].to_numpy(dtype=bool).copy(),
        tokens={
            name: requests[column].to_numpy(dtype=np.int64).copy()
            for name, column in _COLUMNS.items()
        },
        batch=requests["batch"].to_numpy(dtype=bool).copy(),
    )


@dataclass(frozen=True)
class Priced:
    """What a state costs: over the window, per month, and the lines it came from."""

    lines: list[CostLine]
    window_tokens_usd: Decimal
    monthly_usd: Decimal | None
    requests: int
    tokens: int
    unpriced_requests: int


def price_state(
    state: State, base_table: PriceTable, days: Decimal | None, days_per_month: Decimal
) -> Priced:
    """Exact monthly cost of a state: tokens × prices over the window, scaled, plus monthly fixed costs."""
    table = state.table or base_table
    arrays = state.arrays()
    lines = aggregate_lines(arrays, assign(arrays, table, ModelResolver(table)), table)

    window = total_cost(lines) + state.window_usd
    monthly = None if days is None else window * days_per_month / days + state.monthly_usd
    unpriced = sum(line.tokens.requests for line in lines if line.cost is None)
    tokens = int(state.tokens["input"].sum() + state.tokens["output"].sum())
    return Priced(lines, window, monthly, state.size, tokens, unpriced)


def copy_state(state: State) -> State:
    return replace(
        state,
        models=list(state.models),
        tokens={name: values.copy() for name, values in state.tokens.items()},
        details={},
        notes=[],
    )
