"""Deterministic log generator for the benchmarks (same kind, size and seed → same bytes).

Kinds (one JSON object per line):

- `openai-usage`: OpenAI Chat Completions response bodies with `usage` and no prompt text (what an
  SDK wrapper that logs responses writes); the completion content is a short placeholder.
- `openai-usage-text`: the same records with a real completion text (about 1.5 KB more per line),
  so the file is several times larger for the same request table (the peak-RSS check).
- `openai-text`: OpenAI gateway lines `{timestamp, request: {model, messages, user, metadata},
  response: {…, choices}}` with the prompt and completion text and NO `usage`, so `analyze` must
  tokenize every message and completion. Prompts are a few hundred tokens of varied English after
  one of six SHARED system prompts (most requests of an application start with the same one).
- `openai-distinct-text`: the same gateway lines, but every prompt is one DISTINCT user message of
  50–900 words (uniformly drawn) and nothing is shared, so every prompt is tokenized and scored.
- `openai-batch-output`: OpenAI Batch API output lines `{id, custom_id, response: {status_code,
  request_id, body}, error}` of requests that succeeded, whose bodies are the `openai-usage` records
  (the same usage, line for line).
- `anthropic-messages`: Anthropic Messages API response bodies with `usage`, each with the
  `timestamp` and `metadata` a logging wrapper adds, no prompt text.
- `anthropic-batch`: Anthropic Message Batches result lines `{custom_id, timestamp, result:
  {type, message: {…, usage}}}` (about 1% errored or expired), as a logging wrapper keeps them.
- `helicone-export`: Helicone request rows as its export tool writes JSON lines (`npx @helicone/export
  --format jsonl`, one `HeliconeRequest` of `POST /v1/request/query-clickhouse` per line, without
  bodies), OpenAI and Anthropic models, custom properties, about 1% failed requests and 2%
  response-cache hits (zero tokens).
- `litellm-spend-logs`: LiteLLM proxy spend-log rows (the `LiteLLM_SpendLogs` table, one row per
  call) of OpenAI and Anthropic models, as the proxy stores them unless prompts are stored: empty
  `messages` and `response`, the provider's usage in `metadata.usage_object`, the caller's
  `spend_logs_metadata`; about 1% response-cache hits and 0.5% failed calls.
- `gemini-responses`: Vertex AI Gemini `generateContent` response bodies as on the wire (camelCase
  `usageMetadata` with its modality breakdowns, `modelVersion`, `createTime`, `responseId`), thinking
  and implicit-cache counts where the model has them, no prompt text.

The text comes from word lists in this file, combined by a seeded `random.Random` (whose sequences
are stable across Python versions), never from copied prose.

    python bench/generate.py openai-text 100000 bench/data/openai-text-100000.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

GENERATOR_VERSION = 1
"""Bumped whenever the output for a given (kind, n, seed) changes, so cached files are rebuilt."""

KINDS = (
    "openai-usage",
    "openai-usage-text",
    "openai-text",
    "openai-distinct-text",
    "openai-batch-output",
    "anthropic-messages",
    "anthropic-batch",
    "helicone-export",
    "litellm-spend-logs",
    "gemini-responses",
)
DISTINCT_WORDS = (50, 900)
"""Words per prompt of the `openai-distinct-text` file (uniform)."""
START = datetime(2026, 10, 1, tzinfo=UTC)

# --- word lists (written for this benchmark) ------------------------------------------------------

NOUNS = (
    "account", "invoice", "server", "cluster", "bucket", "report", "customer", "ticket", "release",
    "budget", "schedule", "contract", "dashboard", "pipeline", "region", "volume", "backup",
    "table", "query", "index", "cache", "token", "session", "payment", "refund", "vendor",
    "warehouse", "shipment", "order", "catalogue", "supplier", "forecast", "metric", "alert",
    "deadline", "meeting", "summary", "proposal", "draft", "policy", "permission", "role",
    "password", "certificate", "domain", "endpoint", "request", "response", "payload", "header",
    "library", "package", "module", "function", "variable", "test", "build", "branch", "commit",
    "review", "migration", "schema", "column", "record", "export", "import", "upload", "download",
    "network", "latency", "throughput", "capacity", "quota", "limit", "plan", "subscription",
    "discount", "price", "margin", "revenue", "cost", "estimate", "model", "prompt", "answer",
    "question", "document", "paragraph", "sentence", "chapter", "article", "recipe", "garden",
    "river", "mountain", "village", "harbour", "bridge", "station", "train", "bicycle", "kitchen",
    "window", "library", "museum", "teacher", "student", "lesson", "exam", "holiday", "weekend",
    "journey", "map", "compass", "lantern", "orchard", "meadow", "festival", "concert", "album",
)  # fmt: skip
VERBS = (
    "checks", "updates", "returns", "rejects", "accepts", "moves", "copies", "deletes", "creates",
    "explains", "describes", "compares", "summarises", "reviews", "measures", "predicts",
    "schedules", "cancels", "renews", "exports", "imports", "uploads", "downloads", "builds",
    "tests", "deploys", "monitors", "restarts", "throttles", "caches", "indexes", "queries",
    "prices", "approves", "declines", "forwards", "archives", "restores", "encrypts", "signs",
    "validates", "merges", "splits", "sorts", "filters", "groups", "counts", "collects", "writes",
    "reads", "visits", "crosses", "follows", "paints", "plants", "carries", "opens", "closes",
)  # fmt: skip
ADJECTIVES = (
    "quick", "slow", "reliable", "fragile", "expensive", "cheap", "recent", "old", "large",
    "small", "quiet", "busy", "empty", "full", "secure", "public", "private", "shared", "local",
    "remote", "daily", "weekly", "monthly", "annual", "urgent", "optional", "missing", "duplicate",
    "broken", "stable", "new", "final", "initial", "careful", "simple", "complex", "green",
    "bright", "narrow", "wide", "gentle", "steep", "distant", "nearby", "wooden", "silver",
)  # fmt: skip
ADVERBS = (
    "quickly", "carefully", "rarely", "often", "usually", "silently", "twice", "again", "early",
    "late", "gradually", "suddenly", "manually", "automatically", "safely", "partly",
)  # fmt: skip
PREPOSITIONS = (
    "in", "on", "from", "into", "after", "before", "during", "with", "without", "behind",
    "across", "under", "over", "near", "beside", "through", "for",
)  # fmt: skip
NAMES = (
    "Ada", "Bruno", "Chiara", "Dmitri", "Esther", "Farid", "Greta", "Hiro", "Ines", "Jonas",
    "Kemal", "Lucia", "Mateo", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tamar",
)  # fmt: skip
TEMPLATES = (
    "The {a} {n} {v} the {n2} {p} the {a2} {n3}.",
    "{N} {v} every {n} {d}, but the {a} {n2} {v2} it {p} {num} minutes.",
    "Why does the {n} {v} the {a} {n2} {p} each {n3}?",
    "Please {vb} the {n} and tell me whether the {a} {n2} is {a2}.",
    "After {num} days the {a} {n} {d} {v} a {n2} {p} the {n3}.",
    "{N} asked if the {n} could {vb} the {a} {n2} before {N2} {v} the {n3}.",
    "We keep {num} {n}s {p} the {a} {n2}, and the {n3} {v} them {d}.",
    "If the {n} is {a}, the {n2} {v} the {n3}; otherwise it {v2} nothing.",
    "Could you {vb} the {a} {n} {p} {num} {n2}s and list the {a2} ones?",
    "The {n} of the {a} {n2} {d} {v} the {n3} {p} a {a2} {n4}.",
    "Step {num}: {vb} the {n}, then {vb2} the {a} {n2}.",
    "{N} and {N2} {v} the {a} {n} {p} the {n2} {d}.",
)  # fmt: skip

SYSTEM_OPENINGS = (
    "You are a helpful assistant for an operations team.",
    "You are a careful support agent who answers in short paragraphs.",
    "You are a billing assistant; quote amounts with two decimals.",
    "You are a code reviewer who explains each suggestion.",
    "You are a travel planner who prefers trains to planes.",
    "You summarise documents for busy managers.",
)  # fmt: skip

OPENAI_MODELS = (
    ("gpt-4o-mini", "gpt-4o-mini-2024-07-18", 0.40),
    ("gpt-4o", "gpt-4o-2024-08-06", 0.25),
    ("gpt-4.1-mini", "gpt-4.1-mini-2025-04-14", 0.15),
    ("gpt-4.1", "gpt-4.1-2025-04-14", 0.12),
    ("o4-mini", "o4-mini-2025-04-16", 0.08),
)
ANTHROPIC_MODELS = (
    ("claude-sonnet-4-5-20250929", 0.6),
    ("claude-haiku-4-5-20251001", 0.4),
)
GEMINI_MODELS = (
    # modelVersion, share of requests, share that think, share with a search tool's prompt
    ("gemini-2.5-flash", 0.55, 0.5, 0.05),
    ("gemini-2.5-pro", 0.2, 1.0, 0.1),
    ("gemini-2.0-flash-001", 0.15, 0.0, 0.0),
    ("gemini-3.1-pro-preview", 0.1, 1.0, 0.1),
)
GEMINI_CACHE_MINIMUM = 2048
"""Prompt tokens below which Gemini's implicit cache serves nothing (2.5 Flash and Pro)."""
FEATURES = ("chat", "search", "summarize", "code-review", "reports", "triage")
TENANTS = ("acme-eu", "acme-us", "globex", "initech", "umbrella", "hooli", "stark")
USERS = tuple(f"user-{n:04d}" for n in range(1, 801))
SENTENCE_POOL = 4096


