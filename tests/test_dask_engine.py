"""`--engine dask`: the same parts read by the workers of a two-process LocalCluster, and the same
analysis, byte for byte, as the local engine, on every example log and on a file split into ranges
(whose skipped lines keep their line numbers)."""

from __future__ import annotations

import json
import re
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
    from costaudit.api.dask_engine import local_worker_environment

    with (
        local_worker_environment(),
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # a free port: the test processes may each start a cluster
            host="127.0.0.1",
        ) as cluster,
    ):
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


def _message_line(index: int) -> str:
    """An Anthropic Messages API response with request metadata: read the record way."""
    return json.dumps(
        {
            "timestamp": f"2026-09-01T{index // 3600 % 24:02d}:{index // 60 % 60:02d}:{index % 60:02d}Z",
            "metadata": {"feature": ("chat", "search", "summaries")[index % 3]},
            "response": {
                "id": f"msg_{index}",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-5" if index % 4 else "claude-haiku-4-5",
                "content": [{"type": "text", "text": "done"}],
                "usage": {"input_tokens": 900 + index % 13, "output_tokens": 40 + index % 7},
            },
        }
    )


def test_the_local_engine_reads_ranges_in_processes_with_the_same_result(
    prices: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file read the record way is split into ranges read by worker processes, and the report is
    the one a single process makes, broken lines (and their line numbers) included."""
    from costaudit.api.engine import analyze_partitioned
    from costaudit.core.pricing import ModelResolver

    lines = [_message_line(index) for index in range(3_000)]
    for broken in (4, 1_700, 2_950):
        lines[broken - 1] = '{"id": "cut off'
    log = tmp_path / "messages.jsonl"
    log.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(partitions, "RECORD_WAY_SPLIT_MIN_BYTES", 1_000)
    assert len(partitions.plan_parts([str(log)], ReadOptions(), 2, columnar_too=False) or []) == 2
    tokenizer_for = ModelResolver(prices.table).tokenizer_for
    options = ReadOptions(group_fields=("feature",))
    serial = analyze_partitioned(
        [str(log)], options, prices.table, tokenizer_for, group_by=["feature"], processes=1
    )
    in_processes = analyze_partitioned(
        [str(log)], options, prices.table, tokenizer_for, group_by=["feature"], processes=2
    )
    assert in_processes == serial
    assert serial.records_skipped == 3
    assert serial.records_priced == 2_997
    (skipped,) = [problem for problem in serial.problems if problem.kind == "skipped"]
    assert skipped.examples == (f"{log}:4", f"{log}:1700", f"{log}:2950")


def test_analyze_splits_a_large_record_way_log_and_reports_what_one_process_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the API, as the command line calls it: the same report, byte for byte."""
    lines = [_message_line(index) for index in range(2_000)]
    log = tmp_path / "messages.jsonl"
    log.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(partitions, "RECORD_WAY_SPLIT_MIN_BYTES", 1_000)
    planned: list[int] = []
    plan = partitions.plan_parts

    def counted(*args: Any, **kwargs: Any) -> Any:
        parts = plan(*args, **kwargs)
        planned.append(len(parts or []))
        return parts

    monkeypatch.setattr("costaudit.api.engine.plan_parts", counted)
    code, split_out, _ = _cli("analyze", str(log), "-o", "json", "--group-by", "feature")
    monkeypatch.setattr(partitions, "RECORD_WAY_SPLIT_MIN_BYTES", 1 << 40)
    code_whole, whole_out, _ = _cli("analyze", str(log), "-o", "json", "--group-by", "feature")
    assert code == code_whole == 0
    assert planned[0] >= 2 and planned[1] == 0
    assert split_out == whole_out


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


# Simulate and check on the cluster: every scenario computed by a worker, the local report byte for byte.

EXAMPLE_SCENARIOS = sorted((REPO / "examples" / "scenarios").glob("*.yaml"))
CI_SCENARIO = REPO / "examples" / "ci" / "costaudit.yaml"
CI_BASELINE = REPO / "examples" / "ci" / "costaudit-baseline.json"
EVERY_STRATEGY = """
workload:
  logs: [{log}]
  model: gpt-4o-mini
samples: 10
scenarios:
  - name: as logged
  - name: tiered
    routing: {{tiers: [{{model: gpt-4o-mini, share: 0.5}}, {{model: gpt-4o}}]}}
  - name: cascade
    routing:
      mode: cascade
      escalation_rate: [0.1, 0.3]
      tiers: [{{model: gpt-4o-mini, share: 1}}, {{model: gpt-4o}}]
  - name: response cache
    response_cache: {{ttl: 1h, near_duplicate_rate: 0.1, lookup_usd_per_1k: 0.02}}
  - name: prompt cache
    prompt_cache: {{shared_prefix_tokens: 256}}
  - name: half batched
    batching: {{share: 0.5}}
  - name: self-hosted
    hosting: {{model: llama-3.1-8b, gpu: h100, precision: fp8}}
"""


def _simulation_bytes(result: Any) -> tuple[str, str]:
    from costaudit.render.simulation import simulation_document, simulation_markdown

    return dumps(simulation_document(result)), simulation_markdown(result)


def _check_bytes(decided: Any) -> tuple[str, str]:
    from costaudit.render.check import check_document, check_markdown

    return dumps(check_document(decided)), check_markdown(decided)


@pytest.mark.parametrize(
    "path", [*EXAMPLE_SCENARIOS, CI_SCENARIO], ids=lambda path: path.relative_to(REPO).as_posix()
)
def test_every_example_scenario_file_simulates_to_the_local_report(
    scheduler: str, prices: Any, path: Path
) -> None:
    """The workload is read once and simulated by both engines (reading is the same code in both)."""
    loaded = api.load_scenario(path, prices=prices, allow_paths=[REPO / "examples" / "logs"])
    built = api.scenario_workload(loaded, prices=prices)
    local = api.simulate(loaded, prices=prices, workload=built)
    on_dask = api.simulate(
        loaded, prices=prices, workload=built, engine="dask", scheduler=scheduler
    )
    assert _simulation_bytes(on_dask) == _simulation_bytes(local)


def test_the_example_scenario_files_are_all_compared() -> None:
    assert [path.name for path in EXAMPLE_SCENARIOS] == [
        "app-logs.yaml",
        "design-card.yaml",
        "dynamic-batching.yaml",
    ]


def test_the_ci_example_checks_to_the_local_verdict(scheduler: str, prices: Any) -> None:
    """The same verdict, and check's `report` told of the scenarios as simulate's is on each engine:
    each as it begins here, how many are done on the cluster."""
    loaded = api.load_scenario(CI_SCENARIO, prices=prices)
    built = api.scenario_workload(loaded, prices=prices, group_by=["feature"])
    said: dict[str, list[str]] = {"local": [], "dask": []}
    local = api.check(
        loaded, CI_BASELINE, prices=prices, workload=built, report=said["local"].append
    )
    on_dask = api.check(
        loaded,
        CI_BASELINE,
        prices=prices,
        workload=built,
        report=said["dask"].append,
        engine="dask",
        scheduler=scheduler,
    )
    assert local.passed
    assert _check_bytes(on_dask) == _check_bytes(local)
    assert said["local"] == [
        f"scenario {number}/3: {scenario.name}"
        for number, scenario in enumerate(loaded.config.scenarios, start=1)
    ]
    counted = re.compile(r"([0-3])/3 scenarios done on the cluster(, (\d+)/(\d+) replay parts)?")
    matches = [counted.fullmatch(line) for line in said["dask"]]
    assert all(matches), said["dask"]
    last = matches[-1]
    assert last is not None and last[1] == "3" and last[3] == last[4]


def test_every_test_log_simulates_and_checks_to_the_local_report_or_the_same_error(
    scheduler: str, prices: Any, tmp_path: Path
) -> None:
    """Each reader's fixture under every strategy (a range, so Monte Carlo draws too), simulated
    with a forecast; every fifth one also checked against a baseline written by the local engine."""
    compared = 0
    for index, log in enumerate(TEST_LOGS):
        path = tmp_path / f"scenarios-{index}.yaml"
        path.write_text(EVERY_STRATEGY.format(log=json.dumps(str(log))))
        loaded = api.load_scenario(path, prices=prices, allow_paths=[log.parent])
        try:
            built = api.scenario_workload(loaded, prices=prices)
            local = api.simulate(loaded, prices=prices, workload=built, months=3)
        except InputError as error:
            with pytest.raises(InputError) as refused:
                api.simulate(loaded, prices=prices, engine="dask", scheduler=scheduler, months=3)
            assert str(refused.value) == str(error), log.name
            continue
        on_dask = api.simulate(
            loaded, prices=prices, workload=built, months=3, engine="dask", scheduler=scheduler
        )
        assert _simulation_bytes(on_dask) == _simulation_bytes(local), log.name
        compared += 1
        if index % 5:
            continue  # checks on a fifth of the logs keep the test short
        baseline = tmp_path / f"baseline-{index}.json"
        api.update_baseline(loaded, baseline, prices=prices, workload=built)
        checked = {
            engine: api.check(
                loaded,
                baseline,
                prices=prices,
                workload=built,
                max_increase_pct=5,
                engine=engine,
                scheduler=scheduler if engine == "dask" else None,
            )
            for engine in ("local", "dask")
        }
        assert _check_bytes(checked["dask"]) == _check_bytes(checked["local"]), log.name
    assert compared >= 25


def test_a_scenario_error_met_by_a_worker_is_the_local_input_error(
    scheduler: str, prices: Any, tmp_path: Path
) -> None:
    """A token-count trace has no prompts: prompt caching without `shared_prefix_tokens` is
    refused, naming the scenario file and field, whichever engine meets it."""
    path = tmp_path / "no-prefix.yaml"
    log = json.dumps(str(REPO / "tests" / "data" / "logs" / "azure_trace.csv"))
    path.write_text(
        f"workload: {{logs: [{log}], model: gpt-4o-mini}}\nscenarios:\n  - name: plain\n"
        "  - name: cached\n    prompt_cache: {}\n"
    )
    loaded = api.load_scenario(path, prices=prices, allow_paths=[REPO / "tests"])
    with pytest.raises(InputError) as local:
        api.simulate(loaded, prices=prices)
    with pytest.raises(InputError) as on_dask:
        api.simulate(loaded, prices=prices, engine="dask", scheduler=scheduler)
    assert str(on_dask.value) == str(local.value)
    assert "shared_prefix_tokens" in str(local.value) and str(path) in str(local.value)


def test_a_worker_thread_at_the_default_precision_computes_money_at_full_precision(
    prices: Any,
) -> None:
    """A worker thread whose decimal context was left at Python's default 28 digits (by an earlier
    task of another library) still computes a scenario at costaudit's precision."""
    import decimal
    import threading

    from costaudit.api.dask_scenarios import pack_workload, scenario_in_worker

    loaded = api.load_scenario(EXAMPLE_SCENARIOS[1], prices=prices)
    built = api.scenario_workload(loaded, prices=prices)
    scenario = loaded.config.scenarios[1]
    packed = pack_workload(built.workload)
    local = scenario_in_worker("here", packed, scenario, prices.table, loaded.config, ())
    in_thread: list[Any] = []

    def worker() -> None:
        decimal.setcontext(decimal.Context(prec=28))
        run = scenario_in_worker("there", packed, scenario, prices.table, loaded.config, ())
        in_thread.append(run)
        in_thread.append(decimal.getcontext().prec)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert in_thread[1] == 60
    assert in_thread[0] == local


def test_the_cli_simulates_and_checks_on_the_cluster_with_the_local_reports(
    scheduler: str, tmp_path: Path
) -> None:
    """Reports, the baseline file --update-baseline writes, and the check report against it."""
    log = REPO / "tests" / "data" / "logs" / "openai_chat.jsonl"
    scenario = tmp_path / "scenarios.yaml"
    scenario.write_text(EVERY_STRATEGY.format(log=json.dumps(str(log))))
    common = ("-s", str(scenario), "--allow-path", str(log.parent))
    on_cluster = ("--engine", "dask", "--scheduler", scheduler)
    baseline = str(tmp_path / "baseline.json")
    said: dict[str, list[str]] = {"local": [], "dask": []}
    for engine, where in (("local", ()), ("dask", on_cluster)):
        for command in (
            ("simulate", "-o", "json"),
            ("simulate", "-o", "markdown"),
            ("check", "-b", baseline, "--update-baseline"),
            ("check", "-b", baseline, "--max-increase", "5%", "-o", "markdown"),
        ):
            code, out, err = _cli(*command, *common, *where)
            assert code == 0, err
            said[engine].append(out)
        said[engine].append(Path(baseline).read_text())
    assert said["dask"] == said["local"]


@pytest.mark.parametrize("command", ["simulate", "check"])
def test_simulate_and_check_name_the_dask_extra_when_it_is_missing(
    command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the extra installed: one line naming it, exit 3 (as analyze), before reading."""
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)
    code, out, err = (
        _cli(command, "-s", str(CI_SCENARIO), "-b", str(CI_BASELINE), "--engine", "dask")
        if command == "check"
        else _cli(command, "-s", str(CI_SCENARIO), "--engine", "dask")
    )
    assert code == 3, err
    assert out == ""
    assert "pip install 'costaudit[dask]'" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["simulate", "check"])
def test_simulate_and_check_report_an_unreachable_scheduler(
    command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from costaudit.api import dask_engine

    monkeypatch.setattr(dask_engine, "SCHEDULER_TIMEOUT", "2s")
    extra = ("-b", str(CI_BASELINE)) if command == "check" else ()
    code, out, err = _cli(
        command, "-s", str(CI_SCENARIO), *extra, "--engine", "dask", "--scheduler",
        "tcp://127.0.0.1:1",
    )  # fmt: skip
    assert code == 3, err
    assert out == ""
    assert "--scheduler" in err and "cannot reach" in err and "Traceback" not in err


@pytest.mark.parametrize("command", ["simulate", "check"])
def test_a_scheduler_without_the_dask_engine_is_a_usage_error_for(command: str) -> None:
    extra = ("-b", str(CI_BASELINE)) if command == "check" else ()
    code, out, err = _cli(command, "-s", str(CI_SCENARIO), *extra, "--scheduler", "tcp://x:1")
    assert code == 2
    assert out == ""
    assert "--scheduler needs --engine dask" in err


# Cache replays fanned out from the scenario tasks: parts of whole cache scopes, the local report.

CACHES = """
workload:
  logs: [{logs}]
samples: 10
scenarios:
  - name: as logged
  - name: response cache
    response_cache: {{ttl: 1h, near_duplicate_rate: [0.05, 0.15], lookup_usd_per_1k: 0.02}}
  - name: prompt cache
    prompt_cache: {{ttl: 5m}}
  - name: both caches
    response_cache: {{ttl: 10m}}
    prompt_cache: {{breakpoints: automatic, ttl: 1h, min_prefix_tokens: 256}}
"""


class _CountingMap:
    """The sequential map, counting the parts."""

    def __init__(self) -> None:
        self.parts = 0

    def __call__(self, function: Any, parts: Any) -> list[Any]:
        self.parts += len(parts)
        return [function(part) for part in parts]


def _replay_parts_here(loaded: Any, built: Any, prices: Any) -> int:
    """How many replay parts the file's scenarios make here with parts of at least 300 (what the
    cluster run must report)."""
    from costaudit.core.parts import Fanout
    from costaudit.core.simulate.engine import scenario_run

    counting = _CountingMap()
    for scenario in loaded.config.scenarios:
        scenario_run(
            built.workload, scenario, prices.table, loaded.config, (), fanout=Fanout(counting, 300)
        )
    return counting.parts


def _simulated_on_dask(
    loaded: Any, built: Any, prices: Any, scheduler: str
) -> tuple[Any, list[str]]:
    """The file simulated on the cluster, and the lines its `report` was told."""
    said: list[str] = []
    result = api.simulate(
        loaded,
        prices=prices,
        workload=built,
        engine="dask",
        scheduler=scheduler,
        report=said.append,
    )
    return result, said


def test_cache_replays_fan_out_over_the_cluster_with_the_local_report(
    scheduler: str, prices: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The example logs' requests (several models: several prompt-cache scopes; prompts: response-cache
    keys) under both caches, with parts small enough that every replay is split: as many parts as
    the same replays split here, each a task of its own, and the local report byte for byte; the
    report callback is told the parts' progress."""
    from costaudit.core import parts

    monkeypatch.setattr(parts, "MIN_PART_SIZE", 300)
    path = tmp_path / "caches.yaml"
    path.write_text(CACHES.format(logs=json.dumps(str(REPO / "examples" / "logs"))))
    loaded = api.load_scenario(path, prices=prices, allow_paths=[REPO / "examples" / "logs"])
    built = api.scenario_workload(loaded, prices=prices)
    part_count = _replay_parts_here(loaded, built, prices)
    assert part_count > 20
    local = api.simulate(loaded, prices=prices, workload=built)
    on_dask, said = _simulated_on_dask(loaded, built, prices, scheduler)
    assert _simulation_bytes(on_dask) == _simulation_bytes(local)
    assert said[-1] == f"4/4 scenarios done on the cluster, {part_count}/{part_count} replay parts"
    assert all("scenarios done on the cluster" in line for line in said)


BREAKPOINTS = """
workload:
  synthetic:
    days: 2
    seed: 11
    streams:
      - model: claude-sonnet-4-5
        requests_per_day: 1500
        input_tokens: {mean: 600, distribution: lognormal, sigma: 0.4}
        output_tokens: 100
        system_prompt: {file: tools.txt}
      - model: claude-haiku-4-5
        requests_per_day: 900
        input_tokens: 300
        output_tokens: 50
        system_prompt: {file: support.txt}
        arrival: {pattern: diurnal, peak_to_average: 3}
      - {model: claude-opus-4-1, requests_per_day: 60, input_tokens: 4000, output_tokens: 200}
scenarios:
  - name: as logged
  - name: shared prefixes
    prompt_cache: {}
  - name: whole prompts, one hour
    prompt_cache: {breakpoints: end_of_prompt, preset: anthropic-1h}
"""


def test_breakpoint_replays_fan_out_over_the_cluster_with_the_local_report(
    scheduler: str, prices: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anthropic traffic on three models (three cache scopes) under explicit-breakpoint caching,
    with parts small enough that every breakpoint replay is split: each part a task of its own, and
    the local report byte for byte."""
    from costaudit.core import parts

    monkeypatch.setattr(parts, "MIN_PART_SIZE", 300)
    path = tmp_path / "breakpoints.yaml"
    path.write_text(BREAKPOINTS)
    for name, words in (("tools.txt", 2500), ("support.txt", 1500)):
        (tmp_path / name).write_text(" ".join(f"{name[0]}{index}" for index in range(words)))
    loaded = api.load_scenario(path, prices=prices)
    built = api.scenario_workload(loaded, prices=prices)
    part_count = _replay_parts_here(loaded, built, prices)
    assert part_count >= 6
    local = api.simulate(loaded, prices=prices, workload=built)
    cached = local.scenarios[1].details.prompt_cache
    assert cached is not None and cached.rules[0].breakpoints == "shared_prefixes"
    assert cached.hit_rate.central > 0
    on_dask, said = _simulated_on_dask(loaded, built, prices, scheduler)
    assert _simulation_bytes(on_dask) == _simulation_bytes(local)
    assert said[-1] == f"3/3 scenarios done on the cluster, {part_count}/{part_count} replay parts"


def test_a_replay_part_runs_as_a_task_of_the_cluster(scheduler: str) -> None:
    """The map a scenario task uses: one task per part, the results in the parts' order, and
    outside a worker no map at all (the replay then runs whole where it is)."""
    from costaudit.api.dask_scenarios import PROGRESS_TOPIC, _cluster_map

    def in_worker() -> tuple[list[int], int]:
        mapper = _cluster_map("test-run")
        assert mapper is not None
        return mapper(abs, [-3, 1, -2]), mapper.parts

    with distributed.Client(scheduler) as client:
        results, count = client.submit(in_worker, pure=False).result()
        events = [message for _, message in client.get_events(PROGRESS_TOPIC)]
    assert results == [3, 1, 2]
    assert count == 3
    assert ("test-run", "submitted", 3) in events
    assert events.count(("test-run", "done", 1)) == 3
    assert _cluster_map("here") is None
