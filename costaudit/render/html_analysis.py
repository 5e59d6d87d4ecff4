"""`costaudit analyze --output html`: the audit as one self-contained page."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from costaudit.core.analysis import Analysis, CostRow, TokenPercentiles
from costaudit.core.breakdown import CostOverTime, GroupBreakdown
from costaudit.core.complexity import CLASS_NAMES, COMPLEX_FROM, SIMPLE_BELOW
from costaudit.jsonio import decimal_str
from costaudit.render.analysis import (
    NOTICES,
    records_line,
    unpriced_hint,
    unpriced_note,
    window_choice,
    window_line,
)
from costaudit.render.charts import Chart, analysis_charts, file_safe, period_label
from costaudit.render.html_page import (
    Cell,
    Child,
    Column,
    Html,
    Row,
    card,
    chart,
    document,
    el,
    figure_value,
    join,
    pricing_footer,
    section,
    table,
)
from costaudit.render.money import count, days, percent, tokens, usd

WINDOW_SOURCES = {
    "timestamps": "from the first and last timestamps in the logs (far outliers left out)",
    "--days": "given with --days",
    "none": "no timestamps span time, so there is no monthly figure (give --days N)",
}


def _score_worth() -> Html:
    return el(
        "p",
        "The score is computed from the prompt alone (what a router sees before the model answers): a "
        "label-free prior built from prompt length, turns and cues for code, mathematics and reasoning. "
        "It ranks requests for routing what-ifs; it is not a measured accuracy. How much of the strong "
        "model's quality a router keeps at a given share is measured only on labelled traffic: ",
        el("code", "costaudit simulate"),
        " reports quality retained, CPT and APGR when the workload carries per-model quality labels. A "
        "complexity column in the logs (a real router's scores) replaces this score.",
    )


def _share(part: int, whole: int) -> str:
    return percent(part / whole) if whole else "—"


def _cost_share(row_cost: Decimal | None, analysis: Analysis) -> str:
    if row_cost is None or not analysis.total_cost:
        return "—"
    return percent(float(row_cost / analysis.total_cost))


def _inline(name: str, value: int) -> tuple[Html]:
    return (figure_value(name, count(value), value, inline=True),)


def _summary(analysis: Analysis) -> Html:
    window = analysis.window
    left_out = unpriced_note(analysis)
    monthly = (
        figure_value("monthly-cost", usd(analysis.monthly_cost), analysis.monthly_cost)
        if analysis.monthly_cost is not None
        else figure_value("monthly-cost", "—")
    )
    factor = analysis.extrapolation_factor
    factor_text = f"× {factor:.4g}" if factor is not None else "—"
    factor_detail = (
        f"30 days ÷ {days(window.days)} observed" if window.days is not None else "no time window"
    )
    if window.too_short and window.days is not None:
        factor_detail = f"{days(window.days)} observed: too short to extrapolate, give --days N"
    cards = el(
        "div",
        card("Monthly cost", monthly, f"30-day month{left_out}", main=True),
        card(
            "Total cost",
            figure_value(
                "total-cost", usd(analysis.total_cost), decimal_str(analysis.total_cost, exact=True)
            ),
            f"over the window{left_out}",
        ),
        card(
            "Records read",
            figure_value("records-read", count(analysis.records_read), analysis.records_read),
            join(
                [
                    *_inline("records-priced", analysis.records_priced),
                    " priced + ",
                    *_inline("records-unpriced", analysis.records_unpriced),
                    " unpriced + ",
                    *_inline("records-skipped", analysis.records_skipped),
                    " skipped",
                ]
            ),
        ),
        card(
            "Window",
            figure_value(
                "window-days",
                days(window.days) if window.days is not None else "unknown",
                window.days,
            ),
            WINDOW_SOURCES.get(window.source, window.source),
        ),
        card(
            "Extrapolation",
            figure_value("extrapolation-factor", factor_text, factor),
            f"monthly = window cost × factor ({factor_detail})",
        ),
        class_="cards",
    )
    totals = analysis.tokens
    sources = analysis.token_sources
    all_tokens = sum(sources.values())
    facts = table(
        [Column("what"), Column("figure")],
        [
            ("Records", records_line(analysis)),
            ("Window", window_line(analysis)),
            ("Window chosen", window_choice(window)),
            (
                "Tokens",
                f"input {tokens(totals.input)} (cached {tokens(totals.cached_input)}, cache writes "
                f"{tokens(totals.cache_write)}) · output {tokens(totals.output)} (reasoning {tokens(totals.reasoning)})",
            ),
            (
                "Token counts",
                " · ".join(
                    f"{name} {_share(value, all_tokens)}" for name, value in sources.items()
                ),
            ),
        ],
        name="summary",
    )
    return section("summary", "Summary", cards, facts)


def _model_row(row: CostRow, analysis: Analysis) -> Row:
    return [
        str(row.key[0]),
        row.price_id if row.price_id is not None else el("span", "unpriced", class_="tag bad"),
        (count(row.requests), row.requests),
        (tokens(row.tokens.input), row.tokens.input),
        (tokens(row.tokens.cached_input), row.tokens.cached_input),
        (tokens(row.tokens.output), row.tokens.output),
        (usd(row.cost), row.cost if row.cost is not None else ""),
        (usd(row.monthly), row.monthly if row.monthly is not None else ""),
        _cost_share(row.cost, analysis),
    ]


def _models(analysis: Analysis, charts: dict[str, Chart]) -> Html:
    columns = [
        Column("model"),
        Column("priced as"),
        Column("requests", True),
        Column("input", True),
        Column("cached", True),
        Column("output", True),
        Column("cost", True),
        Column("monthly", True),
        Column("share", True),
    ]
    return section(
        "models",
        "Cost by model",
        chart(charts["cost_by_model"]),
        table(columns, [_model_row(row, analysis) for row in analysis.models], name="models"),
        lead="Each model as logged, the price-table entry it was priced with, and its cost. Unpriced "
        "models count no dollars; the Problems section says how to price them.",
    )


def _group_row(row: CostRow, analysis: Analysis) -> Row:
    return [
        *(value if value is not None else "(none)" for value in row.key),
        (count(row.requests), row.requests),
        (tokens(row.tokens.input), row.tokens.input),
        (tokens(row.tokens.output), row.tokens.output),
        (usd(row.cost), row.cost if row.cost is not None else ""),
        (usd(row.monthly), row.monthly if row.monthly is not None else ""),
        _cost_share(row.cost, analysis),
    ]


def _breakdown_table(breakdown: GroupBreakdown, monthly: bool) -> Html:
    rows: list[Row] = []
    for row in breakdown.rows:
        for part in row.models:
            value = part.monthly if monthly else part.cost
            rows.append(
                [
                    row.value if row.value is not None else "(none)",
                    part.model,
                    (usd(value), value if value is not None else ""),
                ]
            )
    label = "monthly" if monthly else "cost"
    return table(
        [Column(breakdown.key), Column("model"), Column(label, True)],
        rows,
        caption=f"By {breakdown.key} and model",
        name=f"breakdown-{breakdown.key}",
    )


def _groups(analysis: Analysis, charts: dict[str, Chart]) -> Html | None:
    if not analysis.group_by:
        return None
    columns = [
        *(Column(key) for key in analysis.group_by),
        Column("requests", True),
        Column("input", True),
        Column("output", True),
        Column("cost", True),
        Column("monthly", True),
        Column("share", True),
    ]
    parts: list[Child] = []
    monthly = analysis.monthly_cost is not None
    for breakdown in analysis.group_breakdowns:
        slug = f"cost_by_{file_safe(breakdown.key)}"
        if slug in charts:
            parts.append(chart(charts[slug]))
        if len(analysis.group_by) > 1:
            parts.append(_breakdown_table(breakdown, monthly))
    parts.append(
        table(
            columns,
            [_group_row(row, analysis) for row in analysis.groups],
            caption=f"Cost by {', '.join(analysis.group_by)}",
            name="groups",
        )
    )
    if len(analysis.group_by) == 1 and analysis.group_breakdowns:
        parts.append(_breakdown_table(analysis.group_breakdowns[0], monthly))
    return section(
        "groups",
        f"Cost by {', '.join(analysis.group_by)}",
        *parts,
        lead="Each bar is split by model; the value at its end is the bar's total.",
    )


def _timeline(analysis: Analysis, charts: dict[str, Chart]) -> Html | None:
    timeline: CostOverTime | None = analysis.cost_over_time
    if timeline is None:
        return None
    if not timeline.periods:
        return section(
            "time", "Cost over time", el("p", "No timestamps in these logs, so no cost over time.")
        )
    rows: list[Row] = []
    for period in timeline.periods:
        when = period_label(timeline, period, long=True)
        top = period.models[0] if period.models else None
        rows.append(
            [
                (when, period.start.isoformat()),
                (count(period.requests), period.requests),
                (usd(period.cost), period.cost),
                top.model if top is not None else "—",
            ]
        )
    note = (
        f"{count(timeline.undated_requests)} requests have no usable timestamp and are in no {timeline.unit}."
        if timeline.undated_requests
        else None
    )
    return section(
        "time",
        f"Cost per {timeline.unit}",
        chart(charts["cost_over_time"], note),
        table(
            [
                Column(timeline.unit),
                Column("requests", True),
                Column("cost", True),
                Column("largest model"),
            ],
            rows,
            name="cost-over-time",
        ),
        chart(charts["requests_per_hour"]),
        lead=f"What the requests that started in each {timeline.unit} cost"
        + (" (UTC)." if not timeline.relative else ", counted from the start of the trace."),
    )


def _percentile_cells(dist: TokenPercentiles) -> list[Cell]:
    return [
        *((count(dist.percentiles[p]), dist.percentiles[p]) for p in (50, 90, 99)),
        (count(dist.maximum), dist.maximum),
    ]


def _tokens(analysis: Analysis, charts: dict[str, Chart]) -> Html:
    columns = [
        Column("model"),
        Column("requests", True),
        Column("input p50", True),
        Column("p90", True),
        Column("p99", True),
        Column("max", True),
        Column("output p50", True),
        Column("p90", True),
        Column("p99", True),
        Column("max", True),
    ]
    rows = [
        [
            name,
            (count(inputs.requests), inputs.requests),
            *_percentile_cells(inputs),
            *_percentile_cells(analysis.output_tokens[name]),
        ]
        for name, inputs in analysis.input_tokens.items()
    ]
    return section(
        "tokens",
        "Tokens per request",
        chart(charts["tokens_histogram"]),
        table(columns, rows, name="token-percentiles"),
    )


def _complexity(analysis: Analysis, charts: dict[str, Chart]) -> Html:
    report = analysis.complexity
    if not report.scored:
        return section(
            "complexity",
            "Prompt complexity",
            el("p", "No prompt text or complexity column in these logs, so no distribution."),
            _score_worth(),
        )
    ranges = (
        f"< {SIMPLE_BELOW:.2f}",
        f"{SIMPLE_BELOW:.2f} – {COMPLEX_FROM:.2f}",
        f"≥ {COMPLEX_FROM:.2f}",
    )
    rows: list[Row] = []
    for name, score_range in zip(CLASS_NAMES, ranges, strict=True):
        inputs = report.input_by_class[name]
        outputs = report.output_by_class[name]
        rows.append(
            [
                name,
                score_range,
                (count(report.classes[name]), report.classes[name]),
                _share(report.classes[name], report.scored),
                (count(inputs.percentiles[50]), inputs.percentiles[50]),
                (count(inputs.percentiles[90]), inputs.percentiles[90]),
                (count(outputs.percentiles[50]), outputs.percentiles[50]),
            ]
        )
    columns = [
        Column("class"),
        Column("score range"),
        Column("requests", True),
        Column("share", True),
        Column("input p50", True),
        Column("input p90", True),
        Column("output p50", True),
    ]
    scored = f"{count(report.scored)} requests with a prompt were scored"
    if report.unscored:
        scored += f"; {count(report.unscored)} without one were not"
    return section(
        "complexity",
        "Prompt complexity",
        chart(
            charts["complexity_histogram"],
            f"Cut-offs: simple below {SIMPLE_BELOW:.2f}, complex from {COMPLEX_FROM:.2f}. {scored}.",
        ),
        table(columns, rows, name="complexity"),
        el("h3", "What the score is worth"),
        _score_worth(),
    )


def _problems(analysis: Analysis) -> Html:
    if not analysis.problems:
        return section(
            "problems",
            "Problems",
            el("p", el("span", "none", class_="tag good"), " No problems found."),
        )
    rows: list[Row] = []
    for problem in analysis.problems:
        hint = unpriced_hint(problem.detail) if problem.kind == "unpriced_model" else None
        examples = (
            el("ul", *(el("li", el("code", example)) for example in problem.examples[:3]))
            if problem.examples
            else None
        )
        rows.append(
            [
                el(
                    "span",
                    problem.kind,
                    class_="tag warn" if problem.kind in NOTICES else "tag bad",
                ),
                join([problem.detail, el("div", hint, class_="detail") if hint else None]),
                (count(problem.count), problem.count),
                examples if examples is not None else "—",
            ]
        )
    return section(
        "problems",
        "Problems",
        table(
            [Column("kind"), Column("detail"), Column("count", True), Column("first examples")],
            rows,
            name="problems",
        ),
        lead="Records skipped, models without a price, and doubts about prices, with where they happened.",
    )


def analysis_html(analysis: Analysis, sources: Sequence[str] = ()) -> str:
    """The analysis as a self-contained HTML page (charts inline as SVG, no network)."""
    charts = {item.slug: item for item in analysis_charts(analysis)}
    window = window_line(analysis)
    subtitle: list[Child] = [
        join(["Logs: ", ", ".join(sources)]) if sources else None,
        f"Window: {window}",
        f"{records_line(analysis)}",
    ]
    sections = [
        _summary(analysis),
        _models(analysis, charts),
        _groups(analysis, charts),
        _timeline(analysis, charts),
        _tokens(analysis, charts),
        _complexity(analysis, charts),
        _problems(analysis),
    ]
    nav = [
        ("summary", "Summary"),
        ("models", "By model"),
        *([("groups", "By " + ", ".join(analysis.group_by))] if analysis.group_by else []),
        *([("time", "Over time")] if analysis.cost_over_time is not None else []),
        ("tokens", "Tokens"),
        ("complexity", "Complexity"),
        ("problems", f"Problems ({len(analysis.problems)})"),
    ]
    return document("LLM cost audit", subtitle, nav, sections, pricing_footer(analysis.pricing))
