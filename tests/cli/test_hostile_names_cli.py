"""Hostile names (model names, group values, file names, scenario names, batch result types) through
analyze, simulate and check with every output: no traceback, the right exit code, and each output
still what it claims to be.

The names are drawn by hypothesis from the texts an attacker would try (a newline and a GitHub
workflow command, escape sequences, OSC-8 links, rich markup, HTML, Markdown pipes, spreadsheet
formulas, control characters, TeX, Unicode line separators, very long names) mixed with ordinary
text. What must hold for every one of them:

- exit 0 (or the documented exit for the case), never 4 and never a traceback;
- no line of stdout or stderr starts with `::` unless it is costaudit's own annotation, and none holds
  `##[` (the runner's older command syntax, which it finds anywhere in a line);
- no escape character (ESC) anywhere on stdout or stderr;
- CSV parses with the csv module, one record per line, and no cell starts a formula;
- JUnit parses with xml.etree; Markdown table rows keep their column count; HTML holds no `<img`;
- JSON keeps the real value.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
import xml.etree.ElementTree as ET
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from costaudit.cli.app import app

HOSTILE = [
    "\n::error::pwned",
    "::warning title=x::y",
    "\n  ::set-output name=a::b",
    "\n##[error]old",
    "x ##[add-mask]y",
    "\x1b[31m",
    "\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\",
    "[/x]",
    "[bold]",
    ":warning:",
    "<img src=x onerror=alert(1)>",
    "|",
    "=cmd|' /C calc'!A0",
    "+1",
    "-1",
    "@A1",
    "\x00",
    "\x07\x08\x0b\x0c\r",
    "\t",
    "$\\frac{$",
    "\u2028::error::ls",
    "\u2029",
    "\x85",
    "\u202e",
    "`",
    "*_~#!",
    "x" * 300,
]
ORDINARY = st.text(alphabet="abcdefgh-_. 0123456789éß", max_size=6)
NAMES = st.lists(st.sampled_from(HOSTILE) | ORDINARY, min_size=1, max_size=4).map("".join)
"""Names as an attacker would write them: hostile pieces among ordinary text."""

FILE_NAMES = NAMES.map(lambda name: name.replace("/", "∕").replace("\x00", "0")[:120])
"""A file name may hold anything but `/` and NUL (and stays under the file system's length limit)."""

HYPOTHESIS = settings(
    max_examples=6,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
"""Each example runs the CLI several times: a few examples per test, and no shrinking (a failure
prints the example it failed on, which is already small)."""
OUTPUTS = ("table", "json", "csv", "markdown", "html")
RUNNER_LINES = re.compile("\r\n|\r|\n")
"""How the GitHub runner splits a step's output into lines."""
OWN_ANNOTATION = re.compile(r"^::(error|warning|notice) title=LLM cost (regression|check)::")


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def assert_no_foreign_commands(text: str) -> None:
    for line in RUNNER_LINES.split(text):
        if OWN_ANNOTATION.match(line):
            continue
        assert not line.lstrip().startswith("::"), line
        assert "##[" not in line, line  # the runner's older syntax counts anywhere in a line


def assert_clean(code: int, out: str, err: str, *, expected: int = 0) -> None:
    assert code == expected, err
    assert "Traceback" not in out + err and "internal error" not in err
    assert "\x1b" not in out and "\x1b" not in err
    assert_no_foreign_commands(out)
    assert_no_foreign_commands(err)


def assert_csv_is_safe(text: str) -> None:
    lines = text.splitlines()
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == len(lines), "a record spans lines"
    assert len({len(row) for row in rows}) == 1
    for row in rows[1:]:
        for cell in row:
            if cell[:1] in set("=+-@\t\r"):
                try:
                    Decimal(cell)
                except InvalidOperation:
                    pytest.fail(f"CSV cell starts a formula: {cell!r}")


def assert_markdown_tables_keep_their_shape(text: str) -> None:
    widths: list[int] = []
    for line in [*text.split("\n"), ""]:
        if line.startswith("|"):
            widths.append(len(re.split(r"(?<!\\)\|", line)))
            continue
        assert len(set(widths)) <= 1, f"a table row lost or gained a column: {widths}"
        widths = []
    assert "<img" not in text


def assert_output_is_its_format(output: str, out: str) -> None:
    if output == "csv":
        assert_csv_is_safe(out)
    elif output == "markdown":
        assert_markdown_tables_keep_their_shape(out)
    elif output == "html":
        assert "<img" not in out
    elif output == "json":
        json.loads(out)


# ------------------------------------------------------------------------------------------ analyze


def batch_line(custom_id: str, model: str, feature: str, hour: int, kind: str = "succeeded") -> str:
    message = {
        "type": "message",
        "model": model,
        "usage": {"input_tokens": 1000, "output_tokens": 100},
    }
    return json.dumps(
        {
            "custom_id": custom_id,
            "timestamp": f"2026-11-16T{hour:02d}:00:00+00:00",
            "metadata": {"feature": feature},
            "result": {"type": kind, "message": message},
        }
    )


def write_log(directory: Path, file_name: str, model: str, feature: str, kind: str) -> Path:
    path = directory / f"log {file_name}.jsonl"
    path.write_text(
        "\n".join(
            [
                batch_line("a", model, feature, 1),
                batch_line("b", "claude-sonnet-4-5", "chat", 5),
                batch_line("c", "claude-sonnet-4-5", "chat", 6, kind=kind),
            ]
        )
        + "\n"
    )
    return path


@HYPOTHESIS
@given(model=NAMES, feature=NAMES, file_name=FILE_NAMES, kind=NAMES)
def test_analyze_shows_hostile_names_as_text_in_every_output(
    model: str, feature: str, file_name: str, kind: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        log = write_log(Path(tmp), file_name, model, feature, kind)
        for output in OUTPUTS:
            code, out, err = run("analyze", str(log), "--group-by", "feature", "--output", output)
            assert_clean(code, out, err)
            assert_output_is_its_format(output, out)
            if output == "json":
                document = json.loads(out)
                assert document["records"]["read"] == 3
                shown = {row["model"] for row in document["models"]}
                assert model.strip() in shown or model in shown or not model.strip()
            if output == "table":
                assert "skipped" in err


@HYPOTHESIS
@given(file_name=FILE_NAMES, kind=NAMES)
def test_strict_error_echoes_a_hostile_result_type_on_one_line(file_name: str, kind: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        log = write_log(Path(tmp), file_name, "claude-sonnet-4-5", "chat", kind)
        code, out, err = run("analyze", str(log), "--strict")
        if kind == "succeeded":
            return
        assert_clean(code, out, err, expected=3)
        assert len(RUNNER_LINES.split(err.rstrip("\n"))) == 1, err
        assert err.startswith("error: ") and ":3: " in err
        assert len(err) < 600


@HYPOTHESIS
@given(model=NAMES)
def test_analyze_plots_draw_hostile_names(model: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        log = write_log(Path(tmp), "x", model, "chat", "succeeded")
        code, out, err = run(
            "analyze", str(log), "--output", "json", "--plots", str(Path(tmp) / "plots")
        )
        assert_clean(code, out, err)
        assert (Path(tmp) / "plots" / "cost_by_model.png").stat().st_size > 0


# ------------------------------------------------------------------------------- simulate and check


def scenario_file(directory: Path, first: str, second: str, feature: str, requests: int) -> Path:
    """A scenario file as JSON (a subset of YAML), so that any name can be written into it."""
    stream = {
        "name": "chat",
        "requests_per_day": requests,
        "model": "gpt-4o",
        "input_tokens": 1000,
        "output_tokens": 100,
        "arrival": {"pattern": "uniform"},
        "groups": {"feature": feature},
    }
    document = {
        "workload": {"synthetic": {"streams": [stream]}},
        "scenarios": [
            {"name": first},
            {
                "name": second,
                "routing": {"tiers": [{"model": "gpt-4o-mini"}], "applies_to": ["gpt-4o"]},
            },
        ],
    }
    path = directory / "costaudit.yaml"
    path.write_text(json.dumps(document))
    return path


def scenario_names(draw: st.DrawFn) -> tuple[str, str]:
    first = draw(NAMES)
    return first, first + " 2"


@st.composite
def two_scenarios(draw: st.DrawFn) -> tuple[str, str]:
    return scenario_names(draw)


@HYPOTHESIS
@given(names=two_scenarios(), feature=NAMES)
def test_simulate_shows_hostile_scenario_names_and_groups_as_text(
    names: tuple[str, str], feature: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        scenario = scenario_file(Path(tmp), *names, feature, 1000)
        for output in OUTPUTS:
            code, out, err = run(
                "simulate", "--scenario", str(scenario), "--group-by", "feature", "-o", output
            )
            if code == 3:  # the scenario file refused the name: one line naming the field
                assert_clean(code, out, err, expected=3)
                assert err.startswith("error: ")
                return
            assert_clean(code, out, err)
            assert_output_is_its_format(output, out)
            if output == "json":
                shown = [s["name"] for s in json.loads(out)["scenarios"]]
                assert shown == list(names)


@pytest.mark.parametrize("hostile", ["$\\frac{$", "\x1b[31m[/x]\n::error::x"])
def test_simulate_plots_draw_hostile_scenario_names(tmp_path: Path, hostile: str) -> None:
    scenario = scenario_file(tmp_path, hostile, hostile + " 2", hostile, 1000)
    code, out, err = run(
        "simulate", "--scenario", str(scenario), "--plots", str(tmp_path / "plots"), "-o", "json"
    )
    assert_clean(code, out, err)
    assert list((tmp_path / "plots").glob("*.png"))


@HYPOTHESIS
@given(names=two_scenarios(), feature=NAMES)
def test_check_in_github_actions_keeps_hostile_names_out_of_commands(
    names: tuple[str, str], feature: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        baseline = str(directory / "baseline.json")
        scenario = scenario_file(directory, *names, feature, 1000)
        code, out, err = run(
            "check", "--scenario", str(scenario), "--baseline", baseline, "--update-baseline"
        )
        if code == 3:
            assert_clean(code, out, err, expected=3)
            return
        assert_clean(code, out, err)
        scenario_file(directory, *names, feature, 3000)  # traffic tripled: every scenario regresses
        summary = directory / "summary.md"
        env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
        for output in ("table", "json", "markdown", "html"):
            junit = directory / f"junit-{output}.xml"
            code, out, err = run(
                "check",
                "--scenario",
                str(scenario),
                "--baseline",
                baseline,
                "--max-increase",
                "5%",
                "--output",
                output,
                "--junit",
                str(junit),
                "--group-by",
                "feature",
                env=env,
            )
            assert_clean(code, out, err, expected=1)
            assert_output_is_its_format(output, out)
            assert OWN_ANNOTATION.match(err.splitlines()[0])
            cases = ET.parse(junit).getroot().iter("testcase")
            assert len(list(cases)) >= 2
        summary_text = summary.read_text(encoding="utf-8")
        assert_no_foreign_commands(summary_text)
        assert_markdown_tables_keep_their_shape(summary_text)


# -------------------------------------------------------------------------- the reported cases


INJECTED = (
    '{"model":"gpt-4o-mini\\n::error::pwned [/x]","usage":{"prompt_tokens":10,'
    '"completion_tokens":5},"created":1700000000}\n'
)


def test_markup_and_a_workflow_command_in_a_model_name_print_as_text(tmp_path: Path) -> None:
    log = tmp_path / "inj.jsonl"
    log.write_text(INJECTED)
    code, out, err = run("analyze", str(log))
    assert_clean(code, out, err)
    assert "gpt-4o-mini\\n::error::pwned [/x]" in out


def test_csv_writes_the_injected_model_name_on_one_line(tmp_path: Path) -> None:
    log = tmp_path / "inj.jsonl"
    log.write_text(INJECTED)
    code, out, err = run("analyze", str(log), "--output", "csv")
    assert_clean(code, out, err)
    assert out.splitlines()[1].startswith("gpt-4o-mini\\n::error::pwned [/x],,1,10,")
    assert len(out.splitlines()) == 2


def test_json_keeps_the_real_model_name(tmp_path: Path) -> None:
    log = tmp_path / "inj.jsonl"
    log.write_text(INJECTED)
    code, out, err = run("analyze", str(log), "--output", "json")
    assert_clean(code, out, err)
    assert json.loads(out)["models"][0]["model"] == "gpt-4o-mini\n::error::pwned [/x]"


def test_a_formula_group_value_is_quoted_in_csv(tmp_path: Path) -> None:
    log = write_log(tmp_path, "x", "claude-sonnet-4-5", "=cmd|' /C calc'!A0", "succeeded")
    code, out, err = run("analyze", str(log), "--group-by", "feature", "--output", "csv")
    assert_clean(code, out, err)
    cells = [row[0] for row in csv.reader(io.StringIO(out))]
    assert "'=cmd|' /C calc'!A0" in cells


def test_markup_in_a_scenario_name_does_not_turn_check_into_a_regression(tmp_path: Path) -> None:
    scenario = scenario_file(tmp_path, "[/x] [bold]", "[/x] [bold] 2", "chat", 1000)
    baseline = str(tmp_path / "baseline.json")
    code, out, err = run(
        "check", "--scenario", str(scenario), "--baseline", baseline, "--update-baseline"
    )
    assert_clean(code, out, err)
    code, out, err = run(
        "check", "--scenario", str(scenario), "--baseline", baseline, "--max-increase", "5%"
    )
    assert_clean(code, out, err)
    assert "[/x] [bold]" in out


HOSTILE_TABLE = """\
schema_version: 1
effective: 2026-11-25
models:
  "evil[/x]\\e[31m|<img\\x00>##[add-mask]":
    provider: "openai\\n::error::p"
    tokenizer: o200k_base
    input: 2.50
    output: 10.00
    source: "=cmd|' /C calc'!A0 \\e]8;;http://x\\e\\\\"
    checked: 2026-11-25
"""


def test_hostile_names_in_a_price_table_print_as_text(tmp_path: Path) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text(HOSTILE_TABLE)
    model = "evil[/x]\x1b[31m|<img\x00>##[add-mask]"
    log = tmp_path / "log.jsonl"
    log.write_text(
        json.dumps({"model": model, "usage": {"prompt_tokens": 10, "completion_tokens": 5}}) + "\n"
    )
    for args in (
        ("pricing", "validate", str(prices)),
        ("pricing", "list", "--pricing", str(prices)),
        ("analyze", str(log), "--pricing", str(prices)),
        ("analyze", str(log), "--pricing", str(prices), "-o", "markdown"),
        ("analyze", str(log), "--pricing", str(prices), "-o", "csv"),
    ):
        code, out, err = run(*args)
        assert_clean(code, out, err)
    code, out, err = run("analyze", str(log), "--pricing", str(prices), "-o", "json")
    assert_clean(code, out, err)
    assert json.loads(out)["models"][0]["price_id"] == model
