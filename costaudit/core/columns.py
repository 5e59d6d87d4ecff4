"""Names of the canonical request table's columns, shared by readers and computations."""

from __future__ import annotations

TOKEN_COLUMNS = (
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
)
TOKEN_SOURCES = ("usage", "tokenized", "estimated")
"""Where a row's token counts come from: provider-reported, counted here, or a stand-in tokenizer."""
QUALITY_PREFIX = "quality:"
"""Column-name prefix of per-model quality labels (`quality:<model>`)."""
MEASURED_PREFIX = "prompt_tokens@"
"""Column-name prefix of a prompt's token count under another encoding (`prompt_tokens@o200k_base`)."""
SCORE_PREFIX = "score:"
"""Column-name prefix of a fitted scorer's scores (`score:<scorer file as the scenario names it>`)."""
