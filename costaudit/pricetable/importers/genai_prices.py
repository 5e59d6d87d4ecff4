"""pydantic/genai-prices data → a costaudit price table, dated history and tiers included.

The converter reads genai-prices' published data shape (its `data.json`: a list of providers, each
with `models`; research: pricing.md §2.2), so a checked-in excerpt, a downloaded `data.json` and the
installed package (walked into the same shape by `installed_providers`) all take one path. Rules,
chosen so the imported table prices what genai-prices would:

- `input_mtok`, `cache_read_mtok`, `cache_write_mtok` (or `cache_write_5m_mtok`),
  `cache_write_1h_mtok`, `output_mtok` → the five costaudit classes; other units (audio, images,
  web searches) only bill usage costaudit does not carry, and are left out;
- `TieredPrices{base, tiers: [{start, price}]}` → whole-request tiers above `start` (genai-prices
  compares total input tokens with a strict `>`, as costaudit does);
- `prices` as a list of `ConditionalPrice` with `start_date` → `history`: each set covers requests
  until the next one's start date (the first set also covers everything before it, as in
  genai-prices); hourly (`TimeOfDateConstraint`, off-peak) prices cannot be expressed, so the
  dearest set is used at every hour: costs are never under-stated, and off-peak ones over-stated;
- the `{processing: batch}` price variant → `batch`, every class it does not override stated at its
  standard price (genai-prices overrides per key). It is attached to each price set in force on or
  after its start date; a set that ended before it gets no batch prices, so such batch requests are
  reported unpriced instead of being billed at standard rates;
- `match` clauses → exact `aliases` for `equals`, one case-insensitive `match` regex for the rest;
- a model id claimed by an earlier provider is imported as `provider/id`, without its `match`
  pattern (the earlier provider's pattern covers those names, as genai-prices' provider order
  does); a pattern never covers another entry's exact names.

`output_reasoning_mtok` → `reasoning` and `input_audio_mtok` → `audio_input` (audio input not read
from the cache; cached audio is billed at the cache-read price).

Models are skipped, and counted by reason, when they lack an input or output token price, or bill text
tokens through a unit costaudit cannot express (per-request or per-character fees, a text-only rate).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from typing import Any

from costaudit.pricetable.importers.common import (
    ImportReport,
    ImportResult,
    Ladder,
    SkipEntry,
    build_table,
    guess_tokenizer,
    price_fields,
    source_price,
)

FIRST_PARTY_PROVIDERS = (
    "openai",
    "anthropic",
    "google",
    "mistral",
    "deepseek",
    "x-ai",
    "cohere",
    "meta",
    "moonshotai",
    "zai",
    "minimax",
    "perplexity",
)
"""Imported by default, in this order (the first provider to use an id keeps it bare)."""
ALL_PROVIDERS = "all"
PRICE_KEYS = (
    ("input_mtok", "input"),
    ("cache_read_mtok", "cached_input"),
    ("cache_write_mtok", "cache_write"),
    ("cache_write_5m_mtok", "cache_write"),
    ("cache_write_1h_mtok", "cache_write_1h"),
    ("output_mtok", "output"),
    ("output_reasoning_mtok", "reasoning"),
    ("input_audio_mtok", "audio_input"),
)
"""genai-prices key → costaudit class; a later key for the same class wins (5m over generic)."""
UNREPRESENTABLE_KEYS = (
    "input_text_mtok",
    "output_text_mtok",
    "cache_text_read_mtok",
    "cache_text_write_mtok",
    "requests_kcount",
    "input_mchars",
)
"""Units that change what a text request costs and have no costaudit equivalent."""
BATCH_CONTEXT = {"processing": "batch"}


class MissingPackage(ImportError):
    """The optional `genai-prices` package is not installed."""


class UnknownProviders(ValueError):
    """`--provider` named providers the data does not have."""


@dataclass(frozen=True)
class _Period:
    start: date | None
    standard: dict[str, Ladder]
    batch: dict[str, Ladder] | None = None


def installed_providers() -> tuple[list[dict[str, Any]], str]:
    """The installed package's data in the published shape, and the package's name and version.

    Imported here, lazily: genai-prices is an optional extra (`costaudit[import]`).
    """
    try:
        from genai_prices import data as package_data
    except ImportError as exc:
        raise MissingPackage("genai-prices is not installed") from exc
    from importlib.metadata import version

    providers = [_provider_shape(provider) for provider in package_data.providers]
    return providers, f"genai-prices {version('genai-prices')} (installed package data)"


def convert_genai_prices(
    providers: Sequence[Mapping[str, Any]],
    *,
    origin: str,
    imported: date,
    provider_ids: Sequence[str] = (),
) -> ImportResult:
    """Convert genai-prices providers (published data shape) into a validated `PriceTable`.

    `provider_ids` picks providers, in priority order; by default the first-party providers in
    `FIRST_PARTY_PROVIDERS` order; `all` adds every other provider after them.
    """
    report = ImportReport()
    entries: dict[str, dict[str, Any]] = {}
    aliases: dict[str, list[str]] = {}
    for provider in select_providers(providers, provider_ids):
        provider_id = str(provider["id"])
        url = _first_url(provider.get("pricing_urls"))
        for model in provider.get("models") or []:
            model_id = str(model["id"])
            entry_id = model_id if model_id not in entries else f"{provider_id}/{model_id}"
            if entry_id in entries:
                report.skip("the same id twice in one provider")
                continue
            source = f"{origin}, {provider_id}:{model_id} (imported {imported})" + url
            try:
                entry, names = convert_model(
                    provider_id, model, source=source, imported=imported, report=report
                )
            except SkipEntry as skip:
                report.skip(str(skip))
                continue
            if entry_id != model_id and entry.pop("match", None) is not None:
                report.note("pattern dropped: an earlier provider has the same model id")
            entries[entry_id], aliases[entry_id] = entry, names
    return build_table(entries, aliases, effective=imported, source=origin, report=report)


def select_providers(
    providers: Sequence[Mapping[str, Any]], wanted: Sequence[str]
) -> list[Mapping[str, Any]]:
    by_id = {str(provider["id"]): provider for provider in providers}
    first_party = [by_id[name] for name in FIRST_PARTY_PROVIDERS if name in by_id]
    if ALL_PROVIDERS in wanted:
        rest = [provider for provider in providers if provider["id"] not in FIRST_PARTY_PROVIDERS]
        return first_party + rest
    if not wanted:
        return first_party
    unknown = [name for name in wanted if name not in by_id]
    if unknown:
        raise UnknownProviders(
            f"unknown provider {', '.join(unknown)} (the data has: {', '.join(sorted(by_id))})"
        )
    return [by_id[name] for name in dict.fromkeys(wanted)]


def convert_model(
    provider_id: str,
    model: Mapping[str, Any],
    *,
    source: str,
    imported: date,
    report: ImportReport,
) -> tuple[dict[str, Any], list[str]]:
    """One genai-prices model → (costaudit model fields, exact aliases); raises `SkipEntry`."""
    periods = _periods(model.get("prices"), report)
    periods = _with_batch(periods, model.get("price_variants"), report)
    entry: dict[str, Any] = {
        "provider": provider_id,
        "tokenizer": guess_tokenizer(str(model["id"])),
    }
    entry.update(price_fields(periods[-1].standard, periods[-1].batch))
    history = [
        {"until": following.start, **price_fields(period.standard, period.batch)}
        for period, following in itertools.pairwise(periods)
    ]
    if history:
        entry["history"] = history
    exact, pattern = match_to_names(model.get("match"))
    if pattern is not None:
        entry["match"] = pattern
    entry.update(_details(model))
    entry["source"] = source
    entry["checked"] = imported
    return entry, exact


# ------------------------------------------------------------------------------------------ prices


def _periods(prices: object, report: ImportReport) -> list[_Period]:
    """Price sets oldest first; each lasts until the next one's start date."""
    listed = prices if isinstance(prices, list) else [{"prices": prices}]
    conditional = [item for item in listed if isinstance(item, Mapping)]
    dated = [item for item in conditional if not _time_of_day(item)]
    by_hour = [item for item in conditional if _time_of_day(item)]
    periods = [_Period(_start_date(item), _ladders(item.get("prices"))) for item in dated]
    if by_hour:
        periods = _peak_for_every_hour(periods, by_hour)
        report.note("time-of-day prices: the highest (peak) price is used at every hour")
    periods.sort(key=lambda period: period.start or date.min)
    starts = [period.start for period in periods[1:]]
    if len(set(starts)) != len(starts):
        raise SkipEntry("two price sets start on the same day")
    return periods


