"""What changed between two price tables: models added and removed, and every price that moved.

A price table update is reviewed like code. The reviewer wants one line per changed number with its
percentage, so a 10x typo (`0.25` → `2.5`) stands out, and the attributes that change how logs resolve
(aliases, `match`, provider, tokenizer) listed beside them. Provenance-only edits (`source`, `checked`,
`notes`) are not changes in price and are left out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from costaudit.config.pricing import (
    TOKEN_CLASSES,
    BatchPrices,
    ClassPrices,
    ModelPrice,
    PriceTable,
    Tier,
)

PRICE_FIELDS = TOKEN_CLASSES
BATCH_FIELDS = ("discount", *PRICE_FIELDS)
ATTRIBUTE_FIELDS = (
    "provider",
    "tokenizer",
    "aliases",
    "match",
    "available_from",
    "context_window",
    "max_output_tokens",
    "deprecated",
)
"""Non-price fields that change how requests resolve or are flagged."""
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class PriceChange:
    """One number that differs; `None` on a side means the price is not set there."""

    field: str
    old: Decimal | None
    new: Decimal | None

    @property
    def change_pct(self) -> Decimal | None:
        """Relative change in percent; None when either side is missing or the old price is 0."""
        if self.old is None or self.new is None or self.old == 0:
            return None
        return (self.new - self.old) / self.old * HUNDRED


@dataclass(frozen=True)
class AttributeChange:
    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class ModelDiff:
    model_id: str
    prices: tuple[PriceChange, ...]
    attributes: tuple[AttributeChange, ...]


@dataclass(frozen=True)
class TableDiff:
    old_effective: date
    new_effective: date
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[ModelDiff, ...]

    @property
    def unchanged(self) -> bool:
        return not (self.added or self.removed or self.changed)


def diff_tables(old: PriceTable, new: PriceTable) -> TableDiff:
    """Compare two tables model by model (ids in sorted order)."""
    changed = []
    for model_id in sorted(old.models.keys() & new.models.keys()):
        model_diff = diff_models(model_id, old.models[model_id], new.models[model_id])
        if model_diff.prices or model_diff.attributes:
            changed.append(model_diff)
    return TableDiff(
        old_effective=old.effective,
        new_effective=new.effective,
        added=tuple(sorted(new.models.keys() - old.models.keys())),
        removed=tuple(sorted(old.models.keys() - new.models.keys())),
        changed=tuple(changed),
    )


def diff_models(model_id: str, old: ModelPrice, new: ModelPrice) -> ModelDiff:
    old_prices, new_prices = flat_prices(old), flat_prices(new)
    prices = tuple(
        PriceChange(field, old_prices.get(field), new_prices.get(field))
        for field in _union_in_order(old_prices, new_prices)
        if old_prices.get(field) != new_prices.get(field)
    )
    attributes = tuple(
        AttributeChange(field, _attribute(old, field), _attribute(new, field))
        for field in ATTRIBUTE_FIELDS
        if _attribute(old, field) != _attribute(new, field)
    )
    return ModelDiff(model_id, prices, attributes)


def flat_prices(model: ModelPrice) -> dict[str, Decimal]:
    """Every price of a model under a readable path: `input`, `batch.output`,
    `tiers[>200000].input`, `history[until 2025-06-10].output`, ..."""
    return dict(_period_prices(model, model.batch, model.tiers, prefix=""))


def _period_prices(
    prices: ClassPrices, batch: BatchPrices | None, tiers: list[Tier], prefix: str
) -> Iterator[tuple[str, Decimal]]:
    yield from _class_prices(prices, prefix)
    yield from _batch_prices(batch, f"{prefix}batch.")
    for tier in tiers:
        tier_prefix = f"{prefix}tiers[>{tier.above_input_tokens}]."
        yield from _class_prices(tier, tier_prefix)
        yield from _batch_prices(tier.batch, f"{tier_prefix}batch.")
    if isinstance(prices, ModelPrice):
        for entry in prices.history:
            yield from _period_prices(
                entry, entry.batch, entry.tiers, prefix=f"{prefix}history[until {entry.until}]."
            )


def _class_prices(prices: ClassPrices, prefix: str) -> Iterator[tuple[str, Decimal]]:
    for name in PRICE_FIELDS:
        value = getattr(prices, name)
        if value is not None:
            yield f"{prefix}{name}", value


def _batch_prices(batch: BatchPrices | None, prefix: str) -> Iterator[tuple[str, Decimal]]:
    if batch is None:
        return
    for name in BATCH_FIELDS:
        value = getattr(batch, name)
        if value is not None:
            yield f"{prefix}{name}", value


def _union_in_order(first: Mapping[str, object], second: Mapping[str, object]) -> list[str]:
    return list(dict.fromkeys([*first, *second]))


def _attribute(model: ModelPrice, field: str) -> str | None:
    value = getattr(model, field)
    if value is None:
        return None
    if isinstance(value, list):
        return ", ".join(sorted(value)) or None
    return str(value).lower() if isinstance(value, bool) else str(value)
