"""The JSON Schema of a price table file, generated from the pydantic models.

Editors use it (through the `# yaml-language-server: $schema=...` first line of every pricing YAML) to
complete keys and flag typos while a price is typed, long before `costaudit pricing validate` runs. It is
generated, never hand-edited: a test regenerates it and compares it with `pricing/price-table.schema.json`.
"""

from __future__ import annotations

import inspect
import json
from types import ModuleType
from typing import Any

from pydantic import BaseModel, BeforeValidator

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
    schema = PriceTable.model_json_schema()
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

    schema = scenario.ScenarioFile.model_json_schema()
    _accept_written_durations(schema, _config_models(scenario))
    schema = {"$schema": JSON_SCHEMA_DIALECT, **schema}
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
