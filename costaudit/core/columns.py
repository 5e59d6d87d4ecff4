"""Names of the canonical request table's columns, shared by readers and computations."""

from __future__ import annotations

from costaudit.config.pricing import TOKEN_CLASSES

TOKEN_COLUMNS = tuple(f"{name}_tokens" for name in TOKEN_CLASSES)
"""The request table's column of each token class (config/pricing.py), in the same order. `input`
includes cached, cache-written and audio input tokens; `cache_write` is every cache write
(`cache_write_1h` its 1-hour subset); `output` includes reasoning; `audio_input` counts the audio
input tokens not read from the cache."""
TOKEN_SOURCES = ("usage", "tokenized", "estimated")
"""Where a row's token counts come from: provider-reported, counted here, or a stand-in tokenizer."""
QUALITY_PREFIX = "quality:"
"""Column-name prefix of per-model quality labels (`quality:<model>`)."""
MEASURED_PREFIX = "prompt_tokens@"
"""Column-name prefix of a prompt's token count under another encoding (`prompt_tokens@o200k_base`)."""
RESERVED_COLUMNS = frozenset(
    {
        "timestamp",
        "model",
        "price_id",
        "batch",
        "token_source",
        "complexity",
        "prompt_hash",
        "relative_time",
        "source",
        "prefix_hashes",
        *TOKEN_COLUMNS,
    }
)
"""Canonical column names: never grouping keys."""
SCORE_PREFIX = "score:"
"""Column-name prefix of a fitted scorer's scores (`score:<scorer file as the scenario names it>`)."""
