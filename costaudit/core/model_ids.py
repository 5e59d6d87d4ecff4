"""Model ids as gateways and platforms write them → the names a price table uses.

The same model reaches a log under many names: `azure/gpt-4o`, `openrouter/anthropic/claude-sonnet-4.5`,
`bedrock/converse/us.anthropic.claude-sonnet-4-5-20250929-v1:0`, `vertex_ai/claude-sonnet-4-5@20250929`,
`gemini-2.5-pro-latest`. `candidates` turns one logged name into the names to look up, most specific
first: the name as logged (a platform that bills differently has its own entry under that name), then
with each gateway or vendor prefix dropped (each form also without a dated-snapshot or `-latest`
suffix), then the Bedrock model-id wrapping (inference-profile geography, `vendor.` prefix, `-v1:0`
version) undone, then OpenRouter's dotted versions (`claude-sonnet-4.5`) in the vendor's dashed form.

A prefix that names a hosting platform (`together_ai/`, `groq/`, `bedrock/`, ...) is remembered as the
candidate's `host`: an open model served by one host must never be billed at another host's price, so
`accepts` lets a host-prefixed name land only on that host's entries or on the model vendor's own
(first-party) price, which the big platforms charge for the models they resell.

Pure string logic: no price table, no I/O. `costaudit.core.pricing.ModelResolver` does the lookups.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

HOST_PREFIXES = {
    "azure": "azure",
    "azure_ai": "azure",
    "bedrock": "bedrock",
    "bedrock_converse": "bedrock",
    "vertex_ai": "vertex",
    "vertex_ai_beta": "vertex",
    "together_ai": "together",
    "together": "together",
    "groq": "groq",
    "fireworks_ai": "fireworks",
    "fireworks": "fireworks",
    "deepinfra": "deepinfra",
    "openrouter": "openrouter",
}
"""Gateway prefixes (LiteLLM's provider names and the platforms' own) → the platform that bills."""

VENDOR_PREFIXES = frozenset(
    {
        "openai",
        "anthropic",
        "google",
        "gemini",
        "models",
        "deepseek",
        "deepseek-ai",
        "mistral",
        "mistralai",
        "xai",
        "x-ai",
        "cohere",
        "cohere_chat",
        "amazon",
        "amazon_nova",
        "text-completion-openai",
        "litellm_proxy",
    }
)
"""Prefixes that only say whose model it is (or which client sent it): dropping one keeps the price."""

ROUTE_SEGMENTS = frozenset({"converse", "invoke", "chat", "completions"})
"""Path segments some gateways put after the platform (`bedrock/converse/...`)."""

BEDROCK_REGION = re.compile(r"^[a-z]{2}(?:-gov)?-[a-z]+-\d$")
"""`bedrock/us-east-1/...`: a region segment after the platform prefix."""

BEDROCK_PROFILE = re.compile(r"^(?:us|eu|apac|global|au|jp|ca|us-gov)\.(?=[a-z0-9-]+\.)")
"""Cross-region inference-profile geography in front of a Bedrock model id (`us.anthropic.…`)."""

BEDROCK_VENDOR = re.compile(
    r"^(?:anthropic|amazon|meta|mistral|cohere|deepseek|openai|qwen|ai21|writer|moonshotai|google)\."
)
BEDROCK_VERSION = re.compile(r"(?:-v\d+(?::\d+)?|:\d+)$")
"""`-v1:0`, `-v2`, `:0` at the end of a Bedrock model id."""

SNAPSHOT_SUFFIXES = (
    re.compile(r"@(?:\d{8}|latest|default|\d{3})$"),
    re.compile(r"-\d{4}-\d{2}-\d{2}$"),
    re.compile(r"-20\d{6}$"),
    re.compile(r"-latest$"),
)
"""Dated snapshots (`-2024-08-06`, `-20250929`, Vertex `@20250929`) and moving aliases (`-latest`)."""

DOTTED_VERSION = re.compile(r"(?<=\d)\.(?=\d)")

FIRST_PARTY_PROVIDERS = frozenset(
    {"openai", "anthropic", "google", "xai", "deepseek", "mistral", "cohere", "amazon"}
)
"""Providers that bill their own models: a platform reselling those models bills the same list price
unless the table has an entry for the platform's own name."""

PROVIDER_NAMES = {
    "x-ai": "xai",
    "gemini": "google",
    "vertex_ai": "vertex",
    "together_ai": "together",
    "fireworks_ai": "fireworks",
    "bedrock_converse": "bedrock",
    "azure_ai": "azure",
    "cohere_chat": "cohere",
    "mistralai": "mistral",
}
"""Other projects' provider names → costaudit's."""


def canonical_provider(provider: str) -> str:
    """One name per provider: `together_ai` → `together`, `vertex_ai-anthropic_models` → `vertex`."""
    lowered = provider.lower()
    if lowered.startswith("vertex_ai"):
        return "vertex"
    return PROVIDER_NAMES.get(lowered, lowered)