# --- text -----------------------------------------------------------------------------------------


def _verb_base(verb: str) -> str:
    """`checks` → `check`, `approves` → `approve`, `crosses` → `cross`, `carries` → `carry`."""
    if verb.endswith("ies"):
        return verb[:-3] + "y"
    if verb.endswith(("sses", "shes", "ches", "xes")):
        return verb[:-2]
    return verb[:-1]


def sentence(rng: random.Random) -> str:
    template = rng.choice(TEMPLATES)
    text = template.format(
        a=rng.choice(ADJECTIVES),
        a2=rng.choice(ADJECTIVES),
        n=rng.choice(NOUNS),
        n2=rng.choice(NOUNS),
        n3=rng.choice(NOUNS),
        n4=rng.choice(NOUNS),
        v=rng.choice(VERBS),
        v2=rng.choice(VERBS),
        vb=_verb_base(rng.choice(VERBS)),
        vb2=_verb_base(rng.choice(VERBS)),
        p=rng.choice(PREPOSITIONS),
        d=rng.choice(ADVERBS),
        N=rng.choice(NAMES),
        N2=rng.choice(NAMES),
        num=rng.randint(2, 9999),
    )
    return text[0].upper() + text[1:]


@dataclass(frozen=True)
class TextPool:
    """Pre-built sentences and system prompts; records pick from them (fast, still varied)."""

    sentences: tuple[str, ...]
    systems: tuple[str, ...]

    @classmethod
    def build(cls, seed: int) -> TextPool:
        rng = random.Random(f"pool-{seed}")
        sentences = tuple(sentence(rng) for _ in range(SENTENCE_POOL))
        systems = tuple(
            " ".join([opening, *(sentence(rng) for _ in range(rng.randint(6, 14)))])
            for opening in SYSTEM_OPENINGS
        )
        return cls(sentences=sentences, systems=systems)

    def paragraph(self, rng: random.Random, count: int) -> str:
        pool = self.sentences
        size = len(pool)
        return " ".join(pool[int(rng.random() * size)] for _ in range(count))


