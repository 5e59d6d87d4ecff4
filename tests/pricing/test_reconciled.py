"""Curated prices against the maintained datasets: every disagreement has a note saying which is right.

pricing/crosscheck.yaml holds each curated model's entry in LiteLLM and genai-prices (written by
`python -m costaudit.pricetable.build`); pricing/reconciled.yaml explains every difference. A price
that moves in a re-import, or in the curated table, fails here until someone looks at it.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from costaudit.config.pricing import PriceTable
from costaudit.configfile import validate_file
from costaudit.pricetable.build import build, disagreements
from costaudit.pricetable.importers.genai_prices import installed_providers
from costaudit.pricetable.layers import default_price_table_paths, load_prices

REPO = Path(__file__).resolve().parents[2]
CURATED = REPO / "pricing" / "default.yaml"
CROSSCHECK = REPO / "pricing" / "crosscheck.yaml"
RECONCILED = REPO / "pricing" / "reconciled.yaml"


@pytest.fixture(scope="module")
def curated() -> PriceTable:
    return validate_file(CURATED, PriceTable)


@pytest.fixture(scope="module")
def crosscheck() -> PriceTable:
    return validate_file(CROSSCHECK, PriceTable)


def notes() -> dict[str, dict[str, Any]]:
    loaded = yaml.safe_load(RECONCILED.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def found_disagreements(curated: PriceTable, crosscheck: PriceTable) -> dict[str, list[str]]:
    found = {}
    for key, imported in crosscheck.models.items():
        model_id, _, _source = key.partition("~")
        differs = disagreements(curated.models[model_id], imported)
        if differs:
            found[key] = differs
    return found


def test_every_disagreement_has_a_note_naming_exactly_what_differs(
    curated: PriceTable, crosscheck: PriceTable
) -> None:
    found = found_disagreements(curated, crosscheck)
    written = {key: note["differs"] for key, note in notes().items()}
    missing = {key: value for key, value in found.items() if key not in written}
    stale = {key: value for key, value in written.items() if key not in found}
    changed = {
        key: (written[key], value)
        for key, value in found.items()
        if key in written and sorted(written[key]) != sorted(value)
    }
    assert missing == {}, "curated prices differ from a dataset without a note in reconciled.yaml"
    assert stale == {}, "notes for differences that no longer exist"
    assert changed == {}, "what differs changed since the note was written"


def test_every_note_says_which_is_right_and_why() -> None:
    for key, note in notes().items():
        assert note["right"] in {"curated", "imported"}, key
        assert len(str(note["why"])) > 40, key


def test_no_note_admits_a_wrong_curated_price() -> None:
    """`imported` is right means default.yaml must be fixed: no such note may stay committed."""
    assert [key for key, note in notes().items() if note["right"] == "imported"] == []


def test_the_crosscheck_covers_most_curated_models(
    curated: PriceTable, crosscheck: PriceTable
) -> None:
    checked = {key.partition("~")[0] for key in crosscheck.models}
    assert len(checked) >= 0.8 * len(curated.models)


def test_the_genai_prices_counterparts_are_current(
    curated: PriceTable, crosscheck: PriceTable
) -> None:
    """The committed counterparts from genai-prices match the installed package: the crosscheck file
    was rebuilt after the last change to the data or to the curated table."""
    providers, origin = installed_providers()
    _generated, fresh, _counts = build(curated, {}, "none", providers, origin, date(2026, 11, 25))
    committed = {
        key: model for key, model in crosscheck.models.items() if key.endswith("~genai-prices")
    }
    assert {key: model.model_dump() for key, model in fresh.models.items()} == {
        key: model.model_dump() for key, model in committed.items()
    }


def test_the_packaged_default_is_the_generated_layer_under_the_curated_table() -> None:
    generated, curated = default_price_table_paths()
    assert (generated.name, curated.name) == ("generated.json", "default.yaml")
    prices = load_prices()
    assert prices.warnings == ()
    layer = validate_file(generated, PriceTable)
    assert len(layer.models) >= 300
    assert not set(layer.models) & set(validate_file(curated, PriceTable).models)
    assert all(model.source and model.checked for model in prices.table.models.values())
