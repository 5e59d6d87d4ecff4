"""costaudit's Python API: everything the command line does, as functions that return typed results.

```python
import costaudit

prices = costaudit.load_prices()                      # the packaged, dated and sourced price table
analysis = costaudit.analyze("logs/", prices=prices, group_by=["feature"])
print(analysis.total_cost, analysis.monthly_cost)     # exact Decimals
result = costaudit.simulate("scenarios.yaml", prices=prices)
verdict = costaudit.check("costaudit.yaml", "costaudit-baseline.json", max_increase_pct=5)
```

Each CLI command parses its options, calls one or two of these functions and renders the result, so
a notebook, a batch job and the CLI reach the same code. Results are frozen dataclasses whose fields
are what the JSON documents carry (render them with `costaudit.render`, or read the fields).
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from costaudit.core.request_table import RequestTable
from costaudit.errors import InputError
from costaudit.ingest import reader
from costaudit.ingest.reader import Logs
from costaudit.pricetable import layers
from costaudit.pricetable.layers import LoadedPrices

if TYPE_CHECKING:
    import pandas as pd

    from costaudit.api.checking import BaselineUpdate, CheckRun
    from costaudit.api.scenarios import LoadedScenario, LoadedWorkload
    from costaudit.core.analysis import Analysis, IngestFacts
    from costaudit.core.regress import Thresholds, Verdict
    from costaudit.core.router_fit import FitOutcome
    from costaudit.core.simulate.engine import RunScenarios, SimulationResult

PathLike = str | os.PathLike[str]
LogInputs = PathLike | Sequence[PathLike]
"""Log files, directories, glob patterns, or `-` for standard input."""
Progress = Callable[[int], None]
"""Called with the number of records read so far."""
DEFAULT_GROUP_VALUES = 25
"""Without `group_by`, `check` records the cost of every grouping field with at most this many values
(feature, team, stream; not user ids), so it can name the groups whose cost moved."""
PREFIX_BLOCK_TOKENS = 64
"""Granularity of the prompt hashes kept for prompt-cache replay (every provider's cache
granularity is a multiple)."""

__all__ = [
    "Analysis",
    "BaselineUpdate",
    "FitOutcome",
    "LoadedPrices",
    "LoadedScenario",
    "LoadedWorkload",
    "Logs",
    "RequestTable",
    "SimulationResult",
    "Thresholds",
    "UnknownGroupKey",
    "Verdict",
    "analyze",
    "check",
    "dask_cluster",
    "fit_router",
    "load_prices",
    "load_scenario",
    "load_workload",
    "read_logs",
    "save_workload",
    "scenario_workload",
    "simulate",
    "update_baseline",
]


def load_prices(paths: PathLike | Sequence[PathLike] | None = None) -> LoadedPrices:
    """The price tables to use, layered in order (a later file overrides entries of earlier ones).

    None means `$COSTAUDIT_PRICING` if set, else the packaged table. Bad files raise `InputError`
    naming the file and field.
    """
    return layers.load_prices(_paths(paths) if paths is not None else None)


def mappable_columns(group_by: Sequence[str] = ()) -> tuple[str, ...]:
    """The columns `read_logs(mapping=...)` can map onto a generic log's fields (plus any
    `quality:<model>` label column)."""
    from costaudit.ingest.formats.generic import CANONICAL_FIELDS, DEFAULT_GROUP_FIELDS

    return (*CANONICAL_FIELDS, *DEFAULT_GROUP_FIELDS, *group_by)


def fit_router(
    logs: LogInputs,
    *,
    prices: LoadedPrices | None = None,
    log_format: str | None = None,
    mapping: Mapping[str, str] | None = None,
    model: str | None = None,
    strict: bool = False,
    weak: str | None = None,
    strong: str | None = None,
    label_scale: tuple[float, float] | None = None,
    folds: int = 10,
    seed: int = 7,
) -> FitOutcome:
    """Fit a router on logs whose requests carry per-model quality labels (`quality:<model>`):
    k-fold cross-validation, out-of-fold APGR/CPT next to the built-in score, prompt length, random
    and oracle. `weak`/`strong` name the label columns (default: the only two); `label_scale` maps
    judge scores (e.g. (1, 10)) to [0, 1]. Save the result with `costaudit.api.routers.save_scorer`."""
    from costaudit.api.routers import fit_from_logs

    options = reader.ReadOptions(
        format=log_format, mapping=dict(mapping or {}), default_model=model, strict=strict
    )
    return fit_from_logs(
        _specs(logs),
        options,
        (prices or load_prices()).table,
        weak=weak,
        strong=strong,
        scale=label_scale,
        folds=folds,
        seed=seed,
    )


def read_logs(
    logs: LogInputs,
    *,
    prices: LoadedPrices | None = None,
    log_format: str | None = None,
    mapping: Mapping[str, str] | None = None,
    model: str | None = None,
    group_by: Sequence[str] = (),
    strict: bool = False,
    prompt_hashes: bool = False,
    progress: Progress | None = None,
) -> Logs:
    """Read logs of any supported format into the request table, counting what was skipped and why.

    `log_format` forces a format (detected per file otherwise); `mapping` maps canonical columns to
    dotted paths of a generic log; `model` prices records that name no model; `group_by` keeps those
    grouping fields; `strict` makes the first bad record an error; `prompt_hashes` keeps chained
    prefix-block hashes of prompt text (for prompt-cache replay from a saved workload).
    """
    from costaudit.core.pricing import ModelResolver

    options = reader.ReadOptions(
        format=log_format,
        mapping=dict(mapping or {}),
        default_model=model,
        group_fields=tuple(group_by),
        strict=strict,
        prefix_block_tokens=PREFIX_BLOCK_TOKENS if prompt_hashes else None,
    )
    resolver = ModelResolver((prices or load_prices()).table)
    return reader.read_logs(_specs(logs), options, resolver.tokenizer_for, progress=progress)


def analyze(
    logs: Logs | RequestTable | pd.DataFrame | LogInputs,
    *,
    prices: LoadedPrices | None = None,
    group_by: Sequence[str] = (),
    days: Decimal | int | None = None,
    log_format: str | None = None,
    mapping: Mapping[str, str] | None = None,
    model: str | None = None,
    strict: bool = False,
    progress: Progress | None = None,
    timeline: bool = True,
    engine: str = "local",
    scheduler: str | None = None,
    save_workload: PathLike | None = None,
) -> Analysis:
    """Price every request and describe the traffic: totals, monthly cost, per model and group,
    token percentiles, complexity distribution and problems (and, unless `timeline=False`, the cost
    per day or hour, which takes one more pricing pass).

    `logs` is what `read_logs` returned, a request table, a DataFrame with the canonical column names,
    or log paths (read with the reading options given here). The monthly figure scales the cost of the
    window the bulk of the timestamps span (or `days`) to a 30-day month; there is none for a window
    under an hour without `days`. `group_by` takes model, provider, source, hour, day, week and any
    grouping field of the logs; another key raises `UnknownGroupKey` (a ValueError naming the
    available keys).

    Log paths are read partition by partition into partial results that merge exactly, so memory
    does not grow with the size of the logs; large JSON-lines files are read on every core.
    `engine="dask"` reads them on a Dask cluster instead (`scheduler` its address, else a local
    cluster started for the run; needs the `dask` extra), with the same result. `save_workload`
    also writes the request table read from log paths (no prompt text) to that Parquet file, for
    `simulate --workload`, partition by partition.
    """
    prices = prices or load_prices()
    _known_engine(engine)
    if isinstance(logs, str | os.PathLike | Sequence):
        if engine == "dask" and save_workload is not None:
            raise InputError("--save-workload", "a workload is written by --engine local")
        if engine == "dask":
            return _analyze_on_dask(
                _specs(logs),
                prices,
                scheduler=scheduler,
                group_by=group_by,
                days=Decimal(days) if days is not None else None,
                options=reader.ReadOptions(
                    format=log_format,
                    mapping=dict(mapping or {}),
                    default_model=model,
                    group_fields=tuple(group_by),
                    strict=strict,
                ),
                progress=progress,
                timeline=timeline,
            )
        return _analyze_partitioned(
            _specs(logs),
            prices,
            group_by=group_by,
            days=Decimal(days) if days is not None else None,
            log_format=log_format,
            mapping=mapping,
            model=model,
            strict=strict,
            progress=progress,
            timeline=timeline,
            save_workload=Path(save_workload) if save_workload is not None else None,
        )
    from costaudit.core.analysis import analyze as analyze_table

    requests, facts = _table_and_facts(logs)
    result = analyze_table(
        requests,
        prices.table,
        facts,
        group_by=group_by,
        days=Decimal(days) if days is not None else None,
        timeline=timeline,
    )
    if save_workload is not None:
        _write_workload(logs if isinstance(logs, Logs) else requests, save_workload)
    return replace(result, pricing=prices.info())


def _analyze_partitioned(
    specs: list[str],
    prices: LoadedPrices,
    *,
    group_by: Sequence[str],
    days: Decimal | None,
    log_format: str | None,
    mapping: Mapping[str, str] | None,
    model: str | None,
    strict: bool,
    progress: Progress | None,
    timeline: bool,
    save_workload: Path | None = None,
) -> Analysis:
    """Logs read and analyzed partition by partition: memory does not grow with their size."""
    from costaudit.api.engine import analyze_partitioned
    from costaudit.core.pricing import ModelResolver
    from costaudit.ingest.partitions import worker_count

    options = reader.ReadOptions(
        format=log_format,
        mapping=dict(mapping or {}),
        default_model=model,
        group_fields=tuple(group_by),
        strict=strict,
        prefix_block_tokens=PREFIX_BLOCK_TOKENS if save_workload is not None else None,
    )
    result = analyze_partitioned(
        specs,
        options,
        prices.table,
        ModelResolver(prices.table).tokenizer_for,
        group_by=group_by,
        days=days,
        timeline=timeline,
        progress=progress,
        processes=worker_count(),
        save_workload=save_workload,
    )
    return replace(result, pricing=prices.info())


def _analyze_on_dask(
    specs: list[str],
    prices: LoadedPrices,
    *,
    scheduler: str | None,
    group_by: Sequence[str],
    days: Decimal | None,
    options: reader.ReadOptions,
    progress: Progress | None,
    timeline: bool,
) -> Analysis:
    from costaudit.api.dask_engine import analyze_on_dask

    result = analyze_on_dask(
        specs,
        options,
        prices.table,
        scheduler=scheduler,
        group_by=group_by,
        days=days,
        timeline=timeline,
        progress=progress,
    )
    return replace(result, pricing=prices.info())


def load_scenario(
    path: PathLike,
    *,
    prices: LoadedPrices | None = None,
    seed: int | None = None,
    allow_paths: Sequence[PathLike] = (),
) -> LoadedScenario:
    """A validated scenario file whose model, hardware and cache-rule names all exist in `prices`;
    `seed` overrides the file's random seed. Files the scenario names (prompts, logs, saved
    workloads, scorers) must lie under its directory or one of `allow_paths`."""
    from costaudit.api.scenarios import load_scenario as validated_scenario

    loaded = validated_scenario(
        Path(path), (prices or load_prices()).table, [Path(item) for item in allow_paths]
    )
    if seed is None:
        return loaded
    return replace(loaded, config=loaded.config.model_copy(update={"seed": seed}))


def scenario_workload(
    scenario: LoadedScenario,
    *,
    prices: LoadedPrices | None = None,
    logs: LogInputs | None = None,
    workload: PathLike | LoadedWorkload | None = None,
    group_by: Sequence[str] = (),
    progress: Progress | None = None,
) -> LoadedWorkload:
    """The traffic a scenario runs on: `logs` or a saved `workload` win over the file's own source.

    `group_by` names grouping fields to keep from logs beyond those every reader keeps (user,
    feature, tags, team, metadata keys)."""
    from costaudit.api.scenarios import LoadedWorkload, build_workload

    if isinstance(workload, LoadedWorkload):
        return workload
    return build_workload(
        scenario,
        (prices or load_prices()).table,
        logs=_specs(logs) if logs is not None else None,
        saved=Path(workload) if workload is not None else None,
        progress=progress,
        group_by=group_by,
    )


def simulate(
    scenario: PathLike | LoadedScenario,
    *,
    prices: LoadedPrices | None = None,
    logs: LogInputs | None = None,
    workload: PathLike | LoadedWorkload | None = None,
    seed: int | None = None,
    group_by: Sequence[str] = (),
    months: int | None = None,
    progress: Progress | None = None,
    report: Callable[[str], None] | None = None,
    engine: str = "local",
    scheduler: str | None = None,
) -> SimulationResult:
    """Every scenario of a scenario file: its monthly cost and savings against the baseline, broken
    down by model and by each `group_by` field (feature, user, tags, provider, …).

    The traffic is the file's own workload unless `logs` or a saved `workload` (a Parquet file, or
    what `scenario_workload` returned) is given. `months` adds a month-by-month forecast with the
    workload's declared or fitted growth, and each scenario's cumulative saving. `progress` is told
    how many records were read; `report` which scenario is being computed (`scenario 2/3: batched`)
    and what long work inside it (a serving replay) is doing, or on Dask how many scenarios and
    cache-replay parts are done. Its lines quote scenario names as written: escape them for the
    output they go to.

    `engine="dask"` computes each scenario on a worker of a Dask cluster (`scheduler` its address,
    else a local cluster started for the run; needs the `dask` extra), its cache replays split into
    parts of whole cache scopes that run as tasks of the cluster, with the same result; the workload
    is read here and sent to the cluster once.
    """
    from costaudit.api.scenarios import check_group_by, simulate_loaded

    prices = prices or load_prices()
    loaded = _loaded(scenario, prices, seed)
    with _scenario_runs(engine, scheduler, report) as run_all:
        built = scenario_workload(
            loaded,
            prices=prices,
            logs=logs,
            workload=workload,
            group_by=group_by,
            progress=progress,
        )
        check_group_by(built, group_by, "--group-by")
        if months is not None and months < 1:
            raise InputError("--months", "give a number of months of at least 1")
        result = simulate_loaded(loaded, built, prices.table, group_by, months, report, run_all)
    return replace(result, pricing=prices.info())


def dask_cluster(scheduler: str | None = None) -> contextlib.AbstractContextManager[str]:
    """The address of a Dask cluster for several runs (`engine="dask", scheduler=address`):
    `scheduler` once it answers, or a local cluster of worker processes started for the block.
    Needs the `dask` extra."""
    from costaudit.api.dask_scenarios import cluster_address

    return cluster_address(scheduler)


def _scenario_runs(
    engine: str, scheduler: str | None, report: Callable[[str], None] | None
) -> contextlib.AbstractContextManager[RunScenarios | None]:
    """Where scenarios are computed: here (None), or on a Dask cluster for the block."""
    _known_engine(engine)
    if engine == "local":
        return contextlib.nullcontext()
    from costaudit.api.dask_scenarios import cluster_runs

    return cluster_runs(scheduler, report)


def _known_engine(engine: str) -> None:
    if engine not in {"local", "dask"}:
        raise InputError("--engine", f"unknown engine `{engine}` (known: local, dask)")


def check(
    scenario: PathLike | LoadedScenario,
    baseline: PathLike,
    *,
    prices: LoadedPrices | None = None,
    logs: LogInputs | None = None,
    workload: PathLike | LoadedWorkload | None = None,
    max_increase_pct: Decimal | int | None = None,
    max_increase_usd: Decimal | int | None = None,
    budget_usd: Decimal | int | None = None,
    only: Sequence[str] | None = None,
    group_by: Sequence[str] = (),
    progress: Progress | None = None,
    report: Callable[[str], None] | None = None,
    engine: str = "local",
    scheduler: str | None = None,
) -> Verdict:
    """Recompute the scenario file and compare each scenario's monthly cost with the baseline file.

    A scenario fails when it grew more than `max_increase_pct` percent or `max_increase_usd` dollars,
    is above `budget_usd`, or leaves more requests unpriced than the baseline; the scenario file's
    `check:` section adds limits per scenario and per group (the arguments here replace its defaults).
    `verdict.passed` says whether all passed. Each change is attributed to what changed since the
    baseline (prices, traffic, prompts, the scenario file), with the models and groups (`group_by`
    and the file's `check.group_by`) whose cost moved most. `progress`, `report`, `engine` and
    `scheduler` are as for `simulate` (`report` is told of the scenario runs, on either engine).
    """
    from costaudit.api.checking import verdict
    from costaudit.core.regress import Thresholds, limits_from

    prices = prices or load_prices()
    loaded = _loaded(scenario, prices, None)
    watch, where = _Watch(progress, report), _Engine(engine, scheduler)
    run = _check_run(loaded, prices, logs, workload, only, group_by, watch, where)
    command_line = Thresholds(
        max_increase_pct=_decimal(max_increase_pct),
        max_increase_usd=_decimal(max_increase_usd),
        budget_usd=_decimal(budget_usd),
    )
    return verdict(run, Path(baseline), limits_from(loaded.config.check, command_line))


def update_baseline(
    scenario: PathLike | LoadedScenario,
    baseline: PathLike,
    *,
    prices: LoadedPrices | None = None,
    logs: LogInputs | None = None,
    workload: PathLike | LoadedWorkload | None = None,
    only: Sequence[str] | None = None,
    group_by: Sequence[str] = (),
    progress: Progress | None = None,
    report: Callable[[str], None] | None = None,
    engine: str = "local",
    scheduler: str | None = None,
) -> BaselineUpdate:
    """Write the baseline file from a fresh run of the scenario file (what `check` compares with),
    with each scenario's cost per model and per `group_by` (and `check.group_by`) value.
    `progress`, `report`, `engine` and `scheduler` are as for `check`."""
    from costaudit.api.checking import write_baseline

    prices = prices or load_prices()
    loaded = _loaded(scenario, prices, None)
    watch, where = _Watch(progress, report), _Engine(engine, scheduler)
    run = _check_run(loaded, prices, logs, workload, only, group_by, watch, where)
    return write_baseline(run, loaded.path, Path(baseline))


def save_workload(requests: Logs | RequestTable, path: PathLike) -> None:
    """Save a request table as Parquet (no prompt text), for `simulate --workload`."""
    _write_workload(requests, path)


def _write_workload(requests: Logs | RequestTable, path: PathLike) -> None:
    """`save_workload` (which `analyze` names its parameter after)."""
    from costaudit.ingest import workload_io

    if isinstance(requests, Logs):
        sources = [report.name for report in requests.files]
        workload_io.save_workload(requests.requests, Path(path), sources=sources)
    else:
        workload_io.save_workload(requests, Path(path), sources=[])


def load_workload(path: PathLike) -> RequestTable:
    """A request table saved by `save_workload` (or `costaudit analyze --save-workload`)."""
    from costaudit.ingest import workload_io

    return workload_io.load_workload(Path(path))


def _check_run(
    scenario: PathLike | LoadedScenario,
    prices: LoadedPrices | None,
    logs: LogInputs | None,
    workload: PathLike | LoadedWorkload | None,
    only: Sequence[str] | None,
    group_by: Sequence[str],
    watch: _Watch,
    engine: _Engine,
) -> CheckRun:
    from costaudit.api.checking import check_run
    from costaudit.api.scenarios import check_group_by
    from costaudit.core.simulate.select import few_valued_fields
    from costaudit.errors import Location

    prices = prices or load_prices()
    loaded = _loaded(scenario, prices, None)
    settings = loaded.config.check
    from_file = settings.group_keys() if settings else []
    keys = list(dict.fromkeys([*group_by, *from_file]))
    built = scenario_workload(
        loaded, prices=prices, logs=logs, workload=workload, group_by=keys, progress=watch.progress
    )
    check_group_by(built, from_file, Location(str(loaded.path), field="check"))
    if not keys:
        keys = few_valued_fields(built.workload.requests, DEFAULT_GROUP_VALUES)
    result = simulate(
        loaded,
        prices=prices,
        workload=built,
        group_by=keys,
        report=watch.report,
        engine=engine.name,
        scheduler=engine.scheduler,
    )
    return check_run(loaded, built, prices, result, only)


class _Watch(NamedTuple):
    """Who is told about a run's progress: records read (`progress`), scenario work (`report`)."""

    progress: Progress | None = None
    report: Callable[[str], None] | None = None


class _Engine(NamedTuple):
    """Where a run computes: `local`, or `dask` on the cluster at `scheduler` (None: a local one)."""

    name: str = "local"
    scheduler: str | None = None


def _loaded(
    scenario: PathLike | LoadedScenario, prices: LoadedPrices, seed: int | None
) -> LoadedScenario:
    from costaudit.api.scenarios import LoadedScenario

    if isinstance(scenario, LoadedScenario):
        if seed is None:
            return scenario
        return replace(scenario, config=scenario.config.model_copy(update={"seed": seed}))
    return load_scenario(scenario, prices=prices, seed=seed)


def _table_and_facts(logs: Logs | RequestTable | pd.DataFrame) -> tuple[RequestTable, IngestFacts]:
    from collections import Counter

    from costaudit.core.analysis import IngestFacts

    if isinstance(logs, Logs):
        problems = logs.problems
        facts = IngestFacts(
            logs.records_read,
            problems.skipped,
            problems.notes,
            problems.examples,
            tuple(sorted(logs.estimated_encodings)),
            frozenset(problems.set_aside_reasons),
        )
        return logs.requests, facts
    table = logs if isinstance(logs, RequestTable) else RequestTable.from_frame(logs)
    return table, IngestFacts(len(table), Counter(), Counter())


def _paths(paths: PathLike | Sequence[PathLike]) -> list[Path]:
    if isinstance(paths, str | os.PathLike):
        return [Path(paths)]
    return [Path(path) for path in paths]


def _specs(logs: LogInputs) -> list[str]:
    if isinstance(logs, str | os.PathLike):
        return [os.fspath(logs)]
    return [os.fspath(item) for item in logs]


def _decimal(value: Decimal | int | None) -> Decimal | None:
    return None if value is None else Decimal(value)


_TYPES = {
    "Analysis": "costaudit.core.analysis",
    "FitOutcome": "costaudit.core.router_fit",
    "UnknownGroupKey": "costaudit.core.grouping",
    "BaselineUpdate": "costaudit.api.checking",
    "LoadedScenario": "costaudit.api.scenarios",
    "LoadedWorkload": "costaudit.api.scenarios",
    "SimulationResult": "costaudit.core.simulate.engine",
    "Thresholds": "costaudit.core.regress",
    "Verdict": "costaudit.core.regress",
}
"""Result types of the API, imported when first asked for (the simulator's are not needed to analyze)."""


def __getattr__(name: str) -> Any:
    if name in _TYPES:
        return getattr(importlib.import_module(_TYPES[name]), name)
    raise AttributeError(f"module 'costaudit.api' has no attribute {name!r}")
