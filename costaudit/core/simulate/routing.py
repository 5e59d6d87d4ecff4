"""Routing: send each request to the cheapest tier its complexity allows (or cascade through tiers).

Tier shares are turned into score thresholds on the workload's own complexity distribution, the way
RouteLLM calibrates a router to a target strong-model share: rank requests by score and give the least
complex `share` to the first tier. Requests with no score are ranked at random (a random router) and the
result says so. A moved request keeps its token counts unless the two models use different tokenizers,
in which case all its counts are scaled by the table's measured ratio between the tokenizers.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import numpy.typing as npt

from costaudit.config.scenario import Routing
from costaudit.core.arrays import distinct
from costaudit.core.simulate.context import Context
from costaudit.core.simulate.details import RoutingDetails, RoutingQuality, TierShare
from costaudit.core.simulate.routing_scores import (
    ranking_quality,
    scaled_labels,
    score_source,
    workload_scores,
)
from costaudit.core.simulate.state import State

TIE_JITTER = 1e-9


def _scores(
    state: State, rows: npt.NDArray[np.int64], routing: Routing, context: Context
) -> tuple[npt.NDArray[np.float64], int]:
    """Scores of the rows; missing ones replaced by random draws (returned count)."""
    scores = workload_scores(routing, context)[state.origin[rows]]
    missing = np.isnan(scores)
    scores[missing] = context.rng.random(int(missing.sum()))
    return scores, int(missing.sum())


def _tier_by_share(
    scores: npt.NDArray[np.float64], shares: list[Decimal], context: Context
) -> npt.NDArray[np.int64]:
    """Tier index per request: the least complex share[0] to tier 0, the next share[1] to tier 1, …"""
    count = len(scores)
    # Scores live in [0, 1]; a random jitter far below any meaningful score difference breaks ties at
    # random (so equal scores are not split by arrival order) with a single fast argsort.
    order = np.argsort(scores + context.rng.random(count) * TIE_JITTER)

    bounds = np.rint(np.cumsum([float(share) for share in shares]) * count).astype(np.int64)
    tiers = np.full(count, len(shares), dtype=np.int64)
    start = 0
    for tier, end in enumerate(bounds):
        tiers[order[start:end]] = tier
        start = end
    return tiers


def _tier_by_score(scores: npt.NDArray[np.float64], limits: list[Decimal]) -> npt.NDArray[np.int64]:
    tiers = np.full(len(scores), len(limits), dtype=np.int64)
    for tier, limit in reversed(list(enumerate(limits))):
        tiers[scores <= float(limit)] = tier
    return tiers


def _move(state: State, rows: npt.NDArray[np.int64], target: str, context: Context) -> None:
    """Send `rows` to `target`, rescaling token counts when the tokenizer changes."""
    codes = state.requests.model.codes
    for source_code in distinct(codes[rows]).tolist():
        moving = rows[codes[rows] == source_code]
        ratio, known = context.tokenizer_ratio(state.models[source_code], target)
        factors = np.full(len(moving), float(ratio))
        measured = context.measured_ratios(state, moving, state.models[source_code], target)
        if measured is not None:
            factors = np.where(np.isnan(measured), factors, measured)
            known = True
        if (factors != 1).any():
            for name in list(state.tokens):
                scaled = np.rint(state.tokens[name][moving] * factors).astype(np.int64)
                state.writable_tokens(name)[moving] = scaled
        elif not known:
            state.notes.append(
                f"{state.models[source_code]} → {target}: tokenizers differ and the price table has no "
                "ratio between them; token counts kept as they are"
            )
    state.move(rows, target)


def _cascade(
    state: State,
    rows: npt.NDArray[np.int64],
    tiers: npt.NDArray[np.int64],
    routing: Routing,
    context: Context,
) -> int:
    """Escalate a share of each tier's requests to the next tier; both calls are paid."""
    assert routing.escalation_rate is not None
    rate = float(context.params(routing.escalation_rate))
    population = rows
    population_tier = tiers
    escalated_total = 0
    for tier in range(len(routing.tiers) - 1):
        members = population[population_tier == tier]
        chosen = members[context.rng.random(len(members)) < rate]
        if not len(chosen):
            continue
        target = routing.tiers[tier + 1].model
        copies = state.append_copies(chosen)
        _move(state, copies, target, context)
        escalated_total += len(copies)
        population = np.concatenate([population, copies])
        population_tier = np.concatenate([population_tier, np.full(len(copies), tier + 1)])
    return escalated_total


