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

Cues are counted once per prompt (distinct cue words and phrases present). Densities are cues per
100 words, saturating as 1 − exp(−rate / 4): one cue in a ten-word puzzle says more about the task than
one cue inside a pasted article. Counts saturate as 1 − exp(−count / 2) and task cues as
1 − exp(−count), since the task verb usually appears once.

Cues are whole words, a few phrases and symbols, read from the first 2,000 and last 1,000 characters
of the prompt (where instructions are), so scoring costs microseconds however long the prompt is.

Classes: simple < 1/3 ≤ medium < 2/3 ≤ complex. A log column (e.g. a real router's scores) replaces
this score wherever it is present.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

HEAD_CHARS = 2000
TAIL_CHARS = 1000
"""Only the first 2,000 and last 1,000 characters are read for cues: instructions sit at the start or the
end of a prompt, pasted material in between, and the cost per prompt stays bounded (length itself comes
from the token count)."""
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

_NOT_WORD = str.maketrans(
    {code: " " for code in range(128) if not (chr(code).isalnum() or chr(code) in "+#-")}
)
"""Punctuation (but `+`, `#`, `-`) becomes space, so `str.split` yields words (`c++`, `c#`, `role-play`)."""


def _vocabulary(text: str) -> frozenset[str]:
    return frozenset(text.split())


@dataclass(frozen=True)
class Cue:
    """A family of signals: single words, phrases, literal symbols and (rarely) a pattern."""

    words: frozenset[str]
    phrases: tuple[str, ...] = ()
    symbols: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None
    pattern_needs: tuple[str, ...] = ()
    """The pattern only runs when one of these substrings occurs (regex scans of prose are slow)..."""
    pattern_also_needs: tuple[str, ...] = ()
    """... and one of these (code has parentheses or line breaks; English prose with "class " may not)."""

    def count(self, lowered: str, words: frozenset[str]) -> int:
        """Distinct cue words and phrases present, plus occurrences of the (rare) patterns."""
        found = len(self.words & words)
        found += sum(1 for phrase in self.phrases if phrase in lowered)
        found += sum(1 for symbol in self.symbols if symbol in lowered)
        if (
            self.pattern is not None
            and any(needle in lowered for needle in self.pattern_needs)
            and (
                not self.pattern_also_needs
                or any(needle in lowered for needle in self.pattern_also_needs)
            )
        ):
            found += len(self.pattern.findall(lowered))
        return found


CODE = Cue(
    words=_vocabulary(
        "python javascript typescript java c++ rust golang sql regex html css bash api code program "
        "implement algorithm debug bug compile recursion complexity function select"
    ),
    phrases=("data structure",),
    symbols=("```", "#include", "=>", "console."),
    pattern=re.compile(r"\bdef \w+\(|\bclass \w+|\bimport \w+"),
    pattern_needs=("def ", "class ", "import "),
    pattern_also_needs=("(", "\n"),
)
MATH = Cue(
    words=_vocabulary(
        "solve calculate compute equation probability integral derivative prove theorem sum product "
        "percent ratio area volume triangle circle matrix vector prime factor remainder average"
    ),
    phrases=("how many", "how much", "value of", "expected value"),
    symbols=tuple("=≤≥∑∫√π"),
    pattern=re.compile(r"\d\s*[+*/^<>]\s*\d|\d\s+-\s+\d|\\(?:frac|sum|int|sqrt)|\bx\^?\d"),
    pattern_needs=("+", "*", "/", "^", "<", ">", " - ", "\\"),
)
REASONING = Cue(
    words=_vocabulary(
        "why explain reason think deduce infer justify analyze analyse evaluate compare contrast logic "
        "puzzle suppose assume implies therefore tradeoff tradeoffs trade-off trade-offs if each every "
        "relationship statement statements uncertain possible could"
    ),
    phrases=("step by step", "step-by-step", "which of", "true or false", "based on"),
)
CONSTRAINTS = Cue(
    words=_vocabulary("json yaml csv table exactly must format only"),
    phrases=("at most", "at least", "no more than"),
    pattern=re.compile(r"\bin \d+ words\b"),
    pattern_needs=(" words",),
)
TRANSFORM = Cue(
    words=_vocabulary(
        "extract identify summarize summarise classify categorize categorise translate rewrite rephrase "
        "paraphrase convert reformat proofread tag"
    ),
    phrases=("correct the", "list the"),
)
CREATIVE = Cue(
    words=_vocabulary(
        "poem story blog email letter essay slogan tweet pretend roleplay role-play persuasive creative "
        "catchy joke"
    ),
    phrases=("act as", "imagine you", "imagine yourself", "you are a"),
)
_ITEM = re.compile(r"\s*(?:\d+[.)]|[-*•])\s+")


def _list_items(text: str) -> int:
    """Numbered or bulleted lines (a one-line prompt has none, and is not scanned)."""
    if "\n" not in text:
        return 0
    return sum(1 for line in text.splitlines() if _ITEM.match(line))


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
    if len(text) > HEAD_CHARS + TAIL_CHARS:
        text = f"{text[:HEAD_CHARS]}\n{text[-TAIL_CHARS:]}"
    lowered = text.lower()
    tokens = lowered.translate(_NOT_WORD).split()
    words = frozenset(tokens)
    total = len(tokens)
    questions = text.count("?")
    return {
        "length": _length_signal(prompt_tokens),
        "turns": min(1.0, max(0, turns - 1) / 3.0),
        "code": _density(CODE.count(lowered, words), total),
        "math": _density(MATH.count(lowered, words), total),
        "reasoning": _density(REASONING.count(lowered, words), total),
        "multipart": _saturating(_list_items(text) + max(0, questions - 1)),
        "constraints": _density(CONSTRAINTS.count(lowered, words), total),
        "question": _density(questions, total),
        "creative": _task_cue(CREATIVE.count(lowered, words)),
        "transform": _task_cue(TRANSFORM.count(lowered, words)),
    }


def complexity_score(text: str, *, turns: int = 1, prompt_tokens: int = 0) -> float:
    """Complexity of one prompt in [0, 1] (see the module docstring for the formula)."""
    return with_length(text_part(text, turns=turns), prompt_tokens)


def text_part(text: str, *, turns: int = 1) -> float:
    """The score before the length signal, which needs the token count (so the text can be scored
    while its tokens are still being counted)."""
    parts = signals(text, turns=turns, prompt_tokens=0)
    return BASE + sum(WEIGHTS[name] * value for name, value in parts.items())


def text_parts(texts: Sequence[tuple[str, int]]) -> list[float]:
    """`text_part` of each (text, user turns) pair (one call per batch, for a worker process)."""
    return [text_part(text, turns=turns) for text, turns in texts]


def with_length(partial: float, prompt_tokens: int) -> float:
    """Add the length signal to `text_part` and clip to [0, 1]."""
    return min(1.0, max(0.0, partial + WEIGHTS["length"] * _length_signal(prompt_tokens)))


def complexity_classes(scores: npt.NDArray[np.floating]) -> npt.NDArray[np.int8]:
    """0 simple, 1 medium, 2 complex; −1 where there is no score (NaN)."""
    classes = np.full(scores.shape, -1, dtype=np.int8)
    known = ~np.isnan(scores)
    classes[known & (scores < SIMPLE_BELOW)] = 0
    classes[known & (scores >= SIMPLE_BELOW) & (scores < COMPLEX_FROM)] = 1
    classes[known & (scores >= COMPLEX_FROM)] = 2
    return classes
