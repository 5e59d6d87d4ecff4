"""The built-in complexity score: a label-free estimate in [0, 1] of how much a prompt needs the
strong model, computed from the prompt alone.

A router decides before the model answers, so the score looks only at what a router sees: the last
user turn (its text and its tokens) and the number of user turns. The last turn's tokens are the
request's prompt tokens apportioned by characters (`visible_tokens`): a long system prompt shared by
every request of an application says nothing about how hard each question is. It is judged by one
measure, RouteLLM's APGR on public labelled data (docs/complexity.md): what held across data sets is
that longer prompts and longer conversations are harder, so those are the backbone. Kinds of task
(code, mathematics, multi-step reasoning) only add a small presence flag:
measured as densities (cues per 100 words) they made a longer prompt of the same kind score LOWER,
which ranked prompts worse than chance within one kind of task.

score = clip(BASE + Σ weight × signal, 0, 1):

| signal | weight | how it is measured |
|---|---|---|
| length | 0.80 | t / (t + 150) for t tokens of the last user turn: a logistic curve in log t |
| turns | 0.12 | user turns beyond the first, saturating at 4 turns |
| code | 0.04 | 1 if a code cue is present (fences, `def f(`, language names, "implement", …) |
| math | 0.04 | 1 if mathematical notation or vocabulary is present (`=`, `x^2`, "integral", …) |
| reasoning | 0.02 | 1 if multi-step reasoning is asked for ("step by step", "why", "prove", …) |

A fourth cue, hard output constraints ("JSON", "exactly", "at most", …), is measured and shown by
`signals` but not weighted: as a flag it lowered the APGR on both labelled sets. A scorer fitted on
your labels (`costaudit route fit`) gets it as a feature and weighs it by your data.

The flag weights are small on purpose: within one kind of task (every prompt of a math benchmark
mentions numbers) a flag is constant and must not reorder prompts much; across kinds of task it moves a
prompt of up to 1,000 tokens by less than doubling its length would. Cues are read from the first 2,000 and last 1,000
characters of the last user turn (where instructions sit), so scoring costs about the same however
long the prompt is.

Classes: simple < 1/3 ≤ medium < 2/3 ≤ complex. For one turn without cues that is: simple below about
110 tokens, complex from about 750. A log column (e.g. a real router's scores) replaces
this score wherever it is present; a scorer fitted on the workload's own quality labels
(`costaudit route fit`) replaces it in routing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

LENGTH_MIDPOINT = 150
"""Tokens at which the length signal is one half."""
HEAD_CHARS = 2000
TAIL_CHARS = 1000
"""Only the first 2,000 and last 1,000 characters are read for cues: instructions sit at the start or the
end of a prompt, pasted material in between, and the cost per prompt stays bounded (length itself comes
from the token count)."""
SIMPLE_BELOW = 1 / 3
COMPLEX_FROM = 2 / 3
CLASS_NAMES = ("simple", "medium", "complex")

BASE = 0.0
WEIGHTS = {
    "length": 0.80,
    "turns": 0.12,
    "code": 0.04,
    "math": 0.04,
    "reasoning": 0.02,
}
WEIGHTED_CUES = ("code", "math", "reasoning")

MEASURED_APGR = (0.56, 0.60)
"""The score's APGR on the public labelled sets it was checked on (GSM8K and the MMLU development half,
docs/complexity.md; 0.5 is a random router, about 1.1–1.2 a perfect one). Outputs quote this range so a
routing result built on the label-free score says what the score is worth."""

_NOT_WORD = str.maketrans(
    {code: " " for code in range(128) if not (chr(code).isalnum() or chr(code) in "+#-")}
)
"""Punctuation (but `+`, `#`, `-`) becomes space, so `str.split` yields words (`c++`, `c#`, `trade-off`)."""


def router_view(text: str) -> str:
    """The part of a prompt cues are read from: its head and tail when it is long."""
    if len(text) > HEAD_CHARS + TAIL_CHARS:
        return f"{text[:HEAD_CHARS]}\n{text[-TAIL_CHARS:]}"
    return text


_NOT_WORD_BYTES = bytes(
    code if code >= 128 or chr(code).isalnum() or chr(code) in "+#-" else ord(" ")
    for code in range(256)
)
"""The same on UTF-8 bytes: `bytes.translate` is several times faster than `str.translate`, and
scoring must cost less than counting the prompt's tokens (bench/README.md)."""


def words_of(lowered: str) -> list[str]:
    """Lower-cased words of a (lower-cased) text, punctuation removed."""
    return lowered.translate(_NOT_WORD).split()


