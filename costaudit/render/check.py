"""`costaudit check` output: terminal table, PR-comment Markdown, JSON, JUnit XML, GitHub annotations."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from costaudit.core.regress import FAILING, ComparedTo, Comparison, Mover, Verdict
from costaudit.core.simulate.engine import SimulationResult
from costaudit.jsonio import decimal_str
from costaudit.render.money import signed_usd, usd
from costaudit.render.safe import (
    annotation_message,
    annotation_property,
    markdown,
    markdown_code,
    markdown_prose,
    xml_attribute,
    xml_text,
)
from costaudit.render.simulation import simulation_document, workload_text

MARKER = "<!-- costaudit-check -->"
STATUS_TEXT = {
    "pass": "✅ pass",
    "regression": "❌ regression",
    "over_budget": "❌ over budget",
    "unpriced": "❌ unpriced requests",
    "new": "🆕 new",
    "removed": "➖ removed",
}


def _pct(comparison: Comparison) -> str:
    pct = comparison.delta_pct
    if pct is None:
        return "from $0" if comparison.before == 0 and (comparison.after or 0) > 0 else "—"
    return f"{pct:+.1f}%".replace("-", "−")


def _delta(comparison: Comparison) -> str:
    delta = comparison.delta_usd
    return "—" if delta is None else signed_usd(delta)


def _cause(verdict: Verdict) -> str:
    return ", ".join(verdict.causes) if verdict.causes else "no input changed"


def mover_text(mover: Mover) -> str:
    """`model gpt-4o +$1,234.00 (+12.0%)`."""
    pct = mover.delta_pct
    shown = "new" if pct is None else f"{pct:+.1f}%".replace("-", "−")
    return f"{mover.by} {mover.name} {signed_usd(mover.delta_usd)} ({shown})"


def _movers(comparison: Comparison) -> str:
    return "; ".join(mover_text(mover) for mover in comparison.movers) or "—"


if TYPE_CHECKING:
    from rich.table import Table


def _checked(verdict: Verdict) -> tuple[SimulationResult, ComparedTo]:
    """The run and the baseline a verdict is about (a report needs both)."""
    if verdict.simulation is None or verdict.compared_to is None:
        raise ValueError("a check report needs the verdict's simulation and baseline")
    return verdict.simulation, verdict.compared_to


def check_table(verdict: Verdict) -> Table:
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=f"Cost check against the baseline (changed since: {_cause(verdict)})",
        title_justify="left",
    )
    for name, justify in (
        ("scenario", "left"),
        ("baseline", "right"),
        ("now", "right"),
        ("Δ $", "right"),
        ("Δ %", "right"),
        ("verdict", "left"),
        ("top movers", "left"),
    ):
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for comparison in verdict.comparisons:
        style = "red" if comparison.status in FAILING else ""
        table.add_row(
            comparison.label,
            usd(comparison.before),
            usd(comparison.after),
            _delta(comparison),
            _pct(comparison),
            Text(STATUS_TEXT[comparison.status], style=style),
            _movers(comparison),
        )
    return table


def headline(verdict: Verdict) -> str:
    if verdict.passed:
        return "costaudit check passed: no scenario grew past its thresholds"
    failures = verdict.failures
    statuses = {c.status for c in failures}
    kind = (
        "regressed"
        if "regression" in statuses
        else "over budget"
        if "over_budget" in statuses
        else "with more unpriced requests"
    )
    scenarios = len({c.name for c in failures if c.group is None})
    groups = len([c for c in failures if c.group is not None])
    counted = [f"{scenarios} scenario{'s' if scenarios != 1 else ''}"] if scenarios else []
    if groups:
        counted.append(f"{groups} group{'s' if groups != 1 else ''}")
    return f"costaudit check failed: {' and '.join(counted)} {kind}"


def check_markdown(verdict: Verdict) -> str:
    """A pull-request comment: before → after per scenario, the change, the verdict and its cause."""
    result, baseline = _checked(verdict)
    title = "✅ LLM cost check passed" if verdict.passed else "❌ LLM cost check failed"
    lines = [
        MARKER,
        f"### {title}",
        "",
        f"Compared with {markdown_code(baseline.file)}. Changed since the baseline: "
        f"**{markdown_prose(_cause(verdict))}**. Workload: {markdown_prose(workload_text(result))}.",
        "",
        "| scenario | baseline | now | Δ $ | Δ % | verdict | top movers |",
        "|---|--:|--:|--:|--:|---|---|",
    ]
    lines.extend(
        f"| {markdown(c.label)} | {usd(c.before)} | {usd(c.after)} | {_delta(c)} | {_pct(c)} | "
        f"{STATUS_TEXT[c.status]} | {markdown_prose(_movers(c))} |"
        for c in verdict.comparisons
    )
    if verdict.reasons:
        lines += [
            "",
            "**Why it failed**",
            "",
            *(f"- {markdown_prose(reason)}" for reason in verdict.reasons),
        ]
    notes = [
        f"- {markdown(s.name)}: {markdown_prose(note)}"
        for s in result.scenarios
        for note in s.notes
    ]
    if notes:
        lines += ["", "<details><summary>Notes</summary>", "", *notes, "", "</details>"]
    return "\n".join(lines) + "\n"


def _comparison_fields(c: Comparison) -> dict[str, Any]:
    return {
        "status": c.status,
        "before_usd": decimal_str(c.before),
        "after_usd": decimal_str(c.after),
        "delta_usd": decimal_str(c.delta_usd),
        "delta_pct": _pct_str(c.delta_pct),
    }


def _mover_document(mover: Mover) -> dict[str, Any]:
    return {
        "by": mover.by,
        "name": mover.name,
        "before_usd": decimal_str(mover.before_usd),
        "after_usd": decimal_str(mover.after_usd),
        "delta_usd": decimal_str(mover.delta_usd),
        "delta_pct": _pct_str(mover.delta_pct),
    }


def check_document(verdict: Verdict) -> dict[str, Any]:
    """The simulate document plus the verdict: one entry per scenario in `verdict.scenarios` (as
    always), and the group limits of the scenario file's `check:` section in `verdict.groups`."""
    result, baseline = _checked(verdict)
    document = simulation_document(result)
    document["schema"] = "costaudit.check/1"
    document["verdict"] = {
        "passed": verdict.passed,
        "reasons": list(verdict.reasons),
        "causes": list(verdict.causes),
        "scenarios": [
            {
                "name": c.name,
                **_comparison_fields(c),
                "unpriced_before": c.unpriced_before,
                "unpriced_after": c.unpriced_after,
                "movers": [_mover_document(mover) for mover in c.movers],
            }
            for c in verdict.comparisons
            if c.group is None
        ],
        "groups": [
            {"scenario": c.name, "by": c.group[0], "value": c.group[1], **_comparison_fields(c)}
            for c in verdict.comparisons
            if c.group is not None
        ],
    }
    document["compared_to"] = {
        "file": baseline.file,
        "monthly_usd": {name: decimal_str(value) for name, value in baseline.monthly_usd.items()},
    }
    return document


