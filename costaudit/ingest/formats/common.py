"""Helpers every reader shares: token counts as read, nested look-ups, text from message content."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeGuard

import orjson

from costaudit.ingest.problems import BadRecord
from costaudit.ingest.table import Draft
from costaudit.ingest.validation import COUNT_LIMIT, MAX_TOKENS, clip

__all__ = ["MAX_TOKENS"]

MAX_DIGITS = 18
"""Longer digit strings are not read as numbers at all (Python refuses very long ones)."""

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


def is_object(value: object) -> TypeGuard[Mapping[str, Any]]:
    """A JSON object or a CSV row. Records are dicts, so that is checked first: the ABC check costs
    ten times more, and runs for most fields of every record."""
    return type(value) is dict or isinstance(value, Mapping)


def token_count(draft: Draft, value: object, field: str) -> int:
    """A token count read from field `field` of the record being drafted, as an int.

    Strings of digits are accepted (OTLP encodes int64 as strings, CSV cells are strings), and so are
    whole floats such as `12.0` (pandas writes integer columns with gaps that way). Anything else is
    refused here. Whether the number is a plausible count is not judged here but by the validator
    (costaudit.ingest.validation), for which the count is noted on the draft; it is clipped to
    ±COUNT_LIMIT so that sums of counts stay exact and a count out of range stays out of range.
    """
    number = value if type(value) is int else _whole_number(value)
    if number is None:
        raise BadRecord(f"{field} is not a whole number of tokens")
    if not -COUNT_LIMIT <= number <= COUNT_LIMIT:
        number = clip(number)
    counts = draft.read_counts
    counts.append(field)
    counts.append(number)
    return number


def _whole_number(value: object) -> int | None:
    if type(value) is int:
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        text = value.strip()
        unsigned = text[1:] if text.startswith(("+", "-")) else text
        if unsigned.isdigit() and unsigned.isascii():
            return _digits(text, unsigned)
        try:
            number = float(text)
        except ValueError:
            return None
        return int(number) if number.is_integer() else None
    return None


def _digits(text: str, unsigned: str) -> int:
    """A signed digit string's value; one too long to be a count only keeps its sign and size."""
    if len(unsigned) <= MAX_DIGITS:
        return int(text)
    return -COUNT_LIMIT if text.startswith("-") else COUNT_LIMIT


def optional_count(draft: Draft, container: object, key: str, field: str) -> int:
    """`container[key]` as a token count, 0 when the container or the key is missing or null."""
    if not is_object(container):
        return 0
    value = container.get(key)
    return 0 if value is None else token_count(draft, value, field)


def dig(record: Mapping[str, Any], *path: str) -> Any:
    """record[path[0]][path[1]]…, or None as soon as a level is missing or not a mapping."""
    current: Any = record
    for key in path:
        if not is_object(current):
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
            elif is_object(part):
                text = part.get("text")
                if isinstance(text, str):
                    texts.append(text)
        return "\n".join(texts)
    return ""


def string_groups(mapping: object, prefix: str = "") -> dict[str, str]:
    """Scalar values of a metadata mapping as grouping keys (nested mappings and lists are ignored)."""
    if not is_object(mapping):
        return {}
    groups: dict[str, str] = {}
    for key, value in mapping.items():
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            groups[f"{prefix}{key}"] = str(value)
    return groups


def model_name(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def included_input(reported: int, cache_read: int, cache_write: int) -> int:
    """Total input from a count that SHOULD include cache reads and writes but may not.

    OpenTelemetry and LiteLLM define their input count as the total including cached and
    cache-written tokens, and current emitters follow that; older ones passed Anthropic's count
    (which excludes both) through unchanged, and some LiteLLM versions folded in reads but not writes.
    The count is trusted unless it cannot be inclusive: a cache count that does not fit inside it
    is added to it (writes first, since every known emitter that folds in one part folds in reads).
    """
    if cache_read + cache_write <= reported:
        return reported
    if cache_read <= reported:
        return reported + cache_write
    return reported + cache_read + cache_write


def json_value(value: object, field: str) -> object:
    """A field that is an object, or the same object JSON-encoded into a string (CSV exports)."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            raise BadRecord(f"`{field}` is not valid JSON") from None
    return value


def joined_tags(value: object) -> str | None:
    """A list of tags as one grouping value: sorted and comma-joined (so the same set groups together)."""
    if isinstance(value, str):
        value = _tag_list(value)
    if not isinstance(value, list):
        return None
    tags = sorted({str(tag) for tag in value if isinstance(tag, str | int | float)})
    return ",".join(tags) if tags else None


def _tag_list(text: str) -> object:
    """Tags stored as text: a JSON list (CSV exports), else one tag."""
    if text.lstrip().startswith("["):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return [text] if text else None


def text_value(value: object) -> str | None:
    """A non-empty string, or a number written as one (ids are sometimes logged as numbers)."""
    if isinstance(value, str):
        return value if value else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def put_group(groups: dict[str, str], key: str, value: object) -> None:
    """Set a grouping value when `value` is a usable scalar."""
    text = text_value(value)
    if text is not None:
        groups[key] = text
