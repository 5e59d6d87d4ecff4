"""`costaudit simulate` output: the comparison table, the JSON document, CSV and Markdown.

JSON (`costaudit.simulate/1`): `workload {requests, days, tokens, source, simulated_requests}`,
`baseline {name, monthly_usd}`, `scenarios [{name, strategies, monthly_usd, savings_usd, savings_pct,
usd_per_1k_requests, usd_per_mtok, api_requests, unpriced_requests, details {...}, notes,
p10/p50/p90 (ranges), cache_band_usd (prompt caching), curve (routing), breakdown {models [{model,
requests, monthly_usd, unpriced_requests}], groups {FIELD: [{group, requests, monthly_usd,
unpriced_requests}]}}}]`, `group_by`, and with `--months` a `forecast {months, growth_monthly_pct,
growth_source, scenarios [{name, monthly_usd [...], total_usd, cumulative_savings_usd}]}`.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np

from costaudit.core.simulate.details import RoutingDetails, RoutingQuality
from costaudit.core.simulate.engine import ScenarioResult, SimulationResult
from costaudit.core.simulate.forecast import Forecast
from costaudit.jsonio import decimal_str
from costaudit.render import serving as serving_view
from costaudit.render.analysis import pricing_document
from costaudit.render.money import count, days, percent, signed_usd, usd
from costaudit.render.safe import csv_cell, markdown, markdown_prose, terminal

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table

    from costaudit.core.simulate.details import HostingDetails

SCHEMA = "costaudit.simulate/1"


def jsonable(value: Any) -> Any:
    """Result records as JSON values: dataclasses as objects (fields in order; see
    core/simulate/details.py for the fields left out), Decimals as micro-dollar strings, floats to
    six decimals, numpy scalars as Python numbers."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            item.name: jsonable(getattr(value, item.name))
            for item in dataclasses.fields(value)
            if not item.metadata.get("omit")
            and not (item.metadata.get("omit_none") and getattr(value, item.name) is None)
        }
    if isinstance(value, Decimal):
        return decimal_str(value)
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
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
    if result.percentiles is not None:
        doc.update(jsonable(result.percentiles))
    if result.cache_band_usd is not None:
        doc["cache_band_usd"] = jsonable(result.cache_band_usd)
    if result.curve is not None:
        doc["curve"] = jsonable(result.curve)
    doc["breakdown"] = jsonable(result.breakdown)
    return doc


def simulation_document(result: SimulationResult) -> dict[str, Any]:
    document = {
        "schema": SCHEMA,
        "workload": jsonable(result.workload),
        "baseline": jsonable(result.baseline),
        "scenarios": [scenario_document(scenario) for scenario in result.scenarios],
        "pricing": pricing_document(result.pricing),
        "notes": list(result.notes),
        "group_by": list(result.group_by),
    }
    if result.forecast is not None:
        document["forecast"] = jsonable(result.forecast)
    return document


def _routing_figure(detail: RoutingDetails) -> str:
    tiers = detail.tiers
    if detail.mode == "cascade":
        # A cascade's later tiers start empty and receive only escalations: name where traffic starts.
        tiers = [tier for tier in tiers if tier.requests] or tiers
    shares = " · ".join(f"{tier.model} {percent(tier.share, 0)}" for tier in tiers)
    quality = detail.quality
    if quality is not None and quality.quality_retained is not None:
        shares += f" (quality {percent(quality.quality_retained, 0)})"
    if quality is not None and quality.apgr is not None:
        shares += f"; {ranking_figure(quality)}"
    escalated = detail.escalated_requests
    if escalated:
        first = sum(tier.requests for tier in detail.tiers)
        shares += f", {count(escalated)} ({percent(escalated / first, 0)}) escalated"
    return shares


def _cpt(value: float | None) -> str:
    return "never" if value is None else percent(value, 0)


def ranking_figure(quality: RoutingQuality) -> str:
    """How well the router ranked the labelled requests, next to a random router."""
    return (
        f"APGR {quality.apgr or 0:.2f} (random {quality.random_apgr or 0:.2f}), "
        f"CPT(50%) {_cpt(quality.cpt50)}, CPT(80%) {_cpt(quality.cpt80)}"
    )


def _hosting_figure(detail: HostingDetails) -> str:
    flag = " ⚠ below floor" if detail.below_floor else ""
    per = detail.usd_per_mtok
    per_text = f", {usd(per)}/Mtok" if per is not None else ""
    fleet = f"{detail.replicas}×{detail.devices_per_replica} {detail.gpu} {detail.pricing.replace('_', '-')}"
    if detail.serving is not None:
        return f"{fleet} {serving_view.key_figure(detail)}{per_text}{flag}"
    return f"{fleet}, util {percent(detail.utilization, 0)}{per_text}{flag}"


