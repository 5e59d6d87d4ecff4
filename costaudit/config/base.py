"""Shared pieces of every configuration model: strictness and the money type.

Configuration is data users edit by hand, so a typo must be an error (`extra="forbid"`) and money must be
exact (`Decimal`, never float): a price of 0.15 stays 0.15, and totals can be compared without tolerance.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

Money = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
"""USD amount (per 1M tokens, per hour, ...): exact and never negative."""

Fraction = Annotated[Decimal, Field(ge=0, le=1, allow_inf_nan=False)]
"""A share or multiplier in [0, 1]."""


class StrictModel(BaseModel):
    """Base of every configuration model: unknown keys are errors and instances are immutable.

    Fields are documented by the docstring under each; pydantic makes them the fields'
    descriptions, which the JSON Schemas carry.
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=False,
        use_attribute_docstrings=True,
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
