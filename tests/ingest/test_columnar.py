"""The columnar path reads a log exactly as the record path would, each line once, in one pass.

Every test compares a read with the columnar path allowed to a read where the OpenAI format's
columnar extractor is switched off (every record goes the record path): same table, same skipped
records with the same reasons and `file:line` examples.
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costaudit.errors import InputError
from costaudit.ingest import columnar, containers
from costaudit.ingest.formats import anthropic, openai
from support import DROP, ReadBothWays, changed, same_table, small_columnar_blocks
from support import write_lines as write


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


def response_body(index: int, **usage: Any) -> dict[str, Any]:
    return {
        "object": "response",
        "created_at": 1768560502 + index,
        "model": "gpt-4.1-2025-04-14",
        "metadata": {},
        "usage": usage
        or {
            "input_tokens": 12033 + index,
            "input_tokens_details": {"cached_tokens": 11904},
            "output_tokens": 44,
            "output_tokens_details": {"reasoning_tokens": 4},
        },
    }


class Read(ReadBothWays):
    """Reads a log with the OpenAI columnar extractors allowed or not."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__(monkeypatch, openai, ("is_usage_body", "is_batch_output"))


@pytest.fixture
def read(monkeypatch: pytest.MonkeyPatch) -> Read:
    return Read(monkeypatch)


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of a few KiB, so the test files span many blocks (a file that fits in one block is
    read the record way: see test_a_small_file_is_read_the_record_way)."""
    small_columnar_blocks(monkeypatch)


def test_usage_lines_give_the_same_table_both_ways(tmp_path: Path, read: Read) -> None:
    path = write(tmp_path / "a.jsonl", [body(i) for i in range(3000)])
    fast = read(path)
    assert read.drafted == []  # every line went the columnar way
    slow = read(path, columnar=False)
    assert len(read.drafted) == 3000
    assert fast.files[0].container == "jsonl" and fast.files[0].format == "openai"
    same_table(fast, slow)
    assert fast.records_read == 3000


def test_responses_api_usage_and_gzip(tmp_path: Path, read: Read) -> None:
    plain = write(tmp_path / "r.jsonl", [response_body(i) for i in range(50)])
    packed = tmp_path / "r.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    fast = read(packed)
    assert read.drafted == []
    same_table(fast, read(plain, columnar=False))
    # 50 × 11,904 cached tokens, counted exactly
    assert int(fast.requests.tokens["cached_input_tokens"].sum()) == 50 * 11904
    assert int(fast.requests.tokens["input_tokens"].sum()) == 50 * 12033 + sum(range(50))


ODD_LINES = {
    "malformed": b"not json",
    "negative prompt": orjson.dumps(body(5, prompt_tokens=-3, completion_tokens=1)),
    "implausible prompt": orjson.dumps(body(5, prompt_tokens=10**13, completion_tokens=1)),
    "prompt as text": orjson.dumps(body(5, prompt_tokens="ten", completion_tokens=1)),
    "prompt as whole float": orjson.dumps(body(5, prompt_tokens=12.0, completion_tokens=1)),
    "prompt null": orjson.dumps(body(5, prompt_tokens=None, completion_tokens=1)),
    "completion absent": orjson.dumps(body(5, prompt_tokens=12)),
    "cached above input": orjson.dumps(
        body(5, prompt_tokens=10, completion_tokens=1, prompt_tokens_details={"cached_tokens": 50})
    ),
    "reasoning above output": orjson.dumps(
        body(
            5,
            prompt_tokens=10,
            completion_tokens=1,
            completion_tokens_details={"reasoning_tokens": 5},
        )
    ),
    "null details": orjson.dumps(
        body(
            5,
            prompt_tokens=10,
            completion_tokens=1,
            prompt_tokens_details=None,
            completion_tokens_details={"reasoning_tokens": None},
        )
    ),
    "model null": orjson.dumps({**body(5), "model": None}),
    "model empty": orjson.dumps({**body(5), "model": ""}),
    "model long": orjson.dumps({**body(5), "model": "m" * 300}),
    "usage null": orjson.dumps({**body(5), "usage": None}),
    "usage empty": orjson.dumps({**body(5), "usage": {}}),
    "created text": orjson.dumps({**body(5), "created": "yesterday"}),
    "created negative": orjson.dumps({**body(5), "created": -5}),
    "created zero": orjson.dumps({**body(5), "created": 0}),
    "created in ns": orjson.dumps({**body(5), "created": 1755856800123456789}),
    "created fractional": orjson.dumps({**body(5), "created": 1755856800.25}),
    "created and created_at": orjson.dumps({**body(5), "created_at": 1755000000}),
    "object list": orjson.dumps({**body(5), "object": "list"}),
    "stream chunk": orjson.dumps({**body(5), "object": "chat.completion.chunk"}),
    "no object": orjson.dumps({key: value for key, value in body(5).items() if key != "object"}),
    "wrapper time": orjson.dumps({**body(5), "timestamp": "2026-01-01T00:00:00Z"}),
    "wrapper time as number": orjson.dumps({**body(5), "ts": 1755856801}),
    "gateway line": orjson.dumps(
        {"request": {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}, **body(5)}
    ),
    "null request with metadata": orjson.dumps(
        {**body(5), "request": None, "metadata": {"feature": "x"}}
    ),
    "batch line": orjson.dumps({"custom_id": "r-1", "response": {"body": body(5)}}),
    "envelope": orjson.dumps({"data": [body(5), body(6)], "object": "list"}),
    "two objects on a line": orjson.dumps(body(5)) + orjson.dumps(body(6)),
    "one object on two lines": orjson.dumps(body(5)).replace(b'"usage":', b'\n"usage":'),
    "byte-order mark": b"\xef\xbb\xbf" + orjson.dumps(body(5)),
    "invalid UTF-8": orjson.dumps(body(5)).replace(b"answer", b"answ\xff"),
    "duplicate key": orjson.dumps(body(5)).replace(b'"model"', b'"model":"x","model"', 1),
    "count beyond int64": orjson.dumps(body(5)).replace(
        b'"prompt_tokens":1005', b'"prompt_tokens":99999999999999999999'
    ),
    "responses with a chat count given as null": orjson.dumps(
        response_body(5, input_tokens=7, output_tokens=2, prompt_tokens=None)
    ),
    "blank": b"   ",
}


BLOCK_WAY = {
    "malformed",
    "prompt as text",
    "prompt as whole float",
    "created text",
    "wrapper time as number",
    "two objects on a line",
    "one object on two lines",
    "byte-order mark",
    "invalid UTF-8",
    "duplicate key",
    "count beyond int64",
    "wrapper time",
    "gateway line",
    "batch line",
}
"""Odd lines pyarrow cannot parse as the schema says (or not one row per line), and lines giving a
wrapper or another time key a value (declared null): their whole block goes the record way."""
COLUMN_WAY = {
    "negative prompt",
    "implausible prompt",
    "cached above input",
    "reasoning above output",
    "null details",
    "model long",
    "created zero",
    "created fractional",
    "no object",
    "null request with metadata",
    "blank",
}
"""Odd lines the columnar extractor takes (the validator judges their counts); every other odd line
is left to the record path on its own."""


@pytest.mark.parametrize("name", ODD_LINES)
def test_an_odd_line_reads_as_the_record_path_reads_it(
    tmp_path: Path, read: Read, name: str
) -> None:
    """Whatever the odd line is (past the first 50 records, which choose the columnar path),
    nothing else changes: same table, same problems and examples. Only the odd line is drafted
    one by one, unless pyarrow cannot parse it, which sends its block (some 40 lines here)."""
    records: list[Mapping[str, Any] | bytes] = [body(i) for i in range(40)]
    records += [response_body(i) for i in range(40)]
    records += [ODD_LINES[name]] + [body(i) for i in range(41, 60)]
    path = write(tmp_path / "b.jsonl", records)
    fast = read(path)
    drafted = len(read.drafted)
    same_table(fast, read(path, columnar=False))
    if name in BLOCK_WAY:
        assert 1 < drafted < 60
    elif name in COLUMN_WAY:
        assert drafted == 0
    else:
        assert drafted == (2 if name == "envelope" else 1)


@pytest.mark.parametrize("strict", [False, True])
def test_a_row_failing_validation_is_skipped_with_its_line(
    tmp_path: Path, read: Read, strict: bool
) -> None:
    bad = body(
        5, prompt_tokens=10, completion_tokens=1, prompt_tokens_details={"cached_tokens": 50}
    )
    lines: list[Mapping[str, Any] | bytes] = [body(i) for i in range(20)]
    path = write(tmp_path / "v.jsonl", [*lines, bad, b"", body(21)])
    if strict:
        with pytest.raises(InputError) as raised:
            read(path, strict=True)
        assert str(raised.value) == f"{path}:21: cached plus cache-write tokens exceed input tokens"
        return
    workload = read(path)
    assert read.drafted == []  # judged by the validator on the columns, not drafted
    assert workload.records_read == 22
    assert dict(workload.problems.skipped) == {
        "cached plus cache-write tokens exceed input tokens": 1
    }
    assert workload.problems.examples["cached plus cache-write tokens exceed input tokens"] == [
        f"{path}:21"
    ]


def test_a_row_the_extractor_leaves_goes_to_the_record_path_alone(
    tmp_path: Path, read: Read
) -> None:
    odd = {**body(500), "created_at": 1767225600}  # with `created` too: the record path decides
    path = write(tmp_path / "o.jsonl", [body(i) for i in range(500)] + [odd] + [body(501)])
    workload = read(path)
    assert read.drafted == [odd]
    assert workload.records_read == 502
    # the row keeps its place in the table: rows stay in line order
    seconds = (workload.requests.timestamp_ns // 10**9).tolist()
    assert seconds[499:502] == [1755856800 + 499, 1767225600, 1755856800 + 501]


def test_an_unparseable_block_goes_to_the_record_path_from_memory(
    tmp_path: Path, read: Read, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A malformed line makes pyarrow refuse its block: that block's lines, and only those, are
    drafted one by one; no line is read twice and the file is read once."""
    records: list[Mapping[str, Any] | bytes] = [body(i) for i in range(300)]
    records[150] = b'{"model": "gpt-4o", "usage":'
    path = write(tmp_path / "m.jsonl", records)
    opened: list[str] = []
    real_open = Path.open

    def counting_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", counting_open)
    fast = read(path)
    assert opened == [str(path)]
    assert 0 < len(read.drafted) < 100
    assert fast.problems.examples == {"malformed JSON": [f"{path}:151"]}
    same_table(fast, read(path, columnar=False))


