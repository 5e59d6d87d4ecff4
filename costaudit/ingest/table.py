"""The canonical request table, and the builder readers fill one record at a time.

Every log format becomes the same table: one row per billed LLM call, token counts in the OpenAI
convention (input_tokens INCLUDES cached and cache-written tokens; output_tokens INCLUDES reasoning).
The builder keeps plain Python lists for at most one chunk of records; each full chunk is converted to
compact numpy arrays, so memory follows the size of the request table, not of the raw log. Rows read
the columnar way arrive as arrays (`add_columns`) and join the same chunks, so the table keeps the
order of the log whichever way each row was read. Every row's counts are judged by one validator
(costaudit.ingest.validation) before it joins a chunk: drafts a batch at a time, columns a run at a
time.
Prompt text lives only inside the chunk being built: it is tokenized, scored for complexity and hashed,
then dropped; it never reaches the table.
"""

from __future__ import annotations

import functools
import hashlib
import operator
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from itertools import chain, compress
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from costaudit.core.columns import RESERVED_COLUMNS, TOKEN_COLUMNS
from costaudit.core.complexity import text_parts, visible_tokens, with_length
from costaudit.core.prompt_cache import PrefixBlocks, chained_block_hashes
from costaudit.core.request_table import Category, RequestTable
from costaudit.ingest.problems import Problems
from costaudit.ingest.timestamps import to_epoch_ns
from costaudit.ingest.tokenizer import (
    PromptPieces,
    chat_prompt_pieces,
    count_pieces,
    encoder_for,
    piece_texts,
    piece_totals,
)
from costaudit.ingest.validation import Counts, ReadCounts, Verdict, clip, judge
from costaudit.ingest.workers import Deferred, Workers

if TYPE_CHECKING:
    from costaudit.core.router_fit import FittedScorer

USAGE, TOKENIZED, ESTIMATED = range(3)

DEFAULT_CHUNK_ROWS = 65_536
JUDGE_ROWS = 256
"""Drafts are judged this many at a time: one vectorized pass of the validator per batch, and few
enough waiting drafts that they rarely outlive the garbage collector's young generations."""
TEXT_CHARS_PER_CHUNK = 8_000_000
"""A chunk is also finished once it holds this much prompt text, so logs with long prompts stay in
bounded memory (text lives only until its chunk is tokenized, scored and hashed)."""

MAX_GROUP_COLUMNS = 32

Message = tuple[str, str, str | None]
"""(role, text content, optional name) of one chat message."""


@dataclass(slots=True)
class Draft:
    """One record as a reader understood it, before validation and tokenization."""

    model: str | None = None
    timestamp: object = None
    relative_time: bool = False
    input_tokens: int | None = None
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    output_tokens: int | None = None
    reasoning_tokens: int = 0
    audio_input_tokens: int = 0
    """Audio input tokens not read from the cache (a part of `input_tokens`)."""
    batch: bool = False
    messages: list[Message] | None = None
    completion: str | None = None
    complexity: float | None = None
    groups: dict[str, str] | None = None
    quality: dict[str, float] | None = None
    """Per-model quality labels (e.g. correctness 0/1 of each model's answer), for routing what-ifs."""
    prefix_hashes: list[int] | None = None
    """Chained prefix-block hashes of the prompt (e.g. Mooncake `hash_ids`), for cache replay."""
    prefix_block_tokens: int | None = None
    read_counts: list[str | int] = field(default_factory=list)
    """Every count the extractor read from the record, in reading order, each after the name of the
    field it came from: `[name, count, name, count, …]` (flat, so that drafts waiting to be judged
    hold no extra objects for the garbage collector to walk). `formats.common.token_count` adds
    them; the validator checks their range."""


def draft_counts(drafts: Sequence[Draft]) -> Counts:
    """The drafts' counts as the validator takes them (canonical columns plus the counts as read).

    Built column by column with C-level conversions: this runs for every record of a log."""
    rows = list(map(_canonical, drafts))
    tokens: dict[str, npt.NDArray[np.int64]] = {}
    missing: dict[str, npt.NDArray[np.bool_] | None] = dict.fromkeys(TOKEN_COLUMNS)
    try:
        table = np.array(rows, dtype=np.int64).reshape(len(rows), len(TOKEN_COLUMNS))
        tokens = {name: table[:, index] for index, name in enumerate(TOKEN_COLUMNS)}
    except (TypeError, OverflowError):  # a missing (None) count, or a huge one in a direct draft
        columns = zip(*rows, strict=True) if rows else [()] * len(TOKEN_COLUMNS)
        for name, column in zip(TOKEN_COLUMNS, columns, strict=True):
            tokens[name], missing[name] = _int64_or_missing(column)
    sizes = np.fromiter(map(len, (draft.read_counts for draft in drafts)), np.int64, len(drafts))
    flat = list(chain.from_iterable(draft.read_counts for draft in drafts))
    values = _int64(flat[1::2])  # type: ignore[arg-type]  # every second item is a count
    sizes //= 2

    def field(index: int) -> str:
        return str(flat[2 * index])

    input_missing = missing["input_tokens"]
    return Counts(
        tokens=tokens,
        read=ReadCounts(
            rows=np.repeat(np.arange(len(drafts), dtype=np.int64), sizes),
            values=values,
            field=field,
        ),
        input_missing=input_missing,
        output_missing=missing["output_tokens"],
        has_prompt=(
            np.fromiter((d.messages is not None for d in drafts), np.bool_, len(drafts))
            if input_missing is not None
            else None
        ),
    )


