"""`costaudit formats`: the log formats `analyze`, `simulate` and `check` read."""

from __future__ import annotations

from costaudit.cli.common import OutputFormat, emit, handle_errors
from costaudit.cli.options import OutputOpt


@handle_errors
def formats(output: OutputOpt = OutputFormat.table) -> None:
    """List the log formats costaudit detects (in detection order): what each reads, the fields that
    identify it, and a one-line example record.

    Every file is recognised from its first records, so --format is only needed to override the
    detection; --map COLUMN=PATH reads any other layout through the generic reader.
    """
    from costaudit.render.formats import formats_document, formats_markdown, formats_table

    if output is OutputFormat.json:
        from costaudit.jsonio import dumps

        emit(dumps(formats_document()), out=None)
    elif output in (OutputFormat.csv, OutputFormat.markdown):
        emit(formats_markdown(), out=None)
    else:
        emit([formats_table()], out=None)
