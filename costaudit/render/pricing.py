"""`costaudit pricing` output: price listings, one model's full sheet, and table diffs.

JSON shapes are contracts (keys are only ever added): `costaudit.pricing/1` for `list` and `show`,
`costaudit.pricing-diff/1` for `diff`. Prices are decimal strings in USD per 1M tokens, exactly as the
table states them (`null` where the table sets nothing, so the engine's fallback applies).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from costaudit.config.pricing import (
    TOKEN_CLASSES,
    BatchPrices,
    ClassPrices,
    ModelPrice,
    PriceTable,
    Tier,
)
from costaudit.core.model_ids import canonical_provider
from costaudit.core.pricing import Resolution
from costaudit.jsonio import decimal_str
from costaudit.pricetable.diff import ModelDiff, PriceChange, TableDiff
from costaudit.pricetable.sheet import RateRow
from costaudit.render.money import tokens
from costaudit.render.safe import terminal

SCHEMA = "costaudit.pricing/1"
DIFF_SCHEMA = "costaudit.pricing-diff/1"
PRICE_FIELDS = TOKEN_CLASSES
"""Every price class, in JSON (keys only ever added: `reasoning` and `audio_input` came later)."""
LISTED_FIELDS = ("input", "cached_input", "cache_write", "cache_write_1h", "output")
COLUMN_LABELS = ("input", "cached", "write 5m", "write 1h", "output")
"""The classes `pricing list` shows as columns; the others are named in its `other` column."""
EXTRA_LABELS = {"reasoning": "reasoning", "audio_input": "audio in"}
NOT_SET = "—"


# ------------------------------------------------------------------------------------------- JSON


def _price(value: Decimal | None) -> str | None:
    return decimal_str(value, exact=True)


def _class_doc(prices: ClassPrices | BatchPrices) -> dict[str, str | None]:
    return {name: _price(getattr(prices, name)) for name in PRICE_FIELDS}


def _batch_doc(batch: BatchPrices | None) -> dict[str, str | None] | None:
    if batch is None:
        return None
    return {"discount": _price(batch.discount), **_class_doc(batch)}


def _tier_doc(tier: Tier) -> dict[str, Any]:
    return {
        "above_input_tokens": tier.above_input_tokens,
        **_class_doc(tier),
        "batch": _batch_doc(tier.batch),
    }


def model_document(model_id: str, model: ModelPrice) -> dict[str, Any]:
    """One model as `pricing list/show` JSON: every price, tier, batch and history entry."""
    return {
        "id": model_id,
        "provider": model.provider,
        "tokenizer": model.tokenizer,
        **_class_doc(model),
        "batch": _batch_doc(model.batch),
        "tiers": [_tier_doc(tier) for tier in model.tiers],
        "history": [
            {
                "until": entry.until.isoformat(),
                **_class_doc(entry),
                "batch": _batch_doc(entry.batch),
                "tiers": [_tier_doc(tier) for tier in entry.tiers],
                "source": entry.source,
            }
            for entry in model.history
        ],
        "aliases": list(model.aliases),
        "match": model.match,
        "available_from": model.available_from.isoformat() if model.available_from else None,
        "context_window": model.context_window,
        "max_output_tokens": model.max_output_tokens,
        "deprecated": model.deprecated,
        "source": model.source,
        "checked": model.checked.isoformat(),
        "notes": model.notes,
    }


def listing_document(
    table: PriceTable, model_ids: Iterable[str], files: Sequence[Path]
) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "effective": table.effective.isoformat(),
        "files": [str(path) for path in files],
        "models": [model_document(model_id, table.models[model_id]) for model_id in model_ids],
    }


def _change_doc(change: PriceChange) -> dict[str, Any]:
    pct = change.change_pct
    return {
        "field": change.field,
        "old": _price(change.old),
        "new": _price(change.new),
        "change_pct": decimal_str(pct.quantize(Decimal("0.01"))) if pct is not None else None,
    }


def diff_document(diff: TableDiff, old: Path, new: Path) -> dict[str, Any]:
    return {
        "schema": DIFF_SCHEMA,
        "old": {"file": str(old), "effective": diff.old_effective.isoformat()},
        "new": {"file": str(new), "effective": diff.new_effective.isoformat()},
        "added": list(diff.added),
        "removed": list(diff.removed),
        "changed": [
            {
                "id": model.model_id,
                "prices": [_change_doc(change) for change in model.prices],
                "attributes": [
                    {"field": change.field, "old": change.old, "new": change.new}
                    for change in model.attributes
                ],
            }
            for model in diff.changed
        ],
    }


# ------------------------------------------------------------------------------------- rich views


def _shown(value: Decimal | None) -> str:
    return decimal_str(value, exact=True) or NOT_SET


def _batch_cell(batch: BatchPrices | None) -> str:
    if batch is None:
        return NOT_SET
    if batch.input is not None and batch.output is not None:
        return f"{_shown(batch.input)} / {_shown(batch.output)}"
    return f"×{_shown(batch.discount)}" if batch.discount is not None else _shown(batch.input)


def _tiers_cell(tiers: Sequence[Tier]) -> str:
    return ", ".join(f">{tokens(tier.above_input_tokens)}" for tier in tiers) or NOT_SET


def listing_report(
    table: PriceTable, model_ids: Sequence[str], files: Sequence[Path]
) -> list[RenderableType]:
    """The `pricing list` table: prices as written, per model."""
    view = Table(
        title=f"Prices, USD per 1M tokens — effective {table.effective} ({', '.join(map(shown_path, files))})",
        title_justify="left",
    )
    view.add_column("model", overflow="fold")
    view.add_column("provider", overflow="fold")
    for label in COLUMN_LABELS:
        view.add_column(label, justify="right", no_wrap=True)
    view.add_column("batch in/out", justify="right", no_wrap=True)
    view.add_column("tiers", no_wrap=True)
    view.add_column("context", justify="right", no_wrap=True)
    for model_id in model_ids:
        model = table.models[model_id]
        view.add_row(
            model_id + (" *" if model.deprecated else ""),
            model.provider,
            *(_shown(getattr(model, name)) for name in LISTED_FIELDS),
            _batch_cell(model.batch),
            _tiers_cell(model.tiers),
            tokens(model.context_window) if model.context_window else NOT_SET,
        )
    legend = Text(
        f"{len(model_ids)} models; * deprecated. {NOT_SET} = not set: cached reads and cache writes "
        "then cost the input price, 1h writes the 5m price; no batch = no batch API; ×0.5 = batch "
        "discount.",
        style="dim",
    )
    return [view, legend]


def _facts(model_id: str, model: ModelPrice) -> Table:
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    rows = [
        ("model", model_id),
        ("provider", model.provider),
        ("tokenizer", model.tokenizer),
        ("aliases", ", ".join(model.aliases) or NOT_SET),
        ("match", model.match or NOT_SET),
        ("available from", str(model.available_from or NOT_SET)),
        ("context window", f"{model.context_window:,}" if model.context_window else NOT_SET),
        ("max output", f"{model.max_output_tokens:,}" if model.max_output_tokens else NOT_SET),
        ("deprecated", "yes" if model.deprecated else "no"),
        ("source", model.source),
        ("checked", str(model.checked)),
    ]
    if model.notes:
        rows.append(("notes", model.notes))
    for label, value in rows:
        facts.add_row(label, value)
    return facts


def _shown_classes(model: ModelPrice) -> tuple[list[str], list[str]]:
    """The classes `show` lists for a model: the usual five, plus reasoning and audio input where
    some price set of the model states them (their names, their column labels)."""
    sets: list[ClassPrices] = [model, *model.tiers, *model.history]
    sets += [tier for entry in model.history for tier in entry.tiers]
    extra = [name for name in EXTRA_LABELS if any(getattr(s, name) is not None for s in sets)]
    return [*LISTED_FIELDS, *extra], [*COLUMN_LABELS, *(EXTRA_LABELS[name] for name in extra)]


def _written_prices(model: ModelPrice) -> Table:
    names, labels = _shown_classes(model)
    view = Table(title="As written (USD per 1M tokens)", title_justify="left")
    view.add_column("prices")
    for label in labels:
        view.add_column(label, justify="right")
    view.add_column("batch")
    periods: list[tuple[str, ClassPrices, BatchPrices | None, Sequence[Tier]]] = [
        (f"before {entry.until}", entry, entry.batch, entry.tiers) for entry in model.history
    ]
    periods.append(("current", model, model.batch, model.tiers))
    for label, prices, batch, tiers in periods:
        view.add_row(label, *(_shown(getattr(prices, name)) for name in names), _batch_text(batch))
        for tier in tiers:
            view.add_row(
                f"  > {tier.above_input_tokens:,} input",
                *(_shown(getattr(tier, name)) for name in names),
                _batch_text(tier.batch),
            )
    return view


def _batch_text(batch: BatchPrices | None) -> str:
    if batch is None:
        return NOT_SET
    parts = [f"discount ×{_shown(batch.discount)}"] if batch.discount is not None else []
    parts += [
        f"{name} {_shown(getattr(batch, name))}"
        for name in PRICE_FIELDS
        if getattr(batch, name) is not None
    ]
    return ", ".join(parts)


def _billed_rates(model: ModelPrice, rows: Sequence[RateRow]) -> Table:
    names, labels = _shown_classes(model)
    view = Table(
        title="Billed rates after fallbacks (USD per 1M tokens) — what the engine charges",
        title_justify="left",
    )
    view.add_column("period")
    view.add_column("request size")
    view.add_column("mode")
    for label in labels:
        view.add_column(label, justify="right")
    for row in rows:
        view.add_row(
            f"before {row.until}" if row.until else "current",
            _request_size(row),
            "batch" if row.batch else "standard",
            *(_shown(getattr(row.rates, name)) for name in names),
        )
    return view


def _request_size(row: RateRow) -> str:
    if row.above_input_tokens is None:
        return f"≤ {row.up_to_input_tokens:,} input" if row.up_to_input_tokens else "any"
    return f"> {row.above_input_tokens:,} input"


def show_report(
    model_id: str, model: ModelPrice, rows: Sequence[RateRow], lookup: str | None = None
) -> list[RenderableType]:
    """`pricing show MODEL`: how MODEL was found, facts, the prices as written, and the rates the
    engine bills."""
    parts: list[RenderableType] = [Text(terminal(lookup))] if lookup else []
    return [
        *parts,
        Group(_facts(model_id, model)),
        _written_prices(model),
        _billed_rates(model, rows),
    ]


def _first_party(resolution: Resolution, table: PriceTable) -> str | None:
    """The first party whose price a platform-prefixed name is billed at, when the platform has no
    entry of its own for it."""
    provider = table.models[resolution.price_id].provider
    if resolution.host is None or canonical_provider(provider) == resolution.host:
        return None
    return provider


def lookup_document(name: str, resolution: Resolution, table: PriceTable) -> dict[str, Any]:
    """How a name reached its entry, for `pricing show --output json`."""
    return {
        "name": name,
        "matched": resolution.name,
        "steps": list(resolution.steps),
        "platform": resolution.host,
        "billed_at_first_party_price": _first_party(resolution, table),
    }


def lookup_text(name: str, resolution: Resolution, table: PriceTable) -> str | None:
    """One line saying how `name` reached its entry; None when it is the entry's own id or alias."""
    if not resolution.steps:
        return (
            None if name == resolution.price_id else f"`{name}` is a name of {resolution.price_id}."
        )
    text = f"`{name}` → {resolution.price_id}: {'; '.join(resolution.steps)}."
    first_party = _first_party(resolution, table)
    if first_party is not None:
        text += (
            f" The table has no {resolution.host} entry for it: billed at the first-party "
            f"({first_party}) price."
        )
    return text


