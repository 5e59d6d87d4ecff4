"""Fuzz every reader with mutated records through `read_logs` on real files.

Records from the fixture logs are mutated (keys dropped, values replaced by other types, negative and
huge numbers, numbers as strings, nested junk), mixed with truncated JSON lines, random bytes and
blank lines, and read with the format forced (so every reader sees every kind of junk) and detected.
The only exception allowed out is InputError, for whole-file problems (binary data, undecodable
text, an unrecognisable file); otherwise every record read is a table row or a counted skip.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from costaudit.errors import InputError
from costaudit.ingest.reader import Logs, ReadOptions, read_logs
from support import DATA

LOGS = DATA / "logs"
JSON_SEEDS = {
    "openai": ["openai_chat.jsonl", "openai_batch_output.jsonl"],
    "anthropic": ["anthropic_messages.jsonl", "anthropic_batch_results.jsonl"],
    "gemini": ["gemini.jsonl"],
    "otel": ["otel_spans.jsonl", "otel_document.json"],
    "litellm": ["litellm_spend_logs.json", "litellm_payloads.jsonl"],
    "langfuse": ["langfuse_observations.jsonl"],
    "helicone": ["helicone.jsonl"],
    "mooncake": ["mooncake.jsonl"],
    "generic": ["generic_nested.jsonl"],
}
CSV_SEEDS = {
    "langfuse": "langfuse_observations.csv",
    "helicone": "helicone.csv",
    "azure-trace": "azure_trace.csv",
    "burstgpt": "burstgpt.csv",
    "generic": "generic_canonical.csv",
}
SPECIAL_TEXT = ["12", "-3", "1e9", "12.5", "", "NaN", "2025-13-01", "1755856800000000000", "True"]
ACTIONS = ["keep"] * 10 + ["drop", "junk", "negative", "stringify"]


def _json_records(name: str) -> list[Any]:
    text = (LOGS / name).read_text()
    if name.endswith(".json"):
        document = json.loads(text)
        return document if isinstance(document, list) else [document]
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _csv_rows(name: str) -> tuple[list[str], list[dict[str, str]]]:
    with (LOGS / name).open(newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def junk(rng: random.Random, depth: int = 0) -> object:
    """A random JSON-ish value: any scalar type, numbers out of range, or nested junk."""
    choice = rng.randrange(10 if depth < 2 else 8)
    scalars: list[object] = [
        None,
        rng.random() < 0.5,
        rng.randint(-(2**70), 2**70),
        rng.choice([float("nan"), float("inf"), -1.5, 1e300, rng.uniform(-1e6, 1e6)]),
        "".join(chr(rng.randrange(32, 0x2FF)) for _ in range(rng.randrange(8))),
        rng.choice(SPECIAL_TEXT),
        rng.randint(-5, 5),
        rng.choice(["{", "[", '"', "\\", "\u0000"]),
    ]
    if choice < len(scalars):
        return scalars[choice]
    if choice == len(scalars):
        return [junk(rng, depth + 1) for _ in range(rng.randrange(3))]
    return {str(junk(rng, 2)): junk(rng, depth + 1) for _ in range(rng.randrange(3))}


def _mutate_scalar(rng: random.Random, value: object, action: str) -> object:
    if action == "junk":
        return junk(rng)
    if action == "negative" and isinstance(value, int | float) and not isinstance(value, bool):
        return -abs(value) - 1
    if action == "stringify" and not isinstance(value, dict | list):
        return str(value)
    return value


def mutate(rng: random.Random, value: object, depth: int = 0) -> object:
    """A copy of `value` with random keys dropped and values replaced."""
    if isinstance(value, dict):
        result: dict[str, object] = {}
        for key, item in value.items():
            action = rng.choice(ACTIONS)
            if action == "keep" and depth < 8:
                result[key] = mutate(rng, item, depth + 1)
            elif action != "drop":
                result[key] = _mutate_scalar(rng, item, action)
        if rng.random() < 0.1:
            result[str(junk(rng, 2))] = junk(rng)
        return result
    if isinstance(value, list):
        items = [mutate(rng, item, depth + 1) for item in value]
        if items and rng.random() < 0.2:
            items.pop(rng.randrange(len(items)))
        return items
    return _mutate_scalar(rng, value, rng.choice(ACTIONS))


def _line(rng: random.Random, record: object) -> bytes:
    kind = rng.choice(["record"] * 6 + ["truncated", "bytes", "blank"])
    text = json.dumps(mutate(rng, record)).encode()
    if kind == "truncated":
        return text[: rng.randrange(max(1, len(text)))]
    if kind == "bytes":
        return rng.randbytes(rng.randrange(40)).replace(b"\n", b" ")
    return b"" if kind == "blank" else text


def _json_file(rng: random.Random, seeds: list[Any]) -> bytes:
    records = [rng.choice(seeds) for _ in range(rng.randint(1, 8))]
    if rng.random() < 0.6:
        return b"\n".join(_line(rng, record) for record in records) + b"\n"
    body = json.dumps([mutate(rng, record) for record in records]).encode()
    return body if rng.random() < 0.7 else body[: rng.randrange(max(1, len(body)))]


def _csv_file(rng: random.Random, header: list[str], rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    for _ in range(rng.randint(1, 8)):
        row = rng.choice(rows)
        writer.writerow(
            {key: str(junk(rng)) if rng.random() < 0.25 else value for key, value in row.items()}
        )
    raw = out.getvalue().encode()
    if rng.random() < 0.2:
        raw += rng.randbytes(rng.randrange(30)) + b"\n"
    return raw


def _check(content: bytes, suffix: str, forced: str | None) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"fuzz{suffix}"
        path.write_bytes(content)
        try:
            workload: Logs = read_logs(
                [str(path)], ReadOptions(format=forced), lambda _model: "cl100k_base"
            )
        except InputError:
            return
        assert workload.records_read == len(workload.requests) + workload.problems.skipped_total
        assert (workload.requests.tokens["input_tokens"] >= 0).all()
        assert (workload.requests.tokens["output_tokens"] >= 0).all()


FUZZ_SETTINGS = settings(
    max_examples=int(os.environ.get("INGEST_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("fmt", sorted(JSON_SEEDS))
@pytest.mark.parametrize("forced", [True, False], ids=["forced", "detected"])
@FUZZ_SETTINGS
@given(rng=st.randoms(use_true_random=False))
def test_json_readers_survive_mutated_records(fmt: str, forced: bool, rng: random.Random) -> None:
    seeds = [record for name in JSON_SEEDS[fmt] for record in _json_records(name)]
    content = _json_file(rng, seeds)
    note(repr(content))
    _check(content, ".jsonl", fmt if forced else None)


@pytest.mark.parametrize("fmt", sorted(CSV_SEEDS))
@pytest.mark.parametrize("forced", [True, False], ids=["forced", "detected"])
@FUZZ_SETTINGS
@given(rng=st.randoms(use_true_random=False))
def test_csv_readers_survive_mutated_rows(fmt: str, forced: bool, rng: random.Random) -> None:
    header, rows = _csv_rows(CSV_SEEDS[fmt])
    content = _csv_file(rng, header, rows)
    note(repr(content))
    _check(content, ".csv", fmt if forced else None)


@FUZZ_SETTINGS
@given(content=st.binary(max_size=400))
def test_random_bytes(content: bytes) -> None:
    for forced in (None, "generic", "otel"):
        _check(content, ".log", forced)
