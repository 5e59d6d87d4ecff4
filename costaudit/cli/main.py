"""Console-script entry point."""

from __future__ import annotations

import atexit
import contextlib
import os
import sys


def main() -> None:
    """Run the command, then end the process without finalizing the interpreter.

    Tearing down numpy, pyarrow, pydantic and the request table object by object takes longer than a
    small analysis itself (about 0.15 s). Output is flushed and exit handlers (worker pools, logging)
    run as usual; only the freeing of memory the operating system reclaims anyway is skipped.
    """
    from costaudit.cli.app import app

    try:
        app()
        code = 0
    except SystemExit as done:
        code = _exit_code(done.code)
    atexit._run_exitfuncs()
    os._exit(_flush(code))


def _exit_code(code: object) -> int:
    """SystemExit's code as the process status (a message means failure, as Python itself does)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write(f"{code}\n")
    return 1


def _flush(code: int) -> int:
    """Flush stdout and stderr; a reader that went away (`| head`) is not an error of ours."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BrokenPipeError, ValueError):
            stream.flush()
    return code
