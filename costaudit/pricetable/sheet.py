"""The rates a model actually bills, after every fallback rule, for `costaudit pricing show`.

A table entry states only what the provider publishes; the engine fills the rest (no cached price →
input price, batch discount applied to classes without a batch price, ...). Showing the filled-in
rates per price period, long-context tier and batch flag answers "what will this request cost" without
making the reader apply the rules by hand. The numbers come from the engine's own `class_rates`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from costaudit.config.pricing import ModelPrice
from costaudit.core.pricing import Rates, class_rates


@dataclass(frozen=True)
class RateRow:
    """Billed rates (USD per 1M tokens) for one period × tier × batch combination."""

    until: date | None
    """The period ends before this day; None for the current prices."""
    above_input_tokens: int | None
    """The tier's threshold; None below the first tier."""
    up_to_input_tokens: int | None
    """The next tier's threshold (the row covers requests up to it); None for the top tier."""
    batch: bool
    rates: Rates


def rate_sheet(model: ModelPrice) -> list[RateRow]:
    """Every billable combination, oldest period first, standard before batch."""
    rows = []
    for period, span in enumerate(model.price_periods()):
        thresholds: list[int | None] = [None, *(tier.above_input_tokens for tier in span.tiers)]
        for tier, threshold in enumerate(thresholds):
            up_to = thresholds[tier + 1] if tier + 1 < len(thresholds) else None
            for batch in (False, True):
                rates = class_rates(model, period, tier, batch)
                if rates is not None:
                    rows.append(RateRow(span.until, threshold, up_to, batch, rates))
    return rows
