"""Save and load the canonical request table as Parquet (`analyze --save-workload`, `simulate --workload`).

The file carries no prompt text — only counts, scores, hashes and grouping values — so it can be shared
for simulation without sharing prompts. Chained prefix-block hashes (when the logs had prompt text or
hashes) are kept in a list column so prompt caching can be replayed from the saved file.

Columns are written straight from the table's arrays with pyarrow (text columns dictionary-encoded), and
read back the same way: no DataFrame in between.

A saved workload is input like a log and is checked as strictly on load (`_check`): every column
has the type costaudit writes, and each token count lies between 0 and MAX_TOKENS (10^12, more than
any single call carries) and passes the same consistency rules as a log record. Unlike a log, whose
bad records are skipped and counted, a workload file is written by costaudit itself, so any bad
value means the file was damaged or altered: it is refused whole (exit 3), naming the column and
the first row at fault.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from costaudit import __version__
from costaudit.core.arrays import compact, constant
from costaudit.core.columns import (
    MEASURED_PREFIX,
    QUALITY_PREFIX,
    RESERVED_COLUMNS,
    TOKEN_COLUMNS,
    TOKEN_SOURCES,
)
from costaudit.core.prompt_cache import Blocks, PrefixBlocks, StoredBlocks, in_memory
from costaudit.core.request_table import NAT, Category, RequestTable
from costaudit.errors import InputError, Location
from costaudit.fileio import write_file
from costaudit.ingest.validation import CONSISTENCY, MAX_TOKENS, Counts, ReadCounts, judge

WORKLOAD_SCHEMA = "costaudit.workload/1"
METADATA_KEY = b"costaudit"
PREFIX_COLUMN = "prefix_hashes"
OPTIONAL_TOKEN_COLUMNS = ("audio_input_tokens",)
"""Token columns added after workloads were first saved: absent means zero."""
REQUIRED_COLUMNS = (
    "timestamp",
    "model",
    *(name for name in TOKEN_COLUMNS if name not in OPTIONAL_TOKEN_COLUMNS),
    "batch",
)


def _category_array(column: Category) -> pa.Array[Any]:
    codes = pa.array(column.codes, type=pa.int32(), mask=column.codes < 0)
    return pa.DictionaryArray.from_arrays(codes, pa.array(column.names, type=pa.string()))


def _arrow_table(requests: RequestTable) -> pa.Table:
    stamps = pa.array(
        requests.timestamp_ns, type=pa.int64(), mask=requests.timestamp_ns == NAT
    ).cast(pa.timestamp("ns", tz="UTC"))
    token_source = Category(list(TOKEN_SOURCES), requests.token_source.astype(np.int32))
    columns: dict[str, pa.Array[Any]] = {
        "timestamp": stamps,
        "relative_time": pa.array(requests.relative_time),
        "model": _category_array(requests.model),
    }
    for name in TOKEN_COLUMNS:
        columns[name] = pa.array(requests.tokens[name], type=pa.int64())
    columns["batch"] = pa.array(requests.batch)
    columns["token_source"] = _category_array(token_source)
    columns["complexity"] = pa.array(requests.complexity, type=pa.float32())
    columns["prompt_hash"] = pa.array(requests.prompt_hash, type=pa.uint64())
    columns["source"] = _category_array(requests.source)
    for key, column in requests.groups.items():
        columns[key] = _category_array(column)
    for encoding, counts in requests.measured.items():
        columns[f"{MEASURED_PREFIX}{encoding}"] = pa.array(counts, type=pa.int64())
    for model, labels in requests.quality.items():
        columns[f"{QUALITY_PREFIX}{model}"] = pa.array(labels, type=pa.float64())
    blocks = in_memory(requests.prefix_blocks) if requests.prefix_blocks is not None else None
    if blocks is not None:
        columns[PREFIX_COLUMN] = pa.LargeListArray.from_arrays(
            pa.array(blocks.offsets, pa.int64()), pa.array(blocks.hashes, pa.uint64())
        )
    return pa.table(columns)


def save_workload(requests: RequestTable, path: Path, *, sources: list[str]) -> None:
    """Write the table (and its prefix hashes) to `path`; failures name the file (exit 3)."""
    table = _arrow_table(requests)
    meta: dict[str, object] = {
        "schema": WORKLOAD_SCHEMA,
        "version": __version__,
        "sources": sources,
        "rows": len(requests),
    }
    if requests.prefix_blocks is not None:
        meta["prefix_block_tokens"] = requests.prefix_blocks.block_tokens
    metadata = {**(table.schema.metadata or {}), METADATA_KEY: json.dumps(meta).encode()}
    import pyarrow.parquet as pq

    stored = table.replace_schema_metadata(metadata)
    write_file(path, lambda handle: pq.write_table(stored, handle, compression="zstd"))


class WorkloadWriter:
    """Writes a request table handed on partition by partition into one workload file, holding one
    partition at a time: each is first written to a part file beside the target, and `close` copies
    the parts, as row groups, into the file (with the columns every part has: a grouping field first
    seen in a later partition is empty in the earlier ones)."""

    def __init__(self, path: Path, sources: list[str]) -> None:
        import tempfile

        self.path = path
        self.sources = sources
        self.rows = 0
        self.block_tokens: int | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._folder = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        except OSError as exc:
            raise InputError(str(path), f"cannot write: {exc.strerror or exc}") from None
        self._parts: list[Path] = []

    def add(self, requests: RequestTable) -> None:
        import pyarrow.parquet as pq

        if requests.prefix_blocks is not None:
            self.block_tokens = requests.prefix_blocks.block_tokens
        part = self._folder / f"part-{len(self._parts):05d}.parquet"
        try:
            pq.write_table(_arrow_table(requests), part, compression="zstd")
        except OSError as exc:
            raise InputError(str(self.path), f"cannot write: {exc.strerror or exc}") from None
        self._parts.append(part)
        self.rows += len(requests)

    def close(self, sources: list[str] | None = None) -> None:
        """Write the workload file from the parts (`sources`: the inputs, known once read), all of
        it or none (costaudit.fileio)."""
        import pyarrow.parquet as pq

        try:
            meta: dict[str, object] = {
                "schema": WORKLOAD_SCHEMA,
                "version": __version__,
                "sources": sources if sources is not None else self.sources,
                "rows": self.rows,
            }
            if self.block_tokens is not None:
                meta["prefix_block_tokens"] = self.block_tokens
            schema = self._schema().with_metadata({METADATA_KEY: json.dumps(meta).encode()})

            def rows_into(handle: BinaryIO) -> None:
                with pq.ParquetWriter(handle, schema, compression="zstd") as writer:
                    for part in self._parts:
                        writer.write_table(_conformed(pq.read_table(part), schema))

            write_file(self.path, rows_into)
        except OSError as exc:
            raise InputError(str(self.path), f"cannot read back: {exc.strerror or exc}") from None
        finally:
            self.discard()

    def discard(self) -> None:
        """Remove the part files (after `close`, or when the run fails)."""
        import shutil

        shutil.rmtree(self._folder, ignore_errors=True)

    def _schema(self) -> pa.Schema:
        """Every part's columns, in first-seen order, the prefix hashes last."""
        import pyarrow.parquet as pq

        fields: dict[str, pa.Field[Any]] = {}
        for part in self._parts:
            for item in pq.read_schema(part):
                fields.setdefault(item.name, item)
        if not fields:
            fields = {item.name: item for item in _arrow_table(RequestTable.empty()).schema}
        prefix = fields.pop(PREFIX_COLUMN, None)
        if prefix is None and self.block_tokens is not None:
            prefix = pa.field(PREFIX_COLUMN, pa.large_list(pa.uint64()))
        ordered = [*fields.values(), *([prefix] if prefix is not None else [])]
        return pa.schema(ordered)


