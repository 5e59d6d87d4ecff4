"""Helicone JSON-lines exports read the columnar way give exactly what the record path gives.

Every test reads a file with the Helicone columnar extractor allowed and switched off, and compares
the whole request table, the skipped records with their reasons and `file:line` examples, and the
notes (tests/support.py: BothWays, same_table).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
import pytest

from costaudit.errors import InputError
from costaudit.ingest.formats import helicone
from support import BothWays, same_table, use_small_blocks
from support import write_jsonl as write

FEATURES = ("search", "chat", "reports")
DROP = object()


def row(index: int, **changes: Any) -> dict[str, Any]:
    """A `HeliconeRequest` row as the export tool writes it (the shape of
    tests/data/logs/helicone.jsonl), OpenAI and Anthropic requests alternating; `changes` set
    (or, given DROP, delete) top-level fields."""
    anthropic = index % 3 == 0
    properties = {"feature": FEATURES[index % 3], "tenant": f"t{index % 4}"}
    record: dict[str, Any] = {
        "request_id": f"5f1e{index:08x}",
        "request_created_at": f"2026-08-22T10:{index // 60 % 60:02d}:{index % 60:02d}.{index % 1000:03d}Z",
        "request_path": "/v1/messages" if anthropic else "/v1/chat/completions",
        "request_user_id": f"user_{index % 17}",
        "request_properties": properties,
        "request_model": "claude-sonnet-4-5" if anthropic else "gpt-4o-mini",
        "response_id": f"9ab0{index:08x}",
        "response_created_at": "2026-08-22T10:00:01.323Z",
        "response_status": 200,
        "response_model": "claude-sonnet-4-5" if anthropic else "gpt-4o-mini-2024-07-18",
        "model": "claude-sonnet-4-5" if anthropic else "gpt-4o-mini-2024-07-18",
        "provider": "ANTHROPIC" if anthropic else "OPENAI",
        "delay_ms": 1200,
        "total_tokens": 0,
        "prompt_tokens": 100 + index,
        "completion_tokens": 20 + index % 50,
        "prompt_cache_read_tokens": 1024 if index % 2 else 0,
        "prompt_cache_write_tokens": 2048 if anthropic and index % 4 == 0 else 0,
        "prompt_audio_tokens": 0,
        "completion_audio_tokens": 0,
        "cost": 0.0001542,
        "cache_enabled": False,
        "cache_reference_id": "00000000-0000-0000-0000-000000000000",
        "country_code": "US",
        "properties": properties,
    }
    for key, value in changes.items():
        if value is DROP:
            del record[key]
        else:
            record[key] = value
    return record


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    use_small_blocks(monkeypatch)


@pytest.fixture
def read(monkeypatch: pytest.MonkeyPatch) -> BothWays:
    return BothWays(monkeypatch, helicone, ("is_request_row",))


def test_export_rows_give_the_same_table_both_ways(tmp_path: Path, read: BothWays) -> None:
    records = [row(i, response_status=500) if i % 101 == 7 else row(i) for i in range(3000)]
    path = write(tmp_path / "h.jsonl", records)
    fast = read(path)
    failed = len(range(7, 3000, 101))
    assert len(read.drafted) == failed  # only the failed requests, one by one
    slow = read(path, columnar=False)
    assert len(read.drafted) == 3000
    same_table(fast, slow)
    assert fast.files[0].format == "helicone"
    assert fast.problems.skipped == {"failed request (HTTP 500, not billed)": failed}
    # Helicone's parts add up whatever the provider: input = prompt + cache reads + cache writes
    kept = [i for i in range(3000) if i % 101 != 7]
    expected = sum(
        100 + i + (1024 if i % 2 else 0) + (2048 if i % 3 == 0 and i % 4 == 0 else 0) for i in kept
    )
    assert fast.requests.token_sum("input_tokens") == expected
    assert set(fast.requests.group("feature").values()) == set(FEATURES)
    assert set(fast.requests.group("provider").values()) == {"OPENAI", "ANTHROPIC"}


def line(**changes: Any) -> bytes:
    return orjson.dumps(row(5, **changes))


NESTED = {"team": "a", "deep": {"x": 1}}
TOOLS = {"tools": [{"name": "f", "parameters": {"type": "object", "properties": {"x": {}}}}]}
ODD: dict[str, tuple[bytes, str]] = {
    "failed": (line(response_status=500), "record"),
    "rate limited": (line(response_status=429), "record"),
    "status 399": (line(response_status=399), "column"),
    "status null": (line(response_status=None), "column"),
    "status absent": (line(response_status=DROP), "column"),
    "status as text": (line(response_status="500"), "block"),
    "prompt null": (line(prompt_tokens=None), "record"),
    "prompt absent": (line(prompt_tokens=DROP), "record"),
    "prompt as text": (line(prompt_tokens="12"), "block"),
    "prompt as whole float": (line(prompt_tokens=12.0), "block"),
    "prompt negative": (line(prompt_tokens=-3), "column"),
    "cache read negative": (line(prompt_cache_read_tokens=-4, prompt_tokens=-3), "column"),
    "prompt implausible": (line(prompt_tokens=10**13), "column"),
    "count beyond int64": (line(prompt_tokens=10**19), "block"),
    "completion null": (line(completion_tokens=None), "column"),
    "completion absent": (line(completion_tokens=DROP), "column"),
    "cache counts null": (
        line(prompt_cache_read_tokens=None, prompt_cache_write_tokens=None),
        "column",
    ),
    "cache counts absent": (
        line(prompt_cache_read_tokens=DROP, prompt_cache_write_tokens=DROP),
        "column",
    ),
    "audio input": (line(prompt_audio_tokens=40), "record"),
    "audio output": (line(completion_audio_tokens=7), "record"),
    "audio null": (line(prompt_audio_tokens=None, completion_audio_tokens=None), "column"),
    "response-cache hit": (
        line(prompt_tokens=0, completion_tokens=0, prompt_cache_read_tokens=0),
        "column",
    ),
    "model empty": (line(model=""), "record"),
    "model null": (line(model=None), "record"),
    "model absent": (line(model=DROP), "record"),
    "model as number": (line(model=4), "block"),
    "time absent": (line(request_created_at=DROP), "column"),
    "time null": (line(request_created_at=None), "column"),
    "time whole second": (line(request_created_at="2026-08-22T10:00:00Z"), "column"),
    "time nanoseconds": (line(request_created_at="2026-08-22T10:00:00.123456789Z"), "column"),
    "time with offset": (line(request_created_at="2026-08-22T12:00:00.000+02:00"), "record"),
    "time with a space": (line(request_created_at="2026-08-22 10:00:00.123"), "record"),
    "time empty": (line(request_created_at=""), "record"),
    "time garbage": (line(request_created_at="yesterday"), "record"),
    "time as number": (line(request_created_at=1787392800), "block"),
    "properties nested": (line(request_properties=NESTED, properties=NESTED), "record"),
    "properties scalars": (
        line(request_properties={"a": "x", "b": 2, "c": 1.5, "d": True, "e": None}),
        "column",
    ),
    "own properties empty": (line(request_properties={}), "column"),
    "own properties null": (line(request_properties=None), "column"),
    "own properties absent": (line(request_properties=DROP), "column"),
    "no properties at all": (line(request_properties=DROP, properties=DROP), "column"),
    "both empty": (line(request_properties={}, properties={}), "column"),
    "own empty, other nested": (line(request_properties={}, properties=NESTED), "record"),
    "own nested, other flat": (line(request_properties=NESTED), "record"),
    "own flat, other nested": (line(properties=NESTED), "column"),
    "properties as JSON text": (line(request_properties='{"feature":"x"}'), "block"),
    "properties as a list": (line(request_properties=["x"]), "block"),
    "properties spaced": (
        line().replace(b'"request_properties":', b'"request_properties" : '),
        "column",
    ),
    "properties with a brace in a value": (line(request_properties={"a": "x}y"}), "record"),
    "property named user": (line(request_properties={"user": "from-header", "b": "1"}), "column"),
    "property with a reserved name": (line(request_properties={"model": "m", "b": "1"}), "column"),
    "property non-ascii": (line(request_properties={"team": "zürich"}), "column"),
    "property key as a value elsewhere": (line(country_code="request_properties"), "record"),
    "tool schema in the body": (line(request_body=TOOLS), "column"),
    "tool schema in the body, no own properties": (
        line(request_body=TOOLS, request_properties=None),
        "record",
    ),
    "user empty, helicone_user": (line(request_user_id="", helicone_user="hu-1"), "column"),
    "user null, helicone_user": (line(request_user_id=None, helicone_user="hu-2"), "column"),
    "user absent": (line(request_user_id=DROP), "column"),
    "user as number": (line(request_user_id=42), "block"),
    "provider null": (line(provider=None), "column"),
    "provider empty": (line(provider=""), "column"),
    "duplicate key": (line().replace(b'"model"', b'"model":"x","model"', 1), "block"),
    "malformed": (b'{"request_id": "x", "prompt_tokens":', "block"),
    "blank": (b"   ", "column"),
}


@pytest.mark.parametrize("name", ODD)
def test_an_odd_row_reads_as_the_record_path_reads_it(
    tmp_path: Path, read: BothWays, name: str
) -> None:
    """Past the first 50 rows (which choose the columnar path), an odd row changes nothing else:
    it is read by the extractor ("column"), left to the record path alone ("record"), or makes
    pyarrow refuse its block, which the record path reads ("block")."""
    odd, way = ODD[name]
    records: list[Mapping[str, Any] | bytes] = [row(i) for i in range(80)]
    records += [odd] + [row(i) for i in range(81, 100)]
    path = write(tmp_path / "odd.jsonl", records)
    fast = read(path, group_fields=("feature",))
    drafted = len(read.drafted)
    slow = read(path, columnar=False, group_fields=("feature",))
    same_table(fast, slow)
    assert fast.files[0].format == "helicone"
    assert {"record": drafted == 1, "column": drafted == 0, "block": 1 < drafted < 60}[way]


def test_every_odd_row_interleaved_reads_as_the_record_path_reads_it(
    tmp_path: Path, read: BothWays
) -> None:
    """Each odd row, and a row with more grouping keys than the table keeps, among ordinary ones
    in one file: the same table, skips, examples and notes both ways."""
    many = {f"k{number:02d}": str(number) for number in range(40)}
    odd = [*(text for text, _ in ODD.values()), orjson.dumps(row(3, request_properties=many))]
    records: list[Mapping[str, Any] | bytes] = [row(i) for i in range(60)]
    for index in range(60, 2400):
        kind = index % 23
        records.append(odd[(index // 23) % len(odd)] if kind == 11 else row(index))
    path = write(tmp_path / "mixed.jsonl", records)
    fast = read(path)
    drafted = len(read.drafted)
    slow = read(path, columnar=False)
    same_table(fast, slow)
    assert 0 < drafted < len(read.drafted)
    assert fast.problems.notes  # the keys past the limit are noted the same way
    assert "failed request (HTTP 500, not billed)" in fast.problems.skipped


def test_a_file_whose_later_rows_do_not_suit_reads_as_the_record_path_reads_it(
    tmp_path: Path, read: BothWays
) -> None:
    """The head suits the columnar path; later the export turns into rows it cannot parse (counts
    and properties as text, as a CSV converted to JSON would give them): those blocks go the record
    way, the rest stays columnar."""
    records: list[Mapping[str, Any] | bytes] = [row(i) for i in range(300)]
    for index in range(300, 600):
        text = row(index, prompt_tokens=str(100 + index), request_properties='{"feature":"csv"}')
        records.append(text)
    records += [row(i) for i in range(600, 900)]
    path = write(tmp_path / "later.jsonl", records)
    fast = read(path)
    drafted = [int(record["request_id"][4:], 16) for record in read.drafted]
    slow = read(path, columnar=False)
    same_table(fast, slow)
    # the rows before the change stay columnar but for the block it starts in; after a few blocks
    # read wholly the record way, the reader stops trying the columnar way for the rest of the file
    assert 250 <= drafted[0] < 300
    assert drafted == list(range(drafted[0], 900))
    # both kinds of property objects give groups
    assert set(fast.requests.group("feature").values()) == {*FEATURES, "csv"}


def test_a_head_that_does_not_suit_is_read_the_record_way(tmp_path: Path, read: BothWays) -> None:
    records = [row(0, prompt_tokens="100"), *(row(i) for i in range(1, 200))]
    path = write(tmp_path / "head.jsonl", records)
    read(path)
    assert len(read.drafted) == 200
    assert not helicone.is_request_row(records[0])
    assert helicone.is_request_row(row(1))
    assert helicone.is_request_row(row(1, response_status=500, prompt_tokens=None))
    assert not helicone.is_request_row(row(1, request_properties='{"a":"b"}'))
    assert not helicone.is_request_row(row(1, request_user_id=7))


def test_strict_stops_at_the_first_failed_request_among_columnar_rows(
    tmp_path: Path, read: BothWays
) -> None:
    records = [row(i, response_status=503) if i in (301, 650) else row(i) for i in range(1000)]
    path = write(tmp_path / "strict.jsonl", records)
    with pytest.raises(InputError, match=r"strict\.jsonl:302: failed request \(HTTP 503"):
        read(path, strict=True)


def test_the_fixture_reads_the_same_both_ways(tmp_path: Path, read: BothWays) -> None:
    """tests/data/logs/helicone.jsonl repeated: OpenAI- and Anthropic-style cache counts, a failed
    request and a response-cache hit."""
    fixture = Path(__file__).parent.parent / "data" / "logs" / "helicone.jsonl"
    lines = fixture.read_bytes().splitlines() * 100
    path = write(tmp_path / "fixture.jsonl", lines)
    fast = read(path)
    # the failed request of each copy, and the blocks where a quarter of the rows or more are
    # left to the record path, which are read that way whole
    assert 100 <= len(read.drafted) < 400
    same_table(fast, read(path, columnar=False))
