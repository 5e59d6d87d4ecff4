"""The canonical request table as plain numpy columns.

Pricing and analysing logs needs only arrays: integer token counts, category codes, nanosecond times.
Keeping the table in this form lets `costaudit analyze` run without importing pandas, whose import alone
costs more than parsing a hundred thousand log lines. Code that wants a DataFrame (the simulator, saved
workloads, tests that build tables by hand) converts with `to_frame`; every function here that takes a
request table also accepts that DataFrame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import numpy.typing as npt

from costaudit.core.columns import (
    MEASURED_PREFIX,
    QUALITY_PREFIX,
    SCORE_PREFIX,
    TOKEN_COLUMNS,
    TOKEN_SOURCES,
)

if TYPE_CHECKING:
    import pandas as pd

NAT = np.iinfo(np.int64).min
"""A missing timestamp (numpy's NaT as int64)."""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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

    @classmethod
    def missing(cls, rows: int) -> Category:
        return cls([], np.full(rows, -1, dtype=np.int32))


@dataclass(frozen=True)
class RequestColumns:
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
    source: Category
    """The file each row came from."""
    groups: dict[str, Category] = field(default_factory=dict)
    measured: dict[str, npt.NDArray[np.int64]] = field(default_factory=dict)
    """Prompt tokens under other encodings, by encoding name."""
    quality: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)
    """Per-model quality labels, by model name."""
    scores: dict[str, npt.NDArray[np.float32]] = field(default_factory=dict)
    """Scores of fitted scorers applied while reading (NaN where a row had no prompt), by name."""

    def __len__(self) -> int:
        return len(self.timestamp_ns)

    def group(self, key: str) -> Category:
        """A grouping column; all-missing when no row carries the key."""
        return self.groups.get(key) or Category.missing(len(self))

    def with_group(self, key: str, column: Category) -> RequestColumns:
        return replace(self, groups={**self.groups, key: column})

    def to_frame(self) -> pd.DataFrame:
        """The table as the DataFrame the simulator and saved workloads use."""
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
    def empty(cls) -> RequestColumns:
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


RequestTable: TypeAlias = "RequestColumns | pd.DataFrame"
"""The canonical request table in either form."""


def as_columns(requests: RequestTable, group_keys: Sequence[str] = ()) -> RequestColumns:
    """The table as columns. A DataFrame (which may lack optional columns) is converted, with only the
    grouping columns named in `group_keys`: other extra columns may be anything, and are not needed."""
    if isinstance(requests, RequestColumns):
        return requests
    return _from_frame(requests, group_keys)


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


def _from_frame(frame: pd.DataFrame, group_keys: Sequence[str]) -> RequestColumns:
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
    groups = {key: _frame_category(frame, key) for key in group_keys if key in frame}
    return RequestColumns(
        timestamp_ns=stamps,
        relative_time=numbers("relative_time", np.bool_, False),
        model=_frame_category(frame, "model"),
        tokens={name: numbers(name, np.int64) for name in TOKEN_COLUMNS},
        batch=numbers("batch", np.bool_, False),
        token_source=token_source,
        complexity=numbers("complexity", np.float32, np.nan),
        prompt_hash=numbers("prompt_hash", np.uint64),
        source=_frame_category(frame, "source"),
        groups=groups,
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
