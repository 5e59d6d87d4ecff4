"""Peer approach: price each record in a Python loop with LiteLLM's `cost_per_token`.

    python bench/peer_litellm.py FILE       # OpenAI chat-completion response lines with `usage`

This is how a script built on LiteLLM prices a log: read a line, parse it with orjson, call
`litellm.cost_per_token(model=…, prompt_tokens=…, completion_tokens=…, cache_read_input_tokens=…)`
(OpenAI's `prompt_tokens` already include the cached tokens, which is LiteLLM's convention too).
LiteLLM is imported with `LITELLM_LOCAL_MODEL_COST_MAP=True`, so it uses the price map bundled in the
wheel and never touches the network. Prints one JSON line: records priced, failures, total USD.
Exit status 3 when LiteLLM is not installed (`pip install -e '.[bench]'`).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

import orjson

NOT_INSTALLED = 3


def _count(details: Any, key: str) -> int:
    value = details.get(key, 0) if isinstance(details, dict) else 0
    return int(value or 0)


def price_file(path: Path) -> dict[str, float | int]:
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # before the import: no network fetch
    import litellm

    cost_per_token = litellm.cost_per_token
    records = failed = 0
    total = 0.0
    with path.open("rb") as handle:
        for line in handle:
            if not line.strip():
                continue
            records += 1
            record = orjson.loads(line)
            usage = record.get("usage")
            if not isinstance(usage, dict):
                failed += 1
                continue
            try:
                prompt_usd, completion_usd = cost_per_token(
                    model=record["model"],
                    prompt_tokens=int(usage.get("prompt_tokens", 0)),
                    completion_tokens=int(usage.get("completion_tokens", 0)),
                    cache_read_input_tokens=_count(
                        usage.get("prompt_tokens_details"), "cached_tokens"
                    ),
                )
            except Exception:  # an unknown model is a failed record, as in a plain script
                failed += 1
                continue
            total += prompt_usd + completion_usd
    return {"records": records, "failed": failed, "total_usd": round(total, 6)}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: peer_litellm.py FILE\n")
        return 2
    if importlib.util.find_spec("litellm") is None:
        sys.stderr.write("skipped: litellm not installed\n")
        return NOT_INSTALLED
    sys.stdout.write(orjson.dumps(price_file(Path(argv[0]))).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
