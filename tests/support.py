"""Types and helpers shared by tests (fixtures themselves live in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from costaudit.config.pricing import PriceTable

MakeTable = Callable[..., PriceTable]
"""`make_table(model_id={...prices...}, ...)` → PriceTable."""
MakeRequests = Callable[..., pd.DataFrame]
"""`make_requests({...row...}, ...)` → canonical request table."""

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


def data_file(name: str) -> Path:
    """A fixture file under tests/data; fails loudly when it is missing."""
    path = DATA / name
    assert path.is_file(), f"missing test fixture {path}"
    return path