def _constraint(item: Mapping[str, Any]) -> Mapping[str, Any]:
    constraint = item.get("constraint")
    return constraint if isinstance(constraint, Mapping) else {}


def _start_date(item: Mapping[str, Any]) -> date | None:
    return _date(_constraint(item).get("start_date"))


def _time_of_day(item: Mapping[str, Any]) -> bool:
    return "start_time" in _constraint(item) or "end_time" in _constraint(item)


def _peak_for_every_hour(periods: list[_Period], by_hour: list[Mapping[str, Any]]) -> list[_Period]:
    """Off-peak discounts cannot be expressed per hour: keep the dearest of the undated set and the
    time-of-day sets, so a cost is never under-stated (DeepSeek's standard rate is its peak rate)."""
    undated = [period for period in periods if period.start is None]
    candidates = [period.standard for period in undated]
    candidates += [_ladders(item.get("prices")) for item in by_hour]
    peak = max(candidates, key=lambda ladders: (ladders["input"].base, ladders["output"].base))
    return [_Period(None, peak), *(period for period in periods if period.start is not None)]


def _ladders(prices: object) -> dict[str, Ladder]:
    if not isinstance(prices, Mapping):
        raise SkipEntry("no input and output token price")
    for key in UNREPRESENTABLE_KEYS:
        if prices.get(key) is not None:
            raise SkipEntry(f"prices `{key}`, which costaudit cannot express")
    ladders = {
        name: _ladder(prices[key]) for key, name in PRICE_KEYS if prices.get(key) is not None
    }
    if prices.get("cache_write_5m_mtok") is not None and "cache_write_1h" not in ladders:
        generic = prices.get("cache_write_mtok")
        if generic is not None:
            ladders["cache_write_1h"] = _ladder(generic)
    if "input" not in ladders or "output" not in ladders:
        raise SkipEntry("no input and output token price")
    return ladders


