"""`costaudit analyze` output: the JSON document, CSV and Markdown (the terminal report is in
analysis_table, so that the other outputs never import rich).

The JSON shape (`costaudit.analyze/1`) is a contract: keys are only ever added, never renamed. Money
is a decimal string in USD; token counts are integers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from costaudit.core.analysis import Analysis, CostRow, TokenPercentiles, TokenTotals, Window
from costaudit.core.complexity import CLASS_NAMES, COMPLEX_FROM, MEASURED_APGR, SIMPLE_BELOW
from costaudit.core.complexity_groups import GroupClasses
from costaudit.core.pricing import NO_MODEL, PriceTableInfo
from costaudit.core.window import duration
from costaudit.jsonio import decimal_str
from costaudit.render.money import count, days, percent, tokens, usd
from costaudit.render.safe import csv_cell, markdown, markdown_prose

SCHEMA = "costaudit.analyze/1"


def label_free_note() -> str:
    """What the complexity score is worth, said wherever its distribution is shown."""
    low, high = MEASURED_APGR
    return (
        f"The score is a label-free estimate: its APGR is {low:.2f}–{high:.2f} on public labelled "
        "sets (0.5 = a random router; docs/complexity.md). `costaudit route fit` fits a router on "
        "your own quality labels."
    )


def class_shares(group: GroupClasses) -> list[str]:
    """Share of each complexity class among the group's scored requests."""
    return [share(group.classes[name], group.scored) for name in CLASS_NAMES]


def _group_classes_doc(group: GroupClasses, group_by: Sequence[str]) -> dict[str, Any]:
    return {
        "group": dict(zip(group_by, group.key, strict=True)),
        "requests": group.requests,
        "scored": group.scored,
        "classes": group.classes,
    }


def _tokens_doc(totals: TokenTotals) -> dict[str, int]:
    return {
        "input": totals.input,
        "cached_input": totals.cached_input,
        "cache_write": totals.cache_write,
        "cache_write_1h": totals.cache_write_1h,
        "output": totals.output,
        "reasoning": totals.reasoning,
    }


def _distribution_doc(dist: TokenPercentiles) -> dict[str, Any]:
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


def pricing_document(info: PriceTableInfo | None) -> dict[str, Any] | None:
    """Which price tables were used, as every JSON document says it."""
    if info is None:
        return None
    return {
        "files": list(info.files),
        "effective": info.effective.isoformat(),
        "sha256": info.sha256,
    }


def analysis_document(analysis: Analysis) -> dict[str, Any]:
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
            "undated_requests": window.undated,
            "outlier_requests": window.outliers,
            "days_with_outliers": decimal_str(window.days_with_outliers),
        },
        "tokens": _tokens_doc(analysis.tokens),
        "token_sources": analysis.token_sources,
        "cost": {
            "total_usd": decimal_str(analysis.total_cost, exact=True),
            "monthly_usd": decimal_str(analysis.monthly_cost),
            "extrapolation_factor": decimal_str(analysis.extrapolation_factor),
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
            "label_free": True,
            "measured_apgr": list(MEASURED_APGR),
            "by_group": [
                _group_classes_doc(group, analysis.group_by)
                for group in analysis.complexity_by_group
            ],
        },
        "pricing": pricing_document(analysis.pricing),
        "problems": [
            {"kind": problem.kind, "detail": problem.detail, "count": problem.count}
            for problem in analysis.problems
        ],
    }


def _group_classes_markdown(analysis: Analysis) -> list[str]:
    groups = [group for group in analysis.complexity_by_group if group.scored]
    if not groups:
        return []
    header = " | ".join(markdown(key) for key in analysis.group_by)
    lines = [
        "",
        f"| {header} | scored | {' | '.join(CLASS_NAMES)} |",
        "|" + "---|" * len(analysis.group_by) + "--:|" * (1 + len(CLASS_NAMES)),
    ]
    for group in groups:
        keys = " | ".join(markdown(value) if value else "(none)" for value in group.key)
        lines.append(f"| {keys} | {count(group.scored)} | {' | '.join(class_shares(group))} |")
    return lines


