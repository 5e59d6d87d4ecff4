"""Save and load the canonical request table as Parquet (`analyze --save-workload`, `simulate --workload`).

The file carries no prompt text — only counts, scores, hashes and grouping values — so it can be shared
for simulation without sharing prompts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from costaudit import __version__
from costaudit.errors import InputError
from costaudit.ingest.table import TOKEN_COLUMNS

WORKLOAD_SCHEMA = "costaudit.workload/1"
METADATA_KEY = b"costaudit"
REQUIRED_COLUMNS = ("timestamp", "model", *TOKEN_COLUMNS, "batch")


def save_workload(requests: pd.DataFrame, path: Path, *, sources: list[str]) -> None:
    table = pa.Table.from_pandas(requests, preserve_index=False)
    meta = {
        "schema": WORKLOAD_SCHEMA,
        "version": __version__,
        "sources": sources,
        "rows": len(requests),
    }
    metadata = {**(table.schema.metadata or {}), METADATA_KEY: json.dumps(meta).encode()}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.replace_schema_metadata(metadata), path, compression="zstd")
    except OSError as exc:
        raise InputError(str(path), f"cannot write: {exc.strerror or exc}") from None


def is_workload_file(path: Path) -> bool:
    try:
        metadata = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowInvalid):
        return False
    return METADATA_KEY in metadata


def load_workload(path: Path) -> pd.DataFrame:
    """A saved request table; errors name the file."""
    try:
        table = pq.read_table(path)
    except FileNotFoundError:
        raise InputError(str(path), "file not found") from None
    except (OSError, pa.ArrowInvalid) as exc:
        raise InputError(str(path), f"not a readable Parquet file ({exc})") from None
    raw = (table.schema.metadata or {}).get(METADATA_KEY)
    if raw is None or json.loads(raw).get("schema") != WORKLOAD_SCHEMA:
        raise InputError(str(path), f"not a costaudit workload (expected schema {WORKLOAD_SCHEMA})")
    frame = table.to_pandas()
    missing = [column for column in REQUIRED_COLUMNS if column not in frame]
    if missing:
        raise InputError(str(path), f"workload lacks columns: {', '.join(missing)}")
    return frame
