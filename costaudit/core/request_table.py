"""The canonical request table: one row per billed LLM call, as plain numpy columns.

It is the only table inside costaudit. Readers build it, saved workloads store it, synthetic workloads
generate it, and pricing, analysis and every simulator strategy compute on it. Pricing and analysing
need only arrays (integer token counts, category codes, nanosecond times), so `costaudit analyze` runs
without importing pandas, whose import alone costs more than parsing a hundred thousand log lines.

pandas appears only at the edges: `RequestTable.from_frame` takes a DataFrame a user hands in, and
`to_frame` gives one to a user who asks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from costaudit.core import arrays
from costaudit.core.arrays import taken
from costaudit.core.columns import (
    MEASURED_PREFIX,
    QUALITY_PREFIX,
    RESERVED_COLUMNS,
    SCORE_PREFIX,
    TOKEN_COLUMNS,
    TOKEN_SOURCES,
)
from costaudit.core.prompt_cache import Blocks, PrefixBlocks, in_memory, take
from costaudit.core.sums import exact_sum

if TYPE_CHECKING:
    import pandas as pd

NAT = np.iinfo(np.int64).min
"""A missing timestamp (numpy's NaT as int64)."""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Rows = npt.NDArray[np.intp] | npt.NDArray[np.int64]
"""Row positions into a table."""


def utc_datetime(ns: int) -> datetime:
    """A timestamp column's value (ns since the epoch) as an aware datetime, to the microsecond."""
    return EPOCH + timedelta(microseconds=ns // 1000)


@dataclass(frozen=True)
class Category:
    """A categorical column: `names[codes[i]]` is row i's value, code −1 a missing one."""

    names: list[str]
    codes: npt.NDArray[np.int32]

    def present_codes(self) -> list[int]:
        """Codes that occur, in category order (the order values were first seen)."""
        if not len(self.codes):
            return []
        seen = np.bincount(self.codes[self.codes >= 0], minlength=len(self.names))
        return [int(code) for code in np.flatnonzero(seen)]

    def value(self, row: int) -> str | None:
        code = int(self.codes[row])
        return self.names[code] if code >= 0 else None

    def values(self) -> list[str | None]:
        """Every row's value (None where missing)."""
        lookup: list[str | None] = [*self.names, None]
        return [lookup[code] for code in self.codes.tolist()]

    def take(self, rows: Rows) -> Category:
        return Category(self.names, self.codes[rows])

    def code_of(self, name: str) -> tuple[Category, int]:
        """This column with `name` among its categories (added at the end when new), and its code."""
        if name in self.names:
            return self, self.names.index(name)
        return Category([*self.names, name], self.codes), len(self.names)

    def matching(self, wanted: set[str]) -> npt.NDArray[np.bool_]:
        """Rows whose value is in `wanted`."""
        lookup = np.array([name in wanted for name in self.names] + [False], dtype=np.bool_)
        return lookup[self.codes]

    @classmethod
    def missing(cls, rows: int) -> Category:
        return cls([], np.full(rows, -1, dtype=np.int32))

    @classmethod
    def constant(cls, name: str, rows: int) -> Category:
        return cls([name], np.zeros(rows, dtype=np.int32))

    @classmethod
    def concat(cls, columns: Sequence[Category]) -> Category:
        """Columns one after another; categories in first-seen order across them."""
        names: list[str] = []
        index: dict[str, int] = {}
        pieces = []
        for column in columns:
            for name in column.names:
                if name not in index:
                    index[name] = len(names)
                    names.append(name)
            lookup = np.array([index[name] for name in column.names] + [-1], dtype=np.int32)
            pieces.append(lookup[column.codes])
        codes = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int32)
        return cls(names, codes.astype(np.int32, copy=False))


@dataclass(frozen=True)
class RequestTable:
    """One row per billed call. Token counts follow the OpenAI convention: `input_tokens` includes
    cached and cache-written tokens, `output_tokens` includes reasoning."""

    timestamp_ns: npt.NDArray[np.int64]
    """UTC nanoseconds since the epoch (or since the trace start for relative times); NAT when unknown."""
    relative_time: npt.NDArray[np.bool_]
    model: Category
    tokens: dict[str, npt.NDArray[np.int64]]
    """One int64 column per name in TOKEN_COLUMNS."""
    batch: npt.NDArray[np.bool_]
    token_source: npt.NDArray[np.int8]
    """Index into TOKEN_SOURCES."""
    complexity: npt.NDArray[np.float32]
    """Prompt complexity in [0, 1]; NaN when there was no prompt to score."""
    prompt_hash: npt.NDArray[np.uint64]
    """Key of the exact prompt (0 without text), for exact-match response caching."""
    source: Category
    """The file each row came from."""
    groups: dict[str, Category] = field(default_factory=dict)
    measured: dict[str, npt.NDArray[np.int64]] = field(default_factory=dict)
    """Prompt tokens under other encodings, by encoding name."""
    quality: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)
    """Per-model quality labels, by model name."""
    scores: dict[str, npt.NDArray[np.float32]] = field(default_factory=dict)
    """Scores of fitted scorers applied while reading (NaN where a row had no prompt), by name."""
    prefix_blocks: Blocks | None = None
    """Chained prefix-block hashes of each row's prompt, for prompt-cache replay; None without text.
    A loaded workload may keep the hashes in a temporary file (`StoredBlocks`)."""

    def __len__(self) -> int:
        return len(self.timestamp_ns)

    def group(self, key: str) -> Category:
        """A grouping column; all-missing when no row carries the key."""
        return self.groups.get(key) or Category.missing(len(self))

    def with_group(self, key: str, column: Category) -> RequestTable:
        return replace(self, groups={**self.groups, key: column})

    def token_sum(self, name: str) -> int:
        """Exact sum of one token column (Python int: never wraps)."""
        return exact_sum(self.tokens[name])

    def take(self, rows: Rows) -> RequestTable:
        """The rows at `rows`, in that order (a boolean mask works too)."""
        picked = np.flatnonzero(rows) if rows.dtype == np.bool_ else rows
        return RequestTable(
            timestamp_ns=self.timestamp_ns[picked],
            relative_time=self.relative_time[picked],
            model=self.model.take(picked),
            tokens={name: taken(values, picked) for name, values in self.tokens.items()},
            batch=self.batch[picked],
            token_source=self.token_source[picked],
            complexity=self.complexity[picked],
            prompt_hash=self.prompt_hash[picked],
            source=self.source.take(picked),
            groups={key: column.take(picked) for key, column in self.groups.items()},
            measured={name: taken(values, picked) for name, values in self.measured.items()},
            quality={name: values[picked] for name, values in self.quality.items()},
            scores={name: values[picked] for name, values in self.scores.items()},
            prefix_blocks=take(self.prefix_blocks, np.asarray(picked, dtype=np.int64))
            if self.prefix_blocks is not None
            else None,
        )

    @classmethod
    def concat(cls, tables: Sequence[RequestTable]) -> RequestTable:
        """Tables one after another. Columns some tables lack are missing (labels NaN, groups
        missing, measured counts 0); prefix hashes are kept only when every table has them at the
        same block size."""
        if not tables:
            return cls.empty()
        if len(tables) == 1:
            return tables[0]

        def joined(pick: Any) -> Any:
            return np.concatenate([pick(table) for table in tables])

        group_keys = list(dict.fromkeys(key for table in tables for key in table.groups))
        measured = list(dict.fromkeys(name for table in tables for name in table.measured))
        quality = list(dict.fromkeys(name for table in tables for name in table.quality))
        scores = list(dict.fromkeys(name for table in tables for name in table.scores))
        return cls(
            timestamp_ns=joined(lambda t: t.timestamp_ns),
            relative_time=joined(lambda t: t.relative_time),
            model=Category.concat([table.model for table in tables]),
            tokens={
                name: arrays.joined([t.tokens[name] for t in tables]) for name in TOKEN_COLUMNS
            },
            batch=joined(lambda t: t.batch),
            token_source=joined(lambda t: t.token_source),
            complexity=joined(lambda t: t.complexity),
            prompt_hash=joined(lambda t: t.prompt_hash),
            source=Category.concat([table.source for table in tables]),
            groups={key: Category.concat([t.group(key) for t in tables]) for key in group_keys},
            measured={
                name: joined(lambda t, n=name: t.measured.get(n, np.zeros(len(t), np.int64)))
                for name in measured
            },
            quality={
                name: joined(lambda t, n=name: t.quality.get(n, np.full(len(t), np.nan)))
                for name in quality
            },
            scores={
                name: joined(lambda t, n=name: t.scores.get(n, np.full(len(t), np.nan, np.float32)))
                for name in scores
            },
            prefix_blocks=_concat_blocks([table.prefix_blocks for table in tables]),
        )

    @classmethod
    def empty(cls) -> RequestTable:
        return cls(
            timestamp_ns=np.zeros(0, dtype=np.int64),
            relative_time=np.zeros(0, dtype=np.bool_),
            model=Category.missing(0),
            tokens={name: np.zeros(0, dtype=np.int64) for name in TOKEN_COLUMNS},
            batch=np.zeros(0, dtype=np.bool_),
            token_source=np.zeros(0, dtype=np.int8),
            complexity=np.zeros(0, dtype=np.float32),
            prompt_hash=np.zeros(0, dtype=np.uint64),
            source=Category.missing(0),
        )

    def to_frame(self) -> pd.DataFrame:
        """The table as a pandas DataFrame, for a user who wants one (prefix hashes are left out)."""
        import pandas as pd

        def categorical(column: Category) -> pd.Series:
            dtype = pd.CategoricalDtype(column.names)
            return pd.Series(pd.Categorical.from_codes(column.codes, dtype=dtype))

        columns: dict[str, object] = {
            "timestamp": pd.to_datetime(self.timestamp_ns.view("datetime64[ns]"), utc=True),
            "relative_time": self.relative_time,
            "model": categorical(self.model),
        }
        for name in TOKEN_COLUMNS:
            columns[name] = self.tokens[name]
        columns["batch"] = self.batch
        columns["token_source"] = pd.Categorical.from_codes(
            self.token_source, dtype=pd.CategoricalDtype(list(TOKEN_SOURCES))
        )
        columns["complexity"] = self.complexity
        columns["prompt_hash"] = self.prompt_hash
        columns["source"] = categorical(self.source)
        for key, values in self.groups.items():
            columns[key] = categorical(values)
        for encoding, counts in self.measured.items():
            columns[f"{MEASURED_PREFIX}{encoding}"] = counts
        for model, labels in self.quality.items():
            columns[f"{QUALITY_PREFIX}{model}"] = labels
        for name, scores in self.scores.items():
            columns[f"{SCORE_PREFIX}{name}"] = scores
        return pd.DataFrame(columns)

    @classmethod
    def from_frame(
        cls, frame: pd.DataFrame, group_keys: Sequence[str] | None = None
    ) -> RequestTable:
        """A DataFrame with the canonical column names as a request table.

        Optional columns may be absent (tokens 0, no timestamp, no score). Grouping columns are the
        ones named in `group_keys`, or, when None, every other text or categorical column.
        """
        return _from_frame(frame, group_keys)


