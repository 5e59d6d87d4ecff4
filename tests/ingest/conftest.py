"""Fixtures for the ingest tests: read fixture logs through the real reader, and price the result."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from costaudit.config.pricing import PriceTable
from costaudit.core.pricing import ModelResolver, assign_prices, cost_lines, total_cost
from costaudit.ingest.reader import ReadOptions, Workload, read_logs
from support import DATA, Column, Price, Read, Rows, Usage

LOGS = DATA / "logs"


def tokenizer(_model: str | None) -> str:
    return "cl100k_base"


@pytest.fixture
def read() -> Read:
    """`read("openai_chat.jsonl", format=..., ...)`: read fixture logs (names under tests/data/logs,
    or any path) with the given ReadOptions fields."""

    def run(*names: str | Path, **options: Any) -> Workload:
        specs = [
            str(name if name == "-" or Path(name).is_absolute() else LOGS / name) for name in names
        ]
        return read_logs(specs, ReadOptions(**options), tokenizer)

    return run


@pytest.fixture
def price() -> Price:
    """Exact cost of a request table under a price table (unpriced rows count nothing)."""

    def run(table: PriceTable, requests: pd.DataFrame) -> Decimal:
        lines = cost_lines(requests, table, assign_prices(requests, table, ModelResolver(table)))
        return total_cost(lines)

    return run


@pytest.fixture(scope="session")
def logs() -> Path:
    """The directory of fixture logs."""
    return LOGS


@pytest.fixture(scope="session")
def table_rows() -> Rows:
    """The request table as plain dicts (model, token columns, batch), for exact comparisons."""
    return _rows


def _rows(workload: Workload) -> list[dict[str, Any]]:
    columns = [
        "model",
        "input_tokens",
        "cached_input_tokens",
        "cache_write_tokens",
        "cache_write_1h_tokens",
        "output_tokens",
        "reasoning_tokens",
        "batch",
    ]
    table = workload.requests[columns].astype(object)
    return [
        {str(key): (None if pd.isna(value) else value) for key, value in row.items()}
        for row in table.to_dict("records")
    ]


@pytest.fixture(scope="session")
def usage() -> Usage:
    """`usage(model, input, output, cached=…, write=…, write_1h=…, reasoning=…, batch=…)`: one
    expected canonical row, in the shape `table_rows` returns."""

    def build(
        model: str | None,
        input_tokens: int,
        output_tokens: int,
        *,
        cached: int = 0,
        write: int = 0,
        write_1h: int = 0,
        reasoning: int = 0,
        batch: bool = False,
    ) -> dict[str, Any]:
        return {
            "model": model,
            "input_tokens": input_tokens,
            "cached_input_tokens": cached,
            "cache_write_tokens": write,
            "cache_write_1h_tokens": write_1h,
            "output_tokens": output_tokens,
            "reasoning_tokens": reasoning,
            "batch": batch,
        }

    return build


@pytest.fixture(scope="session")
def column() -> Column:
    """`column(workload, "user")`: a request-table column as a list, None where missing."""

    def values(workload: Workload, name: str) -> list[Any]:
        if name not in workload.requests:
            return [None] * len(workload.requests)
        series = workload.requests[name].astype(object)
        return [None if pd.isna(value) else value for value in series]

    return values
