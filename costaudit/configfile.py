"""Configuration files: YAML → validated pydantic models, with errors that name file and field.

YAML floats are read as `Decimal` from their source text, so `0.15` in a price table is exactly 0.15.
"""

from __future__ import annotations

import difflib
import functools
import itertools
import re
import types
import typing
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from costaudit.errors import InputError, Location

if TYPE_CHECKING:
    import yaml

ModelT = TypeVar("ModelT", bound=BaseModel)

MAX_YAML_VALUES = 1_000_000
"""Values a configuration file may hold once its aliases are expanded. YAML aliases let a few hundred
bytes stand for billions of values (the "billion laughs" file); validation would expand them all, so
such a file is refused before anything else looks at it."""
MAX_YAML_DEPTH = 100
"""Nesting a configuration file may have (real ones have fewer than ten levels)."""
MAX_CONFIG_NUMBER = 10**15
"""The largest magnitude a number in a configuration file may have. Every real quantity in a price
table, scenario or baseline (a price per million tokens, requests per day, a budget in USD, a token
count) is far below it, while `1e999999` or `1e30` would make exact arithmetic slow or overflow; such a
number is refused where it is written (file:line), whichever field it is in. Fields bound themselves
more tightly where that means something (see the configuration models)."""


class DuplicateKey(ValueError):
    """A key written twice in one mapping: YAML and JSON would silently keep the last one."""

    def __init__(self, key: object, line: int | None) -> None:
        self.key = key
        self.line = line
        super().__init__(f"duplicate key `{key}` (the same mapping already has it)")


class NumberOutOfRange(ValueError):
    """A number beyond MAX_CONFIG_NUMBER, or not a number (NaN, Infinity)."""

    def __init__(self, text: str, line: int | None) -> None:
        self.line = line
        self.text = text
        super().__init__(
            f"number `{text[:40]}` is out of range (numbers must be finite, at most 10^15)"
        )


def _bounded(value: Decimal | int, text: str, line: int | None) -> None:
    if isinstance(value, Decimal) and not value.is_finite():
        raise NumberOutOfRange(text, line)
    if not -MAX_CONFIG_NUMBER <= value <= MAX_CONFIG_NUMBER:
        raise NumberOutOfRange(text, line)


@functools.cache
def _decimal_loader() -> type[yaml.SafeLoader]:
    """A safe YAML loader that keeps floats exact as `Decimal` (libyaml's C loader when PyYAML was
    built with it, several times faster). Built on first use: PyYAML is not needed to start when
    the price tables come from the cache."""
    import yaml

    base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class DecimalSafeLoader(base):  # type: ignore[valid-type,misc]
        """Safe YAML loader that keeps floats exact as `Decimal`."""

    DecimalSafeLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)
    DecimalSafeLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
    DecimalSafeLoader.add_constructor("tag:yaml.org,2002:map", _construct_unique_mapping)
    return DecimalSafeLoader


def _line(node: yaml.Node) -> int | None:
    return node.start_mark.line + 1 if node.start_mark is not None else None


def _construct_int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    value = loader.construct_yaml_int(node)  # type: ignore[arg-type]
    _bounded(value, str(node.value), _line(node))
    return value


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    """A mapping, refusing a key written twice in it (merge keys `<<:` may still be overridden)."""
    import yaml

    assert isinstance(node, yaml.MappingNode)
    seen: set[object] = set()
    for key_node, _value in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
        except TypeError:  # an unhashable key: pydantic refuses it later
            continue
        if duplicate:
            raise DuplicateKey(key, _line(key_node))
        seen.add(key)
    yield from loader.construct_yaml_map(node)


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    import yaml

    text = str(loader.construct_scalar(node)).replace("_", "")  # type: ignore[arg-type]
    if text.lower() in {".inf", "+.inf", "-.inf", ".nan"}:
        raise NumberOutOfRange(text, _line(node))
    try:
        value = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the YAML resolver only hands us floats
        raise yaml.constructor.ConstructorError(
            None, None, f"not a number: {text}", node.start_mark
        ) from exc
    _bounded(value, text, _line(node))
    return value


