"""Start parsing the log named on the command line while the program is still loading.

`costaudit analyze usage.jsonl` spends about as long importing its libraries and loading the price table
as pyarrow needs to parse a usage log of 10^5 lines, and pyarrow parses without holding the GIL. So the
entry point looks at its arguments before importing anything heavy: for `analyze FILE …` whose FILE
starts like a plain usage log, a thread starts parsing it at once. When the reader reaches that file and
decides, with the options the user actually gave, to read it the vectorized way, it takes the blocks
parsed so far and goes on from there; in every other case the early parse is stopped and never used.

The thread holds at most EARLY_BYTES of parsed blocks, so the head start never costs more memory than
a fixed amount, whatever the size of the file.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

EARLY_BYTES = 16 << 20
"""Parsed blocks the thread may hold before it waits for the reader to take over: about 110,000
usage lines, as many as it parses while the program loads (more would only add to peak memory)."""
HEAD_BYTES = 1 << 20


class EarlyRead:
    """The start of one file, parsed on a background thread (see the module docstring)."""

    def __init__(self, path: Path, block: int) -> None:
        self.path = path.resolve()
        self.block = block
        self._stop = threading.Event()
        self._exits = contextlib.ExitStack()
        self._parsed: list[Any] = []
        self._reader: Any = None
        self._started = False
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._run, name="costaudit-early-read", daemon=True)

    def start(self) -> EarlyRead:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            from costaudit.ingest import usage_arrow

            if not _starts_like_usage(self.path):
                return
            stream = self._exits.enter_context(usage_arrow.open_usage_stream(self.path))
            reader = usage_arrow.usage_reader(stream, self.block)
            self._started = True
            held = 0
            for batch in usage_arrow.blocks_until(reader, self._stop):
                self._parsed.append(batch)
                held += batch.nbytes
                if held >= EARLY_BYTES:
                    self._reader = reader
                    return
        except Exception as error:  # NotFast or an I/O error: handed to whoever takes the read
            self._error = error

    def take(self, path: Path, block: int) -> tuple[list[Any], Any] | None:
        """(blocks parsed so far, the reader to go on with, or None at the end of the file) when
        `path` is the file read early with the same block size; None otherwise, and once closed.
        The read's own failure (NotFast for a line the vectorized reader cannot take) is raised
        here."""
        if self._stop.is_set() or path.resolve() != self.path or block != self.block:
            return None
        self._thread.join()
        if self._error is not None:
            raise self._error
        if not self._started:
            return None
        parsed, self._parsed = self._parsed, []
        return parsed, self._reader

    def decline(self, path: Path) -> None:
        """The reader will not read `path` the vectorized way: stop parsing it."""
        if path.resolve() == self.path:
            self.close()

    def close(self) -> None:
        """Stop the parse after the current block and release the file."""
        self._stop.set()
        self._thread.join()
        self._parsed = []
        self._exits.close()


def _starts_like_usage(path: Path) -> bool:
    """Cheap guess from the first line: a response body with `usage` and no request. The reader
    makes the real decision later; this only keeps the thread from parsing other logs."""
    import orjson

    from costaudit.ingest.sources import Source
    from costaudit.ingest.usage_arrow import is_usage_body

    with Source(name=str(path), path=path).open() as stream:
        head = stream.read(HEAD_BYTES)
    first = head.lstrip().split(b"\n", 1)[0]
    try:
        record = orjson.loads(first)
    except orjson.JSONDecodeError:
        return False
    return is_usage_body(record)


def start_for_command_line(argv: Sequence[str], block: int) -> EarlyRead | None:
    """An early read for `analyze FILE …` (FILE right after the command, a regular file), else None."""
    if len(argv) < 2 or argv[0] != "analyze" or argv[1].startswith("-"):
        return None
    path = Path(argv[1])
    if not path.is_file():
        return None
    return EarlyRead(path, block).start()
