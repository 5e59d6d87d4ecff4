"""The built-in complexity score: length and turns as the backbone, small presence flags for kinds of
task, deterministic and bounded. How well it ranks prompts on labelled data is measured in
tests/test_routing_eval.py (GSM8K and the MMLU development half)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from costaudit.core.complexity import (
    WEIGHTS,
    complexity_classes,
    complexity_score,
    length_signal,
    signals,
    visible_tokens,
)

QUESTION = "Tom has 3 apples and buys 5 more. How many apples does he have?"


def test_a_longer_prompt_of_the_same_kind_scores_higher() -> None:
    """The density bug: with cues per 100 words, more words made the same task look easier."""
    short = complexity_score(QUESTION, prompt_tokens=20)
    longer_text = QUESTION + " He gives 2 to Ann, then sells half of the rest at $3 each."
    longer = complexity_score(longer_text, prompt_tokens=40)
    assert longer > short


def test_the_score_grows_with_tokens_and_never_goes_flat() -> None:
    values = [length_signal(tokens) for tokens in (1, 10, 100, 1_000, 10_000, 100_000)]
    assert values == sorted(values) and len(set(values)) == len(values)
    assert complexity_score("x", prompt_tokens=20_000) > complexity_score("x", prompt_tokens=10_000)


def test_kind_of_task_flags_weigh_less_than_doubling_the_length() -> None:
    code = "Implement this in Python:\n```python\ndef f(x):\n    return x\n```"
    chat = "Hello there, could you tell me about your opening hours this week?"
    assert complexity_score(code, prompt_tokens=100) > complexity_score(chat, prompt_tokens=100)
    assert complexity_score(code, prompt_tokens=100) < complexity_score(chat, prompt_tokens=200)


def test_more_turns_raise_the_score() -> None:
    text = "And what about the second part?"
    assert complexity_score(text, turns=4, prompt_tokens=500) > complexity_score(
        text, turns=1, prompt_tokens=500
    )


def test_signals_explain_the_score() -> None:
    parts = signals("def f(): return 1", turns=1, prompt_tokens=8)
    assert parts["code"] == 1.0 and parts["math"] == 0.0
    expected = sum(WEIGHTS[name] * parts[name] for name in WEIGHTS)
    assert complexity_score("def f(): return 1", prompt_tokens=8) == expected


def test_constraints_are_shown_but_not_weighted() -> None:
    """Measured on both labelled sets, a constraints flag lowered the APGR: it is only explained."""
    text = "Answer in JSON with at most 3 keys."
    assert signals(text, turns=1, prompt_tokens=12)["constraints"] == 1.0
    assert "constraints" not in WEIGHTS
    assert complexity_score(text, prompt_tokens=12) == complexity_score(
        "Answer in prose with a few points.", prompt_tokens=12
    )


def test_a_shared_system_prompt_does_not_count_as_question_length() -> None:
    assert visible_tokens(1_100, 100 / 1_100) == 100
    assert visible_tokens(57, 1.0) == 57


@given(text=st.text(max_size=400), turns=st.integers(1, 50), tokens=st.integers(0, 10**7))
def test_score_is_bounded_and_deterministic(text: str, turns: int, tokens: int) -> None:
    first = complexity_score(text, turns=turns, prompt_tokens=tokens)
    assert 0.0 <= first <= 1.0
    assert complexity_score(text, turns=turns, prompt_tokens=tokens) == first


def test_classes_use_the_documented_cut_points() -> None:
    scores = np.array([0.0, 0.3333, 1 / 3, 0.6666, 2 / 3, 1.0, np.nan])
    assert complexity_classes(scores).tolist() == [0, 0, 1, 1, 2, 2, -1]


def test_class_boundaries_in_tokens_match_the_docstring() -> None:
    """One turn without cues: simple below about 110 tokens, complex from about 750."""
    assert complexity_score("plain words", prompt_tokens=100) < 1 / 3
    assert complexity_score("plain words", prompt_tokens=120) >= 1 / 3
    assert complexity_score("plain words", prompt_tokens=700) < 2 / 3
    assert complexity_score("plain words", prompt_tokens=800) >= 2 / 3
