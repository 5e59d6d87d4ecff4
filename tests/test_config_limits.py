"""Configuration numbers and keys: duplicates, non-finite and absurd numbers, negative seeds and bad
baselines end in one line naming the file (and line or field), never in exit 4."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costaudit.api.baseline import read_baseline
from costaudit.cli.app import app
from costaudit.configfile import read_config
from costaudit.core.prompt_cache import PrefixBlocks
from costaudit.errors import InputError
from support import data_file

PRICES = str(data_file("cli/prices.yaml"))
TABLE_HEAD = "schema_version: 1\neffective: 2026-11-25\nmodels:\n"
ENTRY = """\
  {name}:
    provider: openai
    input: {price}
    output: 10
    source: test
    checked: 2026-11-25
"""
SCENARIO = """\
workload:
  synthetic:
    requests_per_day: {per_day}
    model: gpt-4o
    input_tokens: 100
    output_tokens: 50
    seed: {seed}
scenarios:
  - name: production
check: {{max_increase: 5%}}
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _table(tmp_path: Path, *entries: tuple[str, str]) -> Path:
    path = tmp_path / "prices.yaml"
    body = "".join(ENTRY.format(name=name, price=price) for name, price in entries)
    path.write_text(TABLE_HEAD + body, encoding="utf-8")
    return path


def test_two_blocks_for_one_model_are_refused_naming_the_line(tmp_path: Path) -> None:
    path = _table(tmp_path, ("gpt-4o", "2.5"), ("gpt-4o-mini", "0.15"), ("gpt-4o", "0.01"))
    code, stdout, stderr = run("pricing", "validate", str(path))
    assert code == 3
    assert stdout == ""
    assert stderr.splitlines()[0] == (
        f"error: {path}:16: duplicate key `gpt-4o` (the same mapping already has it)"
    )