def key_figure(result: ScenarioResult) -> str:
    """The one number per strategy that explains the result."""
    details = result.details
    parts = []
    if details.routing is not None:
        parts.append(_routing_figure(details.routing))
    if details.response_cache is not None:
        parts.append(f"response cache hits {percent(details.response_cache.hit_rate)}")
    if details.prompt_cache is not None:
        band = details.prompt_cache.hit_rate
        observed = details.prompt_cache.observed_hit_rate
        logged = f", logged {percent(observed, 0)}" if observed is not None else ""
        parts.append(
            f"prompt cache hits {percent(band.low, 0)}–{percent(band.high, 0)} "
            f"(central {percent(band.central, 0)}{logged})"
        )
    if details.batching is not None:
        parts.append(f"batch {percent(details.batching.share, 0)}")
    if details.fine_tune is not None:
        parts.append(f"fine-tune {usd(details.fine_tune.monthly_training_usd)}/mo training")
    hosting = details.fleet()
    if hosting is not None:
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
    if result.unpriced_requests:
        text += f"\n+ {count(result.unpriced_requests)} unpriced requests"
    if result.percentiles is not None:
        text += f"\nP10–P90 {usd(result.percentiles.p10)}–{usd(result.percentiles.p90)}"
    band = result.cache_band_usd
    if band is not None and usd(band.high) != usd(band.low):
        text += f"\nband {usd(band.high)}–{usd(band.low)}"

    return text


def workload_text(result: SimulationResult) -> str:
    """Where the traffic came from, how many requests and over how long: one phrase for every report."""
    workload = result.workload
    window = "unknown window" if workload.days is None else days(workload.days)
    return f"{workload.source} ({count(workload.requests)} requests, {window})"


def comparison_table(result: SimulationResult) -> Table:
    from rich.table import Table
    from rich.text import Text

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
            Text(
                terminal(scenario.name),
                style="bold" if scenario.name == result.baseline.name else "",
            ),
            Text(_monthly_text(scenario)),
            delta,
            pct,
            usd(scenario.usd_per_1k_requests),
            usd(scenario.usd_per_mtok),
            key_figure(scenario),
        )
    return table


def _notes(result: SimulationResult) -> RenderableType:
    from rich.text import Text

    lines = Text()
    lines.append(
        f"Baseline: {terminal(result.baseline.name)} ({usd(result.baseline.monthly_usd)}/month)\n",
        style="bold",
    )
    for note in result.notes:
        lines.append(f"  note: {terminal(note)}\n", style="yellow")
    for scenario in result.scenarios:
        for note in scenario.notes:
            lines.append(f"  {terminal(scenario.name)}: {terminal(note)}\n", style="yellow")
        if scenario.unpriced_requests:
            lines.append(
                f"  {terminal(scenario.name)}: {count(scenario.unpriced_requests)} requests are "
                "unpriced\n",
                style="red",
            )
    return lines


def _cell(monthly: Decimal | None, unpriced: int) -> str:
    text = usd(monthly)
    return f"{text} (+{count(unpriced)} unpriced)" if unpriced else text


def breakdown_rows(result: SimulationResult, by: str) -> list[tuple[str, list[str]]]:
    """Rows of a breakdown across scenarios: (name, one cell per scenario), costliest first."""
    cells: dict[str, dict[str, str]] = {}
    order: dict[str, Decimal] = {}
    for scenario in result.scenarios:
        breakdown = scenario.breakdown
        rows = (
            [(row.model, row.monthly_usd, row.unpriced_requests) for row in breakdown.models]
            if by == "model"
            else [
                (
                    row.group if row.group is not None else "(none)",
                    row.monthly_usd,
                    row.unpriced_requests,
                )
                for row in breakdown.groups.get(by, [])
            ]
        )
        for name, monthly, unpriced in rows:
            cells.setdefault(name, {})[scenario.name] = _cell(monthly, unpriced)
            order[name] = max(order.get(name, Decimal(0)), monthly or Decimal(0))
    names = sorted(cells, key=lambda name: (-order[name], name))
    return [
        (name, [cells[name].get(scenario.name, "—") for scenario in result.scenarios])
        for name in names
    ]


def _breakdown_keys(result: SimulationResult) -> list[str]:
    return ["model", *result.group_by]


def breakdown_table(result: SimulationResult, by: str) -> Table:
    from rich.table import Table

    title = f"Monthly cost by {by}"
    table = Table(title=title, title_justify="left", min_width=len(title))
    table.add_column(by, no_wrap=True)
    for scenario in result.scenarios:
        table.add_column(scenario.name, justify="right", overflow="fold")
    for name, row in breakdown_rows(result, by):
        table.add_row(name, *row)
    return table


