"""Model ids resolve the way gateways write them, and never to another platform's price."""

from __future__ import annotations

from decimal import Decimal

import pytest

from costaudit.core.model_ids import Candidate, accepts, candidates, canonical_provider
from costaudit.core.pricing import ModelResolver
from costaudit.pricetable.layers import load_prices
from support import MakeTable, data_file


def gateway_ids() -> list[str]:
    lines = data_file("pricing/gateway_model_ids.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


@pytest.fixture(scope="module")
def packaged() -> ModelResolver:
    return ModelResolver(load_prices().table)


def test_every_gateway_id_resolves_in_the_packaged_table(packaged: ModelResolver) -> None:
    ids = gateway_ids()
    assert len(ids) >= 70
    assert [name for name in ids if packaged.resolve(name) is None] == []


@pytest.mark.parametrize(
    ("logged", "price_id"),
    [
        (
            "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo",
            "together/llama-3.3-70b-instruct-turbo",
        ),
        ("azure/gpt-4o", "gpt-4o"),
        ("azure/eu/gpt-4o", "azure/eu/gpt-4o"),
        ("anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        (
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        ),
        ("bedrock/converse/us.anthropic.claude-3-7-sonnet-20250219-v1:0", "claude-3-7-sonnet"),
        ("vertex_ai/claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
        ("openrouter/anthropic/claude-sonnet-4.5", "claude-sonnet-4-5"),
        ("models/gemini-2.5-pro", "gemini-2.5-pro"),
        ("mistral/mistral-large-latest", "mistral-large-2512"),
        ("claude-3-5-sonnet-latest", "claude-3-5-sonnet"),
        ("gpt-4o-2024-05-13", "gpt-4o-2024-05-13"),
        ("groq/llama-3.3-70b-versatile", "groq/llama-3.3-70b-versatile"),
        ("llama-3.3-70b-versatile", "groq/llama-3.3-70b-versatile"),
    ],
)
def test_names_reach_the_entry_that_bills_them(
    packaged: ModelResolver, logged: str, price_id: str
) -> None:
    assert packaged.resolve(logged) == price_id


def test_a_platform_that_bills_differently_keeps_its_own_price(packaged: ModelResolver) -> None:
    table = packaged.table
    regional = table.models["us.anthropic.claude-sonnet-4-5-20250929-v1:0"]
    first_party = table.models["claude-sonnet-4-5"]
    assert regional.input > first_party.input
    zone = table.models["azure/eu/gpt-4o"]
    assert zone.input == table.models["gpt-4o"].input * Decimal("1.1")


def test_unknown_ids_stay_unpriced(packaged: ModelResolver) -> None:
    for name in ("my-finetune-xyz", "together_ai/acme/secret-model", "azure/my-deployment", ""):
        assert packaged.resolve(name) is None


def test_a_host_prefix_never_reaches_another_hosts_entry(make_table: MakeTable) -> None:
    table = make_table(
        **{
            "together/llama": {
                "provider": "together",
                "input": "0.88",
                "output": "0.88",
                "aliases": ["meta-llama/Llama-3.3-70B-Instruct-Turbo"],
            },
            "gpt-4o": {"provider": "openai", "input": "2.5", "output": "10"},
        }
    )
    resolver = ModelResolver(table)
    assert (
        resolver.resolve("together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo") == "together/llama"
    )
    assert resolver.resolve("deepinfra/meta-llama/Llama-3.3-70B-Instruct-Turbo") is None
    assert resolver.resolve("openrouter/meta-llama/Llama-3.3-70B-Instruct-Turbo") is None
    assert resolver.resolve("deepinfra/openai/gpt-4o") == "gpt-4o"


def test_a_snapshot_older_than_the_entry_is_another_model(make_table: MakeTable) -> None:
    table = make_table(
        **{
            "gpt-4o": {
                "provider": "openai",
                "input": "2.5",
                "output": "10",
                "available_from": "2024-08-06",
            }
        }
    )
    resolver = ModelResolver(table)
    assert resolver.resolve("gpt-4o-2024-11-20") == "gpt-4o"
    assert resolver.resolve("gpt-4o-2024-05-13") is None


def test_candidates_unwrap_a_bedrock_inference_profile_step_by_step() -> None:
    names = [
        c.name for c in candidates("bedrock/us-east-1/us.anthropic.claude-3-5-haiku-20241022-v1:0")
    ]
    assert names == [
        "bedrock/us-east-1/us.anthropic.claude-3-5-haiku-20241022-v1:0",
        "us-east-1/us.anthropic.claude-3-5-haiku-20241022-v1:0",
        "us.anthropic.claude-3-5-haiku-20241022-v1:0",
        "anthropic.claude-3-5-haiku-20241022-v1:0",
        "anthropic.claude-3-5-haiku-20241022",
        "claude-3-5-haiku-20241022",
        "claude-3-5-haiku",
    ]
    assert {
        c.host for c in candidates("bedrock/us-east-1/us.anthropic.claude-3-5-haiku-20241022-v1:0")
    } == {
        None,
        "bedrock",
    }


def test_accepts_first_party_or_the_same_platform() -> None:
    via_groq = Candidate("llama-3.3-70b", "groq", ())
    assert accepts(via_groq, "groq")
    assert accepts(via_groq, "openai")
    assert not accepts(via_groq, "together_ai")
    assert accepts(Candidate("x", None, ()), "anything")


def test_provider_names_have_one_spelling() -> None:
    assert [
        canonical_provider(name)
        for name in (
            "together_ai",
            "x-ai",
            "vertex_ai-anthropic_models",
            "bedrock_converse",
            "openai",
        )
    ] == [
        "together",
        "xai",
        "vertex",
        "bedrock",
        "openai",
    ]