def _user_sentences(rng: random.Random) -> int:
    """Sentences in a user message: mostly 4–20, a tail up to 40 (a few hundred tokens in all)."""
    return min(40, 2 + int(rng.lognormvariate(2.2, 0.6)))


# --- records --------------------------------------------------------------------------------------


def _pick(rng: random.Random, weighted: tuple[tuple[Any, ...], ...]) -> tuple[Any, ...]:
    point = rng.random() * sum(item[-1] for item in weighted)
    for item in weighted:
        point -= item[-1]
        if point < 0:
            return item
    return weighted[-1]


def _clock(rng: random.Random) -> Iterator[datetime]:
    moment = START
    while True:
        moment += timedelta(milliseconds=int(rng.expovariate(1 / 250)))
        yield moment


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _openai_usage(rng: random.Random, reasoning_share: float) -> dict[str, Any]:
    prompt = 200 + int(rng.lognormvariate(6.6, 0.8))
    cached = (prompt // 128) * 128 if prompt >= 1024 and rng.random() < 0.45 else 0
    completion = 10 + int(rng.lognormvariate(5.3, 0.7))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": int(completion * reasoning_share),
            "audio_tokens": 0,
        },
    }


def openai_usage_record(
    rng: random.Random, index: int, moment: datetime, content: str
) -> dict[str, Any]:
    _, dated, _ = _pick(rng, OPENAI_MODELS)
    usage = _openai_usage(rng, 0.6 if dated.startswith("o4") else 0.0)
    return {
        "id": f"chatcmpl-b{index:09d}",
        "object": "chat.completion",
        "created": int(moment.timestamp()),
        "model": dated,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": usage,
        "service_tier": "default",
        "system_fingerprint": f"fp_{rng.getrandbits(40):010x}",
    }


