"""Analyze logs partition by partition: read in bounded partitions, reduce each to a partial analysis,
merge the partials, finish once (costaudit.core.partials). Memory then depends on one partition and on
the variety of the traffic, not on the number of requests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from costaudit.config.pricing import PriceTable
from costaudit.core import partials
from costaudit.core.analysis import Analysis, IngestFacts
from costaudit.core.request_table import RequestTable
from costaudit.ingest import reader
from costaudit.ingest.reader import Logs

Progress = Callable[[int], None]


class PartialSink:
    """Reduces each partition to its partial as it arrives, merging as it goes."""

    def __init__(self, table: PriceTable, group_by: Sequence[str], timeline: bool) -> None:
        self.table = table
        self.group_by = tuple(group_by)
        self.timeline = timeline
        self.merged: partials.Partial | None = None
        self.count = 0

    def __call__(self, partition: RequestTable) -> None:
        part = partials.partial(
            partition, self.table, self.group_by, index=self.count, timeline=self.timeline
        )
        self.count += 1
        self.merged = part if self.merged is None else self.merged.merge(part)


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
) -> Analysis:
    """`analyze` of the logs named by `specs`, never holding more than a partition of them."""
    sink = PartialSink(table, group_by, timeline)
    logs = reader.read_logs(specs, options, tokenizer_for, progress=progress, partition_sink=sink)
    return partials.finish(
        sink.merged,
        table,
        ingest_facts(logs),
        group_by=group_by,
        days=days,
        timeline=timeline,
    )
