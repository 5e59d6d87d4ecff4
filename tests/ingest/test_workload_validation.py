"""A saved workload is input: damaged or altered files are refused on load, naming the file and field."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from costaudit.cli.app import app
from costaudit.errors import InputError
from costaudit.ingest.workload_io import METADATA_KEY, load_workload
from support import data_file

PRICES = str(data_file("cli/prices.yaml"))
SMALL = str(data_file("cli/openai_small.jsonl"))
Edit = Callable[[pa.Table], pa.Table]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> pa.Table:
    """A real workload as `analyze --save-workload` writes it (5 requests)."""
    path = tmp_path_factory.mktemp("saved") / "workload.parquet"
    code, _stdout, stderr = run("analyze", SMALL, "--pricing", PRICES, "--save-workload", str(path))
    assert code == 0, stderr
    return pq.read_table(path)


def _set(name: str, values: list[Any], kind: pa.DataType) -> Edit:
    def edit(table: pa.Table) -> pa.Table:
        index = table.column_names.index(name)
        return table.set_column(index, name, pa.array(values, type=kind))

    return edit


def _drop(name: str) -> Edit:
    return lambda table: table.drop_columns([name])


def _metadata(raw: bytes) -> Edit:
    return lambda table: table.replace_schema_metadata({**table.schema.metadata, METADATA_KEY: raw})


def _write(table: pa.Table, tmp_path: Path) -> Path:
    path = tmp_path / "altered.parquet"
    pq.write_table(table, path)
    return path


@pytest.mark.parametrize(
    ("edit", "field", "message"),
    [
        (
            _set("input_tokens", [100, -5, 1, 1, 1], pa.int64()),
            "input_tokens",
            "row 2: -5 is outside 0..1,000,000,000,000 (the most one request may carry)",
        ),
        (
            _set("output_tokens", [1, 1, 1, 1, 2**62], pa.int64()),
            "output_tokens",
            "row 5: 4,611,686,018,427,387,904 is outside 0..1,000,000,000,000",
        ),
        (
            _set("output_tokens", [1, 1, 2**64 - 1, 1, 1], pa.uint64()),
            "output_tokens",
            "row 3: 18,446,744,073,709,551,615 is outside",
        ),
        (
            _set("input_tokens", [1.5, 2.0, 3.0, 4.0, 5.0], pa.float64()),
            "input_tokens",
            "expected whole token counts, found double",
        ),
        (
            _set("input_tokens", ["1", "2", "3", "4", "5"], pa.string()),
            "input_tokens",
            "expected whole token counts, found string",
        ),
        (
            _set("cached_input_tokens", [1, 1, None, 1, 1], pa.int64()),
            "cached_input_tokens",
            "row 3: missing count",
        ),
        (
            _set("cached_input_tokens", [10**9, 0, 0, 0, 0], pa.int64()),
            "cached_input_tokens",
            "row 1: cached plus cache-write tokens exceed input tokens",
        ),
        (
            _set("model", [1, 2, 3, 4, 5], pa.int64()),
            "model",
            "expected model names (text), found int64",
        ),
        (
            _set("batch", [1, 0, 0, 0, 0], pa.int8()),
            "batch",
            "expected true/false, found int8",
        ),
        (
            _set("complexity", [0.5, 7.0, 0.1, 0.1, 0.1], pa.float32()),
            "complexity",
            "row 2: score 7.0 is outside 0..1",
        ),
        (
            _set("token_source", ["usage", "guessed", "usage", "usage", "usage"], pa.string()),
            "token_source",
            "unknown value 'guessed'",
        ),
        (_metadata(b"{not json"), "metadata", "not valid JSON"),
        (
            _metadata(
                json.dumps({"schema": "costaudit.workload/1", "prefix_block_tokens": -1}).encode()
            ),
            "metadata.prefix_block_tokens",
            "not a positive whole number",
        ),
    ],
)
def test_a_bad_value_is_refused_naming_the_field(
    saved: pa.Table, tmp_path: Path, edit: Edit, field: str, message: str
) -> None:
    path = _write(edit(saved), tmp_path)
    with pytest.raises(InputError) as caught:
        load_workload(path)
    assert caught.value.location.file == str(path)
    assert caught.value.location.field == field
    assert caught.value.message.startswith(message)


def test_a_missing_column_is_refused(saved: pa.Table, tmp_path: Path) -> None:
    path = _write(_drop("output_tokens")(saved), tmp_path)
    with pytest.raises(InputError, match=r"workload lacks columns: output_tokens$"):
        load_workload(path)


def test_an_unaltered_workload_loads(saved: pa.Table, tmp_path: Path) -> None:
    assert len(load_workload(_write(saved, tmp_path))) == 5


def test_simulate_refuses_a_workload_with_wrapped_counts(saved: pa.Table, tmp_path: Path) -> None:
    """A saved table whose counts would wrap int64 sums used to simulate to a few dollars a month."""
    huge = _set("input_tokens", [2**62] * 5, pa.int64())(saved)
    path = _write(huge, tmp_path)
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(
        f"workload: {{workload: {path.name}}}\nscenarios: [{{name: current}}]\n", encoding="utf-8"
    )
    code, stdout, stderr = run("simulate", "-s", str(scenario), "--pricing", PRICES)
    assert code == 3
    assert stdout == ""
    assert stderr.strip() == (
        f"error: {path}: input_tokens: row 1: 4,611,686,018,427,387,904 is outside "
        "0..1,000,000,000,000 (the most one request may carry)"
    )
