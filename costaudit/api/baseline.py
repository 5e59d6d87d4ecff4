"""The committed CI baseline (`costaudit.api.baseline/1`): per-scenario monthly cost and what it came from.

```json
{
  "schema": "costaudit.api.baseline/1",
  "tool_version": "0.1.0",
  "scenario_file": "costaudit.yaml",
  "hashes": {"price_table": "…", "scenario_file": "…", "workload": "…", "prompts": {"prompts/system.md": "…"}},
  "workload": {"requests": 100000, "days": "1", "tokens": 200000000},
  "scenarios": {"current": {"monthly_usd": "90000", "unpriced_requests": 0,
                "breakdown": {"models": {"gpt-4-turbo": "90000"}, "groups": {"feature": {"chat": "90000"}}}}}
}
```
Money is a decimal string. The file is input like any other and is checked on load: it must be valid
JSON without a key written twice, every amount a finite decimal between 0 and MAX_USD (10^9 a month),
every count a whole number ≥ 0; anything else is refused naming the file and the field (exit 3), so
that a damaged or hand-edited baseline can never make `check` pass. The file has no timestamp, so the same inputs always write the same bytes.
`unpriced_requests` and `breakdown` were added later: a baseline without them is still read (then
`check` cannot compare unpriced requests or name the models and groups that moved).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from costaudit import __version__
from costaudit.config.base import MAX_USD
from costaudit.configfile import loads_json
from costaudit.core.columns import TOKEN_COLUMNS
from costaudit.core.regress import Figures, Fingerprint
from costaudit.core.request_table import RequestTable
from costaudit.errors import InputError, Location
from costaudit.jsonio import decimal_str, dumps

SCHEMA = "costaudit.api.baseline/1"


@dataclass(frozen=True)
class Baseline:
    path: Path
    figures: dict[str, Figures]
    fingerprint: Fingerprint
    workload: dict[str, Any]

    @property
    def monthly(self) -> dict[str, Decimal | None]:
        return {name: figures.monthly_usd for name, figures in self.figures.items()}


def workload_digest(requests: RequestTable) -> str:
    """A hash of the traffic itself (timestamps, models and token counts), independent of file layout."""
    digest = hashlib.sha256()
    if len(requests):
        digest.update(requests.timestamp_ns.tobytes())
        digest.update("\n".join(name or "" for name in requests.model.values()).encode())
        for column in TOKEN_COLUMNS:
            if column == "audio_input_tokens" and not requests.tokens[column].any():
                continue  # a later column: traffic without audio hashes as it did before
            digest.update(requests.tokens[column].tobytes())
        digest.update(requests.batch.tobytes())
    return digest.hexdigest()


def _decimal(value: object, where: Location) -> Decimal | None:
    """A stored amount in USD: a decimal string (or number) between 0 and MAX_USD, or null."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise InputError(where, "not a decimal amount")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise InputError(where, "not a decimal amount") from None
    if not number.is_finite():
        raise InputError(where, "not a finite amount")
    if number < 0:
        raise InputError(where, f"negative amount {value}")
    if number > MAX_USD:
        raise InputError(where, f"amount {value} is above {MAX_USD:,} USD")
    return number


def _object(value: object, where: Location) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(where, "not an object")
    return value


def _or_empty(value: object) -> object:
    """A part older baselines may lack (absent or null) reads as empty; anything else is checked."""
    return {} if value is None else value


def _text(value: object, where: Location) -> str:
    if not isinstance(value, str):
        raise InputError(where, "not a string")
    return value


def _read_document(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(
            str(path), "baseline not found: create it with --update-baseline"
        ) from None
    except IsADirectoryError:
        raise InputError(str(path), "is a directory, expected a baseline JSON file") from None
    except UnicodeDecodeError:
        raise InputError(str(path), "not a UTF-8 text file") from None
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror or exc}") from None
    document = loads_json(text, str(path))
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        raise InputError(
            Location(str(path), field="schema"), f"not a costaudit baseline (expected {SCHEMA})"
        )
    return document


