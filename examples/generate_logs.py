"""Generate the sample logs in examples/logs/ (deterministic: same seed, same bytes).

A made-up support product logs a week of LLM traffic: a chat assistant, a search answerer, a ticket
summariser, a code reviewer and a nightly report writer, across gpt-4o, gpt-4o-mini and Claude Sonnet
4.5. The shapes follow the providers' documented formats (OpenAI gateway request/response lines with
usage; Anthropic Message Batches results), so every reader path in `costaudit analyze` is exercised.

    python examples/generate_logs.py            # rewrites examples/logs/*.jsonl
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from costaudit.ingest.tokenizer import chat_prompt_pieces, count_pieces, encoder_for

HERE = Path(__file__).resolve().parent
START = datetime(2026, 11, 16, tzinfo=UTC)
DAYS = 7

SYSTEM_PROMPT = (
    "You are Orbit, the support assistant of Acme Cloud. Answer briefly and accurately. "
    "Cite the relevant help-centre article when you can. Never reveal internal ticket notes. "
) * 30


PRODUCTS = [
    "object storage",
    "managed Postgres",
    "the CDN",
    "billing exports",
    "the audit log",
    "SSO",
]
SYMPTOMS = [
    "returns 403 errors since this morning",
    "is slower than last week",
    "shows a charge I do not recognise",
    "stopped syncing after the upgrade",
    "times out for large uploads",
]
CHAT_QUESTIONS = [
    "How do I rotate my API keys for {product}?",
    "Why is {product} {symptom}? Explain step by step what I should check.",
    "Can you compare the two plans for {product} and tell me which is cheaper for 2 TB per month?",
    "Hi! Quick one: where do I find the invoice for {product}?",
    "Is there a limit on how many buckets {product} allows per project?",
]
CODE_REQUESTS = [
    "Review this Python function and point out bugs:\n```python\ndef total(xs):\n    s = 0\n"
    "    for i in range(1, len(xs)):\n        s += xs[i]\n    return s\n```",
    "Write a SQL query that returns the top 5 customers by spend in the last 30 days from "
    "table invoices(customer_id, amount, created_at).",
    "Implement a function in TypeScript that retries a fetch with exponential backoff and explain "
    "the time complexity.",
]
MATH_QUESTIONS = [
    "If storage costs $0.023 per GB-month and egress $0.09 per GB, how much do 750 GB stored and "
    "120 GB egress cost per month? Show the calculation.",
    "A plan includes 10,000 requests; each extra 1,000 cost $0.40. How many requests fit in a $25 budget?",
]
TICKET_LINES = [
    "Customer reports intermittent failures when uploading files larger than 5 GB.",
    "They tried from two regions and saw the same behaviour.",
    "Support asked for request ids; the customer sent three of them.",
    "Logs show multipart uploads aborted after 300 seconds.",
    "The customer is on the business plan and asks for a credit.",
    "A workaround with smaller part sizes was suggested but not yet confirmed.",
]
USERS = [f"user-{n:03d}" for n in range(1, 41)]
TENANTS = ["acme-eu", "acme-us", "globex", "initech", "umbrella"]


@dataclass(frozen=True)
class Feature:
    name: str
    model: str
    share: float
    output_tokens: tuple[int, int]


FEATURES = (
    Feature("chat", "gpt-4o", 0.45, (80, 400)),
    Feature("search", "gpt-4o-mini", 0.25, (60, 220)),
    Feature("summarize", "gpt-4o-mini", 0.15, (60, 160)),
    Feature("code-review", "gpt-4o", 0.10, (200, 900)),
    Feature("math-help", "gpt-4o", 0.05, (150, 500)),
)


def prompt_tokens(messages: list[dict[str, str]]) -> int:
    """Prompt tokens as OpenAI counts a chat request (cl100k_base, which ships offline)."""
    pieces = chat_prompt_pieces([(m["role"], m["content"], None) for m in messages])
    return int(count_pieces(encoder_for("cl100k_base"), [pieces])[0])


SYSTEM_TOKENS = prompt_tokens([{"role": "system", "content": SYSTEM_PROMPT}])


def user_prompt(feature: str, rng: random.Random) -> str:
    product, symptom = rng.choice(PRODUCTS), rng.choice(SYMPTOMS)
    if feature == "chat":
        return rng.choice(CHAT_QUESTIONS).format(product=product, symptom=symptom)
    if feature == "search":
        return f"Find the help-centre article about {product} that {symptom.split(' ', 1)[1]}."
    if feature == "summarize":
        lines = rng.sample(TICKET_LINES, k=rng.randint(3, len(TICKET_LINES)))
        return "Summarize this ticket in two sentences:\n" + "\n".join(lines)
    if feature == "code-review":
        return rng.choice(CODE_REQUESTS)
    return rng.choice(MATH_QUESTIONS)


def arrival_times(count: int, rng: random.Random) -> list[datetime]:
    """Office-hours traffic: more requests between 08:00 and 18:00 UTC on weekdays."""
    times: list[datetime] = []
    while len(times) < count:
        moment = START + timedelta(seconds=rng.uniform(0, DAYS * 86_400))
        busy = 8 <= moment.hour < 18 and moment.weekday() < 5
        if rng.random() < (0.9 if busy else 0.25):
            times.append(moment)
    return sorted(times)


def gateway_record(moment: datetime, rng: random.Random, index: int) -> dict[str, Any]:
    feature = rng.choices(FEATURES, weights=[f.share for f in FEATURES])[0]
    prompt = user_prompt(feature.name, rng)
    messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": prompt}]
    total = prompt_tokens(messages)
    shared = (SYSTEM_TOKENS // 128) * 128
    cached = shared if shared >= 1024 and rng.random() < 0.6 else 0
    completion = rng.randint(*feature.output_tokens)

    dated = {"gpt-4o": "gpt-4o-2024-08-06", "gpt-4o-mini": "gpt-4o-mini-2024-07-18"}[feature.model]
    return {
        "timestamp": moment.isoformat().replace("+00:00", "Z"),
        "request": {
            "model": feature.model,
            "messages": messages,
            "user": rng.choice(USERS),
            "metadata": {"feature": feature.name, "tenant": rng.choice(TENANTS)},
        },
        "response": {
            "id": f"chatcmpl-demo{index:06d}",
            "object": "chat.completion",
            "created": int(moment.timestamp()),
            "model": dated,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "(answer omitted)"}}
            ],
            "usage": {
                "prompt_tokens": total,
                "completion_tokens": completion,
                "total_tokens": total + completion,
                "prompt_tokens_details": {"cached_tokens": cached},
                "completion_tokens_details": {"reasoning_tokens": 0},
            },
        },
    }


def batch_results(rng: random.Random, nights: int) -> Iterator[dict[str, Any]]:
    """Nightly report jobs sent through Anthropic's Message Batches API (billed at batch prices)."""
    for night in range(nights):
        for job in range(rng.randint(25, 40)):
            cache_read = rng.choice([0, 4096, 4096, 8192])
            yield {
                "custom_id": f"report-{night}-{job}",
                "timestamp": (START + timedelta(days=night, hours=2, minutes=job)).isoformat(),
                "metadata": {"feature": "nightly-report", "tenant": rng.choice(TENANTS)},
                "result": {
                    "type": "succeeded" if rng.random() > 0.03 else "expired",
                    "message": {
                        "id": f"msg_demo{night:02d}{job:03d}",
                        "type": "message",
                        "role": "assistant",
                        "model": "claude-sonnet-4-5-20250929",
                        "content": [{"type": "text", "text": "(report omitted)"}],
                        "stop_reason": "end_turn",
                        "usage": {
                            "input_tokens": rng.randint(1500, 6000),
                            "cache_read_input_tokens": cache_read,
                            "cache_creation_input_tokens": 0 if cache_read else 4096,
                            "output_tokens": rng.randint(800, 2500),
                        },
                    },
                },
            }


def write_jsonl(path: Path, records: Iterator[dict[str, Any]] | list[dict[str, Any]]) -> int:
    """JSON lines; gzip-compressed (reproducibly: no timestamp in the header) when the name ends in .gz."""
    lines = [json.dumps(record, separators=(",", ":")) + "\n" for record in records]
    data = "".join(lines).encode()
    if path.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return len(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=HERE / "logs", help="directory to write into")
    parser.add_argument("--requests", type=int, default=2000, help="gateway requests to generate")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    times = arrival_times(args.requests, rng)
    gateway = [gateway_record(moment, rng, index) for index, moment in enumerate(times)]
    written = write_jsonl(args.out / "app_gateway.jsonl.gz", gateway)
    batches = write_jsonl(
        args.out / "nightly_reports.anthropic-batch.jsonl", batch_results(rng, DAYS)
    )
    print(f"wrote {written} gateway records and {batches} batch results to {args.out}")


if __name__ == "__main__":
    main()