def _conformed(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """`table` with `schema`'s columns: a missing grouping field all null, missing prefix hashes
    empty lists (a partition without prompt text)."""
    columns = []
    for item in schema:
        if item.name in table.column_names:
            columns.append(table.column(item.name))
        elif item.name == PREFIX_COLUMN:
            offsets = pa.array(np.zeros(table.num_rows + 1, dtype=np.int64), pa.int64())
            empty = pa.array(np.zeros(0, dtype=np.uint64), pa.uint64())
            columns.append(pa.chunked_array([pa.LargeListArray.from_arrays(offsets, empty)]))
        else:
            columns.append(pa.nulls(table.num_rows, type=item.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _category(column: pa.ChunkedArray[Any]) -> Category:
    """A text or dictionary column as a Category (nulls as code −1)."""
    import pyarrow.compute as pc

    array = column.combine_chunks()
    if not pa.types.is_dictionary(array.type):
        array = pc.cast(array, pa.string()).dictionary_encode()
    dictionary = cast("pa.DictionaryArray[Any, Any]", array)
    names = [str(name) for name in dictionary.dictionary.to_pylist()]
    codes = np.asarray(dictionary.indices.fill_null(-1), dtype=np.int32)
    return Category(names, codes)


def _numbers(column: pa.ChunkedArray[Any], dtype: type[np.generic], fill: Any) -> npt.NDArray[Any]:
    return np.asarray(column.fill_null(fill).to_numpy(), dtype=dtype)


def _timestamps(column: pa.ChunkedArray[Any]) -> npt.NDArray[np.int64]:
    if pa.types.is_timestamp(column.type):
        column = column.cast(pa.timestamp("ns", tz="UTC")).cast(pa.int64())
    return _numbers(column, np.int64, NAT)


class _Columns:
    """A workload file read one column at a time: each is read, checked, turned into numpy and its
    Arrow buffers let go before the next is read, so loading never holds the whole Arrow table beside
    the arrays made from it."""

    def __init__(self, path: Path) -> None:
        import pyarrow.parquet as pq

        self.path = path
        try:
            self._file = pq.ParquetFile(path, pre_buffer=False)
        except FileNotFoundError:
            raise InputError(str(path), "file not found") from None
        except (OSError, pa.ArrowInvalid) as exc:
            raise InputError(str(path), f"not a readable Parquet file ({exc})") from None
        self.schema: pa.Schema = self._file.schema_arrow
        self.names: list[str] = list(self.schema.names)
        self.rows: int = self._file.metadata.num_rows

    @property
    def file(self) -> Any:
        """The open `pyarrow.parquet.ParquetFile`."""
        return self._file

    def leaf(self, name: str) -> int:
        """Index of the Parquet leaf column holding `name`'s values."""
        schema = self._file.schema
        paths = [schema.column(index).path for index in range(len(schema))]
        return next(index for index, path in enumerate(paths) if path.split(".")[0] == name)

    def read(self, name: str, row_group: int | None = None) -> pa.ChunkedArray[Any]:
        """One column (of one row group, when given). Arrow's allocator keeps freed memory for
        reuse; what earlier columns left is handed back first, so the process does not keep it."""
        pa.default_memory_pool().release_unused()
        try:
            if row_group is None:
                return self._file.read(columns=[name]).column(0)
            return self._file.read_row_group(row_group, columns=[name]).column(0)
        except (OSError, pa.ArrowInvalid) as exc:
            raise InputError(str(self.path), f"not a readable Parquet file ({exc})") from None

    def batches(self, name: str, rows: int) -> Iterator[pa.Array[Any]]:
        """One column in pieces of `rows` rows, decoded a piece at a time (a whole row group of a
        list column decodes into several times its size)."""
        pa.default_memory_pool().release_unused()
        try:
            for batch in self._file.iter_batches(batch_size=rows, columns=[name]):
                yield batch.column(0)
        except (OSError, pa.ArrowInvalid) as exc:
            raise InputError(str(self.path), f"not a readable Parquet file ({exc})") from None

    def numbers(self, name: str, dtype: type[np.generic], fill: Any) -> npt.NDArray[Any]:
        if name not in self.names:
            return np.full(self.rows, fill, dtype=dtype)
        return _numbers(self.read(name), dtype, fill)

    def category(self, name: str) -> Category:
        return _category(self.read(name))


HASH_BATCH_ROWS = 1 << 16
"""Rows of prefix hashes decoded at a time: a 500,000-row group decoded whole took 340 MB beside
its 66 MB of hashes, 64Ki-row pieces about 100 MB, and were faster."""


def _prefix_blocks(columns: _Columns, block_tokens: int, in_memory: bool) -> Blocks:
    """The list column's offsets and hashes, read in pieces of `HASH_BATCH_ROWS` rows. The hashes
    (the biggest part of a workload) go into an array sized up front from the file's metadata, so
    they are held once, never beside a second copy in Arrow or in a concatenation; or, when not
    wanted in memory, into a temporary file that replays read in passes (`StoredBlocks`)."""
    file = columns.file
    leaf = columns.leaf(PREFIX_COLUMN)
    metadata = file.metadata
    room = sum(
        metadata.row_group(group).column(leaf).num_values for group in range(file.num_row_groups)
    )
    offsets = np.zeros(columns.rows + 1, dtype=np.int64)
    hashes = np.empty(room if in_memory else 0, dtype=np.uint64)
    store = None if in_memory else TemporaryHashes(columns.path)
    row = stored = 0
    for piece in columns.batches(PREFIX_COLUMN, HASH_BATCH_ROWS):
        listed = cast("pa.LargeListArray[Any]", piece)
        ends = np.asarray(listed.offsets, dtype=np.int64)
        size = int(ends[-1] - ends[0])
        values = np.asarray(listed.values.slice(int(ends[0]), size), dtype=np.uint64)
        if store is None:
            hashes[stored : stored + size] = values
        else:
            store.append(values)
        offsets[row + 1 : row + 1 + len(listed)] = stored + ends[1:] - ends[0]
        row += len(listed)
        stored += size
        del listed, values, ends
    if store is not None:
        store.finish()
        return StoredBlocks(offsets=offsets, store=store, block_tokens=block_tokens)
    return PrefixBlocks(offsets=offsets, hashes=hashes[:stored], block_tokens=block_tokens)


class TemporaryHashes:
    """Prefix hashes in an unnamed temporary file (in `TMPDIR`), which the system removes when it is
    closed or the process ends, however it ends. Reads go through `os.preadv`, so they need no shared
    file position."""

    def __init__(self, path: Path) -> None:
        import tempfile

        self.path = path
        self.size = 0
        try:
            self._file = tempfile.TemporaryFile(prefix="costaudit-hashes-")  # noqa: SIM115 (lives with the store)
        except OSError as exc:
            raise self._failed(exc) from None
        weakref.finalize(self, self._file.close)
        self._lock = threading.Lock()

    def _failed(self, exc: OSError) -> InputError:
        import tempfile

        return InputError(
            str(self.path),
            f"cannot keep its prefix hashes in a temporary file in {tempfile.gettempdir()} "
            f"({exc.strerror or exc}); set TMPDIR to a folder with room",
        )

    def append(self, values: npt.NDArray[np.uint64]) -> None:
        try:
            self._file.write(np.ascontiguousarray(values, dtype=np.uint64).data)
        except OSError as exc:
            raise self._failed(exc) from None
        self.size += len(values)

    def finish(self) -> None:
        """Everything appended is written (reads bypass Python's buffer)."""
        try:
            self._file.flush()
        except OSError as exc:
            raise self._failed(exc) from None

    def read(self, start: int, stop: int) -> npt.NDArray[np.uint64]:
        values = np.empty(max(0, stop - start), dtype=np.uint64)
        view = memoryview(values.data).cast("B")
        done = 0
        while done < len(view):
            got = self._read_into(view[done:], start * 8 + done)
            if got <= 0:
                raise OSError(f"prefix hashes end early at {start + done // 8:,} of {self.size:,}")
            done += got
        return values

    def _read_into(self, buffer: memoryview, offset: int) -> int:
        """Bytes from `offset` into `buffer`: one positioned read where the system has it (no shared
        file position), else a seek and a read under this store's lock."""
        import os

        if hasattr(os, "preadv"):
            return os.preadv(self._file.fileno(), [buffer], offset)
        with self._lock:
            self._file.seek(offset)
            return self._file.readinto(buffer) or 0


def _token_sources(columns: _Columns) -> npt.NDArray[np.int8]:
    if "token_source" not in columns.names:
        return np.zeros(columns.rows, dtype=np.int8)
    kind = columns.schema.field("token_source").type
    if not _is_text(kind):
        raise InputError(
            Location(str(columns.path), field="token_source"), f"expected text, found {kind}"
        )
    column = columns.category("token_source")
    unknown = set(column.names) - set(TOKEN_SOURCES)
    if unknown:
        raise InputError(
            Location(str(columns.path), field="token_source"),
            f"unknown value {sorted(unknown)[0]!r}",
        )
    lookup = np.array([TOKEN_SOURCES.index(name) for name in column.names] + [0], dtype=np.int8)
    return lookup[column.codes]


def _counts(columns: _Columns, name: str, refuse: Any) -> npt.NDArray[np.int64]:
    """A token count column, checked, as int64 (0 when the file lacks an optional one); held as one
    value when all zero (`arrays.compact`)."""
    if name not in columns.names:
        return constant(np.int64(0), columns.rows)
    return compact(_check_counts(columns.read(name), name, refuse))


def _scores(columns: _Columns, refuse: Any) -> npt.NDArray[np.float32]:
    if "complexity" not in columns.names:
        return np.full(columns.rows, np.nan, dtype=np.float32)
    column = columns.read("complexity")
    _check_scores(column, refuse)
    return _numbers(column, np.float32, np.nan)


def _request_table(columns: _Columns, meta: dict[str, Any], hashes_in_memory: bool) -> RequestTable:
    """The request table, column by column: the checked columns first, in the order their problems
    are reported (a file with several faults names the same one whatever the reading order)."""
    path = columns.path

    def refuse(column: str, message: str) -> InputError:
        return InputError(Location(str(path), field=column), message)

    counted = [name for name in columns.names if name.startswith(MEASURED_PREFIX)]
    tokens = {name: _counts(columns, name, refuse) for name in TOKEN_COLUMNS}
    measured = {
        name.removeprefix(MEASURED_PREFIX): _counts(columns, name, refuse) for name in counted
    }
    complexity = _scores(columns, refuse)
    token_source = _token_sources(columns)
    _check_consistency(tokens, path)
    names = columns.names
    return RequestTable(
        timestamp_ns=_timestamps(columns.read("timestamp")),
        relative_time=columns.numbers("relative_time", np.bool_, False),
        model=columns.category("model"),
        tokens=tokens,
        batch=columns.numbers("batch", np.bool_, False),
        token_source=token_source,
        complexity=complexity,
        prompt_hash=columns.numbers("prompt_hash", np.uint64, 0),
        source=columns.category("source") if "source" in names else Category.missing(columns.rows),
        groups={
            name: columns.category(name)
            for name in names
            if name not in RESERVED_COLUMNS
            and not name.startswith((MEASURED_PREFIX, QUALITY_PREFIX))
        },
        measured=measured,
        quality={
            name.removeprefix(QUALITY_PREFIX): columns.numbers(name, np.float64, np.nan)
            for name in names
            if name.startswith(QUALITY_PREFIX)
        },
        prefix_blocks=_prefix_blocks(columns, int(meta["prefix_block_tokens"]), hashes_in_memory)
        if PREFIX_COLUMN in names
        else None,
    )


def load_workload(path: Path, *, hashes_in_memory: bool = True) -> RequestTable:
    """A saved request table with its prefix hashes; errors name the file. With `hashes_in_memory`
    False the hashes go to a temporary file instead (`StoredBlocks`): the prompt-cache replay reads
    them from there in a few passes, and a 10⁷-request workload needs 1.3 GB less memory."""
    columns = _Columns(path)
    meta = _metadata(columns.schema, path)
    missing = [column for column in REQUIRED_COLUMNS if column not in columns.names]
    if missing:
        raise InputError(str(path), f"workload lacks columns: {', '.join(missing)}")
    _check_types(columns.schema, path)
    requests = _request_table(columns, meta, hashes_in_memory)
    pa.default_memory_pool().release_unused()
    return requests


def _metadata(schema: pa.Schema, path: Path) -> dict[str, Any]:
    """The costaudit metadata stored in the file's schema, checked."""
    raw = (schema.metadata or {}).get(METADATA_KEY)
    try:
        meta = json.loads(raw) if raw is not None else {}
    except (ValueError, UnicodeDecodeError):
        raise InputError(Location(str(path), field="metadata"), "not valid JSON") from None
    if not isinstance(meta, dict) or meta.get("schema") != WORKLOAD_SCHEMA:
        raise InputError(str(path), f"not a costaudit workload (expected schema {WORKLOAD_SCHEMA})")
    block_tokens = meta.get("prefix_block_tokens")
    if PREFIX_COLUMN in schema.names and (
        not isinstance(block_tokens, int)
        or isinstance(block_tokens, bool)
        or not 0 < block_tokens <= MAX_TOKENS
    ):
        raise InputError(
            Location(str(path), field="metadata.prefix_block_tokens"), "not a positive whole number"
        )
    return meta


def _is_text(kind: pa.DataType) -> bool:
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _check_types(schema: pa.Schema, path: Path) -> None:
    """The time, model and batch columns have the type costaudit writes (the other checked columns
    are checked, type and values, as each is read)."""
    kinds = {field.name: field.type for field in schema}

    def refuse(column: str, message: str) -> InputError:
        return InputError(Location(str(path), field=column), message)

    time = kinds["timestamp"]
    if not (pa.types.is_timestamp(time) or pa.types.is_integer(time)):
        raise refuse("timestamp", f"expected timestamps, found {time}")
    if not _is_text(kinds["model"]):
        raise refuse("model", f"expected model names (text), found {kinds['model']}")
    if not pa.types.is_boolean(kinds["batch"]):
        raise refuse("batch", f"expected true/false, found {kinds['batch']}")


def _check_counts(column: pa.ChunkedArray[Any], name: str, refuse: Any) -> npt.NDArray[np.int64]:
    """Whole numbers, none missing, each in 0..MAX_TOKENS; the first bad row is named (from 1).
    Returns the counts as int64."""
    if not pa.types.is_integer(column.type):
        raise refuse(name, f"expected whole token counts, found {column.type}")
    if column.null_count:
        missing = np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=np.bool_)
        raise refuse(name, f"row {int(np.argmax(missing)) + 1}: missing count")
    values = column.to_numpy()
    bad = values > MAX_TOKENS
    if values.dtype.kind == "i":
        bad |= values < 0
    if bad.any():
        row = int(np.argmax(bad))
        raise refuse(
            name,
            f"row {row + 1}: {int(values[row]):,} is outside 0..{MAX_TOKENS:,} "
            "(the most one request may carry)",
        )
    del bad
    return np.asarray(values, dtype=np.int64)


def _check_scores(column: pa.ChunkedArray[Any], refuse: Any) -> None:
    """Complexity scores lie in 0..1 (NaN or missing: not scored)."""
    if not pa.types.is_floating(column.type):
        raise refuse("complexity", f"expected scores between 0 and 1, found {column.type}")
    scores = np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)
    bad = (scores < 0) | (scores > 1) | np.isinf(scores)
    if bad.any():
        row = int(np.argmax(bad))
        raise refuse("complexity", f"row {row + 1}: score {scores[row]} is outside 0..1")


_CONSISTENCY_FIELDS = dict(
    zip(
        CONSISTENCY,
        ("cached_input_tokens", "audio_input_tokens", "cache_write_1h_tokens", "reasoning_tokens"),
        strict=True,
    )
)


CONSISTENCY_SLICE = 1 << 20
"""Rows checked at a time for consistency: the rules' temporaries stay a few tens of MB."""


def _check_consistency(tokens: dict[str, npt.NDArray[np.int64]], path: Path) -> None:
    """The rules every log record passes (ingest/validation.py), on every row, a slice at a time."""
    empty = np.zeros(0, dtype=np.int64)
    rows = len(tokens["input_tokens"])
    for start in range(0, rows, CONSISTENCY_SLICE):
        part = {name: values[start : start + CONSISTENCY_SLICE] for name, values in tokens.items()}
        problems = judge(Counts(part, ReadCounts(empty, empty, str))).skipped()
        if problems:
            row, reason = problems[0]
            field = _CONSISTENCY_FIELDS.get(reason, "tokens")
            raise InputError(Location(str(path), field=field), f"row {start + row + 1}: {reason}")
