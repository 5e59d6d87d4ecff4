"""The scenario-file key reference, written from the JSON Schema of scenario files.

The README's reference is generated from the same schema editors use (pricing/scenario.schema.json),
which is generated from the pydantic models and their field docstrings: a key added to the models
appears in the documentation with its type, default and meaning, and cannot be forgotten.
"""

from __future__ import annotations

import json
from typing import Any

Schema = dict[str, Any]


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _anchor(name: str) -> str:
    return f"scenario-{name.lower()}"


def type_text(schema: Schema) -> str:
    """A schema's type in words: `number`, `list of string`, `[Routing](#…)`, `` `a` | `b` ``."""
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return f"[{name}](#{_anchor(name)})"
    if "enum" in schema:
        return " \\| ".join(f"`{value}`" for value in schema["enum"])
    if "const" in schema:
        return f"`{schema['const']}`"
    if "anyOf" in schema:
        if any(_is_duration(member) for member in schema["anyOf"]):
            return "duration (`30s`, `5m`, `1h`, `none`)"
        members = _plain_members(schema["anyOf"])
        return " or ".join(dict.fromkeys(type_text(member) for member in members))
    kind = schema.get("type")
    if kind == "array":
        return f"list of {_grouped(schema.get('items', {}))}"
    if kind == "object":
        values = schema.get("additionalProperties")
        if isinstance(values, dict):
            return f"mapping of {_grouped(values)}"
        return "mapping"
    return str(kind or "any")


def _is_duration(schema: Schema) -> bool:
    return schema.get("type") == "string" and "min|h|d" in schema.get("pattern", "")


def _plain_members(members: list[Schema]) -> list[Schema]:
    """Union members worth naming: no null, and no string form of a number (a Decimal's)."""
    kept = [member for member in members if member.get("type") != "null"]
    if any(member.get("type") == "number" for member in kept):
        kept = [m for m in kept if m.get("type") != "string"]
    return kept


def _grouped(schema: Schema) -> str:
    """A type inside `list of` / `mapping of`, in parentheses when it is a union."""
    text = type_text(schema)
    return f"({text})" if " or " in text else text


def _default_text(prop: Schema, required: bool) -> str:
    if required:
        return "required"
    if "default" not in prop or prop["default"] is None:
        return ""
    value = prop["default"]
    if value in ([], {}):
        return "empty"
    text = value if isinstance(value, str) else json.dumps(value)
    return f"`{text}`"


def _one_line(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _refs(schema: Any) -> list[str]:
    """Model names referenced anywhere inside a schema, in order."""
    found: list[str] = []
    if isinstance(schema, dict):
        if "$ref" in schema:
            found.append(_ref_name(schema["$ref"]))
        for value in schema.values():
            found += _refs(value)
    elif isinstance(schema, list):
        for item in schema:
            found += _refs(item)
    return found


def _suffix(prop: Schema) -> str:
    """How a path continues into a property's model: `[]` through a list, `.<name>` through a map."""
    members = [m for m in prop.get("anyOf", [prop]) if m.get("type") != "null"]
    for member in members:
        if member.get("type") == "array":
            return "[]" + _suffix(member.get("items", {}))
        values = member.get("additionalProperties")
        if member.get("type") == "object" and isinstance(values, dict):
            return ".<name>" + _suffix(values)
    return ""


def _paths(root: Schema, definitions: dict[str, Schema]) -> dict[str, list[str]]:
    """Every model's places in a file (`scenarios[].routing`), in the order a reader meets them."""
    paths: dict[str, list[str]] = {root["title"]: [""]}
    pending = [(root, "")]
    while pending:
        model, path = pending.pop(0)
        for key, prop in model.get("properties", {}).items():
            where = f"{path}.{key}" if path else key
            for name in dict.fromkeys(_refs(prop)):
                place = where + _suffix(prop)
                if name not in paths:
                    paths[name] = [place]
                    pending.append((definitions[name], place))
                elif place not in paths[name]:
                    paths[name].append(place)
    return paths


def scenario_reference(schema: Schema) -> str:
    """One table per section of a scenario file: each key's type, default and meaning."""
    definitions: dict[str, Schema] = schema.get("$defs", {})
    paths = _paths(schema, definitions)
    parts = []
    for name, places in paths.items():
        model = schema if name == schema["title"] else definitions[name]
        where = ", ".join(f"`{place}`" for place in places if place) or "the top level"
        required = set(model.get("required", []))
        lines = [
            f'<a id="{_anchor(name)}"></a>**{name}** — {where}. {_one_line(model.get("description", ""))}'.rstrip(),
            "",
            "| key | type | default | meaning |",
            "|---|---|---|---|",
        ]
        for key, prop in model.get("properties", {}).items():
            lines.append(
                f"| `{key}` | {type_text(prop)} | {_default_text(prop, key in required)} | "
                f"{_one_line(prop.get('description', ''))} |"
            )
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"
