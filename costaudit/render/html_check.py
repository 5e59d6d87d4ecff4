"""`costaudit check --output html`: the verdict first, then what changed and why, then the movers and
the run that was checked."""

from __future__ import annotations

from costaudit.core.regress import Comparison, Verdict
from costaudit.render.charts import check_charts, movers
from costaudit.render.check import headline
from costaudit.render.html_page import (
    Child,
    Column,
    Html,
    Row,
    chart,
    document,
    el,
    figure_value,
    join,
    pricing_footer,
    section,
    table,
)
from costaudit.render.html_simulation import simulation_sections
from costaudit.render.money import signed_usd, usd
from costaudit.render.simulation import workload_text

CAUSES = {
    "prices": "the price tables differ from the ones the baseline was computed with",
    "traffic": "the workload differs: other logs, or another description of the traffic",
    "prompts": "a prompt file the workload uses has changed",
    "scenario": "the scenario file has changed",
    "costaudit version": "another version of costaudit computed the baseline",
}
FAILED = frozenset({"regression", "over_budget"})


def _banner(verdict: Verdict) -> Html:
    passed = verdict.passed
    title = "Cost check passed" if passed else "Cost check failed"
    reasons = (
        el("ul", *(el("li", reason) for reason in verdict.reasons)) if verdict.reasons else None
    )
    return el(
        "section",
        el(
            "h2",
            figure_value(
                "verdict",
                ("✓ " if passed else "✗ ") + title,
                "passed" if passed else "failed",
                inline=True,
            ),
        ),
        el("p", headline(verdict) + "."),
        reasons,
        class_="verdict pass" if passed else "verdict fail",
        id="verdict",
    )


def _changes(verdict: Verdict) -> Html:
    compared = verdict.compared_to
    against: Child = (
        join(["Compared with ", el("code", compared.file), ". "]) if compared is not None else None
    )
    lead: Child
    if verdict.causes:
        body: Child = el(
            "ul",
            *(
                el("li", el("strong", cause), f": {CAUSES.get(cause, cause)}")
                for cause in verdict.causes
            ),
        )
        lead = join([against, "Changed since the baseline was written:"])
    else:
        body = el(
            "p",
            "No input changed since the baseline: the same prices, traffic, prompts and scenario file.",
        )
        lead = against
    return section("changes", "What changed", body, lead=lead)


STATUS = {
    "pass": "pass",
    "regression": "regression",
    "over_budget": "over budget",
    "new": "new",
    "removed": "removed",
}
"""Verdict words (no emoji: a reader's fonts may lack them, and print shows them as boxes)."""


def _status(comparison: Comparison) -> Html:
    tone = (
        "tag bad"
        if comparison.status in FAILED
        else "tag good"
        if comparison.status == "pass"
        else "tag"
    )
    return el("span", STATUS[comparison.status], class_=tone)


def _row(comparison: Comparison) -> Row:
    delta = comparison.delta_usd
    pct = comparison.delta_pct
    tone = None if delta is None or not delta else "bad" if delta > 0 else "good"
    return [
        comparison.name,
        (
            figure_value(
                "before",
                usd(comparison.before),
                comparison.before,
                inline=True,
                data_scenario=comparison.name,
            ),
            comparison.before if comparison.before is not None else "",
        ),
        (
            figure_value(
                "after",
                usd(comparison.after),
                comparison.after,
                inline=True,
                data_scenario=comparison.name,
            ),
            comparison.after if comparison.after is not None else "",
        ),
        (
            el("span", signed_usd(delta), class_=tone) if delta is not None else "—",
            delta if delta is not None else "",
        ),
        (
            f"{pct:+.1f}%".replace("-", "−") if pct is not None else "—",
            pct if pct is not None else "",
        ),
        _status(comparison),
        "; ".join(comparison.reasons) or "—",
    ]


def _movers(verdict: Verdict) -> Html:
    columns = [
        Column("scenario"),
        Column("baseline", True),
        Column("now", True),
        Column("Δ $", True),
        Column("Δ %", True),
        Column("verdict"),
        Column("why"),
    ]
    return section(
        "movers",
        "Top movers",
        chart(check_charts(verdict)[0]),
        table(columns, [_row(comparison) for comparison in movers(verdict)], name="movers"),
        lead="Failures first, then the scenarios whose monthly cost moved the most.",
    )


def check_html(verdict: Verdict) -> str:
    """The check as a self-contained page."""
    body: list[Child] = [_banner(verdict), _changes(verdict), _movers(verdict)]
    nav = [("verdict", "Verdict"), ("changes", "What changed"), ("movers", "Top movers")]
    result = verdict.simulation
    subtitle: list[Child] = []
    if result is not None:
        for anchor, name, part in simulation_sections(result, "run-", "The run that was checked"):
            body.append(part)
            nav.append((anchor, name))
        subtitle.append(f"Workload: {workload_text(result)}")
    if verdict.compared_to is not None:
        subtitle.insert(0, join(["Baseline: ", verdict.compared_to.file]))
    pricing = result.pricing if result is not None else None
    return document("LLM cost check", subtitle, nav, body, pricing_footer(pricing))
