"""`pricing diff`: models added, removed and changed, one entry per changed number with its %."""

from __future__ import annotations

from decimal import Decimal

from costaudit.pricetable.diff import PriceChange, diff_tables, flat_prices
from support import MakeTable

O3 = {
    "input": "2",
    "cached_input": "0.5",
    "output": "8",
    "batch": {"input": "1", "output": "4"},
    "history": [{"until": "2025-06-10", "input": "10", "output": "40"}],
}
GEMINI = {
    "input": "1.25",
    "output": "10",
    "tiers": [{"above_input_tokens": 200000, "input": "2.5", "output": "15"}],
}


def test_flat_prices_name_every_number(make_table: MakeTable) -> None:
    prices = flat_prices(make_table(o3=O3).models["o3"])
    assert prices == {
        "input": Decimal(2),
        "cached_input": Decimal("0.5"),
        "output": Decimal(8),
        "batch.input": Decimal(1),
        "batch.output": Decimal(4),
        "history[until 2025-06-10].input": Decimal(10),
        "history[until 2025-06-10].output": Decimal(40),
    }
    tiered = flat_prices(make_table(g=GEMINI).models["g"])
    assert tiered["tiers[>200000].output"] == Decimal(15)


def test_added_removed_and_changed_models(make_table: MakeTable) -> None:
    old = make_table(o3=O3, gone={"input": "1", "output": "1"})
    new_o3 = {**O3, "input": "2.5", "output": "8", "aliases": ["o3-2025-04-16"]}
    new = make_table(o3=new_o3, fresh={"input": "1", "output": "1"})
    diff = diff_tables(old, new)
    assert (diff.added, diff.removed) == (("fresh",), ("gone",))
    [changed] = diff.changed
    assert changed.model_id == "o3"
    assert changed.prices == (PriceChange("input", Decimal(2), Decimal("2.5")),)
    assert changed.prices[0].change_pct == Decimal(25)
    assert [(a.field, a.old, a.new) for a in changed.attributes] == [
        ("aliases", None, "o3-2025-04-16")
    ]


def test_a_price_that_appears_or_disappears_has_no_percentage(make_table: MakeTable) -> None:
    old = make_table(m={"input": "1", "output": "2"})
    new = make_table(m={"input": "1", "output": "2", "cached_input": "0.1"})
    [changed] = diff_tables(old, new).changed
    assert changed.prices == (PriceChange("cached_input", None, Decimal("0.1")),)
    assert changed.prices[0].change_pct is None


def test_provenance_only_edits_are_not_changes(make_table: MakeTable) -> None:
    old = make_table(m={"input": "1", "output": "2", "source": "page (2026-01)"})
    new = make_table(
        m={"input": "1.0", "output": "2", "source": "page (2026-11)", "notes": "rechecked"}
    )
    diff = diff_tables(old, new)
    assert diff.unchanged
