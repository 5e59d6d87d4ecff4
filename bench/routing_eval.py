"""How well each router ranks prompts on public labelled data: the table in docs/complexity.md.

Runs `costaudit route fit`'s own code path (`costaudit.api.routers.fit_from_logs`) on RouteLLM's GSM8K
labels and on the MMLU development half (../shared/data beside the checkout; see its README), and
prints, for each set, the APGR with its bootstrap 90% interval and CPT(50%)/CPT(80%) of: the fitted
router (out of fold), the built-in complexity score, prompt length alone, a random router (exact
expectation) and the oracle.

    python bench/routing_eval.py                 # print the Markdown block
    python bench/routing_eval.py --write-docs    # replace the block in docs/complexity.md

tests/test_routing_eval.py runs the same evaluation and fails when the documented block drifts.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from costaudit.api.routers import fit_from_logs
from costaudit.core.router_fit import FitOutcome
from costaudit.core.routing_quality import RoutingMetrics
from costaudit.ingest.reader import ReadOptions
from costaudit.pricetable.layers import load_prices

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs" / "complexity.md"
DEFAULT_DATA = REPO.parent / "shared" / "data"
MARKER = re.compile(
    r"(<!-- BEGIN measured:routing-eval -->\n)(?P<body>.*?)(<!-- END measured:routing-eval -->)",
    re.S,
)
FOLDS = 10
SEED = 7


@dataclass(frozen=True)
class LabelledSet:
    name: str
    path: str
    weak_column: str
    strong_column: str


SETS = (
    LabelledSet(
        "GSM8K",
        "routellm-gsm8k/gsm8k_responses.csv",
        "mistralai/Mixtral-8x7B-Instruct-v0.1",
        "gpt-4-1106-preview",
    ),
    LabelledSet(
        "MMLU, development half",
        "routellm-mmlu-dev/mmlu_dev.csv.gz",
        "mixtral_8x7b_correct",
        "gpt4_1106_correct",
    ),
)


def evaluate(labelled: LabelledSet, data_dir: Path) -> FitOutcome:
    """Fit and measure exactly as `costaudit route fit FILE --map ... --model gpt-4o` does."""
    options = ReadOptions(
        format="generic",
        mapping={
            "prompt": "prompt",
            "quality:mixtral-8x7b": labelled.weak_column,
            "quality:gpt-4-1106": labelled.strong_column,
        },
        default_model="gpt-4o",
    )
    return fit_from_logs(
        [str(data_dir / labelled.path)],
        options,
        load_prices().table,
        weak="mixtral-8x7b",
        strong="gpt-4-1106",
        scale=None,
        folds=FOLDS,
        seed=SEED,
    )


def _cell(metrics: RoutingMetrics | None) -> str:
    if metrics is None:
        return "—"
    interval = metrics.apgr_interval
    spread = f" ({interval[0]:.2f}–{interval[1]:.2f})" if interval else ""
    return f"{metrics.apgr:.3f}{spread}"


def _cpt(metrics: RoutingMetrics | None) -> str:
    if metrics is None:
        return "—"

    def share(value: float | None) -> str:
        return "never" if value is None else f"{value:.0%}"

    return f"{share(metrics.cpt50)} / {share(metrics.cpt80)}"


ROWS = (
    ("fitted on the labels, out of fold (10-fold)", "fitted"),
    ("built-in complexity score (label-free)", "builtin"),
    ("prompt length alone", "length"),
    ("random router (exact expectation)", "random"),
    ("oracle", "oracle"),
)


def markdown(outcomes: dict[str, FitOutcome]) -> str:
    names = list(outcomes)
    columns = " | ".join(f"{name} ({outcomes[name].fit.labelled:,} prompts)" for name in names)
    rule = "|---|" + "--:|" * len(names)
    apgr = [f"| APGR (bootstrap 90% interval) | {columns} |", rule]
    cpt = [f"| CPT(50%) / CPT(80%) | {columns} |", rule]
    for label, key in ROWS:
        metrics = [getattr(outcomes[name].fit.comparison, key) for name in names]
        apgr.append(f"| {label} | {' | '.join(_cell(m) for m in metrics)} |")
        cpt.append(f"| {label} | {' | '.join(_cpt(m) for m in metrics)} |")
    intro = (
        f"{FOLDS}-fold cross-validation, seed {SEED}; intervals from 1,000 bootstrap resamples of "
        "the prompts."
    )
    return "\n".join([intro, "", *apgr, "", *cpt]) + "\n"


def run(data_dir: Path) -> dict[str, FitOutcome]:
    return {labelled.name: evaluate(labelled, data_dir) for labelled in SETS}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--write-docs", action="store_true", help=f"update {DOCS.name}")
    args = parser.parse_args(argv)
    block = markdown(run(args.data_dir))
    if not args.write_docs:
        sys.stdout.write(block)
        return
    text = DOCS.read_text(encoding="utf-8")
    updated = MARKER.sub(lambda m: f"{m.group(1)}{block}{m.group(3)}", text)
    if updated == text and block not in text:
        raise SystemExit(f"no routing-eval markers in {DOCS}")
    DOCS.write_text(updated, encoding="utf-8")
    print(f"updated {DOCS}")


if __name__ == "__main__":
    main()
