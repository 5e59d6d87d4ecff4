"""The simulated traffic: a request table that strategies transform, then one exact pricing pass.

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

from costaudit.config.pricing import Hardware, PriceTable
from costaudit.core.capacity import ReplicaCapacity
from costaudit.core.fleet import FleetPolicy
from costaudit.core.pricing import NO_MODEL, CostLine, aggregate_lines, assign, total_cost
from costaudit.core.request_table import NAT, Category, RequestTable
from costaudit.core.router_fit import ScorerSummary
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
    weight: Decimal = Decimal(1)
    """Requests of the window each simulated request stands for: above 1 when a described workload is
    simulated on a sample of its traffic. Costs, request counts and arrival rates are multiplied by it,
    and cache lifetimes are too, because the sample's requests arrive `weight` times further apart."""
    scorers: dict[str, ScorerSummary] = field(default_factory=dict)
    """Fitted scorers whose `score:<name>` columns the requests carry, with what they are worth."""

    @property
    def tokens(self) -> int:
        """Input plus output tokens of the whole workload (the traffic it stands for)."""
        simulated = self.requests.token_sum("input_tokens") + self.requests.token_sum(
            "output_tokens"
        )
        return self.represented(simulated)

    @property
    def request_count(self) -> int:
        """Requests of the window (the traffic the simulated requests stand for)."""
        return self.represented(len(self.requests))

    def represented(self, simulated: int) -> int:
        """A count over the simulated requests, scaled to the traffic they stand for."""
        if self.weight == 1:
            return simulated
        return int((simulated * self.weight).to_integral_value())

    def ttl(self, seconds: float | None) -> float | None:
        """A cache lifetime on the simulated timeline: sampled requests arrive `weight` times further
        apart than the real ones, so a lifetime covers `weight` times as long a gap."""
        return None if seconds is None else seconds * float(self.weight)


@dataclass(frozen=True)
class Attribution:
    """Who a cost belongs to: the model and grouping values of the requests it was spent on (a
    snapshot, since strategies later move or drop requests), and their tokens for sharing a fixed
    cost out between groups."""

    model: Category
    groups: dict[str, Category]
    tokens: npt.NDArray[np.int64]

    @classmethod
    def of(cls, requests: RequestTable, rows: npt.NDArray[np.int64]) -> Attribution:
        picked = np.asarray(rows, dtype=np.int64)
        tokens = requests.tokens["input_tokens"][picked] + requests.tokens["output_tokens"][picked]
        return cls(
            model=requests.model.take(picked),
            groups={key: column.take(picked) for key, column in requests.groups.items()},
            tokens=tokens,
        )

    def group(self, key: str) -> Category:
        return self.groups.get(key) or Category.missing(len(self.tokens))


@dataclass(frozen=True)
class Charge:
    """A cost per request that is not tokens (a router, a cache lookup), over the window."""

    label: str
    usd_per_request: Decimal
    paid_by: Attribution


@dataclass(frozen=True)
class FleetSizing:
    """What a self-hosted fleet was sized from, so a forecast can size it again for more traffic."""

    arrivals: npt.NDArray[np.float64]
    bin_seconds: int
    capacity: ReplicaCapacity
    hardware: Hardware
    policy: FleetPolicy


