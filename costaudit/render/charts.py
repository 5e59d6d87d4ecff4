"""Every chart costaudit draws, defined once: `--plots` saves them as PNG files and the HTML report
embeds them as inline SVG, so both show the same values, lines and markers.

Charts are drawn from the typed results alone; any figure a chart shows is a field of the result
(rounding for labels is all that happens here). matplotlib is imported only when the first chart is
drawn, with the file-only Agg backend, so commands that draw nothing never load it.
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from costaudit.core.complexity import CLASS_NAMES, COMPLEX_FROM, SIMPLE_BELOW
from costaudit.fileio import write_file
from costaudit.render.money import count, percent, usd
from costaudit.render.safe import plot_text, xml_text

if TYPE_CHECKING:
    from costaudit.core.analysis import Analysis, CostRow
    from costaudit.core.breakdown import CostOverTime, CostPeriod, GroupBreakdown
    from costaudit.core.regress import Comparison, Verdict
    from costaudit.core.simulate.details import (
        HostingDetails,
        PromptCacheDetails,
        ServingDetails,
    )
    from costaudit.core.simulate.engine import ScenarioResult, SimulationResult

PALETTE = (
    "#3366aa",
    "#ee8833",
    "#44aa77",
    "#cc4455",
    "#8866bb",
    "#997755",
    "#dd77bb",
    "#66aacc",
    "#aaaa44",
    "#777777",
)
"""Series colours, readable on white and in greyscale print (one per model, in cost order)."""
BASELINE_GREY = "#8a8f98"
CHEAPER = "#2f9e6e"
DEARER = "#d0493b"
NEUTRAL = "#3366aa"
CLASS_COLOURS = {"simple": "#e3f4ea", "medium": "#fdf3d7", "complex": "#fbe1dd"}
MAX_BARS = 20
"""Bars per chart at most; the report's tables list every row."""

STYLE: dict[str, Any] = {
    "font.size": 9,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#e4e6ea",
    "grid.linewidth": 0.8,
    "legend.frameon": False,
    "legend.fontsize": 8,
    "svg.fonttype": "none",
    "text.parse_math": False,
}
"""One look for every chart. SVG text stays text (searchable, selectable, sharp at any zoom), and `$`
in labels is a dollar sign, never TeX: names from logs must not be parsed as mathematics."""

Draw = Callable[[Any], Any]
"""Given pyplot, returns a drawn Figure."""


@dataclass(frozen=True)
class Chart:
    """One chart: a file-safe name (the PNG's), a caption, and how to draw it."""

    slug: str
    title: str
    draw: Draw


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@contextlib.contextmanager
def _drawn(chart: Chart) -> Iterator[Any]:
    """The chart's figure, drawn and saved under the report style (SVG options apply when saving),
    then closed."""
    import matplotlib

    plt = _pyplot()
    settings: dict[Any, Any] = {**STYLE, "svg.hashsalt": chart.slug}
    with matplotlib.rc_context(settings), warnings.catch_warnings():
        # A name from a log may hold a character the font lacks (a control character before the
        # chart sink shows it, an emoji): it is drawn as a box, which is no reason to warn.
        warnings.filterwarnings(
            "ignore", message="Glyph .* missing from font", category=UserWarning
        )
        figure = chart.draw(plt)
        _show_controls(figure)
        try:
            figure.tight_layout()
            yield figure
        finally:
            plt.close(figure)


def _show_controls(figure: Any) -> None:
    """Every text of the drawn chart (titles, labels, legends, annotations) through the chart sink:
    names from logs and scenario files are drawn in many places, and this reaches all of them."""
    from matplotlib.text import Text
    from matplotlib.ticker import FixedFormatter, FuncFormatter

    for text in figure.findobj(Text):
        shown = text.get_text()
        safe = plot_text(shown)
        if safe != shown:
            text.set_text(safe)
    for ax in figure.axes:  # tick labels given as names are drawn later, from their formatter
        for axis in (ax.xaxis, ax.yaxis):
            for formatter in (axis.get_major_formatter(), axis.get_minor_formatter()):
                if isinstance(formatter, FixedFormatter):
                    formatter.seq = [plot_text(str(label)) for label in formatter.seq]
                elif isinstance(formatter, FuncFormatter):
                    formatter.func = _shown_by(formatter.func)


def _shown_by(label: Callable[..., Any]) -> Callable[..., str]:
    """A tick-label function whose labels go through the chart sink."""
    return lambda *args: plot_text(str(label(*args)))


