"""`costaudit check`: every exit code, cause attribution, thresholds, determinism and CI integrations."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costaudit.cli.app import app
from costaudit.cli.options import parse_limit_percent as parse_percent
from costaudit.core.regress import Thresholds, compare_scenario
from support import data_file

PRICES = str(data_file("cli/prices.yaml"))
SCENARIO = """\
workload:
  synthetic:
    requests_per_day: 1000
    model: gpt-4o
    system_prompt: {file: prompt.md}
    input_tokens: 100
    output_tokens: 50
    arrival: {pattern: uniform}
scenarios:
  - name: production
  - name: batched
    batching: {share: 1}
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "prompt.md").write_text("You are a helpful assistant.")
    (tmp_path / "costaudit.yaml").write_text(SCENARIO)
    return tmp_path


def check(project: Path, *extra: str, prices: str = PRICES) -> tuple[int, str, str]:
    return run(
        "check",
        "--scenario",
        str(project / "costaudit.yaml"),
        "--baseline",
        str(project / "baseline.json"),
        "--pricing",
        prices,
        *extra,
    )


def monthly_now(project: Path) -> dict[str, Decimal]:
    code, out, _ = check(project, "-o", "json")
    assert code in (0, 1)
    return {s["name"]: Decimal(s["monthly_usd"]) for s in json.loads(out)["scenarios"]}


def test_missing_baseline_exits_3_and_says_how_to_create_it(project: Path) -> None:
    code, out, err = check(project, "--max-increase", "5%")
    assert code == 3
    assert out == ""
    assert "baseline not found: create it with --update-baseline" in err


def test_update_then_check_passes_with_exit_0(project: Path) -> None:
    code, _, err = check(project, "--update-baseline")
    assert code == 0
    assert "+ production:" in err
    stored = json.loads((project / "baseline.json").read_text())
    assert stored["schema"] == "costaudit.api.baseline/1"
    assert set(stored["hashes"]) == {"price_table", "scenario_file", "workload", "prompts"}
    assert list(stored["hashes"]["prompts"]) == ["prompt.md"]
    # 1000/day × (prompt + 100 input tokens × $2.50 + 50 output × $10) per 1M, × 30
    assert Decimal(stored["scenarios"]["production"]["monthly_usd"]) > 0
    code, out, err = check(project, "--max-increase", "5%")
    assert code == 0
    assert "✅ pass" in out
    assert "costaudit check passed" in err


def test_a_longer_prompt_is_a_regression_attributed_to_prompts(project: Path) -> None:
    check(project, "--update-baseline")
    (project / "prompt.md").write_text("You are a helpful assistant. " * 40)
    code, out, err = check(project, "--max-increase", "5%")
    assert code == 1
    assert "regression" in out
    assert "changed since: prompts)" in out
    assert "production: monthly cost +" in err and "exceeds the allowed +5%" in err


def test_price_and_scenario_changes_are_attributed(project: Path, tmp_path: Path) -> None:
    check(project, "--update-baseline")
    cheaper = tmp_path / "prices.yaml"
    cheaper.write_text(Path(PRICES).read_text().replace("input: 2.50", "input: 2.00"))
    code, out, _ = check(project, "-o", "json", "--report-only", prices=str(cheaper))
    assert code == 0
    assert json.loads(out)["verdict"]["causes"] == ["prices"]
    (project / "costaudit.yaml").write_text(
        SCENARIO.replace("requests_per_day: 1000", "requests_per_day: 1100")
    )
    code, out, _ = check(project, "-o", "json", "--max-increase", "20")
    assert json.loads(out)["verdict"]["causes"] == ["traffic", "scenario"]
    assert code == 0


def test_budget_breach_exits_1_and_warn_only_exits_0(project: Path) -> None:
    check(project, "--update-baseline")
    code, _, err = check(project, "--budget", "1")
    assert code == 1
    assert "over the $1.00 budget" in err
    code, _, err = check(project, "--budget", "1", "--warn-only")
    assert code == 0
    assert "warning: production: monthly cost" in err