_canonical = operator.attrgetter(*TOKEN_COLUMNS)


def _int64_or_missing(
    values: Sequence[int | None],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_] | None]:
    """A count column as int64 (0 where None) and where it is None (None when nowhere)."""
    try:
        return _int64(values), None  # type: ignore[arg-type]  # None raises TypeError
    except TypeError:
        absent = np.fromiter((value is None for value in values), np.bool_, len(values))
        return _int64([0 if value is None else value for value in values]), absent


def _int64(values: Sequence[int]) -> npt.NDArray[np.int64]:
    """Counts as int64; counts read from logs are clipped already, but a draft built directly may
    hold any int."""
    try:
        return np.asarray(values, dtype=np.int64)
    except OverflowError:
        return np.asarray([clip(value) for value in values], dtype=np.int64)


@dataclass(frozen=True)
class RowGroups:
    """Grouping values of a run of columnar rows: row i has `values[index[i]]` (-1: none). Rows
    mostly share a few distinct sets (one per feature/tenant), so each set is kept once."""

    values: list[dict[str, str]]
    index: npt.NDArray[np.int32]

    def slice(self, start: int, stop: int) -> RowGroups:
        return RowGroups(self.values, self.index[start:stop])


class ColumnRows(Protocol):
    """A run of rows read the columnar way (costaudit.ingest.columnar.ColumnBlock)."""

    @property
    def groups(self) -> RowGroups | None: ...

    @property
    def counts(self) -> Counts: ...

    @property
    def timestamp_ns(self) -> npt.NDArray[np.int64]: ...

    @property
    def batch(self) -> npt.NDArray[np.bool_]: ...

    def judge(self) -> Verdict:
        """The validator's verdict on the rows' counts."""
        ...

    def models(self, keep: npt.NDArray[np.bool_]) -> tuple[list[str], npt.NDArray[np.int32]]:
        """The model names of the rows in `keep` (first-seen order) and each such row's index."""
        ...


def _piece_tokens(piece: ColumnPiece, name: str) -> npt.NDArray[np.int64]:
    return piece.tokens[name]


@dataclass(frozen=True)
class ColumnPiece:
    """Validated columnar rows, waiting in a chunk for their turn to be stored."""

    model: npt.NDArray[np.int32]
    source: int
    timestamp: npt.NDArray[np.int64]
    tokens: dict[str, npt.NDArray[np.int64]]
    batch: npt.NDArray[np.bool_]
    groups: RowGroups | None = None
    """The rows' grouping values, keys already admitted (see TableBuilder._admit_group_keys)."""

    def __len__(self) -> int:
        return len(self.model)

    def group_codes(self, key: str, categories: Categories) -> npt.NDArray[np.int32]:
        """Each row's code for grouping key `key`, new values coded in the order rows show them."""
        if self.groups is None:
            return np.full(len(self), -1, dtype=np.int32)
        names = list(map(operator.methodcaller("get", key), self.groups.values))
        found = list(map(categories.codes.get, names))
        if None in found:  # new values (coded in order) or sets without the key
            found = [
                categories.code(name) if code is None else code
                for name, code in zip(names, found, strict=True)
            ]
        codes = np.array([*found, -1], dtype=np.int32)
        return codes[self.groups.index]


def _keys_of(sets: list[dict[str, str]], numbers: list[int]) -> set[str]:
    """Every key of the sets `numbers` (looked up and merged in C: rows may carry a set each)."""
    picked = operator.itemgetter(*numbers)(sets) if len(numbers) > 1 else (sets[numbers[0]],)
    return set().union(*picked)


def _used_sets(groups: RowGroups, order: list[int]) -> RowGroups:
    """`groups` with the sets no row uses emptied (their values must never be coded), when every
    key of the used ones is admitted already: the common case once a log's first rows are in,
    and a cheap one where rows carry many distinct sets (a user id in each)."""
    if len(order) == len(groups.values):
        return groups
    admitted: list[dict[str, str]] = [{}] * len(groups.values)
    for number in order:
        admitted[number] = groups.values[number]
    return RowGroups(admitted, groups.index)


def prompt_hash(model: str | None, messages: Sequence[Message]) -> int:
    """Stable 64-bit key of the exact prompt, for exact-match response caching.

    The text is hashed as is, as an exact-match cache keys the request it receives: a prompt that
    differs only in whitespace is a different key (and a miss) there too.
    """
    digest = hashlib.blake2b(digest_size=8)
    digest.update((model or "").encode())
    for role, content, name in messages:
        digest.update(b"\x1e" + role.encode() + b"\x1f" + (name or "").encode() + b"\x1f")
        digest.update(content.encode())
    value = int.from_bytes(digest.digest(), "little")
    return value or 1


def _complexity_inputs(messages: Sequence[Message]) -> tuple[str, int, float]:
    """The text a router sees (the last user turn, or the whole prompt), the number of user turns,
    and that text's share of the prompt's characters (to apportion the prompt's tokens to it)."""
    user_turns = [content for role, content, _ in messages if role == "user"]
    text = user_turns[-1] if user_turns else "\n".join(content for _, content, _ in messages)
    total = sum(len(content) for _, content, _ in messages)
    return text, max(1, len(user_turns)), len(text) / total if total else 1.0


