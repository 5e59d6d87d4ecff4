"""Reference programs: only the work no log analyzer can avoid, on the same file as `costaudit analyze`.

    python bench/references.py parse FILE      # orjson.loads of every line
    python bench/references.py tokenize FILE   # … plus tiktoken encode_ordinary of every text

`parse` reads the file in binary and parses each non-empty line with orjson. `tokenize` also encodes,
with cl100k_base (tiktoken built from the rank file bpe-openai ships, sha256-checked), every text whose token count
a usage-less log forces an analyzer to compute: each request message's content (chat `messages`,
Anthropic `system`, Responses `input`/`instructions`) and each completion's content. Both run in one
thread, as a plain script would, and print one JSON line of counts so a run can be checked.

They run as subprocesses of bench/run.py, so the interpreter start-up and imports are counted the same
way as for the CLI.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson


def lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                yield line


def parse(path: Path) -> dict[str, int]:
    records = 0
    for line in lines(path):
        orjson.loads(line)
        records += 1
    return {"records": records}


def _content_texts(content: Any) -> Iterator[str]:
    """The text parts of a message content: a string, or a list of text parts."""
    if isinstance(content, str):
        yield content
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                yield part["text"]


def texts_of(record: dict[str, Any]) -> Iterator[str]:
    """Every prompt and completion text of a gateway, request or response record."""
    request = record.get("request", record)
    if isinstance(request, dict):
        for message in request.get("messages") or ():
            if isinstance(message, dict):
                yield from _content_texts(message.get("content"))
        yield from _content_texts(request.get("system"))
        yield from _content_texts(request.get("instructions"))
        yield from _content_texts(request.get("input"))
    response = record.get("response")
    if isinstance(response, dict):
        for choice in response.get("choices") or ():
            if isinstance(choice, dict) and isinstance(choice.get("message"), dict):
                yield from _content_texts(choice["message"].get("content"))


def tokenize(path: Path) -> dict[str, int]:
    from costaudit.ingest.tokenizer import tiktoken_encoding

    encode: Callable[[str], list[int]] = tiktoken_encoding("cl100k_base").encode_ordinary
    records = texts = tokens = 0
    for line in lines(path):
        record = orjson.loads(line)
        records += 1
        for text in texts_of(record):
            tokens += len(encode(text))
            texts += 1
    return {"records": records, "texts": texts, "tokens": tokens}


def duckdb_sums(path: Path) -> dict[str, int]:
    """What a data engineer would write instead: DuckDB reads the JSON lines (on every core) and
    sums each model's usage tokens. Needs the `bench` extra (`pip install -e '.[bench]'`)."""
    import duckdb

    connection = duckdb.connect()
    connection.execute("SET threads TO 2")
    query = """
        SELECT model, count(*),
               sum(usage.prompt_tokens), sum(usage.completion_tokens),
               sum(usage.prompt_tokens_details.cached_tokens)
        FROM read_json_auto(?, format = 'newline_delimited')
        GROUP BY model
    """
    rows = connection.execute(query, [str(path)]).fetchall()
    return {"records": sum(int(row[1]) for row in rows), "models": len(rows)}


PROGRAMS: dict[str, Callable[[Path], dict[str, int]]] = {
    "parse": parse,
    "tokenize": tokenize,
    "duckdb": duckdb_sums,
}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in PROGRAMS:
        sys.stderr.write(f"usage: references.py {{{'|'.join(PROGRAMS)}}} FILE\n")
        return 2
    counts = PROGRAMS[argv[0]](Path(argv[1]))
    sys.stdout.write(orjson.dumps({"program": argv[0], **counts}).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
