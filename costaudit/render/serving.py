"""The serving replay of a hosting scenario, as rows every report shares (text, Markdown, HTML).

Each figure says where it comes from: `replay` (requests replayed through continuous-batching servers)
or `closed form` (the roofline's steady-state estimate), and the two fleet sizes are shown side by side
with a warning when they differ by more than 20 %.
"""

from __future__ import annotations

from costaudit.core.serving import LatencyTarget, Percentiles
from costaudit.core.simulate.details import HostingDetails, ServingDetails
from costaudit.render.money import count, percent, usd

REPLAY = "replay"
CLOSED_FORM = "closed form"

FRONTIER_COLUMNS = (
    "gpu",
    "precision",
    "max batch",
    "replicas",
    "monthly",
    "TTFT p90",
    "TPOT p99",
    "e2e p99",
    "meets SLO",
    "frontier",
)
SWEEP_COLUMNS = (
    "batch",
    "output tok/s",
    "all tok/s",
    "TPOT",
    "TTFT",
    "$/1M output tok",
    "$/1M tok",
)


def seconds(value: float | None) -> str:
    """`0.16 s`, `27 ms`: milliseconds under a second."""
    if value is None:
        return "—"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:,.2f} s"


def _trio(values: Percentiles) -> str:
    return f"{seconds(values.p50)} / {seconds(values.p90)} / {seconds(values.p99)}"


def slo_text(targets: list[LatencyTarget]) -> str:
    names = {"ttft": "TTFT", "tpot": "TPOT", "e2e": "latency"}
    return ", ".join(f"{names[t.metric]} p{t.percentile:g} ≤ {seconds(t.seconds)}" for t in targets)


def comparison_text(serving: ServingDetails) -> str:
    """Replayed fleet beside the closed-form one, flagged when they differ by more than 20 %."""
    c = serving.comparison
    flag = " ⚠ differ by more than 20%" if c.disagree else ""
    return (
        f"replay {c.replay_replicas} replica{'s' if c.replay_replicas != 1 else ''} "
        f"{usd(c.replay_monthly_usd)}; closed form {c.closed_form_replicas} "
        f"{usd(c.closed_form_monthly_usd)} ({signed_pct(c.difference_pct)}){flag}"
    )


def signed_pct(value: object) -> str:
    text = f"{value}"
    if text.startswith("-"):
        return f"−{text[1:]}%"
    return f"+{text}%" if text not in {"0", "0.0"} else "±0%"


def key_figure(detail: HostingDetails) -> str:
    """The replay's part of the comparison table's key figure: what sized the fleet, its latency, and
    the closed-form fleet beside it."""
    serving = detail.serving
    assert serving is not None
    met = "SLO met" if serving.meets_slo else "SLO missed"
    c = serving.comparison
    flag = " ⚠" if c.disagree else ""
    source = REPLAY if serving.sized_by == "replay" else CLOSED_FORM
    return (
        f"sized by {source} ({met}: TTFT p90 {seconds(serving.ttft_s.p90)}, TPOT p99 "
        f"{seconds(serving.tpot_s.p99)}); closed form {c.closed_form_replicas}× "
        f"{usd(c.closed_form_monthly_usd)} ({signed_pct(c.difference_pct)}){flag}"
    )


