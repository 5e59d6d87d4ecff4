"""The committed CI baseline (`costaudit.api.baseline/1`): per-scenario monthly cost and what it came from.

```json
{
  "schema": "costaudit.api.baseline/1",
  "tool_version": "0.1.0",
  "scenario_file": "costaudit.yaml",
  "hashes": {"price_table": "…", "scenario_file": "…", "workload": "…", "prompts": {"prompts/system.md": "…"}},
  "workload": {"requests": 100000, "days": "1", "tokens": 200000000},
  "scenarios": {"current": {"monthly_usd": "90000"}}
}
```
Money is a decimal string. The file has no timestamp, so the same inputs always write the same bytes.
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
from costaudit.core.regress import Fingerprint
from costaudit.core.request_table import RequestTable
from costaudit.errors import InputError, Location
from costaudit.jsonio import decimal_str, dumps

SCHEMA = "costaudit.api.baseline/1"


@dataclass(frozen=True)
class Baseline:
    path: Path
    monthly: dict[str, Decimal | None]
    fingerprint: Fingerprint
    workload: dict[str, Any]


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
    monthly = {}
    for name, entry in scenarios.items():
        where = Location(str(path), field=f"scenarios.{name}.monthly_usd")
        if not isinstance(entry, dict) or "monthly_usd" not in entry:
            raise InputError(where, "required key is missing")
        monthly[name] = _decimal(entry["monthly_usd"], where)
    hashes = document.get("hashes") or {}
    fingerprint = Fingerprint(
        prices=str(hashes.get("price_table", "")),
        scenario_file=str(hashes.get("scenario_file", "")),
        workload=str(hashes.get("workload", "")),
        prompts=dict(hashes.get("prompts") or {}),
        tool_version=str(document.get("tool_version", "")),
    )
    return Baseline(path, monthly, fingerprint, dict(document.get("workload") or {}))


def baseline_document(
    scenario_file: str,
    monthly: dict[str, Decimal | None],
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
                name: {"monthly_usd": decimal_str(value)} for name, value in monthly.items()
            },
        }
    )
