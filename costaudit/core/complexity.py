"""A deterministic complexity score in [0, 1] computed from the prompt alone.

A router decides before the model answers, so the score may only look at what a router sees: the
prompt (the last user turn, and how many turns there were). It adds up signals that small models are
known to struggle with — long context, several turns, code, mathematics, explicit reasoning, multi-part
instructions, hard output constraints, direct questions — and subtracts for the kinds of task small
models handle well: open-ended creative or role-play writing and transforming given text (extract,
summarise, classify, translate).

score = clip(0.10 + Σ weight × signal, 0, 1), each signal in [0, 1]:

| signal | weight | how it is measured |
|---|---|---|
| length | 0.15 | log10(prompt tokens) scaled so 10 tokens → 0 and 10,000 tokens → 1 |
| turns | 0.10 | user turns beyond the first, saturating at 4 |
| code | 0.30 | density of code fences, code keywords and programming vocabulary |
| math | 0.30 | density of equations, numbers with operators and mathematical vocabulary |
| reasoning | 0.20 | density of "why", "step by step", "prove", "if", "based on", puzzles, comparisons |
| multi-part | 0.10 | numbered or bulleted items and several questions (count, saturating) |
| constraints | 0.05 | density of exact formats and limits ("JSON", "exactly", "at most", "in N words") |
| question | 0.10 | density of question marks: the prompt asks for an answer, not a text |
| creative | −0.15 | "poem", "story", "blog", "email", "pretend", "act as", "imagine you are" (task cue) |
| transform | −0.15 | "extract", "summarize", "classify", "translate", "rewrite" (task cue) |

Densities are cues per 100 words, saturating as 1 − exp(−rate / 4): one cue in a ten-word puzzle says
more about the task than one cue inside a pasted article. Counts saturate as 1 − exp(−count / 2) and
task cues as 1 − exp(−count), since the task verb usually appears once.

Classes: simple < 1/3 ≤ medium < 2/3 ≤ complex. A log column (e.g. a real router's scores) replaces
this score wherever it is present.
"""

from __future__ import annotations

import math
import re

import numpy as np
import numpy.typing as npt

SIMPLE_BELOW = 1 / 3
COMPLEX_FROM = 2 / 3
CLASS_NAMES = ("simple", "medium", "complex")

BASE = 0.10
WEIGHTS = {
    "length": 0.15,
    "turns": 0.10,
    "code": 0.30,
    "math": 0.30,
    "reasoning": 0.20,
    "multipart": 0.10,
    "constraints": 0.05,
    "question": 0.10,
    "creative": -0.15,
    "transform": -0.15,
}

_CODE = re.compile(
    r"```|\bdef \w+\(|\bclass \w+|#include|\bimport \w+|=>|\bconsole\.|\bSELECT\b|\bfunction\b"
    r"|\b(?:python|javascript|typescript|java|c\+\+|rust|golang|sql|regex|html|css|bash|api)\b"
    r"|\b(?:code|program|implement|algorithm|debug|bug|compile|recursion|complexity|data structure)\b",
    re.IGNORECASE,
)
_MATH = re.compile(
    r"\d\s*[+*/^=<>]\s*\d|\d\s+-\s+\d|\\(?:frac|sum|int|sqrt)|[=≤≥∑∫√π]"
    r"|\b(?:solve|calculate|compute|equation|probability|integral|derivative|prove|theorem|sum|product"
    r"|percent|ratio|area|volume|triangle|circle|matrix|vector|prime|factor|remainder|x\^?\d|how many"
    r"|how much|value of|average|expected value)\b",
    re.IGNORECASE,
)
_REASONING = re.compile(
    r"\b(?:why|explain|reason|step[- ]by[- ]step|think|deduce|infer|justify|analy[sz]e|evaluate|compare"
    r"|contrast|logic|puzzle|suppose|assume|implies|therefore|which of|true or false|trade-?offs?"
    r"|if|each|every|based on|relationship|statements?|uncertain|possible|could)\b",
    re.IGNORECASE,
)
_ITEMS = re.compile(r"(?m)^\s*(?:\d+[.)]|[-*•])\s+")
_CONSTRAINTS = re.compile(
    r"\b(?:json|yaml|csv|table|exactly|at most|at least|no more than|must|format|in \d+ words|only)\b",
    re.IGNORECASE,
)
_TRANSFORM = re.compile(
    r"\b(?:extract|identify|summari[sz]e|classify|categori[sz]e|translate|rewrite|rephrase|paraphrase"
    r"|convert|reformat|proofread|correct the|list the|tag)\b",
    re.IGNORECASE,
)
_CREATIVE = re.compile(
    r"\b(?:poem|story|blog|email|letter|essay|slogan|tweet|pretend|act as|imagine (?:you|yourself)"
    r"|role-?play|you are a|persuasive|creative|catchy|joke)\b",
    re.IGNORECASE,
)


def _saturating(count: int) -> float:
    return 1.0 - math.exp(-count / 2.0)


def _task_cue(count: int) -> float:
    """What kind of task this is: the verb usually appears once, however long the material is."""
    return 1.0 - math.exp(-float(count))


def _density(count: int, words: int) -> float:
    """Cues per 100 words, saturating: one cue in a short question weighs more than one in a long text."""
    return 1.0 - math.exp(-count * 100.0 / max(words, 20) / 4.0)


def _length_signal(prompt_tokens: int) -> float:
    if prompt_tokens <= 10:
        return 0.0
    return min(1.0, (math.log10(prompt_tokens) - 1.0) / 3.0)


def signals(text: str, *, turns: int, prompt_tokens: int) -> dict[str, float]:
    """Each signal of the score, in [0, 1] (exposed so users can see why a prompt scored as it did)."""
    questions = text.count("?")
    words = len(text.split())
    return {
        "length": _length_signal(prompt_tokens),
        "turns": min(1.0, max(0, turns - 1) / 3.0),
        "code": _density(len(_CODE.findall(text)), words),
        "math": _density(len(_MATH.findall(text)), words),
        "reasoning": _density(len(_REASONING.findall(text)), words),
        "multipart": _saturating(len(_ITEMS.findall(text)) + max(0, questions - 1)),
        "constraints": _density(len(_CONSTRAINTS.findall(text)), words),
        "question": _density(questions, words),
        "creative": _task_cue(len(_CREATIVE.findall(text))),
        "transform": _task_cue(len(_TRANSFORM.findall(text))),
    }


def complexity_score(text: str, *, turns: int = 1, prompt_tokens: int = 0) -> float:
    """Complexity of one prompt in [0, 1] (see the module docstring for the formula)."""
    parts = signals(text, turns=turns, prompt_tokens=prompt_tokens)
    raw = BASE + sum(WEIGHTS[name] * value for name, value in parts.items())
    return min(1.0, max(0.0, raw))


def complexity_classes(scores: npt.NDArray[np.floating]) -> npt.NDArray[np.int8]:
    """0 simple, 1 medium, 2 complex; −1 where there is no score (NaN)."""
    classes = np.full(scores.shape, -1, dtype=np.int8)
    known = ~np.isnan(scores)
    classes[known & (scores < SIMPLE_BELOW)] = 0
    classes[known & (scores >= SIMPLE_BELOW) & (scores < COMPLEX_FROM)] = 1
    classes[known & (scores >= COMPLEX_FROM)] = 2
    return classes
