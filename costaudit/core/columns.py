"""Names of the canonical request table's columns, shared by readers and computations."""

from __future__ import annotations

TOKEN_COLUMNS = (
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
    "audio_input_tokens",
)
"""Integer token counts per request. `input_tokens` includes cached, cache-written and audio input
tokens; `audio_input_tokens` counts the audio input tokens not read from the cache (billed at a
model's `audio_input` price where it has one); `output_tokens` includes reasoning."""
TOKEN_SOURCES = ("usage", "tokenized", "estimated")
"""Where a row's token counts come from: provider-reported, counted here, or a stand-in tokenizer."""
QUALITY_PREFIX = "quality:"
"""Column-name prefix of per-model quality labels (`quality:<model>`)."""
MEASURED_PREFIX = "prompt_tokens@"
"""Column-name prefix of a prompt's token count under another encoding (`prompt_tokens@o200k_base`)."""