def forecast_rows(forecast: Forecast) -> list[tuple[str, list[str]]]:
    """(label, one cell per scenario) for each month, the total and the cumulative saving."""
    rows = [
        (f"month {month + 1}", [usd(s.monthly_usd[month]) for s in forecast.scenarios])
        for month in range(forecast.months)
    ]
    rows.append(
        (f"total, {forecast.months} months", [usd(s.total_usd) for s in forecast.scenarios])
    )
    rows.append(
        (
            "cumulative saving",
            [
                "—" if s.cumulative_savings_usd is None else signed_usd(s.cumulative_savings_usd)
                for s in forecast.scenarios
            ],
        )
    )
    return rows


def forecast_title(forecast: Forecast) -> str:
    growth = forecast.growth_monthly_pct
    source = {
        "declared": "declared",
        "fitted": "fitted to the logs' daily totals",
        "none": "no growth declared",
    }[forecast.growth_source]
    return f"Forecast, {forecast.months} months, traffic {growth:+}% a month ({source})".replace(
        "-", "−"
    )


def forecast_table(forecast: Forecast) -> Table:
    from rich.table import Table

    title = forecast_title(forecast)
    table = Table(title=title, title_justify="left", min_width=len(title))
    table.add_column("")
    for scenario in forecast.scenarios:
        table.add_column(scenario.name, justify="right", overflow="fold")
    for label, cells in forecast_rows(forecast):
        table.add_row(label, *cells)
    return table


def _served(result: SimulationResult) -> list[tuple[ScenarioResult, HostingDetails]]:
    """Scenarios whose fleet was replayed through continuous-batching servers."""
    served = []
    for scenario in result.scenarios:
        fleet = scenario.details.fleet()
        if fleet is not None and fleet.serving is not None:
            served.append((scenario, fleet))
    return served


