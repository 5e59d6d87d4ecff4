"""Every problem in a price table, not just the first, each naming file and field.

Pydantic stops early in two ways: a model-level validator raises only its first finding, and it does
not run at all once a field inside has failed (an unsorted id list goes unreported while one price is
negative). So the table's consistency rules (written once, in costaudit.config.pricing) are applied
here again to whatever parts of the raw data do parse, and every finding is listed; then come the
cross-checks that no single field can see:

- ids sorted, no name claimed twice, tiers ascending and complete, history oldest first
  (the rules the validators enforce, reported in full);
- a batch price above the standard price of the same class (a batch API is a discount: a typo);
- a `match` pattern that also matches another model's id or alias (one pattern reaching into
  another entry's names makes resolution depend on table order);
- a tokenizer (per model, per self-hosted model, or a `tokenizers:` ratio key) that is not a
  tiktoken encoding (token counts would silently fall back, ratios never be found);
- a history entry that ends before the model was available (it prices no request);
- a model checked after the table's `effective` date (the freshness warning would then lie);
- an alias listed twice or repeating the model's own id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from costaudit.config.pricing import (
    TOKEN_CLASSES,
    ClassPrices,
    HistoryEntry,
    ModelPrice,
    PriceTable,
    Tier,
    claimed_name_problems,
    history_problems,
    tier_problems,
    unsorted_id_problems,
)
from costaudit.configfile import read_config, validation_problems
from costaudit.core.pricing import class_rates
from costaudit.errors import InputError, Location
from costaudit.pricetable.layers import merge_tables

SORTED_SECTIONS = ("models", "hardware", "self_hosted")
FALLBACK_ENCODINGS = ("cl100k_base", "o200k_base", "p50k_base", "r50k_base")
"""Used when tiktoken cannot list its encodings; the ones costaudit can load offline or by cache."""

ItemT = TypeVar("ItemT", Tier, HistoryEntry)
DATE: TypeAdapter[date] = TypeAdapter(date)
PLACEHOLDERS: dict[str, Any] = {"provider": "?", "source": "?", "checked": date.min}
"""Stand-ins for required keys that failed, so a faulty model can still be cross-checked."""


@dataclass(frozen=True)
class FileCheck:
    """The result of validating one file: the table when it is valid, and every problem found."""

    path: Path
    table: PriceTable | None
    problems: tuple[InputError, ...]


def known_encodings() -> frozenset[str]:
    """tiktoken's registered encoding names (imported lazily: tiktoken is slow to import)."""
    try:
        import tiktoken
    except ImportError:  # pragma: no cover - tiktoken is a core dependency
        return frozenset(FALLBACK_ENCODINGS)
    return frozenset(tiktoken.list_encoding_names())


def check_file(path: Path) -> FileCheck:
    """Read and validate one price table file, collecting every problem."""
    try:
        data = read_config(path)
    except InputError as error:
        return FileCheck(path, None, (error,))
    table, problems = table_problems(data, str(path))
    return FileCheck(path, table, tuple(problems))


def table_problems(data: object, where: str) -> tuple[PriceTable | None, list[InputError]]:
    """All problems in parsed YAML `data` (from file `where`); the table only when there are none."""
    if data is None:
        return None, [InputError(where, "file is empty")]
    if not isinstance(data, dict):
        return None, [InputError(where, "expected a mapping at the top level")]
    table: PriceTable | None = None
    schema_problems: list[InputError] = []
    try:
        table = PriceTable.model_validate(data)
    except ValidationError as exc:
        schema_problems = validation_problems(where, exc)
    rule_problems = _structure_problems(data, where)
    problems = [
        problem
        for problem in schema_problems
        if not any(_restates(rule, problem) for rule in rule_problems)
    ]
    problems += rule_problems
    models = _checkable_models(data.get("models"))
    problems += cross_check(
        models,
        where,
        effective=_date_or_none(data.get("effective")),
        names=_raw_names(data.get("models")),
    )
    if isinstance(data.get("self_hosted"), Mapping):
        problems += _self_hosted_tokenizer_problems(data["self_hosted"], where)
    if isinstance(data.get("tokenizers"), Mapping):
        problems += _ratio_tokenizer_problems(data["tokenizers"], where)
    problems = _unique(problems)
    return (table if not problems else None), problems


