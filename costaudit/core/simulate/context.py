"""What every strategy step can consult: the workload, the price table, parameters and randomness."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from costaudit.config.pricing import PriceTable
from costaudit.config.scenario import Selector
from costaudit.core.parts import Fanout
from costaudit.core.pricing import ModelResolver
from costaudit.core.simulate.select import UnknownField, selected
from costaudit.core.simulate.state import State, Workload
from costaudit.errors import InputError, Location

RANGE_DIGITS = Decimal("0.000000001")
SCENARIO_FILE = "(scenario file)"
"""Placeholder file of a `ScenarioProblem`; the API replaces it with the scenario file's path."""


class ScenarioProblem(InputError):
    """A scenario that cannot be simulated as written, found while running it (exit 3). It names the
    scenario field; the caller that knows the file adds its path."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(Location(SCENARIO_FILE, field=field), message)
        self.field = field


class Params:
    """Resolves a parameter that may be a range: its midpoint, or a uniform draw in a Monte Carlo run."""

    def __init__(self, rng: np.random.Generator | None = None) -> None:
        self.rng = rng

    def __call__(self, value: Decimal | list[Decimal]) -> Decimal:
        if not isinstance(value, list):
            return value
        low, high = value
        if self.rng is None:
            return (low + high) / 2
        draw = Decimal(str(self.rng.random())).quantize(RANGE_DIGITS)
        return low + (high - low) * draw


@dataclass
class Context:
    """Shared, read-only inputs of one scenario run."""

    workload: Workload
    table: PriceTable
    params: Params
    rng: np.random.Generator
    days_per_month: Decimal
    cache_band: str = "central"
    """Which end of the prompt-cache hit-rate band to price: low, central or high."""
    where: str = "scenarios[0]"
    """The scenario's place in the file (for errors naming a field)."""
    step: str = ""
    """The strategy being applied (set by the engine before each step)."""
    report: Callable[[str], None] | None = None
    """Told what long work is doing (a replay, a search), for a progress line."""
    fanout: Fanout | None = None
    """How the cache replays run their independent parts (cache scopes), e.g. as tasks of a cluster;
    None: each replay runs whole, here."""
    resolver: ModelResolver = field(init=False)

    def __post_init__(self) -> None:
        self.resolver = ModelResolver(self.table)

    @property
    def central(self) -> bool:
        """The reported run (not a Monte Carlo draw or a cache-band variant): extras are computed here."""
        return self.params.rng is None and self.cache_band == "central"

    def price_id(self, name: str) -> str | None:

        return self.resolver.resolve(name)

    def field(self, name: str) -> str:
        """The dotted scenario field `name` of the strategy being applied."""
        return f"{self.where}.{self.step}.{name}" if self.step else f"{self.where}.{name}"

    def problem(self, name: str, message: str) -> ScenarioProblem:
        """A configuration error about field `name` of the strategy being applied."""
        return ScenarioProblem(self.field(name), message)

    def selected(self, state: State, applies_to: Selector | None) -> npt.NDArray[np.bool_]:
        """Mask of the requests `applies_to` selects (all when None)."""
        try:
            return selected(state.requests, applies_to, self.resolver)
        except UnknownField as exc:
            raise self.problem(f"applies_to.{exc.key}", str(exc)) from None

    def rows_for(self, state: State, applies_to: Selector | None) -> npt.NDArray[np.int64]:
        """Indexes of the requests a strategy applies to (those `applies_to` selects, or all)."""
        if applies_to is None:
            return np.arange(state.size, dtype=np.int64)
        return np.flatnonzero(self.selected(state, applies_to)).astype(np.int64)

    def encodings(self, source: str, target: str) -> tuple[str, str] | None:
        source_id, target_id = self.price_id(source), self.price_id(target)
        if source_id is None or target_id is None:
            return None
        return self.table.models[source_id].tokenizer, self.table.models[target_id].tokenizer

    def measured_ratios(
        self, state: State, rows: npt.NDArray[np.int64], source: str, target: str
    ) -> npt.NDArray[np.float64] | None:
        """Per-request target/source token ratio measured on the prompt text (NaN where unmeasured)."""
        pair = self.encodings(source, target)
        measured = state.requests.measured
        if pair is None or any(encoding not in measured for encoding in pair):
            return None
        source_counts = measured[pair[0]][rows].astype(np.float64)
        target_counts = measured[pair[1]][rows].astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(source_counts > 0, target_counts / source_counts, np.nan)

    def tokenizer_ratio(self, source: str, target: str) -> tuple[Decimal, bool]:
        """Tokens on `target` per token on `source`, and whether the ratio is known (else 1 is assumed)."""
        source_id, target_id = self.price_id(source), self.price_id(target)
        if source_id is None or target_id is None:
            return Decimal(1), True
        source_enc = self.table.models[source_id].tokenizer
        target_enc = self.table.models[target_id].tokenizer
        if source_enc == target_enc:
            return Decimal(1), True
        ratios = self.table.tokenizers
        if source_enc in ratios and target_enc in ratios:
            return ratios[target_enc].per_cl100k / ratios[source_enc].per_cl100k, True
        return Decimal(1), False
