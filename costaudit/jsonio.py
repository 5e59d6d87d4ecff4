"""How costaudit writes JSON: stable key order, two-space indent, money as exact decimal strings.

Shared by the reports (render/) and the files costaudit writes for itself (the CI baseline), so that a
dollar amount is written the same way everywhere.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import orjson

MICRO = Decimal("0.000001")
"""Monthly figures are written to the micro-dollar."""


def dumps(document: Any) -> str:
    """Deterministic JSON: keys in the order given, two-space indent, trailing newline."""
    return (
        orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode() + "\n"
    )


def decimal_str(value: Decimal | None, *, exact: bool = False) -> str | None:
    """A decimal string without exponent: exact when asked, else rounded to micro-dollars."""
    if value is None:
        return None
    shown = value if exact else value.quantize(MICRO, rounding=ROUND_HALF_EVEN)
    text = format(shown, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"