def layered_problems(checks: Sequence[FileCheck]) -> list[InputError]:
    """Problems that only appear once valid files are layered (names claimed across files)."""
    tables = [check.table for check in checks if check.table is not None]
    if len(tables) < 2 or len(tables) != len(checks):
        return []
    where = " + ".join(str(check.path) for check in checks)
    try:
        merged = merge_tables(tables)
    except ValidationError as exc:
        return validation_problems(where, exc)
    return cross_check(merged.models, where, effective=None)


def cross_check(
    models: Mapping[str, ModelPrice],
    where: str,
    *,
    effective: date | None = None,
    names: Sequence[tuple[str, str]] | None = None,
) -> list[InputError]:
    """Rules across fields and entries, on models that are individually valid.

    `names` are every (name, owning id) of the table, faulty entries included; by default the
    ids and aliases of `models`.
    """
    encodings = known_encodings()
    problems: list[InputError] = []
    for model_id, model in models.items():
        problems += _batch_above_standard(model_id, model, where)
        problems += _tokenizer_problems(model_id, model.tokenizer, encodings, where)
        problems += _history_before_availability(model_id, model, where)
        problems += _alias_repeats(model_id, model, where)
        if effective is not None and model.checked > effective:
            problems.append(
                _problem(
                    where,
                    f"models.{model_id}.checked",
                    f"checked {model.checked} is after the table's effective date {effective}; "
                    "bump `effective` so freshness warnings stay true",
                )
            )
    if names is None:
        names = [
            (name, model_id)
            for model_id, model in models.items()
            for name in (model_id, *model.aliases)
        ]
    problems += _shadowing_patterns(models, names, where)
    return problems


# ------------------------------------------------------------------------------- structural rules


def _structure_problems(data: Mapping[str, Any], where: str) -> list[InputError]:
    problems: list[InputError] = []
    for section in SORTED_SECTIONS:
        entries = data.get(section)
        if isinstance(entries, Mapping):
            problems += _unsorted_ids(section, [str(key) for key in entries], where)
    models = data.get("models")
    if isinstance(models, Mapping):
        problems += _claimed_twice(models, where)
        for model_id, raw in models.items():
            if isinstance(raw, Mapping):
                problems += _model_structure(str(model_id), raw, where)
    return problems


def _unsorted_ids(section: str, ids: list[str], where: str) -> list[InputError]:
    return [_problem(where, section, message) for message in unsorted_id_problems(ids)]


def _claimed_twice(models: Mapping[Any, Any], where: str) -> list[InputError]:
    names: list[tuple[str, str]] = []
    for model_id, raw in models.items():
        aliases = raw.get("aliases") if isinstance(raw, Mapping) else None
        own = [str(model_id)]
        if isinstance(aliases, list):
            own += [str(alias) for alias in aliases]
        names += [(name, str(model_id)) for name in dict.fromkeys(own)]
    return [
        _problem(where, f"models.{owner}.aliases", message)
        for owner, message in claimed_name_problems(names)
    ]


def _model_structure(model_id: str, raw: Mapping[str, Any], where: str) -> list[InputError]:
    field = f"models.{model_id}"
    problems = _cached_above_input(raw, field, where)
    problems += [
        _problem(where, f"{field}.tiers", message)
        for message in tier_problems(_parsed(raw.get("tiers"), Tier), _priced(raw), "")
    ]
    history = _parsed(raw.get("history"), HistoryEntry)
    problems += [
        _problem(where, f"{field}.history", message)
        for message in history_problems([entry.until for entry in history])
    ]
    for entry in history:
        where_entry = f"history entry until {entry.until}: "
        problems += [
            _problem(where, f"{field}.history", message)
            for message in tier_problems(entry.tiers, entry.priced_classes(), where_entry)
        ]
    return problems