def _concat_blocks(blocks: Sequence[Blocks | None]) -> PrefixBlocks | None:
    present = [in_memory(item) for item in blocks if item is not None]
    if len(present) != len(blocks) or len({item.block_tokens for item in present}) != 1:
        return None
    counts = np.concatenate([item.block_counts for item in present])
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    hashes = np.concatenate([item.hashes for item in present])
    return PrefixBlocks(offsets=offsets, hashes=hashes, block_tokens=present[0].block_tokens)


def _frame_category(frame: pd.DataFrame, name: str) -> Category:
    if name not in frame or not len(frame):
        return Category.missing(len(frame))
    values = frame[name].astype("category")
    return Category(
        [str(value) for value in values.cat.categories],
        values.cat.codes.to_numpy().astype(np.int32),
    )


def _frame_times(frame: pd.DataFrame) -> npt.NDArray[np.int64]:
    """The timestamp column as UTC nanoseconds, whatever its resolution (naive = UTC)."""
    import pandas as pd

    index = pd.DatetimeIndex(pd.to_datetime(frame["timestamp"], utc=True)).as_unit("ns")
    return np.asarray(index.asi8, dtype=np.int64).copy()


def _text_columns(frame: pd.DataFrame) -> list[str]:
    """Columns that can be grouping keys: text or categorical, and not canonical."""
    import pandas as pd

    keys = []
    for name in frame.columns:
        text = str(name)
        if text in RESERVED_COLUMNS or text.startswith(
            (QUALITY_PREFIX, MEASURED_PREFIX, SCORE_PREFIX)
        ):
            continue
        dtype = frame[name].dtype
        if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype):
            keys.append(text)
    return keys


