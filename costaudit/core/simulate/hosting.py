"""Self-hosting and fine-tuning: traffic moves off per-token API prices onto a GPU fleet or a tuned model.

Hosting sizes a fleet for the moved requests' arrival series (5-minute bins, so short bursts count) with
the calibrated roofline capacity model (docs/self-hosting.md), and replaces their token bill with the
fleet's monthly cost. Fine-tuning adds the training bill amortised over `amortize_months`, removes the
prompt tokens the tuned model no longer needs (taken from the cached prefix first: instructions usually
sit at the start of the prompt, where the cache is) and serves the traffic at the tuned model's API
prices or on a self-hosted fleet.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from costaudit.config.pricing import ModelPrice
from costaudit.config.scenario import FineTune, Hosting
from costaudit.core.capacity import LatencySLO, LengthMix, replica_capacity
from costaudit.core.fleet import FleetPolicy, break_even, fleet_cost
from costaudit.core.pricing import aggregate_lines, assign, total_cost
from costaudit.core.request_table import NAT
from costaudit.core.simulate.context import Context
from costaudit.core.simulate.details import (
    BreakEvenDetails,
    BreakEvenPoint,
    FineTuneDetails,
    HostingDetails,
)
from costaudit.core.simulate.state import State

BIN_SECONDS = 300
MILLION = Decimal(1_000_000)


def _arrivals(
    state: State, rows: npt.NDArray[np.int64], days: Decimal | None
) -> tuple[npt.NDArray[np.int64], list[str]]:
    """Requests per 5-minute bin over the window; without timestamps, spread evenly over `days`."""
    stamps = state.requests.timestamp_ns[rows]
    dated = stamps != NAT
    seconds = stamps[dated].astype(np.float64) / 1e9
    notes: list[str] = []
    window_s = float(days or 1) * 86_400
    bins = max(1, int(np.ceil(window_s / BIN_SECONDS)))
    if dated.sum() == len(rows) and len(rows):
        start = seconds.min()
        counts = np.histogram(seconds - start, bins=bins, range=(0.0, bins * BIN_SECONDS))[0]
        return counts.astype(np.int64), notes
    notes.append("requests without timestamps were assumed to arrive evenly over the window")
    counts = np.full(bins, len(rows) // bins, dtype=np.int64)
    counts[: len(rows) % bins] += 1
    return counts, notes


def host(
    state: State,
    rows: npt.NDArray[np.int64],
    hosting: Hosting,
    context: Context,
    fixed_monthly_usd: Decimal = Decimal(0),
) -> HostingDetails:
    """Move `rows` onto a self-hosted fleet; returns the details of the fleet.

    `fixed_monthly_usd` (a fine-tune's amortised training) is paid whatever the traffic, so the
    break-even sweep counts it on the self-hosted side.
    """
    model = context.table.self_hosted[hosting.model]
    hardware = context.table.hardware[hosting.gpu]
    outputs = np.maximum(state.tokens["output_tokens"][rows], 1)
    inputs = np.maximum(state.tokens["input_tokens"][rows], 1)
    capacity = replica_capacity(
        model,
        hardware,
        hosting.precision,
        LengthMix.from_lengths(inputs, outputs),
        slo=LatencySLO(ttft_s=hosting.slo.ttft or 2.0, tpot_s=hosting.slo.tpot or 0.05),
    )
    meets_slo = capacity.meets_slo
    if not meets_slo:
        state.notes.append(
            f"{hosting.model} on {hosting.gpu} cannot meet the latency SLO (time to first token "
            f"{capacity.ttft_s:.1f} s, {capacity.tpot_s * 1000:.0f} ms per token at batch 1): sized at maximum "
            "throughput, as offline work"
        )
        capacity = replace(
            capacity,
            slo_batch=capacity.max_batch,
            slo_output_tokens_per_s=capacity.max_output_tokens_per_s,
            slo_requests_per_s=capacity.max_requests_per_s,
        )
    counts, notes = _arrivals(state, rows, context.workload.days)

    state.notes.extend(notes)
    policy = FleetPolicy(
        utilization_target=float(hosting.utilization_target),
        autoscale=hosting.autoscale,
        min_replicas=hosting.min_replicas,
        pricing=hosting.pricing,
        interruption_overhead=hosting.interruption_overhead,
    )
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

    state.monthly_usd += fleet.monthly_usd

    keep = np.ones(state.size, dtype=np.bool_)
    keep[rows] = False
    state.keep(keep)
    return HostingDetails(
        meets_slo=meets_slo,
        ttft_s=capacity.ttft_s,
        tpot_s=capacity.tpot_s,
        model=hosting.model,
        gpu=hosting.gpu,
        precision=hosting.precision,
        pricing=hosting.pricing,
        autoscale=hosting.autoscale,
        requests=len(rows),
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
            points=[
                BreakEvenPoint(
                    point.requests_per_day, point.api_monthly_usd, point.self_hosted_monthly_usd
                )
                for point in sweep.points
            ],
        ),
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
    subset = state.requests.take(rows)
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
    tokens["cached_input_tokens"][rows] -= from_cache
    tokens["cache_write_tokens"][rows] -= from_writes
    tokens["cache_write_1h_tokens"][rows] = np.minimum(
        tokens["cache_write_1h_tokens"][rows], tokens["cache_write_tokens"][rows]
    )
    tokens["input_tokens"][rows] -= cut


def _training_usd(fine_tune: FineTune, base: ModelPrice | None, context: Context) -> Decimal:
    if fine_tune.training_usd is not None:
        return context.params(fine_tune.training_usd)
    assert base is not None and base.fine_tuning is not None
    return (
        Decimal(fine_tune.training_tokens * fine_tune.epochs) * base.fine_tuning.training / MILLION
    )


def _tuned_entry(base_id: str, base: ModelPrice) -> ModelPrice:
    assert base.fine_tuning is not None
    tuning = base.fine_tuning
    return ModelPrice.model_validate(
        {
            "provider": base.provider,
            "tokenizer": base.tokenizer,
            "input": tuning.input,
            "output": tuning.output,
            "cached_input": tuning.cached_input,
            "source": tuning.source,
            "checked": base.checked,
            "notes": f"fine-tuned {base_id}",
        }
    )


def apply_fine_tune(state: State, fine_tune: FineTune, context: Context) -> None:
    rows = context.rows_for(state, fine_tune.applies_to)
    base_id = context.price_id(fine_tune.base) if fine_tune.base else None
    base = context.table.models[base_id] if base_id else None
    training = _training_usd(fine_tune, base, context)
    state.monthly_usd += training / fine_tune.amortize_months
    _shorten_prompts(state, rows, fine_tune.prompt_tokens_saved)
    monthly_training = training / fine_tune.amortize_months
    hosted = None
    if fine_tune.hosting is not None:
        serving = "self-hosted"
        hosted = host(state, rows, fine_tune.hosting, context, fixed_monthly_usd=monthly_training)
    else:
        assert base_id is not None and base is not None
        tuned_id = f"ft:{base_id}"
        table = state.table or context.table
        state.table = table.model_copy(
            update={"models": {**table.models, tuned_id: _tuned_entry(base_id, base)}}
        )
        state.move(rows, tuned_id)
        serving = f"API ({tuned_id})"
    state.details.fine_tune = FineTuneDetails(
        base=fine_tune.base,
        requests=len(rows),
        training_usd=training,
        amortize_months=fine_tune.amortize_months,
        monthly_training_usd=monthly_training,
        prompt_tokens_saved=fine_tune.prompt_tokens_saved,
        serving=serving,
        hosting=hosted,
    )
