"""`pricing validate` rules: one invalid file per rule, every problem reported with file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from costaudit.config.pricing import PriceTable
from costaudit.configfile import validate_file
from costaudit.errors import InputError
from costaudit.pricetable.validate import FileCheck, check_file, layered_problems
from support import REPO, data_file

DEFAULT = REPO / "pricing" / "default.yaml"
OVERRIDES = REPO / "pricing" / "overrides.example.yaml"


def problems_of(name: str) -> list[tuple[str | None, str]]:
    check = check_file(data_file(f"pricing/invalid/{name}"))
    assert check.table is None
    for problem in check.problems:
        assert problem.location.file.endswith(name)
    return [(problem.location.field, problem.message) for problem in check.problems]


@pytest.mark.parametrize(
    ("name", "field", "message"),
    [
        ("unsorted_ids.yaml", "models", "ids must be sorted: move `alpha` before `zeta`"),
        (
            "alias_collision.yaml",
            "models.beta.aliases",
            "name `shared-name` is claimed by both `alpha` and `beta`",
        ),
        (
            "tiers_descending.yaml",
            "models.alpha.tiers",
            "tiers must be in strictly ascending `above_input_tokens` order",
        ),
        (
            "tier_missing_class.yaml",
            "models.alpha.tiers",
            "tier above 200000 must also price cached_input",
        ),
        (
            "cached_above_input.yaml",
            "models.alpha.cached_input",
            "cached_input (1.5) is above input (1); a cache read never costs more than uncached input",
        ),
        (
            "history_unordered.yaml",
            "models.alpha.history",
            "history entries must be oldest first with distinct `until` dates",
        ),
        (
            "batch_above_standard.yaml",
            "models.alpha.batch",
            "batch output price 10 is above the standard 8; a batch price is a discount",
        ),
        (
            "match_shadows_id.yaml",
            "models.gpt-4o.match",
            "pattern also matches `gpt-4o-mini`, a name of `gpt-4o-mini`; narrow it so it covers "
            "only this model's names",
        ),
        (
            "history_before_available.yaml",
            "models.alpha.history[0].until",
            "history entry until 2024-06-01 ends on or before available_from 2025-01-01: "
            "it prices no request",
        ),
        (
            "checked_after_effective.yaml",
            "models.alpha.checked",
            "checked 2026-12-01 is after the table's effective date 2026-11-25; bump `effective` "
            "so freshness warnings stay true",
        ),
        ("alias_repeats_id.yaml", "models.alpha.aliases", "alias `alpha` repeats the model id"),
        ("negative_price.yaml", "models.alpha.input", "Input should be greater than or equal to 0"),
    ],
)
def test_each_rule_reports_exactly_its_problem(name: str, field: str, message: str) -> None:
    assert problems_of(name) == [(field, message)]


def test_a_typo_names_the_unknown_key_and_the_missing_one() -> None:
    assert problems_of("unknown_key.yaml") == [
        ("models.alpha.output", "required key is missing"),
        ("models.alpha.ouptut", "unknown key (check the spelling)"),
    ]


def test_an_unknown_tokenizer_lists_the_known_encodings() -> None:
    [(field, message)] = problems_of("unknown_tokenizer.yaml")
    assert field == "models.alpha.tokenizer"
    assert message.startswith("`llama3` is not a tiktoken encoding (known: ")
    assert "cl100k_base" in message and "o200k_base" in message


def test_a_yaml_syntax_error_names_the_line() -> None:
    check = check_file(data_file("pricing/invalid/not_yaml.yaml"))
    [problem] = check.problems
    assert problem.location.line == 4
    assert problem.message.startswith("invalid YAML")


def test_every_problem_is_reported_not_just_the_first() -> None:
    """Pydantic alone stops at the negative price: the sorted-id, tier and batch rules never run."""
    assert problems_of("many_problems.yaml") == [
        ("models.zeta.input", "Input should be greater than or equal to 0"),
        ("models.alpha.sourse", "unknown key (check the spelling)"),
        ("models", "ids must be sorted: move `alpha` before `zeta`"),
        (
            "models.alpha.cached_input",
            "cached_input (2) is above input (1); a cache read never costs more than uncached input",
        ),
        ("models.alpha.tiers", "tiers must be in strictly ascending `above_input_tokens` order"),
        (
            "models.alpha.batch",
            "batch output price 3 is above the standard 2; a batch price is a discount",
        ),
    ]


def test_pydantic_reports_only_the_first_problem_of_the_same_file() -> None:
    """Why the rules exist: the loader's own validation sees one of the six problems above."""
    from costaudit.config.pricing import PriceTable
    from costaudit.errors import InputError

    with pytest.raises(InputError) as caught:
        validate_file(data_file("pricing/invalid/many_problems.yaml"), PriceTable)
    assert len((caught.value, *caught.value.also)) == 2


@pytest.mark.parametrize("path", [DEFAULT, OVERRIDES], ids=lambda path: path.name)
def test_the_shipped_tables_are_valid(path: Path) -> None:
    check = check_file(path)
    assert check.problems == ()
    assert check.table is not None


def test_the_example_overrides_layer_cleanly_on_the_default() -> None:
    assert layered_problems([check_file(DEFAULT), check_file(OVERRIDES)]) == []


def test_a_name_claimed_in_two_layered_files_is_reported(tmp_path: Path) -> None:
    override = tmp_path / "override.yaml"
    override.write_text(
        "schema_version: 1\neffective: 2026-11-25\nmodels:\n"
        "  my-gpt: {provider: acme, input: 1, output: 2, aliases: [gpt-4o-2024-08-06], "
        "source: contract, checked: 2026-11-25}\n",
        encoding="utf-8",
    )
    checks = [check_file(DEFAULT), check_file(override)]
    assert all(check.problems == () for check in checks)
    [problem] = layered_problems(checks)
    assert problem.location.file == f"{DEFAULT} + {override}"
    assert "`gpt-4o-2024-08-06` is claimed by both `gpt-4o` and `my-gpt`" in problem.message


def test_layering_is_not_checked_while_a_file_is_invalid() -> None:
    broken = FileCheck(Path("broken.yaml"), None, ())
    assert layered_problems([check_file(DEFAULT), broken]) == []


def test_an_empty_file_and_a_list_are_reported(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing\n", encoding="utf-8")
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n", encoding="utf-8")
    assert [p.message for p in check_file(empty).problems] == ["file is empty"]
    assert [p.message for p in check_file(listed).problems] == [
        "expected a mapping at the top level"
    ]


def test_tokenizer_ratio_keys_are_encodings(tmp_path: Path) -> None:
    path = tmp_path / "ratios.yaml"
    path.write_text(
        "schema_version: 1\neffective: 2026-11-25\n"
        "tokenizers:\n  o200k-base: {per_cl100k: 0.99, source: measured}\n",
        encoding="utf-8",
    )
    assert [(p.location.field, p.message) for p in check_file(path).problems] == [
        ("tokenizers.o200k-base", "`o200k-base` is not a tiktoken encoding")
    ]


def test_a_yaml_alias_bomb_is_refused_fast(tmp_path: Path) -> None:
    """A few hundred bytes whose aliases expand to 10^12 values: refused before validation."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 12)]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    assert bomb.stat().st_size < 1000
    with pytest.raises(InputError, match="aliases expand to more than 1,000,000 values"):
        validate_file(bomb, PriceTable)


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("a: " + "[" * 150 + "]" * 150 + "\n")
    with pytest.raises(InputError, match="deep"):
        validate_file(deep, PriceTable)
