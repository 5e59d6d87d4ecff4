"""Worker processes give the same results as this process, and their absence changes nothing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool

import pytest

from costaudit.ingest import workers as workers_module
from costaudit.ingest.tokenizer import encoder_for
from costaudit.ingest.workers import Deferred, Workers

TEXTS = [
    "You are a helpful assistant.",
    "What is the capital of France?",
    "You are a helpful assistant.",
    "",
    "naïve café — déjà vu 🙂",
    "user",
    "user",
    "def f(x):\n    return x ** 2\n",
]


@pytest.fixture
def workers() -> Iterator[Workers]:
    pool = Workers(min_items=1)
    yield pool
    pool.close()


def test_tokens_counted_in_workers_match_this_process(workers: Workers) -> None:
    expected = encoder_for("cl100k_base").count(TEXTS)

    counted = workers.count_tokens("cl100k_base", TEXTS)

    assert counted.tolist() == expected.tolist()
    assert counted[0] == counted[2] and counted[5] == counted[6]
    assert counted[3] == 0


def test_work_runs_in_another_process(workers: Workers) -> None:
    assert workers.submit(10, os.getpid).result() != os.getpid()


def test_small_batches_stay_in_this_process() -> None:
    workers = Workers(min_items=1_000)
    assert workers.submit(10, os.getpid).result() == os.getpid()
    workers.close()


def test_a_dead_worker_pool_falls_back_to_this_process() -> None:
    broken: Future[int] = Future()
    broken.set_exception(BrokenProcessPool("worker killed"))

    assert Deferred(lambda: 42, broken).result() == 42


def test_no_worker_processes_available_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise OSError("no processes here")

    monkeypatch.setattr(workers_module, "ProcessPoolExecutor", refuse)
    workers = Workers(min_items=1)

    assert workers.submit(10, os.getpid).result() == os.getpid()
    expected = encoder_for("cl100k_base").count(TEXTS).tolist()
    assert workers.count_tokens("cl100k_base", TEXTS).tolist() == expected