def openai_batch_output_record(rng: random.Random, index: int, moment: datetime) -> dict[str, Any]:
    """The `openai-usage` record of the same index as the body of a succeeded batch request."""
    return {
        "id": f"batch_req_{index:09d}",
        "custom_id": f"request-{index}",
        "response": {
            "status_code": 200,
            "request_id": f"req_{index:09d}",
            "body": openai_usage_record(rng, index, moment, "(omitted)"),
        },
        "error": None,
    }


def openai_text_record(
    rng: random.Random, index: int, moment: datetime, pool: TextPool
) -> dict[str, Any]:
    alias, dated, _ = _pick(rng, OPENAI_MODELS)
    messages = [{"role": "system", "content": rng.choice(pool.systems)}]
    if rng.random() < 0.2:
        messages.append({"role": "user", "content": pool.paragraph(rng, rng.randint(1, 4))})
        messages.append({"role": "assistant", "content": pool.paragraph(rng, rng.randint(2, 6))})
    messages.append({"role": "user", "content": pool.paragraph(rng, _user_sentences(rng))})
    answer = pool.paragraph(rng, rng.randint(2, 10))
    return {
        "timestamp": _iso(moment),
        "request": {
            "model": alias,
            "messages": messages,
            "temperature": 0.2,
            "user": rng.choice(USERS),
            "metadata": {"feature": rng.choice(FEATURES), "tenant": rng.choice(TENANTS)},
        },
        "response": {
            "id": f"chatcmpl-t{index:09d}",
            "object": "chat.completion",
            "created": int(moment.timestamp()),
            "model": dated,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer},
                    "finish_reason": "stop",
                }
            ],
        },
    }


def distinct_prompt(rng: random.Random, pool: TextPool, index: int) -> str:
    """A user message of a uniformly drawn 50–900 words that no other record repeats (it opens with
    its own number)."""
    target = rng.randint(*DISTINCT_WORDS)
    words = ["Request", f"{index}:"]
    while len(words) < target:
        words.extend(pool.sentences[int(rng.random() * len(pool.sentences))].split())
    return " ".join(words[:target])


def openai_distinct_text_record(
    rng: random.Random, index: int, moment: datetime, pool: TextPool
) -> dict[str, Any]:
    record = openai_text_record(rng, index, moment, pool)
    record["request"]["messages"] = [{"role": "user", "content": distinct_prompt(rng, pool, index)}]
    return record


def anthropic_batch_record(rng: random.Random, index: int, moment: datetime) -> dict[str, Any]:
    model, _ = _pick(rng, ANTHROPIC_MODELS)
    outcome = rng.random()
    record: dict[str, Any] = {
        "custom_id": f"job-{index:09d}",
        "timestamp": _iso(moment),
        "metadata": {"feature": rng.choice(FEATURES), "tenant": rng.choice(TENANTS)},
    }
    if outcome < 0.005:
        record["result"] = {"type": "expired"}
        return record
    if outcome < 0.01:
        record["result"] = {
            "type": "errored",
            "error": {"type": "invalid_request_error", "message": "prompt is too long"},
        }
        return record
    record["result"] = {
        "type": "succeeded",
        "message": anthropic_message(rng, f"msg_b{index:09d}", model, "batch"),
    }
    return record