def _cached_above_input(raw: Mapping[str, Any], field: str, where: str) -> list[InputError]:
    """The base cache-price rule, checked even when another key of the model failed."""
    try:
        ClassPrices.model_validate({name: raw[name] for name in TOKEN_CLASSES if name in raw})
    except ValidationError as exc:
        return [
            _problem(
                where, f"{field}.cached_input", str(error["msg"]).removeprefix("Value error, ")
            )
            for error in exc.errors()
            if not error["loc"]
        ]
    return []


def _priced(raw: Mapping[str, Any]) -> set[str]:
    return {name for name in TOKEN_CLASSES if raw.get(name) is not None}


def _parsed(items: object, model: type[ItemT]) -> list[ItemT]:
    """The items of a raw list that validate on their own (the others are reported by pydantic)."""
    if not isinstance(items, list):
        return []
    parsed = []
    for item in items:
        try:
            parsed.append(model.model_validate(item))
        except ValidationError:
            continue
    return parsed


def _checkable_models(models: object) -> dict[str, ModelPrice]:
    """Every model that can be cross-checked: valid ones, and invalid ones minus their faulty parts."""
    if not isinstance(models, Mapping):
        return {}
    checkable = {}
    for model_id, raw in models.items():
        model = _without_faulty_parts(raw) if isinstance(raw, Mapping) else None
        if model is not None:
            checkable[str(model_id)] = model
    return checkable


def _without_faulty_parts(raw: Mapping[str, Any]) -> ModelPrice | None:
    """The model with its invalid keys left out (already reported), so the rest is still checked.

    A model-level failure (empty location) comes from the tier/history/cache-price validators, so
    tiers, history and the cached price go too. Leaving a key out can expose a model-level failure
    that was hidden behind it, hence the second round. None when input or output is unusable.
    """
    candidate = {key: value for key, value in raw.items() if key in ModelPrice.model_fields}
    for _round in range(3):
        try:
            return ModelPrice.model_validate(candidate)
        except ValidationError as exc:
            faulty = {str(error["loc"][0]) if error["loc"] else "" for error in exc.errors()}
        if "" in faulty:
            faulty |= {"tiers", "history", "cached_input"}
        if faulty & {"input", "output"}:
            return None
        candidate = {key: value for key, value in candidate.items() if key not in faulty}
        candidate.update({key: value for key, value in PLACEHOLDERS.items() if key in faulty})
    return None


def _raw_names(models: object) -> list[tuple[str, str]]:
    if not isinstance(models, Mapping):
        return []
    names = []
    for model_id, raw in models.items():
        names.append((str(model_id), str(model_id)))
        aliases = raw.get("aliases") if isinstance(raw, Mapping) else None
        if isinstance(aliases, list):
            names += [(str(alias), str(model_id)) for alias in aliases]
    return names


def _date_or_none(value: object) -> date | None:
    try:
        return DATE.validate_python(value)
    except ValidationError:
        return None


def _restates(rule: InputError, schema: InputError) -> bool:
    """True when a rule problem reports the same finding as a pydantic error, more precisely."""
    if rule.message != schema.message:
        return False
    outer, inner = schema.location.field or "", rule.location.field or ""
    return outer == "(top level)" or inner == outer or inner.startswith((f"{outer}.", f"{outer}["))


# ----------------------------------------------------------------------------------- cross-checks


