"""Routing quality as RouteLLM measures it: the cost–quality curve, CPT(x%) and APGR.

For a weak and a strong model with per-request quality labels (e.g. 1 = answered correctly), a router
sends its top-scored requests to the strong model. Sweeping the strong share p from 0 to 1 gives the
curve quality(p). With W and S the all-weak and all-strong qualities (Ong et al., "RouteLLM", arXiv
2406.18665; research/routing.md §1.3):

- PGR(p) = (quality(p) − W) / (S − W), the share of the quality gap recovered;
- CPT(x) = the smallest strong share p reaching PGR = x (linearly interpolated along the curve);
- APGR = (∫ quality dp − W) / (S − W) over p ∈ [0, 1] (trapezoid rule on 21 points): 0.5 for a
  random router.

Requests with equal scores are ordered by a seeded shuffle, never by their position in the log (a
score that ties often would otherwise be credited with whatever order the file happens to have). The
random router is not simulated: its curve is the expectation over all orders, which is exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

DEFAULT_GRID = np.linspace(0.0, 1.0, 21)
TIE_SEED = 0
"""Seed of the shuffle that orders requests with equal scores."""
BOOTSTRAP_DRAWS = 1000
INTERVAL_LEVEL = 0.9


@dataclass(frozen=True)
class QualityCurve:
    strong_shares: npt.NDArray[np.float64]
    quality: npt.NDArray[np.float64]
    weak_quality: float
    strong_quality: float

    def pgr(self) -> npt.NDArray[np.float64]:
        gap = self.strong_quality - self.weak_quality
        if gap == 0:
            return np.ones_like(self.quality)
        return (self.quality - self.weak_quality) / gap


@dataclass(frozen=True)
class RoutingMetrics:
    """APGR, CPT(50%) and CPT(80%) of one router on one labelled set (CPT None: never reached)."""

    apgr: float
    cpt50: float | None
    cpt80: float | None
    apgr_interval: tuple[float, float] | None = None
    """Bootstrap interval of the APGR (INTERVAL_LEVEL, resampling requests), when computed."""


def routing_order(scores: npt.NDArray[np.float64], seed: int = TIE_SEED) -> npt.NDArray[np.int64]:
    """Requests from the highest score to the lowest; equal scores in a seeded random order."""
    shuffle = np.random.default_rng(seed).permutation(len(scores))
    return np.lexsort((shuffle, -scores)).astype(np.int64)


def strong_mask(
    scores: npt.NDArray[np.float64], share: float, seed: int = TIE_SEED
) -> npt.NDArray[np.bool_]:
    """The `share` of requests with the highest scores (ties broken by a seeded shuffle)."""
    count = round(share * len(scores))
    mask = np.zeros(len(scores), dtype=np.bool_)
    mask[routing_order(scores, seed)[:count]] = True
    return mask


def quality_curve(
    scores: npt.NDArray[np.float64],
    weak: npt.NDArray[np.float64],
    strong: npt.NDArray[np.float64],
    grid: npt.NDArray[np.float64] = DEFAULT_GRID,
    seed: int = TIE_SEED,
) -> QualityCurve:
    """Quality at each strong share when the highest-scored requests go to the strong model."""
    gain = (strong - weak)[routing_order(scores, seed)]
    cumulative = np.concatenate([[0.0], np.cumsum(gain)])
    counts = np.rint(grid * len(scores)).astype(np.int64)
    quality = (float(weak.sum()) + cumulative[counts]) / max(len(scores), 1)
    return QualityCurve(grid.astype(np.float64), quality, float(weak.mean()), float(strong.mean()))


def random_curve(
    weak: npt.NDArray[np.float64],
    strong: npt.NDArray[np.float64],
    grid: npt.NDArray[np.float64] = DEFAULT_GRID,
) -> QualityCurve:
    """The expected curve of a router that orders requests at random: the first k requests gain k
    times the mean gain, on average over all orders."""
    count = max(len(weak), 1)
    counts = np.rint(grid * len(weak))
    quality = (float(weak.sum()) + counts * float((strong - weak).mean())) / count
    return QualityCurve(grid.astype(np.float64), quality, float(weak.mean()), float(strong.mean()))


def cpt(curve: QualityCurve, target_pgr: float) -> float | None:
    """Smallest strong share reaching `target_pgr` of the gap (None when the curve never does)."""
    pgr = curve.pgr()
    for index in range(len(pgr)):
        if pgr[index] >= target_pgr:
            if index == 0:
                return float(curve.strong_shares[0])
            low, high = pgr[index - 1], pgr[index]
            fraction = 0.0 if high == low else (target_pgr - low) / (high - low)
            share_low, share_high = curve.strong_shares[index - 1], curve.strong_shares[index]
            return float(share_low + fraction * (share_high - share_low))
    return None


def apgr(curve: QualityCurve) -> float:
    """Average performance gap recovered: the normalised area under the quality curve."""
    gap = curve.strong_quality - curve.weak_quality
    if gap == 0:
        return 1.0
    area = float(np.trapezoid(curve.quality, curve.strong_shares))
    return (area - curve.weak_quality) / gap


def random_router_apgr(weak: npt.NDArray[np.float64], strong: npt.NDArray[np.float64]) -> float:
    """APGR of a random router: exactly its expectation (0.5 up to the grid's rounding)."""
    return apgr(random_curve(weak, strong))


def metrics(curve: QualityCurve) -> RoutingMetrics:
    return RoutingMetrics(apgr(curve), cpt(curve, 0.5), cpt(curve, 0.8))


def bootstrap_apgr(
    scores: npt.NDArray[np.float64],
    weak: npt.NDArray[np.float64],
    strong: npt.NDArray[np.float64],
    *,
    draws: int = BOOTSTRAP_DRAWS,
    level: float = INTERVAL_LEVEL,
    seed: int = TIE_SEED,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the APGR, resampling requests with replacement.

    A resample keeps the routing order of the original requests (each request repeated as often as
    it was drawn), so one sort serves every draw: the curve at k requests is the cumulative gain of
    the first requests in that order, the last one taken partly.
    """
    count = len(scores)
    order = routing_order(scores, seed)
    gain, weak_sorted = (strong - weak)[order], weak[order]
    targets = np.rint(DEFAULT_GRID * count)
    rng = np.random.default_rng([seed, count])
    values = np.empty(draws)
    for draw in range(draws):
        copies = np.bincount(rng.integers(0, count, count), minlength=count)[order].astype(float)
        taken = np.concatenate([[0.0], np.cumsum(copies)])
        gained = np.concatenate([[0.0], np.cumsum(copies * gain)])
        position = np.maximum(np.searchsorted(taken, targets, side="left"), 1)
        cumulative = gained[position - 1] + (targets - taken[position - 1]) * gain[position - 1]
        weak_total = float(copies @ weak_sorted)
        curve = QualityCurve(
            DEFAULT_GRID,
            (weak_total + cumulative) / count,
            weak_total / count,
            (weak_total + float(copies @ gain)) / count,
        )
        values[draw] = apgr(curve)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)
