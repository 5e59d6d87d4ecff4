"""Simulate and check on a Dask distributed cluster, with the local engine's results.

The workload is read (or generated) here, as the local engine reads it, and sent to the cluster
once; each scenario of the file is then computed whole by one worker (its strategies
in order, its Monte Carlo draws, cache band, routing curve and breakdown), and the results come back
here in the file's order to be compared with the baseline and forecast. Scenarios are independent —
each draws from generators seeded by the file's seed and its own name — so this is the local result
byte for byte (cluster workers must run the same versions of costaudit and numpy as this machine).
What runs whole in one worker is what needs the whole table: a scenario's routing quantiles, its
cache replays (every cache scope, in time order) and its serving replay. A file's own baseline, when
no scenario is one, and the forecast are computed here.

Needs the optional `dask` extra (`pip install 'costaudit[dask]'`).
"""

from __future__ import annotations

import contextlib
import io
import pickle
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from costaudit.api.dask_engine import dask_client, distributed_module
from costaudit.config.pricing import PriceTable
from costaudit.config.scenario import Scenario, ScenarioFile
from costaudit.core.simulate.context import ScenarioProblem
from costaudit.core.simulate.engine import RunScenarios, ScenarioRun, scenario_run
from costaudit.core.simulate.state import Workload
from costaudit.decimals import ensure_money_precision
from costaudit.errors import InputError, Location

Report = Callable[[str], None]


@contextlib.contextmanager
def cluster_address(scheduler: str | None) -> Iterator[str]:
    """The address of a cluster for several runs: `scheduler` once it answers, or a LocalCluster
    started here for the block (so that several scenario files share one)."""
    with dask_client(scheduler) as client:
        yield scheduler if scheduler is not None else client.scheduler.address


@dataclass(frozen=True)
class ScenarioFailure:
    """An input error a worker met while computing a scenario, as a value: the error classes take
    their fields as arguments, which exceptions do not keep when they cross process boundaries."""

    location: Location
    message: str
    field: str | None
    """The scenario field of a `ScenarioProblem` (the caller adds the scenario file); None for
    another input error."""

    def error(self) -> InputError:
        if self.field is not None:
            return ScenarioProblem(self.field, self.message)
        return InputError(self.location, self.message)


class _PlainDtypes(pickle.Pickler):
    """Pickles numeric arrays by their bytes and dtype name. numpy pickles a dtype as a fresh copy,
    and some operations take a slow path on an array whose dtype is not numpy's own instance
    (`np.add.at`, which pricing sums with, about thirty times slower): the workload would compute
    several times slower on a worker than here. Rebuilt from its name, the dtype is numpy's own."""

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is np.ndarray and obj.dtype.kind in "biufcmM" and obj.dtype.names is None:
            return _array, (obj.tobytes(), obj.dtype.str, obj.shape)
        return NotImplemented


def _array(data: bytes, dtype: str, shape: tuple[int, ...]) -> npt.NDArray[Any]:
    values = np.frombuffer(bytearray(data), dtype=np.dtype(dtype))
    return values.reshape(shape)


def pack_workload(workload: Workload) -> bytes:
    """The workload as bytes for the workers (see `_PlainDtypes`)."""
    buffer = io.BytesIO()
    _PlainDtypes(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(workload)
    return buffer.getvalue()


_UNPACKED: dict[str, Workload] = {}
"""The workload of the run in progress, per worker process: unpacked once, not once per scenario."""


def _unpacked(run: str, packed: bytes) -> Workload:
    """The run's workload, unpacked by the first of its tasks on this worker (another run's copy is
    dropped: a worker keeps one)."""
    workload = _UNPACKED.get(run)
    if workload is None:
        workload = pickle.loads(packed)  # noqa: S301 - bytes this run's client packed
        _UNPACKED.clear()
        _UNPACKED[run] = workload
    return workload


def forget_workload(run: str) -> None:
    """Free a worker's copy of a finished run's workload."""
    _UNPACKED.pop(run, None)


def scenario_in_worker(
    run: str,
    packed: bytes,
    scenario: Scenario,
    table: PriceTable,
    file: ScenarioFile,
    group_by: tuple[str, ...],
) -> ScenarioRun | ScenarioFailure:
    """`scenario_run` on a cluster worker, an input error coming back as a value. The worker's thread
    may have computed with Decimals before costaudit was imported, so money precision is set here."""
    ensure_money_precision()
    try:
        return scenario_run(_unpacked(run, packed), scenario, table, file, group_by)
    except ScenarioProblem as problem:
        return ScenarioFailure(problem.location, problem.message, problem.field)
    except InputError as error:
        return ScenarioFailure(error.location, error.message, None)


def scenario_runner(client: Any, report: Report | None = None) -> RunScenarios:
    """Computes a file's scenarios on the cluster of `client`, one task per scenario, after sending
    the workload and price table once; `report` is told how many scenarios are done."""
    distributed = distributed_module()

    def run_all(
        workload: Workload, file: ScenarioFile, table: PriceTable, group_by: tuple[str, ...]
    ) -> list[ScenarioRun]:
        run = uuid.uuid4().hex
        packed = client.scatter(pack_workload(workload), hash=False)
        shared_table = client.scatter(table, hash=False)
        futures = [
            client.submit(
                scenario_in_worker,
                run,
                packed,
                scenario,
                shared_table,
                file,
                group_by,
                pure=False,
            )
            for scenario in file.scenarios
        ]
        try:
            for done, _ in enumerate(distributed.as_completed(futures), 1):
                if report is not None:
                    report(f"{done}/{len(futures)} scenarios done on the cluster")
            return [_scenario_result(future.result()) for future in futures]
        finally:
            client.run(forget_workload, run)

    return run_all


def _scenario_result(result: ScenarioRun | ScenarioFailure) -> ScenarioRun:
    if isinstance(result, ScenarioFailure):
        raise result.error()
    return result


@contextlib.contextmanager
def cluster_runs(scheduler: str | None, report: Report | None = None) -> Iterator[RunScenarios]:
    """A cluster to compute scenarios on for the block (see `scenario_runner`)."""
    with dask_client(scheduler) as client:
        yield scenario_runner(client, report)
