"""Scenario files: the committed schema is generated, every key is documented, and a typo is met with
the closest valid key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from costaudit.config.scenario import ScenarioFile
from costaudit.configfile import allowed_keys, validate_file
from costaudit.errors import InputError
from costaudit.pricetable.schema import scenario_schema_text
from costaudit.render.scenario_reference import scenario_reference
from support import REPO

SCHEMA_FILE = REPO / "pricing" / "scenario.schema.json"


def test_committed_scenario_schema_matches_the_models() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == scenario_schema_text(), (
        "pricing/scenario.schema.json drifted from costaudit/config/scenario.py: run "
        "`costaudit pricing schema --scenario --out pricing/scenario.schema.json`"
    )


def test_every_key_has_a_description_and_appears_in_the_reference() -> None:
    schema = json.loads(scenario_schema_text())
    reference = scenario_reference(schema)
    models = {"ScenarioFile": schema, **schema["$defs"]}
    for name, model in models.items():
        assert model.get("description"), f"{name} needs a docstring"
        for key, prop in model.get("properties", {}).items():
            assert prop.get("description"), f"{name}.{key} needs a docstring"
            assert f"| `{key}` |" in reference
    for key in (
        "applies_to",
        "max_requests",
        "breakpoints",
        "max_breakpoints",
        "too_long",
        "growth",
    ):
        assert f"| `{key}` |" in reference
    assert "`scenarios[].prompt_cache`" in reference
    assert "`scenarios[].fine_tune.hosting`" in reference


def test_the_readme_carries_the_generated_reference() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("<!-- BEGIN generated:scenario-keys -->", 1)[1].split("<!-- END", 1)[0]
    assert section.strip() == scenario_reference(json.loads(scenario_schema_text())).strip()


@pytest.mark.parametrize(
    ("text", "field", "hint"),
    [
        ("  - name: x\n    hosting: {model: m, gpt: h100}\n", "scenarios[0].hosting.gpt", "`gpu`"),
        ("  - name: x\n    promt_cache: {}\n", "scenarios[0].promt_cache", "`prompt_cache`"),
        (
            "  - name: x\n    batching: {share: 1, aplies_to: [a]}\n",
            "scenarios[0].batching.aplies_to",
            "`applies_to`",
        ),
        (
            "  - name: x\n    routing: {tiers: [{model: a, shar: 0.5}, {model: b}]}\n",
            "scenarios[0].routing.tiers[0].shar",
            "`share`",
        ),
    ],
)
def test_a_misspelt_key_names_the_closest_valid_one(
    tmp_path: Path, text: str, field: str, hint: str
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("workload: {logs: [a.jsonl]}\nscenarios:\n" + text)
    with pytest.raises(InputError) as caught:
        validate_file(path, ScenarioFile)
    problems = [caught.value, *caught.value.also]
    match = next(p for p in problems if p.location.field == field)
    assert f"(did you mean {hint}?)" in match.message


def test_allowed_keys_walk_lists_mappings_and_unions() -> None:
    assert "too_long" in allowed_keys(ScenarioFile, ("scenarios", 0, "fine_tune", "hosting"))
    assert "budget" in allowed_keys(ScenarioFile, ("check", "groups", "feature", "chat"))
    assert allowed_keys(ScenarioFile, ("nope",)) == []
