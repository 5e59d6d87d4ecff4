"""Response caching and provider prompt caching over the simulated traffic.

Response cache: a request whose normalised prompt was seen within the TTL is answered from the cache
(it costs the lookup, not the call). The exact-duplicate rate is measured from the log's prompt hashes;
a near-duplicate (semantic) rate is a what-if parameter applied to the rest.

Prompt cache: chained prefix-block hashes are replayed in time order per model under the provider's
rules (minimum prefix, block granularity, TTL refreshed on hit). OpenAI, Gemini and DeepSeek cache
prefixes automatically (every block of a prompt is cached, writes cost nothing extra); Anthropic and
Bedrock cache only at the breakpoints a request marks, so the replay puts them where a sensible user
would — at the prefixes other requests share — and never writes a suffix nobody reads again
(core/cache_breakpoints.py). A preset is a provider's rule and applies to that provider's models only.
The replay decides each request's cache reads and writes afresh, replacing what the log reported; the
hit rate is reported as a band — low (pessimistic TTL), central (nominal TTL) and high (infinite cache).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from costaudit.config.pricing import CacheRule
from costaudit.config.scenario import PromptCache, ResponseCache
from costaudit.core.arrays import is_zero
from costaudit.core.cache_breakpoints import (
    Breakpoints,
    end_of_prompt_breakpoints,
    replay_with_breakpoints_at,
    shared_prefix_breakpoints,
)
from costaudit.core.prompt_cache import (
    BlockView,
    CacheReplay,
    PrefixBlocks,
    TooManyBlocks,
    bounded_block_tokens,
    processing_order,
    replay_prefix_cache_at,
    synthetic_prefix_blocks,
)
from costaudit.core.response_cache import replay_response_cache
from costaudit.core.simulate.context import Context
from costaudit.core.simulate.details import (
    CacheRuleDetails,
    HitRateBand,
    PromptCacheDetails,
    ResponseCacheDetails,
    TtlBand,
    TtlPoint,
)
from costaudit.core.simulate.state import State
from costaudit.core.sums import exact_sum

EXPLICIT_BREAKPOINT_PROVIDERS = frozenset({"anthropic", "bedrock"})
"""Providers that cache only at the breakpoints a request marks (research/routing.md §3.2); the others
cache every prefix automatically (§3.1, §3.3, §3.4)."""


def apply_response_cache(state: State, cache: ResponseCache, context: Context) -> None:
    chosen = context.selected(state, cache.applies_to)
    rows = np.flatnonzero(chosen)
    keys = state.requests.prompt_hash[rows]
    exact = np.zeros(state.size, dtype=np.bool_)
    exact[rows] = replay_response_cache(
        state.arrival_seconds()[rows], keys, context.workload.ttl(cache.ttl), context.fanout
    )
    if not keys.any():
        state.notes.append(
            "no prompt text in the workload: exact duplicates cannot be measured (only the near-duplicate rate applies)"
        )
    near_rate = float(context.params(cache.near_duplicate_rate))
    near = chosen & ~exact & (context.rng.random(state.size) < near_rate)
    hits = exact | near
    lookups = len(rows)
    state.charge("response cache lookups", rows, context.params(cache.lookup_usd_per_1k) / 1000)
    state.details.response_cache = ResponseCacheDetails(
        hit_rate=float(hits.sum() / lookups) if lookups else 0.0,
        exact_duplicate_rate=float(exact.sum() / lookups) if lookups else 0.0,
        near_duplicate_rate=near_rate,
        requests_answered=context.workload.represented(int(hits.sum())),
        ttl_s=cache.ttl,
        requests=context.workload.represented(lookups),
    )
    state.keep(~hits)


@dataclass(frozen=True)
class EffectiveRule:
    """A provider's cache rule after the scenario's overrides."""

    name: str
    min_prefix_tokens: int
    block_tokens: int
    ttl: float | None
    ttl_low: float | None
    write_1h: bool
    breakpoints: str
    """`automatic`, `shared_prefixes` or `end_of_prompt`."""


def rule_provider(name: str) -> str:
    """The provider a cache rule belongs to: its name, or the part before a variant (`anthropic-1h`)."""
    return name.split("-", 1)[0]


def _policy(provider: str, config: PromptCache) -> str:
    if config.breakpoints != "provider":
        return config.breakpoints
    return "shared_prefixes" if provider in EXPLICIT_BREAKPOINT_PROVIDERS else "automatic"


def _rule_for(provider: str, config: PromptCache, context: Context) -> EffectiveRule | None:
    """The rule for one provider's models: the preset when it is that provider's, else its own."""
    preset = config.preset
    name = preset if preset is not None and rule_provider(preset) == provider else provider
    rule: CacheRule | None = context.table.cache_rules.get(name)
    if rule is None:
        return None
    fields = config.model_fields_set
    ttl = config.ttl if "ttl" in fields else rule.ttl
    ttl_low = config.ttl_low if "ttl_low" in fields else rule.ttl_low
    if ttl is not None and ttl_low is not None and ttl_low > ttl:
        ttl_low = ttl
    return EffectiveRule(
        name=name,
        min_prefix_tokens=config.min_prefix_tokens
        if config.min_prefix_tokens is not None
        else rule.min_prefix_tokens,
        block_tokens=config.block_tokens or rule.block_tokens,
        ttl=ttl,
        ttl_low=ttl_low,
        write_1h=(config.write_ttl == "1h") or (config.write_ttl is None and name.endswith("-1h")),
        breakpoints=_policy(provider, config),
    )


def _blocks(
    state: State, rows: npt.NDArray[np.int64], config: PromptCache, context: Context
) -> BlockView:
    """The prompt blocks of `rows`: read in place from the workload's hashes (never copied), or
    stand-ins built from a stated shared prefix."""
    available = context.workload.requests.prefix_blocks
    if available is not None:
        return BlockView(available, rows if state.unmoved else state.origin[rows])
    if config.shared_prefix_tokens is None:
        raise context.problem(
            "shared_prefix_tokens",
            "the workload has no prompt text or prefix hashes: give `shared_prefix_tokens` for a shared-prefix estimate",
        )
    inputs = state.tokens["input_tokens"][rows]
    try:
        return BlockView.of(
            synthetic_prefix_blocks(
                inputs,
                config.shared_prefix_tokens,
                bounded_block_tokens(inputs, 64),
                group=state.codes[rows].astype(np.int64),
            )
        )
    except TooManyBlocks as exc:
        raise context.problem("shared_prefix_tokens", str(exc)) from None


def _granular(blocks: BlockView, wanted: int, notes: list[str]) -> BlockView:
    """Blocks at the rule's granularity when it is a multiple of what the hashes allow; else the hashes'."""
    if wanted == blocks.block_tokens:
        return blocks
    if wanted > blocks.block_tokens and wanted % blocks.block_tokens == 0:
        return replace(blocks, factor=blocks.factor * (wanted // blocks.block_tokens))
    notes.append(
        f"prefix hashes cover {blocks.block_tokens}-token blocks; the {wanted}-token rule granularity "
        f"was approximated with {blocks.block_tokens}-token blocks"
    )
    return blocks


@dataclass(frozen=True)
class _Replayer:
    """One rule's replay over one group of requests, at any TTL."""

    arrival: npt.NDArray[np.float64]
    scope: npt.NDArray[np.int64]
    blocks: BlockView
    inputs: npt.NDArray[np.int64]
    rule: EffectiveRule
    partial: bool
    breakpoints: Breakpoints | None
    context: Context

    def replays(self, ttls: list[float | None]) -> Iterator[CacheReplay]:
        """The replays with lifetimes `ttls` (nominal lifetimes, scaled to the simulated timeline),
        one at a time."""
        scaled = [self.context.workload.ttl(ttl) for ttl in ttls]
        if self.breakpoints is None:
            yield from replay_prefix_cache_at(
                self.arrival,
                self.scope,
                self.blocks,
                self.inputs,
                ttls=scaled,
                min_prefix_tokens=self.rule.min_prefix_tokens,
                count_partial_block=self.partial,
                fanout=self.context.fanout,
            )
            return
        yield from replay_with_breakpoints_at(
            self.arrival,
            self.scope,
            self.blocks.materialize(),
            self.inputs,
            self.breakpoints,
            ttls=scaled,
            min_prefix_tokens=self.rule.min_prefix_tokens,
            fanout=self.context.fanout,
        )