def anthropic_message(
    rng: random.Random, message_id: str, model: str, service_tier: str
) -> dict[str, Any]:
    """A Messages API response body with usage: cache reads, or else sometimes cache writes (a
    share of them for one hour), lognormal input and output."""
    cache_read = rng.choice((0, 0, 2048, 4096, 8192))
    written = 0 if cache_read or rng.random() < 0.5 else rng.choice((1024, 2048, 4096))
    one_hour = written if rng.random() < 0.3 else 0
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": "(omitted)"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 100 + int(rng.lognormvariate(7.0, 0.7)),
            "cache_creation_input_tokens": written,
            "cache_read_input_tokens": cache_read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": written - one_hour,
                "ephemeral_1h_input_tokens": one_hour,
            },
            "output_tokens": 20 + int(rng.lognormvariate(6.0, 0.6)),
            "service_tier": service_tier,
        },
    }


def anthropic_message_record(rng: random.Random, index: int, moment: datetime) -> dict[str, Any]:
    """A Messages API response body (standard tier) with the wrapper's time and metadata."""
    model, _ = _pick(rng, ANTHROPIC_MODELS)
    return {
        **anthropic_message(rng, f"msg_{index:09d}", model, "standard"),
        "timestamp": _iso(moment),
        "metadata": {"feature": rng.choice(FEATURES), "tenant": rng.choice(TENANTS)},
    }


HELICONE_PROVIDERS = (
    ("OPENAI", "https://api.openai.com/v1/chat/completions", 0.7),
    ("ANTHROPIC", "https://api.anthropic.com/v1/messages", 0.3),
)
NO_CACHE_HIT = "00000000-0000-0000-0000-000000000000"
COUNTRIES = ("US", "DE", "GB", "FR", "IN", "BR", "JP", "CA")


def _uuid(rng: random.Random, index: int) -> str:
    """A version-4 style id whose last group is the index, so no two records share one."""
    return (
        f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-4{rng.getrandbits(12):03x}-"
        f"{8 | rng.getrandbits(2):x}{rng.getrandbits(12):03x}-{index:012x}"
    )


def _helicone_usage(rng: random.Random, provider: str) -> dict[str, int]:
    """Helicone's additive token parts: `prompt_tokens` excludes cache reads and writes (for
    OpenAI too, whose cached tokens Helicone moves out of the prompt count)."""
    if provider == "OPENAI":
        usage = _openai_usage(rng, 0.0)
        cached = usage["prompt_tokens_details"]["cached_tokens"]
        prompt, reads, writes = usage["prompt_tokens"] - cached, cached, 0
        completion = usage["completion_tokens"]
    else:
        reads = rng.choice((0, 0, 2048, 4096, 8192))
        writes = 0 if reads or rng.random() < 0.5 else rng.choice((1024, 2048, 4096))
        prompt = 100 + int(rng.lognormvariate(7.0, 0.7))
        completion = 20 + int(rng.lognormvariate(6.0, 0.6))
    return {
        "total_tokens": prompt + reads + writes + completion,
        "prompt_tokens": prompt,
        "prompt_cache_write_tokens": writes,
        "prompt_cache_read_tokens": reads,
        "completion_tokens": completion,
        "prompt_audio_tokens": 0,
        "completion_audio_tokens": 0,
    }


