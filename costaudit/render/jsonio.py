"""Deterministic JSON: sorted-free but stable key order, two-space indent, trailing newline."""

from __future__ import annotations

from typing import Any

import orjson


def dumps(document: Any) -> str:
    return (
        orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode() + "\n"
    )
