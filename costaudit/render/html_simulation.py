"""`costaudit simulate --output html`: every scenario against the baseline, as one self-contained page.

The check report (html_check.py) reuses these sections for the run it checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from costaudit.core.simulate.details import (
    BatchingDetails,
    FineTuneDetails,
    HostingDetails,
    PromptCacheDetails,
    ResponseCacheDetails,
    RoutingDetails,
)
from costaudit.core.simulate.engine import ScenarioResult, SimulationResult
from costaudit.render import serving as serving_view
from costaudit.render.charts import Chart, file_safe, simulation_charts
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
    facts,
    figure_value,
    join,
    pricing_footer,
    section,
    table,
)
from costaudit.render.money import count, days, percent, signed_usd, tokens, usd
from costaudit.render.simulation import key_figure, workload_text


def _money_cell(value: Decimal | None) -> Cell:
    return (usd(value), value if value is not None else "")


def _delta_cells(scenario: ScenarioResult) -> tuple[Cell, Cell]:
    if scenario.savings_usd is None:
        return "—", "—"
    change = -scenario.savings_usd
    tone = "bad" if change > 0 else "good" if change < 0 else None
    pct = scenario.savings_pct
    pct_text = "—" if pct is None else f"{-pct:+.1f}%".replace("-", "−")
    return (
        (el("span", signed_usd(change), class_=tone), change),
        (el("span", pct_text, class_=tone), -pct if pct is not None else ""),
    )


def _spread(scenario: ScenarioResult) -> str:
    parts = []
    if scenario.percentiles is not None:
        parts.append(f"P10–P90 {usd(scenario.percentiles.p10)}–{usd(scenario.percentiles.p90)}")
    band = scenario.cache_band_usd
    if band is not None and band.low is not None and band.high is not None:
        parts.append(f"cache band {usd(band.high)}–{usd(band.low)}")
    return "; ".join(parts) or "—"


def _comparison_row(scenario: ScenarioResult, baseline: str) -> Row:
    delta, pct = _delta_cells(scenario)
    name: Child = scenario.name
    if scenario.name == baseline:
        name = join([scenario.name, " ", el("span", "baseline", class_="tag")])
    return [
        name,
        ", ".join(scenario.strategies) or "—",
        (
            figure_value(
                "scenario-monthly",
                usd(scenario.monthly_usd),
                scenario.monthly_usd,
                inline=True,
                data_scenario=scenario.name,
            ),
            scenario.monthly_usd if scenario.monthly_usd is not None else "",
        ),
        delta,
        pct,
        _money_cell(scenario.usd_per_1k_requests),
        _money_cell(scenario.usd_per_mtok),
        _spread(scenario),
        key_figure(scenario),
    ]


COMPARISON_COLUMNS = [
    Column("scenario"),
    Column("strategies"),
    Column("monthly", True),
    Column("Δ vs baseline", True),
    Column("Δ %", True),
    Column("$/1k req", True),
    Column("$/1M tok", True),
    Column("range"),
    Column("key figure"),
]


def _cards(result: SimulationResult) -> Html:
    priced = [s for s in result.scenarios if s.monthly_usd is not None]
    cheapest = min(priced, key=lambda s: s.monthly_usd or Decimal(0), default=None)
    workload = result.workload
    cards: list[Child] = [
        card(
            "Baseline",
            figure_value(
                "baseline-monthly", usd(result.baseline.monthly_usd), result.baseline.monthly_usd
            ),
            f"{result.baseline.name}, per month",
            main=True,
        )
    ]
    if cheapest is not None:
        saving = (
            f"saves {usd(cheapest.savings_usd)} ({cheapest.savings_pct:.1f}%)"
            if cheapest.savings_usd is not None
            and cheapest.savings_pct is not None
            and cheapest.savings_usd > 0
            else "no saving against the baseline"
        )
        cards.append(
            card(
                "Cheapest",
                figure_value("cheapest-monthly", usd(cheapest.monthly_usd), cheapest.monthly_usd),
                join([el("strong", cheapest.name), f": {saving}"]),
            )
        )
    cards += [
        card(
            "Workload",
            figure_value("workload-requests", count(workload.requests), workload.requests),
            f"requests over {days(workload.days) if workload.days is not None else 'an unknown window'}",
        ),
        card(
            "Scenarios",
            figure_value("scenarios", count(len(result.scenarios)), len(result.scenarios)),
            "compared side by side",
        ),
    ]
    return el("div", *cards, class_="cards")


# ------------------------------------------------------------------------------------ strategies


def _routing(
    detail: RoutingDetails, scenario: ScenarioResult, charts: dict[str, Chart], prefix: str
) -> list[Child]:
    tiers = table(
        [
            Column("tier"),
            Column("model"),
            Column("share", True),
            Column("requests", True),
            Column("score up to", True),
        ],
        [
            [
                str(index + 1),
                tier.model,
                (percent(tier.share), tier.share),
                (count(tier.requests), tier.requests),
                (
                    f"{tier.max_score:.3f}" if tier.max_score is not None else "—",
                    tier.max_score if tier.max_score is not None else "",
                ),
            ]
            for index, tier in enumerate(detail.tiers)
        ],
        caption=f"Routing ({detail.mode}): where requests went",
    )
    figures: list[tuple[str, Child]] = [
        ("escalated requests", count(detail.escalated_requests)),
        ("router overhead", usd(detail.router_overhead_usd)),
        ("routed at random (no score)", count(detail.randomly_routed)),
    ]
    quality = detail.quality
    if quality is not None:
        figures += [
            (
                "quality from",
                "per-request labels"
                if quality.source == "labels"
                else "scores in the scenario file",
            ),
            ("quality", f"{quality.quality:.3f}"),
            ("quality retained", percent(quality.quality_retained)),
        ]
        figures += [
            (label, f"{value:.3f}")
            for label, value in (
                ("APGR", quality.apgr),
                ("APGR of a random router", quality.random_apgr),
                ("CPT(50%)", quality.cpt50),
                ("CPT(80%)", quality.cpt80),
            )
            if value is not None
        ]
    parts: list[Child] = [tiers, facts(figures, "Routing")]
    slug = f"{prefix}routing_curve_{file_safe(scenario.name)}"
    if slug in charts:
        labelled = quality is not None and quality.source == "labels"
        note = (
            "Each point is this scenario with another share of requests sent to the strong model; the star "
            "is the scenario as configured."
            + (
                ""
                if labelled
                else " Without quality labels in the workload there is no quality axis."
            )
        )
        parts.append(chart(charts[slug], note))
    return parts


def _response_cache(detail: ResponseCacheDetails) -> list[Child]:
    return [
        facts(
            [
                ("hit rate", percent(detail.hit_rate)),
                ("exact duplicates", percent(detail.exact_duplicate_rate)),
                ("near duplicates (assumed)", percent(detail.near_duplicate_rate)),
                ("requests answered from the cache", count(detail.requests_answered)),
                ("TTL", "none" if detail.ttl_s is None else f"{detail.ttl_s:g} s"),
            ],
            "Response cache",
        )
    ]


def _prompt_cache(
    detail: PromptCacheDetails, scenario: ScenarioResult, charts: dict[str, Chart], prefix: str
) -> list[Child]:
    band = detail.hit_rate
    figures: list[tuple[str, Child]] = [
        (
            "hit-rate band",
            f"{percent(band.low)} (short TTL) · {percent(band.central)} (central) · {percent(band.high)} (no expiry)",
        ),
        ("logged hit rate", percent(detail.observed_hit_rate)),
        ("cached input tokens", tokens(detail.cached_tokens)),
        ("cache-write tokens", tokens(detail.write_tokens)),
    ]
    money = scenario.cache_band_usd
    if money is not None:
        figures.append(
            (
                "monthly cost across the band",
                f"{usd(money.high)} (no expiry) – {usd(money.low)} (short TTL)",
            )
        )
    rules = table(
        [
            Column("rule"),
            Column("requests", True),
            Column("hit rate (low · central · high)"),
            Column("TTL"),
            Column("min prefix", True),
            Column("block", True),
        ],
        [
            [
                rule.rule,
                (count(rule.requests), rule.requests),
                f"{percent(rule.hit_rate.low)} · {percent(rule.hit_rate.central)} · {percent(rule.hit_rate.high)}",
                " / ".join(
                    "none" if ttl is None else f"{ttl:g} s"
                    for ttl in (rule.ttl_s.low, rule.ttl_s.central)
                ),
                (count(rule.min_prefix_tokens), rule.min_prefix_tokens),
                (count(rule.block_tokens), rule.block_tokens),
            ]
            for rule in detail.rules
        ],
        caption="Provider cache rules replayed",
    )
    parts: list[Child] = [facts(figures, "Prompt caching"), rules]
    slug = f"{prefix}cache_hit_rate_vs_ttl_{file_safe(scenario.name)}"
    if slug in charts:
        parts.append(chart(charts[slug]))
    return parts


def _batching(detail: BatchingDetails) -> list[Child]:
    return [
        facts(
            [
                ("share sent to a batch API", percent(detail.share)),
                ("requests batched", count(detail.requests)),
                ("deferrable but no batch price", count(detail.deferrable_without_batch_api)),
            ],
            "Batching",
        )
    ]


def _fine_tune(detail: FineTuneDetails) -> list[Child]:
    return [
        facts(
            [
                ("base model", detail.base or "—"),
                ("requests served", count(detail.requests)),
                (
                    "training",
                    f"{usd(detail.training_usd)}, amortised over {detail.amortize_months} months",
                ),
                ("training per month", usd(detail.monthly_training_usd)),
                ("prompt tokens saved per request", count(detail.prompt_tokens_saved)),
                ("served by", detail.serving),
            ],
            "Fine-tune",
        )
    ]


def _hosting(
    detail: HostingDetails, scenario: ScenarioResult, charts: dict[str, Chart], prefix: str
) -> list[Child]:
    sweep = detail.break_even
    figures: list[tuple[str, Child]] = [
        (
            "model on hardware",
            f"{detail.model} on {detail.gpu} ({detail.precision}, {detail.pricing.replace('_', '-')})",
        ),
        (
            "replicas",
            f"{detail.replicas} × {detail.devices_per_replica} device{'s' if detail.devices_per_replica != 1 else ''}"
            + (" (autoscaled peak)" if detail.autoscale else ""),
        ),
        ("replica-hours per month", count(detail.replica_hours)),
        ("utilisation", percent(detail.utilization)),
        (
            "output tokens/s per replica",
            f"{count(detail.slo_output_tokens_per_s)} within the latency target, {count(detail.max_output_tokens_per_s)} at most",
        ),
        (
            "latency at batch 1",
            f"first token {detail.ttft_s:.2f} s, {detail.tpot_s * 1000:.0f} ms per token"
            + ("" if detail.meets_slo else " — misses the target: sized at maximum throughput"),
        ),
        ("cost per 1M tokens", usd(detail.usd_per_mtok)),
        (
            "cost per 1M output tokens",
            f"{usd(detail.usd_per_output_mtok)} (full-utilisation floor {usd(detail.floor_usd_per_output_mtok)})"
            + (" — below the floor: implausible" if detail.below_floor else ""),
        ),
        ("fleet per month", usd(detail.monthly_usd)),
        ("requests served", count(detail.requests)),
    ]
    if sweep is not None:
        figures += [
            (
                "break-even volume",
                f"{count(sweep.requests_per_day)} requests/day"
                if sweep.requests_per_day
                else "not within 100 – 100M requests/day",
            ),
            (
                "volume now",
                f"{count(sweep.current_requests_per_day)} requests/day"
                if sweep.current_requests_per_day is not None
                else "—",
            ),
            ("API cost per request", usd(sweep.api_usd_per_request)),
        ]
    parts: list[Child] = [facts(figures, "Self-hosting")]
    slug = f"{prefix}break_even_{file_safe(scenario.name)}"
    if slug in charts:
        parts.append(
            chart(charts[slug], "The red line marks the requests per day this fleet serves now.")
        )
    if detail.serving is not None:
        parts += _serving(detail, scenario, charts, prefix)
    return parts


def _serving(
    detail: HostingDetails, scenario: ScenarioResult, charts: dict[str, Chart], prefix: str
) -> list[Child]:
    """The replay: its figures (each naming its source), the SLO search and the batch-size sweep."""
    serving = detail.serving
    assert serving is not None
    name = file_safe(scenario.name)
    rows: list[tuple[str, Child]] = list(serving_view.summary_rows(detail))
    parts: list[Child] = [facts(rows, "Serving replay")]
    if serving.search is not None:
        parts.append(
            table(
                [
                    Column(column, numeric=index >= 2)
                    for index, column in enumerate(serving_view.FRONTIER_COLUMNS)
                ],
                serving_view.frontier_rows(serving),
                caption="SLO search: every fleet replayed to the end (cheapest first)",
                name=f"{prefix}frontier-{name}",
            )
        )
        skipped = serving_view.skipped_lines(serving)
        if skipped:
            parts.append(el("ul", *(el("li", line) for line in skipped), class_="notes"))
        slug = f"{prefix}serving_frontier_{name}"
        if slug in charts:
            parts.append(
                chart(
                    charts[slug], "The line joins the fleets no cheaper fleet beats on p99 latency."
                )
            )
    if serving.sweep:
        parts.append(
            table(
                [Column(column, numeric=True) for column in serving_view.SWEEP_COLUMNS],
                serving_view.sweep_rows(serving),
                caption=serving_view.sweep_title(detail),
                name=f"{prefix}sweep-{name}",
            )
        )
        slug = f"{prefix}batch_sweep_{name}"
        if slug in charts:
            parts.append(
                chart(
                    charts[slug],
                    "Batching spreads one GPU-hour over more tokens: throughput grows almost linearly "
                    "while the weights dominate each step, and so the price per token falls.",
                )
            )
    slug = f"{prefix}gpu_busy_{name}"
    if slug in charts:
        parts.append(chart(charts[slug]))
    return parts


def _scenario_details(
    scenario: ScenarioResult, charts: dict[str, Chart], prefix: str
) -> Html | None:
    details = scenario.details
    parts: list[Child] = []
    if details.routing is not None:
        parts += _routing(details.routing, scenario, charts, prefix)
    if details.response_cache is not None:
        parts += _response_cache(details.response_cache)
    if details.prompt_cache is not None:
        parts += _prompt_cache(details.prompt_cache, scenario, charts, prefix)
    if details.batching is not None:
        parts += _batching(details.batching)
    if details.fine_tune is not None:
        parts += _fine_tune(details.fine_tune)
    hosting = details.fleet()
    if hosting is not None:
        parts += _hosting(hosting, scenario, charts, prefix)
    if scenario.unpriced_requests:
        parts.append(
            el(
                "p",
                el("span", "unpriced", class_="tag bad"),
                f" {count(scenario.unpriced_requests)} requests have no price and count no dollars.",
            )
        )
    if scenario.notes:
        parts.append(el("ul", *(el("li", note) for note in scenario.notes), class_="notes"))
    if not parts:
        return None
    heading = join([scenario.name, " — ", usd(scenario.monthly_usd), "/month"])
    return el(
        "div",
        el("div", el("h3", heading), parts[0], class_="keep"),
        *parts[1:],
        class_="scenario",
        id=f"{prefix}scenario-{file_safe(scenario.name)}",
    )


Section = tuple[str, str, Html]
"""(anchor, navigation label, the section)."""


def _breakdown_table(
    result: SimulationResult, rows: dict[str, dict[str, Decimal | None]], label: str, name: str
) -> Html:
    """One row per model or grouping value, one column per scenario: where each one's money goes."""
    names = [scenario.name for scenario in result.scenarios]
    columns = [Column(label), *(Column(scenario, True) for scenario in names)]
    body = [
        [key, *(_money_cell(values.get(scenario)) for scenario in names)]
        for key, values in rows.items()
    ]
    return table(columns, body, name=name, caption=f"Monthly cost by {label}")


