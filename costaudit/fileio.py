"""Every file costaudit writes goes through `write_file`: all of the new content or none of it.

A report, a baseline, a saved workload or a chart is written to a temporary file in the destination's
directory, flushed to disk (fsync) and then renamed over the destination. A rename within one
directory is atomic, so a failed or interrupted write (a full disk, a read-only directory, a crash)
leaves the previous file exactly as it was instead of truncated or deleted — a CI baseline must
never be half-written. Destinations that are not regular files (`/dev/stdout`, a named pipe,
`/dev/null`) cannot be replaced by a rename and are written in place.

`check_destination` is the rule for paths a user names for output: a symbolic link whose target lies
outside the working directory is refused unless the user says `--force`, so that a link planted in
a repository cannot make costaudit overwrite a file elsewhere (a shell profile, an SSH key).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from costaudit.errors import InputError

Content = bytes | str | Callable[[BinaryIO], None]
"""What to write: bytes, text (written as UTF-8), or a function that writes into an open binary file
(a Parquet or PNG writer)."""


def write_file(path: Path, content: Content) -> None:
    """Write `content` to `path` atomically, creating its directory; a failure leaves any previous
    file intact and raises an InputError naming the file (exit 3)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        target = Path(os.path.realpath(path))
        if _is_special(target):
            with target.open("wb") as handle:
                _put(handle, content)
            return
        _replace(target, content)
    except OSError as exc:
        raise InputError(str(path), f"cannot write: {exc.strerror or exc}") from None


def check_destination(path: Path, *, force: bool, option: str = "--out") -> None:
    """Refuse an output path that symbolic links send outside the working directory (a regular file
    or a file still to be created there), unless `force`; devices and pipes are not refused."""
    if force:
        return
    resolved = Path(os.path.realpath(path))
    if resolved == Path(os.path.normpath(path.absolute())) or _is_special(resolved):
        return
    if resolved.is_relative_to(Path.cwd().resolve()):
        return
    raise InputError(
        f"{option} {path}",
        f"is a symbolic link to {resolved}, outside the working directory; add --force to write there",
    )


def _is_special(path: Path) -> bool:
    """An existing destination that is not a regular file (device, pipe, socket)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def _put(handle: BinaryIO, content: Content) -> None:
    if isinstance(content, str):
        handle.write(content.encode("utf-8"))
    elif isinstance(content, bytes):
        handle.write(content)
    else:
        content(handle)
    handle.flush()


def _replace(target: Path, content: Content) -> None:
    """Temporary file beside `target`, written and synced, given the old file's permissions (or the
    usual ones for a new file), then renamed over it; removed on any failure."""
    descriptor, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    temporary = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            _put(handle, content)
            os.fsync(handle.fileno())
        temporary.chmod(_mode_for(target))
        temporary.replace(target)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    _sync_directory(target.parent)


def _mode_for(target: Path) -> int:
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable (best effort: not every platform can open a directory)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