def _ladder(value: object) -> Ladder:
    if isinstance(value, Mapping):
        steps = tuple(
            sorted((int(tier["start"]), source_price(tier["price"])) for tier in value["tiers"])
        )
        return Ladder(source_price(value["base"]), steps)
    return Ladder(source_price(value))


def _with_batch(periods: list[_Period], variants: object, report: ImportReport) -> list[_Period]:
    """Attach the batch variant to every price set in force on or after its start date."""
    listed = variants if isinstance(variants, list) else []
    batch_variants = sorted(
        (
            (_start_date(variant), variant)
            for variant in listed
            if isinstance(variant, Mapping) and variant.get("when") == BATCH_CONTEXT
        ),
        key=lambda pair: pair[0] or date.min,
    )
    if not batch_variants:
        return periods
    ends = [period.start for period in periods[1:]] + [None]
    attached = []
    for period, end in zip(periods, ends, strict=True):
        active = [
            variant for start, variant in batch_variants if end is None or not start or start < end
        ]
        if not active:
            attached.append(period)
            continue
        overrides = _overrides(active[-1].get("prices"))
        batch = {name: overrides.get(name, ladder) for name, ladder in period.standard.items()}
        attached.append(_Period(period.start, period.standard, batch))
    if any(start and (periods[-1].start or date.min) < start for start, _ in batch_variants):
        report.note("batch prices dated after their price set began (applied to the whole set)")
    return attached


def _overrides(prices: object) -> dict[str, Ladder]:
    if not isinstance(prices, Mapping):
        return {}
    return {name: _ladder(prices[key]) for key, name in PRICE_KEYS if prices.get(key) is not None}


# ------------------------------------------------------------------------------- names and details


def match_to_names(clause: object) -> tuple[list[str], str | None]:
    """genai-prices match logic → (exact aliases, one case-insensitive full-match regex or None).

    Top-level `equals` clauses (alone or inside a top-level `or`) become aliases, which resolve
    first and cannot collide silently; everything else becomes one regex. genai-prices compares
    lower-cased names, hence `(?i)`; its `regex` clauses search, hence the `.*` on both sides.
    """
    if not isinstance(clause, Mapping):
        return [], None
    parts = clause.get("or", [clause])
    exact = [str(part["equals"]) for part in parts if "equals" in part]
    rest = [_regex(part) for part in parts if "equals" not in part]
    if not rest:
        return exact, None
    pattern = "(?i)" + (rest[0] if len(rest) == 1 else "(?:" + "|".join(rest) + ")")
    try:
        re.compile(pattern)
    except re.error:
        return exact, None
    return exact, pattern


def _regex(clause: Mapping[str, Any]) -> str:
    if "equals" in clause:
        return re.escape(str(clause["equals"]))
    if "starts_with" in clause:
        return re.escape(str(clause["starts_with"])) + ".*"
    if "ends_with" in clause:
        return ".*" + re.escape(str(clause["ends_with"]))
    if "contains" in clause:
        return ".*" + re.escape(str(clause["contains"])) + ".*"
    if "regex" in clause:
        return f".*(?:{clause['regex']}).*"
    if "or" in clause:
        return "(?:" + "|".join(_regex(part) for part in clause["or"]) + ")"
    if "and" in clause:
        return "".join(rf"(?=(?:{_regex(part)})\Z)" for part in clause["and"]) + ".*"
    raise SkipEntry("a `match` clause of unknown kind")


def _details(model: Mapping[str, Any]) -> dict[str, Any]:
    details: dict[str, Any] = {}
    window = model.get("context_window")
    if isinstance(window, int) and not isinstance(window, bool) and window > 0:
        details["context_window"] = window
    if model.get("deprecated"):
        details["deprecated"] = True
    if model.get("price_comments"):
        details["notes"] = str(model["price_comments"])
    return details


def _first_url(urls: object) -> str:
    return f"; {urls[0]}" if isinstance(urls, list) and urls else ""


def _date(value: object) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise SkipEntry("a start date that is not a date") from None


# ------------------------------------------------------------------------- installed package shape


def _provider_shape(provider: Any) -> dict[str, Any]:
    return {
        "id": provider.id,
        "name": provider.name,
        "pricing_urls": list(provider.pricing_urls or []),
        "models": [_plain(model) for model in provider.models],
    }


def _plain(value: Any) -> Any:
    """The package's dataclasses and price objects → the JSON-like shape of `data.json`."""
    if value is None or isinstance(value, str | int | float | Decimal | date):
        return value
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    return {
        key.rstrip("_"): _plain(item)
        for key, item in vars(value).items()
        if not key.startswith("_") and item is not None
    }
