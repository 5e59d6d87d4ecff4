"""`costaudit analyze` output: the JSON document, CSV, Markdown and the rich terminal report.

The JSON shape (`costaudit.analyze/1`) is a contract: keys are only ever added, never renamed. Money
is a decimal string in USD; token counts are integers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from costaudit.core.analysis import Analysis, CostRow, Distribution, TokenTotals
from costaudit.core.complexity import CLASS_NAMES, COMPLEX_FROM, SIMPLE_BELOW
from costaudit.core.pricing import NO_MODEL
from costaudit.render.money import count, days, decimal_str, percent, tokens, usd

SCHEMA = "costaudit.analyze/1"


def _tokens_doc(totals: TokenTotals) -> dict[str, int]:
    return {
        "input": totals.input,
        "cached_input": totals.cached_input,
        "cache_write": totals.cache_write,
        "cache_write_1h": totals.cache_write_1h,
        "output": totals.output,
        "reasoning": totals.reasoning,
    }


def _distribution_doc(dist: Distribution) -> dict[str, Any]:
    return {
        "requests": dist.requests,
        "mean": round(dist.mean, 3),
        **{f"p{p}": value for p, value in dist.percentiles.items()},
        "max": dist.maximum,
    }


def _model_doc(row: CostRow) -> dict[str, Any]:
    return {
        "model": row.key[0],
        "price_id": row.price_id,
        "requests": row.requests,
        "input_tokens": row.tokens.input,
        "cached_input_tokens": row.tokens.cached_input,
        "cache_write_tokens": row.tokens.cache_write,
        "output_tokens": row.tokens.output,
        "reasoning_tokens": row.tokens.reasoning,
        "cost_usd": decimal_str(row.cost, exact=True),
        "monthly_usd": decimal_str(row.monthly),
    }


def _group_doc(row: CostRow, group_by: Sequence[str]) -> dict[str, Any]:
    return {
        "group": dict(zip(group_by, row.key, strict=True)),
        "requests": row.requests,
        "input_tokens": row.tokens.input,
        "output_tokens": row.tokens.output,
        "cost_usd": decimal_str(row.cost, exact=True),
        "monthly_usd": decimal_str(row.monthly),
    }


def analysis_document(analysis: Analysis, pricing: dict[str, Any]) -> dict[str, Any]:
    """The `--output json` document."""
    window = analysis.window
    complexity = analysis.complexity
    return {
        "schema": SCHEMA,
        "records": {
            "read": analysis.records_read,
            "priced": analysis.records_priced,
            "unpriced": analysis.records_unpriced,
            "skipped": analysis.records_skipped,
        },
        "window": {
            "start": window.start.isoformat() if window.start else None,
            "end": window.end.isoformat() if window.end else None,
            "days": decimal_str(window.days),
            "source": window.source,
        },
        "tokens": _tokens_doc(analysis.tokens),
        "token_sources": analysis.token_sources,
        "cost": {
            "total_usd": decimal_str(analysis.total_cost, exact=True),
            "monthly_usd": decimal_str(analysis.monthly_cost),
        },
        "models": [_model_doc(row) for row in analysis.models],
        "groups": {
            "by": list(analysis.group_by),
            "rows": [_group_doc(row, analysis.group_by) for row in analysis.groups],
        },
        "token_percentiles": {
            "input": {name: _distribution_doc(d) for name, d in analysis.input_tokens.items()},
            "output": {name: _distribution_doc(d) for name, d in analysis.output_tokens.items()},
        },
        "complexity": {
            "scored": complexity.scored,
            "unscored": complexity.unscored,
            "cut_points": {
                "simple_below": round(SIMPLE_BELOW, 6),
                "complex_from": round(COMPLEX_FROM, 6),
            },
            "classes": complexity.classes,
            "histogram": {
                "bins": [
                    round(i / len(complexity.histogram), 2)
                    for i in range(len(complexity.histogram) + 1)
                ],
                "counts": complexity.histogram,
            },
            "mean": None if complexity.mean is None else round(complexity.mean, 6),
            "percentiles": {f"p{p}": round(v, 6) for p, v in complexity.percentiles.items()},
            "input_tokens_by_class": {
                n: _distribution_doc(d) for n, d in complexity.input_by_class.items()
            },
            "output_tokens_by_class": {
                n: _distribution_doc(d) for n, d in complexity.output_by_class.items()
            },
        },
        "pricing": pricing,
        "problems": [
            {"kind": problem.kind, "detail": problem.detail, "count": problem.count}
            for problem in analysis.problems
        ],
    }


def models_csv(analysis: Analysis) -> str:
    """One CSV row per model, for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = [
        "model",
        "price_id",
        "requests",
        "input_tokens",
        "cached_input_tokens",
        "cache_write_tokens",
    ]
    writer.writerow([*header, "output_tokens", "reasoning_tokens", "cost_usd", "monthly_usd"])
    for row in analysis.models:
        doc = _model_doc(row)
        writer.writerow(
            [
                doc[key] if doc[key] is not None else ""
                for key in (*header, "output_tokens", "reasoning_tokens", "cost_usd", "monthly_usd")
            ]
        )
    return out.getvalue()