def write_png(chart: Chart, directory: Path) -> Path:
    """Save the chart as DIRECTORY/<slug>.png (a failure names the file: exit 3)."""
    path = directory / f"{chart.slug}.png"
    with _drawn(chart) as figure:
        write_file(path, lambda handle: figure.savefig(handle, format="png", dpi=120))
    return path


_ID = re.compile(r'\bid="([^"]+)"')


def inline_svg(chart: Chart) -> str:
    """The chart as an `<svg>` element for an HTML page: no XML prologue or metadata, ids prefixed with
    the chart's name (several charts share one page), sized by the page, titled for screen readers."""
    buffer = io.StringIO()
    with _drawn(chart) as figure:
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, flags=re.S)
    for name in set(_ID.findall(svg)):
        svg = svg.replace(f'id="{name}"', f'id="{chart.slug}-{name}"')
        svg = svg.replace(f"url(#{name})", f"url(#{chart.slug}-{name})")
        svg = svg.replace(f'href="#{name}"', f'href="#{chart.slug}-{name}"')
    svg = re.sub(r'^<svg([^>]*?) width="[^"]+" height="[^"]+"', r"<svg\1", svg, count=1)
    return svg.replace("<svg", '<svg role="img" class="chart"', 1).replace(
        ">", f">\n <title>{_xml_text(chart.title)}</title>", 1
    )


def _xml_text(text: str) -> str:
    return xml_text(text)


def file_safe(name: str) -> str:
    """A name from a log or scenario file as a file name part (letters, digits, - and _ only)."""
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name).strip("-") or "chart"


# ---------------------------------------------------------------------------------------- helpers


def _money_axis(axis: Any) -> None:
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda value, _pos: _short_usd(value)))