@dataclass
class _Pending:
    """Rows of the current chunk whose token counts are still to be counted."""

    rows: list[int] = field(default_factory=list)
    encodings: list[str] = field(default_factory=list)
    prompts: list[PromptPieces | None] = field(default_factory=list)
    completions: list[str | None] = field(default_factory=list)


@dataclass
class _Chunk:
    """Rows on their way into the table: drafts as lists, columnar rows as pieces, in log order.

    The lists hold one entry per draft (`row` below always counts drafts); `segments` says how
    draft runs and column pieces interleave.
    """

    lines: list[int] = field(default_factory=list)
    timestamps: list[object] = field(default_factory=list)
    relative: list[bool] = field(default_factory=list)
    models: list[int] = field(default_factory=list)
    sources: list[int] = field(default_factory=list)
    tokens: dict[str, list[int]] = field(
        default_factory=lambda: {name: [] for name in TOKEN_COLUMNS}
    )
    batch: list[bool] = field(default_factory=list)
    token_source: list[int] = field(default_factory=list)
    complexity: list[float] = field(default_factory=list)
    complexity_text: dict[int, tuple[str, int]] = field(default_factory=dict)
    scorer_text: dict[int, tuple[str, int]] = field(default_factory=dict)
    """Rows to score with the fitted scorers (text is dropped once they are scored)."""
    scores: dict[str, list[float]] = field(default_factory=dict)
    kept_prompts: dict[int, tuple[str, int, float]] = field(default_factory=dict)
    """Labelled rows' prompts, kept only when fitting a scorer (`keep_labelled_prompts`)."""
    visible_share: dict[int, float] = field(default_factory=dict)
    """Share of each scored row's prompt characters in the text a router sees."""
    prompt_hash: list[int] = field(default_factory=list)
    groups: dict[str, list[str | None]] = field(default_factory=dict)
    quality: dict[str, list[float]] = field(default_factory=dict)
    prefix: list[list[int] | None] = field(default_factory=list)
    text_chars: int = 0
    """Prompt text held by this chunk (it is dropped when the chunk is flushed)."""
    measure: dict[int, PromptPieces] = field(default_factory=dict)
    """Rows whose prompt is counted with every offline encoding (for tokenizer ratios)."""
    measured: dict[str, npt.NDArray[np.int64]] = field(default_factory=dict)
    prefix_text: dict[int, tuple[str, str]] = field(default_factory=dict)
    """Rows whose prompt is to be hashed: (encoding, full prompt text)."""
    pending: _Pending = field(default_factory=_Pending)
    segments: list[int | ColumnPiece] = field(default_factory=list)
    """Column pieces in the order they were added, each after the number of draft rows added
    before it (nothing is noted per draft: drafts between two pieces are one run)."""
    column_rows: int = 0

    def __len__(self) -> int:
        return len(self.lines) + self.column_rows

    def has_background_work(self) -> bool:
        """Whether any draft needs tokens counted, a complexity score, a measurement or hashing."""
        return bool(
            self.pending.rows
            or self.complexity_text
            or self.scorer_text
            or self.measure
            or self.prefix_text
        )

    def add_piece(self, piece: ColumnPiece) -> None:
        self.segments += (len(self.lines), piece)
        self.column_rows += len(piece)

    def assemble(
        self,
        keep: npt.NDArray[np.bool_],
        drafts: npt.NDArray[Any],
        piece_values: Callable[[ColumnPiece], npt.NDArray[Any]],
    ) -> npt.NDArray[Any]:
        """One column of the chunk in row order: the kept draft rows' `drafts` values and each
        piece's `piece_values`."""
        if not self.column_rows:
            return drafts[keep]
        parts = []
        start = 0
        for segment in self.segments:
            if isinstance(segment, int):
                parts.append(drafts[start:segment][keep[start:segment]])
                start = segment
            else:
                parts.append(piece_values(segment))
        parts.append(drafts[start:][keep[start:]])
        return np.concatenate(parts)


@dataclass(frozen=True)
class _InFlight:
    """A chunk whose tokens are being counted in the background."""

    chunk: _Chunk
    scored_rows: list[int]
    partial_scores: Deferred[list[float]] | None
    """Complexity of those rows before the length signal (the length needs the counted tokens)."""
    counting: Future[None] | None
    scorer_rows: list[int] = field(default_factory=list)
    fitted_parts: dict[str, Deferred[list[tuple[float, float]]]] = field(default_factory=dict)