def _breakpoints(
    blocks: BlockView,
    scope: npt.NDArray[np.int64],
    inputs: npt.NDArray[np.int64],
    rule: EffectiveRule,
    config: PromptCache,
    partial: bool,
) -> Breakpoints | None:
    """Where the requests mark breakpoints (None: automatic caching, every block)."""
    if rule.breakpoints == "automatic":
        return None
    whole = blocks.materialize()
    eligible = inputs >= rule.min_prefix_tokens
    cacheable = np.where(eligible, _cacheable_blocks(whole, inputs, partial), 0)
    if rule.breakpoints == "end_of_prompt":
        return end_of_prompt_breakpoints(cacheable)
    return shared_prefix_breakpoints(
        scope,
        whole,
        cacheable,
        inputs,
        min_prefix_tokens=rule.min_prefix_tokens,
        max_breakpoints=config.max_breakpoints,
    )


def _cacheable_blocks(
    blocks: PrefixBlocks, inputs: npt.NDArray[np.int64], partial: bool
) -> npt.NDArray[np.int64]:
    covered = inputs // blocks.block_tokens
    if partial:
        covered = covered + (inputs % blocks.block_tokens > 0)
    return np.minimum(blocks.block_counts, covered)


def _in_arrival_order(
    state: State, rows: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """`rows` in the order the replay processes them (arrival, ties in row order), and their
    arrival times. Every per-request array of the replay is then built in that order once, instead
    of once as given and once reordered (80 MB each at 10⁷ requests); its results go back to the
    rows wherever they are."""
    arrival = state.arrival_seconds()[rows]
    order = processing_order(arrival)
    if order is not None:
        rows, arrival = rows[order], arrival[order]
    return rows, arrival


def _replay_group(
    state: State,
    rows: npt.NDArray[np.int64],
    rule: EffectiveRule,
    config: PromptCache,
    context: Context,
) -> CacheRuleDetails:
    rows, arrival = _in_arrival_order(state, rows)
    blocks = _granular(_blocks(state, rows, config, context), rule.block_tokens, state.notes)
    scope = state.codes[rows].astype(np.int64)
    inputs = state.tokens["input_tokens"][rows]
    partial = blocks.block_tokens > rule.block_tokens
    replayer = _Replayer(
        arrival=arrival,
        scope=scope,
        blocks=blocks,
        inputs=inputs,
        rule=rule,
        partial=partial,
        breakpoints=_breakpoints(blocks, scope, inputs, rule, config, partial),
        context=context,
    )
    applied = {"central": rule.ttl, "low": rule.ttl_low, "high": None}[context.cache_band]
    curve_ttls = _curve_ttls(blocks) if context.cache_band == "central" else []
    wanted = [rule.ttl, *([None] if rule.ttl is not None else []), rule.ttl_low, applied]
    if context.cache_band != "central":
        wanted = [applied]  # a band end is priced, its hit rates are not reported: one lifetime
    ttls = list(dict.fromkeys([*wanted, *curve_ttls]))
    rates: dict[float | None, float] = {}
    replay: CacheReplay | None = None
    for ttl, outcome in zip(ttls, replayer.replays(ttls), strict=True):
        rates[ttl] = outcome.hit_rate
        if ttl == applied:
            replay = outcome
        del outcome  # not held while the next lifetime's arrays are made
    assert replay is not None
    central = rates.get(rule.ttl, rates[applied])
    high = rates.get(None, central) if rule.ttl is not None else central
    low = rates.get(rule.ttl_low, central) if rule.ttl_low != rule.ttl else central
    curve = [TtlPoint(ttl, rates[ttl]) for ttl in curve_ttls]
    tokens = state.tokens
    observed = exact_sum(tokens["cached_input_tokens"][rows])
    state.writable_tokens("cached_input_tokens")[rows] = replay.hit_tokens
    state.writable_tokens("cache_write_tokens")[rows] = replay.write_tokens
    if rule.write_1h:
        state.writable_tokens("cache_write_1h_tokens")[rows] = replay.write_tokens
    elif not is_zero(state.tokens["cache_write_1h_tokens"]):
        state.writable_tokens("cache_write_1h_tokens")[rows] = 0
    represented = context.workload.represented
    return CacheRuleDetails(
        rule=rule.name,
        requests=represented(len(rows)),
        hit_rate=HitRateBand(low, central, high),
        cached_tokens=represented(exact_sum(replay.hit_tokens)),
        write_tokens=represented(exact_sum(replay.write_tokens)),
        ttl_s=TtlBand(low=rule.ttl_low, central=rule.ttl),
        min_prefix_tokens=rule.min_prefix_tokens,
        block_tokens=blocks.block_tokens,
        observed_hit_rate=observed / exact_sum(inputs) if observed and exact_sum(inputs) else None,
        ttl_curve=curve,
        input_tokens=exact_sum(inputs),
        breakpoints=rule.breakpoints,
        max_breakpoints=config.max_breakpoints if rule.breakpoints == "shared_prefixes" else None,
    )


TTL_CURVE_S = (30.0, 60.0, 300.0, 600.0, 1800.0, 3600.0, 6 * 3600.0, 24 * 3600.0, None)
TTL_CURVE_MAX_BLOCKS = 5_000_000
"""Above this many blocks the TTL curve (for plots) is skipped: nine more lifetimes would dominate
the run."""


def _curve_ttls(blocks: BlockView) -> tuple[float | None, ...]:
    """The TTLs of the hit-rate-vs-TTL chart; none on very large replays (`TTL_CURVE_MAX_BLOCKS`)."""
    if exact_sum(blocks.block_counts) > TTL_CURVE_MAX_BLOCKS:
        return ()
    return TTL_CURVE_S


def _replayable(
    state: State, selected: npt.NDArray[np.bool_], context: Context
) -> npt.NDArray[np.bool_]:
    """The selected requests whose prompt prefix is known (hashes, or a stated shared prefix); others
    keep their logged cache use, since nothing can be said about them."""
    blocks = context.workload.requests.prefix_blocks
    if blocks is None:
        return selected
    known = (blocks.block_counts[state.origin] > 0) & selected
    unknown = context.workload.represented(int((selected & ~known).sum()))
    if unknown:
        state.notes.append(
            f"{unknown:,} requests have no prompt text or prefix hashes: their logged cache use is kept"
        )
    return known


def _check_preset(
    state: State, selected: npt.NDArray[np.bool_], config: PromptCache, context: Context
) -> None:
    """A preset is one provider's rule: aimed at traffic with none of that provider's models, it is a
    mistake, not a no-op."""
    if config.preset is None:
        return
    wanted = rule_provider(config.preset)
    providers: dict[str, int] = {}
    for code, name in enumerate(state.models):
        price_id = context.price_id(name)
        count = int((selected & (state.codes == code)).sum())
        if price_id is not None and count:
            provider = context.table.models[price_id].provider
            providers[provider] = providers.get(provider, 0) + count
    if wanted not in providers:
        found = ", ".join(sorted(providers)) or "no priced model"
        raise context.problem(
            "preset",
            f"`{config.preset}` is a cache rule for {wanted} models, but the cached traffic is on {found} models: "
            f"leave `preset` out (each model gets its provider's rule) or narrow `applies_to`",
        )
    others = sorted(provider for provider in providers if provider != wanted)
    if others:
        state.notes.append(
            f"preset {config.preset} applies to {wanted} models only; {', '.join(others)} models keep "
            "their provider's rule"
        )


def apply_prompt_cache(state: State, config: PromptCache, context: Context) -> None:
    selected = context.selected(state, config.applies_to)
    _check_preset(state, selected, config, context)
    by_rule: dict[EffectiveRule, list[int]] = {}
    skipped = 0
    for code, name in enumerate(state.models):
        price_id = context.price_id(name)
        rule = (
            _rule_for(context.table.models[price_id].provider, config, context)
            if price_id
            else None
        )
        if rule is None:
            skipped += int((selected & (state.codes == code)).sum())
            continue
        by_rule.setdefault(rule, []).append(code)
    replayable = _replayable(state, selected, context)
    groups = [
        _replay_group(
            state,
            np.flatnonzero(np.isin(state.codes, codes) & replayable).astype(np.int64),
            rule,
            config,
            context,
        )
        for rule, codes in by_rule.items()
        if (np.isin(state.codes, codes) & replayable).any()
    ]
    if skipped:
        state.notes.append(
            f"{context.workload.represented(skipped):,} requests are on models without a prompt-cache rule: left unchanged"
        )
    inputs = sum(g.input_tokens for g in groups) or 1
    band = HitRateBand(
        *(
            sum(getattr(g.hit_rate, key) * g.input_tokens for g in groups) / inputs
            for key in ("low", "central", "high")
        )
    )
    observed = [g.observed_hit_rate for g in groups if g.observed_hit_rate is not None]
    state.details.prompt_cache = PromptCacheDetails(
        hit_rate=band,
        cached_tokens=sum(g.cached_tokens for g in groups),
        write_tokens=sum(g.write_tokens for g in groups),
        rules=groups,
        ttl_curve=groups[0].ttl_curve if len(groups) == 1 else [],
        observed_hit_rate=observed[0] if len(observed) == 1 else None,
    )