def _log_axis(axis: Any, label: Callable[[float], str]) -> None:
    """A log-scale axis labelled in plain numbers (matplotlib's default writes TeX powers of ten)."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    axis.set_major_formatter(FuncFormatter(lambda value, _pos: label(value)))
    axis.set_minor_formatter(NullFormatter())


def _plain(value: float) -> str:
    return f"{value:,.10g}"


def _short_usd(value: float) -> str:
    size = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            return f"${value / limit:,.3g}{suffix}"
    if size < 10:
        return f"${value:.3g}"
    return f"${value:,.0f}"


def _bar_height(bars: int) -> float:
    return max(2.6, 0.42 * bars + 1.3)


def _label_bars(ax: Any, ends: Sequence[float], rows: Sequence[int], labels: Sequence[str]) -> None:
    """A value at the end of each horizontal bar, and room on the right for it."""
    right = max([*ends, 0.0])
    for end, row, label in zip(ends, rows, labels, strict=True):
        ax.annotate(
            label,
            (max(end, 0.0), row),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    ax.set_xlim(0, right * 1.32 if right > 0 else 1)


def model_colours(models: Sequence[str]) -> dict[str, str]:
    """A stable colour per model name (the order given: biggest cost first)."""
    return {model: PALETTE[index % len(PALETTE)] for index, model in enumerate(models)}


def _value(row_monthly: Decimal | None, row_cost: Decimal | None, monthly: bool) -> float:
    chosen = row_monthly if monthly else row_cost
    return float(chosen or 0)


# --------------------------------------------------------------------------------------- analysis


def analysis_charts(analysis: Analysis) -> list[Chart]:
    """Cost by model, by each group key and over time; tokens per request; complexity; hourly load."""
    colours = model_colours([str(row.key[0]) for row in analysis.models])
    charts = [Chart("cost_by_model", "Cost by model", lambda plt: _cost_by_model(plt, analysis))]
    charts += [
        Chart(
            f"cost_by_{file_safe(breakdown.key)}",
            f"Cost by {breakdown.key}, split by model",
            functools.partial(
                _cost_by_group,
                breakdown=breakdown,
                colours=colours,
                monthly_total=analysis.monthly_cost,
            ),
        )
        for breakdown in analysis.group_breakdowns
    ]
    timeline = analysis.cost_over_time
    if timeline is not None and timeline.periods:
        charts.append(
            Chart(
                "cost_over_time",
                f"Cost per {timeline.unit}",
                lambda plt: _cost_over_time(plt, timeline, colours),
            )
        )
    charts += [
        Chart("tokens_histogram", "Tokens per request", lambda plt: _tokens(plt, analysis)),
        Chart(
            "complexity_histogram",
            "Prompt complexity",
            lambda plt: _complexity(plt, analysis),
        ),
        Chart("requests_per_hour", "Requests per hour", lambda plt: _hourly(plt, analysis)),
    ]
    return charts


def _cost_unit(monthly: bool) -> str:
    return "USD per month" if monthly else "USD over the observed window"


def _cost_by_model(plt: Any, analysis: Analysis) -> Any:
    monthly = analysis.monthly_cost is not None
    priced: list[CostRow] = [row for row in analysis.models if row.cost is not None][:MAX_BARS]
    fig, ax = plt.subplots(figsize=(8, _bar_height(len(priced))))
    colours = model_colours([str(row.key[0]) for row in analysis.models])
    values = [_value(row.monthly, row.cost, monthly) for row in priced]
    positions = list(range(len(priced)))
    ax.barh(positions, values, color=[colours[str(row.key[0])] for row in priced], height=0.62)
    ax.set_yticks(positions, [str(row.key[0]) for row in priced])
    ax.invert_yaxis()
    total = analysis.total_cost
    labels = [
        f"{usd(row.monthly if monthly else row.cost)}"
        + (f"  ({percent(float(row.cost / total))})" if total and row.cost is not None else "")
        for row in priced
    ]
    _label_bars(ax, values, positions, labels)
    _money_axis(ax.xaxis)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(_cost_unit(monthly))
    unpriced = analysis.records_unpriced
    note = f" — {count(unpriced)} unpriced requests not shown" if unpriced else ""
    ax.set_title(f"Cost by model{note}")
    return fig


def _cost_by_group(
    plt: Any, breakdown: GroupBreakdown, colours: dict[str, str], monthly_total: Decimal | None
) -> Any:
    monthly = monthly_total is not None
    rows = breakdown.rows[:MAX_BARS]
    fig, ax = plt.subplots(figsize=(8, _bar_height(len(rows))))
    positions = list(range(len(rows)))
    left = [0.0] * len(rows)
    shown: set[str] = set()
    for position, row in zip(positions, rows, strict=True):
        for part in row.models:
            width = _value(part.monthly, part.cost, monthly)
            ax.barh(
                position,
                width,
                left=left[position],
                color=colours.get(part.model, BASELINE_GREY),
                height=0.62,
                label=part.model if part.model not in shown else None,
            )
            shown.add(part.model)
            left[position] += width
    ax.set_yticks(positions, [row.value if row.value is not None else "(none)" for row in rows])
    ax.invert_yaxis()
    _label_bars(ax, left, positions, [usd(row.monthly if monthly else row.cost) for row in rows])
    _money_axis(ax.xaxis)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(_cost_unit(monthly))
    more = len(breakdown.rows) - len(rows)
    ax.set_title(
        f"Cost by {breakdown.key}"
        + (f" (top {len(rows)}; {more} more in the table)" if more else "")
    )
    if shown:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), title="model", title_fontsize=8)
    return fig


def period_label(timeline: CostOverTime, period: CostPeriod, *, long: bool = False) -> str:
    """`Mon 11-16` or `11-16 14:00` (UTC); `day 3` or `hour 7` of a trace with relative times."""
    if timeline.relative:
        width = 3600 if timeline.unit == "hour" else 86400
        return f"{timeline.unit} {int(period.start.timestamp()) // width + 1}"
    if long:
        return period.start.strftime(
            "%Y-%m-%d %H:00" if timeline.unit == "hour" else "%Y-%m-%d (%a)"
        )
    return period.start.strftime("%m-%d %H:00" if timeline.unit == "hour" else "%a %m-%d")


def _period_labels(timeline: CostOverTime) -> list[str]:
    return [period_label(timeline, period) for period in timeline.periods]


def _cost_over_time(plt: Any, timeline: CostOverTime, colours: dict[str, str]) -> Any:
    periods = timeline.periods
    fig, ax = plt.subplots(figsize=(8, 3.8))
    positions = list(range(len(periods)))
    bottom = [0.0] * len(periods)
    shown: set[str] = set()
    for model in colours:
        heights = [
            next((float(part.cost) for part in period.models if part.model == model), 0.0)
            for period in periods
        ]
        if not any(heights):
            continue
        ax.bar(positions, heights, bottom=bottom, color=colours[model], width=0.75, label=model)
        shown.add(model)
        bottom = [low + high for low, high in zip(bottom, heights, strict=True)]
    labels = _period_labels(timeline)
    step = max(1, len(periods) // 12)
    ax.set_xticks(positions[::step], labels[::step], rotation=30, ha="right")
    if len(periods) <= 31:
        for position, period in zip(positions, periods, strict=True):
            ax.annotate(
                usd(period.cost),
                (position, float(period.cost)),
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                fontsize=7,
            )
    _money_axis(ax.yaxis)
    ax.set_ylim(0, max([*bottom, 0.0]) * 1.15 or 1)
    ax.grid(axis="x", visible=False)
    ax.set_ylabel(f"USD per {timeline.unit}")
    ax.set_title(
        f"Cost per {timeline.unit}"
        + (" (since the trace started)" if timeline.relative else " (UTC)")
    )
    if shown:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), title="model", title_fontsize=8)
    return fig


def _tokens(plt: Any, analysis: Analysis) -> Any:
    fig, ax = plt.subplots(figsize=(8, 3.8))
    colours = {"input": PALETTE[0], "output": PALETTE[1]}
    every = {
        "input": analysis.input_tokens.get("(all)"),
        "output": analysis.output_tokens.get("(all)"),
    }
    for name, hist in analysis.token_histograms.items():
        colour = colours.get(name, PALETTE[2])
        dist = every.get(name)
        marks = ((50, "-"), (90, "--"), (99, ":")) if dist is not None and dist.requests else ()
        summary = " · ".join(
            f"p{point} {count(dist.percentiles[point])}" for point, _ in marks if dist
        )
        ax.stairs(
            hist.counts,
            hist.edges,
            label=f"{name} tokens" + (f" ({summary})" if summary else ""),
            color=colour,
            linewidth=1.6,
        )
        for point, style in marks:
            value = dist.percentiles[point] if dist else 1.0
            ax.axvline(max(value, 1.0), color=colour, linestyle=style, linewidth=0.9, alpha=0.8)
    ax.set_xscale("log")
    _log_axis(ax.xaxis, _plain)
    ax.set_xlabel("tokens per request (log scale); lines: p50 solid, p90 dashed, p99 dotted")
    ax.set_ylabel("requests")
    ax.set_title("Tokens per request")
    ax.legend(loc="upper left")
    return fig


def _complexity(plt: Any, analysis: Analysis) -> Any:
    report = analysis.complexity
    fig, ax = plt.subplots(figsize=(8, 3.8))
    bins = len(report.histogram)
    bounds = (0.0, SIMPLE_BELOW, COMPLEX_FROM, 1.0)
    for index, name in enumerate(CLASS_NAMES):
        share = report.classes[name] / report.scored if report.scored else None
        ax.axvspan(bounds[index], bounds[index + 1], color=CLASS_COLOURS[name], zorder=0)
        ax.annotate(
            f"{name}\n{percent(share)} ({count(report.classes[name])})",
            ((bounds[index] + bounds[index + 1]) / 2, 0.97),
            xycoords=("data", "axes fraction"),
            ha="center",
            va="top",
            fontsize=8,
        )
    for cut in (SIMPLE_BELOW, COMPLEX_FROM):
        ax.axvline(cut, color="#555555", linestyle="--", linewidth=1)
    ax.set_xticks(
        [0.0, SIMPLE_BELOW, COMPLEX_FROM, 1.0],
        ["0", f"cut-off {SIMPLE_BELOW:.2f}", f"cut-off {COMPLEX_FROM:.2f}", "1"],
    )
    ax.set_xticks([index / bins for index in range(bins + 1)], minor=True)
    lefts = [index / bins for index in range(bins)]
    bars = ax.bar(lefts, report.histogram, width=1 / bins * 0.9, align="edge", color=NEUTRAL)
    ax.bar_label(
        bars, labels=[count(value) if value else "" for value in report.histogram], fontsize=7
    )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, max([*report.histogram, 1]) * 1.35)
    ax.grid(axis="x", visible=False)
    ax.set_xlabel("complexity score (from the prompt)")
    ax.set_ylabel("requests")
    unscored = f"; {count(report.unscored)} without a prompt" if report.unscored else ""
    ax.set_title(f"Prompt complexity ({count(report.scored)} scored{unscored})")
    return fig


def _hourly(plt: Any, analysis: Analysis) -> Any:
    fig, ax = plt.subplots(figsize=(8, 3.4))
    values = [value for _, value in analysis.hourly_requests]
    relative = analysis.window.start is None
    if relative:
        # Trace times count from the start of the trace: hours since then, not dates.
        hours: list[Any] = [int(hour.timestamp()) // 3600 for hour, _ in analysis.hourly_requests]
        width: float = 1.0
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("hours since the trace started")
    else:
        hours = [hour for hour, _ in analysis.hourly_requests]
        width = 1 / 24
    if hours:
        ax.bar(hours, values, width=width, align="edge", color=NEUTRAL, linewidth=0)
        if not relative:
            fig.autofmt_xdate()
    else:
        ax.text(0.5, 0.5, "no timestamps", ha="center", va="center", transform=ax.transAxes)
    ax.grid(axis="x", visible=False)
    ax.set_ylabel("requests per hour")
    ax.set_title("Requests per hour" + ("" if relative else " (UTC)"))
    return fig


# ------------------------------------------------------------------------------------- simulation


def simulation_charts(result: SimulationResult, prefix: str = "") -> list[Chart]:
    """Monthly cost per scenario against the baseline; per scenario, the routing curve, the prompt-cache
    hit rate and band, and the self-hosting break-even sweep when the scenario has them."""
    charts = [
        Chart(
            f"{prefix}monthly_cost_by_scenario",
            "Monthly cost by scenario",
            lambda plt: _scenarios(plt, result),
        )
    ]
    for scenario in result.scenarios:
        name = file_safe(scenario.name)
        if scenario.curve:
            charts.append(
                Chart(
                    f"{prefix}routing_curve_{name}",
                    f"{scenario.name}: routing cost and quality",
                    functools.partial(
                        _routing_curve, scenario=scenario, baseline=result.baseline.monthly_usd
                    ),
                )
            )
        cache = scenario.details.prompt_cache
        if cache is not None and cache.ttl_curve:
            charts.append(
                Chart(
                    f"{prefix}cache_hit_rate_vs_ttl_{name}",
                    f"{scenario.name}: prompt-cache hit rate",
                    functools.partial(_cache, scenario=scenario, cache=cache),
                )
            )
        fleet = scenario.details.fleet()
        if fleet is not None and fleet.break_even is not None:
            charts.append(
                Chart(
                    f"{prefix}break_even_{name}",
                    f"{scenario.name}: when self-hosting pays off",
                    functools.partial(_break_even, scenario=scenario, hosting=fleet),
                )
            )
        if fleet is not None and fleet.serving is not None:
            charts += _serving_charts(scenario, fleet, f"{prefix}", name)
    return charts


def _serving_charts(
    scenario: ScenarioResult, fleet: HostingDetails, prefix: str, name: str
) -> list[Chart]:
    """The replay's charts: the SLO search's cost-latency frontier, the batch-size sweep, and the
    GPU busy share over the window."""
    serving = fleet.serving
    assert serving is not None
    charts = []
    if serving.search is not None and serving.search.options:
        charts.append(
            Chart(
                f"{prefix}serving_frontier_{name}",
                f"{scenario.name}: monthly cost against p99 latency",
                functools.partial(_frontier, scenario=scenario, serving=serving),
            )
        )
    if serving.sweep:
        charts.append(
            Chart(
                f"{prefix}batch_sweep_{name}",
                f"{scenario.name}: throughput, latency and price by batch size",
                functools.partial(_batch_sweep, scenario=scenario, serving=serving),
            )
        )
    if serving.busy.bins:
        charts.append(
            Chart(
                f"{prefix}gpu_busy_{name}",
                f"{scenario.name}: GPU busy share over the window",
                functools.partial(_gpu_busy, scenario=scenario, serving=serving),
            )
        )
    return charts


def _frontier(plt: Any, scenario: ScenarioResult, serving: ServingDetails) -> Any:
    search = serving.search
    assert search is not None
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    options = [o for o in search.options if o.e2e_s.p99 is not None]
    for meets, colour, label in ((True, CHEAPER, "meets the SLO"), (False, DEARER, "misses it")):
        chosen = [o for o in options if o.meets_slo is meets]
        if chosen:
            ax.scatter(
                [float(o.monthly_usd) for o in chosen],
                [o.e2e_s.p99 or 0.0 for o in chosen],
                color=colour,
                s=28,
                label=label,
                zorder=3,
            )
    frontier = [o for o in options if o.on_frontier]
    if frontier:
        ax.step(
            [float(o.monthly_usd) for o in frontier],
            [o.e2e_s.p99 or 0.0 for o in frontier],
            where="post",
            color=NEUTRAL,
            linewidth=1,
            label="frontier",
        )
    for option in options:
        if option.on_frontier:
            ax.annotate(
                f"{option.replicas}× {option.gpu} {option.precision}/{option.max_batch}",
                (float(option.monthly_usd), option.e2e_s.p99 or 0.0),
                xytext=(4, 4),
                textcoords="offset points",
                fontsize=7,
            )
    _money_axis(ax.xaxis)
    ax.set_xlabel("USD per month (replayed fleet)")
    ax.set_ylabel("p99 end-to-end latency (s)")
    ax.set_title(f"{scenario.name}: monthly cost against p99 latency")
    ax.legend(loc="upper right")
    return fig


def _batch_sweep(plt: Any, scenario: ScenarioResult, serving: ServingDetails) -> Any:
    points = serving.sweep or []
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.8))
    batches = [p.batch for p in points]
    left.plot(batches, [p.output_tokens_per_s for p in points], marker="o", color=NEUTRAL)
    left.set_ylabel("output tokens/s (one replica)", color=NEUTRAL)
    latency = left.twinx()
    latency.plot(
        batches, [p.tpot_s * 1000 for p in points], marker="s", color=PALETTE[1], linestyle="--"
    )
    latency.set_ylabel("time per output token (ms)", color=PALETTE[1])
    latency.grid(visible=False)
    right.plot(batches, [float(p.usd_per_output_mtok) for p in points], marker="o", color=CHEAPER)
    right.set_ylabel("USD per 1M output tokens, kept this busy")
    for axis in (left, right):
        axis.set_xscale("log", base=2)
        _log_axis(axis.xaxis, _plain)
        axis.set_xlabel("concurrent sequences (batch)")
    right.set_ylim(bottom=0)
    _money_axis(right.yaxis)
    left.set_title("Throughput and latency")
    right.set_title("Price per token")
    fig.suptitle(
        f"{scenario.name}: one {serving.gpu} replica ({serving.precision}) by batch size",
        fontsize=11,
        fontweight="bold",
    )
    return fig


def _gpu_busy(plt: Any, scenario: ScenarioResult, serving: ServingDetails) -> Any:
    busy = serving.busy
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    hours = [index * busy.bin_seconds / 3600 for index in range(len(busy.bins))]
    ax.fill_between(hours, busy.bins, step="post", color=NEUTRAL, alpha=0.35)
    ax.step(hours, busy.bins, where="post", color=NEUTRAL, linewidth=1)
    from matplotlib.ticker import PercentFormatter

    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("hours from the start of the window")
    ax.set_ylabel("share of time a step runs")
    ax.set_title(
        f"{scenario.name}: GPU busy share, {serving.replicas} replica"
        f"{'s' if serving.replicas != 1 else ''} (mean {percent(busy.mean, 0)})"
    )
    return fig


def _scenario_colour(scenario: ScenarioResult, baseline: str) -> str:
    if scenario.name == baseline or scenario.savings_usd is None or not scenario.savings_usd:
        return BASELINE_GREY
    return CHEAPER if scenario.savings_usd > 0 else DEARER


def _scenario_label(scenario: ScenarioResult, baseline: str) -> str:
    text = usd(scenario.monthly_usd)
    if scenario.name == baseline:
        return f"{text}  (baseline)"
    if scenario.savings_pct is not None and scenario.savings_usd is not None:
        word = "saves" if scenario.savings_usd > 0 else "costs"
        return (
            f"{text}  ({word} {usd(abs(scenario.savings_usd))}, {abs(scenario.savings_pct):.1f}%)"
        )
    return text


def _scenarios(plt: Any, result: SimulationResult) -> Any:
    priced = [s for s in result.scenarios if s.monthly_usd is not None][:MAX_BARS]
    fig, ax = plt.subplots(figsize=(8.5, _bar_height(len(priced))))
    positions = list(range(len(priced)))
    values = [float(s.monthly_usd or 0) for s in priced]
    baseline = result.baseline.name
    ax.barh(positions, values, color=[_scenario_colour(s, baseline) for s in priced], height=0.62)
    ends = list(values)
    for position, scenario in zip(positions, priced, strict=True):
        spread = scenario.percentiles
        if spread is not None:
            ax.errorbar(
                float(spread.p50),
                position,
                xerr=[[float(spread.p50 - spread.p10)], [float(spread.p90 - spread.p50)]],
                fmt="none",
                ecolor="black",
                capsize=3,
                linewidth=1,
            )
            ends[position] = max(ends[position], float(spread.p90))
        band = scenario.cache_band_usd
        if band is not None and band.low is not None and band.high is not None:
            ax.plot(
                [float(band.high), float(band.low)],
                [position + 0.38] * 2,
                color="black",
                linewidth=2,
            )
            ends[position] = max(ends[position], float(band.low), float(band.high))
    ax.set_yticks(positions, [s.name for s in priced])
    ax.invert_yaxis()
    _label_bars(ax, ends, positions, [_scenario_label(s, baseline) for s in priced])
    if result.baseline.monthly_usd is not None:
        ax.axvline(float(result.baseline.monthly_usd), color="#333333", linestyle="--", linewidth=1)
        ax.annotate(
            f"baseline {usd(result.baseline.monthly_usd)}",
            (float(result.baseline.monthly_usd), 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(3, -10),
            textcoords="offset points",
            fontsize=7,
        )
    _money_axis(ax.xaxis)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(
        "USD per month (whiskers: P10–P90 of the ranges; black line: prompt-cache hit-rate band)"
    )
    ax.set_title("Monthly cost by scenario")
    return fig


def _routing_curve(plt: Any, scenario: ScenarioResult, baseline: Decimal | None) -> Any:
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    curve = scenario.curve or []
    routing = scenario.details.routing
    quality = routing.quality if routing is not None else None
    strong_share = routing.tiers[-1].share if routing is not None and routing.tiers else None
    shares = [point.strong_share for point in curve]
    costs = [float(point.monthly_usd or 0) for point in curve]
    labelled = all(point.quality is not None for point in curve)
    if labelled:
        qualities = [float(point.quality or 0) for point in curve]
        ax.plot(costs, qualities, marker="o", color=NEUTRAL, markersize=4)
        for share, cost, value in zip(shares, costs, qualities, strict=True):
            ax.annotate(
                f"{share:.0%}",
                (cost, value),
                xytext=(4, -10),
                textcoords="offset points",
                fontsize=7,
            )
        if quality is not None and scenario.monthly_usd is not None:
            ax.plot(
                float(scenario.monthly_usd),
                quality.quality,
                marker="*",
                markersize=15,
                color=DEARER,
                linestyle="none",
                label=f"this scenario: {percent(strong_share, 0)} strong, {usd(scenario.monthly_usd)}, quality {quality.quality:.3f}",
            )
        if baseline is not None:
            ax.axvline(
                float(baseline),
                color="#333333",
                linestyle="--",
                linewidth=1,
                label=f"baseline {usd(baseline)}",
            )
        _money_axis(ax.xaxis)
        ax.set_xlabel("USD per month (point labels: share sent to the strong model)")
        ax.set_ylabel("quality (share of requests answered well)")
        ax.set_title(f"{scenario.name}: cost against quality")
    else:
        ax.plot(shares, costs, marker="o", color=NEUTRAL, markersize=4)
        if strong_share is not None and scenario.monthly_usd is not None:
            ax.plot(
                strong_share,
                float(scenario.monthly_usd),
                marker="*",
                markersize=15,
                color=DEARER,
                linestyle="none",
                label=f"this scenario: {percent(strong_share, 0)} strong, {usd(scenario.monthly_usd)}",
            )
        if baseline is not None:
            ax.axhline(
                float(baseline),
                color="#333333",
                linestyle="--",
                linewidth=1,
                label=f"baseline {usd(baseline)}",
            )
        _money_axis(ax.yaxis)
        ax.set_xlabel(
            "share of requests sent to the strong model (no quality labels in this workload)"
        )
        ax.set_ylabel("USD per month")
        ax.set_title(f"{scenario.name}: cost by strong-model share")
    ax.legend(loc="best")
    return fig


def _cache(plt: Any, scenario: ScenarioResult, cache: PromptCacheDetails) -> Any:
    fig, ax = plt.subplots(figsize=(7.5, 4))
    band = cache.hit_rate
    ax.axhspan(
        band.low,
        band.high,
        color=CLASS_COLOURS["simple"],
        label=f"hit-rate band {percent(band.low, 0)}–{percent(band.high, 0)}",
    )
    ax.axhline(
        band.central, color=CHEAPER, linewidth=1.2, label=f"central {percent(band.central, 1)}"
    )
    if cache.observed_hit_rate is not None:
        ax.axhline(
            cache.observed_hit_rate,
            color=DEARER,
            linestyle=":",
            linewidth=1.2,
            label=f"logged {percent(cache.observed_hit_rate, 1)}",
        )
    finite = [point for point in cache.ttl_curve if point.ttl_s is not None]
    minutes = [(point.ttl_s or 0) / 60 for point in finite]
    ax.plot(
        minutes,
        [point.hit_rate for point in finite],
        marker="o",
        color=NEUTRAL,
        markersize=4,
        label="hit rate at each TTL",
    )
    infinite = [point for point in cache.ttl_curve if point.ttl_s is None]
    if infinite:
        ax.axhline(
            infinite[0].hit_rate,
            linestyle="--",
            color=BASELINE_GREY,
            linewidth=1,
            label="no expiry",
        )
    if minutes:
        ax.set_xscale("log")
        _log_axis(ax.xaxis, _plain)
    from matplotlib.ticker import PercentFormatter

    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylim(0, max(band.high, *(point.hit_rate for point in cache.ttl_curve), 0.05) * 1.15)
    ax.set_xlabel("cache TTL (minutes, log scale)")
    ax.set_ylabel("share of input tokens read from cache")
    ax.set_title(f"{scenario.name}: prompt-cache hit rate")
    ax.legend(loc="lower right")
    return fig


def _break_even(plt: Any, scenario: ScenarioResult, hosting: HostingDetails) -> Any:
    sweep = hosting.break_even
    assert sweep is not None
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    volumes = [point.requests_per_day for point in sweep.points]
    ax.plot(
        volumes,
        [float(p.api_monthly_usd) for p in sweep.points],
        color=NEUTRAL,
        label="API (what these requests cost now)",
    )
    ax.plot(
        volumes,
        [float(p.self_hosted_monthly_usd) for p in sweep.points],
        color=PALETTE[1],
        label=f"self-hosted on {hosting.gpu} ({hosting.pricing.replace('_', '-')})",
    )
    if sweep.requests_per_day:
        ax.axvline(sweep.requests_per_day, linestyle="--", color=BASELINE_GREY, linewidth=1)
        ax.annotate(
            f"break-even ≈ {count(sweep.requests_per_day)} req/day",
            (sweep.requests_per_day, 0.02),
            xycoords=("data", "axes fraction"),
            rotation=90,
            xytext=(-10, 0),
            textcoords="offset points",
            fontsize=7,
            va="bottom",
        )
    now = sweep.current_requests_per_day
    if now:
        ax.axvline(now, color=DEARER, linewidth=1.5)
        ax.annotate(
            f"now ≈ {count(now)} req/day",
            (now, 0.98),
            xycoords=("data", "axes fraction"),
            rotation=90,
            xytext=(3, 0),
            textcoords="offset points",
            fontsize=7,
            va="top",
            color=DEARER,
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    _log_axis(ax.xaxis, _plain)
    _log_axis(ax.yaxis, _short_usd)
    ax.set_xlabel("requests per day (same daily shape)")
    ax.set_ylabel("USD per month")
    replicas = f"{hosting.replicas} replica{'s' if hosting.replicas != 1 else ''}"
    ax.set_title(
        f"{scenario.name}: when self-hosting pays off\n"
        f"today {replicas} × {hosting.devices_per_replica} {hosting.gpu}, "
        f"utilisation {percent(hosting.utilization, 0)}",
        fontsize=10,
    )
    ax.legend(loc="upper left")
    return fig


# ------------------------------------------------------------------------------------------ check


def movers(verdict: Verdict) -> list[Comparison]:
    """Scenarios in the order a reader should look at them: failures first, then the biggest moves."""
    return sorted(
        verdict.comparisons,
        key=lambda c: (
            c.status not in {"regression", "over_budget"},
            -abs(c.delta_usd) if c.delta_usd is not None else Decimal(0),
        ),
    )


def check_charts(verdict: Verdict) -> list[Chart]:
    """Each scenario's monthly cost in the baseline and now, biggest moves first."""
    return [
        Chart(
            "check_baseline_vs_now",
            "Monthly cost: baseline and now",
            lambda plt: _check(plt, verdict),
        )
    ]