def helicone_record(rng: random.Random, index: int, moment: datetime) -> dict[str, Any]:
    """One request row as Helicone's export tool writes it to JSON lines (https://docs.helicone.ai/
    tools/export: `npx @helicone/export --format jsonl`, which writes each row of
    `POST /v1/request/query-clickhouse` as one line, see examples/export/typescript/index.ts in
    github.com/Helicone/helicone): the fields of its `HeliconeRequest` type (packages/llm-mapper/
    types.ts there), the shape of tests/data/logs/helicone.jsonl. Failed requests and
    response-cache hits carry zero tokens."""
    provider, target_url, _ = _pick(rng, HELICONE_PROVIDERS)
    if provider == "OPENAI":
        requested, model, _ = _pick(rng, OPENAI_MODELS)
    else:
        model, _ = _pick(rng, ANTHROPIC_MODELS)
        requested = model
    outcome = rng.random()
    status = rng.choice((429, 500, 503)) if outcome < 0.01 else 200
    cache_hit = 0.01 <= outcome < 0.03
    usage = _helicone_usage(rng, provider)
    if status != 200 or cache_hit:
        usage = dict.fromkeys(usage, 0)
    delay = 150 + int(rng.lognormvariate(6.5, 0.6))
    properties = {"feature": rng.choice(FEATURES), "tenant": rng.choice(TENANTS)}
    return {
        "response_id": _uuid(rng, index),
        "response_created_at": _iso(moment + timedelta(milliseconds=delay)),
        "response_status": status,
        "response_model": model,
        "request_id": _uuid(rng, index),
        "request_created_at": _iso(moment),
        "request_path": target_url.split(".com", 1)[1],
        "request_user_id": rng.choice(USERS),
        "request_properties": properties,
        "request_model": requested,
        "model_override": None,
        "helicone_user": None,
        "provider": provider,
        "delay_ms": delay,
        "time_to_first_token": delay // 3,
        **usage,
        "prompt_id": None,
        "llmSchema": None,
        "country_code": rng.choice(COUNTRIES),
        "asset_ids": None,
        "asset_urls": None,
        "scores": {},
        "costUSD": round(usage["total_tokens"] * 2.5e-6, 8),
        "properties": properties,
        "assets": [],
        "target_url": target_url,
        "model": model,
        "cache_reference_id": _uuid(rng, max(index - 1, 0)) if cache_hit else NO_CACHE_HIT,
        "cache_enabled": cache_hit or rng.random() < 0.1,
    }


