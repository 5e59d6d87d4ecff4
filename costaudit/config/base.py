"""Shared pieces of every configuration model: strictness and the money type.

Configuration is data users edit by hand, so a typo must be an error (`extra="forbid"`) and money must be
exact (`Decimal`, never float): a price of 0.15 stays 0.15, and totals can be compared without tolerance.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from costaudit.configfile import MAX_CONFIG_NUMBER

MAX_NUMBER = MAX_CONFIG_NUMBER
"""No number in a configuration file may exceed 10^15 in size (costaudit.configfile refuses larger
literals where they are written; the models bound numbers written as text too)."""
MAX_USD = 10**9
"""The largest amount of money a configuration may state (a price per million tokens, per hour or a
monthly budget): far above any real one, low enough that exact arithmetic stays cheap."""
MAX_TOKENS = 10**12
"""The most tokens one request may carry (the same limit log records are held to)."""
MAX_SEED = 2**63 - 1
"""Seeds are whole numbers from 0 to 2^63 - 1 (what the random generators accept)."""

Money = Annotated[Decimal, Field(ge=0, le=MAX_USD, allow_inf_nan=False)]
"""USD amount (per 1M tokens, per hour, ...): exact, never negative, at most 10^9."""

Number = Annotated[Decimal, Field(ge=-MAX_NUMBER, le=MAX_NUMBER, allow_inf_nan=False)]
"""A finite number no larger than 10^15 in size."""

PositiveNumber = Annotated[Decimal, Field(gt=0, le=MAX_NUMBER, allow_inf_nan=False)]
"""A finite number above 0, at most 10^15."""

Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]
"""A random seed: a whole number from 0 to 2^63 - 1."""

Fraction = Annotated[Decimal, Field(ge=0, le=1, allow_inf_nan=False)]
"""A share or multiplier in [0, 1]."""


class StrictModel(BaseModel):
    """Base of every configuration model: unknown keys are errors and instances are immutable.

    Fields are documented by the docstring under each; the JSON Schemas carry them as the fields'
    descriptions (`pricetable.schema.described_schema`, which reads them only when a schema is made).
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=False,
    )


_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: object) -> float | None:
    """Seconds from `30s`, `5m`, `1h`, `1d` or a plain number of seconds; `none` means unbounded."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 5m, 1h or none")
    if isinstance(value, int | float | Decimal):
        seconds = float(value)
    else:
        text = str(value).strip().lower()
        if text in {"none", "infinite", "inf"}:
            return None
        number = text.rstrip("abcdefghijklmnopqrstuvwxyz")
        unit = text[len(number) :] or "s"
        if unit not in _DURATION_UNITS or not number:
            raise ValueError(f"`{value}` is not a duration: use e.g. 30s, 5m, 1h, 1d or none")
        try:
            seconds = float(number) * _DURATION_UNITS[unit]
        except ValueError:
            raise ValueError(
                f"`{value}` is not a duration: use e.g. 30s, 5m, 1h, 1d or none"
            ) from None
    if not seconds > 0 or seconds == float("inf"):
        raise ValueError(f"`{value}` must be a positive duration (or none for unbounded)")
    return seconds


Duration = Annotated[
    float | None, BeforeValidator(parse_duration, json_schema_input_type=str | float | None)
]

"""A time span in seconds, written `30s`, `5m`, `1h`, `1d`; `none` (None) means unbounded."""
