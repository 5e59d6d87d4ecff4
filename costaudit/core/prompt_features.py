"""Lexical features of a prompt, for scorers fitted on a workload's own quality labels.

Two kinds, both read from the part of the last user turn a router sees (`complexity.router_view`):

- a few dense numbers (counts, shares and cue flags; `DENSE_FEATURES`), to which
  the log of the prompt's token count is added once the tokens are counted;
- the set of the prompt's tokens — lower-cased words, word pairs and punctuation marks — each as a
  32-bit hash, so a fitted scorer can learn which words and phrases mark the prompts that need the
  strong model (on MMLU, the subject's vocabulary; on GSM8K, how many quantities a problem juggles).

Nothing here keeps text: a prompt becomes numbers and hashes, and a fitted scorer stores only hashes
of tokens that occur in several labelled prompts (`router_fit.MIN_PROMPTS_PER_TOKEN`).
"""

from __future__ import annotations

import itertools
import math
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from costaudit.core.arrays import distinct
from costaudit.core.complexity import (
    Cue,
    router_view,
    turns_signal,
    word_bytes,
    words_of,
)

LENGTH_FEATURE = "log_prompt_tokens"
DENSE_FEATURES = (
    "turns",
    "code_words",
    "math_words",
    "reasoning_words",
    "constraint_words",
    "log_numbers",
    "numbers_per_word",
    "log_sentence_marks",
    "log_capitalised",
    "capitalised_per_word",
    "long_word_share",
    "mean_word_length",
    "distinct_word_share",
    "log_symbols",
    "log_lines",
    "log_questions",
    "log_quotes",
    "log_brackets",
)
"""Text features in the order a fitted scorer's weights follow (the length feature comes last)."""
FEATURES = (*DENSE_FEATURES, LENGTH_FEATURE)

PUNCTUATION = frozenset("$%()\"'=^:;?!_/*<>[]{}\\&@|~")
"""Punctuation marks that count as tokens of their own (a `$` or an `=` says something of the task)."""
SYMBOLS = "=+*/^<>\\$%"
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
LONG_WORD = 9

TASK_CUES = {
    "code_words": Cue.of(
        "python javascript typescript java c++ rust golang sql regex html css bash api code "
        "program implement algorithm debug bug compile recursion complexity function select",
        phrases=("data structure",),
        symbols=("```", "#include", "=>", "console."),
    ),
    "math_words": Cue.of(
        "solve calculate compute equation probability integral derivative prove theorem sum "
        "product percent ratio area volume triangle circle matrix vector prime factor remainder "
        "average",
        phrases=("how many", "how much", "value of", "expected value"),
        symbols=tuple("=≤≥∑∫√π"),
    ),
    "reasoning_words": Cue.of(
        "why explain reason think deduce infer justify analyze analyse evaluate compare contrast "
        "logic puzzle suppose assume implies therefore tradeoff tradeoffs trade-off trade-offs "
        "if each every relationship statement statements uncertain possible could",
        phrases=("step by step", "step-by-step", "which of", "true or false", "based on"),
    ),
    "constraint_words": Cue.of(
        "json yaml csv table exactly must format only",
        phrases=("at most", "at least", "no more than"),
    ),
}
"""Broader vocabularies of the same kinds of task as the built-in score's flags (any mention of a
quantity, a condition, a format): too common to weigh without labels, informative once a fitted scorer
learns from the labels which way they matter."""


@dataclass(frozen=True)
class PromptFeatures:
    """One prompt's features: the dense numbers (without the length) and its token hashes."""

    dense: tuple[float, ...]
    tokens: npt.NDArray[np.uint32]
    """Distinct token hashes, sorted."""


def token_hash(token: str) -> int:
    """CRC-32 of the token's UTF-8 bytes: stable across runs, processes and machines."""
    return zlib.crc32(token.encode())


def _dense(view: str, lowered: str, words: list[str], turns: int) -> tuple[float, ...]:
    count = len(words)
    per_word = 1.0 / max(count, 1)
    capitalised = sum(1 for word in view.split()[1:] if word[:1].isupper())
    numbers = len(_NUMBER.findall(view))
    data = lowered.encode()
    present = frozenset(word_bytes(data))
    flags = [float(cue.present(data, present)) for cue in TASK_CUES.values()]
    return (
        turns_signal(turns),
        *flags,
        math.log1p(numbers),
        numbers * per_word,
        math.log1p(view.count(".") + view.count("?") + view.count("!")),
        math.log1p(capitalised),
        capitalised * per_word,
        sum(1 for word in words if len(word) >= LONG_WORD) * per_word,
        sum(len(word) for word in words) * per_word,
        len(set(words)) * per_word,
        math.log1p(sum(view.count(symbol) for symbol in SYMBOLS)),
        math.log1p(view.count("\n")),
        math.log1p(view.count("?")),
        math.log1p(view.count('"') + view.count("'") + view.count("“") + view.count("”")),
        math.log1p(view.count("(")),
    )


def _tokens(view: str, words: list[str]) -> npt.NDArray[np.uint32]:
    found = set(words)
    found.update(f"{first} {second}" for first, second in itertools.pairwise(words))
    found.update(mark for mark in PUNCTUATION if mark in view)
    return distinct(np.fromiter((token_hash(t) for t in found), dtype=np.uint32, count=len(found)))


def prompt_features(text: str, turns: int = 1) -> PromptFeatures:
    """The features of one prompt (the last user turn's text and the number of user turns)."""
    view = router_view(text)
    lowered = view.lower()
    words = words_of(lowered)
    return PromptFeatures(_dense(view, lowered, words, turns), _tokens(view, words))


def length_feature(prompt_tokens: int) -> float:
    return math.log(max(prompt_tokens, 1))


def dense_matrix(
    features: Sequence[PromptFeatures], prompt_tokens: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """Rows of FEATURES: each prompt's dense features and the log of its token count."""
    matrix = np.empty((len(features), len(FEATURES)))
    for row, item in enumerate(features):
        matrix[row, :-1] = item.dense
    matrix[:, -1] = np.log(np.maximum(prompt_tokens, 1))
    return matrix


@dataclass(frozen=True)
class TokenSets:
    """The token hashes of many prompts, flat: prompt `i` owns `hashes[offsets[i]:offsets[i + 1]]`."""

    hashes: npt.NDArray[np.uint32]
    offsets: npt.NDArray[np.int64]

    @classmethod
    def of(cls, features: Sequence[PromptFeatures]) -> TokenSets:
        sizes = np.fromiter((len(f.tokens) for f in features), dtype=np.int64, count=len(features))
        offsets = np.zeros(len(features) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        hashes = (
            np.concatenate([f.tokens for f in features])
            if features
            else np.zeros(0, dtype=np.uint32)
        )
        return cls(hashes.astype(np.uint32), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def owners(self) -> npt.NDArray[np.int64]:
        """The prompt each hash belongs to."""
        return np.repeat(np.arange(len(self), dtype=np.int64), np.diff(self.offsets))

    def subset(self, rows: npt.NDArray[np.int64]) -> TokenSets:
        starts, ends = self.offsets[rows], self.offsets[rows + 1]
        sizes = ends - starts
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        positions = np.repeat(starts - offsets[:-1], sizes) + np.arange(offsets[-1])
        return TokenSets(self.hashes[positions], offsets)
