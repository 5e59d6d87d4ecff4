"""Fixtures for the ingest tests: read fixture logs through the real reader, and price the result."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from costaudit.config.pricing import PriceTable
from costaudit.core.pricing import assign, cost_lines, total_cost
from costaudit.core.request_table import RequestTable
from costaudit.ingest.reader import Logs, ReadOptions, read_logs
from support import DATA, Column, Price, Read, Rows, Usage

LOGS = DATA / "logs"


def tokenizer(_model: str | None) -> str:
    return "cl100k_base"


@pytest.fixture
def read() -> Read:
    """`read("openai_chat.jsonl", format=..., ...)`: read fixture logs (names under tests/data/logs,
    or any path) with the given ReadOptions fields."""

    def run(*names: str | Path, **options: Any) -> Logs:
        specs = [
            str(name if name == "-" or Path(name).is_absolute() else LOGS / name) for name in names
        ]
        return read_logs(specs, ReadOptions(**options), tokenizer)

    return run


@pytest.fixture
def price() -> Price:
    """Exact cost of a request table under a price table (unpriced rows count nothing)."""

    def run(table: PriceTable, requests: RequestTable) -> Decimal:
        lines = cost_lines(requests, table, assign(requests, table))
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


def _rows(workload: Logs) -> list[dict[str, Any]]:
    table = workload.requests
    columns: dict[str, list[Any]] = {"model": table.model.values()}
    columns.update({name: values.tolist() for name, values in table.tokens.items()})
    columns["batch"] = table.batch.tolist()
    return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]


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
        audio: int = 0,
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
            "audio_input_tokens": audio,
            "batch": batch,
        }

    return build


@pytest.fixture(scope="session")
def column() -> Column:
    """`column(workload, "user")`: a request-table column as a list, None where missing."""

    def values(workload: Logs, name: str) -> list[Any]:
        frame = workload.requests.to_frame()
        if name not in frame:
            return [None] * len(frame)
        return [None if pd.isna(value) else value for value in frame[name].astype(object)]

    return values
