"""Console-script entry point."""

from __future__ import annotations

import atexit
import contextlib
import os
import sys

EARLY_BLOCK_BYTES = 2 << 20
"""The block size `analyze` reads usage logs with (usage_arrow.block_bytes of the default chunk);
an early parse with another block size is not used."""


def main() -> None:
    """Run the command, then end the process without finalizing the interpreter.

    `analyze FILE` has FILE parsed from the start, while the rest loads (costaudit.ingest.early).

    Tearing down numpy, pyarrow, pydantic and the request table object by object takes longer than a
    small analysis itself (about 0.15 s). Output is flushed and exit handlers (worker pools, logging)
    run as usual; only the freeing of memory the operating system reclaims anyway is skipped.
    """
    from costaudit.ingest.early import start_for_command_line

    early = start_for_command_line(sys.argv[1:], EARLY_BLOCK_BYTES)
    from costaudit.cli.app import app

    try:
        app(obj=early)
        code = 0
    except SystemExit as done:
        code = _exit_code(done.code)
    if early is not None:
        early.close()
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
