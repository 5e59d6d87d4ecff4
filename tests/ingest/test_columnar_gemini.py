"""Gemini / Vertex AI response bodies read the columnar way give exactly what the record path gives.

Every test reads a file twice, with the Gemini columnar extractor allowed and switched off (every
record then goes `gemini.extract`), and compares the whole table, the skipped records with their
reasons and `file:line` examples, and the notes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costaudit.errors import InputError
from costaudit.ingest.formats import gemini
from support import DROP, BothWays, changed, same_table, use_small_blocks, write_jsonl

MODELS = ("gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.0-flash-001")


class ReadGemini(BothWays):
    """Reads a log with the Gemini columnar extractor allowed or not."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__(monkeypatch, gemini, ("is_response_body",))


@pytest.fixture
def read(monkeypatch: pytest.MonkeyPatch) -> ReadGemini:
    return ReadGemini(monkeypatch)


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    use_small_blocks(monkeypatch)


def response(index: int, **changes: Any) -> dict[str, Any]:
    """A Vertex AI `generateContent` response body; `changes` as `support.changed` takes them."""
    prompt = 900 + index * 7
    cached = 0 if index % 3 else 512
    thoughts = 0 if index % 2 else 40 + index % 50
    tools = 60 if index % 11 == 0 else 0
    usage: dict[str, Any] = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": 20 + index % 90,
        "totalTokenCount": prompt + 20 + index % 90 + thoughts + tools,
        "trafficType": "ON_DEMAND",
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
        "candidatesTokensDetails": [{"modality": "TEXT", "tokenCount": 20 + index % 90}],
    }
    if cached:
        usage["cachedContentTokenCount"] = cached
        usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": cached}]
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    if tools:
        usage["toolUsePromptTokenCount"] = tools
    body: dict[str, Any] = {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": "answer " * (index % 5)}]},
                "finishReason": "STOP",
                "avgLogprobs": -0.25,
            }
        ],
        "usageMetadata": usage,
        "modelVersion": MODELS[index % len(MODELS)],
        "createTime": f"2026-10-01T{index // 3600 % 24:02d}:{index // 60 % 60:02d}:"
        f"{index % 60:02d}.{index % 1000:03d}{index % 7:03d}Z",
        "responseId": f"resp-{index}",
    }
    return changed(body, changes)


def line(index: int, **changes: Any) -> bytes:
    return orjson.dumps(response(index, **changes))


def developer_api(index: int) -> dict[str, Any]:
    """A Gemini Developer API body: no `createTime`."""
    return response(index, createTime=DROP)


def audio_details(index: int, modality: str = "AUDIO") -> dict[str, Any]:
    return response(
        index,
        usageMetadata__promptTokensDetails=[
            {"modality": "TEXT", "tokenCount": 100},
            {"modality": modality, "tokenCount": 400},
        ],
    )


SNAKE_DUMP = {
    "candidates": [{"content": {"role": "model", "parts": [{"text": "hi"}]}}],
    "usage_metadata": {
        "prompt_token_count": 12,
        "candidates_token_count": 3,
        "thoughts_token_count": 5,
        "total_token_count": 20,
    },
    "model_version": "gemini-2.5-flash",
}
WRAPPER = {
    "timestamp": 1755856900,
    "metadata": {"feature": "chat"},
    "request": {
        "contents": [{"role": "user", "parts": [{"text": "Hi"}]}],
        "labels": {"team": "growth"},
    },
    "response": response(3),
}

