"""LiteLLM spend-log rows read the columnar way give exactly what the record path gives.

Every test reads a file with the columnar path allowed and with it switched off (every row then
goes through `litellm.extract`), and compares the whole table, the skipped rows with their reasons
and `file:line` examples, and the notes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costaudit.ingest import containers
from costaudit.ingest.formats import litellm
from support import DROP, BothWays, bench_script, changed, same_table, use_small_blocks
from support import write_jsonl as write


class ReadLiteLLM(BothWays):
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__(monkeypatch, litellm, ("is_spend_log_row",))


@pytest.fixture
def read(monkeypatch: pytest.MonkeyPatch) -> ReadLiteLLM:
    return ReadLiteLLM(monkeypatch)


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    use_small_blocks(monkeypatch)


def _usage(index: int) -> dict[str, Any]:
    """`metadata.usage_object` as LiteLLM records it: OpenAI's usage (cached and reasoning
    details), or Anthropic's folded into the OpenAI convention with its cache split."""
    if index % 3:
        return {
            "prompt_tokens": 1000 + index,
            "completion_tokens": 40 + index % 50,
            "total_tokens": 1040 + index + index % 50,
            "prompt_tokens_details": {"cached_tokens": (index % 4) * 128, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": index % 5, "audio_tokens": None},
        }
    reads = 2048 if index % 2 else 0
    writes = 0 if reads else 512 + index % 100
    one_hour = writes if index % 9 == 0 else 0
    return {
        "prompt_tokens": 300 + index + reads + writes,
        "completion_tokens": 90,
        "total_tokens": 390 + index + reads + writes,
        "prompt_tokens_details": {
            "cached_tokens": reads,
            "cache_creation_tokens": writes,
            "cache_creation_token_details": {
                "ephemeral_5m_input_tokens": writes - one_hour,
                "ephemeral_1h_input_tokens": one_hour,
            },
        },
        "cache_creation_input_tokens": writes,
        "cache_read_input_tokens": reads,
    }


def spend_row(index: int, **changes: Any) -> dict[str, Any]:
    """A `LiteLLM_SpendLogs` row as `/spend/logs` returns it, prompts not stored."""
    usage = _usage(index)
    anthropic = index % 3 == 0
    row: dict[str, Any] = {
        "request_id": f"chatcmpl-{index}",
        "call_type": "acompletion" if index % 7 else "aembedding",
        "api_key": "88dc28d0f0",
        "spend": 0.0004,
        "total_tokens": usage["total_tokens"],
        "prompt_tokens": usage["prompt_tokens"],
        "completion_tokens": usage["completion_tokens"],
        "startTime": f"2026-08-22T10:{index // 60 % 60:02d}:{index % 60:02d}.{index % 997:03d}000Z"
        if index % 11
        else f"2026-08-22T11:{index // 60 % 60:02d}:{index % 60:02d}Z",
        "endTime": "2026-08-22T10:00:01.323000Z",
        "model": "claude-sonnet-4-5" if anthropic else "gpt-4o-mini",
        "model_group": ["chat-default", "", "fast"][index % 3],
        "custom_llm_provider": "anthropic" if anthropic else "openai",
        "api_base": "https://api.openai.com/v1",
        "user": "default_user" if index % 4 else "",
        "team_id": None if index % 5 else "team-a",
        "organization_id": None,
        "end_user": ["", "palantir", "initech", "zürich"][index % 4],
        "requester_ip_address": "10.0.0.1",
        "metadata": {
            "user_api_key": "88dc28d0f0",
            "user_api_key_alias": ["search-svc", None, ""][index % 3],
            "user_api_key_team_id": "team-b",
            "user_api_key_user_id": f"user-{index % 7}",
            "user_api_key_team_alias": None if index % 2 else "search",
            "user_api_key_org_id": "org-1" if index % 6 == 1 else None,
            "spend_logs_metadata": {"feature": ["chat", "search", "reports"][index % 3]}
            if index % 5
            else None,
            "usage_object": usage,
            "additional_usage_values": {},
            "applied_guardrails": [],
            "status": "success",
        },
        "cache_hit": "False",
        "cache_key": "Cache OFF",
        "request_tags": [["prod"], [], ["taskName:classify", "jobID:21"]][index % 3],
        "messages": {},
        "response": {},
        "session_id": None,
        "status": "success",
    }
    return changed(row, changes)


def test_spend_logs_give_the_same_table_both_ways(tmp_path: Path, read: ReadLiteLLM) -> None:
    path = write(tmp_path / "spend.jsonl", [spend_row(i) for i in range(3000)])
    fast = read(path)
    assert read.drafted == []  # every row went the columnar way
    slow = read(path, columnar=False)
    assert len(read.drafted) == 3000
    same_table(fast, slow)
    assert fast.files[0].format == "litellm" and fast.records_read == 3000
    assert set(fast.requests.group("feature").values()) - {None} == {"chat", "search", "reports"}
    assert set(fast.requests.group("tags").values()) == {
        "prod",
        "jobID:21,taskName:classify",
        None,
    }
    assert int(fast.requests.tokens["cache_write_1h_tokens"].sum()) > 0


def test_the_generated_benchmark_file_reads_the_same_both_ways(
    tmp_path: Path, read: ReadLiteLLM
) -> None:
    """The bench generator's rows (with its response-cache hits and failed calls, which only the
    record path reads, to skip them)."""
    generate = bench_script("generate")
    path = generate.write("litellm-spend-logs", 1500, tmp_path / "generated.jsonl")
    fast = read(path)
    skipped = sum(fast.problems.skipped.values())
    assert 0 < len(read.drafted) == skipped
    same_table(fast, read(path, columnar=False))


def _anthropic_usage(**usage: Any) -> dict[str, Any]:
    return {"prompt_tokens": 5000, "completion_tokens": 70, **usage}


ODD: dict[str, tuple[dict[str, Any] | bytes, str]] = {
    # read the columnar way (the validator judges the counts, groups as the record path makes them)
    "split only": (
        spend_row(
            6,
            metadata__usage_object=_anthropic_usage(
                cache_creation={"ephemeral_5m_input_tokens": 40, "ephemeral_1h_input_tokens": 60}
            ),
        ),
        "column",
    ),
    "writes zero, split given": (
        spend_row(
            6,
            metadata__usage_object=_anthropic_usage(
                cache_creation_input_tokens=0,
                prompt_tokens_details={
                    "cache_creation_token_details": {"ephemeral_1h_input_tokens": 7}
                },
            ),
        ),
        "column",
    ),
    "reads only in additional values": (
        spend_row(
            8,
            metadata__usage_object=None,
            metadata__additional_usage_values={"prompt_tokens_details": {"cached_tokens": 64}},
        ),
        "column",
    ),
    "both sources, the first wins": (
        spend_row(
            8,
            metadata__additional_usage_values={
                "cache_read_input_tokens": 999,
                "completion_tokens_details": {"reasoning_tokens": 3},
            },
        ),
        "column",
    ),
    "prompt excluding the cache": (spend_row(9, prompt_tokens=7), "column"),
    "prompt including reads only": (
        spend_row(
            9,
            prompt_tokens=3000,
            metadata__usage_object=_anthropic_usage(
                cache_read_input_tokens=2048, cache_creation_input_tokens=2000
            ),
        ),
        "column",
    ),
    "negative completion": (spend_row(5, completion_tokens=-1), "column"),
    "implausible prompt": (spend_row(5, prompt_tokens=10**13), "column"),
    "reasoning above completion": (
        spend_row(
            5,
            completion_tokens=2,
            metadata__usage_object__completion_tokens_details={"reasoning_tokens": 9},
        ),
        "column",
    ),
    "1h above writes": (
        spend_row(
            6,
            metadata__usage_object=_anthropic_usage(
                cache_creation_input_tokens=10, cache_creation={"ephemeral_1h_input_tokens": 11}
            ),
        ),
        "column",
    ),
    "null detail counts": (
        spend_row(
            5,
            metadata__usage_object__prompt_tokens_details={"cached_tokens": None},
            metadata__additional_usage_values={"prompt_tokens_details": {"cached_tokens": 3}},
        ),
        "column",
    ),
    "cache_hit false, lower case": (spend_row(5, cache_hit="false"), "column"),
    "cache_hit empty": (spend_row(5, cache_hit=""), "column"),
    "cache_hit null": (spend_row(5, cache_hit=None), "column"),
    "status null": (spend_row(5, status=None), "column"),
    "status absent": (spend_row(5, status=DROP), "column"),
    "no startTime": (spend_row(5, startTime=DROP), "column"),
    "startTime null": (spend_row(5, startTime=None), "column"),
    "metadata null": (spend_row(5, metadata=None), "column"),
    "metadata empty": (spend_row(5, metadata={}), "column"),
    "caller metadata empty": (spend_row(5, metadata__spend_logs_metadata={}), "column"),
    "caller metadata scalars": (
        spend_row(
            5,
            metadata__spend_logs_metadata={"a": "x", "b": 2, "c": 1.5, "d": True, "e": None},
        ),
        "column",
    ),
    "caller metadata with a list": (
        spend_row(5, metadata__spend_logs_metadata={"feature": "x", "ids": [1, 2]}),
        "column",
    ),
    "caller metadata spaced": (
        orjson.dumps(spend_row(5)).replace(b'"spend_logs_metadata":', b'"spend_logs_metadata" :  '),
        "column",
    ),
    "caller metadata naming a group": (
        spend_row(5, user="", metadata__spend_logs_metadata={"user": "from-caller", "team": 4}),
        "column",
    ),
    "caller metadata naming a reserved column": (
        spend_row(5, metadata__spend_logs_metadata={"model": "x", "feature": "y"}),
        "column",
    ),
    "user empty, no key user": (
        spend_row(5, user="", metadata__user_api_key_user_id=""),
        "column",
    ),
    "organization from the row": (spend_row(5, organization_id="org-9"), "column"),
    "tags with null and duplicates": (
        spend_row(5, request_tags=["b", None, "a", "b"]),
        "column",
    ),
    "tags null": (spend_row(5, request_tags=None), "column"),
    "messages empty list": (spend_row(5, messages=[]), "column"),
    "messages null": (spend_row(5, messages=None), "column"),
    "messages absent": (spend_row(5, messages=DROP), "column"),
    "response null": (spend_row(5, response=None), "column"),
    "response without usage": (spend_row(5, response={"id": "x", "usage": None}), "column"),
    "model long": (spend_row(5, model="m" * 300), "column"),
    "blank": (b"   ", "column"),
    # left to the record path, line by line
    "cache hit": (spend_row(5, cache_hit="True"), "record"),
    "cache hit spelled with spaces": (spend_row(5, cache_hit=" False "), "record"),
    "failed call": (spend_row(5, status="failure"), "record"),
    "failed call, capitalised": (spend_row(5, status="Failure"), "record"),
    "prompt stored": (
        spend_row(5, messages=[{"role": "user", "content": "what llm are you"}]),
        "record",
    ),
    "prompt stored as text": (spend_row(5, messages="what llm are you"), "record"),
    "response with usage": (
        spend_row(
            5,
            response={"usage": {"prompt_tokens": 1, "prompt_tokens_details": {"cached_tokens": 9}}},
        ),
        "record",
    ),
    "usage of the row's own": (
        spend_row(5, usage={"prompt_tokens": 7, "completion_tokens": 31}),
        "record",
    ),
    "prompt null": (spend_row(5, prompt_tokens=None), "record"),
    "completion absent": (spend_row(5, completion_tokens=DROP), "record"),
    "no counts at all": (
        spend_row(5, prompt_tokens=DROP, completion_tokens=DROP, metadata={}),
        "record",
    ),
    "model empty": (spend_row(5, model=""), "record"),
    "startTime with an offset": (spend_row(5, startTime="2026-08-22T10:00:00+00:00"), "record"),
    "startTime with a space": (spend_row(5, startTime="2026-08-22 10:05:00.000"), "record"),
    "startTime garbage": (spend_row(5, startTime="yesterday"), "record"),
    "startTime empty": (spend_row(5, startTime=""), "record"),
    "caller metadata nested": (
        spend_row(5, metadata__spend_logs_metadata={"feature": "x", "deep": {"a": 1}}),
        "record",
    ),
    "caller metadata with a brace in a value": (
        spend_row(5, metadata__spend_logs_metadata={"feature": "x}y"}),
        "record",
    ),
    "caller metadata key twice": (
        spend_row(6, metadata__requester_metadata={"spend_logs_metadata": {"a": "b"}}),
        "record",
    ),
    "too many tags": (spend_row(5, request_tags=[f"t{n}" for n in range(40)]), "record"),
    # pyarrow cannot parse the line as declared: its whole block goes the record way
    "prompt as text": (spend_row(5, prompt_tokens="1200"), "block"),
    "prompt as whole float": (spend_row(5, prompt_tokens=1200.0), "block"),
    "count beyond int64": (
        orjson.dumps(spend_row(5)).replace(
            b'"prompt_tokens":1005', b'"prompt_tokens":1' + b"0" * 20
        ),
        "block",
    ),
    "startTime as an epoch": (spend_row(5, startTime=1755856800.25), "block"),
    "cache_hit as a boolean": (spend_row(5, cache_hit=True), "block"),
    "user as a number": (spend_row(5, user=0), "block"),
    "metadata as JSON text": (spend_row(5, metadata='{"spend_logs_metadata": {}}'), "block"),
    "caller metadata as JSON text": (
        spend_row(5, metadata__spend_logs_metadata='{"feature": "x"}'),
        "block",
    ),
    "tags as text": (spend_row(5, request_tags="prod"), "block"),
    "malformed": (b'{"request_id": "x", "prompt_tokens":', "block"),
}


@pytest.mark.parametrize("name", ODD)
def test_an_odd_row_reads_as_the_record_path_reads_it(
    tmp_path: Path, read: ReadLiteLLM, name: str
) -> None:
    """Past the first 50 records (which choose the columnar path), an odd row changes nothing
    else: the columnar extractor takes it, or leaves it alone to the record path, or (when pyarrow
    cannot parse it) its block goes to the record path."""
    odd, way = ODD[name]
    records: list[Mapping[str, Any] | bytes] = [spend_row(i) for i in range(80)]
    records += [odd] + [spend_row(i) for i in range(81, 100)]
    path = write(tmp_path / "odd.jsonl", records)
    fast = read(path)
    drafted = len(read.drafted)
    same_table(fast, read(path, columnar=False))
    assert fast.files[0].format == "litellm"
    assert {"record": drafted == 1, "column": drafted == 0, "block": 1 < drafted < 60}[way]


def test_every_odd_row_interleaved_reads_as_the_record_path_reads_it(
    tmp_path: Path, read: ReadLiteLLM
) -> None:
    odd = [line for line, _ in ODD.values()]
    records: list[Mapping[str, Any] | bytes] = [
        odd[index // 60] if index % 60 == 59 else spend_row(index) for index in range(60 * len(odd))
    ]
    path = write(tmp_path / "mixed.jsonl", records)
    fast = read(path)
    drafted = len(read.drafted)
    slow = read(path, columnar=False)
    same_table(fast, slow)
    assert drafted < len(read.drafted) // 3
    assert "failed call (not billed)" in fast.problems.skipped


def test_a_file_whose_later_rows_do_not_suit_reads_the_same(
    tmp_path: Path, read: ReadLiteLLM
) -> None:
    """The head is spend-log rows without prompts; later the proxy starts storing prompts and the
    rows carry them (and then epoch times): those blocks go to the record path."""
    records: list[Mapping[str, Any] | bytes] = [spend_row(i) for i in range(200)]
    prompt = [{"role": "user", "content": "summarise the report"}]
    records += [spend_row(i, messages=prompt) for i in range(200, 400)]
    records += [spend_row(i, startTime=1755856800.5 + i) for i in range(400, 500)]
    records += [spend_row(i) for i in range(500, 700)]
    path = write(tmp_path / "later.jsonl", records)
    fast = read(path)
    drafted = len(read.drafted)
    same_table(fast, read(path, columnar=False))
    assert 300 <= drafted < 700


def test_files_whose_head_is_not_spend_log_rows_go_the_record_way(
    tmp_path: Path, read: ReadLiteLLM
) -> None:
    payload = spend_row(1, messages=[{"role": "user", "content": "hi"}], startTime=1755856800.0)
    path = write(tmp_path / "payloads.jsonl", [payload] + [spend_row(i) for i in range(300)])
    read(path)
    assert len(read.drafted) == 301
    assert litellm.is_spend_log_row(spend_row(1))
    assert litellm.is_spend_log_row(spend_row(1, cache_hit="True", status="failure"))
    assert not litellm.is_spend_log_row(payload)
    assert not litellm.is_spend_log_row(spend_row(1, usage={"prompt_tokens": 1}))
    assert not litellm.is_spend_log_row(spend_row(1, response={"usage": {"prompt_tokens": 1}}))
    assert not litellm.is_spend_log_row(spend_row(1, prompt_tokens="12"))


def test_a_row_failing_validation_is_skipped_with_its_line(
    tmp_path: Path, read: ReadLiteLLM
) -> None:
    """The validator judges the columns: the first bad count in reading order names the field,
    as the record path names it (here the negative reasoning count, read after the cache reads)."""
    bad = spend_row(
        7,
        prompt_tokens=10,
        completion_tokens=5,
        metadata__usage_object={
            "cache_read_input_tokens": 4,
            "completion_tokens_details": {"reasoning_tokens": -4},
        },
    )
    path = write(tmp_path / "v.jsonl", [spend_row(i) for i in range(60)] + [bad, spend_row(61)])
    workload = read(path)
    assert read.drafted == []
    assert dict(workload.problems.skipped) == {"negative reasoning tokens": 1}
    assert workload.problems.examples["negative reasoning tokens"] == [f"{path}:61"]
    same_table(workload, read(path, columnar=False))


counts = st.one_of(st.none(), st.integers(min_value=0, max_value=50_000))
SOURCE_PATHS = (
    ("cache_read_input_tokens",),
    ("prompt_tokens_details", "cached_tokens"),
    ("cache_creation_input_tokens",),
    ("prompt_tokens_details", "cache_creation_tokens"),
    ("cache_creation", "ephemeral_1h_input_tokens"),
    ("cache_creation", "ephemeral_5m_input_tokens"),
    ("prompt_tokens_details", "cache_creation_token_details", "ephemeral_1h_input_tokens"),
    ("prompt_tokens_details", "cache_creation_token_details", "ephemeral_5m_input_tokens"),
    ("completion_tokens_details", "reasoning_tokens"),
)


def _source(values: list[int | None]) -> dict[str, Any]:
    """A usage source with each of SOURCE_PATHS set where its value is given."""
    source: dict[str, Any] = {}
    for path, value in zip(SOURCE_PATHS, values, strict=True):
        if value is None:
            continue
        branch = source
        for name in path[:-1]:
            branch = branch.setdefault(name, {})
        branch[path[-1]] = value
    return source


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=200_000),
            st.integers(min_value=0, max_value=5_000),
            st.lists(counts, min_size=len(SOURCE_PATHS), max_size=len(SOURCE_PATHS)),
            st.lists(counts, min_size=len(SOURCE_PATHS), max_size=len(SOURCE_PATHS)),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_random_usage_sources_match_the_record_path(
    rows: list[tuple[int, int, list[int | None], list[int | None]]],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Counts anywhere in either usage source, in any combination, counted as the record path
    counts them (which source and path wins, the cache split, what the prompt count includes)."""
    path = tmp_path_factory.mktemp("fuzz") / "f.jsonl"
    records = [spend_row(index) for index in range(60)]
    records += [
        spend_row(
            index,
            prompt_tokens=prompt,
            completion_tokens=completion,
            metadata__usage_object=_source(first),
            metadata__additional_usage_values=_source(second),
        )
        for index, (prompt, completion, first, second) in enumerate(rows)
    ]
    write(path, records)
    monkeypatch = pytest.MonkeyPatch()
    try:
        monkeypatch.setattr(containers, "RECORD_BLOCK_BYTES", 1_024)
        reading = ReadLiteLLM(monkeypatch)
        fast = reading(path)
        assert reading.drafted == []
        same_table(fast, reading(path, columnar=False))
    finally:
        monkeypatch.undo()
