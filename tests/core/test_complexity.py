"""The complexity score: deterministic, bounded, and ordered the way people rank MT-Bench categories."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from statistics import mean

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from costaudit.core.complexity import complexity_classes, complexity_score, signals
from costaudit.ingest.tokenizer import encoder_for

HARDER = ("math", "reasoning", "coding")
EASIER = ("writing", "roleplay", "extraction")


@pytest.mark.shared_data
def test_mt_bench_hard_categories_score_above_easy_ones(shared_data: Path) -> None:
    """Every category people call harder averages above every category they call easier."""
    encoder = encoder_for("cl100k_base")
    scores: dict[str, list[float]] = defaultdict(list)
    for line in (shared_data / "mt-bench" / "question.jsonl").read_text().splitlines():
        question = json.loads(line)
        prompt = question["turns"][0]
        tokens = int(encoder.count([prompt])[0])
        scores[question["category"]].append(complexity_score(prompt, turns=1, prompt_tokens=tokens))
    averages = {category: mean(values) for category, values in scores.items()}
    assert min(averages[c] for c in HARDER) > max(averages[c] for c in EASIER), averages


def test_code_and_math_prompts_outscore_small_talk() -> None:
    small_talk = complexity_score("hi! how are you today?", prompt_tokens=7)
    code = complexity_score(
        "Implement a Python function that parses this JSON and fix the bug:\n```python\ndef f(x):\n    return x[1:]\n```",
        prompt_tokens=45,
    )
    maths = complexity_score(
        "Solve for x: 3x + 7 = 22, then compute the probability that x is prime.", prompt_tokens=25
    )
    assert small_talk < 1 / 3 <= min(code, maths)


def test_creative_and_transform_requests_score_lower_than_the_same_length_reasoning() -> None:
    poem = complexity_score("Write a short poem about autumn leaves for my blog.", prompt_tokens=12)
    why = complexity_score(
        "Why do autumn leaves change colour? Explain step by step.", prompt_tokens=12
    )
    assert poem < why


def test_more_turns_raise_the_score() -> None:
    text = "And what about the second part?"
    assert complexity_score(text, turns=4, prompt_tokens=500) > complexity_score(
        text, turns=1, prompt_tokens=500
    )


def test_signals_explain_the_score() -> None:
    parts = signals("def f(): return 1", turns=1, prompt_tokens=8)
    assert parts["code"] > 0
    assert parts["length"] == 0.0


@given(text=st.text(max_size=400), turns=st.integers(1, 50), tokens=st.integers(0, 10**7))
def test_score_is_bounded_and_deterministic(text: str, turns: int, tokens: int) -> None:
    first = complexity_score(text, turns=turns, prompt_tokens=tokens)
    assert 0.0 <= first <= 1.0
    assert complexity_score(text, turns=turns, prompt_tokens=tokens) == first


def test_classes_use_the_documented_cut_points() -> None:
    scores = np.array([0.0, 0.3333, 1 / 3, 0.6666, 2 / 3, 1.0, np.nan])
    assert complexity_classes(scores).tolist() == [0, 0, 1, 1, 2, 2, -1]
