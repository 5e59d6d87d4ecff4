"""The price tables in force: the packaged default, `--pricing` files or `$COSTAUDIT_PRICING`, layered.

A later table replaces an earlier one's entry for the same id, per section; the layering warns when an
override drops names (aliases, a `match` pattern) the entry it replaces had.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.resources
import importlib.util
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pydantic
from pydantic import ValidationError

from costaudit.config.pricing import ModelPrice, PriceTable
from costaudit.configfile import validate_file, validation_problems
from costaudit.core.pricing import PriceTableInfo
from costaudit.errors import InputError
from costaudit.fileio import write_file

PRICING_ENV = "COSTAUDIT_PRICING"
"""Environment variable with the default list of price tables (separated like PATH)."""


@dataclass(frozen=True)
class LoadedPrices:
    """The effective price table and the files it was layered from (with their sha256)."""

    table: PriceTable
    files: tuple[Path, ...]
    digests: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    """Things about the layering a user should know, e.g. aliases an override dropped."""

    @property
    def digest(self) -> str:
        """One hash for the whole layered table, so a baseline can tell that prices changed."""
        return hashlib.sha256("\n".join(self.digests).encode()).hexdigest()

    def info(self) -> PriceTableInfo:
        """Which tables these are, as results carry it."""
        return PriceTableInfo(
            files=tuple(str(path) for path in self.files),
            effective=self.table.effective,
            sha256=self.digest,
        )


def _packaged(name: str) -> Path:
    """A file of the packaged price tables; in a source checkout, the repository's `pricing/`."""
    packaged = importlib.resources.files("costaudit") / "pricing" / name
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent.parent / "pricing" / name


def default_price_table_path() -> Path:
    """The hand-curated packaged table (`pricing/default.yaml`)."""
    return _packaged("default.yaml")


def default_price_table_paths() -> list[Path]:
    """The packaged default: the generated layer (`pricing/generated.json`, built from the
    maintained datasets by `costaudit.pricetable.build`) under the hand-curated table, which wins."""
    generated = _packaged("generated.json")
    curated = default_price_table_path()
    return [generated, curated] if generated.is_file() else [curated]


def price_table_paths(explicit: Sequence[Path] | None) -> list[Path]:
    """`--pricing` files if given, else `$COSTAUDIT_PRICING`, else the packaged default."""
    if explicit:
        return list(explicit)
    from_env = os.environ.get(PRICING_ENV, "").strip()
    if from_env:
        return [Path(item) for item in from_env.split(os.pathsep) if item.strip()]
    return default_price_table_paths()


def merge_tables(tables: Sequence[PriceTable]) -> PriceTable:
    """Layer tables: a later table replaces an earlier one's entry for the same id, per section.

    The result keeps the first (base) table's `effective` date: overrides such as negotiated discounts
    are usually older than the list prices they sit on and should not make the whole table look stale.
    """
    models: dict[str, Any] = {}
    hardware: dict[str, Any] = {}
    self_hosted: dict[str, Any] = {}
    tokenizers: dict[str, Any] = {}
    cache_rules: dict[str, Any] = {}
    for table in tables:
        models.update(table.models)
        hardware.update(table.hardware)
        self_hosted.update(table.self_hosted)
        tokenizers.update(table.tokenizers)
        cache_rules.update(table.cache_rules)
    return PriceTable.model_validate(
        {
            "schema_version": 1,
            "effective": tables[0].effective,
            "models": dict(sorted(models.items())),
            "hardware": dict(sorted(hardware.items())),
            "self_hosted": dict(sorted(self_hosted.items())),
            "tokenizers": tokenizers,
            "cache_rules": cache_rules,
        }
    )


def dropped_names(tables: Sequence[PriceTable], paths: Sequence[Path]) -> list[str]:
    """Names (aliases, a `match` pattern) an earlier table gave a model that a later one replaced
    without them, and that no longer resolve to any entry of the layered tables.

    Replacing an entry whole is the documented rule, but a negotiated-price override that forgets
    `aliases` silently turns every request logged under a dated snapshot name into an unpriced one.
    A name the resolver still finds (`gpt-4o-2024-08-06` reaches `gpt-4o` by its snapshot suffix) is
    not lost, and is not reported.
    """
    from costaudit.core.pricing import ModelResolver

    if not tables:
        return []
    final: dict[str, ModelPrice] = {}
    for table in tables:
        final.update(table.models)
    layered = PriceTable.model_construct(
        schema_version=1, effective=tables[0].effective, models=final
    )
    resolver = ModelResolver(layered)
    warnings: list[str] = []
    for index in range(1, len(tables)):
        for model_id, entry in tables[index].models.items():
            earlier = next(
                (
                    table.models[model_id]
                    for table in reversed(tables[:index])
                    if model_id in table.models
                ),
                None,
            )
            if earlier is None:
                continue
            lost = [alias for alias in earlier.aliases if resolver.resolve(alias) is None]
            if earlier.match is not None and entry.match is None:
                lost.append(f"match `{earlier.match}`")
            if lost:
                warnings.append(
                    f"{paths[index]}: {model_id} replaces the earlier entry whole and drops "
                    f"{', '.join(lost)}; requests logged under those names are unpriced unless "
                    "the override restates them"
                )
    return warnings