CSV_TOKENS = (
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
)


def models_csv(analysis: Analysis) -> str:
    """One CSV row per model, for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["model", "price_id", "requests", *CSV_TOKENS, "cost_usd", "monthly_usd"]
    writer.writerow(header)
    for row in analysis.models:
        doc = _model_doc(row)
        doc["model"] = csv_cell(str(doc["model"]))
        doc["price_id"] = csv_cell(doc["price_id"]) if doc["price_id"] else None
        writer.writerow([doc[key] if doc[key] is not None else "" for key in header])
    return out.getvalue()


def groups_csv(analysis: Analysis) -> str:
    """One CSV row per group (one column per `--group-by` key; empty for none), for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [*map(csv_cell, analysis.group_by), "requests", *CSV_TOKENS, "cost_usd", "monthly_usd"]
    )
    for row in analysis.groups:
        totals = row.tokens
        writer.writerow(
            [
                *(csv_cell(value) if value is not None else "" for value in row.key),
                row.requests,
                totals.input,
                totals.cached_input,
                totals.cache_write,
                totals.output,
                totals.reasoning,
                decimal_str(row.cost, exact=True) or "",
                decimal_str(row.monthly) or "",
            ]
        )
    return out.getvalue()


def analysis_csv(analysis: Analysis) -> str:
    """`--output csv`: the `--group-by` rows when groups were asked for, else one row per model."""
    return groups_csv(analysis) if analysis.group_by else models_csv(analysis)


def share(part: int, whole: int) -> str:
    return percent(part / whole) if whole else "—"


def records_line(analysis: Analysis) -> str:
    return (
        f"{count(analysis.records_read)} read = {count(analysis.records_priced)} priced"
        f" + {count(analysis.records_unpriced)} unpriced + {count(analysis.records_skipped)} skipped"
    )


def unpriced_note(analysis: Analysis) -> str:
    """A cost with requests left out must say so next to the figure, not only in Problems."""
    unpriced = analysis.records_unpriced
    if not unpriced:
        return ""
    return f" (without the {count(unpriced)} unpriced request{'' if unpriced == 1 else 's'})"


def unpriced_hint(model: str) -> str:
    if model == NO_MODEL:
        return "these records name no model: give --model M to price them as M"
    return (
        "not in the price table: `costaudit pricing show NAME` suggests close names; add it or an "
        "alias in an override file (docs/pricing.md)"
    )


def window_choice(window: Window) -> str:
    """How the window was chosen, and what it leaves out, in words."""
    if window.source == "--days":
        text = "from --days"
    elif window.source == "timestamps":
        text = f"the span of {count(window.dated)} request{_plural(window.dated)}' timestamps"
        if window.outliers:
            text += f", {count(window.outliers)} far outlier{_plural(window.outliers)} left out"
    else:
        text = "no timestamps span time"
    if window.undated:
        text += f"; {count(window.undated)} without a timestamp" + (
            " taken to fall within it" if window.days is not None else ""
        )
    return text


def _plural(number: int) -> str:
    return "" if number == 1 else "s"


def window_line(analysis: Analysis) -> str:
    window = analysis.window
    choice = window_choice(window)
    if window.days is None:
        return f"unknown ({choice}; use --days N for a monthly figure)"
    length = days(window.days) if window.days >= 1 else duration(window.days)
    if window.source == "--days":
        return f"{length} ({choice})"
    if window.start is None or window.end is None:
        return f"{length} (relative trace times; {choice})"
    return f"{window.start:%Y-%m-%d %H:%M} → {window.end:%Y-%m-%d %H:%M} UTC ({length}; {choice})"


