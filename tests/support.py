"""Types and helpers shared by tests (fixtures themselves live in conftest.py)."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import orjson
import pandas as pd
import pytest

from costaudit.config.pricing import PriceTable
from costaudit.config.scenario import ScenarioFile
from costaudit.core.prompt_cache import PrefixBlocks, from_lists
from costaudit.core.request_table import RequestTable
from costaudit.core.simulate.state import Workload
from costaudit.core.simulate.synthetic import StreamPrompt, generate
from costaudit.ingest import containers
from costaudit.ingest.reader import Logs, ReadOptions, read_logs

MakeTable = Callable[..., PriceTable]
"""`make_table(model_id={...prices...}, ...)` → PriceTable."""
MakeRequests = Callable[..., RequestTable]
"""`make_requests({...row...}, ...)` → canonical request table."""

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


def data_file(name: str) -> Path:
    """A fixture file under tests/data; fails loudly when it is missing."""
    path = DATA / name
    assert path.is_file(), f"missing test fixture {path}"
    return path


Read = Callable[..., Logs]
"""`read("openai_chat.jsonl", format=..., ...)`: the ingest tests' fixture reading logs through the reader."""
Rows = Callable[[Logs], list[dict[str, Any]]]
"""The request table as plain dicts, for exact comparisons."""
Usage = Callable[..., dict[str, Any]]
"""`usage(model, input, output, cached=..., ...)` → the row `Rows` should hold."""
Price = Callable[[PriceTable, RequestTable], Decimal]
"""Exact cost of a request table under a price table."""
Column = Callable[[Logs, str], list[Any]]
"""One column of the request table as a list."""


TOPICS = ("invoice", "weather", "recipe", "holiday", "printer", "garden")
HARD = ("derivative", "contract")
FILLER = [
    "please",
    "could",
    "you",
    "tell",
    "me",
    "about",
    "the",
    "the",
    "best",
    "way",
    "to",
    "handle",
    "this",
    "for",
    "our",
    "team",
    "today",
]


def labelled_prompts(
    count: int, seed: int = 3
) -> tuple[list[str], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Prompts where the weak model fails on two topics (and the strong one does not): what a
    length-based score cannot know and the labels tell."""
    rng = random.Random(seed)
    prompts, weak, strong = [], [], []
    for index in range(count):
        topic = rng.choice(TOPICS + HARD)
        words = [rng.choice(FILLER) for _ in range(rng.randint(5, 30))]
        words.insert(rng.randrange(len(words)), topic)
        prompts.append(" ".join(words) + f" ref{index}?")
        hard = topic in HARD
        weak.append(0.0 if hard and rng.random() < 0.8 else float(rng.random() < 0.9))
        strong.append(float(rng.random() < 0.95))
    return prompts, np.array(weak), np.array(strong)


def prefix_chains(rng: np.random.Generator, requests: int) -> list[list[int]]:
    """Each request's chained prefix-block ids, drawn from three shallow trees (so requests share
    prefixes of every length), a few with their first id repeated at the end."""
    chains = []
    for _ in range(requests):
        root = int(rng.integers(1, 4))
        depth = int(rng.integers(0, 9))
        branch = rng.integers(1, 3, size=depth)
        chain = [root * 1000 + int(value) * 10 + index for index, value in enumerate(branch)]
        if depth > 2 and rng.random() < 0.1:
            chain[-1] = chain[0]
        chains.append(chain)
    return chains


def many_scopes(
    rng: np.random.Generator, requests: int, scopes: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], PrefixBlocks, npt.NDArray[np.int64]]:
    """Requests of `scopes` scopes of very different sizes (some of one request), sharing prefix
    trees whose hashes recur in every scope (so a leak between scopes would show), with arrival
    times tied in bunches and inputs ending inside, before or after their last block."""
    blocks = from_lists(prefix_chains(rng, requests), 4)
    arrival = rng.integers(0, 60, size=requests).astype(np.float64) / 3
    weights = rng.pareto(1.0, size=scopes) + 0.01
    scope = rng.choice(scopes, size=requests, p=weights / weights.sum()).astype(np.int64) * 7 - 20
    inputs = blocks.block_counts * 4 - rng.integers(-3, 4, size=requests)
    return arrival, scope, blocks, np.maximum(inputs, 0).astype(np.int64)


_Part = TypeVar("_Part")
_Result = TypeVar("_Result")


class ShuffledMap:
    """Computes the parts one at a time in a random order, returns the results in the parts' order,
    and counts the parts and the calls."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.parts = 0
        self.calls = 0

    def __call__(
        self, function: Callable[[_Part], _Result], parts: Sequence[_Part]
    ) -> list[_Result]:
        self.calls += 1
        self.parts += len(parts)
        results: dict[int, _Result] = {}
        for index in self.rng.permutation(len(parts)).tolist():
            results[index] = function(parts[index])
        return [results[index] for index in range(len(parts))]


