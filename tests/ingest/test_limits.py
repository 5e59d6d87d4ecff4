"""Hostile inputs: oversized records, unterminated CSV quotes, byte-order marks, truncated streams.

Limits are lowered with monkeypatch so the tests stay small; the behaviour at 64 MiB is the same.
"""

from __future__ import annotations

import csv
import gzip
import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from costaudit.errors import InputError
from costaudit.ingest import containers
from costaudit.ingest.containers import TOO_LONG
from support import Read

LIMIT = 4_096


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(containers, "MAX_RECORD_BYTES", LIMIT)
    monkeypatch.setattr(containers, "RECORD_BLOCK_BYTES", 1_024)


def _usage(index: int, padding: int = 0) -> bytes:
    return orjson.dumps(
        {
            "object": "chat.completion",
            "created": 1_790_812_800 + index,
            "model": "gpt-4o",
            "choices": [{"message": {"content": "x" * padding}}],
            "usage": {"prompt_tokens": 100 + index, "completion_tokens": 10},
        }
    )


def _generic(index: int, padding: int = 0) -> bytes:
    return orjson.dumps(
        {"model": "gpt-4o", "input_tokens": 100 + index, "output_tokens": 1, "note": "x" * padding}
    )


@pytest.mark.usefixtures("small_limit")
@pytest.mark.parametrize("line", [_usage, _generic], ids=["columnar", "record"])
@pytest.mark.parametrize("where", [2, 80])
def test_an_oversized_json_line_is_skipped_with_its_line(
    read: Read, tmp_path: Path, line: Callable[..., bytes], where: int
) -> None:
    lines = [line(index) for index in range(100)]
    lines[where - 1] = line(where - 1, 3 * LIMIT)
    path = tmp_path / "long.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    workload = read(path)
    assert workload.records_read == 100
    assert len(workload.requests) == 99
    assert dict(workload.problems.skipped) == {TOO_LONG: 1}
    assert workload.problems.examples[TOO_LONG] == [f"{path}:{where}"]
    inputs = workload.requests.tokens["input_tokens"].tolist()
    assert inputs == [100 + index for index in range(100) if index != where - 1]


@pytest.mark.usefixtures("small_limit")
def test_a_last_line_without_line_break_and_a_long_first_line(read: Read, tmp_path: Path) -> None:
    path = tmp_path / "edges.jsonl"
    path.write_bytes(_generic(0, 2 * LIMIT) + b"\n" + _generic(1) + b"\n" + _generic(2))
    workload = read(path)
    assert workload.records_read == 3
    assert workload.problems.examples[TOO_LONG] == [f"{path}:1"]
    assert workload.requests.tokens["input_tokens"].tolist() == [101, 102]


@pytest.mark.usefixtures("small_limit")
def test_an_oversized_item_of_a_json_array_is_passed_over(read: Read, tmp_path: Path) -> None:
    items = [
        {"model": "gpt-4o", "input_tokens": 1, "output_tokens": 1},
        {"model": "gpt-4o", "input_tokens": 2, "output_tokens": 1, "note": 'a"b\\' * LIMIT},
        {"model": "gpt-4o", "input_tokens": 3, "output_tokens": 1, "deep": [[["]"]]] * LIMIT},
        {"model": "gpt-4o", "input_tokens": 4, "output_tokens": 1},
    ]
    path = tmp_path / "array.json"
    path.write_bytes(orjson.dumps(items, option=orjson.OPT_INDENT_2))
    workload = read(path)
    assert workload.files[0].container == "json"
    assert workload.records_read == 4
    assert dict(workload.problems.skipped) == {TOO_LONG: 2}
    assert workload.problems.examples[TOO_LONG] == [f"{path}:2", f"{path}:3"]
    assert workload.requests.tokens["input_tokens"].tolist() == [1, 4]


