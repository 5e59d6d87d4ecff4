"""The billing rules some models need beyond the five token classes: a reasoning-token rate, an
audio-input rate, and both inside long-context tiers and batch. Every expected value is tokens ×
price per 1M, written out so it can be checked by hand."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from costaudit.config.pricing import PriceTable
from costaudit.core.pricing import assign, cost_lines, total_cost
from costaudit.core.request_table import RequestTable
from costaudit.ingest.formats.gemini import apply_usage as gemini_usage
from costaudit.ingest.formats.openai import apply_usage as openai_usage
from costaudit.ingest.table import Draft
from support import MakeRequests, MakeTable

M = Decimal(1_000_000)

THINKER = {
    "input": "0.8",
    "output": "2",
    "reasoning": "8",
    "tiers": [{"above_input_tokens": 32_000, "input": "1.2", "output": "3", "reasoning": "12"}],
    "batch": {"discount": "0.5"},
}
"""A Qwen-style model: thinking output billed at 4× the plain output rate, in every range."""

LISTENER = {
    "input": "2.5",
    "cached_input": "1.25",
    "audio_input": "40",
    "output": "10",
}
"""gpt-4o-audio style: audio input tokens at their own rate, text at the input rate."""


def price(table: PriceTable, requests: RequestTable) -> Decimal:
    lines = cost_lines(requests, table, assign(requests, table))
    return total_cost(lines)


def _fields(draft: Draft) -> dict[str, Any]:
    return {
        "input_tokens": draft.input_tokens,
        "cached_input_tokens": draft.cached_input_tokens,
        "output_tokens": draft.output_tokens,
        "reasoning_tokens": draft.reasoning_tokens,
        "audio_input_tokens": draft.audio_input_tokens,
    }


def test_reasoning_tokens_are_billed_at_their_own_rate(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    table = make_table(thinker=THINKER)
    requests = make_requests(
        {"model": "thinker", "input_tokens": 1000, "output_tokens": 500, "reasoning_tokens": 400}
    )
    expected = (1000 * Decimal("0.8") + 100 * Decimal(2) + 400 * Decimal(8)) / M
    assert price(table, requests) == expected == Decimal("0.0042")


def test_reasoning_rate_follows_the_long_context_tier(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    table = make_table(thinker=THINKER)
    requests = make_requests(
        {"model": "thinker", "input_tokens": 40_000, "output_tokens": 500, "reasoning_tokens": 400}
    )
    expected = (40_000 * Decimal("1.2") + 100 * Decimal(3) + 400 * Decimal(12)) / M
    assert price(table, requests) == expected == Decimal("0.0531")


def test_batch_discount_applies_to_the_reasoning_rate(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    table = make_table(thinker=THINKER)
    requests = make_requests(
        {
            "model": "thinker",
            "input_tokens": 1000,
            "output_tokens": 500,
            "reasoning_tokens": 400,
            "batch": True,
        }
    )
    expected = (1000 * Decimal("0.4") + 100 * Decimal(1) + 400 * Decimal(4)) / M
    assert price(table, requests) == expected == Decimal("0.0021")


def test_a_model_without_a_reasoning_rate_bills_reasoning_as_output(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    table = make_table(plain={"input": "0.8", "output": "2"})
    requests = make_requests(
        {"model": "plain", "input_tokens": 1000, "output_tokens": 500, "reasoning_tokens": 400}
    )
    assert price(table, requests) == (1000 * Decimal("0.8") + 500 * Decimal(2)) / M


def test_openai_audio_input_is_billed_at_the_audio_rate(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    draft = Draft()
    openai_usage(
        draft,
        {
            "prompt_tokens": 1200,
            "completion_tokens": 300,
            "prompt_tokens_details": {"cached_tokens": 100, "audio_tokens": 500},
        },
    )
    assert (draft.input_tokens, draft.cached_input_tokens, draft.audio_input_tokens) == (
        1200,
        100,
        500,
    )
    table = make_table(listener=LISTENER)
    requests = make_requests({**_fields(draft), "model": "listener"})
    expected = (
        600 * Decimal("2.5") + 100 * Decimal("1.25") + 500 * Decimal(40) + 300 * Decimal(10)
    ) / M
    assert price(table, requests) == expected == Decimal("0.024625")


def test_cached_audio_is_not_billed_twice(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    """Audio read from the cache is in `cached_tokens` already: only the rest is audio input."""
    draft = Draft()
    openai_usage(
        draft,
        {
            "prompt_tokens": 1200,
            "completion_tokens": 300,
            "prompt_tokens_details": {
                "cached_tokens": 300,
                "audio_tokens": 500,
                "cached_tokens_details": {"audio_tokens": 200, "text_tokens": 100},
            },
        },
    )
    assert draft.audio_input_tokens == 300
    table = make_table(listener=LISTENER)
    requests = make_requests({**_fields(draft), "model": "listener"})
    expected = (
        600 * Decimal("2.5") + 300 * Decimal("1.25") + 300 * Decimal(40) + 300 * Decimal(10)
    ) / M
    assert price(table, requests) == expected == Decimal("0.016875")


def test_gemini_audio_modality_is_billed_at_the_audio_rate(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    draft = Draft()
    gemini_usage(
        draft,
        {
            "promptTokenCount": 2000,
            "cachedContentTokenCount": 500,
            "candidatesTokenCount": 100,
            "promptTokensDetails": [
                {"modality": "TEXT", "tokenCount": 800},
                {"modality": "AUDIO", "tokenCount": 1200},
            ],
            "cacheTokensDetails": [{"modality": "AUDIO", "tokenCount": 500}],
        },
    )
    assert (draft.input_tokens, draft.cached_input_tokens, draft.audio_input_tokens) == (
        2000,
        500,
        700,
    )
    table = make_table(
        flash={"input": "0.30", "cached_input": "0.03", "audio_input": "1", "output": "2.50"}
    )
    requests = make_requests({**_fields(draft), "model": "flash"})
    expected = (
        800 * Decimal("0.30") + 500 * Decimal("0.03") + 700 * Decimal(1) + 100 * Decimal("2.50")
    ) / M
    assert price(table, requests) == expected == Decimal("0.001205")


def test_audio_without_an_audio_rate_costs_the_input_price(
    make_table: MakeTable, make_requests: MakeRequests
) -> None:
    table = make_table(plain={"input": "2.5", "output": "10"})
    with_audio = make_requests(
        {"model": "plain", "input_tokens": 1000, "audio_input_tokens": 400, "output_tokens": 10}
    )
    assert price(table, with_audio) == (1000 * Decimal("2.5") + 10 * Decimal(10)) / M