def _check(plt: Any, verdict: Verdict) -> Any:
    rows = movers(verdict)[:MAX_BARS]
    fig, ax = plt.subplots(figsize=(8.5, _bar_height(len(rows)) + 0.4))
    positions = list(range(len(rows)))
    before = [float(c.before or 0) for c in rows]
    after = [float(c.after or 0) for c in rows]
    ax.barh(
        [p - 0.19 for p in positions], before, height=0.36, color=BASELINE_GREY, label="baseline"
    )
    colours = [
        DEARER
        if c.status in {"regression", "over_budget"}
        else CHEAPER
        if (c.delta_usd or 0) < 0
        else NEUTRAL
        for c in rows
    ]
    ax.barh([p + 0.19 for p in positions], after, height=0.36, color=colours, label="now")
    ax.set_yticks(positions, [c.name for c in rows])
    ax.invert_yaxis()
    labels = [_move_label(c) for c in rows]
    _label_bars(ax, [max(b, a) for b, a in zip(before, after, strict=True)], positions, labels)
    _money_axis(ax.xaxis)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("USD per month (grey: baseline; colour: now)")
    ax.set_title("Monthly cost: baseline and now")
    ax.legend(loc="lower right")
    return fig


def _move_label(comparison: Comparison) -> str:
    delta = comparison.delta_usd
    if comparison.after is None:
        return "removed"
    if delta is None:
        return f"{usd(comparison.after)} (new)"
    pct = comparison.delta_pct
    shown = f", {pct:+.1f}%" if pct is not None else ""
    sign = "+" if delta > 0 else "−" if delta < 0 else "±"
    return f"{usd(comparison.after)} ({sign}{usd(abs(delta))}{shown})"
