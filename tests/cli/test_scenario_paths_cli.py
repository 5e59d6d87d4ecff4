"""Files a scenario names (prompts, logs, saved workloads) lie under its directory or an --allow-path
directory, are never system paths or devices, and prompt files are bounded in size."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costaudit.api import scenarios
from costaudit.cli.app import app
from support import data_file

PRICES = str(data_file("cli/prices.yaml"))
SMALL = data_file("cli/openai_small.jsonl")
PROMPT_SCENARIO = """\
workload:
  synthetic:
    requests_per_day: 1000
    model: gpt-4o
    system_prompt: {{file: {prompt}}}
    input_tokens: 100
    output_tokens: 50
scenarios:
  - name: production
"""
FIELD = "workload.synthetic.system_prompt"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """project/ holds the scenario file; tmp_path/outside holds files that are not under it."""
    (tmp_path / "project" / "prompts").mkdir(parents=True)
    (tmp_path / "project" / "prompts" / "system.md").write_text("You are helpful.\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.md").write_text("not for reports\n")
    return tmp_path / "project"


def _simulate(project: Path, prompt: str, *extra: str) -> tuple[int, str, str]:
    scenario = project / "scenario.yaml"
    scenario.write_text(PROMPT_SCENARIO.format(prompt=prompt))
    return run("simulate", "-s", str(scenario), "--pricing", PRICES, *extra)


def test_a_prompt_beside_the_scenario_is_read(project: Path) -> None:
    code, stdout, stderr = _simulate(project, "prompts/system.md")
    assert code == 0, stderr
    assert "production" in stdout


@pytest.mark.parametrize("prompt", ["/dev/zero", "/proc/self/environ", "/sys/kernel/hostname"])
def test_system_paths_are_refused_even_when_everything_is_allowed(
    project: Path, prompt: str
) -> None:
    code, stdout, stderr = _simulate(project, prompt, "--allow-path", "/")
    assert code == 3
    assert stdout == ""
    assert stderr.startswith(
        f"error: {project / 'scenario.yaml'}: {FIELD}.file: `{prompt}` is a system"
    )
    assert len(stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("prompt", ["../outside/secret.md", "{outside}/secret.md"])
def test_a_prompt_outside_needs_allow_path(project: Path, prompt: str) -> None:
    outside = project.parent / "outside"
    written = prompt.format(outside=outside)
    code, stdout, stderr = _simulate(project, written)
    assert code == 3
    assert stdout == ""
    assert f"{FIELD}.file: `{written}` lies outside the scenario file's directory" in stderr
    assert "--allow-path DIR" in stderr
    code, _stdout, stderr = _simulate(project, written, "--allow-path", str(outside))
    assert code == 0, stderr


def test_a_link_inside_pointing_outside_is_refused(project: Path) -> None:
    (project / "prompts" / "link.md").symlink_to(project.parent / "outside" / "secret.md")
    code, _stdout, stderr = _simulate(project, "prompts/link.md")
    assert code == 3
    assert "lies outside the scenario file's directory" in stderr


def test_a_pipe_is_not_a_prompt_file(project: Path) -> None:
    os.mkfifo(project / "prompts" / "pipe.md")
    code, _stdout, stderr = _simulate(project, "prompts/pipe.md")
    assert code == 3
    assert stderr.strip() == (
        f"error: {project / 'prompts' / 'pipe.md'}: {FIELD}: prompt file is not a regular file"
    )


def test_a_prompt_file_above_the_bound_is_refused(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scenarios, "MAX_PROMPT_FILE_BYTES", 1024)
    (project / "prompts" / "long.md").write_text("word " * 300)
    code, _stdout, stderr = _simulate(project, "prompts/long.md")
    assert code == 3
    assert stderr.strip() == (
        f"error: {project / 'prompts' / 'long.md'}: {FIELD}: prompt file is larger than 1,024 bytes"
    )
    (project / "prompts" / "short.md").write_text("word " * 200)
    assert _simulate(project, "prompts/short.md")[0] == 0


def test_scenario_logs_outside_need_allow_path(project: Path) -> None:
    logs = project.parent / "logs"
    logs.mkdir()
    (logs / "a.jsonl").write_bytes(SMALL.read_bytes())
    scenario = project / "scenario.yaml"
    for written in ("../logs/a.jsonl", "../logs/*.jsonl", "../logs/"):
        scenario.write_text(f"workload: {{logs: ['{written}']}}\nscenarios: [{{name: current}}]\n")
        code, stdout, stderr = run("simulate", "-s", str(scenario), "--pricing", PRICES)
        assert code == 3, written
        assert stdout == ""
        assert f"workload.logs[0]: `{written}` lies outside" in stderr
        code, _stdout, stderr = run(
            "simulate", "-s", str(scenario), "--pricing", PRICES, "--allow-path", str(logs)
        )
        assert code == 0, stderr


@pytest.mark.parametrize("written", ["logs/", "logs/*.jsonl"])
def test_a_linked_log_inside_an_allowed_directory_is_still_checked(
    project: Path, written: str
) -> None:
    logs = project / "logs"
    logs.mkdir()
    (logs / "a.jsonl").write_bytes(SMALL.read_bytes())
    (project.parent / "outside" / "b.jsonl").write_bytes(SMALL.read_bytes())
    (logs / "b.jsonl").symlink_to(project.parent / "outside" / "b.jsonl")
    scenario = project / "scenario.yaml"
    scenario.write_text(f"workload: {{logs: ['{written}']}}\nscenarios: [{{name: current}}]\n")
    code, stdout, stderr = run("simulate", "-s", str(scenario), "--pricing", PRICES)
    assert code == 3
    assert stdout == ""
    assert "workload.logs[0]: `" in stderr
    assert "b.jsonl` lies outside the scenario file's directory" in stderr
    assert len(stderr.strip().splitlines()) == 1
    (logs / "b.jsonl").unlink()
    code, _stdout, stderr = run("simulate", "-s", str(scenario), "--pricing", PRICES)
    assert code == 0, stderr


def test_a_saved_workload_outside_is_refused(project: Path) -> None:
    scenario = project / "scenario.yaml"
    scenario.write_text("workload: {workload: /etc/passwd}\nscenarios: [{name: current}]\n")
    code, _stdout, stderr = run("simulate", "-s", str(scenario), "--pricing", PRICES)
    assert code == 3
    assert "workload.workload: `/etc/passwd` lies outside" in stderr


def test_a_scorer_outside_is_refused_before_it_is_read(project: Path) -> None:
    scenario = project / "scenario.yaml"
    scenario.write_text(
        PROMPT_SCENARIO.format(prompt="prompts/system.md")
        + "  - name: routed\n    routing:\n      scorer: ../outside/secret.md\n"
        "      tiers: [{model: gpt-4o-mini, share: 0.5}, {model: gpt-4o}]\n"
    )
    code, stdout, stderr = run("simulate", "-s", str(scenario), "--pricing", PRICES)
    assert code == 3
    assert stdout == ""
    assert stderr.startswith(
        f"error: {scenario}: scenarios[1].routing.scorer: `../outside/secret.md` lies outside"
    )
