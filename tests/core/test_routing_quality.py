"""RouteLLM's routing metrics on its own GSM8K labels: random ≈ 0.5 APGR, oracle far above."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from costaudit.core.routing_quality import apgr, cpt, quality_curve, random_router_apgr

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
def test_random_router_recovers_half_the_gap_on_gsm8k(shared_data: Path) -> None:
    weak, strong = gsm8k_labels(shared_data)
    value = random_router_apgr(weak, strong, np.random.default_rng(2024), runs=10)
    assert value == pytest.approx(0.5, abs=0.03)


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
