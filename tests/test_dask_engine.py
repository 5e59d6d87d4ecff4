"""`--engine dask`: the same parts read by the workers of a two-process LocalCluster, and the same
analysis, byte for byte, as the local engine, on every example log and on a file split into ranges
(whose skipped lines keep their line numbers)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from costaudit import api
from costaudit.errors import InputError
from costaudit.ingest import partitions
from costaudit.ingest.reader import ReadOptions
from costaudit.jsonio import dumps
from costaudit.render.analysis import analysis_document

distributed = pytest.importorskip("distributed")

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_LOGS = sorted((REPO / "examples" / "logs").glob("*.jsonl*"))
TEST_LOGS = sorted((REPO / "tests" / "data" / "logs").iterdir())
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connections to this machine's loopback only (the local cluster); anything else fails."""
    connect = socket.socket.connect
    lookup = socket.getaddrinfo

    def loopback_connect(self: socket.socket, address: Any) -> None:
        if isinstance(address, tuple) and address[0] not in LOOPBACK:
            raise AssertionError("costaudit must not open network connections")
        connect(self, address)

    def loopback_lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in LOOPBACK:
            raise AssertionError("costaudit must not open network connections")
        return lookup(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", loopback_connect)
    monkeypatch.setattr(socket, "getaddrinfo", loopback_lookup)


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        host="127.0.0.1",
    ) as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def prices() -> api.LoadedPrices:
    return api.load_prices()


def _document(analysis: api.Analysis) -> str:
    return dumps(analysis_document(analysis))


def test_every_example_log_gives_the_local_result(scheduler: str, prices: Any) -> None:
    assert EXAMPLE_LOGS
    for log in EXAMPLE_LOGS:
        for group_by in ((), ("feature",)):
            local = api.analyze(log, prices=prices, group_by=group_by)
            on_dask = api.analyze(
                log, prices=prices, group_by=group_by, engine="dask", scheduler=scheduler
            )
            assert on_dask == local, log.name
            assert _document(on_dask) == _document(local)


def test_every_test_log_gives_the_local_result_or_the_same_error(
    scheduler: str, prices: Any
) -> None:
    """Every reader's fixture, read by a worker of the cluster."""
    compared = 0
    for log in TEST_LOGS:
        try:
            local = api.analyze(log, prices=prices, model="gpt-4o-mini")
        except InputError as error:
            with pytest.raises(InputError) as refused:
                api.analyze(
                    log, prices=prices, model="gpt-4o-mini", engine="dask", scheduler=scheduler
                )
            assert str(refused.value) == str(error)
            continue
        on_dask = api.analyze(
            log, prices=prices, model="gpt-4o-mini", engine="dask", scheduler=scheduler
        )
        assert _document(on_dask) == _document(local), log.name
        compared += 1
    assert compared >= 25


def test_all_example_logs_at_once_give_the_local_result(scheduler: str, prices: Any) -> None:
    local = api.analyze(EXAMPLE_LOGS, prices=prices)
    on_dask = api.analyze(EXAMPLE_LOGS, prices=prices, engine="dask", scheduler=scheduler)
    assert on_dask == local
    assert on_dask.records_read == local.records_read > 0


def _usage_line(index: int) -> str:
    return json.dumps(
        {
            "id": f"chatcmpl-{index}",
            "object": "chat.completion",
            "created": 1_790_812_800 + 37 * index,
            "model": "gpt-4o-mini-2024-07-18" if index % 3 else "gpt-4o-2024-08-06",
            "usage": {"prompt_tokens": 100 + index % 17, "completion_tokens": 20 + index % 5},
        }
    )


