"""The log formats costaudit reads, in the order they are tried when detecting a file's format.

Each format is a module with `NAME`, `detect(record) -> bool` and `extract(record) -> Draft | list[Draft]`
for JSON records, and optionally `detect_columns(columns) -> bool` for CSV/Parquet files, whose rows are
handed to `extract` as records of strings. More specific formats come first; `generic` is last.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from costaudit.ingest.formats import anthropic, gemini, generic, openai
from costaudit.ingest.table import Draft

Extractor = Callable[[Mapping[str, Any]], "Draft | list[Draft]"]


@dataclass(frozen=True)
class Format:
    """A log format: how to recognise its records and how to turn one into drafts."""

    name: str
    detect: Callable[[Mapping[str, Any]], bool]
    extract: Extractor
    detect_columns: Callable[[list[str]], bool] | None = None


def builtin_formats(
    mapping: Mapping[str, str] | None = None, group_fields: Sequence[str] = ()
) -> list[Format]:
    """Every format, most specific first; `mapping`/`group_fields` configure the generic reader."""
    fields = tuple(dict.fromkeys((*generic.DEFAULT_GROUP_FIELDS, *group_fields)))
    generic_format = generic.GenericFormat(mapping=dict(mapping or {}), group_fields=fields)
    return [
        Format(anthropic.NAME, anthropic.detect, anthropic.extract),
        Format(gemini.NAME, gemini.detect, gemini.extract),
        Format(openai.NAME, openai.detect, openai.extract),
        Format(generic.NAME, generic.detect, generic_format.extract, generic.detect_columns),
    ]


def format_names() -> list[str]:
    return [fmt.name for fmt in builtin_formats()]
