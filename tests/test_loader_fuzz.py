"""Property tests: hostile values in every file costaudit loads end as a valid result or as bad input
(InputError, exit 3) — never another exception, never exit 4 — and every record read is counted.

Covered: the log readers through the command line (read = priced + unpriced + skipped), price
tables, scenario files, CI baselines and saved workloads. Example counts are modest so `make test`
stays fast; the conftest profile draws the same examples on every run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from costaudit.api import load_prices, load_scenario, scenario_workload, simulate
from costaudit.api.baseline import read_baseline
from costaudit.cli.app import app
from costaudit.errors import InputError
from costaudit.ingest.validation import MAX_TOKENS
from costaudit.ingest.workload_io import load_workload
from support import data_file

PRICES = data_file("cli/prices.yaml")
SMALL = data_file("cli/openai_small.jsonl")
FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

HOSTILE_TEXT = st.sampled_from(
    [
        "",
        "-1",
        "1e999999",
        "1.0e+999999",
        "-1.0e+30",
        ".nan",
        ".inf",
        "NaN",
        "Infinity",
        "0x10",
        "1_000",
        "[/x]",
        "\n::error::x",
        "\x1b[31mred",
        "~",
        "null",
        "true",
        "{a: 1}",
        "[1, 2]",
        "&a [*a]",
        "!!python/object:os.system x",
        "9" * 40,
        "'quoted'",
    ]
)
PLAUSIBLE_TEXT = st.sampled_from(["1", "250", "0.5", "10000", "3"])
VALUE_TEXT = st.one_of(PLAUSIBLE_TEXT, PLAUSIBLE_TEXT, HOSTILE_TEXT)
"""Hostile values mixed with plausible ones, so both outcomes are exercised."""
HOSTILE_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["", "12", "-3", "1e30", "NaN", "[/x]", "\n::error::x", "\x00"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


# ------------------------------------------------------------------------------------------- log readers


def _record(usage: dict[str, Any], model: Any) -> dict[str, Any]:
    return {
        "timestamp": "2026-11-01T00:00:00Z",
        "request": {"model": model, "messages": [{"role": "user", "content": "hi"}]},
        "response": {"object": "chat.completion", "model": model, "usage": usage},
    }


USAGE = st.fixed_dictionaries(
    {},
    optional={
        "prompt_tokens": HOSTILE_JSON,
        "completion_tokens": HOSTILE_JSON,
        "total_tokens": HOSTILE_JSON,
        "prompt_tokens_details": HOSTILE_JSON,
    },
)
LINES = st.lists(
    st.one_of(
        st.builds(
            lambda u, m: json.dumps(_record(u, m)),
            USAGE,
            st.sampled_from(["gpt-4o", "x"]) | HOSTILE_JSON,
        ),
        st.builds(lambda u: json.dumps(_record(u, "gpt-4o"))[: len(json.dumps(u)) // 2], USAGE),
        st.binary(max_size=40).map(lambda raw: raw.decode("latin-1")),
    ),
    min_size=1,
    max_size=12,
)


@FUZZ
@given(LINES)
def test_analyze_counts_every_record_of_hostile_logs(tmp_path: Path, lines: list[str]) -> None:
    path = tmp_path / "logs.jsonl"
    good = SMALL.read_text(encoding="utf-8").splitlines()[0]
    path.write_text("\n".join([good, *lines]) + "\n", encoding="utf-8")
    code, stdout, stderr = run(
        "analyze", str(path), "--pricing", str(PRICES), "-o", "json", "--format", "openai"
    )
    assert code in (0, 3), stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    if code == 3:
        event("bad input")
        assert stderr.startswith("error: ")
        return
    event("read")
    records = json.loads(stdout)["records"]
    assert records["read"] == records["priced"] + records["unpriced"] + records["skipped"]
    assert records["read"] >= 1


# ------------------------------------------------------------------------------------------- price tables

PRICE_FIELDS = ["input", "output", "cached_input", "context_window", "provider", "aliases", "batch"]


@FUZZ
@given(
    st.dictionaries(st.sampled_from(PRICE_FIELDS), VALUE_TEXT, min_size=1, max_size=3),
    st.booleans(),
)
def test_hostile_price_tables_load_or_are_bad_input(
    tmp_path: Path, fields: dict[str, str], duplicate: bool
) -> None:
    entry = {"provider": "openai", "input": "2.5", "output": "10", **fields}
    body = "".join(f"    {key}: {value}\n" for key, value in entry.items())
    block = f"  gpt-4o:\n{body}    source: test\n    checked: 2026-11-25\n"
    text = "schema_version: 1\neffective: 2026-11-25\nmodels:\n" + block * (2 if duplicate else 1)
    path = tmp_path / "prices.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        prices = load_prices([path])
    except InputError as error:
        event("bad input")
        assert error.location.file == str(path)
        return
    event("loaded")
    assert not duplicate
    model = prices.table.models["gpt-4o"]
    assert 0 <= model.input <= 10**9


# ---------------------------------------------------------------------------------------------- scenarios

SCENARIO_FIELDS = {
    "requests_per_day": "1000",
    "input_tokens": "100",
    "output_tokens": "50",
    "seed": "7",
}


@FUZZ
@given(
    st.dictionaries(st.sampled_from(list(SCENARIO_FIELDS)), VALUE_TEXT, max_size=2),
    VALUE_TEXT,
    st.sampled_from(["5%", "5%", "0.5%", "12", "-5%", "1e999999%", "nan%", "x"]),
)
def test_hostile_scenarios_simulate_or_are_bad_input(
    tmp_path: Path, fields: dict[str, str], name: str, share: str
) -> None:
    values = {**SCENARIO_FIELDS, **fields}
    stream = "".join(f"    {key}: {value}\n" for key, value in values.items())
    text = (
        f"workload:\n  synthetic:\n    model: gpt-4o\n{stream}"
        f"scenarios:\n  - name: {json.dumps(name)}\ncheck: {{max_increase: {share}}}\n"
    )
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    prices = load_prices([PRICES])
    try:
        loaded = load_scenario(path, prices=prices)
        built = scenario_workload(loaded, prices=prices)
    except InputError as error:
        event("bad input")
        assert error.location.file == str(path)
        return
    event("loaded")
    result = simulate(loaded, prices=prices, workload=built)
    assert [scenario.name for scenario in result.scenarios] == [name]
    monthly = result.scenarios[0].monthly_usd
    assert monthly is None or monthly >= 0


# ---------------------------------------------------------------------------------------------- baselines


@pytest.fixture(scope="module")
def baseline_document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    directory = tmp_path_factory.mktemp("baseline")
    scenario = directory / "costaudit.yaml"
    scenario.write_text(
        "workload: {synthetic: {requests_per_day: 100, model: gpt-4o, input_tokens: 10, "
        "output_tokens: 5}}\nscenarios: [{name: production}]\n",
        encoding="utf-8",
    )
    baseline = directory / "baseline.json"
    code, _stdout, stderr = run(
        "check",
        "-s",
        str(scenario),
        "--pricing",
        str(PRICES),
        "--baseline",
        str(baseline),
        "--update-baseline",
    )
    assert code == 0, stderr
    document: dict[str, Any] = json.loads(baseline.read_text(encoding="utf-8"))
    return document


def _replace_at(document: Any, path: list[str], value: Any) -> Any:
    if not path or not isinstance(document, dict):
        return value
    head, *rest = path
    return {**document, head: _replace_at(document.get(head), rest, value)}


BASELINE_PLACES = [
    ["schema"],
    ["hashes"],
    ["hashes", "prompts"],
    ["hashes", "price_table"],
    ["workload"],
    ["scenarios"],
    ["scenarios", "production"],
    ["scenarios", "production", "monthly_usd"],
    ["scenarios", "production", "unpriced_requests"],
    ["scenarios", "production", "breakdown"],
    ["scenarios", "production", "breakdown", "models"],
    ["scenarios", "production", "breakdown", "groups"],
]


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(BASELINE_PLACES), HOSTILE_JSON), min_size=1, max_size=3))
def test_hostile_baselines_read_or_are_bad_input(
    tmp_path: Path, baseline_document: dict[str, Any], edits: list[tuple[list[str], Any]]
) -> None:
    document: Any = baseline_document
    for place, value in edits:
        document = _replace_at(document, place, value)
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    try:
        baseline = read_baseline(path)
    except InputError as error:
        event("bad input")
        assert error.location.file == str(path)
        return
    event("loaded")
    for amount in baseline.monthly.values():
        assert amount is None or 0 <= amount <= 10**9


# ---------------------------------------------------------------------------------------------- workloads


@pytest.fixture(scope="module")
def saved_table(tmp_path_factory: pytest.TempPathFactory) -> pa.Table:
    path = tmp_path_factory.mktemp("workload") / "workload.parquet"
    code, _stdout, stderr = run(
        "analyze", str(SMALL), "--pricing", str(PRICES), "--save-workload", str(path)
    )
    assert code == 0, stderr
    return pq.read_table(path)


COLUMN_VALUES = st.one_of(
    st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), min_size=5, max_size=5).map(
        lambda values: pa.array(values, type=pa.int64())
    ),
    st.lists(st.integers(min_value=0, max_value=2**64 - 1), min_size=5, max_size=5).map(
        lambda values: pa.array(values, type=pa.uint64())
    ),
    st.lists(st.none() | st.integers(min_value=0, max_value=10), min_size=5, max_size=5).map(
        lambda values: pa.array(values, type=pa.int32())
    ),
    st.lists(st.floats(), min_size=5, max_size=5).map(
        lambda values: pa.array(values, type=pa.float64())
    ),
    st.lists(st.text(max_size=4), min_size=5, max_size=5).map(
        lambda values: pa.array(values, type=pa.string())
    ),
    st.lists(st.booleans(), min_size=5, max_size=5).map(
        lambda values: pa.array(values, type=pa.bool_())
    ),
)
WORKLOAD_COLUMNS = [
    "timestamp",
    "model",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "reasoning_tokens",
    "batch",
    "complexity",
    "token_source",
]


@FUZZ
@given(
    st.lists(st.tuples(st.sampled_from(WORKLOAD_COLUMNS), COLUMN_VALUES), min_size=1, max_size=3)
)
def test_hostile_workloads_load_or_are_bad_input(
    tmp_path: Path, saved_table: pa.Table, edits: list[tuple[str, pa.Array[Any]]]
) -> None:
    table = saved_table
    for name, values in edits:
        table = table.set_column(table.column_names.index(name), name, values)
    path = tmp_path / "workload.parquet"
    pq.write_table(table, path)
    try:
        requests = load_workload(path)
    except InputError as error:
        event("bad input")
        assert error.location.file == str(path)
        return
    event("loaded")
    for column in requests.tokens.values():
        assert int(column.min()) >= 0
        assert int(column.max()) <= MAX_TOKENS
