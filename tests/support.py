"""Types and helpers shared by tests (fixtures themselves live in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from costaudit.config.pricing import PriceTable
from costaudit.core.request_table import RequestTable
from costaudit.ingest.reader import Logs

MakeTable = Callable[..., PriceTable]
"""`make_table(model_id={...prices...}, ...)` → PriceTable."""
MakeRequests = Callable[..., RequestTable]
"""`make_requests({...row...}, ...)` → canonical request table."""

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


def data_file(name: str) -> Path:
    """A fixture file under tests/data; fails loudly when it is missing."""
    path = DATA / name
    assert path.is_file(), f"missing test fixture {path}"
    return path


Read = Callable[..., Logs]
"""`read("openai_chat.jsonl", format=..., ...)`: the ingest tests' fixture reading logs through the reader."""
Rows = Callable[[Logs], list[dict[str, Any]]]
"""The request table as plain dicts, for exact comparisons."""
Usage = Callable[..., dict[str, Any]]
"""`usage(model, input, output, cached=..., ...)` → the row `Rows` should hold."""
Price = Callable[[PriceTable, RequestTable], Decimal]
"""Exact cost of a request table under a price table."""
Column = Callable[[Logs, str], list[Any]]
"""One column of the request table as a list."""
