"""`costaudit analyze`'s terminal report: rich tables of the analysis."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from costaudit.core.analysis import Analysis, CostRow
from costaudit.core.complexity import CLASS_NAMES, COMPLEX_FROM, SIMPLE_BELOW
from costaudit.render.analysis import (
    NOTICES,
    class_shares,
    label_free_note,
    records_line,
    share,
    unpriced_hint,
    unpriced_note,
    window_line,
)
from costaudit.render.money import count, percent, tokens, usd
from costaudit.render.safe import terminal


def summary_table(analysis: Analysis) -> Table:
    table = Table(
        title="Summary", show_header=False, title_justify="left", box=None, padding=(0, 2)
    )
    table.add_column(style="bold")
    table.add_column()
    totals = analysis.tokens
    table.add_row("Records", records_line(analysis))
    table.add_row("Window", window_line(analysis))
    table.add_row(
        "Tokens",
        f"input {tokens(totals.input)} (cached {tokens(totals.cached_input)}, cache writes "
        f"{tokens(totals.cache_write)}) · output {tokens(totals.output)} (reasoning {tokens(totals.reasoning)})",
    )
    sources = analysis.token_sources
    all_tokens = sum(sources.values())
    table.add_row(
        "Token counts",
        " · ".join(f"{name} {share(value, all_tokens)}" for name, value in sources.items()),
    )
    left_out = unpriced_note(analysis)
    table.add_row("Total cost", usd(analysis.total_cost) + left_out)
    monthly = (
        usd(analysis.monthly_cost) + left_out
        if analysis.monthly_cost is not None
        else "— (window too short to extrapolate: give --days N)"
        if analysis.window.too_short
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
            share(report.classes[name], report.scored),
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
    parts: list[RenderableType] = [table, Text("Score histogram", style="bold"), bars]
    by_group = group_classes_table(analysis)
    if by_group is not None:
        parts.append(by_group)
    parts.append(Text(label_free_note(), style="dim"))
    return Group(*parts)


def group_classes_table(analysis: Analysis) -> Table | None:
    """Complexity class shares per `--group-by` value."""
    groups = [group for group in analysis.complexity_by_group if group.scored]
    if not groups:
        return None
    table = Table(title=f"Complexity by {', '.join(analysis.group_by)}", title_justify="left")
    for key in analysis.group_by:
        table.add_column(key)
    for name in ("scored", *CLASS_NAMES):
        table.add_column(name, justify="right")
    for group in groups:
        table.add_row(
            *(value if value is not None else "(none)" for value in group.key),
            count(group.scored),
            *class_shares(group),
        )
    return table


def problems_text(analysis: Analysis) -> RenderableType:
    if not analysis.problems:
        return Text("No problems found.", style="green")
    lines = Text()
    lines.append("Problems\n", style="bold")
    for problem in analysis.problems:
        style = "yellow" if problem.kind in NOTICES else "red"
        lines.append(f"  {problem.kind}: ", style=style)
        lines.append(f"{terminal(problem.detail)} ({count(problem.count)})\n")
        if problem.kind == "unpriced_model":
            lines.append(f"    {unpriced_hint(problem.detail)}\n", style="dim")
        for example in problem.examples[:3]:
            lines.append(f"    e.g. {terminal(example)}: {terminal(problem.detail)}\n", style="dim")
    return lines


def analysis_report(analysis: Analysis) -> list[RenderableType]:
    """The terminal report, section by section."""
    parts: list[RenderableType] = [summary_table(analysis), models_table(analysis)]
    if analysis.group_by:
        parts.append(groups_table(analysis))
    parts += [
        percentiles_table(analysis),
        complexity_table(analysis),
        problems_text(analysis),
    ]
    return parts
