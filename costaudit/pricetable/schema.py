"""The JSON Schema of a price table file, generated from the pydantic models.

Editors use it (through the `# yaml-language-server: $schema=...` first line of every pricing YAML) to
complete keys and flag typos while a price is typed, long before `costaudit pricing validate` runs. It is
generated, never hand-edited: a test regenerates it and compares it with `pricing/price-table.schema.json`.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import json
import sys
import typing
from functools import cache
from types import ModuleType
from typing import Any

from pydantic import BaseModel, BeforeValidator
from pydantic.json_schema import GenerateJsonSchema

from costaudit.config import pricing as pricing_models
from costaudit.config.base import parse_duration
from costaudit.config.pricing import PriceTable

SCHEMA_FILE_NAME = "price-table.schema.json"
SCHEMA_COMMENT = f"# yaml-language-server: $schema=./{SCHEMA_FILE_NAME}"
"""First line of every pricing YAML shipped beside the schema."""
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

DURATION_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "number", "exclusiveMinimum": 0},
        {"type": "string", "pattern": r"^\s*(none|infinite|inf|[0-9.]+\s*(ms|s|m|min|h|d)?)\s*$"},
        {"type": "null"},
    ]
}
"""Durations are written `30s`, `5m`, `1h`, `1d` or `none`; pydantic only sees the parsed float."""


def price_table_schema() -> dict[str, Any]:
    """`PriceTable`'s JSON Schema (attribute docstrings become descriptions), ready for editors."""
    schema = described_schema(PriceTable)
    _accept_written_durations(schema)
    return {"$schema": JSON_SCHEMA_DIALECT, **schema}


def schema_text() -> str:
    """The schema as the committed file holds it: two-space JSON with a trailing newline."""
    return json.dumps(price_table_schema(), indent=2, ensure_ascii=False) + "\n"


def _config_models(module: ModuleType = pricing_models) -> dict[str, type[BaseModel]]:
    return {
        name: value
        for name, value in vars(module).items()
        if inspect.isclass(value) and issubclass(value, BaseModel)
    }


def _is_duration(metadata: list[Any]) -> bool:
    return any(
        isinstance(item, BeforeValidator) and item.func is parse_duration for item in metadata
    )


def _accept_written_durations(
    schema: dict[str, Any], models: dict[str, type[BaseModel]] | None = None
) -> None:
    """Let editors accept `ttl: 5m`: the generated schema only knows the parsed number."""
    definitions = schema.get("$defs", {})
    for name, model in (models or _config_models()).items():
        definition = definitions.get(name)
        if definition is None:
            continue
        for field_name, field in model.model_fields.items():
            if _is_duration(field.metadata):
                definition["properties"][field_name].pop("anyOf", None)
                definition["properties"][field_name].update(DURATION_SCHEMA)


SCENARIO_SCHEMA_FILE_NAME = "scenario.schema.json"


def scenario_schema_text() -> str:
    """The JSON Schema of scenario files (`pricing/scenario.schema.json`), for editor completion."""
    from costaudit.config import scenario

    schema = described_schema(scenario.ScenarioFile)
    _accept_written_durations(schema, _config_models(scenario))
    schema = {"$schema": JSON_SCHEMA_DIALECT, **schema}
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def described_schema(root: type[BaseModel]) -> dict[str, Any]:
    """`root`'s JSON Schema with each field's attribute docstring as its description.

    The models do not ask pydantic to read those docstrings when their classes are built: that reads
    and tokenizes the source of every model on every run (about 40 ms of CPU, a twentieth of a
    one-record `analyze`), while only these schemas use them. They are read here instead, from the
    same place, and the keys sorted again as pydantic sorts them.
    """
    schema = root.model_json_schema()
    for model in _models_under(root):
        definition = schema if model is root else schema.get("$defs", {}).get(model.__name__)
        if definition is not None:
            _describe_properties(definition.get("properties", {}), model)
    return GenerateJsonSchema().sort(schema)


def _models_under(root: type[BaseModel]) -> list[type[BaseModel]]:
    """`root` and every model its fields hold, however nested in lists, dicts and unions."""
    found: list[type[BaseModel]] = []
    pending: list[Any] = [root]
    while pending:
        kind = pending.pop()
        if inspect.isclass(kind) and issubclass(kind, BaseModel):
            if kind not in found:
                found.append(kind)
                pending.extend(field.annotation for field in kind.model_fields.values())
        else:
            pending.extend(typing.get_args(kind))
    return found


def _describe_properties(properties: dict[str, Any], model: type[BaseModel]) -> None:
    for name, field in model.model_fields.items():
        key = field.alias or name
        text = _field_docstring(model, name)
        if key in properties and text is not None and "description" not in properties[key]:
            properties[key]["description"] = text


def _field_docstring(model: type[BaseModel], name: str) -> str | None:
    """The docstring under the annotation of `name` in the class that declares it."""
    for owner in model.__mro__:
        if name in vars(owner).get("__annotations__", {}):
            return _class_docstrings(owner.__module__, owner.__qualname__).get(name)
    return None


@cache
def _class_docstrings(module_name: str, qualname: str) -> dict[str, str]:
    """Field name → docstring of the class `qualname` in `module_name`: a string statement right
    after an annotated assignment, cleaned as `inspect.cleandoc` cleans docstrings."""
    tree = _module_tree(module_name)
    body: list[ast.stmt] = tree.body
    for part in qualname.split("."):
        classes = [node for node in body if isinstance(node, ast.ClassDef) and node.name == part]
        if not classes:
            return {}
        body = classes[0].body
    docs: dict[str, str] = {}
    for statement, following in itertools.pairwise(body):
        if (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[statement.target.id] = inspect.cleandoc(following.value.value)
    return docs


@cache
def _module_tree(module_name: str) -> ast.Module:
    return ast.parse(inspect.getsource(sys.modules[module_name]))
