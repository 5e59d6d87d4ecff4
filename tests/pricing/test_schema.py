"""The committed JSON Schema is generated, never hand-edited, and every shipped table points at it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from costaudit.pricetable.schema import SCHEMA_COMMENT, price_table_schema, schema_text
from support import REPO

SCHEMA_FILE = REPO / "pricing" / "price-table.schema.json"


def test_committed_schema_matches_the_models() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), (
        "pricing/price-table.schema.json drifted from costaudit/config/pricing.py: run "
        "`costaudit pricing schema --out pricing/price-table.schema.json`"
    )


TABLES = sorted(
    path
    for path in (REPO / "pricing").glob("*.yaml")
    if "\nschema_version:" in path.read_text(encoding="utf-8")
)
"""The price tables among pricing/*.yaml (reconciled.yaml holds notes, not prices)."""


@pytest.mark.parametrize("path", TABLES, ids=lambda path: path.name)
def test_every_shipped_table_names_the_schema_on_its_first_line(path: Path) -> None:
    assert path.read_text(encoding="utf-8").splitlines()[0] == SCHEMA_COMMENT


def test_attribute_docstrings_become_descriptions() -> None:
    model = price_table_schema()["$defs"]["ModelPrice"]
    assert model["additionalProperties"] is False
    assert "Where the numbers come from" in model["properties"]["source"]["description"]


def test_written_durations_are_accepted_by_the_schema() -> None:
    """`ttl: 5m` in YAML: the schema must not flag what the loader accepts."""
    ttl = price_table_schema()["$defs"]["CacheRule"]["properties"]["ttl"]
    pattern = next(option["pattern"] for option in ttl["anyOf"] if option.get("type") == "string")
    for written in ("5m", "1h", "30s", "none", "1.5h"):
        assert re.match(pattern, written), written
    assert not re.match(pattern, "soon")


def test_schema_text_is_stable_json() -> None:
    text = schema_text()
    assert text.endswith("}\n")
    assert json.loads(text)["title"] == "PriceTable"