def _fingerprint(document: dict[str, Any], path: Path) -> Fingerprint:
    hashes = _object(_or_empty(document.get("hashes")), Location(str(path), field="hashes"))

    def digest(name: str) -> str:
        return _text(hashes.get(name, ""), Location(str(path), field=f"hashes.{name}"))

    prompts = _object(_or_empty(hashes.get("prompts")), Location(str(path), field="hashes.prompts"))
    return Fingerprint(
        prices=digest("price_table"),
        scenario_file=digest("scenario_file"),
        workload=digest("workload"),
        prompts={
            name: _text(value, Location(str(path), field=f"hashes.prompts.{name}"))
            for name, value in prompts.items()
        },
        tool_version=_text(
            document.get("tool_version", ""), Location(str(path), field="tool_version")
        ),
    )


def read_baseline(path: Path) -> Baseline:
    """The committed baseline, checked (module docstring); problems name the file and field."""
    document = _read_document(path)
    scenarios = document.get("scenarios")
    if not isinstance(scenarios, dict):
        raise InputError(Location(str(path), field="scenarios"), "missing or not an object")
    figures = {}
    for name, entry in scenarios.items():
        where = Location(str(path), field=f"scenarios.{name}.monthly_usd")
        if not isinstance(entry, dict) or "monthly_usd" not in entry:
            raise InputError(where, "required key is missing")
        figures[name] = _figures(entry, _decimal(entry["monthly_usd"], where), path, name)
    workload = _object(_or_empty(document.get("workload")), Location(str(path), field="workload"))
    return Baseline(path, figures, _fingerprint(document, path), dict(workload))


def _amounts(value: object, path: Path, where: str) -> dict[str, Decimal | None]:
    if not isinstance(value, dict):
        raise InputError(Location(str(path), field=where), "not an object")
    return {
        str(name): _decimal(amount, Location(str(path), field=f"{where}.{name}"))
        for name, amount in value.items()
    }


def _figures(entry: dict[str, Any], monthly: Decimal | None, path: Path, name: str) -> Figures:
    """A stored scenario: its monthly cost, and what later versions record beside it."""
    unpriced = entry.get("unpriced_requests")
    if unpriced is not None and (
        isinstance(unpriced, bool) or not isinstance(unpriced, int) or unpriced < 0
    ):
        raise InputError(
            Location(str(path), field=f"scenarios.{name}.unpriced_requests"),
            "not a number of requests",
        )
    stored = entry.get("breakdown")
    if stored is None:
        return Figures(monthly, unpriced)
    where = f"scenarios.{name}.breakdown"
    if not isinstance(stored, dict):
        raise InputError(Location(str(path), field=where), "not an object")
    groups = stored.get("groups") or {}
    if not isinstance(groups, dict):
        raise InputError(Location(str(path), field=f"{where}.groups"), "not an object")
    return Figures(
        monthly,
        unpriced,
        _amounts(stored.get("models") or {}, path, f"{where}.models"),
        {
            str(key): _amounts(values, path, f"{where}.groups.{key}")
            for key, values in groups.items()
        },
    )


def _breakdown_document(figures: Figures) -> dict[str, Any]:
    return {
        "models": {name: decimal_str(value) for name, value in (figures.models or {}).items()},
        "groups": {
            key: {name: decimal_str(value) for name, value in values.items()}
            for key, values in figures.groups.items()
        },
    }


def baseline_document(
    scenario_file: str,
    figures: dict[str, Figures],
    fingerprint: Fingerprint,
    workload: dict[str, Any],
) -> str:
    return dumps(
        {
            "schema": SCHEMA,
            "tool_version": __version__,
            "scenario_file": scenario_file,
            "hashes": {
                "price_table": fingerprint.prices,
                "scenario_file": fingerprint.scenario_file,
                "workload": fingerprint.workload,
                "prompts": dict(sorted(fingerprint.prompts.items())),
            },
            "workload": workload,
            "scenarios": {
                name: {
                    "monthly_usd": decimal_str(value.monthly_usd),
                    "unpriced_requests": value.unpriced_requests,
                    "breakdown": _breakdown_document(value),
                }
                for name, value in figures.items()
            },
        }
    )