def test_a_duplicate_key_in_json_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "table.json"
    path.write_text('{"models": {\n "a": 1,\n "b": "a",\n "a": 2\n}}\n', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_config(path)
    assert str(caught.value) == f"{path}:4: duplicate key `a` (the same mapping already has it)"


def test_yaml_merge_keys_may_still_be_overridden(tmp_path: Path) -> None:
    path = tmp_path / "anchors.yaml"
    path.write_text("base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\n", encoding="utf-8")
    assert read_config(path) == {"base": {"x": 1, "y": 2}, "derived": {"x": 1, "y": 3}}


@pytest.mark.parametrize(
    ("price", "message"),
    [
        ("1.0e+999999", ":6: number `1.0e+999999` is out of range"),
        (".nan", ":6: number `.nan` is out of range"),
        (".inf", ":6: number `.inf` is out of range"),
        ("100000000000000000000", ":6: number `100000000000000000000` is out of range"),
        ("1e999999", ": models.gpt-4o.input: Input should be less than or equal to 1000000000"),
        ("-1", ": models.gpt-4o.input: Input should be greater than or equal to 0"),
    ],
)
def test_absurd_prices_are_bad_input(tmp_path: Path, price: str, message: str) -> None:
    path = _table(tmp_path, ("gpt-4o", price))
    code, _stdout, stderr = run("pricing", "validate", str(path))
    assert code == 3
    assert stderr.splitlines()[0].startswith(f"error: {path}{message}")


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999999", "1" * 30])
def test_json_numbers_are_finite_and_bounded(tmp_path: Path, literal: str) -> None:
    path = tmp_path / "table.json"
    path.write_text('{"models":\n {"input": ' + literal + "}}\n", encoding="utf-8")
    with pytest.raises(InputError, match=r":2: number `.*` is out of range"):
        read_config(path)


@pytest.mark.parametrize(
    ("per_day", "seed", "field", "message"),
    [
        ("1e30", "1", "workload.synthetic.requests_per_day", "less than or equal to 1000000000"),
        ("10", "-1", "workload.synthetic.seed", "greater than or equal to 0"),
    ],
)
def test_absurd_scenario_numbers_are_bad_input(
    tmp_path: Path, per_day: str, seed: str, field: str, message: str
) -> None:
    path = tmp_path / "costaudit.yaml"
    path.write_text(SCENARIO.format(per_day=per_day, seed=seed), encoding="utf-8")
    code, stdout, stderr = run("simulate", "-s", str(path), "--pricing", PRICES)
    assert code == 3
    assert stdout == ""
    assert stderr.strip() == f"error: {path}: {field}: Input should be {message}"


def test_a_negative_seed_on_the_command_line_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "costaudit.yaml"
    path.write_text(SCENARIO.format(per_day=10, seed=1), encoding="utf-8")
    code, stdout, stderr = run("simulate", "-s", str(path), "--pricing", PRICES, "--seed", "-1")
    assert code == 2
    assert stdout == ""
    assert "--seed" in stderr
    assert "Traceback" not in stderr


@pytest.fixture
def baseline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A baseline written by `check --update-baseline`."""
    monkeypatch.chdir(tmp_path)
    Path("costaudit.yaml").write_text(SCENARIO.format(per_day=1000, seed=1), encoding="utf-8")
    code, _stdout, stderr = run(
        "check", "-s", "costaudit.yaml", "--pricing", PRICES, "--baseline", "baseline.json"
    )
    assert code == 3, stderr
    code, _stdout, stderr = run(
        "check",
        "-s",
        "costaudit.yaml",
        "--pricing",
        PRICES,
        "--baseline",
        "baseline.json",
        "--update-baseline",
    )
    assert code == 0, stderr
    return tmp_path / "baseline.json"


@pytest.mark.parametrize(
    ("monthly", "message"),
    [
        ('"-5"', "negative amount -5"),
        ('"NaN"', "not a finite amount"),
        ('"12abc"', "not a decimal amount"),
        ("[1]", "not a decimal amount"),
        ("true", "not a decimal amount"),
        ('"1e12"', "amount 1e12 is above 1,000,000,000 USD"),
    ],
)
def test_a_bad_baseline_amount_is_refused_naming_the_field(
    baseline: Path, monthly: str, message: str
) -> None:
    document = json.loads(baseline.read_text(encoding="utf-8"))
    document["scenarios"]["production"]["monthly_usd"] = "PLACEHOLDER"
    text = json.dumps(document, indent=2).replace('"PLACEHOLDER"', monthly)
    baseline.write_text(text, encoding="utf-8")
    code, stdout, stderr = run(
        "check", "-s", "costaudit.yaml", "--pricing", PRICES, "--baseline", "baseline.json"
    )
    assert code == 3
    assert stdout == ""
    assert stderr.strip() == (f"error: baseline.json: scenarios.production.monthly_usd: {message}")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "baseline.json:1: invalid JSON"),
        (
            '{"schema": "costaudit.api.baseline/1",\n "schema": "x"}',
            "baseline.json:2: duplicate key",
        ),
        ('{"schema": "costaudit.api.baseline/1", "scenarios": {}, "hashes": []}', "hashes: not an"),
        (
            '{"schema": "costaudit.api.baseline/1", "scenarios": {}, "hashes": {"prompts": 3}}',
            "hashes.prompts: not an object",
        ),
        ('{"schema": "costaudit.api.baseline/1", "scenarios": []}', "scenarios: missing or not"),
        ("[]", "baseline.json: schema: not a costaudit baseline"),
    ],
)
def test_a_malformed_baseline_is_bad_input(baseline: Path, text: str, message: str) -> None:
    baseline.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_baseline(Path("baseline.json"))
    assert message in str(caught.value)
    code, _stdout, stderr = run(
        "check", "-s", "costaudit.yaml", "--pricing", PRICES, "--baseline", "baseline.json"
    )
    assert code == 3
    assert stderr.startswith("error: baseline.json")


def test_stand_in_prefix_blocks_are_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stand-in prefix blocks are bounded (the bound lowered here): a synthetic workload whose tokens
    need more blocks gets coarser ones instead of unbounded memory (10^12 tokens a request once asked
    for 114 TiB), and building more than the bound directly is refused."""
    import numpy as np

    from costaudit.api import load_prices, load_scenario, scenario_workload
    from costaudit.core import prompt_cache

    monkeypatch.setattr(prompt_cache, "MAX_PREFIX_BLOCKS", 1000)
    path = tmp_path / "costaudit.yaml"
    path.write_text(SCENARIO.format(per_day=1000, seed=1), encoding="utf-8")
    prices = load_prices([PRICES])
    built = scenario_workload(load_scenario(path, prices=prices), prices=prices)
    blocks = built.workload.requests.prefix_blocks
    assert isinstance(blocks, PrefixBlocks)
    assert (
        blocks.block_tokens == 128
    )  # 1,000 requests x 100 tokens: 2,000 blocks of 64, 1,000 of 128
    assert len(blocks.hashes) == 1000
    with pytest.raises(prompt_cache.TooManyBlocks, match="100,000 input tokens make 2,000"):
        prompt_cache.synthetic_prefix_blocks(np.full(1000, 100, dtype=np.int64), 0, 64)
    code, _stdout, stderr = run("simulate", "-s", str(path), "--pricing", PRICES)
    assert code == 0, stderr


def test_heavy_tailed_token_counts_saturate_at_the_per_record_maximum() -> None:
    import numpy as np

    from costaudit.config.scenario import ValueDistribution
    from costaudit.core.simulate.synthetic import _token_counts

    spec = ValueDistribution(distribution="lognormal", mean=Decimal(10**14), sigma=Decimal(3))
    counts = _token_counts(spec, 1000, np.random.default_rng(1))
    assert int(counts.min()) >= 0
    assert int(counts.max()) == 10**12