@pytest.fixture
def split_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A usage log of 3,000 lines, three of them broken, read in ranges (the split threshold
    lowered so that a small file is split)."""
    lines = [_usage_line(index) for index in range(3_000)]
    for broken in (4, 1_700, 2_950):
        lines[broken - 1] = '{"id": "cut off'
    path = tmp_path / "usage.jsonl"
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(partitions, "SPLIT_MIN_BYTES", 1_000)
    return path


def test_a_file_read_in_ranges_by_the_workers_keeps_line_numbers(
    scheduler: str, prices: Any, split_log: Path
) -> None:
    parts = partitions.plan_parts([str(split_log)], ReadOptions(), 2)
    assert parts is not None and len(parts) == 2
    on_dask = api.analyze(split_log, prices=prices, engine="dask", scheduler=scheduler)
    local = api.analyze(split_log, prices=prices)
    assert on_dask == local
    assert on_dask.records_read == 3_000
    assert on_dask.records_skipped == 3
    (skipped,) = [problem for problem in on_dask.problems if problem.kind == "skipped"]
    assert skipped.examples == (
        f"{split_log}:4",
        f"{split_log}:1700",
        f"{split_log}:2950",
    )


def test_the_local_engine_reads_ranges_in_processes_with_the_same_result(
    prices: Any, split_log: Path
) -> None:
    from costaudit.api.engine import analyze_partitioned
    from costaudit.core.pricing import ModelResolver

    tokenizer_for = ModelResolver(prices.table).tokenizer_for
    options = ReadOptions()
    serial = analyze_partitioned(
        [str(split_log)], options, prices.table, tokenizer_for, processes=1
    )
    in_processes = analyze_partitioned(
        [str(split_log)], options, prices.table, tokenizer_for, processes=2
    )
    assert in_processes == serial
    assert serial.records_skipped == 3


def _cli(*args: str) -> tuple[int, str, str]:
    from typer.testing import CliRunner

    from costaudit.cli.app import app

    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_the_cli_runs_analyze_on_the_cluster_with_the_local_report(scheduler: str) -> None:
    log = str(EXAMPLE_LOGS[0])
    code, local, _ = _cli("analyze", log, "-o", "json")
    assert code == 0
    code, on_dask, err = _cli(
        "analyze", log, "-o", "json", "--engine", "dask", "--scheduler", scheduler
    )
    assert code == 0, err
    assert on_dask == local
    assert "records" in err


def test_a_scheduler_without_the_dask_engine_is_a_usage_error() -> None:
    code, out, err = _cli("analyze", str(EXAMPLE_LOGS[0]), "--scheduler", "tcp://127.0.0.1:1")
    assert code == 2
    assert out == ""
    assert "--scheduler needs --engine dask" in err


def test_the_dask_engine_does_not_save_workloads(tmp_path: Path) -> None:
    code, out, err = _cli(
        "analyze",
        str(EXAMPLE_LOGS[0]),
        "--engine",
        "dask",
        "--save-workload",
        str(tmp_path / "w.parquet"),
    )
    assert code == 2
    assert out == ""
    assert "--save-workload" in err
    assert not (tmp_path / "w.parquet").exists()


def test_an_unreachable_scheduler_is_a_clear_input_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing listens on port 1 of the loopback: exit 3 naming --scheduler, no traceback."""
    from costaudit.api import dask_engine

    monkeypatch.setattr(dask_engine, "SCHEDULER_TIMEOUT", "2s")
    code, out, err = _cli(
        "analyze", str(EXAMPLE_LOGS[0]), "--engine", "dask", "--scheduler", "tcp://127.0.0.1:1"
    )
    assert code == 3, err
    assert out == ""
    assert "--scheduler" in err and "Traceback" not in err


def test_fsspec_urls_are_read_by_the_workers(
    scheduler: str, prices: Any, tmp_path: Path, split_log: Path
) -> None:
    """`file://` URLs (fsspec's local protocol: no network) of a file, a glob and a directory
    give the local figures; skipped lines are named by their URL."""
    copy = tmp_path / "logs"
    copy.mkdir()
    (copy / "usage.jsonl").write_bytes(split_log.read_bytes())
    local = api.analyze(split_log, prices=prices)
    for url in (f"file://{copy}/usage.jsonl", f"file://{copy}/*.jsonl", f"file://{copy}"):
        on_dask = api.analyze(url, prices=prices, engine="dask", scheduler=scheduler)
        assert on_dask.total_cost == local.total_cost
        assert on_dask.models == local.models
        assert on_dask.input_tokens == local.input_tokens
        assert on_dask.window == local.window
        (skipped,) = [p for p in on_dask.problems if p.kind == "skipped"]
        assert skipped.examples[0] == f"file://{copy}/usage.jsonl:4"


def test_a_url_that_names_no_file_is_an_input_error(scheduler: str, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        api.analyze(f"file://{tmp_path}/missing.jsonl", engine="dask", scheduler=scheduler)
