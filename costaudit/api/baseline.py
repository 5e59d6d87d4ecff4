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
Money is a decimal string. The file has no timestamp, so the same inputs always write the same bytes.
`unpriced_requests` and `breakdown` were added later: a baseline without them is still read (then
`check` cannot compare unpriced requests or name the models and groups that moved).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import orjson

from costaudit import __version__
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
    if value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise InputError(where, "not a decimal amount") from None
    if not number.is_finite():
        raise InputError(where, "not a finite amount")
    return number


def read_baseline(path: Path) -> Baseline:
    try:
        document = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise InputError(
            str(path), "baseline not found: create it with --update-baseline"
        ) from None
    except orjson.JSONDecodeError as exc:
        raise InputError(str(path), f"not valid JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        raise InputError(
            Location(str(path), field="schema"), f"not a costaudit baseline (expected {SCHEMA})"
        )
    scenarios = document.get("scenarios")
    if not isinstance(scenarios, dict):
        raise InputError(Location(str(path), field="scenarios"), "missing or not an object")
    figures = {}
    for name, entry in scenarios.items():
        where = Location(str(path), field=f"scenarios.{name}.monthly_usd")
        if not isinstance(entry, dict) or "monthly_usd" not in entry:
            raise InputError(where, "required key is missing")
        figures[name] = _figures(entry, _decimal(entry["monthly_usd"], where), path, name)
    hashes = document.get("hashes") or {}
    fingerprint = Fingerprint(
        prices=str(hashes.get("price_table", "")),
        scenario_file=str(hashes.get("scenario_file", "")),
        workload=str(hashes.get("workload", "")),
        prompts=dict(hashes.get("prompts") or {}),
        tool_version=str(document.get("tool_version", "")),
    )
    return Baseline(path, figures, fingerprint, dict(document.get("workload") or {}))


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
    if unpriced is not None and (not isinstance(unpriced, int) or unpriced < 0):
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
