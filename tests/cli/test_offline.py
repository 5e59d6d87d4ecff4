"""Nothing in analyze opens a network connection, even when it must tokenize text."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costaudit.cli.app import app
from costaudit.ingest import tokenizer
from support import data_file


def test_analyze_with_tokenization_makes_no_connection_attempt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[object] = []

    def record(*args: object, **_kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network disabled in this test")

    for name in ("connect", "connect_ex"):
        monkeypatch.setattr(socket.socket, name, record)
    monkeypatch.setattr(socket, "create_connection", record)
    monkeypatch.setattr(socket, "getaddrinfo", record)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty-cache"))
    tokenizer.encoder_for.cache_clear()
    log = tmp_path / "requests.jsonl"
    rows = [
        {"model": "gpt-4o", "messages": [{"role": "user", "content": f"question {n}"}]}
        for n in range(100)
    ] + [{"model": "gpt-4-turbo", "messages": [{"role": "user", "content": "hello"}]}]
    log.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    try:
        result = CliRunner().invoke(
            app, ["analyze", str(log), "--pricing", str(data_file("cli/prices.yaml")), "-o", "json"]
        )
    finally:
        tokenizer.encoder_for.cache_clear()
    assert result.exit_code == 0, result.stderr
    assert attempts == []
    assert json.loads(result.stdout)["records"]["read"] == 101
