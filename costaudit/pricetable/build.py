"""Build the generated price layer from the maintained datasets, under the hand-curated table.

`pricing/default.yaml` is checked by hand, model by model, with a note wherever its numbers differ
from the datasets. `pricing/generated.yaml` widens coverage to the models real traffic names, built
reproducibly by this module from the same two datasets `pricing import` reads:

    python -m costaudit.pricetable.build --litellm model_prices_and_context_window.json --date 2026-11-25

The packaged default is both files layered, generated first, so a curated entry always wins. The
build keeps the layering clean: a model the curated table (or an earlier source) already prices
under any of its names is left out, an alias another entry already answers to is dropped, and a
`match` pattern never covers another entry's names. Sources, in priority order:

1. genai-prices (the installed package): the first-party providers' own models, with dated history;
2. LiteLLM's price map: first-party models genai-prices lacks (their ids without the `gemini/`,
   `xai/`, ... prefix);
3. LiteLLM: the platforms that resell models (Together, Groq, Fireworks, DeepInfra, Bedrock, Vertex,
   Azure, OpenRouter) for the families real traffic uses, under the gateway's own name. An entry is
   kept only when the platform bills differently from the price its name already resolves to
   (Bedrock's regional endpoints, Azure's data zones, every open-model host); the others resolve to
   the first-party price through `costaudit.core.model_ids`;
4. genai-prices' platform providers for hosted models LiteLLM lacks.

Every entry keeps the importer's `source` (dataset, version or file, key, import day). The build also
writes `pricing/crosscheck.yaml`: each curated model's counterpart in both datasets, so a test can
insist that every disagreement has a note in `pricing/reconciled.yaml` saying which is right and why.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from costaudit.config.pricing import TOKEN_CLASSES, ModelPrice, PriceTable
from costaudit.core.model_ids import canonical_provider
from costaudit.core.pricing import ModelResolver, Rates, class_rates
from costaudit.fileio import write_file
from costaudit.pricetable.importers.common import exclude_names
from costaudit.pricetable.importers.genai_prices import convert_genai_prices, installed_providers
from costaudit.pricetable.importers.litellm import convert_litellm
from costaudit.pricetable.sheet import rate_sheet
from costaudit.pricetable.yamlio import dump_table, dump_table_json

REPO = Path(__file__).resolve().parents[2]
CURATED = REPO / "pricing" / "default.yaml"
GENERATED = REPO / "pricing" / "generated.json"
CROSSCHECK = REPO / "pricing" / "crosscheck.yaml"

GENAI_FIRST_PARTY = ("openai", "anthropic", "google", "mistral", "deepseek", "x-ai", "cohere")
LITELLM_FIRST_PARTY = {
    "openai": "",
    "anthropic": "",
    "gemini": "gemini/",
    "xai": "xai/",
    "deepseek": "deepseek/",
    "mistral": "mistral/",
    "cohere_chat": "",
    "cohere": "",
}
"""LiteLLM providers billing their own models → the prefix their keys carry (dropped in the id)."""
LITELLM_PLATFORMS = (
    "together_ai",
    "groq",
    "fireworks_ai",
    "deepinfra",
    "bedrock",
    "bedrock_converse",
    "azure",
    "azure_ai",
    "openrouter",
)
GENAI_PLATFORMS = {
    "together": "together_ai/",
    "groq": "groq/",
    "fireworks": "fireworks_ai/accounts/fireworks/models/",
    "aws": "",
    "openrouter": "openrouter/",
}
"""genai-prices platform providers → the gateway prefix their models are named under here."""
NATIVE_ALIAS_PREFIXES = ("together_ai/", "groq/", "fireworks_ai/", "openrouter/")
"""Platforms whose own model names are distinctive enough to be aliases (`groq/x` answers to `x`)."""
FAMILIES = re.compile(
    r"llama-?[34]|qwen-?[23]|qwq|deepseek-(?:v3|r1|chat|reasoner|v4)|gpt-oss|mistral|mixtral|"
    r"codestral|ministral|magistral|devstral|claude|nova|gpt-[45]|(?:^|[/.])o[1-9]|gemini|gemma-?3|"
    r"grok|command|kimi",
    re.IGNORECASE,
)
"""Model families real traffic names (the chat models of the first parties, and the current open
models hosted everywhere); other models of the platforms are left out."""
EXCLUDED = re.compile(
    r"us-gov|:(?:free|batch|extended|beta|nitro|floor|online|thinking)$|-ft-|/ft:|^ft:|fine-tun|"
    r"guard|embed|vision-preview|code-llama",
    re.IGNORECASE,
)
"""Government regions, free tiers, OpenRouter routing variants, fine-tuned and non-chat models."""
OPENROUTER_VENDORS = re.compile(
    r"^openrouter/(?:meta-llama|qwen|deepseek|mistralai|moonshotai|openai|google|amazon|x-ai|"
    r"anthropic|cohere)/"
)
"""OpenRouter ids of the model makers real traffic names (its community fine-tunes are left out)."""
AMAZON_MODEL = re.compile(r"(?:^|[./])amazon\.nova", re.IGNORECASE)


@dataclass
class Layer:
    """The generated entries so far, with what the build decided about each source entry."""

    curated: PriceTable
    entries: dict[str, ModelPrice] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def table(self) -> PriceTable:
        return PriceTable.model_construct(
            schema_version=1,
            effective=self.curated.effective,
            models={**self.entries, **self.curated.models},
        )

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1


def build(
    curated: PriceTable,
    litellm: Mapping[str, Any],
    litellm_name: str,
    genai: Sequence[Mapping[str, Any]],
    genai_origin: str,
    day: date,
) -> tuple[PriceTable, PriceTable, dict[str, int]]:
    """(the generated layer, the curated models' counterparts, counts of what was decided)."""
    lit = convert_litellm(litellm, file_name=litellm_name, imported=day).table
    genai_tables = {
        provider: convert_genai_prices(
            genai, origin=genai_origin, imported=day, provider_ids=[provider]
        ).table
        for provider in (*GENAI_FIRST_PARTY, *GENAI_PLATFORMS)
        if any(str(item["id"]) == provider for item in genai)
    }
    layer = Layer(curated)
    for provider in GENAI_FIRST_PARTY:
        table = genai_tables.get(provider)
        if table is not None:
            _add_all(layer, _genai_first_party(provider, table), covered_if="any name resolves")
    _add_all(layer, _litellm_first_party(lit), covered_if="any name resolves")
    _add_all(layer, _litellm_platforms(lit), covered_if="billed the same")
    for provider, prefix in GENAI_PLATFORMS.items():
        table = genai_tables.get(provider)
        if table is not None:
            _add_all(
                layer, _genai_platform(provider, prefix, table), covered_if="any name resolves"
            )
    generated = PriceTable.model_validate(
        {
            "schema_version": 1,
            "effective": curated.effective,
            "models": dict(sorted(_patterns_off_curated(layer).items())),
        }
    )
    return generated, counterparts(curated, lit, genai_tables), layer.counts


# ------------------------------------------------------------------------------------- the sources


def _genai_first_party(provider: str, table: PriceTable) -> Iterable[tuple[str, ModelPrice]]:
    for model_id, model in table.models.items():
        if provider == "google" and not model_id.startswith(("gemini", "gemma")):
            continue  # genai-prices' google provider also lists Claude on Vertex
        yield model_id, model.model_copy(update={"provider": canonical_provider(provider)})


def _litellm_first_party(table: PriceTable) -> Iterable[tuple[str, ModelPrice]]:
    for key, model in table.models.items():
        prefix = LITELLM_FIRST_PARTY.get(model.provider)
        if prefix is None or not key.startswith(prefix):
            continue
        model_id = key.removeprefix(prefix)
        if "/" in model_id:
            continue  # a sub-route (`gemini/flash/...`), not a model id
        yield (
            model_id,
            model.model_copy(
                update={
                    "provider": canonical_provider(model.provider),
                    "source": _keyed(model, key),
                }
            ),
        )


def _litellm_platforms(table: PriceTable) -> Iterable[tuple[str, ModelPrice]]:
    for key, model in table.models.items():
        provider = model.provider
        if provider not in LITELLM_PLATFORMS and not provider.startswith("vertex_ai"):
            continue
        if not FAMILIES.search(key) or EXCLUDED.search(key) or _other_vendor(key):
            continue
        billed_by = "amazon" if AMAZON_MODEL.search(key) else canonical_provider(provider)
        yield (
            key,
            model.model_copy(
                update={
                    "provider": billed_by,
                    "aliases": _native(key),
                    "source": _keyed(model, key),
                }
            ),
        )


def _genai_platform(
    provider: str, prefix: str, table: PriceTable
) -> Iterable[tuple[str, ModelPrice]]:
    for model_id, model in table.models.items():
        if not FAMILIES.search(model_id) or EXCLUDED.search(model_id):
            continue
        name = prefix + model_id
        if _other_vendor(name):
            continue
        billed_by = "amazon" if AMAZON_MODEL.search(name) else canonical_provider(provider)
        if provider == "aws" and billed_by != "amazon":
            billed_by = "bedrock"
        aliases = [*(_native(name)), *model.aliases] if prefix else list(model.aliases)
        yield (
            name,
            model.model_copy(update={"provider": billed_by, "aliases": aliases, "match": None}),
        )


def _keyed(model: ModelPrice, key: str) -> str:
    """LiteLLM's source line, with the key the prices were read from."""
    return f"{model.source}, key `{key}`"


def _other_vendor(key: str) -> bool:
    return key.startswith("openrouter/") and OPENROUTER_VENDORS.match(key) is None


def _native(key: str) -> list[str]:
    """The platform's own name for a gateway key (`groq/x` → `x`), where it is distinctive."""
    for prefix in NATIVE_ALIAS_PREFIXES:
        if key.startswith(prefix):
            return [key.removeprefix(prefix)]
    return []


# -------------------------------------------------------------------------------------- the merge


def _add_all(layer: Layer, entries: Iterable[tuple[str, ModelPrice]], *, covered_if: str) -> None:
    """Add a source's entries that the layer does not price yet, shortest id first (so an undated
    entry is in place before its dated snapshots are checked against it)."""
    for model_id, model in sorted(entries, key=lambda item: (len(item[0]), item[0])):
        table = layer.table()
        resolver = ModelResolver(table)
        claimed = {name.lower() for name in _names(table)}
        if model_id.lower() in claimed:
            layer.count("already priced under the same id")
            continue
        found = resolver.explain(model_id)
        if found is not None and not found.steps and found.name == model_id:
            layer.count("covered by an earlier entry's `match` pattern")
            continue
        if found is not None and (
            covered_if == "any name resolves" or _same_billing(model, table, found.price_id)
        ):
            layer.count(f"covered by an earlier entry ({covered_if})")
            continue
        names = [name for name in model.aliases if name.lower() not in claimed]
        if covered_if == "any name resolves" and any(resolver.resolve(n) for n in names):
            layer.count("covered by an earlier entry (an alias resolves)")
            continue
        names = [name for name in dict.fromkeys(names) if resolver.resolve(name) is None]
        layer.entries[model_id] = model.model_copy(update={"aliases": names})
        layer.count("added")


def _names(table: PriceTable) -> Iterable[str]:
    for model_id, model in table.models.items():
        yield model_id
        yield from model.aliases


def _same_billing(model: ModelPrice, table: PriceTable, price_id: str) -> bool:
    """Whether a platform's entry bills what its name already resolves to, for every class and tier
    the platform's entry states (a dataset that omits a platform's batch or 1-hour cache prices
    does not make the platform bill differently)."""
    own, resolved = current_rates(model), current_rates(table.models[price_id])
    stated = _stated(model) - {"cache_write_1h"}
    return all(
        resolved.get(key) == value
        for key, value in own.items()
        if not key.startswith("batch.") and key.rsplit(".", 1)[-1] in stated
    )


def _stated(model: ModelPrice) -> set[str]:
    """The classes an entry prices explicitly (the others follow the fallback rules)."""
    return {name for name in TOKEN_CLASSES if getattr(model, name) is not None}


def current_rates(model: ModelPrice) -> dict[str, Decimal]:
    """What the model bills today, flattened: `[batch.][above N.]class` → USD per 1M tokens."""
    rates: dict[str, Decimal] = {}
    for row in rate_sheet(model):
        if row.until is not None:
            continue
        prefix = ("batch." if row.batch else "") + (
            f"above {row.above_input_tokens}." if row.above_input_tokens else ""
        )
        for name, value in vars(row.rates).items():
            rates[prefix + name] = value
    return rates


def _patterns_off_curated(layer: Layer) -> dict[str, ModelPrice]:
    """Generated `match` patterns never cover a name another entry (curated ones included) has."""
    names = [
        (name, owner)
        for owner, model in layer.table().models.items()
        for name in (owner, *model.aliases)
    ]
    fixed = {}
    for model_id, model in layer.entries.items():
        if model.match is None:
            fixed[model_id] = model
            continue
        pattern = re.compile(model.match)
        covered = [name for name, owner in names if owner != model_id and pattern.fullmatch(name)]
        fixed[model_id] = (
            model.model_copy(update={"match": exclude_names(model.match, covered)})
            if covered
            else model
        )
    return fixed


# --------------------------------------------------------------------------------- cross-checking


GENAI_PROVIDER_OF = {
    "openai": "openai",
    "anthropic": "anthropic",
    "google": "google",
    "mistral": "mistral",
    "deepseek": "deepseek",
    "xai": "x-ai",
    "cohere": "cohere",
    "together": "together",
}
"""A curated entry's provider → the genai-prices provider its counterpart is looked up in."""


def counterparts(
    curated: PriceTable, lit: PriceTable, genai_tables: Mapping[str, PriceTable]
) -> PriceTable:
    """Each curated model's entry in each dataset (`ID~litellm`, `ID~genai-prices`), found under
    the curated id or an alias, with or without the dataset's provider prefix, at the same provider."""
    found: dict[str, ModelPrice] = {}
    resolvers = {provider: ModelResolver(table) for provider, table in genai_tables.items()}
    for model_id, model in curated.models.items():
        names = [model_id, *model.aliases]
        lit_key = _first(names, functools.partial(_litellm_key, lit, provider=model.provider))
        if lit_key is not None:
            found[f"{model_id}~litellm"] = _bare(lit.models[lit_key])
        resolver = resolvers.get(GENAI_PROVIDER_OF.get(model.provider, ""))
        genai_id = _first(names, resolver.resolve) if resolver is not None else None
        if resolver is not None and genai_id is not None:
            found[f"{model_id}~genai-prices"] = _bare(resolver.table.models[genai_id])
    return PriceTable.model_validate(
        {"schema_version": 1, "effective": curated.effective, "models": dict(sorted(found.items()))}
    )


def disagreements(curated: ModelPrice, imported: ModelPrice) -> list[str]:
    """Where two entries bill today's requests differently: `batch` when only one has batch
    prices, else `[batch.][above N.]class` for each class either states whose billed rate differs,
    compared at every request size where either has a tier."""
    stated = _stated(curated) | _stated(imported)
    thresholds = sorted(
        {0} | {tier.above_input_tokens for tier in (*curated.tiers, *imported.tiers)}
    )
    found: list[str] = []
    for batch in (False, True):
        for threshold in thresholds:
            ours, theirs = (
                _rates_at(curated, threshold, batch),
                _rates_at(imported, threshold, batch),
            )
            if ours is None or theirs is None:
                if (ours is None) != (theirs is None) and "batch" not in found:
                    found.append("batch")
                continue
            where = ("batch." if batch else "") + (f"above {threshold}." if threshold else "")
            found += [
                where + name
                for name in sorted(stated)
                if getattr(ours, name) != getattr(theirs, name)
            ]
    return found


def _rates_at(model: ModelPrice, above: int, batch: bool) -> Rates | None:
    """The current rates of a request just above `above` input tokens (0: the smallest request)."""
    tier = sum(1 for entry in model.tiers if entry.above_input_tokens <= above) if above else 0
    return class_rates(model, len(model.history), tier, batch)


def _first(names: Sequence[str], find: Callable[[str], str | None]) -> str | None:
    for name in names:
        found = find(name)
        if found is not None:
            return found
    return None


LITELLM_PREFIX_OF = {
    "google": ("gemini/",),
    "xai": ("xai/",),
    "deepseek": ("deepseek/",),
    "mistral": ("mistral/",),
    "together": ("together_ai/",),
}
"""A curated entry's provider → the prefixes of its LiteLLM keys (LiteLLM's bare `gemini-…` keys
are Vertex's prices, not the Gemini API's)."""


def _litellm_key(table: PriceTable, name: str, provider: str) -> str | None:
    for prefix in LITELLM_PREFIX_OF.get(provider, ("",)):
        if prefix + name in table.models:
            return prefix + name
    return None


def _bare(model: ModelPrice) -> ModelPrice:
    return model.model_copy(update={"aliases": [], "match": None, "history": []})


# ------------------------------------------------------------------------------------ entry point


def _header(
    litellm_path: Path, genai_origin: str, day: date, counts: Mapping[str, int]
) -> list[str]:
    digest = hashlib.sha256(litellm_path.read_bytes()).hexdigest()
    decided = "; ".join(f"{count} {what}" for what, count in sorted(counts.items()))
    return [
        "GENERATED by `python -m costaudit.pricetable.build` — do not edit by hand.",
        f"Built {day} from {genai_origin} and LiteLLM {litellm_path.name} (sha256 {digest}).",
        "The packaged default layers this file UNDER pricing/default.yaml: the hand-curated entries",
        "win, and this file never claims a name they answer to. Each entry's `source` names the",
        "dataset and key it came from. Source entries: " + decided + ".",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--litellm", type=Path, required=True, help="LiteLLM's price map JSON")
    parser.add_argument(
        "--litellm-origin",
        default=None,
        help="where the map came from, for each entry's source (e.g. `LiteLLM 1.110.2 wheel`)",
    )
    parser.add_argument("--date", type=date.fromisoformat, required=True, help="import day")
    parser.add_argument("--out", type=Path, default=GENERATED)
    parser.add_argument("--crosscheck", type=Path, default=CROSSCHECK)
    args = parser.parse_args(argv)
    from costaudit.configfile import validate_file

    curated = validate_file(CURATED, PriceTable)
    litellm = json.loads(args.litellm.read_text(encoding="utf-8"))
    genai, genai_origin = installed_providers()
    digest = hashlib.sha256(args.litellm.read_bytes()).hexdigest()
    litellm_name = f"{args.litellm_origin or 'file'} {args.litellm.name}, sha256 {digest[:12]}"
    generated, crosscheck, counts = build(
        curated, litellm, litellm_name, genai, genai_origin, args.date
    )
    about = " ".join(_header(args.litellm, genai_origin, args.date, counts))
    write_file(args.out, dump_table_json(generated.model_copy(update={"about": about})))
    write_file(
        args.crosscheck,
        dump_table(
            crosscheck,
            [
                "GENERATED by `python -m costaudit.pricetable.build` — do not edit by hand.",
                "Each curated model's entry in LiteLLM (`ID~litellm`) and genai-prices",
                "(`ID~genai-prices`), for tests/pricing/test_reconciled.py: every difference from",
                "pricing/default.yaml needs a note in pricing/reconciled.yaml.",
            ],
        ),
    )
    print(  # noqa: T201 - a build script's report
        f"{len(generated.models)} generated models written to {args.out}; "
        f"{len(crosscheck.models)} counterparts to {args.crosscheck}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