def _share(part: int, whole: int) -> str:
    return percent(part / whole) if whole else "—"


def _records_line(analysis: Analysis) -> str:
    return (
        f"{count(analysis.records_read)} read = {count(analysis.records_priced)} priced"
        f" + {count(analysis.records_unpriced)} unpriced + {count(analysis.records_skipped)} skipped"
    )


def _unpriced_note(analysis: Analysis) -> str:
    """A cost with requests left out must say so next to the figure, not only in Problems."""
    unpriced = analysis.records_unpriced
    if not unpriced:
        return ""
    return f" (without the {count(unpriced)} unpriced request{'' if unpriced == 1 else 's'})"


def _unpriced_hint(model: str) -> str:
    if model == NO_MODEL:
        return "these records name no model: give --model M to price them as M"
    return (
        "not in the price table: `costaudit pricing show NAME` suggests close names; add it or an "
        "alias in an override file (docs/pricing.md)"
    )


def _window_line(analysis: Analysis) -> str:
    window = analysis.window
    if window.days is None:
        return "unknown (no timestamps span time; use --days N for a monthly figure)"
    length = days(window.days)
    if window.source == "--days":
        return f"{length} (from --days)"
    if window.start is None:
        return f"{length} (relative trace times)"
    return f"{window.start:%Y-%m-%d %H:%M} → {window.end:%Y-%m-%d %H:%M} UTC ({length})"


def summary_table(analysis: Analysis) -> Table:
    table = Table(
        title="Summary", show_header=False, title_justify="left", box=None, padding=(0, 2)
    )
    table.add_column(style="bold")
    table.add_column()
    totals = analysis.tokens
    table.add_row("Records", _records_line(analysis))
    table.add_row("Window", _window_line(analysis))
    table.add_row(
        "Tokens",
        f"input {tokens(totals.input)} (cached {tokens(totals.cached_input)}, cache writes "
        f"{tokens(totals.cache_write)}) · output {tokens(totals.output)} (reasoning {tokens(totals.reasoning)})",
    )
    sources = analysis.token_sources
    all_tokens = sum(sources.values())
    table.add_row(
        "Token counts",
        " · ".join(f"{name} {_share(value, all_tokens)}" for name, value in sources.items()),
    )
    left_out = _unpriced_note(analysis)
    table.add_row("Total cost", usd(analysis.total_cost) + left_out)
    monthly = (
        usd(analysis.monthly_cost) + left_out
        if analysis.monthly_cost is not None
        else "— (no time window)"
    )
    table.add_row("Monthly cost", Text(monthly, style="bold green"))
    return table


