"""The price-table side of the API (what `costaudit pricing …` does): list, look up, validate, diff
and import price tables."""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from costaudit.config.pricing import PriceTable
from costaudit.configfile import validate_file
from costaudit.core.pricing import ModelResolver, Resolution
from costaudit.errors import InputError, Location
from costaudit.pricetable.diff import TableDiff, diff_tables
from costaudit.pricetable.importers.common import ImportResult
from costaudit.pricetable.layers import (
    LoadedPrices,
    dropped_names,
    merge_tables,
    price_table_paths,
)
from costaudit.pricetable.schema import scenario_schema_text, schema_text
from costaudit.pricetable.sheet import RateRow, rate_sheet
from costaudit.pricetable.validate import FileCheck, check_file, layered_problems
from costaudit.pricetable.yamlio import dump_table

Section = Literal["hardware", "self_hosted"]


class UsageError(Exception):
    """A combination of options that cannot work (the CLI exits 2), naming the option."""

    def __init__(self, option: str, message: str) -> None:
        self.option = option
        self.message = message
        super().__init__(f"{option}: {message}")


def model_ids(
    prices: LoadedPrices, *, provider: str | None = None, search: str | None = None
) -> list[str]:
    """Ids of the models billed by `provider` whose id or an alias contains `search` (any case).

    An unknown provider is bad input naming the providers the tables have."""
    models = prices.table.models
    if provider is not None and not any(
        model.provider.lower() == provider.lower() for model in models.values()
    ):
        known = sorted({model.provider for model in models.values()})
        raise InputError(
            tables_location(prices),
            f"no model is billed by `{provider}` (providers: {', '.join(known)})",
        )
    return [
        model_id
        for model_id, model in models.items()
        if (provider is None or model.provider.lower() == provider.lower())
        and _matches(model_id, model.aliases, search)
    ]


def entry_ids(prices: LoadedPrices, section: Section, *, search: str | None = None) -> list[str]:
    """Ids of the hardware or self-hosted entries whose id contains `search`."""
    return [name for name in getattr(prices.table, section) if _matches(name, [], search)]


def section_of(prices: LoadedPrices, name: str) -> Section | None:
    """Which of hardware and self-hosted holds an entry `name` (None: neither)."""
    for section in ("hardware", "self_hosted"):
        if name in getattr(prices.table, section):
            return section
    return None


def lookup(prices: LoadedPrices, name: str) -> Resolution:
    """How a logged model name reaches its entry; bad input (with the closest names) when it
    reaches none."""
    resolution = ModelResolver(prices.table).explain(name)
    if resolution is None:
        names = [
            alias
            for model_id, model in prices.table.models.items()
            for alias in (model_id, *model.aliases)
        ]
        close = difflib.get_close_matches(name, names, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise InputError(
            tables_location(prices), f"no model, alias or pattern matches `{name}`{hint}"
        )
    return resolution


@dataclass(frozen=True)
class TableCheck:
    """Every problem of some price table files, checked alone and layered in order."""

    checks: tuple[FileCheck, ...]
    problems: tuple[InputError, ...]
    warnings: tuple[str, ...]
    """Layering warnings (names an override drops)."""
    table: PriceTable | None
    """The layered table, when every file is valid."""


def validate_tables(paths: Sequence[Path] | None = None) -> TableCheck:
    """Check price table files (default: the active ones) and report EVERY problem."""
    files = list(paths) if paths else price_table_paths(None)
    checks = tuple(check_file(path) for path in files)
    problems = [problem for check in checks for problem in check.problems]
    problems += layered_problems(list(checks))
    tables = [check.table for check in checks if check.table is not None]
    warnings = tuple(dropped_names(tables, files))
    table = None
    if not problems and tables:
        table = tables[0] if len(tables) == 1 else merge_tables(tables)
    return TableCheck(checks, tuple(problems), warnings, table)


def diff_price_tables(old: Path, new: Path) -> TableDiff:
    """Models added and removed, every changed price, and changed names between two tables."""
    return diff_tables(validate_file(old, PriceTable), validate_file(new, PriceTable))


def import_litellm(from_file: Path | None, day: date) -> ImportResult:
    """LiteLLM's model_prices_and_context_window.json as a costaudit price table."""
    from costaudit.pricetable.importers.litellm import convert_litellm

    if from_file is None:
        raise UsageError("--from", "give LiteLLM's model_prices_and_context_window.json")
    data = _read_json(from_file, exact=False)
    if not isinstance(data, dict):
        raise InputError(
            str(from_file), "expected a JSON object keyed by model id (LiteLLM's price map)"
        )
    return convert_litellm(data, file_name=from_file.name, imported=day)


def import_genai_prices(
    from_file: Path | None, providers: Sequence[str], day: date
) -> ImportResult:
    """genai-prices data (a data.json, or the installed package) as a costaudit price table."""
    from costaudit.pricetable.importers import genai_prices

    if from_file is not None:
        data = _read_json(from_file, exact=True)
        if isinstance(data, dict):
            data = data.get("providers")
        if not isinstance(data, list):
            raise InputError(str(from_file), "expected genai-prices data: a list of providers")
        origin = f"genai-prices data ({from_file.name})"
    else:
        try:
            data, origin = genai_prices.installed_providers()
        except genai_prices.MissingPackage:
            raise InputError(
                "genai-prices",
                "the genai-prices package is not installed: install costaudit[import] "
                "(pip install 'costaudit[import]'), or pass --from with a genai-prices data.json",
            ) from None
    try:
        return genai_prices.convert_genai_prices(
            data, origin=origin, imported=day, provider_ids=list(providers)
        )
    except genai_prices.UnknownProviders as exc:
        raise UsageError("--provider", str(exc)) from None
    except (KeyError, TypeError, AttributeError) as exc:
        where = str(from_file) if from_file is not None else "genai-prices"
        raise InputError(
            where, f"not in genai-prices' data shape ({type(exc).__name__}: {exc})"
        ) from None


def rates_billed(prices: LoadedPrices, model_id: str) -> list[RateRow]:
    """The rates the engine bills for a model after fallbacks, per period, tier and batch."""
    return rate_sheet(prices.table.models[model_id])


def schema(*, scenario: bool = False) -> str:
    """The JSON Schema of price table files (or of scenario files), as text."""
    return scenario_schema_text() if scenario else schema_text()


def table_yaml(result: ImportResult, header: Sequence[str]) -> str:
    """An imported table as a price-table YAML file, with `header` as its leading comment."""
    return dump_table(result.table, list(header))


def tables_location(prices: LoadedPrices) -> Location:
    return Location(" + ".join(str(path) for path in prices.files), field="models")


def _matches(name: str, aliases: Sequence[str], search: str | None) -> bool:
    if search is None:
        return True
    wanted = search.lower()
    return any(wanted in candidate.lower() for candidate in (name, *aliases))


def _read_json(path: Path, *, exact: bool) -> Any:
    """Parse JSON; `exact` keeps numbers as their decimal text instead of floats."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(str(path), "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"cannot read: {exc}") from None
    try:
        return json.loads(text, parse_float=Decimal) if exact else json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(Location(str(path), line=exc.lineno), f"invalid JSON: {exc.msg}") from None
