"""How money and counts are written: exact decimal strings for machines, rounded for people."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

CENT = Decimal("0.01")


def usd(value: Decimal | None) -> str:
    """`$1,234.56`; amounts under a dollar keep four significant digits ($0.1429, $0.000022)."""
    if value is None:
        return "—"
    if value != 0 and abs(value) < 1:
        step = Decimal(1).scaleb(value.adjusted() - 3)
        small = value.quantize(step, rounding=ROUND_HALF_EVEN)
        if abs(small) < 1:
            digits = max(2, -small.normalize().as_tuple().exponent)  # type: ignore[operator]
            return f"${small:.{digits}f}"
    return f"${value.quantize(CENT, rounding=ROUND_HALF_EVEN):,.2f}"


def signed_usd(value: Decimal) -> str:
    sign = "+" if value > 0 else "−" if value < 0 else "±"
    return f"{sign}{usd(abs(value))}"


def count(value: int | float) -> str:
    return f"{value:,.0f}"


def tokens(value: int) -> str:
    """Compact token counts: 950, 12.3k, 4.56M, 7.89B."""
    for limit, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return str(value)


def percent(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def days(value: Decimal) -> str:
    """A window length for people: `1 day`, `6.995 days`."""
    shown = f"{float(value):.4g}"
    return f"{shown} day" if shown == "1" else f"{shown} days"