def _pct(change: PriceChange) -> str:
    pct = change.change_pct
    if pct is None:
        return "added" if change.old is None else "removed" if change.new is None else "from 0"
    return f"{pct:+.1f}%"


def _changed_table(changed: Sequence[ModelDiff]) -> Table:
    view = Table(title="Changed", title_justify="left")
    view.add_column("model")
    view.add_column("field")
    for label in ("old", "new", "change"):
        view.add_column(label, justify="right")
    for model in changed:
        for change in model.prices:
            view.add_row(
                model.model_id, change.field, _shown(change.old), _shown(change.new), _pct(change)
            )
        for attribute in model.attributes:
            view.add_row(
                model.model_id,
                attribute.field,
                attribute.old or NOT_SET,
                attribute.new or NOT_SET,
                "",
            )
    return view


def diff_report(diff: TableDiff, old: Path, new: Path) -> list[RenderableType]:
    """`pricing diff OLD NEW` for people: added, removed, then one line per changed number."""
    header = Text(
        f"{terminal(str(old))} (effective {diff.old_effective}) → {terminal(str(new))} "
        f"(effective {diff.new_effective}): "
        f"{len(diff.added)} added, {len(diff.removed)} removed, {len(diff.changed)} changed"
    )
    parts: list[RenderableType] = [header]
    if diff.added:
        parts.append(Text("added: " + terminal(", ".join(diff.added))))
    if diff.removed:
        parts.append(Text("removed: " + terminal(", ".join(diff.removed))))
    if diff.changed:
        parts.append(_changed_table(diff.changed))
    if diff.unchanged:
        parts.append(Text("no model prices differ"))
    return parts