def analysis_markdown(analysis: Analysis) -> str:
    """A Markdown report (for wikis and PR comments)."""
    lines = ["## LLM cost audit", ""]
    lines.append(f"- **Records:** {records_line(analysis)}")
    lines.append(f"- **Window:** {window_line(analysis)}")
    lines.append(f"- **Total cost:** {usd(analysis.total_cost)}{unpriced_note(analysis)}")
    lines.append(f"- **Monthly cost:** {usd(analysis.monthly_cost)}{unpriced_note(analysis)}")
    lines += [
        "",
        "| model | priced as | requests | input | output | cost | monthly |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]
    for row in analysis.models:
        lines.append(
            f"| {markdown(str(row.key[0]))} | {markdown(row.price_id) if row.price_id else '**unpriced**'} | {count(row.requests)} | "
            f"{tokens(row.tokens.input)} | {tokens(row.tokens.output)} | {usd(row.cost)} | {usd(row.monthly)} |"
        )
    if analysis.group_by:
        header = " | ".join(markdown(key) for key in analysis.group_by)
        lines += [
            "",
            f"| {header} | requests | cost | monthly |",
            "|" + "---|" * len(analysis.group_by) + "--:|--:|--:|",
        ]
        for row in analysis.groups:
            keys = " | ".join(markdown(value) if value else "(none)" for value in row.key)
            lines.append(
                f"| {keys} | {count(row.requests)} | {usd(row.cost)} | {usd(row.monthly)} |"
            )
    report = analysis.complexity
    if report.scored:
        lines += ["", "| complexity | requests | share |", "|---|--:|--:|"]
        for name in CLASS_NAMES:
            lines.append(
                f"| {name} | {count(report.classes[name])} | {share(report.classes[name], report.scored)} |"
            )
        lines += _group_classes_markdown(analysis)
        lines += ["", label_free_note()]
    if analysis.problems:
        lines += ["", "**Problems**", ""]
        lines += [
            f"- {p.kind}: {markdown_prose(p.detail)} ({count(p.count)})" for p in analysis.problems
        ]
    return "\n".join(lines) + "\n"


WARNED_PROBLEMS = frozenset(
    {
        "stale_table",
        "before_first_price",
        "short_window",
        "window_too_short",
        "outlier_timestamps",
    }
)
"""Problems also printed as warnings after the summary line: they put a price or the monthly figure
itself in doubt."""
NOTED_PROBLEMS = frozenset({"undated"})
"""Problems also printed as notes after the summary line."""
NOTICES = frozenset(
    {"note", "no_window", "undated", "aggregate", "short_window", "outlier_timestamps"}
)
"""Problem kinds that inform rather than alarm (shown as notices, not errors, in reports)."""


def _records(number: int) -> str:
    return "record" if number == 1 else "records"


def summary_lines(analysis: Analysis) -> list[str]:
    """The one-line summary on stderr, then warnings and notes worth seeing without the report."""
    monthly = (
        f"{usd(analysis.monthly_cost)}/month"
        if analysis.monthly_cost is not None
        else "no monthly figure"
    )
    lines = [
        f"costaudit: {count(analysis.records_read)} {_records(analysis.records_read)}, {count(analysis.records_priced)} priced, "
        f"{count(analysis.records_unpriced)} unpriced, {count(analysis.records_skipped)} skipped — "
        f"{usd(analysis.total_cost)} total, {monthly}"
    ]
    lines += [f"warning: {p.detail}" for p in analysis.problems if p.kind in WARNED_PROBLEMS]
    lines += [f"note: {p.detail}" for p in analysis.problems if p.kind in NOTED_PROBLEMS]
    lines += [
        f"note: the {encoding} tokenizer is not available offline; its counts were estimated with "
        "cl100k_base (put the encoding file in TIKTOKEN_CACHE_DIR for exact counts)"
        for encoding in analysis.estimated_encodings
    ]
    return lines
