"""Save and load the canonical request table as Parquet (`analyze --save-workload`, `simulate --workload`).

The file carries no prompt text — only counts, scores, hashes and grouping values — so it can be shared
for simulation without sharing prompts. Chained prefix-block hashes (when the logs had prompt text or
hashes) are kept in a list column so prompt caching can be replayed from the saved file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from costaudit import __version__
from costaudit.core.columns import TOKEN_COLUMNS
from costaudit.core.prompt_cache import PrefixBlocks
from costaudit.errors import InputError

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


def save_workload(
    requests: pd.DataFrame,
    path: Path,
    *,
    sources: list[str],
    prefix_blocks: PrefixBlocks | None = None,
) -> None:
    table = pa.Table.from_pandas(requests, preserve_index=False)
    meta: dict[str, object] = {
        "schema": WORKLOAD_SCHEMA,
        "version": __version__,
        "sources": sources,
        "rows": len(requests),
    }
    if prefix_blocks is not None:
        hashes = pa.LargeListArray.from_arrays(
            pa.array(prefix_blocks.offsets, pa.int64()),
            pa.array(prefix_blocks.hashes, pa.uint64()),
        )

        table = table.append_column(PREFIX_COLUMN, hashes)
        meta["prefix_block_tokens"] = prefix_blocks.block_tokens
    metadata = {**(table.schema.metadata or {}), METADATA_KEY: json.dumps(meta).encode()}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.replace_schema_metadata(metadata), path, compression="zstd")
    except OSError as exc:
        raise InputError(str(path), f"cannot write: {exc.strerror or exc}") from None


def load_workload(path: Path) -> tuple[pd.DataFrame, PrefixBlocks | None]:
    """A saved request table and its prefix hashes; errors name the file."""
    try:
        table = pq.read_table(path)
    except FileNotFoundError:
        raise InputError(str(path), "file not found") from None
    except (OSError, pa.ArrowInvalid) as exc:
        raise InputError(str(path), f"not a readable Parquet file ({exc})") from None
    raw = (table.schema.metadata or {}).get(METADATA_KEY)
    meta = json.loads(raw) if raw is not None else {}
    if meta.get("schema") != WORKLOAD_SCHEMA:
        raise InputError(str(path), f"not a costaudit workload (expected schema {WORKLOAD_SCHEMA})")
    blocks = None
    if PREFIX_COLUMN in table.column_names:
        column = cast("pa.LargeListArray[Any]", table.column(PREFIX_COLUMN).combine_chunks())

        offsets = np.asarray(column.offsets, dtype=np.int64)
        values = np.asarray(column.values, dtype=np.uint64)
        blocks = PrefixBlocks(
            offsets=offsets - offsets[0],
            hashes=values[offsets[0] : offsets[-1]],
            block_tokens=int(meta["prefix_block_tokens"]),
        )
        table = table.drop_columns([PREFIX_COLUMN])
    frame = table.to_pandas()
    missing = [column for column in REQUIRED_COLUMNS if column not in frame]
    if missing:
        raise InputError(str(path), f"workload lacks columns: {', '.join(missing)}")
    for name in OPTIONAL_TOKEN_COLUMNS:
        if name not in frame:
            frame[name] = np.zeros(len(frame), dtype=np.int64)
    return frame, blocks