def _expanded_size(root: yaml.Node) -> int:
    """How many values the document holds with every alias expanded (a node reached twice counts
    twice), stopping as soon as it passes MAX_YAML_VALUES; ValueError past MAX_YAML_DEPTH."""

    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, expanded = stack.pop()
        if depth > MAX_YAML_DEPTH:
            raise ValueError(f"nested more than {MAX_YAML_DEPTH} levels deep")
        if id(node) in sizes:
            continue
        children = _children(node)
        if expanded or not children:
            sizes[id(node)] = 1 + sum(sizes[id(child)] for child in children)
            if sizes[id(node)] > MAX_YAML_VALUES:
                return sizes[id(node)]
            continue
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in children if id(child) not in sizes)
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    import yaml

    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    return []


def _load_yaml(text: str) -> Any:
    """The document's data, after checking what its aliases expand to."""
    loader = _decimal_loader()(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node) > MAX_YAML_VALUES:
            raise ValueError(f"aliases expand to more than {MAX_YAML_VALUES:,} values")
        return loader.construct_document(node)
    finally:
        loader.dispose()


def read_yaml(path: Path) -> Any:
    """Parse a YAML file safely; any problem becomes an `InputError` naming the file (and line)."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(str(path), "file not found") from None
    except IsADirectoryError:
        raise InputError(str(path), "is a directory, expected a YAML file") from None
    except UnicodeDecodeError:
        raise InputError(str(path), "not a UTF-8 text file") from None
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror}") from None
    try:
        return _load_yaml(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise InputError(Location(str(path), line=line), f"invalid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise InputError(str(path), f"invalid YAML: {exc}") from None
    except (DuplicateKey, NumberOutOfRange) as exc:
        raise InputError(Location(str(path), line=exc.line), str(exc)) from None
    except (ValueError, RecursionError) as exc:
        reason = str(exc) if isinstance(exc, ValueError) else "nested too deeply"
        raise InputError(str(path), f"refused: {reason}") from None


def read_json(path: Path) -> Any:
    """Parse a JSON file with numbers kept exact (`Decimal`); problems name the file and line."""

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(str(path), "file not found") from None
    except IsADirectoryError:
        raise InputError(str(path), "is a directory, expected a JSON file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"cannot read: {exc}") from None
    return loads_json(text, str(path))


def loads_json(text: str, source: str, *, exact: bool = True) -> Any:
    """JSON text as data, numbers exact (`Decimal`) and within MAX_CONFIG_NUMBER; a key written twice
    in one object, NaN or Infinity are refused naming `source` and the line.

    With `exact=False` numbers are Python floats and ints (a fitted scorer's weights are floats), and
    only the key and constant rules apply."""
    import json

    def number(literal: str) -> Decimal:
        value = Decimal(literal)
        _bounded(value, literal, None)
        return value

    def integer(literal: str) -> int:
        if len(literal) > 20:
            raise NumberOutOfRange(literal, None)
        value = int(literal)
        _bounded(value, literal, None)
        return value

    def constant(literal: str) -> Any:
        raise NumberOutOfRange(literal, None)

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        document: dict[str, Any] = {}
        for key, value in pairs:
            if key in document:
                raise DuplicateKey(key, None)
            document[key] = value
        return document

    try:
        if not exact:
            return json.loads(text, parse_constant=constant, object_pairs_hook=unique)
        return json.loads(
            text,
            parse_float=number,
            parse_int=integer,
            parse_constant=constant,
            object_pairs_hook=unique,
        )
    except json.JSONDecodeError as exc:
        raise InputError(Location(source, line=exc.lineno), f"invalid JSON: {exc.msg}") from None
    except DuplicateKey as exc:
        key = re.escape(json.dumps(exc.key))
        line = _json_line(text, re.compile(key + r"\s*:"), second=True)
        raise InputError(Location(source, line=line), str(exc)) from None
    except NumberOutOfRange as exc:
        line = _json_line(text, re.compile(r"(?<![\w.])" + re.escape(exc.text) + r"(?![\w.])"))
        raise InputError(Location(source, line=line), str(exc)) from None


def _json_line(text: str, pattern: re.Pattern[str], *, second: bool = False) -> int | None:
    """The line where `pattern` occurs in `text` (its second occurrence for a duplicate key)."""
    found = list(itertools.islice(pattern.finditer(text), 2 if second else 1))
    if len(found) < (2 if second else 1):
        return None
    return text.count("\n", 0, found[-1].start()) + 1


def read_config(path: Path) -> Any:
    """A configuration file's data: JSON for `.json` files (about ten times faster to read than
    the same table in YAML, which matters for the large generated price layer), else YAML."""
    return read_json(path) if path.suffix.lower() == ".json" else read_yaml(path)


def _field_path(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


_BUILTIN_TAGS = frozenset(
    {"decimal", "list", "str", "int", "float", "bool", "dict", "none", "date", "literal"}
)


def _model_names(base: type[BaseModel]) -> set[str]:
    names = set()
    for sub in base.__subclasses__():
        names.add(sub.__name__)
        names |= _model_names(sub)
    return names


def _is_union_tag(item: int | str, models: set[str]) -> bool:
    """Pydantic adds the member of a union it tried to error locations (`decimal`, `list[...]`, …)."""
    if isinstance(item, int):
        return False
    return (
        "[" in item
        or "(" in item
        or item in _BUILTIN_TAGS
        or item in models
        or item.startswith("function-")
    )


def _members(annotation: Any) -> list[Any]:
    """The types a field may hold: union members, with `Annotated` and None stripped."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        return [member for arg in typing.get_args(annotation) for member in _members(arg)]
    return [] if annotation is type(None) else [annotation]


