"""Validated price tables are reused between runs, and never at the cost of a wrong or stale price."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from costaudit.pricetable import layers
from costaudit.pricetable.layers import CACHE_ENV, load_prices

TABLE = """schema_version: 1
effective: 2026-11-25
models:
  m:
    provider: test
    input: {price}
    output: 2
    source: test fixture
    checked: 2026-11-25
"""


def table_file(directory: Path, price: str) -> Path:
    path = directory / "prices.yaml"
    path.write_text(TABLE.format(price=price))
    return path


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(directory))
    return directory


def test_a_second_load_reads_the_cache_instead_of_the_files(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = table_file(tmp_path, "1.5")
    first = load_prices([path])
    assert len(list(cache.glob("prices-*.json"))) == 1

    def never(*_args: object) -> None:
        raise AssertionError("the cached table should have been used")

    monkeypatch.setattr(layers, "validate_file", never)
    again = load_prices([path])
    assert again.table == first.table
    assert again.digests == first.digests


def test_an_edited_price_file_misses_the_cache(tmp_path: Path, cache: Path) -> None:
    path = table_file(tmp_path, "1.5")
    assert load_prices([path]).table.models["m"].input == Decimal("1.5")
    table_file(tmp_path, "1.25")
    assert load_prices([path]).table.models["m"].input == Decimal("1.25")


def test_a_damaged_cache_is_ignored(tmp_path: Path, cache: Path) -> None:
    path = table_file(tmp_path, "1.5")
    load_prices([path])
    [cached] = cache.glob("prices-*.json")
    cached.write_bytes(cached.read_bytes()[:100])
    assert load_prices([path]).table.models["m"].input == Decimal("1.5")
    cached.write_text('{"table": {"schema_version": 1, "models": "not a table"}, "warnings": []}')
    assert load_prices([path]).table.models["m"].input == Decimal("1.5")


def test_the_cache_can_be_turned_off_and_an_unwritable_one_costs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = table_file(tmp_path, "1.5")
    monkeypatch.setenv(CACHE_ENV, "")
    assert load_prices([path]).table.models["m"].input == Decimal("1.5")
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("x")
    monkeypatch.setenv(CACHE_ENV, str(blocked / "cache"))
    assert load_prices([path]).table.models["m"].input == Decimal("1.5")


def test_layering_warnings_survive_the_cache(tmp_path: Path, cache: Path) -> None:
    base = tmp_path / "base.yaml"
    base.write_text(
        TABLE.format(price="1").replace(
            "    provider: test", "    provider: test\n    aliases: [m-old]"
        )
    )
    override = tmp_path / "override.yaml"
    override.write_text(TABLE.format(price="0.5"))
    first = load_prices([base, override])
    again = load_prices([base, override])
    assert first.warnings and again.warnings == first.warnings
    assert "m-old" in again.warnings[0]