def word_bytes(data: bytes) -> list[bytes]:
    """The words of a lower-cased text's UTF-8 bytes, punctuation removed (what cue vocabularies are
    matched against)."""
    return data.translate(_NOT_WORD_BYTES).split()


def vocabulary(text: str) -> frozenset[bytes]:
    """The words of `text`, as a cue's vocabulary."""
    return frozenset(text.encode().split())


_PLAIN = b"abcdefghijklmnopqrstuvwxyz0123456789 \t\n\r\x0b\x0c"
"""Bytes that never gate a literal: deleting them from a text leaves its punctuation and non-ASCII
bytes, whose set says which punctuation-only symbols could occur at all."""


def special_bytes(data: bytes) -> frozenset[int]:
    """The punctuation and non-ASCII bytes of a lower-cased text (one pass in C)."""
    return frozenset(data.translate(None, _PLAIN))


@dataclass(frozen=True)
class Literal:
    """A symbol or phrase to find as a substring, and what must be present for it to be looked for:
    its longest word (as a whole word of the text), or for punctuation only, its first byte."""

    text: bytes
    word: bytes | None
    byte: int

    @classmethod
    def of(cls, text: str) -> Literal:
        data = text.encode()
        words = [word for word in word_bytes(data) if any(chr(char).isalnum() for char in word)]
        return cls(data, max(words, key=len) if words else None, data[0])

    def found(self, data: bytes, words: frozenset[bytes], specials: frozenset[int]) -> bool:
        gate = self.word in words if self.word is not None else self.byte in specials
        return gate and self.text in data


@dataclass(frozen=True)
class Cue:
    """A kind of task, recognised by words, phrases, literal symbols and (rarely) a pattern.

    Everything is matched on the UTF-8 bytes of the lower-cased text, and a phrase or symbol is only
    searched for when its gate (a word of it, or its first punctuation byte) occurs: scoring must
    cost less than counting the prompt's tokens (bench/README.md), and most prompts hold none.
    Phrases therefore match whole words ("unit test" is not found in "unit tested").
    """

    words: frozenset[bytes]
    """Whole words (see `word_bytes`)."""
    literals: tuple[Literal, ...] = ()
    """Symbols and phrases."""
    pattern: re.Pattern[bytes] | None = None
    pattern_needs: tuple[Literal, ...] = ()
    """The pattern only runs when one of these occurs (regex scans of prose are slow)."""

    @classmethod
    def of(
        cls,
        words: str,
        phrases: tuple[str, ...] = (),
        symbols: tuple[str, ...] = (),
        pattern: bytes | None = None,
        pattern_needs: tuple[str, ...] = (),
    ) -> Cue:
        """A cue written as text: space-separated words, phrases and symbols."""
        return cls(
            words=vocabulary(words),
            literals=tuple(Literal.of(text) for text in (*symbols, *phrases)),
            pattern=re.compile(pattern) if pattern is not None else None,
            pattern_needs=tuple(Literal.of(needle) for needle in pattern_needs),
        )

    @property
    def gate_words(self) -> frozenset[bytes]:
        """Every whole word whose presence can matter to this cue."""
        gates = {item.word for item in (*self.literals, *self.pattern_needs) if item.word}
        return self.words | gates

    def present(
        self, data: bytes, words: frozenset[bytes], specials: frozenset[int] | None = None
    ) -> bool:
        """Whether any cue of this kind occurs in `data`, the lower-cased text's UTF-8 bytes, whose
        words (or at least every gate word among them) are `words`."""
        if not self.words.isdisjoint(words):
            return True
        specials = special_bytes(data) if specials is None else specials
        if any(item.found(data, words, specials) for item in self.literals):
            return True
        return (
            self.pattern is not None
            and any(item.found(data, words, specials) for item in self.pattern_needs)
            and self.pattern.search(data) is not None
        )


