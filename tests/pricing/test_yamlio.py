"""Tables written back to YAML read back identical, in the hand-written table's layout."""

from __future__ import annotations

from pathlib import Path

from costaudit.config.pricing import PriceTable
from costaudit.configfile import validate_file
from costaudit.pricetable.layers import load_prices
from costaudit.pricetable.yamlio import dump_table
from support import REPO


def test_the_default_table_round_trips_exactly(tmp_path: Path) -> None:
    table = load_prices([REPO / "pricing" / "default.yaml"]).table
    path = tmp_path / "copy.yaml"
    path.write_text(dump_table(table, ["a header line"]), encoding="utf-8")
    assert validate_file(path, PriceTable) == table


def test_layout_reads_like_the_hand_written_table() -> None:
    table = load_prices([REPO / "pricing" / "default.yaml"]).table
    text = dump_table(table.model_copy(update={"models": {"o3": table.models["o3"]}}), ["imported"])
    lines = text.splitlines()
    assert lines[:2] == ["# yaml-language-server: $schema=./price-table.schema.json", "# imported"]
    assert "    batch: {input: 1, cached_input: 0.5, output: 4}" in lines
    assert "    aliases: [o3-2025-04-16]" in lines
    assert "&id" not in text, "no YAML anchors"
    keys = [
        line.split(":")[0].strip()
        for line in lines
        if line.startswith("    ") and not line.startswith("     ")
    ]
    assert (
        keys.index("provider") < keys.index("input") < keys.index("source") < keys.index("checked")
    )
