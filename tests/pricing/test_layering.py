"""Several price tables layered: later files replace earlier ones per model (--pricing, COSTAUDIT_PRICING)."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from costaudit.core.pricing import ModelResolver
from costaudit.pricetable.layers import PRICING_ENV, load_prices, merge_tables, price_table_paths
from support import REPO

DEFAULT = REPO / "pricing" / "default.yaml"
OVERRIDES = REPO / "pricing" / "overrides.example.yaml"
ONE_MODEL = """\
# yaml-language-server: $schema=./price-table.schema.json
schema_version: 1
effective: 2025-01-01
models:
  o3:
    provider: openai
    input: 1
    output: 4
    source: "negotiated rate (test)"
    checked: 2025-01-01
"""


@pytest.fixture
def one_model(tmp_path: Path) -> Path:
    path = tmp_path / "one-model.yaml"
    path.write_text(ONE_MODEL, encoding="utf-8")
    return path


def test_an_override_file_with_one_model_replaces_only_that_model(one_model: Path) -> None:
    base = load_prices([DEFAULT]).table
    layered = load_prices([DEFAULT, one_model]).table
    assert layered.models["o3"].input == Decimal(1)
    assert layered.models["o3"].history == [], "the override replaces the entry whole"
    assert layered.models.keys() == base.models.keys()
    assert layered.models["gpt-4o"] == base.models["gpt-4o"]
    assert layered.hardware == base.hardware
    assert layered.effective == base.effective, "the base table's date is kept"


def test_the_order_of_files_decides(one_model: Path) -> None:
    layered = load_prices([one_model, DEFAULT]).table
    assert layered.models["o3"].input == Decimal(2)
    assert layered.effective.isoformat() == "2025-01-01"


def test_the_example_overrides_add_a_private_model_and_a_discount() -> None:
    layered = load_prices([DEFAULT, OVERRIDES]).table
    assert layered.models["gpt-4o"].input == Decimal("2.125")
    assert layered.models["acme-support-8b"].aliases == ["acme/support-8b", "support-bot-v3"]
    assert list(layered.models) == sorted(layered.models)


def test_environment_variable_lists_several_tables(
    one_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PRICING_ENV, os.pathsep.join([str(DEFAULT), str(one_model)]))
    assert price_table_paths(None) == [DEFAULT, one_model]
    prices = load_prices()
    assert prices.files == (DEFAULT, one_model)
    assert prices.table.models["o3"].input == Decimal(1)


def test_explicit_files_win_over_the_environment(
    one_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PRICING_ENV, str(one_model))
    assert load_prices([DEFAULT]).table.models["o3"].input == Decimal(2)


def test_the_layered_digest_changes_with_any_file(one_model: Path) -> None:
    assert load_prices([DEFAULT]).digest != load_prices([DEFAULT, one_model]).digest


def test_merge_keeps_ids_sorted(one_model: Path) -> None:
    merged = merge_tables([load_prices([one_model]).table, load_prices([OVERRIDES]).table])
    assert list(merged.models) == ["acme-support-8b", "gpt-4o", "o3"]


def test_an_override_that_forgets_aliases_is_warned_about(tmp_path: Path) -> None:
    nemo = tmp_path / "nemo.yaml"
    nemo.write_text(
        "schema_version: 1\neffective: 2025-01-01\nmodels:\n  open-mistral-nemo:\n"
        "    provider: mistral\n    input: 0.1\n    output: 0.1\n    source: test\n"
        "    checked: 2025-01-01\n",
        encoding="utf-8",
    )
    prices = load_prices([DEFAULT, nemo])
    assert prices.warnings == (
        f"{nemo}: open-mistral-nemo replaces the earlier entry whole and drops mistral-nemo; "
        "requests logged under those names are unpriced unless the override restates them",
    )
    assert load_prices([DEFAULT]).warnings == ()


def test_a_forgotten_snapshot_alias_that_still_resolves_is_not_warned_about(
    one_model: Path,
) -> None:
    prices = load_prices([DEFAULT, one_model])
    assert prices.warnings == ()
    assert ModelResolver(prices.table).resolve("o3-2025-04-16") == "o3"


def test_restated_or_moved_aliases_are_not_warned_about(tmp_path: Path) -> None:
    assert load_prices([DEFAULT, OVERRIDES]).warnings == ()
    moved = tmp_path / "moved.yaml"
    moved.write_text(
        ONE_MODEL
        + """\
  o3-snapshot:
    provider: openai
    input: 2
    output: 8
    aliases: [o3-2025-04-16]
    source: "the snapshot priced on its own (test)"
    checked: 2025-01-01
""",
        encoding="utf-8",
    )
    assert load_prices([DEFAULT, moved]).warnings == ()
