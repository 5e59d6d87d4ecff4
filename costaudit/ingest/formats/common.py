"""Helpers every reader shares: validated token counts, nested look-ups, text from message content."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from costaudit.ingest.problems import BadRecord

TIMESTAMP_KEYS = (
    "timestamp",
    "created_at",
    "createdAt",
    "created",
    "start_time",
    "startTime",
    "request_time",
    "time",
    "ts",
)
"""Top-level keys that commonly carry a request's time in gateway and application logs."""


def token_count(value: object, field: str) -> int:
    """A token count as an int; strings of digits are accepted (OTLP encodes int64 as strings)."""
    if type(value) is int:
        if value < 0:
            raise BadRecord(f"negative {field}")
        return value
    if isinstance(value, float) and value.is_integer():
        if value < 0:
            raise BadRecord(f"negative {field}")
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text)
        if text.startswith("-") and text[1:].isdigit():
            raise BadRecord(f"negative {field}")
    raise BadRecord(f"{field} is not a whole number of tokens")


def optional_count(container: object, key: str, field: str) -> int:
    """`container[key]` as a token count, 0 when the container or the key is missing or null."""
    if not isinstance(container, Mapping):
        return 0
    value = container.get(key)
    return 0 if value is None else token_count(value, field)


def dig(record: Mapping[str, Any], *path: str) -> Any:
    """record[path[0]][path[1]]…, or None as soon as a level is missing or not a mapping."""
    current: Any = record
    for key in path:
        if not isinstance(current, Mapping):
            return None
        current = current.get(key)
    return current


def first_timestamp(record: Mapping[str, Any]) -> object:
    for key in TIMESTAMP_KEYS:
        value = record.get(key)
        if value is not None and value != "":
            return value
    return None


def content_text(content: object) -> str:
    """Plain text of a message `content`: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, Mapping):
                text = part.get("text")
                if isinstance(text, str):
                    texts.append(text)
        return "\n".join(texts)
    return ""


def string_groups(mapping: object, prefix: str = "") -> dict[str, str]:
    """Scalar values of a metadata mapping as grouping keys (nested mappings and lists are ignored)."""
    if not isinstance(mapping, Mapping):
        return {}
    groups: dict[str, str] = {}
    for key, value in mapping.items():
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            groups[f"{prefix}{key}"] = str(value)
    return groups


def model_name(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