def _from_frame(frame: pd.DataFrame, group_keys: Sequence[str] | None) -> RequestTable:
    rows = len(frame)

    def numbers(name: str, dtype: type[np.generic], default: object = 0) -> npt.NDArray[Any]:
        if name not in frame or not rows:
            return np.full(rows, default, dtype=dtype)
        return np.asarray(frame[name].to_numpy(), dtype=dtype)

    stamps = _frame_times(frame) if "timestamp" in frame and rows else np.full(rows, NAT, np.int64)
    if "token_source" in frame and rows:
        sources = frame["token_source"].astype("category")
        lookup = np.array(
            [TOKEN_SOURCES.index(str(name)) for name in sources.cat.categories] + [0],
            dtype=np.int8,
        )
        token_source = lookup[sources.cat.codes.to_numpy()]
    else:
        token_source = np.zeros(rows, dtype=np.int8)
    keys = _text_columns(frame) if group_keys is None else group_keys
    return RequestTable(
        timestamp_ns=stamps,
        relative_time=numbers("relative_time", np.bool_, False),
        model=_frame_category(frame, "model"),
        tokens={name: numbers(name, np.int64) for name in TOKEN_COLUMNS},
        batch=numbers("batch", np.bool_, False),
        token_source=token_source,
        complexity=numbers("complexity", np.float32, np.nan),
        prompt_hash=numbers("prompt_hash", np.uint64),
        source=_frame_category(frame, "source"),
        groups={key: _frame_category(frame, key) for key in keys if key in frame},
        measured={
            str(name).removeprefix(MEASURED_PREFIX): frame[name].to_numpy(dtype=np.int64)
            for name in frame.columns
            if str(name).startswith(MEASURED_PREFIX)
        },
        quality={
            str(name).removeprefix(QUALITY_PREFIX): frame[name].to_numpy(dtype=np.float64)
            for name in frame.columns
            if str(name).startswith(QUALITY_PREFIX)
        },
        scores={
            str(name).removeprefix(SCORE_PREFIX): frame[name].to_numpy(dtype=np.float32)
            for name in frame.columns
            if str(name).startswith(SCORE_PREFIX)
        },
    )
