"""Inputs for the HTML report tests: logs, prices and scenarios whose names are hostile markup, and a
prompt that carries a marker no report may contain (fixtures in tests/render/conftest.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from costaudit.cli.app import app
from support import REPO

PROMPT_MARKER = "PRIVATE-PROMPT-5f3a9c"
ANSWER_MARKER = "PRIVATE-ANSWER-5f3a9c"
EVIL_MODEL = '<script>alert("model")</script>'
EVIL_USER = '"quoted" & <b>co</b>'
EVIL_FEATURE = "<img src=x onerror=alert(1)>"
EVIL_SCENARIO = "<script>alert('scenario')</script> & \"cheap\""
EVIL_FILE = 'logs <i>&"x"'
"""A file-name stem: it reaches the report through the log list and `file:line` examples."""

PRICES = f"""
schema_version: 1
effective: 2026-11-25
models:
  'evil<i>"entry"</i>':
    provider: test
    aliases: ['{EVIL_MODEL}']
    input: 2.00
    output: 8.00
    source: test fixture
    checked: 2026-11-25
"""


def _line(day: int, model: str, prompt: int, completion: int, user: str, feature: str) -> str:
    record = {
        "timestamp": f"2026-11-0{day}T1{day}:00:00Z",
        "request": {
            "model": model,
            "messages": [{"role": "user", "content": f"{PROMPT_MARKER} what is {day} + {day}?"}],
            "user": user,
            "metadata": {"feature": feature},
        },
        "response": {
            "object": "chat.completion",
            "model": model,
            "choices": [{"message": {"role": "assistant", "content": ANSWER_MARKER}}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion},
        },
    }
    return json.dumps(record)


@dataclass(frozen=True)
class Hostile:
    """A log, an extra price layer and a scenario file, every name in them markup."""

    directory: Path
    log: Path
    prices: Path
    scenario: Path

    def pricing(self) -> list[str]:
        """`--pricing` options: the packaged table with the hostile entry layered on top."""
        return ["--pricing", str(REPO / "pricing" / "default.yaml"), "--pricing", str(self.prices)]


def make_hostile(tmp_path: Path) -> Hostile:
    log = tmp_path / f"{EVIL_FILE}.jsonl"
    lines = [
        _line(1, EVIL_MODEL, 1000, 200, EVIL_USER, EVIL_FEATURE),
        _line(2, "gpt-4o", 3000, 500, EVIL_USER, "a&b"),
        "{not json",
        _line(4, EVIL_MODEL, 500, 100, "bob", EVIL_FEATURE),
        _line(5, "gpt-4o-mini", 800, 50, "bob", "a&b"),
    ]
    log.write_text("\n".join(lines) + "\n")
    prices = tmp_path / "prices.yaml"
    prices.write_text(PRICES)
    scenario = tmp_path / "what-ifs <b>.yaml"
    scenario.write_text(
        f"""
workload:
  logs: [{json.dumps(log.name)}]
scenarios:
  - name: as logged
  - name: {json.dumps(EVIL_SCENARIO)}
    routing: {{tiers: [{{model: gpt-4o-mini, share: 0.5}}, {{model: gpt-4o}}]}}
  - name: self-hosted
    hosting: {{model: llama-3.1-8b, gpu: h100, precision: fp8}}
"""
    )
    return Hostile(tmp_path, log, prices, scenario)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr
