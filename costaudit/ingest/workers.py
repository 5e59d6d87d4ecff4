"""Worker processes for the CPU-bound parts of reading logs with text: token counting and scoring.

Both are per-chunk pure functions. Run in this process they would share its GIL with the reader,
and a thread that counts tokens while the reader parses JSON loses every hand-back of the GIL to it
(each tiktoken call releases and re-takes the GIL, and waits up to the 5 ms switch interval to get it
back), so counting slows to a crawl. In a worker process they run beside the reader on another core.

Small batches stay in this process: starting a worker costs more than the work. When a worker
cannot be started or dies, the work is done here instead, so results never depend on where they
were computed.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

from costaudit.ingest.tokenizer import count_serially, count_with

T = TypeVar("T")

PROCESS_MIN_ITEMS = 4_096
"""Batches of at least this many texts go to a worker process."""


def _worker_count() -> int:
    return max(2, os.cpu_count() or 1)


class Deferred(Generic[T]):
    """A result computed in a worker, or here when the batch is small or the worker is gone."""

    def __init__(self, compute: Callable[[], T], future: Future[T] | None) -> None:
        self._compute = compute
        self._future = future

    def result(self) -> T:
        if self._future is not None:
            try:
                return self._future.result()
            except BrokenProcessPool:
                pass
        return self._compute()


class Workers:
    """A lazily started pool of worker processes (see the module docstring for why processes)."""

    def __init__(self, min_items: int = PROCESS_MIN_ITEMS) -> None:
        self.min_items = min_items
        self._pool: ProcessPoolExecutor | None = None
        self._unavailable = False
        self._starting = threading.Lock()
        """Chunks are counted from a background thread and scored from the reader's thread."""

    def submit(self, items: int, function: Callable[..., T], *args: object) -> Deferred[T]:
        """`function(*args)` in a worker when `items` is large enough (or the workers are running
        already and it is not tiny); `function` must be a module-level function and its arguments
        picklable."""

        def here() -> T:
            return function(*args)

        worth_it = items >= self.min_items or (
            self._pool is not None and items >= self.min_items // 8
        )
        pool = self._started() if worth_it else None
        if pool is None:
            return Deferred(here, None)
        try:
            return Deferred(here, pool.submit(function, *args))
        except (BrokenProcessPool, RuntimeError):
            self._unavailable = True
            return Deferred(here, None)

    def count_tokens(self, encoding: str, texts: Sequence[str]) -> npt.NDArray[np.int64]:
        """Token count of each text; each distinct text is counted once (system prompts repeat on
        nearly every request of a log). A large batch is split into one slice per worker."""
        index: dict[str, int] = {}
        inverse = np.fromiter(
            (index.setdefault(text, len(index)) for text in texts), dtype=np.int64, count=len(texts)
        )
        distinct = list(index)
        if len(distinct) < self.min_items or self._started() is None:
            return count_with(encoding, distinct)[inverse]
        slices = _worker_count()
        size = -(-len(distinct) // slices)
        parts = [
            self.submit(self.min_items, count_serially, encoding, distinct[start : start + size])
            for start in range(0, len(distinct), size)
        ]
        return np.concatenate([part.result() for part in parts])[inverse]

    def close(self) -> None:
        with self._starting:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None

    def _started(self) -> ProcessPoolExecutor | None:
        with self._starting:
            if self._unavailable:
                return None
            if self._pool is None:
                try:
                    self._pool = ProcessPoolExecutor(
                        max_workers=_worker_count(), mp_context=multiprocessing.get_context("spawn")
                    )
                except (OSError, ValueError, NotImplementedError):
                    self._unavailable = True
                    return None
            return self._pool