def _pct_str(value: Decimal | None) -> str | None:
    return decimal_str(value.quantize(Decimal("0.01")) if value is not None else None)


def junit_xml(verdict: Verdict) -> str:
    """One testcase per scenario; regressions and budget breaches are failures."""
    failures = len(verdict.failures)
    cases = []
    kinds = {
        "regression": "CostRegression",
        "over_budget": "BudgetExceeded",
        "unpriced": "UnpricedRequests",
    }
    for comparison in verdict.comparisons:
        name = xml_attribute(comparison.label)
        body = ""
        if comparison.status in FAILING:
            message = "; ".join(comparison.reasons)
            kind = kinds[comparison.status]
            body = (
                f"<failure message={xml_attribute(message)} type={xml_attribute(kind)}>"
                f"{xml_text(message)}</failure>"
            )
        elif comparison.status == "removed":
            body = '<skipped message="scenario removed since the baseline"/>'
        detail = xml_text(
            f"baseline {usd(comparison.before)}, now {usd(comparison.after)}, change {_delta(comparison)}"
        )
        cases.append(
            f'    <testcase classname="costaudit.monthly_cost" name={name} time="0">{body}'
            f"<system-out>{detail}</system-out></testcase>"
        )
    total = len(verdict.comparisons)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<testsuites name="costaudit" tests="{total}" failures="{failures}" errors="0">\n'
        f'  <testsuite name="costaudit.check" tests="{total}" failures="{failures}" errors="0" skipped="'
        f'{sum(c.status == "removed" for c in verdict.comparisons)}">\n'
        + "\n".join(cases)
        + "\n  </testsuite>\n</testsuites>\n"
    )


def github_annotations(verdict: Verdict, warn_only: bool) -> list[str]:
    """`::error`/`::warning` workflow commands (10 per type are shown per step, so failures come first)."""
    level = "warning" if warn_only else "error"
    lines = [
        f"::{level} title={annotation_property('LLM cost regression')}::{annotation_message(reason)}"
        for reason in verdict.reasons
    ]
    if verdict.causes and not verdict.reasons:
        lines.append(
            f"::notice title={annotation_property('LLM cost check')}::costs recomputed after changes to "
            + annotation_message(_cause(verdict))
        )
    return lines[:10]