def summary_rows(detail: HostingDetails) -> list[tuple[str, str]]:
    """Label and value of every replay figure, each naming its source."""
    serving = detail.serving
    assert serving is not None
    sized = (
        "replay: the fewest replicas whose replay meets the SLO"
        if serving.sized_by == "replay"
        else "closed form: no replayed fleet met the SLO; the replay shows the closed-form fleet"
    )
    peak = serving.queue_peak
    rows = [
        ("fleet sized by", sized),
        (
            "fleet (replay)",
            f"{serving.replicas} × {detail.devices_per_replica} {serving.gpu} ({serving.precision}), "
            f"{serving.scheduler.replace('_', ' ')}, max batch {serving.max_batch}, "
            f"{serving.max_batched_tokens:,} tokens per step, {serving.balancer.replace('_', '-')}",
        ),
        ("SLO", f"{slo_text(serving.slo)} — {'met' if serving.meets_slo else 'missed'}"),
        ("requests replayed", count(serving.requests)),
        ("TTFT p50 / p90 / p99 (replay)", _trio(serving.ttft_s)),
        ("TPOT p50 / p90 / p99 (replay)", _trio(serving.tpot_s)),
        ("end-to-end p50 / p90 / p99 (replay)", _trio(serving.e2e_s)),
        (
            "batch size, time-weighted (replay)",
            f"mean {serving.batch.mean:.1f}, p50 {serving.batch.p50}, p90 {serving.batch.p90}, "
            f"p99 {serving.batch.p99}, max {serving.batch.max}",
        ),
        (
            "GPU busy share (replay)",
            f"{percent(serving.busy.mean, 0)} on average, {percent(serving.busy.peak, 0)} in the busiest "
            f"{serving.busy.bin_seconds // 60} minutes",
        ),
        (
            "queue at the peak (replay)",
            f"{count(peak.requests)} waiting"
            + (f" at {_clock(peak.at_s)}" if peak.at_s is not None else ""),
        ),
        ("pre-emptions (replay)", count(serving.preemptions)),
        (
            "requests over the SLO thresholds (replay)",
            f"{count(serving.slo_misses)} ({percent(serving.slo_misses / serving.requests if serving.requests else 0)})",
        ),
        ("replay vs closed form", comparison_text(serving)),
        (
            "capacity per replica (closed form)",
            f"{count(detail.slo_output_tokens_per_s)} output tok/s within "
            f"{'the closed-form SLO' if detail.meets_slo else 'no SLO (offline)'}, "
            f"{count(detail.max_output_tokens_per_s)} at most",
        ),
    ]
    return rows


def _clock(at_s: float) -> str:
    """Seconds from the window's start as day and time: `day 1 14:05`."""
    day, rest = divmod(int(at_s), 86_400)
    hours, rest = divmod(rest, 3600)
    return f"day {day + 1} {hours:02d}:{rest // 60:02d}"


def frontier_rows(serving: ServingDetails) -> list[list[str]]:
    search = serving.search
    assert search is not None
    chosen = (serving.gpu, serving.precision, serving.max_batch, serving.replicas)
    rows = []
    for option in search.options:
        mark = (
            "cheapest"
            if (option.gpu, option.precision, option.max_batch, option.replicas) == chosen
            and serving.sized_by == "replay"
            else ""
        )
        rows.append(
            [
                option.gpu,
                option.precision,
                str(option.max_batch),
                f"{option.replicas}×{option.devices_per_replica}",
                usd(option.monthly_usd),
                seconds(option.ttft_s.p90),
                seconds(option.tpot_s.p99),
                seconds(option.e2e_s.p99),
                "yes" if option.meets_slo else "no",
                ("✓ " if option.on_frontier else "") + mark,
            ]
        )
    return rows


def skipped_lines(serving: ServingDetails) -> list[str]:
    """Configurations the search did not replay: those that cannot hold the model (with why), and in
    one line those whose smallest possible fleet already cost as much as the cheapest found."""
    search = serving.search
    assert search is not None
    lines = [
        f"{item.gpu} {item.precision}, max batch {item.max_batch}: {item.reason}"
        for item in search.skipped
        if item.floor_monthly_usd is None
    ]
    pruned = [item for item in search.skipped if item.floor_monthly_usd is not None]
    if pruned:
        listed = "; ".join(
            f"{item.gpu} {item.precision}/{item.max_batch} ({item.floor_replicas}× {usd(item.floor_monthly_usd)})"
            for item in pruned
        )
        lines.append(
            "not replayed because even their smallest possible fleet (the replicas the traffic needs at "
            f"maximum throughput) costs no less than the cheapest found: {listed}"
        )
    return lines


def sweep_rows(serving: ServingDetails) -> list[list[str]]:
    return [
        [
            str(point.batch),
            count(point.output_tokens_per_s),
            count(point.tokens_per_s),
            seconds(point.tpot_s),
            seconds(point.ttft_s),
            usd(point.usd_per_output_mtok),
            usd(point.usd_per_mtok),
        ]
        for point in serving.sweep or []
    ]


def sweep_title(detail: HostingDetails) -> str:
    serving = detail.serving
    assert serving is not None
    return (
        f"Batch-size sweep: one {serving.gpu} replica ({serving.precision}), {detail.pricing.replace('_', '-')} "
        "price, kept busy by a fixed number of concurrent requests (replay)"
    )