def _breakdown(result: SimulationResult, prefix: str) -> Html | None:
    """Each scenario's monthly cost split by model and by each grouping field (the rows of a
    column add up to the scenario's monthly cost)."""
    by_model: dict[str, dict[str, Decimal | None]] = {}
    by_group: dict[str, dict[str, dict[str, Decimal | None]]] = {}
    for scenario in result.scenarios:
        for row in scenario.breakdown.models:
            by_model.setdefault(row.model, {})[scenario.name] = row.monthly_usd
        for field_name, values in scenario.breakdown.groups.items():
            rows = by_group.setdefault(field_name, {})
            for value in values:
                rows.setdefault(value.group or "(none)", {})[scenario.name] = value.monthly_usd
    if not by_model:
        return None
    tables = [_breakdown_table(result, by_model, "model", f"{prefix}breakdown-models")]
    tables += [
        _breakdown_table(result, rows, field_name, f"{prefix}breakdown-{file_safe(field_name)}")
        for field_name, rows in by_group.items()
    ]
    return section(
        f"{prefix}breakdown",
        "Where the money goes",
        *tables,
        lead="Each scenario's monthly cost by model and by grouping field; each column adds up to "
        "the scenario's monthly figure.",
    )


def simulation_sections(
    result: SimulationResult, prefix: str = "", title: str | None = None
) -> list[Section]:
    """The comparison (cards, chart, table) and each scenario's details, as page sections."""
    charts = {item.slug: item for item in simulation_charts(result, prefix)}
    baseline = result.baseline.name
    notes = (
        [el("ul", *(el("li", note) for note in result.notes), class_="notes")]
        if result.notes
        else []
    )
    comparison = section(
        f"{prefix}comparison",
        title or "Monthly cost by scenario",
        _cards(result),
        chart(
            charts[f"{prefix}monthly_cost_by_scenario"],
            "Green: cheaper than the baseline; red: dearer. The dashed line is the baseline.",
        ),
        table(
            COMPARISON_COLUMNS,
            [_comparison_row(s, baseline) for s in result.scenarios],
            name=f"{prefix}scenarios",
        ),
        *notes,
        lead=join(
            [
                f"Workload: {workload_text(result)}. Baseline: ",
                el("strong", baseline),
                f" at {usd(result.baseline.monthly_usd)}/month.",
            ]
        ),
    )
    sections = [(f"{prefix}comparison", title or "Comparison", comparison)]
    breakdown = _breakdown(result, prefix)
    if breakdown is not None:
        sections.append((f"{prefix}breakdown", "Where the money goes", breakdown))
    details = [
        part for s in result.scenarios if (part := _scenario_details(s, charts, prefix)) is not None
    ]
    if details:
        anchor = f"{prefix}details"
        sections.append(
            (
                anchor,
                "Scenario by scenario",
                section(
                    anchor,
                    "Scenario by scenario",
                    *details,
                    lead="What each strategy did to the traffic: shares, hit rates, fleets and the "
                    "curves behind them.",
                ),
            )
        )
    return sections


def simulation_html(results: Sequence[SimulationResult], sources: Sequence[str] = ()) -> str:
    """One page for one or several scenario files (each compared with its own baseline)."""
    body: list[Child] = []
    nav: list[tuple[str, str]] = []
    several = len(results) > 1
    for index, result in enumerate(results):
        label = sources[index] if several and index < len(sources) else None
        prefix = f"f{index + 1}-" if several else ""
        title = f"Monthly cost by scenario — {label}" if label else None
        for anchor, name, part in simulation_sections(result, prefix, title):
            body.append(part)
            nav.append((anchor, label if label and anchor.endswith("comparison") else name))
    subtitle: list[Child] = [
        join(["Scenario file" + ("s: " if several else ": "), ", ".join(sources)])
        if sources
        else None,
        *(f"Workload: {workload_text(result)}" for result in results),
    ]
    pricing = results[0].pricing if results else None
    return document("LLM cost scenarios", subtitle, nav, body, pricing_footer(pricing))