# ------------------------------------------------------------------- hardware and self-hosted models

SECTION_TITLES = {
    "hardware": "Hardware for self-hosting, USD per hour per device",
    "self_hosted": "Self-hosted model architectures",
}
HARDWARE_COLUMNS = (
    ("kind", "kind"),
    ("memory_gb", "memory GB"),
    ("bandwidth_gbs", "GB/s"),
    ("bf16_tflops", "bf16 TFLOPS"),
    ("fp8_tflops", "fp8 TFLOPS"),
    ("hourly", "hourly"),
    ("spot_hourly", "spot"),
)
SELF_HOSTED_COLUMNS = (
    ("params_b", "params (B)"),
    ("layers", "layers"),
    ("hidden", "hidden"),
    ("heads", "heads"),
    ("kv_heads", "kv heads"),
    ("head_dim", "head dim"),
    ("context_window", "context"),
)


def _plain(value: object) -> Any:
    if isinstance(value, Decimal):
        return decimal_str(value, exact=True)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _entry(table: PriceTable, section: str, name: str) -> Any:
    entries: dict[str, Any] = getattr(table, section)
    return entries[name]


def section_document(
    table: PriceTable, section: str, names: Sequence[str], files: Sequence[Path]
) -> dict[str, Any]:
    """`pricing list --hardware|--self-hosted` (and `show` of one entry) as JSON: every field of
    each entry, decimals as strings."""
    entries = []
    for name in names:
        entry = _entry(table, section, name)
        fields = {key: _plain(value) for key, value in entry.model_dump().items()}
        entries.append({"id": name, **fields})
    return {
        "schema": SCHEMA,
        "effective": table.effective.isoformat(),
        "files": [str(path) for path in files],
        section: entries,
    }


