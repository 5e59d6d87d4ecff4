"""LiteLLM's `model_prices_and_context_window.json` → a costaudit price table.

The source is one flat JSON object keyed by model id, with USD prices per single token as floats
(research: pricing.md §1.3). Conversion rules, each chosen so the imported table prices a request
exactly as LiteLLM's own calculator would:

- a price per token becomes an exact price per 1M tokens through the float's shortest decimal form:
  `Decimal(repr(2.5e-06)) * 1_000_000` = `2.5` (never `2.4999999999999998`);
- `cache_read_input_token_cost` → cached input (`input_cost_per_token_cache_hit` when it is absent,
  DeepSeek style); `cache_creation_input_token_cost` → 5-minute cache write;
  `cache_creation_input_token_cost_above_1hr` → the 1-hour cache write (despite its name);
- `<price>_above_<N>k_tokens` → a whole-request tier above N×1000 input tokens (strictly above, as
  LiteLLM compares; `>=` for xAI, so its thresholds are lowered by one); a class without its own tier
  key keeps its base price in that tier, as LiteLLM does;
- `*_batches` → the `batch` block, when LiteLLM gives at least the input and output batch prices. A
  class without a `_batches` key is billed at its standard price in batch (LiteLLM has no batch
  cache-read key for gpt-4o, so cached tokens stay at $1.25/M), stated explicitly; inside a tier,
  a class without its own `_above_..._batches` key keeps its base batch price;
- `litellm_provider` → provider; `max_input_tokens` → context_window; `max_output_tokens` →
  max_output_tokens; a `deprecation_date` on or before the import day → `deprecated`;
- `alias_of` entries become aliases of their target.

- `output_cost_per_reasoning_token` → `reasoning`, `input_cost_per_audio_token` → `audio_input`
  (each left out when it equals the price it falls back to: output, input);
- `tiered_pricing` ranges (`start < input tokens <= end`, every token of the request at the range's
  prices, as Alibaba Cloud bills Qwen) → the first range's prices as the base and a whole-request
  tier above each later range's start.

Entries are skipped, and counted by reason, when they are not text-generation models (`mode` other
than chat, completion or responses), carry no per-token input and output price, or have
`tiered_pricing` ranges with gaps.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from costaudit.pricetable.importers.common import (
    ImportReport,
    ImportResult,
    Ladder,
    SkipEntry,
    build_table,
    guess_tokenizer,
    plain_decimal,
    price_fields,
    source_price,
)

MILLION = Decimal(1_000_000)
TEXT_MODES = frozenset({"chat", "completion", "responses"})
"""`mode` values of models billed per text token, the ones request logs are made of."""
INCLUSIVE_THRESHOLD_PROVIDERS = frozenset({"xai"})
"""Providers whose LiteLLM tiers start AT the threshold (`>=`) rather than above it."""
PRICE_KEYS = {
    "input_cost_per_token": "input",
    "output_cost_per_token": "output",
    "cache_read_input_token_cost": "cached_input",
    "cache_creation_input_token_cost": "cache_write",
    "cache_creation_input_token_cost_above_1hr": "cache_write_1h",
    "output_cost_per_reasoning_token": "reasoning",
    "input_cost_per_audio_token": "audio_input",
}
PRICE_KEY_PATTERN = re.compile(
    r"^(?P<base>input_cost_per_token|output_cost_per_token|cache_read_input_token_cost"
    r"|cache_creation_input_token_cost_above_1hr|cache_creation_input_token_cost"
    r"|output_cost_per_reasoning_token|input_cost_per_audio_token)"
    r"(?:_above_(?P<size>\d+)(?P<thousands>k?)_tokens)?(?P<batch>_batches)?$"
)
FALLBACK_CLASS = {
    "cached_input": "input",
    "cache_write": "input",
    "cache_write_1h": "cache_write",
    "reasoning": "output",
    "audio_input": "input",
}
SAME_AS_FALLBACK_DROPPED = ("reasoning", "audio_input")
"""Classes left out when they cost exactly what they fall back to (most models state their reasoning
rate equal to the output rate)."""
"""What a class costs when LiteLLM gives it no base price (the engine's fallbacks too)."""
DOCUMENTATION_KEYS = frozenset({"sample_spec"})


def per_million(value: object) -> Decimal:
    """USD per token (a JSON float) → exact USD per 1M tokens."""
    return plain_decimal(source_price(value) * MILLION)


def convert_litellm(data: Mapping[str, Any], *, file_name: str, imported: date) -> ImportResult:
    """Convert LiteLLM's price map (already parsed from JSON) into a validated `PriceTable`."""
    report = ImportReport()
    source = f"LiteLLM model_prices_and_context_window.json ({file_name}, imported {imported})"
    entries: dict[str, dict[str, Any]] = {}
    aliases: dict[str, list[str]] = {}
    alias_targets: dict[str, str] = {}
    for key in sorted(data):
        raw = data[key]
        if key in DOCUMENTATION_KEYS or not isinstance(raw, Mapping):
            continue
        if "alias_of" in raw:
            alias_targets[key] = str(raw["alias_of"])
            continue
        try:
            entries[key] = convert_entry(key, raw, source=source, imported=imported)
        except SkipEntry as skip:
            report.skip(str(skip))
            continue
        aliases[key] = []
    for alias, target in sorted(alias_targets.items()):
        if target in aliases:
            aliases[target].append(alias)
        else:
            report.skip("`alias_of` an entry that was not imported")
    return build_table(entries, aliases, effective=imported, source=source, report=report)


def convert_entry(
    model_id: str, raw: Mapping[str, Any], *, source: str, imported: date
) -> dict[str, Any]:
    """One LiteLLM entry → costaudit model fields (raises `SkipEntry` with the reason)."""
    if not re.fullmatch(r"\S{1,200}", model_id):
        raise SkipEntry("an id with spaces or over 200 characters")
    mode = raw.get("mode")
    if mode not in TEXT_MODES:
        raise SkipEntry(f"not a text model (mode={mode or 'missing'})")
    provider = str(raw.get("litellm_provider") or "unknown")
    standard, batch = _ladders(raw, inclusive=provider in INCLUSIVE_THRESHOLD_PROVIDERS)
    if "input" not in standard or "output" not in standard:
        raise SkipEntry("no per-token input and output price")
    entry: dict[str, Any] = {"provider": provider, "tokenizer": guess_tokenizer(model_id)}
    entry.update(price_fields(standard, batch))
    entry.update(_limits(raw))
    entry.update(_deprecation(raw, imported))
    entry["source"] = source
    entry["checked"] = imported
    return entry


def _ladders(
    raw: Mapping[str, Any], *, inclusive: bool
) -> tuple[dict[str, Ladder], dict[str, Ladder] | None]:
    """Per-class ladders for standard and batch prices, read from every matching key and from the
    `tiered_pricing` ranges."""
    bases: dict[tuple[str, bool], Decimal] = {}
    steps: dict[tuple[str, bool], list[tuple[int, Decimal]]] = {}
    for key, value in raw.items():
        match = PRICE_KEY_PATTERN.match(key)
        if match is None or value is None:
            continue
        name = PRICE_KEYS[match["base"]]
        slot = (name, match["batch"] is not None)
        price = per_million(value)
        if match["size"] is None:
            bases[slot] = price
        else:
            threshold = int(match["size"]) * (1000 if match["thousands"] else 1)
            steps.setdefault(slot, []).append((threshold - 1 if inclusive else threshold, price))
    if "tiered_pricing" in raw:
        _add_ranges(raw["tiered_pricing"], bases, steps)
    if ("cached_input", False) not in bases and "input_cost_per_token_cache_hit" in raw:
        bases[("cached_input", False)] = per_million(raw["input_cost_per_token_cache_hit"])
    standard = _side(bases, steps, batch=False)
    has_batch = ("input", True) in bases and ("output", True) in bases
    return standard, (_side(bases, steps, batch=True) if has_batch else None)


def _add_ranges(
    ranges: object,
    bases: dict[tuple[str, bool], Decimal],
    steps: dict[tuple[str, bool], list[tuple[int, Decimal]]],
) -> None:
    """`tiered_pricing: [{range: [start, end], <prices>}]` → base prices and whole-request steps.

    LiteLLM picks the range with `start < input tokens <= end` and bills every token of the request
    at it, as Alibaba Cloud bills Qwen by input length: a costaudit tier above `start`. The ranges
    must start at 0 and follow each other without gaps; the last one is open-ended here.
    """
    if not isinstance(ranges, list) or not ranges:
        raise SkipEntry("`tiered_pricing` that is not a list of ranges")
    parsed = sorted((_range_bounds(item), item) for item in ranges)
    previous_end = 0
    for (start, end), item in parsed:
        if start != previous_end:
            raise SkipEntry("`tiered_pricing` ranges that do not start at 0 or leave a gap")
        previous_end = end
        for key, name in PRICE_KEYS.items():
            value = item.get(key)
            if value is None:
                continue
            if start == 0:
                bases.setdefault((name, False), per_million(value))
            else:
                steps.setdefault((name, False), []).append((start, per_million(value)))


def _range_bounds(item: object) -> tuple[int, int]:
    bounds = item.get("range") if isinstance(item, Mapping) else None
    if (
        not isinstance(bounds, list)
        or len(bounds) != 2
        or not all(isinstance(value, int | float) for value in bounds)
    ):
        raise SkipEntry("a `tiered_pricing` range that is not [start, end]")
    start, end = (int(value) for value in bounds)
    if start < 0 or end <= start:
        raise SkipEntry("a `tiered_pricing` range that is not [start, end]")
    return start, end


def _side(
    bases: Mapping[tuple[str, bool], Decimal],
    steps: Mapping[tuple[str, bool], list[tuple[int, Decimal]]],
    *,
    batch: bool,
) -> dict[str, Ladder]:
    """The ladders of one side (standard or batch).

    A class priced only above a threshold (Gemini's tier-only cache writes) starts from the price it
    falls back to below it, as LiteLLM bills a missing rate: a cache write or read at input price.
    """
    ladders: dict[str, Ladder] = {}
    for name in (
        "input",
        "output",
        "cached_input",
        "cache_write",
        "cache_write_1h",
        "reasoning",
        "audio_input",
    ):
        class_steps = tuple(sorted(steps.get((name, batch), [])))
        base = bases.get((name, batch))
        if base is None and class_steps:
            fallback = ladders.get(FALLBACK_CLASS.get(name, ""))
            base = fallback.base if fallback is not None else None
        if base is not None:
            ladders[name] = Ladder(base, class_steps)
    for name in SAME_AS_FALLBACK_DROPPED:
        fallback = ladders.get(FALLBACK_CLASS[name])
        if name in ladders and fallback is not None and _same_prices(ladders[name], fallback):
            del ladders[name]
    return ladders


def _same_prices(ladder: Ladder, other: Ladder) -> bool:
    """Whether two ladders bill the same at every threshold either has."""
    thresholds = [None, *sorted(ladder.thresholds() | other.thresholds())]
    return all(ladder.at(threshold) == other.at(threshold) for threshold in thresholds)


def _limits(raw: Mapping[str, Any]) -> dict[str, int]:
    limits = {}
    for source_key, field in (
        ("max_input_tokens", "context_window"),
        ("max_output_tokens", "max_output_tokens"),
    ):
        value = raw.get(source_key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 1:
            limits[field] = int(value)
    return limits


def _deprecation(raw: Mapping[str, Any], imported: date) -> dict[str, Any]:
    text = raw.get("deprecation_date")
    try:
        deprecated_on = date.fromisoformat(str(text)) if text else None
    except ValueError:
        return {}
    if deprecated_on is None:
        return {}
    note = {"notes": f"LiteLLM deprecation_date {deprecated_on}"}
    return {"deprecated": True, **note} if deprecated_on <= imported else note