@dataclass(frozen=True)
class Candidate:
    """One name to look up for a logged model name, and how it was derived."""

    name: str
    host: str | None
    """The platform a dropped prefix named (it bills the request), None when no platform was named."""
    steps: tuple[str, ...]
    """What was done to the logged name, in order, for `pricing show` to explain."""
    snapshot: date | None = None
    """The date of a dropped snapshot suffix: an entry first available after it is another model."""


def accepts(candidate: Candidate, provider: str, available_from: date | None = None) -> bool:
    """Whether an entry billed by `provider` may price a request logged under this candidate.

    Without a platform prefix any entry may. With one, the entry must be that platform's own or a
    first-party price: `together_ai/…` never resolves to a DeepInfra entry. A snapshot dated before
    the entry was available (`gpt-4o-2024-05-13` against a `gpt-4o` from 2024-08-06) is an older
    model with its own price, never the newer one's.
    """
    if (
        candidate.snapshot is not None
        and available_from is not None
        and candidate.snapshot < available_from
    ):
        return False
    if candidate.host is None:
        return True
    billed_by = canonical_provider(provider)
    return billed_by == candidate.host or billed_by in FIRST_PARTY_PROVIDERS


def candidates(name: str) -> Iterator[Candidate]:
    """Names to look `name` up under, most specific first (each at most once)."""
    seen: set[str] = set()
    for candidate in _derived(name):
        key = candidate.name.lower()
        if candidate.name and key not in seen:
            seen.add(key)
            yield candidate


def _derived(name: str) -> Iterator[Candidate]:
    """Each prefix-stripped form, each followed by its undated form; then the Bedrock unwrapping
    of the last form, undated; then OpenRouter's dotted versions dashed."""
    current = Candidate(name, None, ())
    yield current
    yield from _without_snapshot(current)
    for derived in _without_prefixes(current):
        yield derived
        yield from _without_snapshot(derived)
        current = derived
    for derived in _without_bedrock_wrapping(current):
        yield derived
        current = derived
    for derived in _without_snapshot(current):
        yield derived
        current = derived
    dashed = DOTTED_VERSION.sub("-", current.name)
    if dashed != current.name:
        yield Candidate(
            dashed, current.host, (*current.steps, "dotted version written with dashes")
        )


def _without_prefixes(candidate: Candidate) -> Iterator[Candidate]:
    """Drop gateway, vendor and route prefixes one segment at a time."""
    current = candidate
    while "/" in current.name:
        head, rest = current.name.split("/", 1)
        lowered = head.lower()
        if lowered in HOST_PREFIXES:
            host = current.host or HOST_PREFIXES[lowered]
            current = Candidate(rest, host, (*current.steps, f"platform prefix `{head}/` dropped"))
        elif lowered in VENDOR_PREFIXES:
            current = Candidate(
                rest, current.host, (*current.steps, f"vendor prefix `{head}/` dropped")
            )
        elif current.host is not None and (lowered in ROUTE_SEGMENTS or BEDROCK_REGION.match(head)):
            current = Candidate(rest, current.host, (*current.steps, f"route `{head}/` dropped"))
        else:
            return
        yield current


def _without_bedrock_wrapping(candidate: Candidate) -> Iterator[Candidate]:
    """`us.anthropic.claude-sonnet-4-5-20250929-v1:0` → `claude-sonnet-4-5-20250929`, step by step."""
    if not BEDROCK_VENDOR.match(BEDROCK_PROFILE.sub("", candidate.name.lower())):
        return
    current = Candidate(candidate.name, candidate.host or "bedrock", candidate.steps)
    profile = BEDROCK_PROFILE.match(current.name.lower())
    if profile:
        current = Candidate(
            current.name[profile.end() :],
            current.host,
            (*current.steps, f"inference profile `{profile.group(0)}` dropped"),
        )
        yield current
    version = BEDROCK_VERSION.search(current.name)
    if version:
        current = Candidate(
            current.name[: version.start()],
            current.host,
            (*current.steps, f"Bedrock version `{version.group(0)}` dropped"),
        )
        yield current
    vendor = BEDROCK_VENDOR.match(current.name.lower())
    if vendor:
        current = Candidate(
            current.name[vendor.end() :],
            current.host,
            (*current.steps, f"Bedrock vendor `{vendor.group(0)}` dropped"),
        )
        yield current


def _without_snapshot(candidate: Candidate) -> Iterator[Candidate]:
    """Drop one dated-snapshot or `-latest` suffix: the undated entry prices it."""
    for pattern in SNAPSHOT_SUFFIXES:
        found = pattern.search(candidate.name)
        if found and found.start() > 0:
            yield Candidate(
                candidate.name[: found.start()],
                candidate.host,
                (*candidate.steps, f"snapshot suffix `{found.group(0)}` dropped"),
                _suffix_date(found.group(0)),
            )
            return


def _suffix_date(suffix: str) -> date | None:
    digits = re.sub(r"\D", "", suffix)
    if len(digits) != 8:
        return None
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None