def _batch_above_standard(model_id: str, model: ModelPrice, where: str) -> list[InputError]:
    if model.batch is None and not any(entry.batch for entry in model.history):
        return []
    problems = []
    for period, span in enumerate(model.price_periods()):
        for tier in range(len(span.tiers) + 1):
            standard = class_rates(model, period, tier, batch=False)
            batch = class_rates(model, period, tier, batch=True)
            if standard is None or batch is None:
                continue
            field = _batch_field(model_id, model, period, tier)
            problems += [
                _problem(
                    where,
                    field,
                    f"batch {name} price {getattr(batch, name)} is above the standard "
                    f"{getattr(standard, name)}; a batch price is a discount",
                )
                for name in TOKEN_CLASSES
                if getattr(batch, name) > getattr(standard, name)
            ]
    return problems


def _batch_field(model_id: str, model: ModelPrice, period: int, tier: int) -> str:
    field = f"models.{model_id}"
    if period < len(model.history):
        field += f".history[{period}]"
    if tier:
        field += f".tiers[{tier - 1}]"
    return field + ".batch"


def _tokenizer_problems(
    owner: str, tokenizer: str, encodings: frozenset[str], where: str, section: str = "models"
) -> list[InputError]:
    if tokenizer in encodings:
        return []
    known = ", ".join(sorted(name for name in encodings if not name.endswith("_offline")))
    return [
        _problem(
            where,
            f"{section}.{owner}.tokenizer",
            f"`{tokenizer}` is not a tiktoken encoding (known: {known})",
        )
    ]


def _self_hosted_tokenizer_problems(entries: Mapping[Any, Any], where: str) -> list[InputError]:
    encodings = known_encodings()
    problems: list[InputError] = []
    for name, raw in entries.items():
        tokenizer = raw.get("tokenizer") if isinstance(raw, Mapping) else None
        if isinstance(tokenizer, str):
            problems += _tokenizer_problems(str(name), tokenizer, encodings, where, "self_hosted")
    return problems


def _ratio_tokenizer_problems(ratios: Mapping[Any, Any], where: str) -> list[InputError]:
    """`tokenizers:` ratios are keyed by encoding name; a typo there is never looked up."""
    encodings = known_encodings()
    return [
        _problem(where, f"tokenizers.{name}", f"`{name}` is not a tiktoken encoding")
        for name in ratios
        if str(name) not in encodings
    ]


def _history_before_availability(model_id: str, model: ModelPrice, where: str) -> list[InputError]:
    if model.available_from is None:
        return []
    return [
        _problem(
            where,
            f"models.{model_id}.history[{index}].until",
            f"history entry until {entry.until} ends on or before available_from "
            f"{model.available_from}: it prices no request",
        )
        for index, entry in enumerate(model.history)
        if entry.until <= model.available_from
    ]


def _alias_repeats(model_id: str, model: ModelPrice, where: str) -> list[InputError]:
    problems = []
    seen: set[str] = set()
    for alias in model.aliases:
        if alias == model_id:
            message = f"alias `{alias}` repeats the model id"
        elif alias in seen:
            message = f"alias `{alias}` is listed twice"
        else:
            seen.add(alias)
            continue
        problems.append(_problem(where, f"models.{model_id}.aliases", message))
    return problems


def _shadowing_patterns(
    models: Mapping[str, ModelPrice], names: Sequence[tuple[str, str]], where: str
) -> list[InputError]:
    problems = []
    for model_id, model in models.items():
        if model.match is None:
            continue
        pattern = re.compile(model.match)
        problems += [
            _problem(
                where,
                f"models.{model_id}.match",
                f"pattern also matches `{name}`, a name of `{owner}`; narrow it so it covers "
                "only this model's names",
            )
            for name, owner in names
            if owner != model_id and pattern.fullmatch(name)
        ]
    return problems


# ----------------------------------------------------------------------------------------- helpers


def _problem(where: str, field: str, message: str) -> InputError:
    return InputError(Location(where, field=field), message)


def _unique(problems: Iterable[InputError]) -> list[InputError]:
    seen: set[str] = set()
    unique = []
    for problem in problems:
        if str(problem) not in seen:
            seen.add(str(problem))
            unique.append(problem)
    return unique
