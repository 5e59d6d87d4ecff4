"""Atomic writes: a failed write leaves the previous file as it was; output symlinks are guarded."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import BinaryIO

import pytest
from typer.testing import CliRunner

from costaudit.cli.app import app
from costaudit.errors import InputError
from costaudit.fileio import check_destination, write_file
from support import data_file

PRICES = str(data_file("cli/prices.yaml"))
SCENARIO = """\
workload:
  synthetic:
    requests_per_day: 1000
    model: gpt-4o
    input_tokens: 100
    output_tokens: 50
    arrival: {pattern: uniform}
scenarios:
  - name: production
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _fails_halfway(handle: BinaryIO) -> None:
    handle.write(b"half of the new content")
    raise OSError(errno.ENOSPC, "No space left on device")


def test_write_replaces_the_whole_file_and_keeps_its_permissions(tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    target.write_text("old content that is longer than the new one\n", encoding="utf-8")
    target.chmod(0o640)
    write_file(target, "new\n")
    assert target.read_text(encoding="utf-8") == "new\n"
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(item.name for item in tmp_path.iterdir()) == ["report.txt"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "baseline.json"
    target.write_text('{"old": true}\n', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        write_file(target, _fails_halfway)
    assert str(caught.value) == f"{target}: cannot write: No space left on device"
    assert target.read_text(encoding="utf-8") == '{"old": true}\n'
    assert sorted(item.name for item in tmp_path.iterdir()) == ["baseline.json"]


def test_a_failed_sync_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "workload.parquet"
    target.write_bytes(b"PAR1 old")

    def no_space(_descriptor: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(InputError, match="cannot write: Input/output error"):
        write_file(target, b"PAR1 new")
    assert target.read_bytes() == b"PAR1 old"
    assert sorted(item.name for item in tmp_path.iterdir()) == ["workload.parquet"]


def test_a_device_is_written_in_place() -> None:
    write_file(Path("/dev/null"), "nothing\n")
    assert Path("/dev/null").is_char_device()


def test_a_full_device_is_bad_input() -> None:
    with pytest.raises(InputError, match=r"^/dev/full: cannot write: No space left on device$"):
        write_file(Path("/dev/full"), "x" * 100_000)


def test_a_link_is_kept_and_its_target_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "real.md").write_text("old\n", encoding="utf-8")
    (tmp_path / "latest.md").symlink_to(tmp_path / "reports" / "real.md")
    check_destination(Path("latest.md"), force=False)
    write_file(Path("latest.md"), "new\n")
    assert (tmp_path / "latest.md").is_symlink()
    assert (tmp_path / "reports" / "real.md").read_text(encoding="utf-8") == "new\n"


def test_a_link_outside_the_working_directory_needs_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me\n", encoding="utf-8")
    (work / "report.txt").symlink_to(outside)
    monkeypatch.chdir(work)
    with pytest.raises(InputError, match="outside the working directory; add --force"):
        check_destination(Path("report.txt"), force=False)
    check_destination(Path("report.txt"), force=True)
    check_destination(Path(tmp_path / "plain-outside.txt"), force=False)


def test_out_through_an_outside_link_is_refused_without_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "costaudit.yaml").write_text(SCENARIO, encoding="utf-8")
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me\n", encoding="utf-8")
    (work / "report.json").symlink_to(outside)
    monkeypatch.chdir(work)
    args = ["simulate", "-s", "costaudit.yaml", "--pricing", PRICES, "-o", "json"]
    code, stdout, stderr = run(*args, "--out", "report.json")
    assert code == 2
    assert stdout == ""
    assert "--out: report.json is a symbolic link to" in stderr
    assert outside.read_text(encoding="utf-8") == "keep me\n"
    code, _stdout, stderr = run(*args, "--out", "report.json", "--force")
    assert code == 0, stderr
    assert outside.read_text(encoding="utf-8").startswith("{")
    assert (work / "report.json").is_symlink()


def test_a_failed_baseline_update_keeps_the_old_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("costaudit.yaml").write_text(SCENARIO, encoding="utf-8")
    args = ["check", "-s", "costaudit.yaml", "--pricing", PRICES, "--baseline", "baseline.json"]
    code, _stdout, stderr = run(*args, "--update-baseline")
    assert code == 0, stderr
    before = Path("baseline.json").read_bytes()
    Path("costaudit.yaml").write_text(
        SCENARIO.replace("requests_per_day: 1000", "requests_per_day: 2000"), encoding="utf-8"
    )

    def broken(_descriptor: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken)
    code, stdout, stderr = run(*args, "--update-baseline")
    assert code == 3
    assert stdout == ""
    assert stderr.strip().splitlines()[-1] == (
        "error: baseline.json: cannot write: No space left on device"
    )
    assert Path("baseline.json").read_bytes() == before
    assert sorted(item.name for item in tmp_path.iterdir()) == ["baseline.json", "costaudit.yaml"]


def test_a_report_to_a_full_device_is_one_line_and_exit_3(tmp_path: Path) -> None:
    scenario = tmp_path / "costaudit.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    code, stdout, stderr = run(
        "simulate", "-s", str(scenario), "--pricing", PRICES, "-o", "json", "--out", "/dev/full"
    )
    assert code == 3
    assert stdout == ""
    assert stderr == "error: /dev/full: cannot write: No space left on device\n"


def test_a_failed_workload_save_keeps_the_previous_workload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = tmp_path / "workload.parquet"
    logs = str(data_file("cli/openai_small.jsonl"))
    code, _stdout, stderr = run("analyze", logs, "--pricing", PRICES, "--save-workload", str(saved))
    assert code == 0, stderr
    before = saved.read_bytes()

    def broken(_descriptor: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken)
    code, _stdout, stderr = run("analyze", logs, "--pricing", PRICES, "--save-workload", str(saved))
    assert code == 3
    assert f"error: {saved}: cannot write: No space left on device" in stderr
    assert saved.read_bytes() == before
    assert sorted(item.name for item in tmp_path.iterdir()) == ["workload.parquet"]


def test_a_baseline_update_through_an_outside_link_needs_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    outside = tmp_path / "precious.json"
    outside.write_text("keep me\n", encoding="utf-8")
    (work / "baseline.json").symlink_to(outside)
    (work / "costaudit.yaml").write_text(SCENARIO, encoding="utf-8")
    monkeypatch.chdir(work)
    args = ["check", "-s", "costaudit.yaml", "--pricing", PRICES, "--baseline", "baseline.json"]
    code, stdout, stderr = run(*args, "--update-baseline")
    assert code == 2
    assert stdout == ""
    assert "--baseline: baseline.json is a symbolic link to" in stderr
    assert outside.read_text(encoding="utf-8") == "keep me\n"
    code, _stdout, stderr = run(*args, "--update-baseline", "--force")
    assert code == 0, stderr
    assert json.loads(outside.read_text(encoding="utf-8"))["schema"] == "costaudit.api.baseline/1"
