"""The vectorized reader takes exactly what the record-by-record reader takes, or hands the file back."""

from __future__ import annotations

import gzip
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costaudit.core.request_table import RequestTable
from costaudit.ingest import fastpath
from costaudit.ingest.reader import FileReader, Logs, ReadOptions, read_logs


def body(index: int, **usage: Any) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{index}",
        "object": "chat.completion",
        "created": 1755856800 + index,
        "model": "gpt-4o-mini-2024-07-18" if index % 3 else "gpt-4o-2024-08-06",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "answer " * (index % 7)}}
        ],
        "usage": usage
        or {
            "prompt_tokens": 1000 + index,
            "completion_tokens": 10 + index % 40,
            "prompt_tokens_details": {"cached_tokens": (index % 5) * 128},
            "completion_tokens_details": {"reasoning_tokens": index % 3},
        },
    }


def write(path: Path, records: Sequence[Mapping[str, Any] | bytes]) -> Path:
    lines = [record if isinstance(record, bytes) else orjson.dumps(record) for record in records]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def read(
    path: Path, *, fast: bool, monkeypatch: pytest.MonkeyPatch, only_fast: bool = False
) -> Logs:
    """Read with the vectorized reader allowed (`fast`) or not; `only_fast` fails the test if the
    file fell back to the record-by-record reader."""
    with monkeypatch.context() as patch:
        if not fast:
            patch.setattr(fastpath, "eligible", lambda _head: False)
        if only_fast:

            def careful(*_args: object) -> None:
                raise AssertionError("the file was read record by record")

            patch.setattr(FileReader, "_read_stream", careful)
        return read_logs([str(path)], ReadOptions(chunk_rows=500), lambda _model: "cl100k_base")


def same_table(left_table: RequestTable, right_table: RequestTable) -> None:
    left = left_table.to_frame().drop(columns="source")
    right = right_table.to_frame().drop(columns="source")
    pd.testing.assert_frame_equal(
        left.reset_index(drop=True), right.reset_index(drop=True), check_categorical=False
    )


def test_usage_lines_give_the_same_table_both_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "a.jsonl", [body(i) for i in range(3000)])
    fast, slow = (
        read(path, fast=True, monkeypatch=monkeypatch, only_fast=True),
        read(path, fast=False, monkeypatch=monkeypatch),
    )
    assert fast.files[0].container == "jsonl" and slow.files[0].container == "jsonl"
    same_table(fast.requests, slow.requests)
    assert fast.records_read == slow.records_read == 3000


def test_responses_api_usage_and_gzip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    records = [
        {
            "object": "response",
            "created_at": 1768560502 + i,
            "model": "gpt-4.1-2025-04-14",
            "usage": {
                "input_tokens": 12033,
                "input_tokens_details": {"cached_tokens": 11904},
                "output_tokens": 44,
                "output_tokens_details": {"reasoning_tokens": 4},
            },
        }
        for i in range(50)
    ]
    plain = write(tmp_path / "r.jsonl", records)
    packed = tmp_path / "r.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    fast = read(packed, fast=True, monkeypatch=monkeypatch, only_fast=True)
    same_table(fast.requests, read(plain, fast=False, monkeypatch=monkeypatch).requests)
    assert int(fast.requests.tokens["cached_input_tokens"].sum()) == 50 * 11904


@pytest.mark.parametrize(
    "bad",
    [
        b"not json",
        orjson.dumps(body(5, prompt_tokens=-3, completion_tokens=1)),
        orjson.dumps(body(5, prompt_tokens="ten", completion_tokens=1)),
        orjson.dumps(
            body(
                5,
                prompt_tokens=10,
                completion_tokens=1,
                prompt_tokens_details={"cached_tokens": 50},
            )
        ),
        orjson.dumps({**body(5), "model": None}),
        orjson.dumps({**body(5), "usage": None}),
        orjson.dumps({**body(5), "created": "yesterday"}),
        orjson.dumps({**body(5), "model": ""}),
        orjson.dumps({**body(5), "model": "m" * 300}),
        orjson.dumps({**body(5), "object": "list"}),
    ],
)
def test_a_bad_line_sends_the_file_to_the_careful_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: bytes
) -> None:
    """The careful reader reports the bad record with its line number; nothing is lost."""
    path = write(
        tmp_path / "b.jsonl",
        [body(i) for i in range(10)] + [bad] + [body(i) for i in range(11, 20)],
    )
    workload = read(path, fast=True, monkeypatch=monkeypatch)
    assert workload.records_read == 20
    assert len(workload.requests) + workload.problems.skipped_total == 20
    if workload.problems.skipped_total:
        examples = [example for kept in workload.problems.examples.values() for example in kept]
        assert examples == [f"{path}:11"]