def test_a_null_count_is_skipped_by_both_paths(tmp_path: Path, read: Read) -> None:
    """The rule for JSON null: a null input or output count is not a count, so the record is
    skipped (never priced as 0); a null detail count (cached, cache-write, reasoning) is 0, as an
    absent one is."""
    lines = [
        body(1, prompt_tokens=None, completion_tokens=5),
        body(2, prompt_tokens=5, completion_tokens=None),
        response_body(3, input_tokens=None, output_tokens=5),
        body(
            4, prompt_tokens=9, completion_tokens=5, prompt_tokens_details={"cached_tokens": None}
        ),
    ]
    path = write(tmp_path / "n.jsonl", [body(0), *lines])
    for workload in (read(path), read(path, columnar=False)):
        assert dict(workload.problems.skipped) == {
            "usage.prompt_tokens is not a whole number of tokens": 1,
            "usage.completion_tokens is not a whole number of tokens": 1,
            "usage.input_tokens is not a whole number of tokens": 1,
        }
        assert workload.requests.tokens["input_tokens"].tolist() == [1000, 9]
        assert workload.requests.tokens["cached_input_tokens"].tolist() == [0, 0]


counts = st.integers(min_value=0, max_value=5_000_000)


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(counts, counts, counts, st.booleans()), min_size=1, max_size=30))
def test_random_usage_matches_the_record_path(
    rows: list[tuple[int, int, int, bool]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "f.jsonl"
    records: list[Mapping[str, Any] | bytes] = []
    for index, (prompt, completion, cached, responses_api) in enumerate(rows):
        if responses_api:
            usage = {
                "input_tokens": prompt,
                "output_tokens": completion,
                "input_tokens_details": {"cached_tokens": cached},
            }
            records.append(response_body(index, **usage))
        else:
            usage = {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "prompt_tokens_details": {"cached_tokens": cached},
            }
            records.append(body(index, **usage))
    write(path, records)
    monkeypatch = pytest.MonkeyPatch()
    try:
        reading = Read(monkeypatch)
        same_table(reading(path), reading(path, columnar=False))
    finally:
        monkeypatch.undo()


def test_chat_and_responses_records_with_absent_details_mix(tmp_path: Path, read: Read) -> None:
    """Absent detail objects, absent `object`, both APIs and their time keys in one file."""
    chat = body(1, prompt_tokens=500, completion_tokens=20)
    no_object = {key: value for key, value in body(2).items() if key != "object"}
    responses = response_body(0, input_tokens=900, output_tokens=30)
    path = write(tmp_path / "m.jsonl", [chat, no_object, responses, body(4)] * 300)
    fast = read(path)
    assert read.drafted == []
    same_table(fast, read(path, columnar=False))
    assert int(fast.requests.tokens["input_tokens"].sum()) == 300 * (500 + 1002 + 900 + 1004)


def test_a_small_file_is_read_the_record_way(
    tmp_path: Path, read: Read, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Below one block, importing and starting the columnar machinery costs more than it saves."""
    path = write(tmp_path / "s.jsonl", [body(i) for i in range(5)])
    monkeypatch.setattr(containers, "RECORD_BLOCK_BYTES", path.stat().st_size)
    read(path)
    assert len(read.drafted) == 5
    monkeypatch.setattr(containers, "RECORD_BLOCK_BYTES", path.stat().st_size - 1)
    read(path)
    assert read.drafted == []


def test_files_whose_first_records_are_not_usage_bodies_go_the_record_way(
    tmp_path: Path, read: Read
) -> None:
    gateway = {
        "request": {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
        "response": body(1),
    }
    path = write(tmp_path / "g.jsonl", [gateway] + [body(i) for i in range(5)])
    read(path)
    assert len(read.drafted) == 6
    assert not openai.is_usage_body(gateway)
    assert openai.is_usage_body(body(1))
    assert not openai.is_usage_body({**body(1), "timestamp": "2026-01-01T00:00:00Z"})


def test_distinct_strings_of_sliced_columns_with_nulls() -> None:
    column = pa.array(["gpt-4o", None, "gpt-4o-mini", "", "gpt-4o", "é", "gpt-4o-mini"])
    for part in (column, column.slice(2, 4), column.slice(0, 0)):
        values, codes = columnar.distinct_strings(part)
        assert [values[code] for code in codes.tolist()] == part.to_pylist()
        seen = list(dict.fromkeys(part.to_pylist()))
        assert values == [value for value in seen if value is not None] + [None] * (None in seen)


def test_a_column_of_one_repeated_value_is_recognised_on_its_buffers() -> None:
    repeated = pa.array(["chat.completion"] * 5 + ["response"])
    assert columnar.only_value(repeated.slice(0, 5)) == "chat.completion"
    assert columnar.only_value(repeated) is None
    assert columnar.only_value(repeated.slice(1, 5)) is None
    assert columnar.only_value(pa.array(["a", None])) is None
    assert columnar.only_value(pa.array(["ab", "a"])) is None


def test_rows_are_proven_one_per_line() -> None:
    schema = pa.schema([pa.field("a", pa.int64())])
    good = columnar.parse_block(b'{"a":1}\n\n  {"a":2} \r\n{"a":3}\n', schema)
    assert good.batch is not None and good.rows is not None
    assert good.rows.line.tolist() == [0, 2, 3]
    assert good.rows.text(good.data, 1) == b'  {"a":2} \r'
    for data in (b'{"a":1}{"a":2}\n\n', b'{"a":1,\n"b":2}\n{"a":2}\n', b'{"a":1,"b":"\xff"}\n'):
        assert columnar.parse_block(data, schema).batch is None


# --- Anthropic Message Batches results -------------------------------------------------------------


def batch_result(index: int, **changes: Any) -> dict[str, Any]:
    usage = {
        "input_tokens": 500 + index,
        "cache_creation_input_tokens": 0 if index % 3 else 1024,
        "cache_read_input_tokens": 2048 if index % 2 else 0,
        "cache_creation": {
            "ephemeral_5m_input_tokens": 0 if index % 3 else 1024,
            "ephemeral_1h_input_tokens": 0,
        },
        "output_tokens": 40 + index % 7,
        "service_tier": "batch",
    }
    line: dict[str, Any] = {
        "custom_id": f"job-{index}",
        "timestamp": f"2026-10-01T00:{index // 60 % 60:02d}:{index % 60:02d}.{index % 1000:03d}Z",
        "metadata": {"feature": ["chat", "search", "reports"][index % 3], "tenant": index % 4},
        "result": {
            "type": "succeeded",
            "message": {
                "id": f"msg_{index}",
                "type": "message",
                "model": "claude-sonnet-4-5-20250929" if index % 4 else "claude-haiku-4-5",
                "content": [{"type": "text", "text": "(omitted)"}],
                "usage": usage,
            },
        },
    }
    return changed(line, changes)


ANTHROPIC_ODD = {
    "errored": orjson.dumps(batch_result(5, result={"type": "errored", "error": {"type": "x"}})),
    "expired": orjson.dumps(batch_result(5, result={"type": "expired"})),
    "no message": orjson.dumps(batch_result(5, result__message=DROP)),
    "no usage": orjson.dumps(batch_result(5, result__message__usage=None)),
    "input null": orjson.dumps(batch_result(5, result__message__usage__input_tokens=None)),
    "input absent": orjson.dumps(batch_result(5, result__message__usage__input_tokens=DROP)),
    "output null": orjson.dumps(batch_result(5, result__message__usage__output_tokens=None)),
    "negative read": orjson.dumps(
        batch_result(5, result__message__usage__cache_read_input_tokens=-4)
    ),
    "split only": orjson.dumps(
        batch_result(
            5,
            result__message__usage__cache_creation_input_tokens=DROP,
            result__message__usage__cache_creation={
                "ephemeral_5m_input_tokens": 100,
                "ephemeral_1h_input_tokens": 28,
            },
        )
    ),
    "1h above writes": orjson.dumps(
        batch_result(
            5,
            result__message__usage__cache_creation_input_tokens=10,
            result__message__usage__cache_creation={"ephemeral_1h_input_tokens": 11},
        )
    ),
    "thinking above output": orjson.dumps(
        batch_result(5, result__message__usage__output_tokens_details={"thinking_tokens": 900})
    ),
    "model empty": orjson.dumps(batch_result(5, result__message__model="")),
    "no timestamp": orjson.dumps(batch_result(5, timestamp=DROP)),
    "timestamp whole second": orjson.dumps(batch_result(5, timestamp="2026-10-01T00:00:00Z")),
    "timestamp offset": orjson.dumps(batch_result(5, timestamp="2026-10-01T02:00:00+02:00")),
    "timestamp garbage": orjson.dumps(batch_result(5, timestamp="yesterday")),
    "timestamp empty": orjson.dumps(batch_result(5, timestamp="")),
    "timestamp number": orjson.dumps(batch_result(5, timestamp=1790812800)),
    "another time key": orjson.dumps(batch_result(5, created_at="2026-10-01T00:00:00Z")),
    "metadata scalars": orjson.dumps(
        batch_result(5, metadata={"a": "x", "b": 2, "c": 1.5, "d": True, "e": None})
    ),
    "metadata nested": orjson.dumps(batch_result(5, metadata={"team": "a", "deep": {"x": 1}})),
    "metadata null": orjson.dumps(batch_result(5, metadata=None)),
    "metadata empty": orjson.dumps(batch_result(5, metadata={})),
    "metadata spaced": orjson.dumps(batch_result(5)).replace(b'"metadata":', b'"metadata" : '),
    "metadata also in text": orjson.dumps(
        batch_result(5, result__message__content=[{"type": "text", "text": '{"metadata":1}'}])
    ),
    "metadata also nested": orjson.dumps(batch_result(5, result__message__metadata={"a": "b"})),
    "metadata text": orjson.dumps(batch_result(5, metadata="feature=x")),
    "metadata long": orjson.dumps(batch_result(5, metadata={"note": "n" * 700, "team": "a"})),
    "metadata brace in a value": orjson.dumps(batch_result(5, metadata={"a": "x}y"})),
    "metadata non-ascii": orjson.dumps(batch_result(5, metadata={"team": "zürich"})),
    "custom_id null": orjson.dumps(batch_result(5, custom_id=None)),
}
ANTHROPIC_COLUMN_WAY = {
    "negative read",
    "split only",
    "1h above writes",
    "thinking above output",
    "no timestamp",
    "timestamp whole second",
    "metadata scalars",
    "metadata null",
    "metadata empty",
    "metadata spaced",
    "metadata also in text",
    "metadata long",
    "metadata non-ascii",
}
ANTHROPIC_BLOCK_WAY = {"timestamp number", "metadata text", "another time key"}


class ReadAnthropic(ReadBothWays):
    """Reads a log with the Anthropic columnar extractors allowed or not."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__(monkeypatch, anthropic, ("is_batch_result", "is_message_body"))


@pytest.mark.parametrize("name", ANTHROPIC_ODD)
def test_an_odd_batch_result_reads_as_the_record_path_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    read = ReadAnthropic(monkeypatch)
    records: list[Mapping[str, Any] | bytes] = [batch_result(i) for i in range(80)]
    records += [ANTHROPIC_ODD[name]] + [batch_result(i) for i in range(81, 100)]
    path = write(tmp_path / "batch.jsonl", records)
    fast = read(path, group_fields=("feature",))
    drafted = len(read.drafted)
    slow = read(path, columnar=False, group_fields=("feature",))
    same_table(fast, slow)
    assert fast.files[0].format == "anthropic"
    if name in ANTHROPIC_BLOCK_WAY:
        assert 1 < drafted < 60
    elif name in ANTHROPIC_COLUMN_WAY:
        assert drafted == 0
    else:
        assert drafted == 1


def test_batch_results_with_groups_and_errors_match_the_record_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = ReadAnthropic(monkeypatch)
    records: list[Mapping[str, Any] | bytes] = []
    for index in range(2000):
        if index % 97 == 5:
            records.append(batch_result(index, result={"type": "errored"}))
        elif index % 89 == 7:
            records.append(batch_result(index, result__message__usage__output_tokens=-1))
        else:
            records.append(batch_result(index))
    path = write(tmp_path / "batch.jsonl", records)
    fast = read(path)
    assert len(read.drafted) == len(range(5, 2000, 97))  # only the errored results, one by one
    slow = read(path, columnar=False)
    same_table(fast, slow)
    assert fast.problems.skipped["batch result errored (not billed)"] == 21
    assert sum(fast.problems.skipped.values()) == 21 + len(range(7, 2000, 89))
    assert set(fast.requests.group("feature").values()) - {None} == {"chat", "search", "reports"}
    # input = uncached + cache reads + cache writes (Anthropic's input excludes both)
    expected = sum(
        500 + i + (0 if i % 3 else 1024) + (2048 if i % 2 else 0)
        for i in range(2000)
        if i % 97 != 5 and i % 89 != 7
    )
    assert int(fast.requests.tokens["input_tokens"].sum()) == expected


def test_only_lines_with_audio_input_go_the_record_way(tmp_path: Path, read: Read) -> None:
    """OpenAI writes `audio_tokens: 0` on every chat response: those stay columnar; a line with
    audio input is billed at the audio rate less what the cache served, so the record path reads it."""
    records = []
    for i in range(2000):
        record = body(i)
        details = record["usage"].setdefault("prompt_tokens_details", {})
        details["audio_tokens"] = 40 if i == 777 else 0
        if i == 777:
            details["cached_tokens_details"] = {"audio_tokens": 15}
        records.append(record)
    path = write(tmp_path / "audio.jsonl", records)
    fast = read(path)
    assert [
        record["usage"]["prompt_tokens_details"]["audio_tokens"] for record in read.drafted
    ] == [40]
    slow = read(path, columnar=False)
    same_table(fast, slow)
    audio = fast.requests.tokens["audio_input_tokens"]
    assert audio.sum() == 40 - 15 and audio[777] == 25


def test_strict_stops_at_the_first_errored_result_among_columnar_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Errored results between rows read as columns are skipped in line order: under --strict the
    first of them is the one reported, with its line."""
    read = ReadAnthropic(monkeypatch)
    records: list[Mapping[str, Any] | bytes] = [
        batch_result(index, result={"type": "expired"})
        if index in (301, 650)
        else batch_result(index)
        for index in range(1000)
    ]
    path = write(tmp_path / "batch.jsonl", records)
    with pytest.raises(InputError, match=r"batch\.jsonl:302: batch result expired"):
        read(path, strict=True)


def batch_line(index: int, **changes: Any) -> dict[str, Any]:
    """A Batch API output line of a request that succeeded (OpenAI's documented shape)."""
    line: dict[str, Any] = {
        "id": f"batch_req_{index}",
        "custom_id": f"request-{index}",
        "response": {"status_code": 200, "request_id": f"r{index}", "body": body(index)},
        "error": None,
    }
    line.update(changes)
    return line


def test_batch_output_lines_give_the_same_table_both_ways(tmp_path: Path, read: Read) -> None:
    path = write(tmp_path / "batch.jsonl", [batch_line(i) for i in range(3000)])
    fast = read(path)
    assert read.drafted == []  # every line went the columnar way
    slow = read(path, columnar=False)
    assert len(read.drafted) == 3000
    same_table(fast, slow)
    assert fast.requests.batch.all()
    assert fast.requests.token_sum("input_tokens") == sum(1000 + i for i in range(3000))


def test_batch_output_failures_and_odd_lines_are_read_as_the_record_path_reads_them(
    tmp_path: Path, read: Read
) -> None:
    """Failed requests (an HTTP error, an `error` with no response), a body without usage (its
    completion is counted), Responses bodies, a line with its own time or metadata, a null count:
    each is read as `openai.extract` reads it, whichever way its block goes."""
    lines: list[Mapping[str, Any]] = []
    for index in range(2400):
        kind = index % 400
        if kind == 207:
            lines.append(batch_line(index, response={"status_code": 500, "body": {"error": {}}}))
        elif kind == 213:
            error = {"code": "server_error", "message": "The server had an error"}
            lines.append(batch_line(index, response=None, error=error))
        elif kind == 221:
            no_usage = {key: value for key, value in body(index).items() if key != "usage"}
            lines.append(batch_line(index, response={"status_code": 200, "body": no_usage}))
        elif kind == 229:
            lines.append(
                batch_line(index, response={"status_code": 200, "body": response_body(index)})
            )
        elif kind == 233:
            lines.append(batch_line(index, timestamp="2026-08-22T10:00:05Z"))
        elif kind == 241:
            lines.append(batch_line(index, metadata={"feature": "nightly"}))
        elif kind == 247:
            broken = body(index, prompt_tokens=None, completion_tokens=3)
            lines.append(batch_line(index, response={"status_code": 200, "body": broken}))
        elif kind == 253:
            lines.append(batch_line(index, response={"status_code": 399, "body": body(index)}))
        else:
            lines.append(batch_line(index))
    path = write(tmp_path / "mixed.jsonl", lines)
    fast = read(path, group_fields=("feature",))
    taken_by_records = len(read.drafted)
    slow = read(path, columnar=False, group_fields=("feature",))
    same_table(fast, slow)
    assert taken_by_records < len(read.drafted) == 2400
    assert fast.problems.skipped  # the failed requests are skipped, with their reasons
    assert any("HTTP 500" in reason for reason in fast.problems.skipped)


def message_body(index: int, **changes: Any) -> dict[str, Any]:
    """A Messages API response body as an SDK wrapper logs it, with its time and metadata."""
    line = batch_result(index)
    message: dict[str, Any] = line["result"]["message"]
    message["usage"]["service_tier"] = "standard" if index % 5 else "batch"
    message["timestamp"] = line["timestamp"]
    message["metadata"] = line["metadata"]
    return changed(message, changes)


MESSAGE_ODD = {
    "input null": (message_body(5, usage__input_tokens=None), "record"),
    "output missing": (message_body(5, usage__output_tokens=DROP), "record"),
    "usage missing": (message_body(5, usage=DROP), "record"),
    "model empty": (message_body(5, model=""), "record"),
    "timestamp garbage": (message_body(5, timestamp="yesterday"), "record"),
    "metadata nested": (message_body(5, metadata={"team": "a", "deep": {"x": 1}}), "record"),
    "split only": (
        message_body(
            5,
            usage__cache_creation_input_tokens=DROP,
            usage__cache_creation={"ephemeral_1h_input_tokens": 7, "ephemeral_5m_input_tokens": 9},
        ),
        "column",
    ),
    "no timestamp": (message_body(5, timestamp=DROP), "column"),
    "metadata scalars": (message_body(5, metadata={"a": "x", "b": 2, "d": True}), "column"),
    "thinking": (message_body(5, usage__output_tokens_details={"thinking_tokens": 30}), "column"),
    "another time key": (message_body(5, created_at="2026-10-01T00:00:00Z"), "block"),
    "a response wrapper": (
        {"response": message_body(5), "timestamp": "2026-10-01T00:00:00Z"},
        "block",
    ),
    "a custom_id": (message_body(5, custom_id="job-5"), "block"),
}


@pytest.mark.parametrize("name", MESSAGE_ODD)
def test_an_odd_message_body_reads_as_the_record_path_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    read = ReadAnthropic(monkeypatch)
    odd, way = MESSAGE_ODD[name]
    records: list[Mapping[str, Any] | bytes] = [message_body(i) for i in range(80)]
    records += [odd] + [message_body(i) for i in range(81, 100)]
    path = write(tmp_path / "messages.jsonl", records)
    fast = read(path, group_fields=("feature",))
    drafted = len(read.drafted)
    slow = read(path, columnar=False, group_fields=("feature",))
    same_table(fast, slow)
    assert fast.files[0].format == "anthropic"
    assert {"record": drafted == 1, "column": drafted == 0, "block": 1 < drafted < 60}[way]


def test_message_bodies_match_the_record_path_and_keep_the_batch_tier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = ReadAnthropic(monkeypatch)
    path = write(tmp_path / "messages.jsonl", [message_body(i) for i in range(2000)])
    fast = read(path)
    assert read.drafted == []
    slow = read(path, columnar=False)
    assert len(read.drafted) == 2000
    same_table(fast, slow)
    assert fast.requests.batch.tolist() == [i % 5 == 0 for i in range(2000)]
