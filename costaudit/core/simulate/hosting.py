"""Self-hosting and fine-tuning: traffic moves off per-token API prices onto a GPU fleet or a tuned model.

Hosting sizes a fleet for the moved requests' arrival series over the whole window (5-minute bins, so
short bursts count; a sampled workload's counts scaled back to the real traffic) with the calibrated
roofline capacity model (docs/self-hosting.md), and replaces their token bill with the fleet's monthly
cost. Requests whose prompt and answer do not fit the model's context window are never moved: they stay
on the API (counted and named in the result) or, if the scenario says so, stop it. Fine-tuning adds the training bill amortised over `amortize_months`, removes the
prompt tokens the tuned model no longer needs (taken from the cached prefix first: instructions usually
sit at the start of the prompt, where the cache is) and serves the traffic at the tuned model's API
prices or on a self-hosted fleet.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from costaudit.config.pricing import BatchPrices, ModelPrice
from costaudit.config.scenario import FineTune, Hosting
from costaudit.core.arrays import distinct
from costaudit.core.capacity import LengthMix, ReplicaCapacity
from costaudit.core.fleet import FleetPolicy, break_even, fleet_cost
from costaudit.core.pricing import aggregate_lines, assign, total_cost
from costaudit.core.request_table import NAT
from costaudit.core.simulate.context import Context
from costaudit.core.simulate.details import (
    BreakEvenDetails,
    ContextFit,
    FineTuneDetails,
    HostingDetails,
)
from costaudit.core.simulate.serving_fleet import closed_form_capacity, serve
from costaudit.core.simulate.state import Attribution, FixedCost, FleetSizing, State

BIN_SECONDS = 300
MILLION = Decimal(1_000_000)


def _arrivals(
    state: State, rows: npt.NDArray[np.int64], context: Context
) -> tuple[npt.NDArray[np.float64], list[str]]:
    """Requests per 5-minute bin over the whole window (scaled to the traffic a sampled workload
    stands for); without timestamps, spread evenly over the window."""
    stamps = state.requests.timestamp_ns[rows]
    dated = stamps != NAT
    seconds = stamps[dated].astype(np.float64) / 1e9
    notes: list[str] = []
    window_s = float(context.workload.days or 1) * 86_400
    bins = max(1, int(np.ceil(window_s / BIN_SECONDS)))
    weight = float(context.workload.weight)
    if dated.sum() == len(rows) and len(rows):
        start = _window_start(state, context)
        counts = np.histogram(seconds - start, bins=bins, range=(0.0, bins * BIN_SECONDS))[0]
        return counts.astype(np.float64) * weight, notes
    notes.append("requests without timestamps were assumed to arrive evenly over the window")
    even = np.full(bins, len(rows) // bins, dtype=np.float64)
    even[: len(rows) % bins] += 1
    return even * weight, notes


def _window_start(state: State, context: Context) -> float:
    """Start of the workload's window in seconds: its first request (not just the hosted ones')."""
    stamps = context.workload.requests.timestamp_ns
    dated = stamps[stamps != NAT]
    if dated.size:
        return float(dated.min()) / 1e9
    return float(state.requests.timestamp_ns[state.requests.timestamp_ns != NAT].min()) / 1e9


def _fitting(
    state: State, rows: npt.NDArray[np.int64], hosting: Hosting, context: Context
) -> tuple[npt.NDArray[np.int64], ContextFit]:
    """The rows that fit the self-hosted model's context window; the others stay on the API, or stop
    the scenario when it says `too_long: fail`."""
    window = context.table.self_hosted[hosting.model].context_window
    lengths = state.tokens["input_tokens"][rows] + state.tokens["output_tokens"][rows]
    too_long = lengths > window
    count = int(too_long.sum())
    longest = int(lengths[too_long].max()) if count else None
    represented = context.workload.represented(count)
    if count and hosting.too_long == "fail":
        raise context.problem(
            "too_long",
            f"{represented:,} requests do not fit {hosting.model}'s {window:,}-token context window "
            f"(longest: {longest:,} tokens of prompt and answer); set `too_long: stay_on_api` to keep "
            "them on the API",
        )
    if count:
        models = sorted({state.models[code] for code in distinct(state.codes[rows[too_long]])})
        state.notes.append(
            f"{represented:,} requests ({', '.join(models)}) do not fit {hosting.model}'s "
            f"{window:,}-token context window (longest {longest:,} tokens): they stay on the API"
        )
    fit = ContextFit(
        context_window=window,
        too_long_requests=represented,
        longest_tokens=longest,
        too_long=hosting.too_long,
    )
    return rows[~too_long], fit


def host(
    state: State,
    rows: npt.NDArray[np.int64],
    hosting: Hosting,
    context: Context,
    fixed_monthly_usd: Decimal = Decimal(0),
) -> HostingDetails:
    """Move the `rows` that fit the model's context onto a self-hosted fleet; returns its details.

    `fixed_monthly_usd` (a fine-tune's amortised training) is paid whatever the traffic, so the
    break-even sweep counts it on the self-hosted side.
    """
    selected = len(rows)
    rows, fit = _fitting(state, rows, hosting, context)
    if selected and not len(rows):
        raise context.problem(
            "model",
            f"none of the requests fits {hosting.model}'s {fit.context_window:,}-token context window",
        )
    model = context.table.self_hosted[hosting.model]
    hardware = context.table.hardware[hosting.gpu]
    outputs = np.maximum(state.tokens["output_tokens"][rows], 1)
    inputs = np.maximum(state.tokens["input_tokens"][rows], 1)
    capacity, meets_slo = closed_form_capacity(
        model, hardware, hosting.precision, LengthMix.from_lengths(inputs, outputs), hosting
    )
    counts, arrival_notes = _arrivals(state, rows, context)
    policy = FleetPolicy(
        utilization_target=float(hosting.utilization_target),
        autoscale=hosting.autoscale,
        min_replicas=hosting.min_replicas,
        pricing=hosting.pricing,
        interruption_overhead=hosting.interruption_overhead,
    )
    gpu, precision, serving = hosting.gpu, hosting.precision, None
    forecast_policy = policy
    if hosting.serving is not None and len(rows):
        state.notes.extend(arrival_notes)
        served = serve(state, rows, hosting, context, counts, BIN_SECONDS, policy)
        gpu, precision, hardware = served.gpu, served.precision, served.hardware
        capacity, meets_slo, fleet = served.capacity, served.meets_closed_form_slo, served.fleet
        serving = served.details
        _note_offline(state, hosting.model, gpu, capacity, meets_slo)
        # A forecast sizes the fleet again for more traffic: never below what the replay needed.
        forecast_policy = replace(
            policy, min_replicas=max(policy.min_replicas, fleet.peak_replicas)
        )
    else:
        _note_offline(state, hosting.model, gpu, capacity, meets_slo)
        state.notes.extend(arrival_notes)
        fleet = fleet_cost(counts, BIN_SECONDS, capacity, hardware, policy)
    api_per_request = _api_cost_per_request(state, rows, context)
    sweep = (
        break_even(
            counts,
            BIN_SECONDS,
            capacity,
            hardware,
            api_per_request,
            policy,
            fixed_monthly_usd=fixed_monthly_usd,
        )
        if len(rows) and context.central
        else None
    )

    state.add_fixed(
        FixedCost(
            label=f"{hosting.model} on {gpu} (self-hosted)",
            monthly_usd=fleet.monthly_usd,
            paid_by=Attribution.of(state.requests, rows),
            fleet=FleetSizing(counts, BIN_SECONDS, capacity, hardware, forecast_policy),
        )
    )

    keep = np.ones(state.size, dtype=np.bool_)
    keep[rows] = False
    state.keep(keep)
    return HostingDetails(
        meets_slo=meets_slo,
        ttft_s=capacity.ttft_s,
        tpot_s=capacity.tpot_s,
        model=hosting.model,
        gpu=gpu,
        precision=precision,
        pricing=hosting.pricing,
        autoscale=hosting.autoscale,
        requests=context.workload.represented(len(rows)),
        replicas=fleet.peak_replicas,
        devices_per_replica=fleet.devices_per_replica,
        replica_hours=fleet.replica_hours,
        max_output_tokens_per_s=capacity.max_output_tokens_per_s,
        slo_output_tokens_per_s=capacity.slo_output_tokens_per_s,
        utilization=fleet.utilization,
        usd_per_mtok=fleet.usd_per_mtok,
        usd_per_output_mtok=fleet.usd_per_output_mtok,
        floor_usd_per_output_mtok=fleet.floor_usd_per_output_mtok,
        below_floor=fleet.below_floor,
        monthly_usd=fleet.monthly_usd,
        break_even=None
        if sweep is None
        else BreakEvenDetails(
            requests_per_day=sweep.requests_per_day,
            current_requests_per_day=_per_day(len(rows), context.workload.days),
            api_usd_per_request=api_per_request,
            points=list(sweep.points),
        ),
        context=fit,
        serving=serving,
    )


def _note_offline(
    state: State, model: str, gpu: str, capacity: ReplicaCapacity, meets_slo: bool
) -> None:
    if not meets_slo:
        state.notes.append(
            f"{model} on {gpu} cannot meet the latency SLO (time to first token "
            f"{capacity.ttft_s:.1f} s, {capacity.tpot_s * 1000:.0f} ms per token at batch 1): sized at "
            "maximum throughput, as offline work"
        )


def _per_day(requests: int, days: Decimal | None) -> int | None:
    """Requests a day over the workload's window, to mark today's volume on the break-even sweep."""
    if not days:
        return None
    return int((Decimal(requests) / days).to_integral_value())


def _api_cost_per_request(state: State, rows: npt.NDArray[np.int64], context: Context) -> Decimal:
    """What the moved requests cost per request at API prices, for the break-even sweep."""
    if not len(rows):
        return Decimal(0)
    # Sums do not depend on the rows' order: every row is the whole table, without a copy of it.
    subset = state.requests if len(rows) == state.size else state.requests.take(rows)
    table = state.table or context.table
    lines = aggregate_lines(subset, assign(subset, table), table)
    return total_cost(lines) / len(rows)


def apply_hosting(state: State, hosting: Hosting, context: Context) -> None:
    rows = context.rows_for(state, hosting.applies_to)
    state.details.hosting = host(state, rows, hosting, context)


def _shorten_prompts(state: State, rows: npt.NDArray[np.int64], saved: int) -> None:
    tokens = state.tokens
    cut = np.minimum(saved, tokens["input_tokens"][rows])
    from_cache = np.minimum(cut, tokens["cached_input_tokens"][rows])
    from_writes = np.minimum(cut - from_cache, tokens["cache_write_tokens"][rows])
    state.writable_tokens("cached_input_tokens")[rows] -= from_cache
    state.writable_tokens("cache_write_tokens")[rows] -= from_writes
    state.writable_tokens("cache_write_1h_tokens")[rows] = np.minimum(
        tokens["cache_write_1h_tokens"][rows], tokens["cache_write_tokens"][rows]
    )
    state.writable_tokens("input_tokens")[rows] -= cut


def _training_usd(fine_tune: FineTune, base: ModelPrice | None, context: Context) -> Decimal:
    if fine_tune.training_usd is not None:
        return context.params(fine_tune.training_usd)
    assert base is not None and base.fine_tuning is not None
    return (
        Decimal(fine_tune.training_tokens * fine_tune.epochs) * base.fine_tuning.training / MILLION
    )


TUNED_BATCH_SOURCE = (
    "fine-tuned models take the base model's batch discount: LiteLLM model_prices "
    "ft:gpt-4o-mini-2024-07-18 input/output_cost_per_token_batches 0.15/0.60 per 1M = half of "
    "0.30/1.20, like gpt-4o-mini's 0.075/0.30 = half of 0.15/0.60; OpenAI community forum "
    "'Using Batch API for fine-tuned models' (t/1132474): gpt-4o-mini-2024-07-18, gpt-4o-2024-08-06 "
    "and gpt-3.5-turbo based models have a batch discount"
)


def _tuned_batch(base: ModelPrice) -> BatchPrices | None:
    """The tuned model's batch prices: the base model's batch discount on the tuned prices (a class the
    base's batch block prices at the standard rate stays at the tuned standard rate)."""
    if base.batch is None:
        return None
    assert base.fine_tuning is not None
    tuning = base.fine_tuning
    ratios: dict[str, Decimal] = {}
    for name in ("input", "output", "cached_input"):
        standard = getattr(base, name)
        batch_price = getattr(base.batch, name)
        if standard and batch_price is not None:
            ratios[name] = batch_price / standard
    discount = base.batch.discount
    if discount is None:
        discount = ratios.get("input", Decimal(1))
    explicit = {
        name: getattr(tuning, name) * ratio
        for name, ratio in ratios.items()
        if getattr(tuning, name) is not None
    }
    return BatchPrices(discount=discount, **explicit)


def _tuned_entry(base_id: str, base: ModelPrice) -> ModelPrice:
    assert base.fine_tuning is not None
    tuning = base.fine_tuning
    batch = _tuned_batch(base)
    return ModelPrice.model_validate(
        {
            "provider": base.provider,
            "tokenizer": base.tokenizer,
            "input": tuning.input,
            "output": tuning.output,
            "cached_input": tuning.cached_input,
            "batch": batch.model_dump(exclude_none=True) if batch is not None else None,
            "context_window": base.context_window,
            "source": tuning.source
            if batch is None
            else f"{tuning.source}; batch: {TUNED_BATCH_SOURCE}",
            "checked": base.checked,
            "notes": f"fine-tuned {base_id}",
        }
    )


def _serve_by_api(
    state: State, rows: npt.NDArray[np.int64], base_id: str, base: ModelPrice, context: Context
) -> tuple[str, int]:
    """Move `rows` to the tuned model at its API prices; batch requests keep batch prices when the
    provider has a batch API for the base model, else the scenario fails naming them (they would be
    unpriced). Returns the tuned id and the batch requests."""
    tuned_id = f"ft:{base_id}"
    entry = _tuned_entry(base_id, base)
    batch = int(state.requests.batch[rows].sum())
    if batch and entry.batch is None:
        raise context.problem(
            "base",
            f"{context.workload.represented(batch):,} of the requests are batch requests, and "
            f"{base_id} has no batch prices to serve them from its fine-tuned model: leave them out "
            "with `applies_to` (e.g. a feature or model the batch job does not use)",
        )
    table = state.table or context.table
    state.table = table.model_copy(update={"models": {**table.models, tuned_id: entry}})
    state.move(rows, tuned_id)
    return tuned_id, batch


def apply_fine_tune(state: State, fine_tune: FineTune, context: Context) -> None:
    rows = context.rows_for(state, fine_tune.applies_to)
    base_id = context.price_id(fine_tune.base) if fine_tune.base else None
    base = context.table.models[base_id] if base_id else None
    training = _training_usd(fine_tune, base, context)
    monthly_training = training / fine_tune.amortize_months
    _shorten_prompts(state, rows, fine_tune.prompt_tokens_saved)
    hosted = None
    batch = 0
    if fine_tune.hosting is not None:
        serving = "self-hosted"
        paid_by = Attribution.of(state.requests, rows)
        context.step = "fine_tune.hosting"
        hosted = host(state, rows, fine_tune.hosting, context, fixed_monthly_usd=monthly_training)
        context.step = "fine_tune"
        label = f"{fine_tune.hosting.model} on {hosted.gpu} (self-hosted)"
    else:
        assert base_id is not None and base is not None
        label, batch = _serve_by_api(state, rows, base_id, base, context)
        paid_by = Attribution.of(state.requests, rows)
        serving = f"API ({label})"
    state.add_fixed(
        FixedCost(
            label=label,
            monthly_usd=monthly_training,
            paid_by=paid_by,
            months=fine_tune.amortize_months,
        )
    )
    state.details.fine_tune = FineTuneDetails(
        base=fine_tune.base,
        requests=context.workload.represented(len(rows)),
        training_usd=training,
        amortize_months=fine_tune.amortize_months,
        monthly_training_usd=monthly_training,
        prompt_tokens_saved=fine_tune.prompt_tokens_saved,
        serving=serving,
        hosting=hosted,
        batch_requests=context.workload.represented(batch),
    )
