"""Console-script entry point."""

from __future__ import annotations

import gc
import os
import sys


def main() -> None:
    """Run the command and exit with its code. A reader that went away (`costaudit … | head`) is not
    an error of ours: the report is simply not read to its end."""
    # costaudit validates only its own configuration with pydantic: third-party pydantic plugins
    # (looked up through package metadata, a tenth of a small run) have nothing to do here.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    # numpy's OpenBLAS starts a thread per core and sizes its buffers when numpy is imported: about
    # 0.05–0.09 s of a one-record run. costaudit does no linear algebra worth threading, and its
    # parallel work runs one process per core, where BLAS threads would only compete. A user's
    # setting wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from costaudit.cli.app import app

    try:
        app()
    finally:
        _flush()
        # Everything the run built (the price table, the libraries' own objects) is freed with the
        # process. Frozen, the garbage collector's last full pass at exit skips walking it: about a
        # tenth of a small run. Output is flushed and files are closed by now.
        gc.freeze()


def _flush() -> None:
    """Flush both streams now. When the reader of one has gone, point it at /dev/null (Python's own
    recipe for SIGPIPE-less programs), so the flush at interpreter exit cannot fail and print."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
            os.close(devnull)
        except ValueError:  # already closed
            pass