def _step(annotation: Any, item: int | str) -> list[Any]:
    """The types found one location step (a field name, list index or mapping key) below a type."""
    found: list[Any] = []
    for member in _members(annotation):
        origin = typing.get_origin(member)
        if isinstance(member, type) and issubclass(member, BaseModel):
            field = member.model_fields.get(str(item))
            if field is not None:
                found.append(field.annotation)
        elif origin in (list, tuple) and isinstance(item, int):
            found += [typing.get_args(member)[0]]
        elif origin is dict and isinstance(item, str):
            found += [typing.get_args(member)[1]]
    return found


def allowed_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The keys a mapping at `loc` (the path to an unknown key, the key itself excluded) accepts."""
    current: list[Any] = [model]
    for item in loc:
        current = [found for annotation in current for found in _step(annotation, item)]
    keys: list[str] = []
    for annotation in current:
        for member in _members(annotation):
            if isinstance(member, type) and issubclass(member, BaseModel):
                keys += list(member.model_fields)
    return list(dict.fromkeys(keys))


def _unknown_key_message(model: type[BaseModel] | None, loc: tuple[int | str, ...]) -> str:
    """`unknown key `gpt` (did you mean `gpu`?)`, with the closest valid key when one is close."""
    key = str(loc[-1]) if loc else ""
    keys = allowed_keys(model, loc[:-1]) if model is not None and loc else []
    close = difflib.get_close_matches(key, keys, n=1, cutoff=0.6)
    if close:
        return f"unknown key `{key}` (did you mean `{close[0]}`?)"
    if keys:
        return f"unknown key `{key}` (valid keys: {', '.join(keys)})"
    return "unknown key (check the spelling)"


def validation_problems(
    path: Path | str, exc: ValidationError, model: type[BaseModel] | None = None
) -> list[InputError]:
    """One `InputError` per pydantic error, each naming the dotted field and a plain message.

    When a value may take several forms (a number or a range, a constant or a distribution), pydantic
    reports one error per form; only the errors that are not merely "wrong form" are kept for a field.
    An unknown key is named with the closest valid key of `model` at that place, when one is close.
    """
    models = _model_names(BaseModel)
    by_field: dict[str, list[tuple[str, str]]] = {}
    for error in exc.errors(include_url=False):
        loc = tuple(item for item in error["loc"] if not _is_union_tag(item, models))
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = _unknown_key_message(model, loc)
        elif error["type"] == "missing":
            message = "required key is missing"
        by_field.setdefault(_field_path(loc), []).append((str(error["type"]), message))
    problems: list[InputError] = []
    for field, errors in by_field.items():
        meaningful = [message for kind, message in errors if not kind.endswith("_type")] or [
            errors[0][1]
        ]
        problems.extend(
            InputError(Location(str(path), field=field), message)
            for message in dict.fromkeys(meaningful)
        )

    return problems


def validate_file(path: Path, model: type[ModelT]) -> ModelT:
    """Read YAML (or JSON) at `path` and validate it as `model`; raise the first problem, carrying
    the rest."""
    data = read_config(path)
    if data is None:
        raise InputError(str(path), "file is empty")
    if not isinstance(data, dict):
        raise InputError(str(path), "expected a mapping at the top level")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = validation_problems(path, exc, model)
        first = problems[0]
        first.also = tuple(problems[1:])
        raise first from None
