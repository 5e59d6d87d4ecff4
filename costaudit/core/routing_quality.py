"""Routing quality as RouteLLM measures it: the cost–quality curve, CPT(x%) and APGR.

For a weak and a strong model with per-request quality labels (e.g. 1 = answered correctly), a router
sends its top-scored requests to the strong model. Sweeping the strong share p from 0 to 1 gives the
curve quality(p). With W and S the all-weak and all-strong qualities (Ong et al., "RouteLLM", arXiv
2406.18665; research/routing.md §1.3):

- PGR(p) = (quality(p) − W) / (S − W), the share of the quality gap recovered;
- CPT(x) = the smallest strong share p reaching PGR = x (linearly interpolated along the curve);
- APGR = (∫ quality dp − W) / (S − W) over p ∈ [0, 1] (trapezoid rule): 0.5 for a random router.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

DEFAULT_GRID = np.linspace(0.0, 1.0, 21)


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


def strong_mask(scores: npt.NDArray[np.float64], share: float) -> npt.NDArray[np.bool_]:
    """The `share` of requests with the highest scores (ties broken by position, deterministically)."""
    count = round(share * len(scores))
    order = np.argsort(-scores, kind="stable")
    mask = np.zeros(len(scores), dtype=np.bool_)
    mask[order[:count]] = True
    return mask


def quality_curve(
    scores: npt.NDArray[np.float64],
    weak: npt.NDArray[np.float64],
    strong: npt.NDArray[np.float64],
    grid: npt.NDArray[np.float64] = DEFAULT_GRID,
) -> QualityCurve:
    """Quality at each strong share when the highest-scored requests go to the strong model."""
    order = np.argsort(-scores, kind="stable")
    gain = (strong - weak)[order]
    cumulative = np.concatenate([[0.0], np.cumsum(gain)])
    counts = np.rint(grid * len(scores)).astype(np.int64)
    base = float(weak.sum())
    quality = (base + cumulative[counts]) / max(len(scores), 1)
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


def random_router_apgr(
    weak: npt.NDArray[np.float64],
    strong: npt.NDArray[np.float64],
    rng: np.random.Generator,
    runs: int = 10,
) -> float:
    """APGR of a router that scores requests at random, averaged over `runs` (RouteLLM uses 10)."""
    values = [apgr(quality_curve(rng.random(len(weak)), weak, strong)) for _ in range(runs)]
    return float(np.mean(values))