def test_added_and_removed_scenarios_are_reported_not_failed(project: Path) -> None:
    check(project, "--update-baseline")
    (project / "costaudit.yaml").write_text(
        SCENARIO.replace(
            "  - name: batched\n    batching: {share: 1}\n",
            "  - name: new one\n    batching: {share: 0.5}\n",
        )
    )
    code, out, _ = check(project, "--max-increase", "0", "-o", "json")
    assert code == 0
    statuses = {s["name"]: s["status"] for s in json.loads(out)["verdict"]["scenarios"]}
    assert statuses == {"production": "pass", "new one": "new", "batched": "removed"}


def test_json_and_markdown_are_byte_identical_across_runs(project: Path) -> None:
    check(project, "--update-baseline")
    first = (
        check(project, "-o", "json", "--report-only")[1],
        check(project, "-o", "markdown", "--report-only")[1],
    )
    second = (
        check(project, "-o", "json", "--report-only")[1],
        check(project, "-o", "markdown", "--report-only")[1],
    )
    assert first == second
    doc = json.loads(first[0])
    assert doc["schema"] == "costaudit.check/1"
    assert doc["verdict"]["passed"] is True
    assert set(doc["compared_to"]["monthly_usd"]) == {"production", "batched"}
    assert first[1].startswith("<!-- costaudit-check -->\n### ✅ LLM cost check passed")


def test_junit_has_one_testcase_per_scenario_and_a_failure_for_regressions(project: Path) -> None:
    check(project, "--update-baseline")
    (project / "prompt.md").write_text("much longer prompt " * 100)
    junit = project / "report.xml"
    code, _, _ = check(project, "--max-increase", "5%", "--junit", str(junit))
    assert code == 1
    xml = junit.read_text()
    assert xml.count("<testcase ") == 2
    assert xml.count("<failure ") == 2
    assert 'tests="2" failures="2"' in xml


