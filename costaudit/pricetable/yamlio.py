"""Price tables back to YAML text, in the layout of `pricing/default.yaml`.

Imported tables are meant to be read, diffed and reviewed like the hand-written one: keys in a fixed,
readable order (provider and prices first, provenance last), prices as plain decimals (never floats
or exponents, so `0.000125` reads back exactly), small mappings inline, one model per block.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import yaml

from costaudit.config.pricing import ModelPrice, PriceTable
from costaudit.pricetable.schema import SCHEMA_COMMENT

MODEL_KEY_ORDER = (
    "provider",
    "tokenizer",
    "input",
    "cached_input",
    "cache_write",
    "cache_write_1h",
    "output",
    "batch",
    "tiers",
    "aliases",
    "match",
    "available_from",
    "context_window",
    "max_output_tokens",
    "deprecated",
    "history",
    "fine_tuning",
    "notes",
    "source",
    "checked",
)
PRICE_KEY_ORDER = (
    "until",
    "above_input_tokens",
    "discount",
    "input",
    "cached_input",
    "cache_write",
    "cache_write_1h",
    "output",
    "batch",
    "tiers",
    "source",
)


class _TableDumper(yaml.SafeDumper):
    """Safe dumper: `Decimal` as a plain number, no anchors, inline only where asked."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


class _Inline(dict[str, Any]):
    """A mapping written on one line (`batch: {input: 1.25, output: 5}`)."""


class _InlineList(list[Any]):
    """A list written on one line (`aliases: [a, b]`)."""


def _represent_decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.Node:
    text = format(value.normalize(), "f")
    tag = "tag:yaml.org,2002:float" if "." in text else "tag:yaml.org,2002:int"
    return dumper.represent_scalar(tag, text)


def _represent_inline(dumper: yaml.SafeDumper, value: dict[str, Any]) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", value, flow_style=True)


def _represent_inline_list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=True)


_TableDumper.add_representer(Decimal, _represent_decimal)
_TableDumper.add_representer(_Inline, _represent_inline)
_TableDumper.add_representer(_InlineList, _represent_inline_list)


def _ordered(mapping: Mapping[str, Any], order: Iterable[str]) -> dict[str, Any]:
    ordered = {key: mapping[key] for key in order if key in mapping}
    ordered.update((key, value) for key, value in mapping.items() if key not in ordered)
    return ordered


def _price_block(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """A batch, tier or history block: inline when flat, else block style with inline parts."""
    block = _ordered(mapping, PRICE_KEY_ORDER)
    if isinstance(block.get("batch"), Mapping):
        block["batch"] = _Inline(_ordered(block["batch"], PRICE_KEY_ORDER))
    if "tiers" in block:
        block["tiers"] = [_price_block(tier) for tier in block["tiers"]]
    flat = not any(isinstance(value, Mapping | list) for value in block.values())
    return _Inline(block) if flat else block


def model_mapping(model: ModelPrice) -> dict[str, Any]:
    """One model as YAML-ready data: only what differs from the defaults, in reading order."""
    data = _ordered(model.model_dump(mode="python", exclude_defaults=True), MODEL_KEY_ORDER)
    if "batch" in data:
        data["batch"] = _Inline(_ordered(data["batch"], PRICE_KEY_ORDER))
    for key in ("tiers", "history"):
        if key in data:
            data[key] = [_price_block(entry) for entry in data[key]]
    if "aliases" in data:
        data["aliases"] = _InlineList(data["aliases"])
    if "fine_tuning" in data:
        data["fine_tuning"] = _Inline(data["fine_tuning"])
    return data


def dump_table(table: PriceTable, header: Iterable[str] = ()) -> str:
    """YAML text for `table`: schema comment first, then `header` lines as comments."""
    document: dict[str, Any] = {
        "schema_version": table.schema_version,
        "effective": table.effective,
        "models": {model_id: model_mapping(model) for model_id, model in table.models.items()},
    }
    for section in ("hardware", "self_hosted", "tokenizers", "cache_rules"):
        entries = getattr(table, section)
        if entries:
            document[section] = {
                name: entry.model_dump(mode="python", exclude_defaults=True)
                for name, entry in entries.items()
            }
    body = yaml.dump(
        document,
        Dumper=_TableDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=10_000,
    )
    comments = [SCHEMA_COMMENT, *(f"# {line}".rstrip() for line in header)]
    return "\n".join(comments) + "\n\n" + body


_NUMBER_MARK = "\x00number:"
"""Prefix of a Decimal written as a JSON string first, turned back into a bare number afterwards."""


def _json_ready(value: Any) -> Any:
    if isinstance(value, Decimal):
        return _NUMBER_MARK + format(value.normalize(), "f")
    if isinstance(value, Mapping):
        return {str(key): _json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(item) for item in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def dump_table_json(table: PriceTable) -> str:
    """JSON text for `table`, one model per line (reviewable diffs), prices as exact bare numbers.

    The same document as the YAML form; costaudit reads `.json` tables about ten times faster,
    which is why the large generated layer is kept in this form.
    """
    import json

    def dumps(value: Any) -> str:
        text = json.dumps(_json_ready(value), ensure_ascii=False, separators=(", ", ": "))
        return re.sub(r'"\\u0000number:([-0-9.]+)"', r"\1", text)

    head = {"schema_version": table.schema_version, "effective": table.effective}
    if table.about is not None:
        head["about"] = table.about
    lines = [f"  {dumps(key)}: {dumps(value)}," for key, value in head.items()]
    models = [
        f"    {dumps(model_id)}: {dumps(model_mapping(model))}"
        for model_id, model in table.models.items()
    ]
    return "{\n" + "\n".join(lines) + '\n  "models": {\n' + ",\n".join(models) + "\n  }\n}\n"