LITELLM_MODELS = (
    ("gpt-4o-mini", "gpt-4o-mini-2024-07-18", "openai", 0.30),
    ("gpt-4o", "gpt-4o-2024-08-06", "openai", 0.20),
    ("gpt-4.1-mini", "gpt-4.1-mini-2025-04-14", "openai", 0.15),
    ("o4-mini", "o4-mini-2025-04-16", "openai", 0.05),
    ("claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "anthropic", 0.20),
    ("claude-haiku-4-5", "claude-haiku-4-5-20251001", "anthropic", 0.10),
)
"""(model group, model, provider, share) of the proxy's traffic."""
LITELLM_KEYS = tuple(
    (f"{feature}-svc", f"team-{feature}", hashlib.sha256(feature.encode()).hexdigest())
    for feature in FEATURES
)
"""(key alias, team, hashed key) of the proxy's virtual keys, one per feature."""


def _litellm_usage(rng: random.Random, provider: str, model: str) -> dict[str, Any]:
    """`metadata.usage_object` as LiteLLM records it: OpenAI's usage, or Anthropic's folded into
    the OpenAI convention (prompt_tokens = uncached + cache reads + cache writes)."""
    if provider == "openai":
        usage = _openai_usage(rng, 0.6 if model.startswith("o4") else 0.0)
        usage["completion_tokens_details"]["accepted_prediction_tokens"] = 0
        usage["prompt_tokens_details"]["text_tokens"] = None
        return usage
    message = anthropic_message(rng, "", model, "standard")["usage"]
    reads = message["cache_read_input_tokens"]
    writes = message["cache_creation_input_tokens"]
    prompt = message["input_tokens"] + reads + writes
    return {
        "completion_tokens": message["output_tokens"],
        "prompt_tokens": prompt,
        "total_tokens": prompt + message["output_tokens"],
        "prompt_tokens_details": {
            "cached_tokens": reads,
            "cache_creation_tokens": writes,
            "cache_creation_token_details": message["cache_creation"],
        },
        "cache_creation_input_tokens": writes,
        "cache_read_input_tokens": reads,
    }


def litellm_spend_log_record(rng: random.Random, index: int, moment: datetime) -> dict[str, Any]:
    """One `LiteLLM_SpendLogs` row as `/spend/logs` returns it and the proxy's database export
    keeps it (the table of LiteLLM's schema.prisma; docs.litellm.ai/docs/proxy/cost_tracking and
    /docs/proxy/ui_logs: prompts are not stored by default, so `messages` and `response` are `{}`)."""
    group, model, provider, _ = _pick(rng, LITELLM_MODELS)
    alias, team, key = rng.choice(LITELLM_KEYS)
    feature = alias.removesuffix("-svc")
    usage = _litellm_usage(rng, provider, model)
    outcome = rng.random()
    hit, failed = outcome < 0.01, 0.01 <= outcome < 0.015
    if failed:
        usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    latency = timedelta(milliseconds=200 + int(rng.lognormvariate(6.5, 0.7)))
    spend = 0.0 if hit or failed else round(usage["total_tokens"] * 2.5e-06, 8)
    user = rng.choice(USERS)
    caller: dict[str, Any] | None = {"feature": feature, "tenant": rng.choice(TENANTS)}
    if rng.random() < 0.1:
        caller = None
    return {
        "request_id": f"chatcmpl-{rng.getrandbits(64):016x}-{index:09d}",
        "call_type": "acompletion",
        "api_key": key,
        "spend": spend,
        "total_tokens": usage["total_tokens"],
        "prompt_tokens": usage["prompt_tokens"],
        "completion_tokens": usage["completion_tokens"],
        "startTime": _iso_us(moment),
        "endTime": _iso_us(moment + latency),
        "completionStartTime": _iso_us(moment + latency / 3),
        "model": model,
        "model_id": hashlib.sha256(model.encode()).hexdigest()[:32],
        "model_group": group,
        "custom_llm_provider": provider,
        "api_base": f"https://api.{provider}.com/v1",
        "user": user,
        "team_id": team,
        "organization_id": None,
        "end_user": rng.choice(TENANTS) if rng.random() < 0.5 else "",
        "requester_ip_address": f"10.0.{rng.randrange(256)}.{rng.randrange(256)}",
        "metadata": {
            "batch_models": None,
            "usage_object": usage,
            "user_api_key": key,
            "user_api_key_alias": alias,
            "user_api_key_team_id": team,
            "user_api_key_org_id": None,
            "user_api_key_user_id": user,
            "user_api_key_team_alias": feature,
            "spend_logs_metadata": caller,
            "requester_ip_address": None,
            "applied_guardrails": [],
            "additional_usage_values": {},
            "status": "failure" if failed else "success",
            "error_information": {"error_code": "429", "error_class": "RateLimitError"}
            if failed
            else None,
        },
        "cache_hit": "True" if hit else "False",
        "cache_key": "Cache OFF",
        "request_tags": [f"feature:{feature}"] if rng.random() < 0.7 else [],
        "messages": {},
        "response": {},
        "session_id": f"{rng.getrandbits(128):032x}",
        "status": "failure" if failed else "success",
        "proxy_server_request": {},
    }


def _iso_us(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _vertex_time(moment: datetime, rng: random.Random) -> str:
    """`createTime` as Vertex writes a protobuf Timestamp in JSON: UTC, `Z`, microseconds."""
    moment += timedelta(microseconds=rng.randrange(1000))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def gemini_response_record(rng: random.Random, index: int, moment: datetime) -> dict[str, Any]:
    """A Vertex AI `generateContent` response body, in the shape of Google's API reference (the
    JSON field names of the API's discovery document): GenerateContentResponse `candidates`,
    `createTime`, `modelVersion`, `responseId`, `usageMetadata`
    (https://pub.dev/documentation/googleapis/latest/aiplatform_v1/GoogleCloudAiplatformV1GenerateContentResponse-class.html),
    and its UsageMetadata `promptTokenCount` (which includes the cached content),
    `cachedContentTokenCount`, `candidatesTokenCount`, `thoughtsTokenCount`,
    `toolUsePromptTokenCount`, `totalTokenCount` (the sum of prompt, candidates, tool-use prompt and
    thoughts), `promptTokensDetails`/`cacheTokensDetails`/`candidatesTokensDetails` of `{modality,
    tokenCount}` and `trafficType`
    (https://pub.dev/documentation/googleapis/latest/aiplatform_v1/GoogleCloudAiplatformV1GenerateContentResponseUsageMetadata-class.html;
    the same fields in Google's Vertex AI V1 client reference,
    https://docs.cloud.google.com/ruby/docs/reference/google-cloud-ai_platform-v1/latest/Google-Cloud-AIPlatform-V1-GenerateContentResponse-UsageMetadata).
    An absent count is left out, as the API leaves out zero counts."""
    model, _, thinking_share, tool_share = _pick(rng, GEMINI_MODELS)
    prompt = 50 + int(rng.lognormvariate(7.0, 0.9))
    cached = 0
    if model != "gemini-2.0-flash-001" and prompt >= GEMINI_CACHE_MINIMUM and rng.random() < 0.4:
        cached = int(prompt * rng.uniform(0.5, 0.95))
    candidates = 5 + int(rng.lognormvariate(5.4, 0.8))
    thoughts = int(rng.lognormvariate(6.3, 0.9)) if rng.random() < thinking_share else 0
    tool_prompt = 100 + int(rng.lognormvariate(6.0, 0.5)) if rng.random() < tool_share else 0
    usage: dict[str, Any] = {"promptTokenCount": prompt, "candidatesTokenCount": candidates}
    if cached:
        usage["cachedContentTokenCount"] = cached
    if tool_prompt:
        usage["toolUsePromptTokenCount"] = tool_prompt
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    usage["totalTokenCount"] = prompt + candidates + tool_prompt + thoughts
    usage["trafficType"] = "ON_DEMAND"
    usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": prompt}]
    if cached:
        usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": cached}]
    usage["candidatesTokensDetails"] = [{"modality": "TEXT", "tokenCount": candidates}]
    return {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": "(omitted)"}]},
                "finishReason": "STOP",
                "avgLogprobs": round(-rng.expovariate(4.0), 6),
            }
        ],
        "usageMetadata": usage,
        "modelVersion": model,
        "createTime": _vertex_time(moment, rng),
        "responseId": f"{index:08x}{rng.getrandbits(64):016x}",
    }


