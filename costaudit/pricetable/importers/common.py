"""What both importers share: per-class price ladders, table assembly, and the import report.

Both sources describe long-context prices per token class (LiteLLM with `*_above_200k_tokens` keys,
genai-prices with `TieredPrices{base, tiers}`), where costaudit describes them per request size (a tier
prices every class). A `Ladder` holds one class's base price and its thresholds; `price_fields` turns
a set of ladders into costaudit's shape, pricing each class at every threshold exactly as the source
would: a class without its own step at a threshold keeps its price from the step below.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from costaudit.config.pricing import TOKEN_CLASSES, ModelPrice, PriceTable

EXPLICIT_IN_BATCH = ("input", "cached_input", "cache_write", "cache_write_1h", "output")
"""Classes a batch block always states; reasoning and audio input without their own batch price get
the batch discount (batch input over input), as the providers apply it to every token."""
FALLBACK_TOKENIZER = "cl100k_base"


class SkipEntry(Exception):
    """This source entry cannot be imported; the message is the reason counted in the report."""


def source_price(value: object) -> Decimal:
    """A price as a source file writes it (JSON number or string) → the exact Decimal it shows.

    A float goes through its shortest decimal form, so `2.5e-06` is exactly 0.0000025.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise SkipEntry("a price that is not a number")
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise SkipEntry("a price that is not a number") from None
    if not number.is_finite() or number < 0:
        raise SkipEntry("a negative or infinite price")
    return number


def plain_decimal(value: Decimal) -> Decimal:
    """`2.5000000` → `2.5`, `1E+1` → `10`: the shortest exact form, never an exponent."""
    normalized = value.normalize()
    exponent = normalized.as_tuple().exponent
    if isinstance(exponent, int) and exponent > 0:
        return normalized.quantize(Decimal(1))
    return normalized


@dataclass(frozen=True)
class Ladder:
    """One token class's price: `base`, replaced above each `(threshold, price)` step."""

    base: Decimal
    steps: tuple[tuple[int, Decimal], ...] = ()

    def at(self, threshold: int | None) -> Decimal:
        """The price for a request strictly above `threshold` input tokens (None: the base)."""
        price = self.base
        if threshold is None:
            return price
        for start, step_price in sorted(self.steps):
            if start <= threshold:
                price = step_price
        return price

    def thresholds(self) -> set[int]:
        return {start for start, _price in self.steps}


PriceSet = Mapping[str, Ladder]
"""Ladders by costaudit token class (`input`, `cached_input`, ...); `input` and `output` required."""


def price_fields(standard: PriceSet, batch: PriceSet | None = None) -> dict[str, Any]:
    """costaudit price fields (classes, `batch`, `tiers`) for one period of a model.

    `batch`, when given, should price every class of `standard`; each class it lacks keeps its
    standard price in batch, stated explicitly so the engine applies no discount to it.
    """
    classes = [name for name in TOKEN_CLASSES if name in standard]
    fields: dict[str, Any] = {name: plain_decimal(standard[name].base) for name in classes}
    full_batch = _complete_batch(standard, batch)
    if full_batch is not None:
        fields["batch"] = _prices_at(full_batch, classes, None)
    thresholds = sorted(
        set().union(
            *(ladder.thresholds() for ladder in (*standard.values(), *(batch or {}).values()))
        )
    )
    tiers = []
    for threshold in thresholds:
        tier: dict[str, Any] = {"above_input_tokens": threshold}
        tier.update(_prices_at(standard, classes, threshold))
        if full_batch is not None:
            tier["batch"] = _prices_at(full_batch, classes, threshold)
        tiers.append(tier)
    if tiers:
        fields["tiers"] = tiers
    return fields


def _complete_batch(standard: PriceSet, batch: PriceSet | None) -> dict[str, Ladder] | None:
    if batch is None:
        return None
    return {
        name: batch.get(name, ladder)
        for name, ladder in standard.items()
        if name in EXPLICIT_IN_BATCH or name in batch
    }


