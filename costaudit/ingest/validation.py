"""The rules a record's token counts must satisfy, written once and applied to whole columns.

Both ways of reading a log end here: the record path turns a run of records into drafts and the
columnar path parses a block of lines straight into columns, but neither judges counts itself. Each
hands `judge` the same `Counts`: the canonical columns plus every count the reader took from the
log, under the field name it was read from. `judge` gives every unusable row its reason, the first
that applies in this order:

1. a count as read from the log is negative, or above MAX_TOKENS (a count is "read" when an
   extractor takes it from the record; counts that are not whole numbers never get here: the
   extractor refuses them while reading, so they come before every rule below);
2. a canonical count is negative (only possible for rows built directly, e.g. from a saved table);
3. cached plus cache-write tokens exceed the input, and so do they with the uncached audio input
   added, 1-hour cache writes exceed all cache writes, reasoning tokens exceed the output;
4. there is no input count and no prompt to count it from.

A problem an extractor finds in the record's shape (no model name, a wrong type, a failed call)
comes before the count rules: the record is skipped for what makes it unreadable first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from costaudit.core.columns import TOKEN_COLUMNS

MAX_TOKENS = 10**12
"""More tokens than any single call can carry: a count above it is corrupt data, not usage (and would
overflow the table's int64 sums)."""
COUNT_LIMIT = MAX_TOKENS + 1
"""Counts are clipped to ±COUNT_LIMIT when read, so that sums of a few of them never overflow int64
and a count out of range stays out of range."""

NO_USAGE = "no token usage and no prompt to count"
CONSISTENCY = (
    "cached plus cache-write tokens exceed input tokens",
    "cached, cache-write and audio input tokens exceed input tokens",
    "1-hour cache-write tokens exceed cache-write tokens",
    "reasoning tokens exceed output tokens",
)

Int64s = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class ReadCounts:
    """Every count a reader took from the log, row after row, each row's in the order it was read.

    Flat: `rows[i]` is the row the i-th count belongs to (ascending), `values[i]` the count, and
    `field(i)` names the field it was read from (e.g. `usage.prompt_tokens`); names are looked up
    only for the few counts a reason is given for.
    """

    rows: Int64s
    values: Int64s
    field: Callable[[int], str]
    offset: int = 0
    """Where these counts start in what `field` numbers (after slicing)."""

    @classmethod
    def row_by_row(
        cls, columns: Sequence[Int64s], names: Sequence[str] | Callable[[int], str]
    ) -> ReadCounts:
        """The counts of a columnar block, every row reading the same fields in the same order:
        count k of each row is `columns[k][row]`, read from field `names[k]` (or, where the name
        depends on the row, `names(i)` for the i-th count)."""
        if callable(names):
            field = names
        else:
            fixed = tuple(names)
            if len(fixed) != len(columns):
                raise ValueError(f"{len(columns)} count columns, {len(fixed)} field names")

            def field(index: int) -> str:
                return fixed[index % len(fixed)]

        return cls(
            rows=np.repeat(np.arange(len(columns[0]), dtype=np.int64), len(columns)),
            values=np.stack(columns, axis=1).ravel(),
            field=field,
        )

    def slice(self, start: int, stop: int) -> ReadCounts:
        """The counts of rows start..stop, renumbered from 0."""
        low, high = (int(at) for at in np.searchsorted(self.rows, [start, stop]))
        return ReadCounts(
            self.rows[low:high] - start, self.values[low:high], self.field, self.offset + low
        )


@dataclass(frozen=True)
class Counts:
    """The token counts of a run of records, as `judge` needs them."""

    tokens: Mapping[str, Int64s]
    """The canonical columns (TOKEN_COLUMNS), 0 where a count is missing."""
    read: ReadCounts
    input_missing: Bools | None = None
    """Rows without an input count (None: every row has one)."""
    output_missing: Bools | None = None
    has_prompt: Bools | None = None
    """Rows whose prompt text can be counted instead (None: none can)."""

    def __len__(self) -> int:
        return len(self.tokens["input_tokens"])

    def slice(self, start: int, stop: int) -> Counts:
        def part(mask: Bools | None) -> Bools | None:
            return None if mask is None else mask[start:stop]

        return Counts(
            tokens={name: values[start:stop] for name, values in self.tokens.items()},
            read=self.read.slice(start, stop),
            input_missing=part(self.input_missing),
            output_missing=part(self.output_missing),
            has_prompt=part(self.has_prompt),
        )


@dataclass(frozen=True)
class Verdict:
    """`reason[row]` indexes `reasons` for a row to skip, or is -1 for a row to keep."""

    reason: npt.NDArray[np.int32]
    reasons: list[str]

    @property
    def keep(self) -> Bools:
        return np.asarray(self.reason < 0, dtype=np.bool_)

    def skipped(self) -> list[tuple[int, str]]:
        """(row, reason) of every row to skip, in row order."""
        rows = np.flatnonzero(self.reason >= 0)
        return [
            (row, self.reasons[code])
            for row, code in zip(rows.tolist(), self.reason[rows].tolist(), strict=True)
        ]


class _Marks:
    """Reasons given so far; a row keeps the first one it gets."""

    def __init__(self, rows: int) -> None:
        self.reason = np.full(rows, -1, dtype=np.int32)
        self.reasons: list[str] = []

    def mark(self, where: Bools, reason: str) -> None:
        fresh = where & (self.reason < 0)
        if fresh.any():
            self.reason[fresh] = len(self.reasons)
            self.reasons.append(reason)

    def mark_rows(self, rows: Int64s, reasons: Sequence[str]) -> None:
        codes: dict[str, int] = {}
        for row, text in zip(rows.tolist(), reasons, strict=True):
            if self.reason[row] < 0:
                code = codes.get(text)
                if code is None:
                    code = codes[text] = len(self.reasons)
                    self.reasons.append(text)
                self.reason[row] = code


def judge(counts: Counts) -> Verdict:
    """Each row's first problem (module docstring), or -1 when its counts are usable."""
    marks = _Marks(len(counts))
    _judge_read(counts.read, marks)
    absent = np.zeros(len(counts), dtype=np.int64)  # a class the reader never reads is 0
    tokens = {
        name: np.clip(counts.tokens.get(name, absent), -COUNT_LIMIT, COUNT_LIMIT)
        for name in TOKEN_COLUMNS
    }
    for name in TOKEN_COLUMNS:
        marks.mark(tokens[name] < 0, f"negative {name.replace('_', ' ')}")
    has_input = _not(counts.input_missing, len(counts))
    has_output = _not(counts.output_missing, len(counts))
    cached, writes = tokens["cached_input_tokens"], tokens["cache_write_tokens"]
    inputs = tokens["input_tokens"]
    marks.mark(has_input & (cached + writes > inputs), CONSISTENCY[0])
    audio = tokens["audio_input_tokens"]
    marks.mark(has_input & (cached + writes + audio > inputs), CONSISTENCY[1])
    marks.mark(tokens["cache_write_1h_tokens"] > writes, CONSISTENCY[2])
    marks.mark(has_output & (tokens["reasoning_tokens"] > tokens["output_tokens"]), CONSISTENCY[3])
    if counts.input_missing is not None:
        no_prompt = _not(counts.has_prompt, len(counts))
        marks.mark(counts.input_missing & no_prompt, NO_USAGE)
    return Verdict(marks.reason, marks.reasons)


def _judge_read(read: ReadCounts, marks: _Marks) -> None:
    """Rule 1: the first count of each row that is negative or implausible, in reading order."""
    out_of_range = (read.values < 0) | (read.values > MAX_TOKENS)
    if not out_of_range.any():
        return
    where = np.flatnonzero(out_of_range)
    rows, first = np.unique(read.rows[where], return_index=True)
    picked = where[first].tolist()
    texts = [
        out_of_range_reason(read.field(read.offset + index), int(read.values[index]))
        for index in picked
    ]
    marks.mark_rows(rows, texts)


def out_of_range_reason(field: str, value: int) -> str:
    if value < 0:
        return f"negative {field}"
    return f"implausible {field} (more than {MAX_TOKENS:,} tokens)"


def _not(mask: Bools | None, rows: int) -> Bools:
    return np.ones(rows, dtype=np.bool_) if mask is None else ~mask


def clip(count: int) -> int:
    """A count as read, clipped to ±COUNT_LIMIT (see COUNT_LIMIT)."""
    return -COUNT_LIMIT if count < -COUNT_LIMIT else COUNT_LIMIT if count > COUNT_LIMIT else count
