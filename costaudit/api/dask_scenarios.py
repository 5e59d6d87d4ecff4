"""Simulate and check on a Dask distributed cluster, with the local engine's results.

The workload is read (or generated) here, as the local engine reads it, and sent to the cluster
once; each scenario of the file is then one task on a worker (its strategies in order, its Monte
Carlo draws, cache band, routing curve and breakdown), and the results come back here in the file's
order to be compared with the baseline and forecast. Scenarios are independent — each draws from
generators seeded by the file's seed and its own name — so this is the local result byte for byte
(cluster workers must run the same versions of costaudit and numpy as this machine).

Inside a scenario task, the response- and prompt-cache replays fan out: cache scopes never share
entries, so core cuts each replay into parts of whole scopes (`core.parts`) and this module's
`ClusterMap` submits every part as a task of its own, carrying only that part's arrays, from within
the scenario task (`worker_client`: the task leaves the worker's thread pool while it waits, so the
parts can run on every worker, its own included). Each part is replayed in time order exactly as the
whole replay would replay its requests, so the results are unchanged. What stays whole in the
scenario's task is what needs the whole table: routing's quantiles, the serving replay, and any
replay too small to make two parts. A file's own baseline,
when no scenario is one, and the forecast are computed here.

Progress: each part task logs an event on `PROGRESS_TOPIC` when it is submitted and when it is done;
the client counts them and reports scenarios and parts done on the caller's thread.

Needs the optional `dask` extra (`pip install 'costaudit[dask]'`).
"""

from __future__ import annotations

import contextlib
import io
import pickle
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from costaudit.api.dask_engine import dask_client, distributed_module
from costaudit.config.pricing import PriceTable
from costaudit.config.scenario import Scenario, ScenarioFile
from costaudit.core import parts as replay_parts
from costaudit.core.parts import Fanout
from costaudit.core.simulate.context import ScenarioProblem
from costaudit.core.simulate.engine import RunScenarios, ScenarioRun, scenario_run
from costaudit.core.simulate.state import Workload
from costaudit.decimals import ensure_money_precision
from costaudit.errors import InputError, Location

Report = Callable[[str], None]
_Part = TypeVar("_Part")
_Result = TypeVar("_Result")
PROGRESS_TOPIC = "costaudit-replay-parts"
"""The topic of the events that say how many replay parts a run's scenarios submitted and finished."""
PROGRESS_INTERVAL_S = 0.25
"""How often the progress line is refreshed while scenarios run."""


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
    return _packed(workload)


