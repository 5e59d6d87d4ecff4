"""Field descriptions for the JSON Schemas, read from the docstrings written under each field.

Every configuration field is documented by a string literal right below it. Pydantic can collect those
itself (`use_attribute_docstrings`), but it does so for every model class each time the program starts,
by locating and parsing the class's source: that alone took a tenth of `costaudit analyze`'s start-up.
Only the schema files need the descriptions, so they are read here, once per module, when a schema is
generated.
"""

from __future__ import annotations

import ast
import functools
import inspect
import sys
from typing import Any

from pydantic import BaseModel


@functools.cache
def _module_docstrings(module_name: str) -> dict[str, dict[str, str]]:
    """class name → field name → cleaned docstring, for the top-level classes of a module."""
    source = inspect.getsource(sys.modules[module_name])
    found: dict[str, dict[str, str]] = {}
    for node in ast.parse(source).body:
        if not isinstance(node, ast.ClassDef):
            continue
        fields: dict[str, str] = {}
        for statement, following in zip(node.body, node.body[1:], strict=False):
            if (
                isinstance(statement, ast.AnnAssign)
                and isinstance(statement.target, ast.Name)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                fields[statement.target.id] = inspect.cleandoc(following.value.value)
        found[node.name] = fields
    return found


def field_docstrings(model: type[BaseModel]) -> dict[str, str]:
    """The documented fields of `model`, including those it inherits."""
    docs: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if issubclass(cls, BaseModel) and cls is not BaseModel:
            docs.update(_module_docstrings(cls.__module__).get(cls.__qualname__, {}))
    return {name: text for name, text in docs.items() if name in model.model_fields}


def describe_fields(schema: dict[str, Any], models: dict[str, type[BaseModel]]) -> None:
    """Add each documented field's description to its property in `schema` (the root model's
    properties, and those of `$defs` named after the models), keeping pydantic's sorted key order."""
    definitions = schema.get("$defs", {})
    for name, model in models.items():
        target = schema if schema.get("title") == name else definitions.get(name)
        if target is None:
            continue
        properties = target.get("properties", {})
        for field, text in field_docstrings(model).items():
            prop = properties.get(field)
            if prop is not None and "description" not in prop:
                properties[field] = dict(sorted({**prop, "description": text}.items()))