@dataclass(frozen=True)
class FixedCost:
    """A monthly cost that does not scale with tokens: a GPU fleet, an amortised training bill."""

    label: str
    """Where it shows in a per-model breakdown (the self-hosted model, the tuned model)."""
    monthly_usd: Decimal
    paid_by: Attribution
    """The requests it serves; groups share it in proportion to their tokens."""
    fleet: FleetSizing | None = None
    """A fleet grows with traffic (sized again in a forecast); None for a fixed bill."""
    months: int | None = None
    """Months the cost lasts (an amortisation period); None: every month."""


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
    charges: list[Charge] = field(default_factory=list)
    """The per-request extras in `window_usd`, with whom they were spent on."""
    fixed: list[FixedCost] = field(default_factory=list)
    """The monthly costs in `monthly_usd`, with whom they serve."""
    unmoved: bool = True
    """No request was dropped or copied yet: request i is still the workload's row i (`origin` is
    0, 1, 2, …), so a row's workload row is the row itself, without a lookup."""

    @property
    def size(self) -> int:
        return len(self.requests)

    @property
    def tokens(self) -> dict[str, npt.NDArray[np.int64]]:
        """The token columns, to read. A column may still be the workload's own (read-only): one
        that is changed is taken with `writable_tokens` first."""
        return self.requests.tokens

    def writable_tokens(self, name: str) -> npt.NDArray[np.int64]:
        """Token column `name`, made this state's own (copied) if it is still the workload's."""
        values = self.requests.tokens[name]
        if not values.flags.writeable:
            values = values.copy()
            self.requests.tokens[name] = values
        return values

    def writable_batch(self) -> npt.NDArray[np.bool_]:
        """The batch flags, made this state's own (copied) if they are still the workload's."""
        flags = self.requests.batch
        if not flags.flags.writeable:
            flags = flags.copy()
            self.requests = replace(self.requests, batch=flags)
        return flags

    def writable_codes(self) -> npt.NDArray[np.int32]:
        """The model codes, made this state's own (copied) if they are still the workload's."""
        codes = self.requests.model.codes
        if not codes.flags.writeable:
            codes = codes.copy()
            self.requests = replace(self.requests, model=Category(self.requests.model.names, codes))
        return codes

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
        self.writable_codes()[rows] = code

    def charge(self, label: str, rows: npt.NDArray[np.int64], usd_per_request: Decimal) -> None:
        """Add a per-request cost (router, cache lookup) for `rows` to the window's extras."""
        if not len(rows) or not usd_per_request:
            return
        self.window_usd += usd_per_request * len(rows)
        self.attribute(label, rows, usd_per_request)

    def attribute(self, label: str, rows: npt.NDArray[np.int64], usd_per_request: Decimal) -> None:
        """Record who a per-request cost already in `window_usd` was spent on."""
        if len(rows) and usd_per_request:
            self.charges.append(Charge(label, usd_per_request, Attribution.of(self.requests, rows)))

    def add_fixed(self, cost: FixedCost) -> None:
        """Add a monthly cost (a fleet, amortised training)."""
        self.monthly_usd += cost.monthly_usd
        self.fixed.append(cost)

    def keep(self, mask: npt.NDArray[np.bool_]) -> None:
        """Drop the requests where `mask` is False (answered without a model call)."""
        rows = np.flatnonzero(mask)
        self.requests = self.requests.take(rows)
        self.origin = self.origin[rows]
        self.unmoved = False

    def append_copies(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Add copies of existing requests (a cascade's second call); returns the copies' rows."""
        first = self.size
        self.requests = RequestTable.concat([self.requests, self.requests.take(rows)])
        self.origin = np.concatenate([self.origin, self.origin[rows]])
        self.unmoved = False
        return np.arange(first, self.size, dtype=np.int64)

    def arrival_seconds(self) -> npt.NDArray[np.float64]:
        """Arrival times in seconds; undated requests get their row position (one per second)."""
        stamps = self.requests.timestamp_ns
        seconds = stamps.astype(np.float64) / 1e9
        undated = stamps == NAT
        seconds[undated] = np.flatnonzero(undated).astype(np.float64)
        return seconds


def _shared(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """A read-only view of a workload column: a strategy that changes it copies it first
    (`State.writable_tokens`, …), and any that forgot would fail instead of altering the workload."""
    view = values.view()
    view.flags.writeable = False
    return view


def initial_state(workload: Workload) -> State:
    """The workload as logged, ready for strategies. Columns are shared with the workload, read-only,
    and copied only by a strategy that changes them (copy on write: a scenario that only routes copies
    the model codes and token counts it rescales, not the whole table). Requests that name no model
    get a model category of their own."""
    requests = workload.requests
    model = requests.model
    if (model.codes < 0).any():
        model = Category(
            [*model.names, NO_MODEL],
            np.where(model.codes < 0, len(model.names), model.codes).astype(np.int32),
        )
    else:
        model = Category(list(model.names), _shared(model.codes))
    copied = replace(
        requests,
        model=model,
        tokens={name: _shared(values) for name, values in requests.tokens.items()},
        batch=_shared(requests.batch),
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
    state: State, base_table: PriceTable, workload: Workload, days_per_month: Decimal
) -> Priced:
    """Exact monthly cost of a state: tokens × prices over the window, scaled to the traffic the
    simulated requests stand for and to a month, plus monthly fixed costs."""
    table = state.table or base_table
    requests = state.requests
    lines = aggregate_lines(requests, assign(requests, table), table)
    window = (total_cost(lines) + state.window_usd) * workload.weight
    days = workload.days
    monthly = None if days is None else window * days_per_month / days + state.monthly_usd
    unpriced = sum(line.tokens.requests for line in lines if line.cost is None)
    tokens = requests.token_sum("input_tokens") + requests.token_sum("output_tokens")
    return Priced(
        lines,
        window,
        monthly,
        workload.represented(state.size),
        workload.represented(tokens),
        workload.represented(unpriced),
    )