class Categories:
    """A growing string → code dictionary, so categorical columns are built without re-hashing."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}
        self.names: list[str] = []

    def code(self, value: str | None) -> int:
        if value is None:
            return -1
        found = self.codes.get(value)
        if found is None:
            found = self.codes[value] = len(self.names)
            self.names.append(value)
        return found

    def column(self, codes: npt.NDArray[np.int32]) -> Category:
        """A categorical column whose categories are the values seen, in first-seen order."""
        return Category(list(self.names), codes)


@dataclass
class RequestTableParts:
    """Finished columns, chunk by chunk."""

    arrays: dict[str, list[npt.NDArray[np.generic]]] = field(default_factory=dict)
    groups: dict[str, list[npt.NDArray[np.int32]]] = field(default_factory=dict)
    quality: dict[str, list[npt.NDArray[np.float64]]] = field(default_factory=dict)
    scores: dict[str, list[npt.NDArray[np.float32]]] = field(default_factory=dict)
    prefix_counts: list[npt.NDArray[np.int64]] = field(default_factory=list)
    prefix_hashes: list[npt.NDArray[np.uint64]] = field(default_factory=list)
    rows: int = 0

    def add(self, name: str, values: npt.NDArray[np.generic]) -> None:
        self.arrays.setdefault(name, []).append(values)


class TableBuilder:
    """Collects drafts into the canonical request table in bounded chunks."""

    def __init__(
        self,
        problems: Problems,
        tokenizer_for: Callable[[str | None], str],
        *,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        text_block_tokens: int | None = None,
        measure_encodings: tuple[str, ...] = (),
        workers: Workers | None = None,
        scorers: Mapping[str, FittedScorer] | None = None,
        keep_labelled_prompts: bool = False,
    ) -> None:
        self.problems = problems
        self.tokenizer_for = tokenizer_for
        self.chunk_rows = chunk_rows
        self.models = Categories()
        self.sources = Categories()
        self.group_values: dict[str, Categories] = {}
        self.parts = RequestTableParts()
        self.estimated_encodings: set[str] = set()
        self.prefix_block_tokens: int | None = None
        self.text_block_tokens = text_block_tokens
        self.measure_encodings = tuple(e for e in measure_encodings if not encoder_for(e).estimated)
        self.measured: dict[str, list[npt.NDArray[np.int64]]] = {
            e: [] for e in self.measure_encodings
        }

        self.scorers = dict(scorers or {})
        """Fitted scorers applied to every prompt while it is read, by column name."""
        self.keep_labelled_prompts = keep_labelled_prompts
        self.labelled_prompts: list[tuple[str, int, float] | None] = []
        """With `keep_labelled_prompts`: each stored row's (last user turn, user turns, its share of the
        prompt's characters) when the row has quality labels, else None — in memory only, for fitting."""
        self.parts.scores = {name: [] for name in self.scorers}

        self._chunk = _Chunk()
        self._taken = 0
        """Rows handed on by `take_stored` (still counted as read)."""
        self._in_flight: _InFlight | None = None
        self._workers = workers or Workers()
        self._waiting: list[Draft | str] = []
        """Drafts (and reasons of skipped records, to keep their order) not yet judged, with their
        file and line in the lists beside."""
        self._waiting_files: list[str] = []
        self._waiting_lines: list[int | None] = []
        self._waiting_drafts = 0

    def add(self, draft: Draft, file: str, line: int) -> None:
        """Queue one draft; it is judged with the next batch, then appended or skipped and counted."""
        self._waiting.append(draft)
        self._waiting_files.append(file)
        self._waiting_lines.append(line)
        self._waiting_drafts += 1
        if self._waiting_drafts >= JUDGE_ROWS:
            self._judge_waiting()

    def skip(self, file: str, line: int | None, reason: str) -> None:
        """Count one record skipped by its reader, in order with the drafts before it."""
        if self._waiting:
            self._waiting.append(reason)
            self._waiting_files.append(file)
            self._waiting_lines.append(line)
        else:
            self.problems.skip(file, line, reason)

    def add_columns(self, rows: ColumnRows, file: str, lines: npt.NDArray[np.int64]) -> None:
        """Judge a run of columnar rows (their line numbers in `lines`) and append the good ones."""
        self._judge_waiting()
        verdict = rows.judge()
        for row, reason in verdict.skipped():
            self.problems.skip(file, int(lines[row]), reason)
        keep = verdict.keep
        kept = int(keep.sum())
        if not kept:
            return
        names, index = rows.models(keep)
        codes = np.fromiter((self.models.code(name) for name in names), np.int32, len(names))
        every = kept == len(keep)
        groups = rows.groups
        if groups is not None:
            groups = self._admit_group_keys(
                RowGroups(groups.values, groups.index if every else groups.index[keep])
            )
        piece = ColumnPiece(
            model=codes[index],
            source=self.sources.code(file),
            timestamp=rows.timestamp_ns if every else rows.timestamp_ns[keep],
            tokens={
                name: values if every else values[keep]
                for name, values in rows.counts.tokens.items()
            },
            batch=rows.batch if every else rows.batch[keep],
            groups=groups,
        )
        chunk = self._chunk
        chunk.add_piece(piece)
        if len(chunk) >= self.chunk_rows:
            self._hand_off()

    def _admit_group_keys(self, groups: RowGroups) -> RowGroups:
        """The rows' groups with each key admitted as `_append_groups` admits a draft's: reserved
        names are dropped, keys past MAX_GROUP_COLUMNS are dropped with a note per row. Sets are
        taken in the order rows first show them, which is the order drafts would register keys."""
        used, first = np.unique(groups.index[groups.index >= 0], return_index=True)
        order = used[np.argsort(first)].tolist()
        if order and _keys_of(groups.values, order) <= self.group_values.keys():
            return _used_sets(groups, order)
        rows_with = np.bincount(groups.index[groups.index >= 0], minlength=len(groups.values))
        admitted: list[dict[str, str]] = [{} for _ in groups.values]
        for number in order:
            for key, value in groups.values[number].items():
                if key in RESERVED_COLUMNS:
                    continue
                if len(self.group_values) >= MAX_GROUP_COLUMNS and key not in self.group_values:
                    self.problems.note(
                        f"more than {MAX_GROUP_COLUMNS} grouping keys: extra keys ignored",
                        int(rows_with[number]),
                    )
                    continue
                self.group_values.setdefault(key, Categories())
                admitted[number][key] = value
        return RowGroups(admitted, groups.index)

    def _judge_waiting(self) -> None:
        """Judge the queued drafts in one pass; append or skip each, and report queued skips, in order."""
        if not self._waiting:
            return
        waiting, self._waiting = self._waiting, []
        files, self._waiting_files = self._waiting_files, []
        lines, self._waiting_lines = self._waiting_lines, []
        drafts = (
            waiting
            if self._waiting_drafts == len(waiting)
            else [item for item in waiting if isinstance(item, Draft)]
        )
        self._waiting_drafts = 0
        verdict = judge(draft_counts(drafts))  # type: ignore[arg-type]
        reasons = verdict.reason.tolist()
        index = 0
        for item, file, line in zip(waiting, files, lines, strict=True):
            if isinstance(item, str):
                self.problems.skip(file, line, item)
                continue
            code = reasons[index]
            index += 1
            if code >= 0:
                self.problems.skip(file, line, verdict.reasons[code])
            else:
                self._append(item, file, line or 0)

    def _append(self, draft: Draft, file: str, line: int) -> None:
        chunk = self._chunk
        row = len(chunk.lines)
        chunk.lines.append(line)
        chunk.timestamps.append(draft.timestamp)
        chunk.relative.append(draft.relative_time)
        chunk.models.append(self.models.code(draft.model))
        chunk.sources.append(self.sources.code(file))
        self._append_tokens(chunk, row, draft)
        chunk.batch.append(draft.batch)
        self._append_prompt_features(chunk, row, draft)
        self._append_groups(chunk, row, draft.groups)
        self._append_quality(chunk, row, draft.quality)
        chunk.prefix.append(self._prefix(draft))
        if self.text_block_tokens is not None and draft.prefix_hashes is None and draft.messages:
            text = "\n".join(f"{role}\n{content}" for role, content, _ in draft.messages)
            chunk.prefix_text[row] = (self.tokenizer_for(draft.model), text)
        if len(self.measure_encodings) > 1 and draft.messages:
            chunk.measure[row] = chat_prompt_pieces(draft.messages)
        if draft.messages:
            chunk.text_chars += sum(len(content) for _, content, _ in draft.messages)
        if len(chunk) >= self.chunk_rows or chunk.text_chars >= TEXT_CHARS_PER_CHUNK:
            self._hand_off()

    def _append_tokens(self, chunk: _Chunk, row: int, draft: Draft) -> None:
        tokens = chunk.tokens
        needs_input = draft.input_tokens is None
        needs_output = draft.output_tokens is None
        tokens["input_tokens"].append(draft.input_tokens or 0)
        tokens["cached_input_tokens"].append(draft.cached_input_tokens)
        tokens["cache_write_tokens"].append(draft.cache_write_tokens)
        tokens["cache_write_1h_tokens"].append(draft.cache_write_1h_tokens)
        tokens["output_tokens"].append(draft.output_tokens or 0)
        tokens["reasoning_tokens"].append(draft.reasoning_tokens)
        tokens["audio_input_tokens"].append(draft.audio_input_tokens)
        chunk.token_source.append(USAGE)
        if needs_output and draft.completion is None and not needs_input:
            self.problems.note("records with usage but no output count: output counted as 0")
        if needs_input or (needs_output and draft.completion is not None):
            pending = chunk.pending
            pending.rows.append(row)
            pending.encodings.append(self.tokenizer_for(draft.model))
            pending.prompts.append(
                chat_prompt_pieces(draft.messages)
                if needs_input and draft.messages is not None
                else None
            )
            pending.completions.append(draft.completion if needs_output else None)
            if needs_output and draft.completion is None:
                self.problems.note("requests logged without a response: output tokens counted as 0")

    def _append_prompt_features(self, chunk: _Chunk, row: int, draft: Draft) -> None:
        messages = draft.messages
        if messages:
            chunk.prompt_hash.append(prompt_hash(draft.model, messages))
            text, turns, share = _complexity_inputs(messages)
            chunk.visible_share[row] = share
            if draft.complexity is None:
                chunk.complexity_text[row] = (text, turns)
            if self.scorers:
                chunk.scorer_text[row] = (text, turns)
            if self.keep_labelled_prompts and draft.quality:
                chunk.kept_prompts[row] = (text, turns, share)
        else:
            chunk.prompt_hash.append(0)
        chunk.complexity.append(np.nan if draft.complexity is None else draft.complexity)

    def _append_groups(self, chunk: _Chunk, row: int, groups: dict[str, str] | None) -> None:
        if groups:
            for key, value in groups.items():
                column = chunk.groups.get(key)
                if column is None:
                    if key in RESERVED_COLUMNS:
                        continue
                    if len(self.group_values) >= MAX_GROUP_COLUMNS and key not in self.group_values:
                        self.problems.note(
                            f"more than {MAX_GROUP_COLUMNS} grouping keys: extra keys ignored"
                        )
                        continue
                    column = chunk.groups[key] = [None] * row
                    self.group_values.setdefault(key, Categories())
                column.append(value)
        for column in chunk.groups.values():
            if len(column) <= row:
                column.append(None)

    def _append_quality(self, chunk: _Chunk, row: int, quality: dict[str, float] | None) -> None:
        for model, value in (quality or {}).items():
            column = chunk.quality.get(model)
            if column is None:
                column = chunk.quality[model] = [np.nan] * row
            column.append(value)
        for column in chunk.quality.values():
            if len(column) <= row:
                column.append(np.nan)

    def _prefix(self, draft: Draft) -> list[int] | None:
        if draft.prefix_hashes is None:
            return None
        if self.prefix_block_tokens is None:
            self.prefix_block_tokens = draft.prefix_block_tokens
        elif draft.prefix_block_tokens != self.prefix_block_tokens:
            self.problems.note(
                "prefix hashes with a different block size than earlier records were ignored"
            )
            return None
        return draft.prefix_hashes

    def flush(self) -> None:
        """Finish every chunk still open: judge waiting drafts, count pending tokens, convert
        timestamps, store arrays."""
        self._judge_waiting()
        self._hand_off()
        self._complete_in_flight()

    def _hand_off(self) -> None:
        """Count the current chunk's tokens in the background while the reader goes on.

        tiktoken releases the GIL while it encodes, so the counting of one chunk overlaps with the
        scoring of its text (in a worker process for large chunks) and with the parsing of the next
        chunk; the chunk handed off before is completed here, so at most two chunks hold text. A
        chunk with nothing to count (usage only, or columnar rows) is stored at once.
        """
        chunk = self._chunk
        if not len(chunk):
            return
        self._chunk = _Chunk()
        if not chunk.has_background_work():
            self._complete_in_flight()
            self._measure(chunk)
            self._complete(_InFlight(chunk, [], None, None))
            return
        worker = ThreadPoolExecutor(max_workers=1)
        counting = worker.submit(self._count_pending, chunk)
        worker.shutdown(wait=False)
        rows = list(chunk.complexity_text)
        texts = [chunk.complexity_text[row] for row in rows]
        scoring = self._workers.submit(len(texts), text_parts, texts)
        chunk.complexity_text = {}
        scorer_rows = list(chunk.scorer_text)
        scorer_texts = [chunk.scorer_text[row] for row in scorer_rows]
        # Imported here: only runs with a fitted scorer need it, and its models cost every run's
        # start-up otherwise.
        from costaudit.core.router_fit import fitted_text_parts

        fitted = {
            name: self._workers.submit(len(scorer_texts), fitted_text_parts, scorer, scorer_texts)
            for name, scorer in self.scorers.items()
        }
        chunk.scorer_text = {}
        self._complete_in_flight()
        self._in_flight = _InFlight(chunk, rows, scoring, counting, scorer_rows, fitted)

    def close(self) -> None:
        """Stop the worker processes, if any were started."""
        self._workers.close()

    def _complete_in_flight(self) -> None:
        in_flight = self._in_flight
        if in_flight is not None:
            self._in_flight = None
            self._complete(in_flight)

    def _complete(self, in_flight: _InFlight) -> None:
        chunk = in_flight.chunk
        if in_flight.counting is not None:
            in_flight.counting.result()
        input_tokens = chunk.tokens["input_tokens"]
        shares = chunk.visible_share
        if in_flight.partial_scores is not None:
            scores = in_flight.partial_scores.result()
            for row, score in zip(in_flight.scored_rows, scores, strict=True):
                chunk.complexity[row] = with_length(
                    score, visible_tokens(input_tokens[row], shares[row])
                )
        for name, fitted in in_flight.fitted_parts.items():
            scorer = self.scorers[name]
            column = chunk.scores[name] = [np.nan] * len(chunk.lines)
            for row, part in zip(in_flight.scorer_rows, fitted.result(), strict=True):
                column[row] = scorer.with_length(
                    part, visible_tokens(input_tokens[row], shares[row])
                )
        self._hash_prompts(chunk)

        timestamps, bad_time = to_epoch_ns(chunk.timestamps)
        keep = ~bad_time
        for row in np.flatnonzero(bad_time).tolist():
            self.problems.skip(
                self.sources.names[chunk.sources[row]], chunk.lines[row], "unreadable timestamp"
            )
        self._store(chunk, timestamps, keep)

    def _count_pending(self, chunk: _Chunk) -> None:
        """Runs in a background thread: touches only its own chunk (and adds to a set)."""
        self._measure(chunk)
        pending = chunk.pending
        if not pending.rows:
            return
        by_encoding: dict[str, list[int]] = {}
        for index, encoding in enumerate(pending.encodings):
            by_encoding.setdefault(encoding, []).append(index)
        for encoding, indexes in by_encoding.items():
            encoder = encoder_for(encoding)
            if encoder.estimated:
                self.estimated_encodings.add(encoding)
            source = ESTIMATED if encoder.estimated else TOKENIZED
            prompt_idx = [i for i in indexes if pending.prompts[i] is not None]
            prompts = [p for p in (pending.prompts[i] for i in prompt_idx) if p is not None]
            completion_idx = [i for i in indexes if pending.completions[i] is not None]
            completions = [pending.completions[i] or "" for i in completion_idx]
            prompt_texts = piece_texts(prompts)
            counts = self._workers.count_tokens(encoding, [*prompt_texts, *completions])
            prompt_counts = piece_totals(prompts, counts[: len(prompt_texts)])
            for i, count in zip(prompt_idx, prompt_counts.tolist(), strict=True):
                row = pending.rows[i]
                chunk.tokens["input_tokens"][row] = count
                chunk.token_source[row] = source
            completion_counts = counts[len(prompt_texts) :]
            for i, count in zip(completion_idx, completion_counts.tolist(), strict=True):
                row = pending.rows[i]
                chunk.tokens["output_tokens"][row] = count
                chunk.token_source[row] = source

    def _hash_prompts(self, chunk: _Chunk) -> None:
        """Chained block hashes of prompt text, so prompt caching can be replayed without the text."""
        if not chunk.prefix_text or self.text_block_tokens is None:
            return
        if self.prefix_block_tokens not in (None, self.text_block_tokens):
            self.problems.note(
                "prompt text not hashed: the logs already carry prefix hashes of another block size"
            )
            return
        self.prefix_block_tokens = self.text_block_tokens
        for row, (encoding, text) in chunk.prefix_text.items():
            ids = encoder_for(encoding).token_ids(text)
            chunk.prefix[row] = chained_block_hashes(ids, self.text_block_tokens).tolist()

    def _measure(self, chunk: _Chunk) -> None:
        """Prompt tokens under every offline encoding, so a re-routed request's count can be rescaled
        by the ratio measured on its own text."""
        if len(self.measure_encodings) < 2:
            return
        rows = list(chunk.measure)
        pieces = [chunk.measure[row] for row in rows]
        for encoding in self.measure_encodings:
            column = np.zeros(len(chunk.lines), dtype=np.int64)
            if rows:
                column[rows] = count_pieces(encoder_for(encoding), pieces)
            chunk.measured[encoding] = column

    def _store(
        self, chunk: _Chunk, timestamps: npt.NDArray[np.int64], keep: npt.NDArray[np.bool_]
    ) -> None:
        """Append the chunk's kept draft rows and its column pieces, in order, to the table parts."""
        parts = self.parts

        def put(
            name: str,
            drafts: npt.NDArray[Any],
            pieces: Callable[[ColumnPiece], npt.NDArray[Any]],
        ) -> None:
            parts.add(name, chunk.assemble(keep, drafts, pieces))

        def constant(value: object, dtype: npt.DTypeLike) -> Callable[[ColumnPiece], Any]:
            return lambda piece: np.full(len(piece), value, dtype=dtype)

        put("timestamp", timestamps, lambda piece: piece.timestamp)
        put("relative_time", np.asarray(chunk.relative, np.bool_), constant(False, np.bool_))
        put("model", np.asarray(chunk.models, np.int32), lambda piece: piece.model)
        put(
            "source",
            np.asarray(chunk.sources, np.int32),
            lambda piece: np.full(len(piece), piece.source, np.int32),
        )
        for name, values in chunk.tokens.items():
            put(name, np.asarray(values, np.int64), functools.partial(_piece_tokens, name=name))
        put("batch", np.asarray(chunk.batch, np.bool_), lambda piece: piece.batch)
        put("token_source", np.asarray(chunk.token_source, np.int8), constant(USAGE, np.int8))
        put("complexity", np.asarray(chunk.complexity, np.float32), constant(np.nan, np.float32))
        put("prompt_hash", np.asarray(chunk.prompt_hash, np.uint64), constant(0, np.uint64))
        stored_rows = int(keep.sum()) + chunk.column_rows
        for name, stored in parts.scores.items():
            scored = chunk.scores.get(name)
            score_values = (
                np.asarray(scored, dtype=np.float32)
                if scored is not None
                else np.full(len(chunk.lines), np.nan, dtype=np.float32)
            )
            stored.append(chunk.assemble(keep, score_values, constant(np.nan, np.float32)))
        if self.keep_labelled_prompts:
            prompts = np.empty(len(chunk.lines), dtype=object)
            for row, prompt in chunk.kept_prompts.items():
                prompts[row] = prompt
            kept = chunk.assemble(keep, prompts, lambda piece: np.full(len(piece), None, object))
            self.labelled_prompts.extend(kept.tolist())
        self._store_quality(chunk, keep, stored_rows)
        for encoding in self.measured:
            drafts = chunk.measured.get(encoding, np.zeros(len(chunk.lines), np.int64))
            self.measured[encoding].append(chunk.assemble(keep, drafts, constant(0, np.int64)))
        self._store_prefix(chunk, keep)
        for key, categories in self.group_values.items():
            if key not in parts.groups:
                parts.groups[key] = [np.full(parts.rows, -1, dtype=np.int32)]
            parts.groups[key].append(self._group_codes(chunk, keep, key, categories))
        parts.rows += stored_rows

    def _group_codes(
        self, chunk: _Chunk, keep: npt.NDArray[np.bool_], key: str, categories: Categories
    ) -> npt.NDArray[np.int32]:
        """The chunk's codes for one grouping key, values coded in row order (drafts and pieces
        alike); every draft's value is coded, kept or not, as before a row is dropped."""
        column = chunk.groups.get(key)

        def drafts(start: int, stop: int | None) -> npt.NDArray[np.int32]:
            if column is None:
                return np.full(int(keep[start:stop].sum()), -1, dtype=np.int32)
            values = column[start:stop]
            codes = np.fromiter(map(categories.code, values), dtype=np.int32, count=len(values))
            return codes[keep[start:stop]]

        if not chunk.column_rows:
            return drafts(0, None)
        parts = []
        start = 0
        for segment in chunk.segments:
            if isinstance(segment, int):
                parts.append(drafts(start, segment))
                start = segment
            else:
                parts.append(segment.group_codes(key, categories))
        parts.append(drafts(start, None))
        return np.concatenate(parts)

    def _store_quality(self, chunk: _Chunk, keep: npt.NDArray[np.bool_], stored: int) -> None:
        parts = self.parts
        for model in chunk.quality.keys() | parts.quality.keys():
            if model not in parts.quality:
                parts.quality[model] = [np.full(parts.rows, np.nan)]
            column = chunk.quality.get(model)
            if column is None:
                parts.quality[model].append(np.full(stored, np.nan))
                continue
            drafts = np.asarray(column, dtype=np.float64)
            parts.quality[model].append(
                chunk.assemble(keep, drafts, lambda piece: np.full(len(piece), np.nan))
            )

    def _store_prefix(self, chunk: _Chunk, keep: npt.NDArray[np.bool_]) -> None:
        counts = np.fromiter(
            (len(h) if h is not None else 0 for h in chunk.prefix),
            dtype=np.int64,
            count=len(chunk.prefix),
        )
        self.parts.prefix_counts.append(
            chunk.assemble(keep, counts, lambda piece: np.zeros(len(piece), np.int64))
        )
        if counts[keep].any():
            kept = compress(chunk.prefix, keep.tolist())
            flat = [value for hashes in kept if hashes for value in hashes]
            self.parts.prefix_hashes.append(np.asarray(flat, dtype=np.uint64))

    def prefix_blocks(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64], int] | None:
        """(offsets, hashes, block tokens) of the stored rows, or None when no record had hashes."""
        if self.prefix_block_tokens is None or not self.parts.prefix_hashes:
            return None
        counts = np.concatenate(self.parts.prefix_counts)
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return offsets, np.concatenate(self.parts.prefix_hashes), self.prefix_block_tokens

    @property
    def rows(self) -> int:
        """Rows read so far (for progress), stored or not yet stored."""
        in_flight = len(self._in_flight.chunk) if self._in_flight is not None else 0
        return self._taken + self.parts.rows + in_flight + len(self._chunk) + self._waiting_drafts

    def finish(self) -> RequestTable:
        """The canonical request table (see module docstring for the column meanings)."""
        self.flush()
        self.close()
        return self._table(self.parts)

    @property
    def stored_rows(self) -> int:
        """Rows finished and stored since the last `take_stored`."""
        return self.parts.rows

    def take_stored(self) -> RequestTable:
        """The rows finished so far as a table of their own, let go of here: a log read partition by
        partition never holds more than one partition (plus the chunks still being counted)."""
        stored = self._table(self.parts)
        prefix = self.prefix_blocks()
        if prefix is not None:
            stored = replace(stored, prefix_blocks=PrefixBlocks(*prefix))
        self._taken += len(stored)
        self.parts = RequestTableParts(scores={name: [] for name in self.scorers})
        for encoding in self.measured:
            self.measured[encoding] = []
        return stored

    def _table(self, parts: RequestTableParts) -> RequestTable:

        def joined(name: str, dtype: npt.DTypeLike) -> npt.NDArray[Any]:
            pieces = parts.arrays.get(name)
            return (
                np.concatenate(pieces).astype(dtype, copy=False)
                if pieces
                else np.zeros(0, dtype=dtype)
            )

        groups = {}
        for key, categories in self.group_values.items():
            pieces = parts.groups.get(key, [])
            codes = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int32)
            if len(codes) < parts.rows:
                codes = np.concatenate(
                    [codes, np.full(parts.rows - len(codes), -1, dtype=np.int32)]
                )
            groups[key] = categories.column(codes)
        return RequestTable(
            timestamp_ns=joined("timestamp", np.int64),
            relative_time=joined("relative_time", np.bool_),
            model=self.models.column(joined("model", np.int32)),
            tokens={name: joined(name, np.int64) for name in TOKEN_COLUMNS},
            batch=joined("batch", np.bool_),
            token_source=joined("token_source", np.int8),
            complexity=joined("complexity", np.float32),
            prompt_hash=joined("prompt_hash", np.uint64),
            source=self.sources.column(joined("source", np.int32)),
            groups=groups,
            measured={
                encoding: np.concatenate(measured)
                for encoding, measured in self.measured.items()
                if measured
            },
            quality={model: np.concatenate(labels) for model, labels in parts.quality.items()},
            scores={
                name: np.concatenate(scores) if scores else np.zeros(0, dtype=np.float32)
                for name, scores in parts.scores.items()
            },
        )