def _packed(value: object) -> bytes:
    buffer = io.BytesIO()
    _PlainDtypes(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
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


def _part_in_worker(run: str, function: Callable[[Any], Any], packed: bytes) -> Any:
    """One part of a cache replay, on whichever worker the scheduler chose; says it is done."""
    result = function(pickle.loads(packed))  # noqa: S301 - bytes this run's scenario task packed
    distributed_module().get_worker().log_event(PROGRESS_TOPIC, (run, "done", 1))
    return result


class ClusterMap:
    """Maps a replay's parts from inside a scenario task: each part becomes a task of the cluster
    carrying its own arrays (packed as `_PlainDtypes` does). They travel inside the task, so the
    scheduler may start it on any worker: scattered first, they would be kept by this worker and
    their tasks would follow them here. The largest parts are submitted first, so that one large
    cache scope does not start last. The scenario task waits for them outside the worker's thread
    pool (`worker_client` secedes and rejoins), so parts can run on every worker, this one included,
    without a deadlock. Counts the parts it submitted."""

    def __init__(self, run: str) -> None:
        self.run = run
        self.parts = 0

    def __call__(
        self, function: Callable[[_Part], _Result], parts: Sequence[_Part]
    ) -> list[_Result]:
        distributed = distributed_module()
        self.parts += len(parts)
        distributed.get_worker().log_event(PROGRESS_TOPIC, (self.run, "submitted", len(parts)))
        packed = [_packed(part) for part in parts]
        largest_first = sorted(range(len(packed)), key=lambda index: -len(packed[index]))
        with distributed.worker_client() as client:
            futures = {
                index: client.submit(
                    _part_in_worker,
                    self.run,
                    function,
                    packed[index],
                    key=f"replay-part-{uuid.uuid4().hex}",
                )
                for index in largest_first
            }
            results: list[_Result] = client.gather([futures[index] for index in range(len(parts))])
        return results


def _cluster_map(run: str) -> ClusterMap | None:
    """A map over the cluster when this runs in a task of a worker; else None (parts run here)."""
    try:
        distributed_module().get_worker()
    except ValueError:
        return None
    return ClusterMap(run)


@dataclass(frozen=True)
class ScenarioDone:
    """A scenario computed on a worker, and how many replay parts it sent to the cluster."""

    run: ScenarioRun
    replay_parts: int


def scenario_in_worker(
    run: str,
    packed: bytes,
    scenario: Scenario,
    table: PriceTable,
    file: ScenarioFile,
    group_by: tuple[str, ...],
    min_part_size: int = replay_parts.MIN_PART_SIZE,
) -> ScenarioDone | ScenarioFailure:
    """`scenario_run` on a cluster worker, an input error coming back as a value; its cache replays
    fan out over the cluster in parts of at least `min_part_size` (in `MIN_PART_SIZE`'s units).
    The worker's thread may have computed with Decimals before costaudit was imported, so money
    precision is set here."""
    ensure_money_precision()
    mapper = _cluster_map(run)
    fanout = None if mapper is None else Fanout(mapper, min_part_size)
    try:
        done = scenario_run(_unpacked(run, packed), scenario, table, file, group_by, fanout=fanout)
    except ScenarioProblem as problem:
        return ScenarioFailure(problem.location, problem.message, problem.field)
    except InputError as error:
        return ScenarioFailure(error.location, error.message, None)
    return ScenarioDone(done, 0 if mapper is None else mapper.parts)


class _PartCounts:
    """Replay parts of one run submitted and finished, as the cluster's events tell them (they come
    on the client's event loop thread; the progress line is drawn on the caller's)."""

    def __init__(self, run: str) -> None:
        self.run = run
        self.submitted = 0
        self.done = 0
        self.lock = threading.Lock()

    def event(self, event: tuple[float, Any]) -> None:
        _, message = event
        if not isinstance(message, tuple) or len(message) != 3 or message[0] != self.run:
            return
        with self.lock:
            if message[1] == "submitted":
                self.submitted += int(message[2])
            elif message[1] == "done":
                self.done += int(message[2])

    def text(self) -> str:
        with self.lock:
            done, submitted = min(self.done, self.submitted), self.submitted
        return f", {done}/{submitted} replay parts" if submitted else ""


def scenario_runner(client: Any, report: Report | None = None) -> RunScenarios:
    """Computes a file's scenarios on the cluster of `client`, one task per scenario, after sending
    the workload and price table once; each scenario's cache replays fan out in parts of whole cache
    scopes (`core.parts.MIN_PART_SIZE` at least). `report` is told how many scenarios are done and
    how many replay parts, of those submitted so far."""

    def run_all(
        workload: Workload, file: ScenarioFile, table: PriceTable, group_by: tuple[str, ...]
    ) -> list[ScenarioRun]:
        run = uuid.uuid4().hex
        packed = client.scatter(pack_workload(workload), hash=False)
        shared_table = client.scatter(table, hash=False)
        counts = _PartCounts(run)
        client.subscribe_topic(PROGRESS_TOPIC, counts.event)
        futures = [
            client.submit(
                scenario_in_worker,
                run,
                packed,
                scenario,
                shared_table,
                file,
                group_by,
                replay_parts.MIN_PART_SIZE,
                pure=False,
            )
            for scenario in file.scenarios
        ]
        try:
            _wait_reporting(futures, counts, report)
            done = [_scenario_result(future.result()) for future in futures]
        finally:
            client.unsubscribe_topic(PROGRESS_TOPIC)
            client.run(forget_workload, run)
        if report is not None:
            total = sum(item.replay_parts for item in done)
            parts = f", {total}/{total} replay parts" if total else ""
            report(f"{len(done)}/{len(done)} scenarios done on the cluster{parts}")
        return [item.run for item in done]

    return run_all


def _wait_reporting(futures: list[Any], counts: _PartCounts, report: Report | None) -> None:
    """Waits for every scenario, telling `report` (on this thread) what is done whenever it changes."""
    distributed = distributed_module()
    pending = list(futures)
    said = ""
    while pending:
        with contextlib.suppress(TimeoutError):
            distributed.wait(pending, timeout=PROGRESS_INTERVAL_S, return_when="FIRST_COMPLETED")
        pending = [future for future in pending if not future.done()]
        text = f"{len(futures) - len(pending)}/{len(futures)} scenarios done on the cluster"
        text += counts.text()
        if report is not None and text != said:
            report(text)
            said = text


def _scenario_result(result: ScenarioDone | ScenarioFailure) -> ScenarioDone:
    if isinstance(result, ScenarioFailure):
        raise result.error()
    return result


@contextlib.contextmanager
def cluster_runs(scheduler: str | None, report: Report | None = None) -> Iterator[RunScenarios]:
    """A cluster to compute scenarios on for the block (see `scenario_runner`)."""
    with dask_client(scheduler) as client:
        yield scenario_runner(client, report)