RecordFn = Callable[[random.Random, int, datetime], dict[str, Any]]


def _record_fn(kind: str, pool: TextPool, seed: int) -> RecordFn:
    if kind == "openai-usage":
        return lambda rng, index, moment: openai_usage_record(rng, index, moment, "(omitted)")
    if kind == "openai-usage-text":
        # The text has its own generator, so the usage is the same as in `openai-usage`.
        text_rng = random.Random(f"completion-text-{seed}")

        def with_text(rng: random.Random, index: int, moment: datetime) -> dict[str, Any]:
            text = pool.paragraph(text_rng, text_rng.randint(12, 24))
            return openai_usage_record(rng, index, moment, text)

        return with_text
    if kind == "openai-text":
        return lambda rng, index, moment: openai_text_record(rng, index, moment, pool)
    if kind == "openai-distinct-text":
        return lambda rng, index, moment: openai_distinct_text_record(rng, index, moment, pool)
    if kind == "openai-batch-output":
        return openai_batch_output_record
    if kind == "anthropic-messages":
        return anthropic_message_record
    if kind == "anthropic-batch":
        return anthropic_batch_record
    if kind == "helicone-export":
        return helicone_record
    if kind == "litellm-spend-logs":
        return litellm_spend_log_record
    if kind == "gemini-responses":
        return gemini_response_record
    raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")


def records(kind: str, count: int, seed: int = 1) -> Iterator[dict[str, Any]]:
    """`count` records of `kind`, in time order."""
    pool = TextPool.build(seed)
    make = _record_fn(kind, pool, seed)
    stream = "openai-usage" if kind in {"openai-usage-text", "openai-batch-output"} else kind
    rng = random.Random(f"{stream}-{seed}")
    clock = _clock(rng)
    for index in range(count):
        yield make(rng, index, next(clock))


def write(kind: str, count: int, path: Path, seed: int = 1) -> Path:
    """Write the file atomically (a partial file never has the final name) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    batch: list[bytes] = []
    with partial.open("wb") as out:
        for record in records(kind, count, seed):
            batch.append(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
            if len(batch) >= 10_000:
                out.write(b"".join(batch))
                batch.clear()
        out.write(b"".join(batch))
    partial.replace(path)
    return path


def cached_file(data_dir: Path, kind: str, count: int, seed: int = 1) -> Path:
    """The generated file for (kind, count, seed) in `data_dir`, generated only when missing."""
    path = data_dir / f"{kind}-{count}-s{seed}-v{GENERATOR_VERSION}.jsonl"
    if not path.is_file():
        write(kind, count, path, seed)
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("count", type=int, help="number of records")
    parser.add_argument("out", type=Path, help="JSONL file to write")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    path = write(args.kind, args.count, args.out, args.seed)
    print(f"wrote {args.count:,} {args.kind} records to {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