CODE = Cue.of(
    "python javascript typescript java c++ rust golang sql regex html css bash api code program "
    "implement algorithm debug bug compile recursion function script refactor",
    phrases=("data structure", "unit test", "stack trace"),
    symbols=("```", "#include", "=>", "console.", "();", "self."),
    pattern=rb"(?m)^[ \t]*(?:def \w+\(|class \w+[:(]|import \w+|from [\w.]+ import )",
    pattern_needs=("def ", "class ", "import "),
)
MATH = Cue.of(
    "equation equations solve integral derivative probability theorem prove proof matrix vector "
    "polynomial logarithm modulo factorial eigenvalue",
    phrases=("expected value",),
    symbols=(*"=≤≥∑∫√π^", "\\frac", "\\sum", "\\int", "\\sqrt"),
    pattern=rb"\d\s*[*/]\s*\d|\d\s*\+\s*\d",
    pattern_needs=("*", "/", "+"),
)
REASONING = Cue.of(
    "why prove justify deduce infer compare contrast trade-off trade-offs tradeoff tradeoffs "
    "analyze analyse evaluate implications",
    phrases=("step by step", "step-by-step", "explain how", "pros and cons", "what would happen"),
)
CONSTRAINTS = Cue.of(
    "json yaml csv exactly",
    phrases=("at most", "at least", "no more than", "must not", "must be"),
    pattern=rb"\bin \d+ words\b",
    pattern_needs=(" words",),
)
CUES = {"code": CODE, "math": MATH, "reasoning": REASONING, "constraints": CONSTRAINTS}


def visible_tokens(prompt_tokens: int, share: float) -> int:
    """The tokens of the text a router sees: the prompt's tokens apportioned by that text's share of
    the prompt's characters (a system prompt and earlier turns do not make a question longer)."""
    return round(prompt_tokens * share)


def length_signal(prompt_tokens: int) -> float:
    """t / (t + 150), i.e. a logistic function of log t centred on 150 tokens: 0.06 at 10 tokens, 0.4
    at 100, 0.87 at 1,000, 0.985 at 10,000. It never goes flat, so long prompts stay ordered by length."""
    tokens = max(prompt_tokens, 0)
    return tokens / (tokens + LENGTH_MIDPOINT)


def turns_signal(turns: int) -> float:
    """User turns beyond the first, saturating at four turns."""
    return min(1.0, max(0, turns - 1) / 3.0)


def cue_flags(text: str) -> dict[str, float]:
    """1.0 for each kind of task whose cues the prompt contains, else 0.0."""
    data = router_view(text).lower().encode()
    words = frozenset(word_bytes(data))
    return {name: float(cue.present(data, words)) for name, cue in CUES.items()}


_WEIGHTED_WORDS = frozenset().union(*(CUES[name].gate_words for name in WEIGHTED_CUES))
"""Every word the weighted cues look at: a prompt's words are only intersected with these."""


def signals(text: str, *, turns: int, prompt_tokens: int) -> dict[str, float]:
    """Each signal of the score, in [0, 1] (exposed so users can see why a prompt scored as it did)."""
    return {
        "length": length_signal(prompt_tokens),
        "turns": turns_signal(turns),
        **cue_flags(text),
    }


def complexity_score(text: str, *, turns: int = 1, prompt_tokens: int = 0) -> float:
    """Complexity of one prompt in [0, 1] (see the module docstring for the formula)."""
    return with_length(text_part(text, turns=turns), prompt_tokens)


def text_part(text: str, *, turns: int = 1) -> float:
    """The score before the length signal, which needs the token count (so the text can be scored
    while its tokens are still being counted)."""
    data = router_view(text).lower().encode()
    # Only the few cue words a prompt contains are kept (no set of all its words is built).
    found = frozenset(_WEIGHTED_WORDS.intersection(word_bytes(data)))
    specials = special_bytes(data)
    score = BASE + WEIGHTS["turns"] * turns_signal(turns)
    for name in WEIGHTED_CUES:
        if CUES[name].present(data, found, specials):
            score += WEIGHTS[name]
    return score


def text_parts(texts: Sequence[tuple[str, int]]) -> list[float]:
    """`text_part` of each (text, user turns) pair (one call per batch, for a worker process)."""
    return [text_part(text, turns=turns) for text, turns in texts]


def with_length(partial: float, prompt_tokens: int) -> float:
    """Add the length signal to `text_part` and clip to [0, 1]."""
    return min(1.0, max(0.0, partial + WEIGHTS["length"] * length_signal(prompt_tokens)))


def complexity_classes(scores: npt.NDArray[np.floating]) -> npt.NDArray[np.int8]:
    """0 simple, 1 medium, 2 complex; −1 where there is no score (NaN)."""
    classes = np.full(scores.shape, -1, dtype=np.int8)
    known = ~np.isnan(scores)
    classes[known & (scores < SIMPLE_BELOW)] = 0
    classes[known & (scores >= SIMPLE_BELOW) & (scores < COMPLEX_FROM)] = 1
    classes[known & (scores >= COMPLEX_FROM)] = 2
    return classes
