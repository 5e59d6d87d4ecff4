"""The simulated traffic: a request table that strategies transform, then one exact pricing pass.

A strategy never prices anything itself. It moves requests to other models, changes token counts,
flags batch requests, drops requests a cache answers, or adds costs that are not per-token (a router,
a cache lookup, a training bill, a GPU fleet). At the end the remaining requests are priced by the same
engine `analyze` uses, so a scenario with no strategy costs exactly what the logs cost.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from costaudit.config.pricing import PriceTable
from costaudit.core.pricing import NO_MODEL, CostLine, aggregate_lines, assign, total_cost
from costaudit.core.request_table import NAT, Category, RequestTable
from costaudit.core.simulate.details import ScenarioDetails


@dataclass(frozen=True)
class Workload:
    """The traffic a scenario file describes: a request table and the window it covers."""

    requests: RequestTable
    days: Decimal | None
    """Length of the window the requests cover; None when it cannot be known."""
    source: str
    """Where the traffic came from, in a phrase: `logs: app.jsonl`, `synthetic, 1 stream`, …"""
    notes: tuple[str, ...] = ()

    @property
    def tokens(self) -> int:
        """Input plus output tokens of the whole workload."""
        return self.requests.token_sum("input_tokens") + self.requests.token_sum("output_tokens")


@dataclass
class State:
    """One scenario run: the requests still sent to an API (rows may be added by cascades or removed
    by caches and self-hosting) and the costs that are not per token."""

    requests: RequestTable
    """The simulated requests. Prefix hashes stay on the workload's table (see `origin`)."""
    origin: npt.NDArray[np.int64]
    """Row of the workload each request comes from (cascade copies share their origin)."""
    window_usd: Decimal = Decimal(0)
    """Extra costs over the observed window (router, cache lookups), scaled to a month like tokens."""
    monthly_usd: Decimal = Decimal(0)
    """Costs already per month (GPU fleet, amortised training)."""
    table: PriceTable | None = None
    """A price table extended for this scenario (e.g. with a fine-tuned model); None = the base table."""
    details: ScenarioDetails = field(default_factory=ScenarioDetails)
    notes: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.requests)

    @property
    def tokens(self) -> dict[str, npt.NDArray[np.int64]]:
        """The token columns, for strategies that change counts in place."""
        return self.requests.tokens

    @property
    def models(self) -> list[str]:
        """Model names; `codes` index into them."""
        return self.requests.model.names

    @property
    def codes(self) -> npt.NDArray[np.int32]:
        """Each request's model, as a code into `models`."""
        return self.requests.model.codes

    def model_code(self, name: str) -> int:
        """Code of a model name, adding it to the model column's categories when new."""
        column, code = self.requests.model.code_of(name)
        if column is not self.requests.model:
            self.requests = replace(self.requests, model=column)
        return code

    def move(self, rows: npt.NDArray[np.int64], model: str) -> None:
        """Send `rows` to `model` (token counts are the caller's business)."""
        code = self.model_code(model)
        self.codes[rows] = code

    def keep(self, mask: npt.NDArray[np.bool_]) -> None:
        """Drop the requests where `mask` is False (answered without a model call)."""
        rows = np.flatnonzero(mask)
        self.requests = self.requests.take(rows)
        self.origin = self.origin[rows]

    def append_copies(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Add copies of existing requests (a cascade's second call); returns the copies' rows."""
        first = self.size
        self.requests = RequestTable.concat([self.requests, self.requests.take(rows)])
        self.origin = np.concatenate([self.origin, self.origin[rows]])
        return np.arange(first, self.size, dtype=np.int64)

    def arrival_seconds(self) -> npt.NDArray[np.float64]:
        """Arrival times in seconds; undated requests get their row position (one per second)."""
        stamps = self.requests.timestamp_ns
        seconds = stamps.astype(np.float64) / 1e9
        undated = stamps == NAT
        seconds[undated] = np.flatnonzero(undated).astype(np.float64)
        return seconds


def initial_state(workload: Workload) -> State:
    """The workload as logged, ready for strategies: every column a strategy may change is a copy,
    and requests that name no model get a model category of their own."""
    requests = workload.requests
    model = requests.model
    if (model.codes < 0).any():
        model = Category(
            [*model.names, NO_MODEL],
            np.where(model.codes < 0, len(model.names), model.codes).astype(np.int32),
        )
    else:
        model = Category(list(model.names), model.codes.copy())
    copied = replace(
        requests,
        model=model,
        tokens={name: values.copy() for name, values in requests.tokens.items()},
        batch=requests.batch.copy(),
        prefix_blocks=None,
    )
    return State(requests=copied, origin=np.arange(len(requests), dtype=np.int64))


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
    requests = state.requests
    lines = aggregate_lines(requests, assign(requests, table), table)
    window = total_cost(lines) + state.window_usd
    monthly = None if days is None else window * days_per_month / days + state.monthly_usd
    unpriced = sum(line.tokens.requests for line in lines if line.cost is None)
    tokens = requests.token_sum("input_tokens") + requests.token_sum("output_tokens")
    return Priced(lines, window, monthly, state.size, tokens, unpriced)