def load_prices(explicit: Sequence[Path] | None = None) -> LoadedPrices:
    """Load and layer the price tables the user asked for (or the default).

    The layered result is kept in a cache (see `CompiledPrices`), so the next run with the same files
    validates one JSON document instead of parsing YAML and thousands of JSON prices again.
    """
    paths = price_table_paths(explicit)
    digests = tuple(_digest(path) for path in paths)
    compiled = CompiledPrices.for_files(digests)
    cached = compiled.load()
    if cached is not None:
        table, warnings = cached
        return LoadedPrices(table=table, files=tuple(paths), digests=digests, warnings=warnings)
    tables = [validate_file(path, PriceTable) for path in paths]
    try:
        table = tables[0] if len(tables) == 1 else merge_tables(tables)
    except ValidationError as exc:
        problems = validation_problems(" + ".join(str(path) for path in paths), exc)
        problems[0].also = tuple(problems[1:])
        raise problems[0] from None
    warnings = tuple(dropped_names(tables, paths))
    compiled.save(table, warnings)
    return LoadedPrices(table=table, files=tuple(paths), digests=digests, warnings=warnings)


def _digest(path: Path) -> str:
    """The sha256 of a price table file (a missing or unreadable one is bad input, exit 3)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        raise InputError(str(path), "file not found") from None
    except IsADirectoryError:
        raise InputError(str(path), "is a directory, expected a price table") from None
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror or exc}") from None


CACHE_ENV = "COSTAUDIT_CACHE_DIR"
"""Where validated price tables are kept between runs; empty turns the cache off."""
SCHEMA_MODULES = ("costaudit.config.base", "costaudit.config.pricing")
"""The modules whose rules a cached table was validated by: a change to either invalidates it."""


@dataclass(frozen=True)
class CompiledPrices:
    """A layered, validated price table saved as one JSON document, keyed by what it was made of.

    The key hashes the price files' contents, the validation rules (the source of the config
    modules) and the pydantic version, so any change to any of them misses the cache. A cached table
    is validated again when it is read (all of pydantic's checks, from one JSON document, which is
    several times faster than reading the YAML and JSON files), so a damaged file cannot yield a
    wrong price: it is ignored, like a missing one. Writing is best effort and atomic; a read-only
    home directory only costs the speed-up.
    """

    path: Path | None

    @classmethod
    def for_files(cls, digests: Sequence[str]) -> CompiledPrices:
        directory = _cache_dir()
        if directory is None:
            return cls(None)
        key = hashlib.sha256()
        key.update(f"pydantic {pydantic.VERSION}\n".encode())
        for module in SCHEMA_MODULES:
            origin = importlib.util.find_spec(module)
            if origin is None or origin.origin is None:
                return cls(None)
            key.update(Path(origin.origin).read_bytes())
        key.update("\n".join(digests).encode())
        return cls(directory / f"prices-{key.hexdigest()[:32]}.json")

    def load(self) -> tuple[PriceTable, tuple[str, ...]] | None:
        if self.path is None:
            return None
        try:
            document = orjson.loads(self.path.read_bytes())
            table = PriceTable.model_validate(document["table"])
            warnings = tuple(str(warning) for warning in document["warnings"])
        except (OSError, orjson.JSONDecodeError, ValidationError, KeyError, TypeError):
            return None
        return table, warnings

    def save(self, table: PriceTable, warnings: Sequence[str]) -> None:
        if self.path is None:
            return
        document = {"table": table.model_dump(mode="json"), "warnings": list(warnings)}
        with contextlib.suppress(OSError, InputError):
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            write_file(self.path, orjson.dumps(document))


def _cache_dir() -> Path | None:
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return Path(configured) if configured.strip() else None
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".cache") / "costaudit"