ODD: dict[str, tuple[Mapping[str, Any] | bytes, str]] = {
    # shapes the record path reads otherwise
    "snake_case SDK dump": (SNAKE_DUMP, "record"),
    "snake_case SDK dump with its time": (
        {**SNAKE_DUMP, "create_time": "2026-10-01T00:00:00Z"},
        "block",
    ),
    "logging wrapper": (WRAPPER, "block"),
    "wrapper without time or request": (
        {"response": response(3), "metadata": {"feature": "x"}},
        "record",
    ),
    "body with its request": (
        response(5, request={"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}),
        "block",
    ),
    "body with a null request": (response(5, request=None), "column"),
    "metadata on a bare body": (response(5, metadata={"feature": "x"}), "column"),
    "labels on a bare body": (response(5, labels={"team": "x"}), "column"),
    # audio input, in every spelling the record path recognises
    "audio prompt": (audio_details(5), "record"),
    "audio in lower case": (audio_details(5, "audio"), "record"),
    "audio in mixed case": (audio_details(5, "aUdIo"), "record"),
    "audio with an escaped letter": (
        orjson.dumps(audio_details(5, "AUDIO")).replace(b'"AUDIO"', b'"AUD\\u0049O"'),
        "record",
    ),
    "audio with a dotless i": (audio_details(5, "aud\u0131o"), "record"),
    "audio cached": (
        response(
            5,
            usageMetadata__cachedContentTokenCount=200,
            usageMetadata__cacheTokensDetails=[{"modality": "AUDIO", "tokenCount": 200}],
        ),
        "record",
    ),
    "audio in snake_case details": (
        response(5, usageMetadata__prompt_tokens_details=[{"modality": "AUDIO", "tokenCount": 40}]),
        "record",
    ),
    "audio only named in the answer": (
        response(5, candidates=[{"content": {"parts": [{"text": "an AUDIO clip"}]}}]),
        "record",
    ),
    "image and video details": (audio_details(5, "VIDEO"), "column"),
    "unknown modality": (audio_details(5, "AUDIO_V2"), "record"),
    "escaped letters elsewhere": (
        orjson.dumps(response(5)).replace(b'"STOP"', b'"\\u0053TOP"'),
        "column",
    ),
    "non-ASCII answer": (
        response(5, candidates=[{"content": {"parts": [{"text": "Grüße, 東京"}]}}]),
        "column",
    ),
    # counts
    "prompt null": (response(5, usageMetadata__promptTokenCount=None), "column"),
    "every count null": (
        response(5, usageMetadata={"promptTokenCount": None, "candidatesTokenCount": None}),
        "record",
    ),
    "usageMetadata empty": (response(5, usageMetadata={}), "record"),
    "usageMetadata null": (response(5, usageMetadata=None), "record"),
    "usageMetadata a list": (response(5, usageMetadata=[1]), "block"),
    "count as text": (response(5, usageMetadata__promptTokenCount="12"), "block"),
    "count as whole float": (response(5, usageMetadata__promptTokenCount=12.0), "block"),
    "count as boolean": (response(5, usageMetadata__candidatesTokenCount=True), "block"),
    "count negative": (response(5, usageMetadata__candidatesTokenCount=-3), "column"),
    "count implausible": (response(5, usageMetadata__promptTokenCount=10**13), "column"),
    "two counts implausible": (
        response(
            5, usageMetadata__thoughtsTokenCount=-(10**15), usageMetadata__promptTokenCount=10**13
        ),
        "column",
    ),
    "count beyond int64": (
        line(5).replace(b'"promptTokenCount":935', b'"promptTokenCount":99999999999999999999'),
        "block",
    ),
    "cached above prompt": (response(5, usageMetadata__cachedContentTokenCount=5000), "column"),
    "snake twin beside its count": (response(5, usageMetadata__prompt_token_count=7), "block"),
    "count null, snake twin given": (
        response(5, usageMetadata__promptTokenCount=None, usageMetadata__prompt_token_count=7),
        "block",
    ),
    "snake twin null": (response(5, usageMetadata__prompt_token_count=None), "column"),
    "no candidates (prompt blocked)": (
        response(
            5,
            candidates=DROP,
            promptFeedback={"blockReason": "SAFETY"},
            usageMetadata={"promptTokenCount": 10, "totalTokenCount": 10},
        ),
        "column",
    ),
    # model
    "modelVersion empty": (response(5, modelVersion=""), "record"),
    "modelVersion null": (response(5, modelVersion=None), "record"),
    "modelVersion absent, model given": (
        response(5, modelVersion=DROP, model="gemini-2.5-pro"),
        "record",
    ),
    "modelVersion a number": (response(5, modelVersion=25), "block"),
    "modelVersion long": (response(5, modelVersion="g" * 300), "column"),
    # time
    "no createTime": (developer_api(5), "column"),
    "createTime whole second": (response(5, createTime="2026-10-01T00:00:05Z"), "column"),
    "createTime in nanoseconds": (
        response(5, createTime="2026-10-01T00:00:05.123456789Z"),
        "column",
    ),
    "createTime with an offset": (
        response(5, createTime="2026-10-01T02:00:05.5+02:00"),
        "record",
    ),
    "createTime with a space": (response(5, createTime="2026-10-01 00:00:05Z"), "record"),
    "createTime garbage": (response(5, createTime="yesterday"), "record"),
    "createTime empty": (response(5, createTime=""), "record"),
    "createTime out of range": (response(5, createTime="1500-10-01T00:00:05Z"), "record"),
    "createTime not a date": (response(5, createTime="2026-02-30T00:00:05Z"), "record"),
    "createTime a number": (response(5, createTime=1790812800), "block"),
    "createTime null": (response(5, createTime=None), "column"),
    "createTime null, create_time given": (
        response(5, createTime=None, create_time="2026-10-01T00:00:00Z"),
        "block",
    ),
    "another time key": (response(5, timestamp="2026-10-01T00:00:00Z"), "block"),
    "another time key as a number": (response(5, created=1790812800), "block"),
    "another time key null": (response(5, created=None), "column"),
    # lines
    "malformed": (b"not json", "block"),
    "blank": (b"   ", "column"),
    "two objects on a line": (line(5) + line(6), "block"),
    "one object on two lines": (
        line(5).replace(b'"usageMetadata":', b'\n"usageMetadata":'),
        "block",
    ),
    "byte-order mark": (b"\xef\xbb\xbf" + line(5), "block"),
    "invalid UTF-8": (line(6).replace(b"answer", b"answ\xff"), "block"),
    "duplicate key": (
        line(5).replace(b'"modelVersion"', b'"modelVersion":"x","modelVersion"'),
        "block",
    ),
}


@pytest.mark.parametrize("name", ODD)
def test_an_odd_line_reads_as_the_record_path_reads_it(
    tmp_path: Path, read: ReadGemini, name: str
) -> None:
    """Past the first 50 records (which choose the columnar path) an odd line changes nothing else:
    the record path drafts it alone, or the block it is in when pyarrow cannot parse that block as
    the schema says, or no line at all when the extractor takes it (the validator judges it)."""
    odd, way = ODD[name]
    records: list[Mapping[str, Any] | bytes] = [response(i) for i in range(40)]
    records += [developer_api(i) for i in range(40, 80)]
    records += [odd] + [response(i) for i in range(81, 100)]
    path = write_jsonl(tmp_path / "odd.jsonl", records)
    fast = read(path, group_fields=("feature", "team"))
    drafted = len(read.drafted)
    same_table(fast, read(path, columnar=False, group_fields=("feature", "team")))
    assert fast.files[0].format == "gemini"
    assert {"record": drafted == 1, "column": drafted == 0, "block": 1 < drafted < 60}[way], drafted


def test_response_bodies_give_the_same_table_both_ways(tmp_path: Path, read: ReadGemini) -> None:
    path = write_jsonl(tmp_path / "r.jsonl", [response(i) for i in range(3000)])
    fast = read(path)
    assert read.drafted == []  # every line went the columnar way
    slow = read(path, columnar=False)
    assert len(read.drafted) == 3000
    same_table(fast, slow)
    assert fast.files[0].format == "gemini" and fast.records_read == 3000
    # input = prompt + tool-use prompt (cached content is inside the prompt); output adds thoughts
    usage = [response(i)["usageMetadata"] for i in range(3000)]
    tokens = fast.requests.tokens
    assert tokens["input_tokens"].tolist() == [
        u["promptTokenCount"] + u.get("toolUsePromptTokenCount", 0) for u in usage
    ]
    assert tokens["output_tokens"].tolist() == [
        u["candidatesTokenCount"] + u.get("thoughtsTokenCount", 0) for u in usage
    ]
    assert tokens["reasoning_tokens"].tolist() == [u.get("thoughtsTokenCount", 0) for u in usage]
    assert tokens["cached_input_tokens"].tolist() == [
        u.get("cachedContentTokenCount", 0) for u in usage
    ]
    assert fast.requests.timestamp_ns[1] == 1790812801_001001000  # 2026-10-01T00:00:01.001001Z


SPACING = 97
"""Lines between two odd lines of the mixed file: a few blocks, so that a block the record path
reads whole is followed by blocks read as columns (after a few blocks in a row read the record way,
a file is no longer parsed as columns)."""


def test_every_odd_line_in_one_file_reads_as_the_record_path_reads_it(
    tmp_path: Path, read: ReadGemini
) -> None:
    """Every odd line of the per-line test, interleaved with bodies of both APIs in a file of some
    6,000 lines: whichever way each block goes, the file reads as the record path reads it."""
    odd = [value for value, _ in ODD.values()]
    records: list[Mapping[str, Any] | bytes] = []
    for index in range(SPACING * (len(odd) + 1)):
        if index and index % SPACING == 0:
            records.append(odd[index // SPACING - 1])
        else:
            records.append(response(index) if index % 4 else developer_api(index))
    path = write_jsonl(tmp_path / "mixed.jsonl", records)
    fast = read(path, group_fields=("feature", "team"))
    taken_by_records = len(read.drafted)
    slow = read(path, columnar=False, group_fields=("feature", "team"))
    same_table(fast, slow)
    assert taken_by_records < len(read.drafted) // 4
    assert fast.problems.skipped  # the bodies the record path skips, with their reasons


def test_audio_input_is_billed_by_the_record_path(tmp_path: Path, read: ReadGemini) -> None:
    """Audio input is billed at its own rate less what the cache served: lines naming the AUDIO
    modality are read one by one, the others stay columnar."""
    records = [response(i) for i in range(2000)]
    records[777] = response(
        777,
        usageMetadata__promptTokensDetails=[
            {"modality": "TEXT", "tokenCount": 500},
            {"modality": "AUDIO", "tokenCount": 400},
        ],
        usageMetadata__cacheTokensDetails=[{"modality": "AUDIO", "tokenCount": 150}],
    )
    path = write_jsonl(tmp_path / "audio.jsonl", records)
    fast = read(path)
    assert [record["responseId"] for record in read.drafted] == ["resp-777"]
    same_table(fast, read(path, columnar=False))
    audio = fast.requests.tokens["audio_input_tokens"]
    assert audio.sum() == 400 - 150 and audio[777] == 250


def test_a_file_whose_head_suits_but_whose_rest_does_not(tmp_path: Path, read: ReadGemini) -> None:
    """Bare bodies first, then logging wrappers and SDK dumps: the wrappers' blocks go the record
    way (their time and request are declared null), the dumps' rows are left one by one, and after
    a few blocks read wholly the record way the file stops being parsed as columns."""
    records: list[Mapping[str, Any] | bytes] = [response(i) for i in range(100)]
    records += [WRAPPER if i % 2 else SNAKE_DUMP for i in range(1500)]
    records += [response(i) for i in range(100, 600)]
    path = write_jsonl(tmp_path / "later.jsonl", records)
    fast = read(path, group_fields=("feature", "team"))
    drafted = len(read.drafted)
    same_table(fast, read(path, columnar=False, group_fields=("feature", "team")))
    assert 1500 <= drafted < 2100
    assert set(fast.requests.group("team").values()) == {None, "growth"}


def test_files_whose_first_records_are_not_bare_bodies_go_the_record_way(
    tmp_path: Path, read: ReadGemini
) -> None:
    path = write_jsonl(tmp_path / "w.jsonl", [WRAPPER] + [response(i) for i in range(500)])
    fast = read(path)
    assert len(read.drafted) == 501
    same_table(fast, read(path, columnar=False))
    assert gemini.is_response_body(response(1)) and gemini.is_response_body(developer_api(1))
    for record in (
        WRAPPER,
        SNAKE_DUMP,
        response(1, createTime=1790812800),
        response(1, create_time="2026-10-01T00:00:00Z"),
        response(1, request={"contents": []}),
        response(1, timestamp="2026-10-01T00:00:00Z"),
        response(1, usageMetadata__prompt_token_count=3),
    ):
        assert not gemini.is_response_body(record)


@pytest.mark.parametrize("strict", [False, True])
def test_a_row_failing_validation_is_skipped_with_its_line(
    tmp_path: Path, read: ReadGemini, strict: bool
) -> None:
    records: list[Mapping[str, Any] | bytes] = [response(i) for i in range(300)]
    records[210] = response(210, usageMetadata__cachedContentTokenCount=10**6)
    records[250] = response(250, usageMetadata={})
    path = write_jsonl(tmp_path / "v.jsonl", records)
    if strict:
        with pytest.raises(InputError) as raised:
            read(path, strict=True)
        assert (
            str(raised.value) == f"{path}:211: cached plus cache-write tokens exceed input tokens"
        )
        return
    workload = read(path)
    assert len(read.drafted) == 1  # the body without counts; the other is judged as columns
    assert dict(workload.problems.skipped) == {
        "cached plus cache-write tokens exceed input tokens": 1,
        "no gemini usage fields": 1,
    }
    same_table(workload, read(path, columnar=False))


counts = st.one_of(st.none(), st.integers(min_value=-5, max_value=3_000_000))


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(counts, counts, counts, counts, counts, st.booleans()), min_size=60, max_size=90
    )
)
def test_random_usage_matches_the_record_path(
    rows: list[tuple[int | None, ...]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    records: list[Mapping[str, Any] | bytes] = []
    for index, (*values, vertex) in enumerate(rows):
        usage = dict(zip(gemini.COUNT_FIELDS, values, strict=True))
        body = response(index, usageMetadata=usage)
        records.append(body if vertex else {**body, "createTime": None})
    path = write_jsonl(tmp_path_factory.mktemp("fuzz") / "f.jsonl", records)
    monkeypatch = pytest.MonkeyPatch()
    try:
        reading = ReadGemini(monkeypatch)
        use_small_blocks(monkeypatch)
        same_table(reading(path), reading(path, columnar=False))
    finally:
        monkeypatch.undo()