def section_report(
    table: PriceTable, section: str, names: Sequence[str], files: Sequence[Path]
) -> list[RenderableType]:
    columns = HARDWARE_COLUMNS if section == "hardware" else SELF_HOSTED_COLUMNS
    view = Table(
        title=f"{SECTION_TITLES[section]} — effective {table.effective} ({', '.join(map(shown_path, files))})",
        title_justify="left",
    )
    view.add_column("id", overflow="fold")
    for _field, label in columns:
        view.add_column(label, justify="right", no_wrap=True)
    for name in names:
        entry = _entry(table, section, name)
        view.add_row(
            name,
            *(str(_plain(getattr(entry, field)) or NOT_SET) for field, _label in columns),
        )
    hint = "`costaudit pricing show ID` prints one entry with its sources."
    return [view, Text(f"{len(names)} entries. {hint}", style="dim")]


def entry_report(table: PriceTable, section: str, name: str) -> list[RenderableType]:
    """`pricing show h100`: every field of one hardware or self-hosted entry."""
    entry = _entry(table, section, name)
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    facts.add_row("id", name)
    facts.add_row("section", section.replace("_", "-"))
    for key, value in entry.model_dump().items():
        facts.add_row(key, str(_plain(value)) if value is not None else NOT_SET)
    return [Group(facts)]


# ------------------------------------------------------------------------------------------ coverage


def _provider_counts(table: PriceTable, model_ids: Sequence[str]) -> list[tuple[str, int, int]]:
    """(provider, models, deprecated models), most models first."""
    counts: dict[str, list[int]] = {}
    for model_id in model_ids:
        model = table.models[model_id]
        entry = counts.setdefault(model.provider, [0, 0])
        entry[0] += 1
        entry[1] += int(model.deprecated)
    return sorted(
        ((name, total, old) for name, (total, old) in counts.items()),
        key=lambda row: (-row[1], row[0]),
    )


def providers_document(
    table: PriceTable, model_ids: Sequence[str], files: Sequence[Path]
) -> dict[str, Any]:
    """`pricing list --providers` as JSON: how many models each provider bills."""
    return {
        "schema": SCHEMA,
        "effective": table.effective.isoformat(),
        "files": [str(path) for path in files],
        "models": len(model_ids),
        "providers": [
            {"provider": name, "models": total, "deprecated": old}
            for name, total, old in _provider_counts(table, model_ids)
        ],
    }


def providers_report(
    table: PriceTable, model_ids: Sequence[str], files: Sequence[Path]
) -> list[RenderableType]:
    rows = _provider_counts(table, model_ids)
    view = Table(title="Models per provider", title_justify="left")
    view.add_column("provider")
    view.add_column("models", justify="right")
    view.add_column("deprecated", justify="right")
    for name, total, old in rows:
        view.add_row(name, str(total), str(old))
    summary = (
        f"{len(model_ids)} models from {len(rows)} provider{'s' if len(rows) != 1 else ''}, "
        f"effective {table.effective} ({', '.join(map(shown_path, files))})."
    )
    return [view, Text(terminal(summary), style="dim")]


def shown_path(path: Path) -> str:
    """A table file as the reader would type it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)
