"""Domain errors and the exit codes they map to.

Every error a user can cause is an `InputError`: it carries the file and the line or field at fault,
so the CLI prints one line and exits 3. Anything else that escapes is a bug and exits 4, which keeps a
crash from ever looking like a cost regression (exit 1) in CI.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

LONGEST_ECHO = 60
"""Characters of a value from a record quoted back in a skip reason or error; the rest is cut."""


def echoed(value: object) -> str:
    """A value from a record, quoted back in a message that names why the record was skipped.

    Shortened, so that a megabyte-long value cannot bury the message (or make every record its own
    problem line), and shown with Python's escapes when it holds anything unprintable (a newline, an
    escape sequence), so that the message stays one readable line before any output sink sees it.
    An ordinary value (`errored`, `CHARACTERS`) is quoted as it is."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > LONGEST_ECHO:
        text = text[: LONGEST_ECHO - 1] + "…"
    return text if text.isprintable() else repr(text)


class ExitCode(enum.IntEnum):
    OK = 0
    REGRESSION = 1
    USAGE = 2
    BAD_INPUT = 3
    INTERNAL = 4


class CostAuditError(Exception):
    """Base of every error costaudit raises on purpose."""


@dataclass(frozen=True)
class Location:
    """Where a problem is: a file, and optionally a line (logs) or a dotted field (config)."""

    file: str
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        text = self.file
        if self.line is not None:
            text += f":{self.line}"
        if self.field:
            text += f": {self.field}"
        return text


class InputError(CostAuditError):
    """Bad input or configuration: exit code 3, one line naming the place."""

    def __init__(self, location: Location | str, message: str) -> None:
        self.location = location if isinstance(location, Location) else Location(location)
        self.message = message
        self.also: tuple[InputError, ...] = ()
        """Further problems found in the same file, reported after this one."""
        super().__init__(f"{self.location}: {message}")
