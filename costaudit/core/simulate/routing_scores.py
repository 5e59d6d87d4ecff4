"""What a router ranks requests by, what that ranking is worth, and how well it did on labels.

Three sources of scores, and what the output says of each:

- a fitted scorer (`routing: {scorer: router.json}`): its `score:<file>` column, and the out-of-fold
  APGR its file records;
- the built-in complexity score (or a log's own `complexity` column): a label-free estimate, whose
  measured APGR on public labelled sets (`complexity.MEASURED_APGR`) is quoted;
- a synthetic workload's complexity, drawn from the described distribution: says nothing about prompts.

With two tiers and per-model quality labels, the ranking is measured on them: APGR, CPT(50%) and
CPT(80%), next to a random router's (exact expectation) — on the requests that carry both labels.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import numpy.typing as npt

from costaudit.config.scenario import Routing
from costaudit.core.complexity import MEASURED_APGR
from costaudit.core.labels import LabelScaleError, normalise
from costaudit.core.routing_quality import metrics, quality_curve, random_curve
from costaudit.core.simulate.context import Context
from costaudit.core.simulate.details import QualityCurve, RoutingQuality, ScoreSource
from costaudit.errors import InputError


def workload_scores(routing: Routing, context: Context) -> npt.NDArray[np.float64]:
    """Every workload row's score (NaN where there is none)."""
    requests = context.workload.requests
    if routing.scorer is None:
        return requests.complexity.astype(np.float64)
    scores = requests.scores.get(str(routing.scorer))
    if scores is None:
        raise InputError(
            "routing.scorer",
            f"the workload has no scores from {routing.scorer}: a fitted scorer scores prompt text "
            "while logs are read, and this workload has no prompts",
        )
    return scores.astype(np.float64)


def score_source(routing: Routing, context: Context) -> tuple[ScoreSource, str]:
    """The routing detail's `scores` record, and the sentence the output says about them."""
    if routing.scorer is not None:
        name = str(routing.scorer)
        summary = context.workload.scorers.get(name)
        if summary is None:
            return ScoreSource("fitted", False, scorer=name), f"ranked by the fitted scorer {name}"
        interval = summary.apgr_interval
        source = ScoreSource(
            "fitted",
            False,
            scorer=name,
            out_of_fold_apgr=summary.apgr,
            out_of_fold_apgr_interval=list(interval) if interval else None,
            labelled=summary.labelled,
        )
        spread = f" (90% interval {interval[0]:.2f}–{interval[1]:.2f})" if interval else ""
        return source, (
            f"ranked by the fitted scorer {name}: out-of-fold APGR {summary.apgr:.3f}{spread} on "
            f"its {summary.labelled:,} labelled prompts ({summary.weak} vs {summary.strong})"
        )
    if context.workload.source.startswith("synthetic"):
        return (
            ScoreSource("synthetic", True),
            "ranked by the synthetic workload's complexity scores (drawn from the described "
            "distribution, not measured from prompts)",
        )
    low, high = MEASURED_APGR
    return (
        ScoreSource("complexity", True, measured_apgr=[low, high]),
        f"ranked by the complexity score, a label-free estimate (APGR {low:.2f}–{high:.2f} on "
        "public labelled sets, random 0.50; docs/complexity.md): `costaudit route fit` fits a "
        "router on your labels",
    )


def scaled_labels(names: list[str], routing: Routing, context: Context) -> npt.NDArray[np.float64]:
    """The tiers' label columns (one row per tier), mapped from `label_scale` to [0, 1]."""
    quality = context.workload.requests.quality
    scale = (
        (float(routing.label_scale[0]), float(routing.label_scale[1]))
        if routing.label_scale is not None
        else None
    )
    rows = []
    for name in names:
        try:
            rows.append(normalise(quality[name].astype(np.float64), scale))
        except LabelScaleError as error:
            raise InputError("routing.label_scale", f"`quality:{name}`: {error}") from None
    return np.stack(rows)


def ranking_quality(
    base: RoutingQuality,
    scores: npt.NDArray[np.float64],
    weak: npt.NDArray[np.float64],
    strong: npt.NDArray[np.float64],
) -> RoutingQuality:
    """`base` with the APGR and CPTs of the ranking and of a random router, measured on the requests
    with both labels (unchanged when there are none)."""
    labelled = ~(np.isnan(weak) | np.isnan(strong) | np.isnan(scores))
    scores, weak, strong = scores[labelled], weak[labelled], strong[labelled]
    if not len(scores):
        return base
    curve = quality_curve(scores, weak, strong)
    measured, random = metrics(curve), metrics(random_curve(weak, strong))
    return replace(
        base,
        labelled_requests=int(labelled.sum()),
        apgr=measured.apgr,
        cpt50=measured.cpt50,
        cpt80=measured.cpt80,
        random_apgr=random.apgr,
        random_cpt50=random.cpt50,
        random_cpt80=random.cpt80,
        curve=QualityCurve(curve.strong_shares.tolist(), curve.quality.tolist()),
    )
