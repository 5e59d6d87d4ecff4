"""`costaudit simulate` output: the comparison table, the JSON document, CSV and Markdown.

JSON (`costaudit.simulate/1`): `workload {requests, days, source}`, `baseline {name, monthly_usd}`,
`scenarios [{name, strategies, monthly_usd, savings_usd, savings_pct, usd_per_1k_requests,
usd_per_mtok, p10/p50/p90 (ranges), cache_band_usd (prompt caching), details {...}, notes}]`.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import numpy as np
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from costaudit.core.simulate.engine import ScenarioResult, SimulationResult
from costaudit.render.money import count, days, decimal_str, percent, signed_usd, usd

SCHEMA = "costaudit.simulate/1"


def jsonable(value: Any) -> Any:
    """Details as JSON values: Decimals as exact strings, numpy scalars as Python numbers."""
    if isinstance(value, Decimal):
        return decimal_str(value)
    if isinstance(value, dict):
        return {
            str(key): jsonable(item) for key, item in value.items() if not str(key).startswith("_")
        }
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float):
        return round(value, 6)
    return value


def scenario_document(result: ScenarioResult) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": result.name,
        "strategies": list(result.strategies),
        "monthly_usd": decimal_str(result.monthly_usd),
        "savings_usd": decimal_str(result.savings_usd),
        "savings_pct": decimal_str(
            result.savings_pct.quantize(Decimal("0.01")) if result.savings_pct is not None else None
        ),
        "usd_per_1k_requests": decimal_str(result.usd_per_1k_requests),
        "usd_per_mtok": decimal_str(result.usd_per_mtok),
        "api_requests": result.api_requests,
        "unpriced_requests": result.unpriced_requests,
        "details": jsonable(result.details),
        "notes": list(result.notes),
    }
    if result.percentiles:
        doc.update({name: decimal_str(value) for name, value in result.percentiles.items()})
    if result.cache_band_usd:
        doc["cache_band_usd"] = {
            name: decimal_str(value) for name, value in result.cache_band_usd.items()
        }
    if result.curve is not None:
        doc["curve"] = jsonable(result.curve)
    return doc


def simulation_document(result: SimulationResult, pricing: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "workload": {
            "requests": result.workload_requests,
            "days": decimal_str(result.workload_days),
            "tokens": result.workload_tokens,
            "source": result.workload_source,
        },
        "baseline": {
            "name": result.baseline,
            "monthly_usd": decimal_str(result.baseline_monthly_usd),
        },
        "scenarios": [scenario_document(scenario) for scenario in result.scenarios],
        "pricing": pricing,
        "notes": list(result.notes),
    }


def _routing_figure(detail: dict[str, Any]) -> str:
    tiers = detail["tiers"]
    if detail["mode"] == "cascade":
        # A cascade's later tiers start empty and receive only escalations: name where traffic starts.
        tiers = [tier for tier in tiers if tier["requests"]] or tiers
    shares = " · ".join(f"{tier['model']} {percent(tier['share'], 0)}" for tier in tiers)
    quality = detail.get("quality")
    if quality and quality.get("quality_retained") is not None:
        shares += f" (quality {percent(quality['quality_retained'], 0)})"
    if quality and quality.get("apgr") is not None:
        shares += f"; {ranking_figure(quality)}"
    escalated = detail.get("escalated_requests")
    if escalated:
        first = sum(tier["requests"] for tier in detail["tiers"])
        shares += f", {count(escalated)} ({percent(escalated / first, 0)}) escalated"
    return shares


def _cpt(value: float | None) -> str:
    return "never" if value is None else percent(value, 0)


def ranking_figure(quality: dict[str, Any]) -> str:
    """How well the router ranked the labelled requests, next to a random router."""
    return (
        f"APGR {quality['apgr']:.2f} (random {quality['random_apgr']:.2f}), "
        f"CPT(50%) {_cpt(quality.get('cpt50'))}, CPT(80%) {_cpt(quality.get('cpt80'))}"
    )


def _hosting_figure(detail: dict[str, Any]) -> str:
    flag = " ⚠ below floor" if detail.get("below_floor") else ""
    per = detail.get("usd_per_mtok")
    per_text = f", {usd(per)}/Mtok" if per is not None else ""
    return (
        f"{detail['replicas']}×{detail['devices_per_replica']} {detail['gpu']} {detail['pricing'].replace('_', '-')}, "
        f"util {percent(detail['utilization'], 0)}{per_text}{flag}"
    )


def key_figure(result: ScenarioResult) -> str:
    """The one number per strategy that explains the result."""
    details = result.details
    parts = []
    if "routing" in details:
        parts.append(_routing_figure(details["routing"]))
    if "response_cache" in details:
        parts.append(f"response cache hits {percent(details['response_cache']['hit_rate'])}")
    if "prompt_cache" in details:
        band = details["prompt_cache"]["hit_rate"]
        observed = details["prompt_cache"].get("observed_hit_rate")
        logged = f", logged {percent(observed, 0)}" if observed is not None else ""
        parts.append(
            f"prompt cache hits {percent(band['low'], 0)}–{percent(band['high'], 0)} "
            f"(central {percent(band['central'], 0)}{logged})"
        )

    if "batching" in details:
        parts.append(f"batch {percent(details['batching']['share'], 0)}")
    if "fine_tune" in details:
        parts.append(f"fine-tune {usd(details['fine_tune']['monthly_training_usd'])}/mo training")
    hosting = details.get("hosting") or details.get("fine_tune", {}).get("hosting")
    if hosting:
        parts.append(_hosting_figure(hosting))
    return "; ".join(parts) or "as logged"


def _delta(result: ScenarioResult) -> tuple[str, str]:
    if result.savings_usd is None:
        return "—", "—"
    change = -result.savings_usd
    pct = "—" if result.savings_pct is None else f"{-result.savings_pct:+.1f}%".replace("-", "−")

    return signed_usd(change), pct


def _monthly_text(result: ScenarioResult) -> str:
    text = usd(result.monthly_usd)
    if result.percentiles:
        text += f"\nP10–P90 {usd(result.percentiles['p10'])}–{usd(result.percentiles['p90'])}"
    band = result.cache_band_usd
    if band and len(band) == 2 and usd(band["high"]) != usd(band["low"]):
        text += f"\nband {usd(band['high'])}–{usd(band['low'])}"

    return text


def workload_text(result: SimulationResult) -> str:
    """Where the traffic came from, how many requests and over how long: one phrase for every report."""
    window = "unknown window" if result.workload_days is None else days(result.workload_days)
    return f"{result.workload_source} ({count(result.workload_requests)} requests, {window})"


def comparison_table(result: SimulationResult) -> Table:
    table = Table(
        title=f"Monthly cost by scenario — {workload_text(result)}",
        title_justify="left",
    )
    for name, justify in (
        ("scenario", "left"),
        ("monthly", "right"),
        ("Δ vs baseline", "right"),
        ("Δ %", "right"),
        ("$/1k req", "right"),
        ("$/1M tok", "right"),
        ("key figure", "left"),
    ):
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for scenario in result.scenarios:
        delta, pct = _delta(scenario)
        table.add_row(
            Text(scenario.name, style="bold" if scenario.name == result.baseline else ""),
            _monthly_text(scenario),
            delta,
            pct,
            usd(scenario.usd_per_1k_requests),
            usd(scenario.usd_per_mtok),
            key_figure(scenario),
        )
    return table


def _notes(result: SimulationResult) -> RenderableType:
    lines = Text()
    lines.append(
        f"Baseline: {result.baseline} ({usd(result.baseline_monthly_usd)}/month)\n", style="bold"
    )
    for note in result.notes:
        lines.append(f"  note: {note}\n", style="yellow")
    for scenario in result.scenarios:
        for note in scenario.notes:
            lines.append(f"  {scenario.name}: {note}\n", style="yellow")
        if scenario.unpriced_requests:
            lines.append(
                f"  {scenario.name}: {count(scenario.unpriced_requests)} requests are unpriced\n",
                style="red",
            )
    return lines


def simulation_report(result: SimulationResult) -> list[RenderableType]:
    return [comparison_table(result), _notes(result)]


def simulation_markdown(result: SimulationResult) -> str:
    lines = [
        "## LLM cost scenarios",
        "",
        f"Workload: {workload_text(result)}. "
        f"Baseline: **{result.baseline}** at {usd(result.baseline_monthly_usd)}/month.",
        "",
        "| scenario | monthly | Δ vs baseline | Δ % | $/1k req | $/1M tok | key figure |",
        "|---|--:|--:|--:|--:|--:|---|",
    ]
    for scenario in result.scenarios:
        delta, pct = _delta(scenario)
        monthly = _monthly_text(scenario).replace("\n", "<br>")
        lines.append(
            f"| {scenario.name} | {monthly} | {delta} | {pct} | {usd(scenario.usd_per_1k_requests)} | "
            f"{usd(scenario.usd_per_mtok)} | {key_figure(scenario)} |"
        )
    notes = [f"- {s.name}: {note}" for s in result.scenarios for note in s.notes]
    if notes or result.notes:
        lines += ["", "Notes:", "", *(f"- {note}" for note in result.notes), *notes]
    return "\n".join(lines) + "\n"


def simulation_csv(result: SimulationResult) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "scenario",
            "monthly_usd",
            "savings_usd",
            "savings_pct",
            "usd_per_1k_requests",
            "usd_per_mtok",
            "p10_usd",
            "p50_usd",
            "p90_usd",
            "key_figure",
        ]
    )
    for scenario in result.scenarios:
        doc = scenario_document(scenario)
        writer.writerow(
            [
                scenario.name,
                doc["monthly_usd"],
                doc["savings_usd"],
                doc["savings_pct"],
                doc["usd_per_1k_requests"],
                doc["usd_per_mtok"],
                doc.get("p10"),
                doc.get("p50"),
                doc.get("p90"),
                key_figure(scenario),
            ]
        )
    return out.getvalue()