def test_files_with_request_text_are_not_taken(tmp_path: Path) -> None:
    records = [
        {
            "request": {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
            "response": body(i),
        }
        for i in range(5)
    ]
    assert not fastpath.eligible(records)
    assert fastpath.eligible([body(i) for i in range(5)])
    assert not fastpath.eligible([{**body(1), "timestamp": "2026-01-01T00:00:00Z"}])


counts = st.integers(min_value=0, max_value=5_000_000)


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(counts, counts, counts, st.booleans()), min_size=1, max_size=30))
def test_random_usage_matches_the_careful_reader(
    rows: list[tuple[int, int, int, bool]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "f.jsonl"
    records = []
    for index, (prompt, completion, cached, responses_api) in enumerate(rows):
        usage = (
            {
                "input_tokens": prompt,
                "output_tokens": completion,
                "input_tokens_details": {"cached_tokens": cached},
            }
            if responses_api
            else {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "prompt_tokens_details": {"cached_tokens": cached},
            }
        )
        records.append(body(index, **usage))
    write(path, records)
    monkeypatch = pytest.MonkeyPatch()
    try:
        fast = read(path, fast=True, monkeypatch=monkeypatch)
        slow = read(path, fast=False, monkeypatch=monkeypatch)
    finally:
        monkeypatch.undo()
    same_table(fast.requests, slow.requests)
    assert fast.problems.skipped == slow.problems.skipped


def test_chat_and_responses_records_with_absent_details_mix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Absent detail objects, absent `object`, both APIs and their time keys in one file."""
    chat = body(1, prompt_tokens=500, completion_tokens=20)
    no_object = {key: value for key, value in body(2).items() if key != "object"}
    responses = {
        "object": "response",
        "created_at": 1768560502,
        "model": "gpt-4.1-2025-04-14",
        "usage": {"input_tokens": 900, "output_tokens": 30},
    }
    path = write(tmp_path / "m.jsonl", [chat, no_object, responses, body(4)] * 300)
    fast = read(path, fast=True, monkeypatch=monkeypatch, only_fast=True)
    same_table(fast.requests, read(path, fast=False, monkeypatch=monkeypatch).requests)
    assert int(fast.requests.tokens["input_tokens"].sum()) == 300 * (500 + 1002 + 900 + 1004)


def test_distinct_strings_of_sliced_columns_with_nulls() -> None:
    column = pa.array(["gpt-4o", None, "gpt-4o-mini", "", "gpt-4o", "é", "gpt-4o-mini"])
    for part in (column, column.slice(2, 4), column.slice(0, 0)):
        values, codes = fastpath.distinct_strings(part)
        assert [values[code] for code in codes.tolist()] == part.to_pylist()
        seen = list(dict.fromkeys(part.to_pylist()))
        assert values == [value for value in seen if value is not None] + [None] * (None in seen)


def test_a_column_of_one_repeated_value_is_recognised_on_its_buffers() -> None:
    repeated = pa.array(["chat.completion"] * 5 + ["response"])
    assert fastpath.only_value(repeated.slice(0, 5)) == "chat.completion"
    assert fastpath.only_value(repeated) is None
    assert fastpath.only_value(repeated.slice(1, 5)) is None
    assert fastpath.only_value(pa.array(["a", None])) is None
    assert fastpath.only_value(pa.array(["ab", "a"])) is None