def _prices_at(
    ladders: PriceSet, classes: Iterable[str], threshold: int | None
) -> dict[str, Decimal]:
    return {name: plain_decimal(ladders[name].at(threshold)) for name in classes if name in ladders}


def guess_tokenizer(model_id: str) -> str:
    """tiktoken's encoding for OpenAI model names (`gpt-4o` → o200k_base), else cl100k_base.

    Uses tiktoken's offline name table only (no encoding is loaded); the last path segment is used so
    `azure/gpt-4o` and `openai/gpt-4o` match too.
    """
    import tiktoken.model

    name = model_id.rsplit("/", 1)[-1]
    try:
        return tiktoken.model.encoding_name_for_model(name)
    except KeyError:
        return FALLBACK_TOKENIZER


@dataclass
class ImportReport:
    """Counts of what an import did, for the one-line summary and the tests."""

    skipped: Counter[str] = field(default_factory=Counter)
    """Source entries not imported, by reason."""
    notes: Counter[str] = field(default_factory=Counter)
    """Imported entries with a caveat (something of the source not carried over), by caveat."""

    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1

    def note(self, caveat: str) -> None:
        self.notes[caveat] += 1


@dataclass(frozen=True)
class ImportResult:
    table: PriceTable
    source: str
    """What was imported, for the YAML header and the summary (e.g. the file name)."""
    skipped: Mapping[str, int]
    notes: Mapping[str, int]

    @property
    def imported(self) -> int:
        return len(self.table.models)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


def build_table(
    entries: Mapping[str, dict[str, Any]],
    aliases: Mapping[str, list[str]],
    *,
    effective: date,
    source: str,
    report: ImportReport,
) -> ImportResult:
    """Validate each converted entry, hand out aliases first come first served, build the table.

    `entries` is in priority order: when two entries claim the same alias, the earlier keeps it.
    An entry that fails validation is skipped with pydantic's reason, never half-imported.
    """
    models: dict[str, ModelPrice] = {}
    for model_id, entry in entries.items():
        try:
            models[model_id] = ModelPrice.model_validate(entry)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            report.skip(
                f"rejected by validation ({str(first['msg']).removeprefix('Value error, ')})"
            )
    _assign_aliases(models, aliases, report)
    _keep_patterns_off_other_names(models)
    table = PriceTable.model_validate(
        {"schema_version": 1, "effective": effective, "models": dict(sorted(models.items()))}
    )
    return ImportResult(table, source, dict(report.skipped), dict(report.notes))


def _assign_aliases(
    models: dict[str, ModelPrice], aliases: Mapping[str, list[str]], report: ImportReport
) -> None:
    claimed = set(models)
    for model_id in models:
        kept = []
        for alias in aliases.get(model_id, []):
            if alias in claimed:
                if alias != model_id:
                    report.note("alias dropped: already the name of another entry")
                continue
            claimed.add(alias)
            kept.append(alias)
        if kept:
            models[model_id] = models[model_id].model_copy(update={"aliases": kept})


def _keep_patterns_off_other_names(models: dict[str, ModelPrice]) -> None:
    """Exclude other entries' exact names from each `match` pattern.

    Exact names resolve before patterns, so this changes no resolution; it makes the pattern say
    what it covers, and keeps `pricing validate`'s shadowing rule satisfied.
    """
    names = [
        (name, model_id)
        for model_id, model in models.items()
        for name in (model_id, *model.aliases)
    ]
    for model_id, model in models.items():
        if model.match is None:
            continue
        pattern = re.compile(model.match)
        covered = [name for name, owner in names if owner != model_id and pattern.fullmatch(name)]
        if covered:
            models[model_id] = model.model_copy(
                update={"match": exclude_names(model.match, covered)}
            )


def exclude_names(pattern: str, names: Iterable[str]) -> str:
    """`pattern` that no longer fully matches any of `names` (leading global flags kept first)."""
    flags = re.match(r"^\(\?[aiLmsux]+\)", pattern)
    prefix = flags.group(0) if flags else ""
    body = pattern[len(prefix) :]
    alternatives = "|".join(re.escape(name) for name in names)
    return f"{prefix}(?!(?:{alternatives})\\Z)(?:{body})"
