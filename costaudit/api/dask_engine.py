"""Analyze on a Dask distributed cluster: the same parts, partials and merge as on this machine.

The inputs are planned into parts here (costaudit.ingest.partitions: whole files, or line-aligned
ranges of large JSON-lines files), each part is read into its partial analysis by a cluster worker,
and the partials come back here to be merged and finished, so the result is byte for byte the local
engine's. Workers open the files by their paths (on a cluster of several machines the paths must be
the same on every worker: a shared file system) or by their fsspec URLs (costaudit.ingest.remote).
With no scheduler address, a `LocalCluster` of worker processes on this machine is started for the
run and stopped after it.

Simulate and check on a cluster: costaudit.api.dask_scenarios.

Needs the optional `dask` extra (`pip install 'costaudit[dask]'`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from costaudit.api.engine import PartResult, combine, in_worker, ingest_facts, succeeded
from costaudit.config.pricing import PriceTable
from costaudit.core import partials
from costaudit.core.analysis import Analysis
from costaudit.errors import InputError
from costaudit.ingest import reader
from costaudit.ingest.partitions import Part, plan_parts, reads_apart, worker_count
from costaudit.ingest.remote import expand_all, is_url
from costaudit.ingest.sources import expand_sources

Progress = Callable[[int], None]
LOCAL_WORKERS_MAX = 4
SCHEDULER_TIMEOUT = "30s"
"""How long to keep trying to reach a scheduler before saying it cannot be reached."""


def distributed_module() -> Any:
    try:
        import distributed
    except ImportError:
        raise InputError(
            "--engine", "dask needs the dask extra: pip install 'costaudit[dask]'"
        ) from None
    return distributed


@contextlib.contextmanager
def dask_client(scheduler: str | None) -> Iterator[Any]:
    """A client of the cluster at `scheduler`, or of a LocalCluster of worker processes started
    for the run (no dashboard)."""
    distributed = distributed_module()
    if scheduler is not None:
        try:
            client = distributed.Client(scheduler, timeout=SCHEDULER_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError("--scheduler", f"cannot reach {scheduler}: {exc}") from None
        with client:
            yield client
        return
    workers = max(1, min(LOCAL_WORKERS_MAX, worker_count()))
    with (
        local_worker_environment(),
        distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            host="127.0.0.1",
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def local_worker_environment() -> contextlib.AbstractContextManager[Any]:
    """Dask configuration for the worker processes of a local cluster: without Dask's default
    `MALLOC_TRIM_THRESHOLD_=65536`, which turns off glibc's adaptive allocation thresholds, so that
    every large temporary numpy array is mapped and faulted in afresh; simulations on such workers ran
    two to three times slower than in this process. (Workers started by `dask worker` get it from
    their own configuration: see the README, "Large logs".)"""
    import dask

    return dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None})


def _parts(client: Any, specs: Sequence[str], options: reader.ReadOptions, ways: int) -> list[Part]:
    """The parts to hand to the workers: the planned ones, or every input as one part when the
    inputs must be read by one reader (trace spans, --strict)."""
    if any(is_url(spec) for spec in specs):
        return _url_parts(client, specs, options)
    planned = plan_parts(specs, options, ways)
    if planned is not None:
        return planned
    sources = tuple(expand_sources(specs))
    if any(source.path is None for source in sources):
        raise InputError("-", "--engine dask reads files, not standard input")
    return [Part(sources)]


def _url_parts(client: Any, specs: Sequence[str], options: reader.ReadOptions) -> list[Part]:
    """With URLs among the inputs: one part per file when every file can be read apart (the
    workers look at the heads, so this machine opens no URL), else all of them as one part."""
    sources = expand_all(specs)
    if options.strict:
        return [Part(tuple(sources))]
    apart = client.gather(client.map(reads_apart, sources, options=options, pure=False))
    if all(apart):
        return [Part((source,)) for source in sources]
    return [Part(tuple(sources))]


def analyze_on_dask(
    specs: Sequence[str],
    options: reader.ReadOptions,
    table: PriceTable,
    *,
    scheduler: str | None = None,
    group_by: Sequence[str] = (),
    days: Decimal | None = None,
    timeline: bool = True,
    progress: Progress | None = None,
) -> Analysis:
    """`analyze` with every part read by a worker of a Dask cluster; the same result as locally."""
    with dask_client(scheduler) as client:
        ways = max(2, len(client.scheduler_info().get("workers", {})))
        parts = _parts(client, specs, options, ways)
        results = _gather(client, parts, options, table, group_by, timeline, progress)
    logs = combine(parts, results, options.strict)
    merged = partials.merge(result.partial for result in results if result.partial)
    return partials.finish(
        merged, table, ingest_facts(logs), group_by=group_by, days=days, timeline=timeline
    )


def _gather(
    client: Any,
    parts: Sequence[Part],
    options: reader.ReadOptions,
    table: PriceTable,
    group_by: Sequence[str],
    timeline: bool,
    progress: Progress | None,
) -> list[PartResult]:
    """Every part's result, in order; `progress` told the rows read as parts finish."""
    distributed = distributed_module()
    futures = [
        client.submit(
            in_worker, part, position, options, table, tuple(group_by), timeline, pure=False
        )
        for position, part in enumerate(parts)
    ]
    rows = 0
    for future in distributed.as_completed(futures):
        result = future.result()
        if isinstance(result, PartResult) and result.partial:
            rows += result.partial.rows
        if progress is not None:
            progress(rows)
    return [succeeded(future.result()) for future in futures]
