"""Bad records are skipped, counted by reason and shown (first few) as `file:line: reason`.

Nothing is dropped silently: every record read ends up priced, unpriced or skipped, and the skipped
ones are accounted for here. With `strict`, the first bad record stops the run instead.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from costaudit.errors import InputError, Location

EXAMPLES_KEPT = 5
"""How many `file:line: reason` examples are kept per reason."""


class BadRecord(Exception):
    """Raised by a reader for one record it cannot use; the record is skipped with `reason`."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass
class Problems:
    """Skipped records by reason, plus notes (things worth saying once that lose no record)."""

    strict: bool = False
    skipped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    notes: Counter[str] = field(default_factory=Counter)
    set_aside_reasons: set[str] = field(default_factory=set)
    """Reasons among `skipped` for records read but not billed by design (trace spans that repeat the
    usage of the calls under them): counted like skips, reported under their own kind, never an
    error under `strict`."""

    def skip(self, file: str, line: int | None, reason: str) -> None:
        """Count one skipped record; in strict mode raise instead."""
        if self.strict:
            raise InputError(Location(file, line=line), reason)
        self.skipped[reason] += 1
        kept = self.examples.setdefault(reason, [])
        if len(kept) < EXAMPLES_KEPT:
            kept.append(str(Location(file, line=line)))

    def set_aside(self, file: str, line: int | None, reason: str) -> None:
        """Count one record that is read but deliberately not billed (never an error)."""
        self.set_aside_reasons.add(reason)
        self.skipped[reason] += 1
        kept = self.examples.setdefault(reason, [])
        if len(kept) < EXAMPLES_KEPT:
            kept.append(str(Location(file, line=line)))

    def note(self, message: str, count: int = 1) -> None:
        """Record something the user should know that did not lose a record."""
        if count:
            self.notes[message] += count

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())
