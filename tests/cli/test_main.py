"""The console entry point as a user runs it: a real process, its exit code, what it imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

ENTRY = [sys.executable, "-X", "importtime", "-m", "costaudit"]


def _usage_log(path: Path, records: int) -> Path:
    lines = [
        orjson.dumps(
            {
                "object": "chat.completion",
                "created": 1_790_812_800 + index,
                "model": "gpt-4o-mini",
                "usage": {"prompt_tokens": 1_000, "completion_tokens": 100},
            }
        )
        for index in range(records)
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ENTRY, *args], capture_output=True, text=True, timeout=120, check=False)


def _modules(stderr: str) -> set[str]:
    """Modules named in `-X importtime` lines."""
    return {
        line.rsplit("|", 1)[1].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def _imported(stderr: str) -> set[str]:
    """Top-level packages named in `-X importtime` lines."""
    return {name.split(".")[0] for name in _modules(stderr)}


def test_analyze_of_a_usage_log_prints_everything_and_never_imports_pandas(
    tmp_path: Path,
) -> None:
    log = _usage_log(tmp_path / "usage.jsonl", 3)

    done = _run("analyze", str(log), "-o", "json")

    assert done.returncode == 0, done.stderr
    report = orjson.loads(done.stdout)
    assert report["records"]["priced"] == 3
    # 3 × (1,000 input at $0.15/1M + 100 output at $0.60/1M) = $0.00063
    assert report["cost"]["total_usd"] == "0.00063"
    assert "costaudit: 3 records, 3 priced" in done.stderr
    imported = _imported(done.stderr)
    assert {"numpy", "pydantic"} <= imported
    assert not {"pandas", "rich", "matplotlib", "tiktoken", "xml"} & imported
    # Start-up pays for nothing analyze does not use: numpy's masked arrays, HTTP clients.
    assert not {"numpy.ma", "http", "urllib.request"} & _modules(done.stderr)


def test_exit_codes_reach_the_shell(tmp_path: Path) -> None:
    missing = _run("analyze", str(tmp_path / "missing.jsonl"))
    assert missing.returncode == 3
    assert "missing.jsonl: file not found" in missing.stderr

    unknown = _run("analyze", "--no-such-option")
    assert unknown.returncode == 2
    assert "No such option" in unknown.stderr

    helped = _run("--help")
    assert helped.returncode == 0
    assert "analyze" in helped.stdout


def test_a_reader_that_stops_early_is_not_an_error(tmp_path: Path) -> None:
    """`costaudit analyze … | head -1`: the report is cut short, with no traceback and no message."""
    log = _usage_log(tmp_path / "usage.jsonl", 200)
    done = subprocess.run(
        f"{' '.join(ENTRY[:1])} -m costaudit analyze {log} -o json | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.stdout == "{\n"
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


def test_consecutive_runs_all_succeed(tmp_path: Path) -> None:
    """Start-up has no race left to lose: many consecutive runs, each exit 0, none with a traceback.

    (bench/README.md reports 2,000 in a row; the suite runs a few to stay quick.)"""
    log = _usage_log(tmp_path / "usage.jsonl", 2)
    for _ in range(20):
        done = _run("analyze", str(log), "-o", "json")
        assert done.returncode == 0 and "Traceback" not in done.stderr
