"""Analyze logs partition by partition: read in bounded partitions, reduce each to a partial analysis,
merge the partials, finish once (costaudit.core.partials). Memory then depends on one partition and on
the variety of the traffic, not on the number of requests.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

from costaudit.config.pricing import PriceTable
from costaudit.core import partials
from costaudit.core.analysis import Analysis, IngestFacts
from costaudit.core.request_table import RequestTable
from costaudit.errors import InputError, Location
from costaudit.ingest import reader
from costaudit.ingest.partitions import (
    Part,
    merge_problems,
    merge_reports,
    plan_parts,
    shift_examples,
)
from costaudit.ingest.problems import Problems
from costaudit.ingest.reader import FileReport, Logs
from costaudit.ingest.workload_io import WorkloadWriter

Progress = Callable[[int], None]


PARTITIONS_PER_PART = 1 << 20
"""Partition numbers of a part start at its position × this, so that partitions keep their order."""


class PartialSink:
    """Reduces each partition to its partial as it arrives, merging as it goes."""

    def __init__(
        self,
        table: PriceTable,
        group_by: Sequence[str],
        timeline: bool,
        first: int = 0,
        writer: WorkloadWriter | None = None,
    ) -> None:
        self.writer = writer
        self.table = table
        self.group_by = tuple(group_by)
        self.timeline = timeline
        self.merged: partials.Partial | None = None
        self.count = first

    def __call__(self, partition: RequestTable) -> None:
        part = partials.partial(
            partition, self.table, self.group_by, index=self.count, timeline=self.timeline
        )
        self.count += 1
        self.merged = part if self.merged is None else self.merged.merge(part)
        if self.writer is not None:
            self.writer.add(partition)


def ingest_facts(logs: Logs) -> IngestFacts:
    """What reading found that the analysis reports."""
    problems = logs.problems
    return IngestFacts(
        logs.records_read,
        problems.skipped,
        problems.notes,
        problems.examples,
        tuple(sorted(logs.estimated_encodings)),
        frozenset(problems.set_aside_reasons),
    )


@dataclass
class PartResult:
    """What reading one part found: its merged partial and everything said about the reading."""

    partial: partials.Partial | None
    problems: Problems
    files: list[FileReport]
    records_read: int
    estimated_encodings: set[str]


def read_part(
    part: Part,
    position: int,
    options: reader.ReadOptions,
    table: PriceTable,
    group_by: Sequence[str],
    timeline: bool,
    progress: Progress | None = None,
) -> PartResult:
    """Read one part into its partial analysis (in this process, another one, or a cluster worker)."""
    from costaudit.core.pricing import ModelResolver

    sink = PartialSink(table, group_by, timeline, first=position * PARTITIONS_PER_PART)
    part_options = replace(options, detected_format=part.detected_format)
    logs = reader.read_sources(
        part.sources,
        part_options,
        ModelResolver(table).tokenizer_for,
        progress=progress,
        partition_sink=sink,
    )
    return PartResult(
        sink.merged, logs.problems, logs.files, logs.records_read, logs.estimated_encodings
    )


@dataclass(frozen=True)
class PartFailure:
    """A part that could not be read: the input error, in a form that crosses process boundaries."""

    location: Location
    message: str

    def error(self) -> InputError:
        return InputError(self.location, self.message)


def in_worker(
    part: Part,
    position: int,
    options: reader.ReadOptions,
    table: PriceTable,
    group_by: Sequence[str],
    timeline: bool,
) -> PartResult | PartFailure:
    """`read_part` in a worker process (or on a cluster worker): tokens are counted in the worker
    itself (the processes already keep every core busy), and an input error comes back as a value."""
    try:
        return read_part(
            part, position, replace(options, worker_processes=False), table, group_by, timeline
        )
    except InputError as error:
        return PartFailure(error.location, error.message)


def succeeded(result: PartResult | PartFailure) -> PartResult:
    """The result of a part, or its input error raised here."""
    if isinstance(result, PartFailure):
        raise result.error()
    return result


def combine(parts: Sequence[Part], results: Sequence[PartResult], strict: bool) -> Logs:
    """The reading of all parts as one: problems renumbered and merged in order, reports per file."""
    problems = Problems(strict=strict)
    lines_before = 0
    for part, result in zip(parts, results, strict=True):
        if part.continues_file:
            shift_examples(result.problems, part.sources[0].name, lines_before)
            lines_before += sum(report.lines for report in result.files)
        else:
            lines_before = sum(report.lines for report in result.files)
        merge_problems(problems, result.problems)
    files = merge_reports(
        [(part, result.files) for part, result in zip(parts, results, strict=True)]
    )
    return Logs(
        requests=RequestTable.empty(),
        files=files,
        problems=problems,
        records_read=sum(result.records_read for result in results),
        estimated_encodings=set().union(*(result.estimated_encodings for result in results)),
    )


def analyze_partitioned(
    specs: Sequence[str],
    options: reader.ReadOptions,
    table: PriceTable,
    tokenizer_for: Callable[[str | None], str],
    *,
    group_by: Sequence[str] = (),
    days: Decimal | None = None,
    timeline: bool = True,
    progress: Progress | None = None,
    processes: int = 1,
    save_workload: Path | None = None,
) -> Analysis:
    """`analyze` of the logs named by `specs`, never holding more than a partition of them per
    process. With `processes` above 1, large JSON-lines files read the record way are split into
    ranges read by that many processes when their records can be read apart
    (costaudit.ingest.partitions).

    Files read the columnar way are never split: their blocks are parsed on worker threads that use
    every core already, and on a 2-core machine a second process (its start-up, and the cores it
    competes for) made usage-only logs slower, not faster (bench/README.md, "Large logs"). The record
    way runs Python per record on one core, and there ranges in two processes took 0.73–0.80 of the
    time on 27–79 MB logs of five formats (bench/README.md, "Every reader")."""
    parts = (
        plan_parts(specs, options, processes, columnar_too=False) if save_workload is None else None
    )
    writer = WorkloadWriter(save_workload, []) if save_workload is not None else None
    try:
        if parts is None:
            sink = PartialSink(table, group_by, timeline, writer=writer)
            logs = reader.read_logs(
                specs, options, tokenizer_for, progress=progress, partition_sink=sink
            )
            merged = sink.merged
        else:
            results = _read_parts(parts, options, table, group_by, timeline, processes, progress)
            logs = combine(parts, results, options.strict)
            merged = partials.merge(result.partial for result in results if result.partial)
        analysis = partials.finish(
            merged, table, ingest_facts(logs), group_by=group_by, days=days, timeline=timeline
        )
    except BaseException:
        if writer is not None:
            writer.discard()
        raise
    if writer is not None:
        writer.close([report.name for report in logs.files])
    return analysis


def _read_parts(
    parts: Sequence[Part],
    options: reader.ReadOptions,
    table: PriceTable,
    group_by: Sequence[str],
    timeline: bool,
    ways: int,
    progress: Progress | None,
) -> list[PartResult]:
    """The first part read here, the others in worker processes at the same time; results in order.
    Without worker processes (none can be started) every part is read here."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    try:
        pool = ProcessPoolExecutor(
            max_workers=max(1, min(ways - 1, len(parts) - 1)),
            mp_context=multiprocessing.get_context("spawn"),
        )
    except (OSError, ValueError, NotImplementedError):
        pool = None
    local_options = replace(options, worker_processes=False)
    done = _Done(progress)
    with contextlib.ExitStack() as stack:
        futures: list[Future[PartResult | PartFailure]] = []
        if pool is not None:
            stack.enter_context(pool)
            for position, part in enumerate(parts[1:], 1):
                future = pool.submit(
                    in_worker, part, position, options, table, tuple(group_by), timeline
                )
                future.add_done_callback(done.finished)
                futures.append(future)
        results = [read_part(parts[0], 0, local_options, table, group_by, timeline, done.here)]
        for position, part in enumerate(parts[1:], 1):
            try:
                if not futures:
                    raise BrokenProcessPool("no worker process")
                results.append(succeeded(futures[position - 1].result()))
            except BrokenProcessPool:
                results.append(read_part(part, position, local_options, table, group_by, timeline))
        return results


class _Done:
    """Progress of parts read at once: this process's rows so far plus the finished parts' rows."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.local = 0
        self.elsewhere = 0

    def here(self, rows: int) -> None:
        self.local = rows
        self._report()

    def finished(self, future: Future[PartResult | PartFailure]) -> None:
        if not future.cancelled() and future.exception() is None:
            result = future.result()
            if isinstance(result, PartResult) and result.partial:
                self.elsewhere += result.partial.rows

    def _report(self) -> None:
        if self.progress is not None:
            self.progress(self.local + self.elsewhere)