def test_github_actions_gets_annotations_and_a_job_summary(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    check(project, "--update-baseline")
    summary = project / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    (project / "prompt.md").write_text("much longer prompt " * 100)
    code, _, err = check(project, "--max-increase", "5%")
    assert code == 1
    assert "::error title=LLM cost regression::production: monthly cost +" in err
    assert "%25" in err  # '%' is escaped in workflow-command messages
    assert "❌ LLM cost check failed" in summary.read_text()


def test_only_limits_the_scenarios_and_rejects_unknown_names(project: Path) -> None:
    check(project, "--update-baseline")
    code, out, _ = check(project, "--only", "production", "-o", "json", "--max-increase", "5")
    assert code == 0
    assert [s["name"] for s in json.loads(out)["scenarios"]] == ["production"]
    code, _, err = check(project, "--only", "nope", "--max-increase", "5")
    assert code == 3
    assert "no scenario named `nope`" in err


def test_bad_threshold_is_a_usage_error(project: Path) -> None:
    code, _, err = check(project, "--max-increase", "five")
    assert code == 2
    assert "--max-increase" in err


def test_internal_errors_exit_4(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check(project, "--update-baseline")

    def broken(*_args: object, **_kwargs: object) -> None:
        raise ZeroDivisionError("simulated bug")

    monkeypatch.setattr("costaudit.api.checking.compare", broken)
    code, _, err = check(project, "--budget", "100000")
    assert code == 4
    assert "internal error: ZeroDivisionError" in err


@pytest.mark.parametrize(
    ("text", "value"), [("5%", "5"), ("5", "5"), ("0.5%", "0.5"), (" 12 % ", "12")]
)
def test_percent_parsing(text: str, value: str) -> None:
    assert parse_percent(text) == Decimal(value)


@pytest.mark.parametrize("text", ["-1%", "abc", "nan"])
def test_bad_percentages_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="percentage"):
        parse_percent(text)


def test_a_zero_baseline_never_divides_by_zero() -> None:
    limits = Thresholds(max_increase_pct=Decimal(5))
    grew = compare_scenario("s", Decimal(0), Decimal(10), limits)
    assert grew.status == "regression"
    assert grew.delta_pct is None
    assert "from $0" in grew.reasons[0]
    assert compare_scenario("s", Decimal(0), Decimal(0), limits).status == "pass"


def test_usd_threshold_and_decreases() -> None:
    limits = Thresholds(max_increase_usd=Decimal(100))
    assert compare_scenario("s", Decimal(1000), Decimal(1099), limits).status == "pass"
    assert compare_scenario("s", Decimal(1000), Decimal(1101), limits).status == "regression"
    assert (
        compare_scenario(
            "s", Decimal(1000), Decimal(10), Thresholds(max_increase_pct=Decimal(0))
        ).status
        == "pass"
    )


def _recorded_status(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """What check tells its live line, as (label, line) pairs, in place of the terminal."""
    from costaudit.cli import check as command

    told: list[tuple[str, str]] = []

    @contextlib.contextmanager
    def recording(label: str) -> Iterator[Callable[[str], None]]:
        yield lambda text: told.append((label, text))

    monkeypatch.setattr(command, "status", recording)
    return told


def test_the_live_line_is_told_of_each_scenario_check_runs(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both the baseline update and the check tell the `Simulating scenarios` line which scenario
    they compute."""
    told = _recorded_status(monkeypatch)
    expected = [
        ("Simulating scenarios", "scenario 1/2: production"),
        ("Simulating scenarios", "scenario 2/2: batched"),
    ]
    assert check(project, "--update-baseline")[0] == 0
    assert told == expected
    told.clear()
    assert check(project, "--max-increase", "5%")[0] == 0
    assert told == expected


def test_without_a_terminal_check_prints_only_its_report_and_verdict(project: Path) -> None:
    """stderr is no terminal here (as in CI): no progress text, the report the API's verdict."""
    from costaudit import api
    from costaudit.jsonio import dumps
    from costaudit.render.check import check_document

    code, _, err = check(project, "--update-baseline")
    # 30,000 requests a month × (106 input tokens × $2.50 + 50 output × $10) per 1M; batched half
    written = "  + production: $22.95/month\n  + batched: $11.48/month\n"
    assert (code, err) == (0, f"baseline written to {project / 'baseline.json'}\n{written}")
    code, out, err = check(project, "--max-increase", "5%", "-o", "json")
    assert (code, err) == (0, "costaudit check passed: no scenario grew past its thresholds\n")
    prices = api.load_prices(PRICES)
    quiet = api.check(
        project / "costaudit.yaml", project / "baseline.json", prices=prices, max_increase_pct=5
    )
    assert out == dumps(check_document(quiet))


HOSTILE_NAME = "\x1b]8;;https://evil.example\x07link\x1b]8;;\x07 ::error::pwned"


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_on_a_terminal_the_live_line_shows_a_hostile_scenario_name_as_text(project: Path) -> None:
    """A real run with stderr on a pseudo-terminal: the live line names the scenario being computed,
    its escape sequences shown, never sent; stdout (a file) and the exit code are what they are
    without a terminal."""
    import pty

    (project / "costaudit.yaml").write_text(
        SCENARIO + f"  - name: {json.dumps(HOSTILE_NAME)}\n    batching: {{share: 0.5}}\n"
    )
    args = ["check", "-s", str(project / "costaudit.yaml"), "-b", str(project / "baseline.json")]
    args += ["--pricing", PRICES]
    assert run(*args, "--update-baseline")[0] == 0
    expected = run(*args, "--max-increase", "5%", "-o", "json")
    controller, terminal = pty.openpty()
    environment = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "200"}
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        environment.pop(name, None)
    stdout = project / "stdout.json"  # a file, not a pipe: nothing can block while the pty is read
    with (
        stdout.open("wb") as written,
        subprocess.Popen(
            [sys.executable, "-m", "costaudit", *args, "--max-increase", "5%", "-o", "json"],
            stdin=subprocess.DEVNULL,
            stdout=written,
            stderr=terminal,
            env=environment,
        ) as process,
    ):
        os.close(terminal)
        drawn = _read_all(controller)
        code = process.wait(timeout=120)
    shown = drawn.decode("utf-8", "replace")
    assert (code, stdout.read_text(encoding="utf-8")) == expected[:2]
    assert "Simulating scenarios… scenario 3/3: \\x1b]8;;https://evil.example\\x07link" in shown
    assert "\x1b]8;;https://evil" not in shown and "\x07link" not in shown
    assert "costaudit check passed: no scenario grew past its thresholds" in shown


def _read_all(controller: int) -> bytes:
    """Everything written to a pseudo-terminal until its last writer closes it (Linux then raises
    EIO on the controller)."""
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    return b"".join(chunks)