def _labels(tier_model: str, label: str | None, state: State, context: Context) -> str | None:
    """The quality-label column of a tier: its `label`, its model name, or its price id."""
    quality = state.requests.quality
    for name in (label, tier_model, context.price_id(tier_model)):
        if name and name in quality:
            return name
    return None


def _quality(
    state: State,
    rows: npt.NDArray[np.int64],
    tiers: npt.NDArray[np.int64],
    routing: Routing,
    context: Context,
) -> RoutingQuality | None:
    """Quality retained, from per-model labels in the workload or per-tier scores in the scenario."""
    columns = [_labels(tier.model, tier.label, state, context) for tier in routing.tiers]
    if all(column is not None for column in columns):
        labels = scaled_labels([c for c in columns if c], routing, context)[:, state.origin[rows]]
        chosen = labels[tiers, np.arange(len(rows))]
        strongest = labels[-1]
        mean = float(np.nanmean(chosen))
        retained = float(mean / np.nanmean(strongest)) if np.nanmean(strongest) else None
        if len(routing.tiers) != 2:
            return RoutingQuality("labels", mean, retained)
        scores = workload_scores(routing, context)[state.origin[rows]]
        return ranking_quality(
            RoutingQuality("labels", mean, retained), scores, labels[0], labels[1]
        )
    given = [tier.quality for tier in routing.tiers]
    if all(score is not None for score in given):
        values = np.array([float(score or 0) for score in given])
        mean = float(values[tiers].mean()) if len(tiers) else 0.0
        return RoutingQuality("scenario", mean, mean / values[-1] if values[-1] else None)
    return None


def apply_routing(state: State, routing: Routing, context: Context) -> None:
    rows = context.rows_for(state, routing.applies_to)
    scores, random_count = _scores(state, rows, routing, context)
    if routing.tiers[0].share is not None or (len(routing.tiers) == 1):
        shares = [
            context.params(tier.share) for tier in routing.tiers[:-1] if tier.share is not None
        ]
        tiers = _tier_by_share(scores, shares, context)
    else:
        limits = [
            tier.max_complexity for tier in routing.tiers[:-1] if tier.max_complexity is not None
        ]
        tiers = _tier_by_score(scores, limits)
    for index, tier in enumerate(routing.tiers):
        _move(state, rows[tiers == index], tier.model, context)
    escalated = _cascade(state, rows, tiers, routing, context) if routing.mode == "cascade" else 0
    overhead = context.params(routing.overhead_usd_per_1k_requests) * len(rows) / 1000
    state.window_usd += overhead
    if random_count and len(routing.tiers) > 1:
        state.notes.append(
            f"{random_count:,} requests had no complexity score and were routed at random"
        )
    source, sentence = score_source(routing, context)
    quality = _quality(state, rows, tiers, routing, context)
    state.details.routing = RoutingDetails(
        mode=routing.mode,
        tiers=[
            TierShare(
                model=tier.model,
                share=float((tiers == index).mean()) if len(rows) else 0.0,
                requests=int((tiers == index).sum()),
                max_score=float(scores[tiers == index].max()) if (tiers == index).any() else None,
            )
            for index, tier in enumerate(routing.tiers)
        ],
        escalated_requests=escalated,
        router_overhead_usd=overhead,
        randomly_routed=random_count,
        scores=source,
        quality=quality,
    )
    measured = quality is not None and quality.apgr is not None
    ranked = len(distinct(tiers)) > 1  # with every request in one tier, no score mattered
    if ranked and (routing.scorer is not None or not measured):
        if measured and routing.scorer is not None:
            sentence += (
                "; the APGR measured here is in-sample if these are the prompts it was fitted on"
            )
        state.notes.append(sentence)