def _grid_table(title: str, columns: tuple[str, ...], rows: list[list[str]]) -> Table:
    from rich.table import Table

    table = Table(title=title, title_justify="left", min_width=min(len(title), 100))
    for index, name in enumerate(columns):
        table.add_column(name, justify="left" if index == 0 else "right", overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def serving_tables(result: SimulationResult) -> list[RenderableType]:
    """Per replayed scenario: the replay's figures, the SLO search's options and the batch sweep."""
    from rich.table import Table
    from rich.text import Text

    parts: list[RenderableType] = []
    for scenario, hosting in _served(result):
        title = f"Serving replay — {scenario.name}"
        figures = Table(title=title, title_justify="left", min_width=len(title), show_header=False)
        figures.add_column("figure", no_wrap=True)
        figures.add_column("value", overflow="fold")
        for label, value in serving_view.summary_rows(hosting):
            figures.add_row(label, value)
        parts.append(figures)
        serving = hosting.serving
        assert serving is not None
        if serving.search is not None:
            parts.append(
                _grid_table(
                    f"SLO search — {scenario.name}: every fleet replayed to the end (replay)",
                    serving_view.FRONTIER_COLUMNS,
                    serving_view.frontier_rows(serving),
                )
            )
            skipped = serving_view.skipped_lines(serving)
            if skipped:
                parts.append(Text("\n".join(f"  {terminal(line)}" for line in skipped)))
        if serving.sweep:
            parts.append(
                _grid_table(
                    serving_view.sweep_title(hosting),
                    serving_view.SWEEP_COLUMNS,
                    serving_view.sweep_rows(serving),
                )
            )
    return parts


def simulation_report(result: SimulationResult) -> list[RenderableType]:
    parts: list[RenderableType] = [comparison_table(result)]
    parts += [breakdown_table(result, by) for by in _breakdown_keys(result)]
    parts += serving_tables(result)
    if result.forecast is not None:
        parts.append(forecast_table(result.forecast))
    parts.append(_notes(result))
    return parts


def simulation_markdown(result: SimulationResult) -> str:
    lines = [
        "## LLM cost scenarios",
        "",
        f"Workload: {markdown_prose(workload_text(result))}. "
        f"Baseline: **{markdown(result.baseline.name)}** at {usd(result.baseline.monthly_usd)}/month.",
        "",
        "| scenario | monthly | Δ vs baseline | Δ % | $/1k req | $/1M tok | key figure |",
        "|---|--:|--:|--:|--:|--:|---|",
    ]
    for scenario in result.scenarios:
        delta, pct = _delta(scenario)
        monthly = _monthly_text(scenario).replace("\n", "<br>")
        lines.append(
            f"| {markdown(scenario.name)} | {monthly} | {delta} | {pct} | "
            f"{usd(scenario.usd_per_1k_requests)} | {usd(scenario.usd_per_mtok)} | "
            f"{markdown_prose(key_figure(scenario))} |"
        )
    for by in _breakdown_keys(result):
        lines += [
            "",
            f"**Monthly cost by {markdown(by)}**",
            "",
            _markdown_grid(by, result, breakdown_rows(result, by)),
        ]
    if result.forecast is not None:
        lines += [
            "",
            f"**{forecast_title(result.forecast)}**",
            "",
            _markdown_grid("", result, forecast_rows(result.forecast)),
        ]
    lines += _serving_markdown(result)
    notes = [
        f"- {markdown(s.name)}: {markdown_prose(note)}"
        for s in result.scenarios
        for note in s.notes
    ]
    if notes or result.notes:
        lines += ["", "Notes:", "", *(f"- {markdown_prose(note)}" for note in result.notes), *notes]
    return "\n".join(lines) + "\n"


def _markdown_rows(columns: tuple[str, ...], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(columns) + " |",
        "|---|" + "--:|" * (len(columns) - 1),
        *("| " + " | ".join(markdown(cell) for cell in row) + " |" for row in rows),
    ]


def _serving_markdown(result: SimulationResult) -> list[str]:
    lines: list[str] = []
    for scenario, hosting in _served(result):
        serving = hosting.serving
        assert serving is not None
        lines += [
            "",
            f"**Serving replay — {markdown(scenario.name)}**",
            "",
            "| figure | value |",
            "|---|---|",
        ]
        lines += [
            f"| {markdown(label)} | {markdown(value)} |"
            for label, value in serving_view.summary_rows(hosting)
        ]
        if serving.search is not None:
            lines += [
                "",
                f"**SLO search — {markdown(scenario.name)}** (every fleet replayed to the end)",
                "",
            ]
            lines += _markdown_rows(
                serving_view.FRONTIER_COLUMNS, serving_view.frontier_rows(serving)
            )
            skipped = serving_view.skipped_lines(serving)
            if skipped:
                lines += ["", *(f"- {markdown_prose(line)}" for line in skipped)]
        if serving.sweep:
            lines += ["", f"**{markdown(serving_view.sweep_title(hosting))}**", ""]
            lines += _markdown_rows(serving_view.SWEEP_COLUMNS, serving_view.sweep_rows(serving))
    return lines


def _markdown_grid(first: str, result: SimulationResult, rows: list[tuple[str, list[str]]]) -> str:
    names = [markdown(scenario.name) for scenario in result.scenarios]
    lines = [
        f"| {markdown(first)} | " + " | ".join(names) + " |",
        "|---|" + "--:|" * len(names),
        *(
            f"| {markdown(label)} | " + " | ".join(markdown(cell) for cell in cells) + " |"
            for label, cells in rows
        ),
    ]
    return "\n".join(lines)


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
            "unpriced_requests",
            "breakdown",
            "group",
            "requests",
        ]
    )
    for scenario in result.scenarios:
        doc = scenario_document(scenario)
        writer.writerow(
            [
                csv_cell(scenario.name),
                doc["monthly_usd"],
                doc["savings_usd"],
                doc["savings_pct"],
                doc["usd_per_1k_requests"],
                doc["usd_per_mtok"],
                doc.get("p10"),
                doc.get("p50"),
                doc.get("p90"),
                csv_cell(key_figure(scenario)),
                scenario.unpriced_requests,
                "",
                "",
                scenario.api_requests,
            ]
        )
    blank = [""] * 8
    for scenario in result.scenarios:
        for row in scenario.breakdown.models:
            writer.writerow(
                [
                    csv_cell(scenario.name),
                    decimal_str(row.monthly_usd),
                    *blank,
                    row.unpriced_requests,
                    "model",
                    csv_cell(row.model),
                    row.requests,
                ]
            )
        for by, rows in scenario.breakdown.groups.items():
            for group in rows:
                writer.writerow(
                    [
                        csv_cell(scenario.name),
                        decimal_str(group.monthly_usd),
                        *blank,
                        group.unpriced_requests,
                        csv_cell(by),
                        csv_cell(group.group) if group.group is not None else "",
                        group.requests,
                    ]
                )
    return out.getvalue()


def summary_line(result: SimulationResult) -> str:
    """The one-line summary on stderr: how many scenarios, the baseline, the cheapest."""
    cheapest = min(
        (s for s in result.scenarios if s.monthly_usd is not None),
        key=lambda s: s.monthly_usd or Decimal(0),
        default=None,
    )
    best = f"; cheapest: {cheapest.name} at {usd(cheapest.monthly_usd)}/month" if cheapest else ""
    scenarios = len(result.scenarios)
    return (
        f"costaudit: {scenarios} scenario{'' if scenarios == 1 else 's'} on "
        f"{result.workload.requests:,} requests; baseline {result.baseline.name} "
        f"{usd(result.baseline.monthly_usd)}/month{best}"
    )
