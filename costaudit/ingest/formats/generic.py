"""Any JSON/CSV/Parquet whose fields carry the canonical column names, or are mapped onto them.

Canonical fields: `timestamp`, `model`, `input_tokens` (total, cached included), `cached_input_tokens`,
`cache_write_tokens`, `cache_write_1h_tokens`, `output_tokens` (reasoning included), `reasoning_tokens`,
`batch`, `complexity`, and for counting when there are no token counts: `prompt` (text) or `messages`
(chat messages) and `completion`. Grouping fields: `user`, `feature`, `tags`, `provider`, `team`,
`project`, `environment`, `application`, plus whatever `--group-by` names.

`--map column=dotted.path` points a canonical field at another field of the record (dots walk into
nested objects; at every level, a field whose name itself contains dots is matched first).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from costaudit.core.columns import QUALITY_PREFIX, TOKEN_COLUMNS
from costaudit.ingest.formats.common import TIMESTAMP_KEYS, is_object, token_count
from costaudit.ingest.formats.openai import chat_messages
from costaudit.ingest.problems import BadRecord
from costaudit.ingest.table import Draft

NAME = "generic"
CANONICAL_FIELDS = (
    "timestamp",
    "model",
    *TOKEN_COLUMNS,
    "batch",
    "complexity",
    "prompt",
    "messages",
    "completion",
)
DEFAULT_GROUP_FIELDS = (
    "user",
    "feature",
    "tags",
    "provider",
    "team",
    "project",
    "environment",
    "application",
)
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


def detect(record: Mapping[str, Any]) -> bool:
    """Canonical names at the top level: token counts, or a prompt to count."""
    has_counts = "input_tokens" in record and "usage" not in record
    has_text = "prompt" in record and "model" in record
    return has_counts or has_text


def detect_columns(columns: list[str]) -> bool:
    names = set(columns)
    return "input_tokens" in names or {"prompt", "model"} <= names


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise BadRecord("`batch` is not true/false")


def _complexity(value: object) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise BadRecord("`complexity` is not a number") from None
    if math.isnan(number):
        return None
    if not 0.0 <= number <= 1.0:
        raise BadRecord("`complexity` is outside [0, 1]")
    return number


def walk(value: object, parts: list[str]) -> Any:
    """Follow a dotted path; at every level a key that itself contains dots (`"user.name"`, as in
    OpenTelemetry attribute maps) is tried before the path is split further."""
    if not parts:
        return value
    if not is_object(value):
        return None
    for cut in range(len(parts), 0, -1):
        key = ".".join(parts[:cut])
        if key in value:
            found = walk(value[key], parts[cut:])
            if found is not None:
                return found
    return None


def _label(value: object, name: str) -> float:
    """A quality label: true/false (a correct answer) or a score on any scale (a judge's 1–10).

    The scale is declared where labels are used (`label_scale`, `--label-scale`; [0, 1] by default),
    and labels outside it are reported there, for the whole column at once.
    """
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return float(value.strip().lower() in _TRUE)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise BadRecord(f"`{name}` is not true/false or a score") from None
    if not math.isfinite(number):
        raise BadRecord(f"`{name}` is not a finite score")
    return number


def _missing(value: object) -> bool:

    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


@dataclass
class GenericFormat:
    """The generic reader, optionally with `--map` overrides and extra grouping fields."""

    mapping: dict[str, str] = field(default_factory=dict)
    group_fields: tuple[str, ...] = DEFAULT_GROUP_FIELDS

    def get(self, record: Mapping[str, Any], name: str) -> Any:
        path = self.mapping.get(name, name)
        if path in record:
            return record[path]
        if "." in path:
            return walk(record, path.split("."))
        return None

    def _timestamp(self, record: Mapping[str, Any]) -> object:
        value = self.get(record, "timestamp")
        if _missing(value) and "timestamp" not in self.mapping:
            for key in TIMESTAMP_KEYS:
                candidate = record.get(key)
                if not _missing(candidate):
                    return candidate
        return None if _missing(value) else value

    def _tokens(self, record: Mapping[str, Any], draft: Draft) -> None:
        for name in TOKEN_COLUMNS:
            value = self.get(record, name)
            if _missing(value):
                continue
            setattr(draft, name, token_count(draft, value, name.replace("_", " ")))

    def _text(self, record: Mapping[str, Any], draft: Draft) -> None:
        messages = self.get(record, "messages")
        prompt = self.get(record, "prompt")
        if not _missing(messages):
            draft.messages = chat_messages(messages)
        elif isinstance(prompt, str):
            draft.messages = [("user", prompt, None)]
        elif not _missing(prompt):
            raise BadRecord("`prompt` is not text")
        completion = self.get(record, "completion")
        if isinstance(completion, str):
            draft.completion = completion

    def _groups(self, record: Mapping[str, Any]) -> dict[str, str] | None:
        groups: dict[str, str] = {}
        for name in self.group_fields:
            value = self.get(record, name)
            if _missing(value):
                continue
            if isinstance(value, list):
                groups[name] = ",".join(sorted(str(item) for item in value))
            elif isinstance(value, str | int | float) and not isinstance(value, bool):
                groups[name] = str(value)
        return groups or None

    def extract(self, record: Mapping[str, Any]) -> Draft:
        draft = Draft()
        model = self.get(record, "model")
        draft.model = str(model) if not _missing(model) else None
        draft.timestamp = self._timestamp(record)
        self._tokens(record, draft)
        batch = self.get(record, "batch")
        draft.batch = False if _missing(batch) else _bool(batch)
        draft.complexity = _complexity(self.get(record, "complexity"))
        self._text(record, draft)
        if draft.input_tokens is None and draft.messages is None:
            raise BadRecord("no `input_tokens` and no `prompt`/`messages` to count")
        draft.groups = self._groups(record)
        draft.quality = self._quality(record)
        return draft

    def _quality(self, record: Mapping[str, Any]) -> dict[str, float] | None:
        """Per-model quality labels: `quality:<model>` fields, or mapped with `--map quality:<model>=PATH`."""
        names = {key for key in record if key.startswith(QUALITY_PREFIX)}
        names |= {key for key in self.mapping if key.startswith(QUALITY_PREFIX)}
        labels: dict[str, float] = {}
        for name in sorted(names):
            value = self.get(record, name)
            if not _missing(value):
                labels[name.removeprefix(QUALITY_PREFIX)] = _label(value, name)
        return labels or None