def models_table(analysis: Analysis) -> Table:
    table = Table(title="Cost by model", title_justify="left")
    for name, justify in (
        ("model", "left"),
        ("priced as", "left"),
        ("requests", "right"),
        ("input", "right"),
        ("cached", "right"),
        ("output", "right"),
        ("cost", "right"),
        ("monthly", "right"),
        ("share", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in analysis.models:
        share = _share_of_cost(row, analysis)
        table.add_row(
            str(row.key[0]),
            row.price_id or Text("unpriced", style="bold red"),
            count(row.requests),
            tokens(row.tokens.input),
            tokens(row.tokens.cached_input),
            tokens(row.tokens.output),
            usd(row.cost),
            usd(row.monthly),
            share,
        )
    return table


def _share_of_cost(row: CostRow, analysis: Analysis) -> str:
    if row.cost is None or not analysis.total_cost:
        return "—"
    return percent(float(row.cost / analysis.total_cost))


def groups_table(analysis: Analysis) -> Table:
    table = Table(title=f"Cost by {', '.join(analysis.group_by)}", title_justify="left")
    for key in analysis.group_by:
        table.add_column(key)
    for name in ("requests", "input", "output", "cost", "monthly", "share"):
        table.add_column(name, justify="right")
    for row in analysis.groups:
        table.add_row(
            *(value if value is not None else "(none)" for value in row.key),
            count(row.requests),
            tokens(row.tokens.input),
            tokens(row.tokens.output),
            usd(row.cost),
            usd(row.monthly),
            _share_of_cost(row, analysis),
        )
    return table


def percentiles_table(analysis: Analysis) -> Table:
    table = Table(title="Tokens per request", title_justify="left")
    table.add_column("model")
    for label in ("requests", "input p50", "p90", "p99", "max", "output p50", "p90", "p99", "max"):
        table.add_column(label, justify="right")
    for name, inputs in analysis.input_tokens.items():
        outputs = analysis.output_tokens[name]
        table.add_row(
            name,
            count(inputs.requests),
            *(count(inputs.percentiles[p]) for p in (50, 90, 99)),
            count(inputs.maximum),
            *(count(outputs.percentiles[p]) for p in (50, 90, 99)),
            count(outputs.maximum),
        )
    return table


def _complexity_title(scored: int, unscored: int) -> str:
    """Say which requests the shares are of when some carried no prompt to score."""
    if not unscored:
        return "Complexity (from the prompt; see --help for the cut points)"
    return f"Complexity of the {count(scored)} requests with a prompt ({count(unscored)} without: not scored)"


def complexity_table(analysis: Analysis) -> RenderableType:
    report = analysis.complexity
    if not report.scored:
        return Text(
            "Complexity: no prompt text or complexity column in these logs, so no distribution.",
            style="dim",
        )
    table = Table(title=_complexity_title(report.scored, report.unscored), title_justify="left")
    for name in (
        "class",
        "score range",
        "requests",
        "share",
        "input p50",
        "input p90",
        "output p50",
    ):
        table.add_column(name, justify="left" if name in {"class", "score range"} else "right")
    ranges = (
        f"< {SIMPLE_BELOW:.2f}",
        f"{SIMPLE_BELOW:.2f} – {COMPLEX_FROM:.2f}",
        f"≥ {COMPLEX_FROM:.2f}",
    )
    for name, score_range in zip(CLASS_NAMES, ranges, strict=True):
        inputs = report.input_by_class[name]
        outputs = report.output_by_class[name]
        table.add_row(
            name,
            score_range,
            count(report.classes[name]),
            _share(report.classes[name], report.scored),
            count(inputs.percentiles[50]),
            count(inputs.percentiles[90]),
            count(outputs.percentiles[50]),
        )
    peak = max(report.histogram) or 1
    bars = Text()
    for index, value in enumerate(report.histogram):
        low = index / len(report.histogram)
        bars.append(f"  {low:.1f}–{low + 0.1:.1f} ")
        bars.append("█" * max(1 if value else 0, round(30 * value / peak)), style="cyan")
        bars.append(f" {count(value)}\n")
    return Group(table, Text("Score histogram", style="bold"), bars)


def problems_text(analysis: Analysis, examples: dict[str, list[str]]) -> RenderableType:
    if not analysis.problems:
        return Text("No problems found.", style="green")
    lines = Text()
    lines.append("Problems\n", style="bold")
    for problem in analysis.problems:
        style = "yellow" if problem.kind in {"note", "no_window"} else "red"
        lines.append(f"  {problem.kind}: ", style=style)
        lines.append(f"{problem.detail} ({count(problem.count)})\n")
        if problem.kind == "unpriced_model":
            lines.append(f"    {_unpriced_hint(problem.detail)}\n", style="dim")
        for example in examples.get(problem.detail, [])[:3] if problem.kind == "skipped" else []:
            lines.append(f"    e.g. {example}: {problem.detail}\n", style="dim")
    return lines


def analysis_report(analysis: Analysis, examples: dict[str, list[str]]) -> list[RenderableType]:
    """The terminal report, section by section."""
    parts: list[RenderableType] = [summary_table(analysis), models_table(analysis)]
    if analysis.group_by:
        parts.append(groups_table(analysis))
    parts += [
        percentiles_table(analysis),
        complexity_table(analysis),
        problems_text(analysis, examples),
    ]
    return parts


def analysis_markdown(analysis: Analysis) -> str:
    """A Markdown report (for wikis and PR comments)."""
    lines = ["## LLM cost audit", ""]
    lines.append(f"- **Records:** {_records_line(analysis)}")
    lines.append(f"- **Window:** {_window_line(analysis)}")
    lines.append(f"- **Total cost:** {usd(analysis.total_cost)}{_unpriced_note(analysis)}")
    lines.append(f"- **Monthly cost:** {usd(analysis.monthly_cost)}{_unpriced_note(analysis)}")
    lines += [
        "",
        "| model | priced as | requests | input | output | cost | monthly |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]
    for row in analysis.models:
        lines.append(
            f"| {row.key[0]} | {row.price_id or '**unpriced**'} | {count(row.requests)} | "
            f"{tokens(row.tokens.input)} | {tokens(row.tokens.output)} | {usd(row.cost)} | {usd(row.monthly)} |"
        )
    if analysis.group_by:
        header = " | ".join(analysis.group_by)
        lines += [
            "",
            f"| {header} | requests | cost | monthly |",
            "|" + "---|" * len(analysis.group_by) + "--:|--:|--:|",
        ]
        for row in analysis.groups:
            keys = " | ".join(value or "(none)" for value in row.key)
            lines.append(
                f"| {keys} | {count(row.requests)} | {usd(row.cost)} | {usd(row.monthly)} |"
            )
    report = analysis.complexity
    if report.scored:
        lines += ["", "| complexity | requests | share |", "|---|--:|--:|"]
        for name in CLASS_NAMES:
            lines.append(
                f"| {name} | {count(report.classes[name])} | {_share(report.classes[name], report.scored)} |"
            )
    if analysis.problems:
        lines += ["", "**Problems**", ""]
        lines += [f"- {p.kind}: {p.detail} ({count(p.count)})" for p in analysis.problems]
    return "\n".join(lines) + "\n"
