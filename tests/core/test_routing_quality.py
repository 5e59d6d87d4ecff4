"""RouteLLM's routing metrics on its own GSM8K labels: random ≈ 0.5 APGR, oracle far above."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from costaudit.core.routing_quality import (
    apgr,
    bootstrap_apgr,
    cpt,
    quality_curve,
    random_curve,
    random_router_apgr,
    strong_mask,
)

WEAK = "mistralai/Mixtral-8x7B-Instruct-v0.1"
STRONG = "gpt-4-1106-preview"


def gsm8k_labels(shared_data: Path) -> tuple[np.ndarray, np.ndarray]:
    with (shared_data / "routellm-gsm8k" / "gsm8k_responses.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    weak = np.array([row[WEAK] == "True" for row in rows], dtype=np.float64)
    strong = np.array([row[STRONG] == "True" for row in rows], dtype=np.float64)
    return weak, strong


@pytest.mark.shared_data
def test_gsm8k_labels_match_the_published_statistics(shared_data: Path) -> None:
    weak, strong = gsm8k_labels(shared_data)
    assert len(weak) == 1319
    assert (int(weak.sum()), int(strong.sum())) == (842, 1130)


@pytest.mark.shared_data
def test_random_router_recovers_exactly_half_the_gap_on_gsm8k(shared_data: Path) -> None:
    """The expectation, not a few draws: 10 draws gave 0.491 here."""
    weak, strong = gsm8k_labels(shared_data)
    assert random_router_apgr(weak, strong) == pytest.approx(0.5, abs=1e-4)
    draws = [
        apgr(quality_curve(np.random.default_rng(seed).random(len(weak)), weak, strong))
        for seed in range(400)
    ]
    assert float(np.mean(draws)) == pytest.approx(random_router_apgr(weak, strong), abs=0.005)


def test_random_curve_is_the_average_over_orders() -> None:
    weak = np.array([0.0, 1.0, 0.0, 1.0])
    strong = np.array([1.0, 1.0, 0.0, 1.0])
    grid = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    curve = random_curve(weak, strong, grid)
    assert curve.quality.tolist() == pytest.approx([0.5, 0.5625, 0.625, 0.6875, 0.75])
    assert cpt(curve, 0.5) == pytest.approx(0.5)


def test_ties_are_broken_by_a_seeded_shuffle_not_by_row_order() -> None:
    """With every score equal, the strong model's requests must not be the first rows of the log."""
    scores = np.zeros(1000)
    weak = np.zeros(1000)
    strong = np.concatenate([np.ones(500), np.zeros(500)])
    chosen = strong_mask(scores, 0.5)
    assert 200 < int(chosen[:500].sum()) < 300
    assert chosen.tolist() == strong_mask(scores, 0.5).tolist()
    assert apgr(quality_curve(scores, weak, strong)) == pytest.approx(0.5, abs=0.05)
    assert apgr(quality_curve(scores, weak, strong, seed=1)) != apgr(
        quality_curve(scores, weak, strong, seed=2)
    )


def test_bootstrap_interval_brackets_the_estimate_and_narrows_with_more_data() -> None:
    rng = np.random.default_rng(5)
    weak = (rng.random(4000) < 0.6).astype(float)
    strong = np.maximum(weak, (rng.random(4000) < 0.5).astype(float))
    scores = (strong - weak) + rng.normal(0, 1.5, 4000)
    estimate = apgr(quality_curve(scores, weak, strong))
    low, high = bootstrap_apgr(scores, weak, strong, draws=300)
    assert low < estimate < high
    small_low, small_high = bootstrap_apgr(scores[:400], weak[:400], strong[:400], draws=300)
    assert (small_high - small_low) > (high - low)


def test_bootstrap_of_one_resample_matches_a_direct_computation() -> None:
    """The single-sort bootstrap equals sorting each resample itself (no ties: order is unique)."""
    rng = np.random.default_rng(9)
    scores, weak = rng.random(50), (rng.random(50) < 0.5).astype(float)
    strong = np.maximum(weak, (rng.random(50) < 0.5).astype(float))
    low, high = bootstrap_apgr(scores, weak, strong, draws=1, level=0.0, seed=3)
    draw = np.random.default_rng([3, 50]).integers(0, 50, 50)
    direct = apgr(quality_curve(scores[draw], weak[draw], strong[draw]))
    assert low == pytest.approx(direct) and high == pytest.approx(direct)


@pytest.mark.shared_data
def test_oracle_router_needs_the_strong_model_for_29_percent(shared_data: Path) -> None:
    """Only-GPT-4-correct prompts (383 of 1,319 = 29.0 %) are where the strong model matters."""
    weak, strong = gsm8k_labels(shared_data)
    oracle_scores = strong - weak
    curve = quality_curve(oracle_scores, weak, strong, grid=np.arange(1320) / 1319)
    best = int(np.argmax(curve.quality))
    assert best == 383
    assert curve.quality[best] == pytest.approx((842 + 383) / 1319)
    matches_gpt4 = cpt(curve, 1.0)
    assert matches_gpt4 is not None
    assert matches_gpt4 < 383 / 1319  # it matches GPT-4's quality sooner

    assert apgr(curve) > 1.0  # the oracle beats always-GPT-4 over most of the curve


def test_curve_endpoints_and_interpolation() -> None:
    weak = np.array([0.0, 0.0, 1.0, 1.0])
    strong = np.array([1.0, 1.0, 1.0, 1.0])
    curve = quality_curve(
        np.array([0.9, 0.8, 0.1, 0.2]), weak, strong, grid=np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    )
    assert curve.quality.tolist() == [0.5, 0.75, 1.0, 1.0, 1.0]
    assert cpt(curve, 0.5) == pytest.approx(0.25)
    assert cpt(curve, 0.75) == pytest.approx(0.375)
    assert apgr(curve) == pytest.approx((0.125 * 1.25 + 0.125 * 1.75 + 0.25 * 2 - 0.5) / 0.5)


def test_no_gap_means_everything_is_recovered() -> None:
    same = np.ones(5)
    curve = quality_curve(np.arange(5.0), same, same)
    assert apgr(curve) == 1.0
    assert cpt(curve, 0.8) == 0.0