def three_scope_scenario(scenario: dict[str, Any]) -> tuple[ScenarioFile, Workload]:
    """A scenario file of `scenario` over a described workload on three models (three cache
    scopes: models "a", "b" and "c", two of them with a shared system prompt) with ten Monte Carlo
    draws, and the workload it describes."""
    tokens = {"mean": 900, "distribution": "lognormal", "sigma": 0.5}
    streams: list[dict[str, Any]] = [
        {"model": model, "requests_per_day": count, "input_tokens": tokens, "output_tokens": 50}
        for model, count in (("a", 1500), ("b", 900), ("c", 600))
    ]
    file = ScenarioFile.model_validate(
        {
            "workload": {"synthetic": {"streams": streams, "seed": 4}},
            "samples": 10,
            "scenarios": [scenario],
        }
    )
    synthetic = file.workload.synthetic
    assert synthetic is not None
    prompts = [StreamPrompt(tokens=700), None, StreamPrompt(tokens=300)]
    return file, generate(synthetic, prompts)


# --- reading a log both ways (columnar path allowed or not) ----------------------------------------


def write_lines(path: Path, records: Sequence[Mapping[str, Any] | bytes]) -> Path:
    """A JSON-lines file of `records`, each an object or the raw bytes of one line."""
    lines = [record if isinstance(record, bytes) else orjson.dumps(record) for record in records]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


class ReadBothWays:
    """Reads a log with a format's columnar extractors allowed or not (when not, every record goes
    the record path), counting the records the format's `extract` drafts one by one."""

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, module: ModuleType, suits: Sequence[str]
    ) -> None:
        self.monkeypatch = monkeypatch
        self.module = module
        self.suits = tuple(suits)
        """The names of the module's `suits` functions of its columnar extractors."""
        self.drafted: list[Any] = []

    def __call__(self, path: Path, *, columnar: bool = True, **options: Any) -> Logs:
        self.drafted = []
        extract = self.module.extract

        def counting(record: Mapping[str, Any]) -> Any:
            self.drafted.append(record)
            return extract(record)

        with self.monkeypatch.context() as patch:
            patch.setattr(self.module, "extract", counting)
            if not columnar:
                for name in self.suits:
                    patch.setattr(self.module, name, lambda _record: False)
            return read_logs(
                [str(path)], ReadOptions(chunk_rows=500, **options), lambda _model: "cl100k_base"
            )


def small_columnar_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of a few KiB, so that test files span many blocks (a file that fits in one block is
    read the record way)."""
    monkeypatch.setattr(containers, "RECORD_BLOCK_BYTES", 4_096)
    monkeypatch.setattr(containers, "COLUMNAR_BLOCK_BYTES", 16_384)


def same_table(left: Logs, right: Logs) -> None:
    """The two reads gave the same table, read counts, skips (reasons and `file:line` examples)
    and notes."""
    first, second = (
        workload.requests.to_frame().drop(columns="source").reset_index(drop=True)
        for workload in (left, right)
    )
    pd.testing.assert_frame_equal(first, second, check_categorical=False)
    assert left.records_read == right.records_read
    assert left.problems.skipped == right.problems.skipped
    assert left.problems.examples == right.problems.examples
    assert left.problems.notes == right.problems.notes


DROP = object()
"""A value for `changed` that deletes the key."""


def changed(line: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """`line` with each `a__b__c` path set to its value, or deleted where the value is DROP."""
    for path, value in changes.items():
        *parents, last = path.split("__")
        target = line
        for key in parents:
            target = target[key]
        if value is DROP:
            del target[last]
        else:
            target[last] = value
    return line
