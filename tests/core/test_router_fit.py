"""The router fitted on labels: it learns what the labels say, is measured out of fold, keeps no rare
token, and scores a prompt the same way while logs are read as when it was fitted."""

from __future__ import annotations

import numpy as np
import pytest

from costaudit.core.labels import LabelScaleError, normalise
from costaudit.core.prompt_features import (
    TokenSets,
    dense_matrix,
    prompt_features,
    token_hash,
)
from costaudit.core.router_fit import (
    MIN_PROMPTS_PER_TOKEN,
    fit_router,
    fit_scorer,
    logistic,
)
from support import labelled_prompts


def fitted(prompts: list[str], weak: np.ndarray, strong: np.ndarray, folds: int = 5):  # type: ignore[no-untyped-def]
    features = [prompt_features(text) for text in prompts]
    tokens = np.array([len(text.split()) + 7 for text in prompts], dtype=np.int64)
    builtin = tokens.astype(float)
    return fit_router(features, tokens, np.stack([weak, strong], axis=1), builtin, folds=folds)


def test_fitted_router_learns_the_hard_topics_out_of_fold() -> None:
    prompts, weak, strong = labelled_prompts(1200)
    result = fitted(prompts, weak, strong)
    comparison = result.comparison
    assert comparison.fitted.apgr > 0.8
    assert comparison.fitted.apgr > comparison.length.apgr + 0.2
    assert comparison.random.apgr == pytest.approx(0.5, abs=0.01)
    low, high = comparison.fitted.apgr_interval or (0.0, 0.0)
    assert low < comparison.fitted.apgr < high
    assert comparison.fitted.cpt50 is not None and comparison.fitted.cpt50 < 0.3


def test_out_of_fold_measure_stays_at_chance_on_noise_labels() -> None:
    """Labels that are pure noise: a measure that let prompts see their own label would look good."""
    prompts, _, _ = labelled_prompts(800)
    rng = np.random.default_rng(1)
    weak = (rng.random(800) < 0.5).astype(float)
    strong = (rng.random(800) < 0.7).astype(float)
    result = fitted(prompts, weak, strong)
    assert abs(result.comparison.fitted.apgr - 0.5) < 0.1
    low, high = result.comparison.fitted.apgr_interval or (1.0, 0.0)
    assert low < 0.5 < high


def test_rare_tokens_never_enter_the_scorer() -> None:
    prompts, weak, strong = labelled_prompts(400)
    prompts[0] += " hunter2-secret"
    result = fitted(prompts, weak, strong)
    table = result.scorer.tokens
    assert token_hash("hunter2-secret") not in set(table.hashes.tolist())
    assert token_hash("ref0") not in set(table.hashes.tolist())
    assert token_hash("derivative") in set(table.hashes.tolist())
    assert int(table.prompts.min()) >= MIN_PROMPTS_PER_TOKEN


def test_scoring_while_reading_equals_scoring_the_fitted_matrix() -> None:
    prompts, weak, strong = labelled_prompts(300)
    features = [prompt_features(text, 2) for text in prompts]
    tokens = np.arange(20, 320, dtype=np.int64)
    scorer = fit_scorer(
        dense_matrix(features, tokens), TokenSets.of(features), np.stack([weak, strong], 1), 7
    )
    direct = scorer.score(dense_matrix(features, tokens), TokenSets.of(features))
    parts = scorer.text_parts([(text, 2) for text in prompts])
    streamed = [scorer.with_length(part, int(n)) for part, n in zip(parts, tokens, strict=True)]
    assert np.allclose(direct, streamed)
    assert ((direct >= 0) & (direct <= 1)).all()


def test_logistic_regression_fits_fractional_targets() -> None:
    """Judge scores scaled to [0, 1] are probabilities of a good answer, not classes."""
    x = np.linspace(-2, 2, 40_000)[:, None]
    target = 1 / (1 + np.exp(-(0.5 + 1.5 * x[:, 0])))
    model = logistic(x, target)
    assert model.intercept == pytest.approx(0.5, abs=0.1)
    assert model.weights[0] == pytest.approx(1.5, abs=0.15)


def test_too_few_labelled_prompts_is_an_error() -> None:
    prompts, weak, strong = labelled_prompts(30)
    with pytest.raises(ValueError, match="30 labelled prompts"):
        fitted(prompts, weak, strong)


def test_labels_on_any_scale_are_mapped_to_unit() -> None:
    judge = np.array([1.0, 10.0, 5.5, np.nan])
    assert normalise(judge, (1.0, 10.0)).tolist()[:3] == [0.0, 1.0, 0.5]
    assert np.isnan(normalise(judge, (1.0, 10.0))[3])
    assert normalise(np.array([0.0, 1.0, 0.25])).tolist() == [0.0, 1.0, 0.25]
    with pytest.raises(LabelScaleError, match="from 1 to 10, outside the scale \\[0, 1\\]"):
        normalise(judge)
    with pytest.raises(LabelScaleError, match="outside the scale \\[1, 5\\]"):
        normalise(judge, (1.0, 5.0))
