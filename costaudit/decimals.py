"""The precision money is computed with: 60 significant digits, set once for the whole program.

Python's default decimal context keeps 28 significant digits, and rounds silently beyond them. A cost
is a token count times a price per million tokens: a month of a large deployment is 10^15 tokens or
more (16 digits, and sums of saved or generated workloads can reach 10^22), and a negotiated price can
carry 10 or more decimals, so an exact product needs about 40 digits, and ratios built on it (monthly
figures, shares, savings) need a margin above that. At 28 digits such a product would be rounded
before anyone asked for rounding; at 60 it is exact, and rounding happens only where a report says
so (to the micro-dollar, jsonio.MICRO).

`ensure_money_precision` raises the precision of the running thread's context and of the default
context new threads start from (never lowering a higher precision a caller chose); `import costaudit`
calls it, so every computation — the CLI's and the Python API's, in any thread — runs at it.
"""

from __future__ import annotations

import decimal

MONEY_PRECISION = 60
"""Significant digits of every Decimal computation (see the module docstring for why 60)."""


def ensure_money_precision() -> None:
    """At least MONEY_PRECISION digits in this thread's context and in threads started later."""
    for context in (decimal.getcontext(), decimal.DefaultContext):
        if context.prec < MONEY_PRECISION:
            context.prec = MONEY_PRECISION