@pytest.mark.usefixtures("small_limit")
@pytest.mark.parametrize("block", [64, 100_000])
def test_oversized_strings_and_numbers_in_a_json_array_are_passed_over_alone(
    read: Read, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    monkeypatch.setattr(containers, "JSON_BLOCK_BYTES", block)
    record = b'{"model": "gpt-4o", "input_tokens": 7, "output_tokens": 1}'
    huge_text = b'"' + b'ab\\"' * LIMIT + b'"'
    huge_number = b"9" * (3 * LIMIT)
    path = tmp_path / "items.json"
    path.write_bytes(b"[" + b", ".join([huge_text, record, huge_number, record]) + b"]")
    workload = read(path)
    assert workload.records_read == 4
    assert workload.problems.examples[TOO_LONG] == [f"{path}:1", f"{path}:3"]
    assert workload.requests.tokens["input_tokens"].tolist() == [7, 7]


@pytest.mark.usefixtures("small_limit")
def test_one_huge_line_without_a_line_break_in_the_head(read: Read, tmp_path: Path) -> None:
    """A first record longer than the sniffed head makes the file a JSON document: the splitter
    passes over it in linear time and reads the records after it."""
    path = tmp_path / "huge.jsonl"
    path.write_bytes(_generic(0, 40 * LIMIT) + b"\n" + _generic(1) + b"\n")
    workload = read(path)
    assert workload.records_read == 2
    assert workload.problems.examples[TOO_LONG] == [f"{path}:1"]
    assert workload.requests.tokens["input_tokens"].tolist() == [101]


@pytest.mark.usefixtures("small_limit")
def test_an_oversized_csv_record_is_skipped_and_the_rows_after_it_keep_their_lines(
    read: Read, tmp_path: Path
) -> None:
    cell = '"' + ('word, "quoted" words\r\n' * LIMIT).replace('"', '""') + '"'
    path = tmp_path / "big.csv"
    path.write_bytes(
        (
            "model,input_tokens,output_tokens,note\r\n"
            "gpt-4o,1,1,short\r\n"
            f"gpt-4o,2,1,{cell}\r\n"
            "gpt-4o,3,1,\r\n"
            'gpt-4o,4,1,"two\r\nlines"\r\n'
            "gpt-4o,-5,1,\r\n"
        ).encode()
    )
    workload = read(path)
    assert workload.records_read == 5
    assert workload.requests.tokens["input_tokens"].tolist() == [1, 3, 4]
    assert workload.problems.examples == {
        TOO_LONG: [f"{path}:{3 + LIMIT}"],
        "negative input tokens": [f"{path}:{7 + LIMIT}"],
    }


@pytest.mark.parametrize("limit", [LIMIT, None])
def test_an_unterminated_csv_quote_is_an_error_naming_its_line(
    read: Read, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int | None
) -> None:
    """The csv module would make every later row part of one cell, silently: reading stops with
    exit 3 at the line the quote opens on, whether the rest is short or beyond the record limit."""
    if limit is not None:
        monkeypatch.setattr(containers, "MAX_RECORD_BYTES", limit)
    rows = "".join(f"gpt-4o,{index},1,fine\n" for index in range(2_000))
    path = tmp_path / "quote.csv"
    path.write_text(
        'model,input_tokens,output_tokens,note\ngpt-4o,1,1,ok\ngpt-4o,2,1,"oops\n' + rows
    )
    with pytest.raises(InputError) as raised:
        read(path)
    assert str(raised.value) == (
        f"{path}:3: a quoted CSV field is never closed (the rest of the file would be one cell)"
    )


def test_csv_rows_match_the_csv_module(read: Read, tmp_path: Path) -> None:
    """Quotes only open a field at its start, doubled quotes, text after a closing quote, blank
    lines, CR, LF and CRLF line ends, short and long rows: cut and keyed as csv.DictReader does."""
    path = tmp_path / "odd.csv"
    path.write_bytes(
        b"model,input_tokens,output_tokens,note\r\n"
        b'gpt-4o,1,1,say "hi"\r'
        b'gpt-4o,2,1,"a ""quoted"" word"tail\n'
        b"\n"
        b"gpt-4o,3,1\r\n"
        b"gpt-4o,4,1,x,extra\n"
        b'gpt-4o,-5,1,"multi\nline"\n'
        b"gpt-4o,-6,1,last"
    )
    workload = read(path)
    assert workload.requests.tokens["input_tokens"].tolist() == [1, 2, 3, 4]
    # rows are numbered by the line they end on, as csv.DictReader numbers them
    assert workload.problems.examples == {"negative input tokens": [f"{path}:8", f"{path}:9"]}


@pytest.mark.parametrize("container", ["jsonl-columnar", "jsonl", "json", "csv"])
def test_a_byte_order_mark_before_the_first_record(
    read: Read, tmp_path: Path, container: str
) -> None:
    bom = b"\xef\xbb\xbf"
    contents = {
        "jsonl-columnar": b"\n".join(_usage(index) for index in range(3)),
        "jsonl": b"\n".join(_generic(index) for index in range(3)),
        "json": b"[" + b",".join(_generic(index) for index in range(3)) + b"]",
        "csv": b"model,input_tokens,output_tokens\ngpt-4o,100,1\ngpt-4o,101,1\ngpt-4o,102,1\n",
    }
    path = tmp_path / "bom.log"
    path.write_bytes(gzip.compress(bom + contents[container]))
    workload = read(path)
    assert workload.problems.skipped_total == 0
    assert workload.requests.tokens["input_tokens"].tolist() == [100, 101, 102]


def test_a_zstd_file_cut_in_half_is_an_error(read: Read, tmp_path: Path) -> None:
    data = b"\n".join(_usage(index, 200) for index in range(5_000)) + b"\n"
    packed = zstandard.ZstdCompressor().compress(data)
    path = tmp_path / "cut.jsonl.zst"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(InputError, match="compressed data is cut off or corrupt"):
        read(path)
    done = subprocess.run(
        [sys.executable, "-m", "costaudit", "analyze", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 3
    assert done.stdout == ""
    assert f"{path}: compressed data is cut off or corrupt" in done.stderr
    assert "Traceback" not in done.stderr


def _dict_reader_rows(text: str) -> list[tuple[int, dict[str, str | None]]]:
    """What csv.DictReader makes of the text, numbered as it numbers rows (the reference)."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = []
    for row in reader:
        cells = {key: (value if value != "" else None) for key, value in row.items()}
        rows.append((reader.line_num, {k: v for k, v in cells.items() if k is not None}))
    return rows


cells = st.text(alphabet=st.sampled_from('ab ,"\n\r'), max_size=6)


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(st.lists(cells, min_size=1, max_size=4), min_size=1, max_size=12),
    ending=st.sampled_from(["\n", "\r\n", "\r"]),
    plain=st.booleans(),
)
def test_csv_rows_are_cut_and_numbered_as_csv_dictreader_does(
    rows: list[list[str]], ending: str, plain: bool
) -> None:
    """Written by csv.writer (quoted where needed) or, without quotes or line breaks in cells,
    joined by hand (the plain stretches the reader splits directly)."""
    out = io.StringIO(newline="")
    if plain:
        clean = [[cell.translate(str.maketrans("", "", '",\n\r')) for cell in row] for row in rows]
        out.write("".join(",".join(row) + ending for row in [["h1", "h2", "h3"], *clean]))
    else:
        csv.writer(out, lineterminator=ending).writerows([["h1", "h2", "h3"], *rows])
    text = out.getvalue()
    got = list(containers.csv_rows(io.BytesIO(text.encode()), ",", "t.csv"))
    assert got == _dict_reader_rows(text)
