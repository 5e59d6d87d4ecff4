"""`costaudit route fit` output: how the fitted router ranks prompts next to the label-free references.

JSON (`costaudit.route-fit/1`): `labels {weak, strong, scale, weak_quality, strong_quality}`,
`labelled`, `folds`, `seed`, `routers [{name, apgr, apgr_interval, cpt50, cpt80}]` (the fitted
router out of fold first, then the built-in score, prompt length, random and oracle), `saved`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from costaudit.core.router_fit import FitOutcome
from costaudit.core.routing_quality import RoutingMetrics
from costaudit.render.money import count, percent
from costaudit.render.safe import markdown_code, markdown_prose, terminal

SCHEMA = "costaudit.route-fit/1"


def routers(outcome: FitOutcome) -> list[tuple[str, str, RoutingMetrics]]:
    """(name, what it is, metrics) of every router compared, the fitted one first."""
    comparison = outcome.fit.comparison
    rows = [
        (
            "fitted",
            f"fitted on your labels, out of fold ({outcome.fit.folds}-fold)",
            comparison.fitted,
        )
    ]
    if comparison.builtin is not None:
        rows.append(("builtin", "built-in complexity score (label-free)", comparison.builtin))
    rows += [
        ("length", "prompt length alone", comparison.length),
        ("random", "random (exact expectation)", comparison.random),
        ("oracle", "oracle (knows the labels)", comparison.oracle),
    ]
    return rows


def _interval(metrics: RoutingMetrics) -> str:
    if metrics.apgr_interval is None:
        return "—"
    low, high = metrics.apgr_interval
    return f"{low:.2f}–{high:.2f}"


def _share(value: float | None) -> str:
    return "never" if value is None else percent(value, 1)


def headline(outcome: FitOutcome, code: Callable[[str], str] = "`{}`".format) -> str:
    """The fit in a sentence; `code` shows a label as code for the output at hand (labels come
    from the user's label file)."""
    labels, comparison = outcome.labels, outcome.fit.comparison
    inferred = (
        " (taken as the only two labels; the weaker is the weak model)" if labels.inferred else ""
    )
    return (
        f"Fitted on {count(outcome.fit.labelled)} labelled prompts: weak {code(labels.weak)} "
        f"{percent(comparison.weak_quality, 1)} quality, strong {code(labels.strong)} "
        f"{percent(comparison.strong_quality, 1)}{inferred}; seed {outcome.fit.seed}."
    )


def notes(outcome: FitOutcome, saved: Path | None) -> list[str]:
    lines = [
        "APGR: share of the weak→strong quality gap recovered, averaged over every strong-model share "
        "(0.5 = random). CPT(x%): strong-model share needed to recover x% of the gap.",
    ]
    if outcome.labelled_without_prompt:
        lines.append(
            f"{count(outcome.labelled_without_prompt)} labelled requests had no prompt text and were left out"
        )
    lines += outcome.notes
    if saved is not None:
        lines.append(
            f"scorer saved to {saved}: use it with `routing: {{scorer: {saved.name}}}` in a scenario"
        )
    return lines


def fit_document(outcome: FitOutcome, saved: Path | None) -> dict[str, Any]:
    comparison = outcome.fit.comparison
    scale = outcome.labels.scale or (0.0, 1.0)
    return {
        "schema": SCHEMA,
        "labels": {
            "weak": outcome.labels.weak,
            "strong": outcome.labels.strong,
            "scale": list(scale),
            "weak_quality": round(comparison.weak_quality, 6),
            "strong_quality": round(comparison.strong_quality, 6),
        },
        "labelled": outcome.fit.labelled,
        "folds": outcome.fit.folds,
        "seed": outcome.fit.seed,
        "routers": [
            {
                "name": name,
                "apgr": round(metrics.apgr, 6),
                "apgr_interval": [round(v, 6) for v in metrics.apgr_interval]
                if metrics.apgr_interval
                else None,
                "cpt50": None if metrics.cpt50 is None else round(metrics.cpt50, 6),
                "cpt80": None if metrics.cpt80 is None else round(metrics.cpt80, 6),
            }
            for name, _, metrics in routers(outcome)
        ],
        "saved": str(saved) if saved is not None else None,
    }


def fit_markdown(outcome: FitOutcome, saved: Path | None) -> str:
    lines = [
        "## Router fitted on your labels",
        "",
        headline(outcome, markdown_code),
        "",
        "| router | APGR | 90% interval | CPT(50%) | CPT(80%) |",
        "|---|--:|--:|--:|--:|",
    ]
    for _, label, metrics in routers(outcome):
        lines.append(
            f"| {label} | {metrics.apgr:.3f} | {_interval(metrics)} | {_share(metrics.cpt50)} | "
            f"{_share(metrics.cpt80)} |"
        )
    lines += ["", *(f"- {markdown_prose(note)}" for note in notes(outcome, saved))]
    return "\n".join(lines) + "\n"


def fit_report(outcome: FitOutcome, saved: Path | None) -> list[Any]:
    from rich.table import Table
    from rich.text import Text

    table = Table(title="Router fitted on your labels", title_justify="left")
    for name, justify in (
        ("router", "left"),
        ("APGR", "right"),
        ("90% interval", "right"),
        ("CPT(50%)", "right"),
        ("CPT(80%)", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for key, label, metrics in routers(outcome):
        table.add_row(
            Text(terminal(label), style="bold" if key == "fitted" else ""),
            f"{metrics.apgr:.3f}",
            _interval(metrics),
            _share(metrics.cpt50),
            _share(metrics.cpt80),
        )
    text = Text(terminal(headline(outcome)) + "\n")
    for note in notes(outcome, saved):
        text.append(f"  {terminal(note)}\n", style="dim")
    return [table, text]
