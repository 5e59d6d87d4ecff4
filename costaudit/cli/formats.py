"""`costaudit formats`: the log formats `analyze`, `simulate` and `check` read."""

from __future__ import annotations

from costaudit.cli.common import OutputFormat, emit, handle_errors
from costaudit.cli.options import OutputOpt


@handle_errors
def formats(output: OutputOpt = OutputFormat.table) -> None:
    """List the log formats costaudit detects (in detection order), for use with --format.

    Every file is recognised from its first records, so --format is only needed to override the
    detection; --map COLUMN=PATH reads any other layout through the generic reader.
    """
    from rich.table import Table

    from costaudit.ingest.formats import DESCRIPTIONS, format_names
    from costaudit.jsonio import dumps

    names = format_names()
    if output is OutputFormat.json:
        emit(
            dumps(
                {
                    "schema": "costaudit.formats/1",
                    "formats": [{"name": n, "description": DESCRIPTIONS[n]} for n in names],
                }
            ),
            out=None,
        )
        return
    if output in (OutputFormat.csv, OutputFormat.markdown):
        rows = "\n".join(f"| `{name}` | {DESCRIPTIONS[name]} |" for name in names)
        emit("| format | what it reads |\n|---|---|\n" + rows + "\n", out=None)
        return
    table = Table(title="Log formats (detected per file, in this order)", title_justify="left")
    table.add_column("--format")
    table.add_column("what it reads")
    for name in names:
        table.add_row(name, DESCRIPTIONS[name])
    emit([table], out=None)
