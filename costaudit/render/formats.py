"""`costaudit formats`: the log formats, as a JSON document, a Markdown table (the README's) and a
terminal table. One source for all three: `costaudit.ingest.formats.DOCS`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from costaudit.ingest.formats import DOCS, format_names

if TYPE_CHECKING:
    from rich.table import Table

SCHEMA = "costaudit.formats/1"


def formats_document() -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "formats": [
            {
                "name": name,
                "description": DOCS[name].reads,
                "detected_by": DOCS[name].detected_by,
                "example": DOCS[name].example,
            }
            for name in format_names()
        ],
    }


def _cell(text: str) -> str:
    """Markdown table cell text: a pipe would end the cell."""
    return text.replace("|", "\\|")


def formats_markdown() -> str:
    rows = [
        f"| `{name}` | {_cell(DOCS[name].reads)} | {_cell(DOCS[name].detected_by)} | "
        f"`{_cell(DOCS[name].example)}` |"
        for name in format_names()
    ]
    header = "| format | what it reads | detected by | example |\n|---|---|---|---|\n"
    return header + "\n".join(rows) + "\n"


def formats_table() -> Table:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Log formats (detected per file, in this order)", title_justify="left")
    for column in ("--format", "what it reads", "detected by", "example"):
        table.add_column(column)
    for name in format_names():
        doc = DOCS[name]
        table.add_row(name, escape(doc.reads), escape(doc.detected_by), escape(doc.example))
    return table
