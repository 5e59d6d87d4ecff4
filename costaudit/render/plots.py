"""PNG charts. matplotlib is imported here only, lazily, with the file-only Agg backend."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from costaudit.core.analysis import Analysis
from costaudit.errors import InputError


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    try:
        fig.savefig(path, dpi=120, bbox_inches="tight")
    except OSError as exc:
        raise InputError(str(path), f"cannot write: {exc.strerror or exc}") from None
    finally:
        _pyplot().close(fig)
    return path


def _prepare(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            str(directory), f"cannot create plot directory: {exc.strerror or exc}"
        ) from None


def analysis_plots(analysis: Analysis, directory: Path) -> list[Path]:
    """Token histogram, complexity histogram, cost by model and requests per hour."""
    _prepare(directory)
    plt = _pyplot()
    written = []

    fig, ax = plt.subplots(figsize=(8, 4))
    for name, hist in analysis.token_histograms.items():
        ax.stairs(hist.counts, hist.edges, label=f"{name} tokens")
    ax.set_xscale("log")
    ax.set_xlabel("tokens per request (log scale)")
    ax.set_ylabel("requests")
    ax.set_title("Tokens per request")
    ax.legend()
    written.append(_save(fig, directory / "tokens_histogram.png"))

    fig, ax = plt.subplots(figsize=(8, 4))
    counts = analysis.complexity.histogram
    ax.bar(
        [i / len(counts) + 0.05 for i in range(len(counts))], counts, width=0.09, color="tab:cyan"
    )
    ax.set_xlabel("complexity score")
    ax.set_ylabel("requests")
    ax.set_title(f"Complexity ({analysis.complexity.scored:,} scored requests)")
    written.append(_save(fig, directory / "complexity_histogram.png"))

    priced = [row for row in analysis.models if row.cost is not None]
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.4 * len(priced) + 1)))
    values = [float(row.monthly if row.monthly is not None else row.cost or 0) for row in priced]
    ax.barh([str(row.key[0]) for row in priced], values, color="tab:green")
    ax.invert_yaxis()
    ax.set_xlabel("USD per month" if analysis.monthly_cost is not None else "USD (observed window)")
    ax.set_title("Cost by model")
    written.append(_save(fig, directory / "cost_by_model.png"))

    fig, ax = plt.subplots(figsize=(8, 4))
    hours, per_hour = _hourly(analysis.hourly_requests)
    if hours:
        ax.plot(hours, per_hour, drawstyle="steps-post")
        fig.autofmt_xdate()
    else:
        ax.text(0.5, 0.5, "no timestamps", ha="center", va="center", transform=ax.transAxes)
    ax.set_ylabel("requests per hour")
    ax.set_title("Requests per hour")
    written.append(_save(fig, directory / "requests_per_hour.png"))
    return written


def _hourly(series: Sequence[tuple[Any, int]]) -> tuple[list[Any], list[int]]:
    return [hour for hour, _ in series], [value for _, value in series]


def _safe_name(name: str) -> str:
    return (
        "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name).strip("-") or "scenario"
    )


def simulation_plots(result: Any, directory: Path) -> list[Path]:
    """Monthly cost per scenario; cost–quality curves for routing; hit rate vs TTL for prompt caching."""
    _prepare(directory)
    plt = _pyplot()
    written = []
    priced = [s for s in result.scenarios if s.monthly_usd is not None]
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.45 * len(priced) + 1)))
    colors = ["tab:gray" if s.name == result.baseline else "tab:blue" for s in priced]
    ax.barh([s.name for s in priced], [float(s.monthly_usd) for s in priced], color=colors)
    for s in priced:
        if s.percentiles:
            ax.errorbar(
                float(s.percentiles["p50"]),
                s.name,
                xerr=[
                    [float(s.percentiles["p50"] - s.percentiles["p10"])],
                    [float(s.percentiles["p90"] - s.percentiles["p50"])],
                ],
                fmt="none",
                ecolor="black",
                capsize=3,
            )
    ax.invert_yaxis()
    ax.set_xlabel("USD per month")
    ax.set_title("Monthly cost by scenario")
    written.append(_save(fig, directory / "monthly_cost_by_scenario.png"))
    for scenario in result.scenarios:
        if scenario.curve:
            written.append(_routing_curve_plot(plt, scenario, directory))
        curve = scenario.details.get("prompt_cache", {}).get("ttl_curve")
        if curve:
            written.append(_ttl_plot(plt, scenario, curve, directory))
        hosting = scenario.details.get("hosting") or scenario.details.get("fine_tune", {}).get(
            "hosting"
        )
        if hosting and hosting.get("break_even"):
            written.append(_break_even_plot(plt, scenario, hosting, directory))
    return written


def _break_even_plot(plt: Any, scenario: Any, hosting: dict[str, Any], directory: Path) -> Path:
    points = hosting["break_even"]["points"]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    volumes = [point["requests_per_day"] for point in points]
    ax.plot(
        volumes,
        [float(point["api_monthly_usd"]) for point in points],
        label="API (as the moved requests cost now)",
    )
    ax.plot(
        volumes,
        [float(point["self_hosted_monthly_usd"]) for point in points],
        label=f"self-hosted on {hosting['gpu']}",
    )
    crossing = hosting["break_even"]["requests_per_day"]
    if crossing:
        ax.axvline(crossing, linestyle="--", color="gray")
        ax.annotate(
            f"break-even ≈ {crossing:,} req/day",
            (crossing, ax.get_ylim()[0]),
            rotation=90,
            fontsize=8,
            xytext=(3, 10),
            textcoords="offset points",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("requests per day (same daily shape)")
    ax.set_ylabel("USD per month")
    ax.set_title(f"{scenario.name}: when self-hosting pays off")
    ax.legend()
    return _save(fig, directory / f"break_even_{_safe_name(scenario.name)}.png")


def _routing_curve_plot(plt: Any, scenario: Any, directory: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    shares = [point["strong_share"] for point in scenario.curve]
    costs = [float(point["monthly_usd"]) for point in scenario.curve]
    if all("quality" in point for point in scenario.curve):
        qualities = [point["quality"] for point in scenario.curve]
        ax.plot(costs, qualities, marker="o")
        for share, cost, quality in zip(shares, costs, qualities, strict=True):
            ax.annotate(
                f"{share:.0%}",
                (cost, quality),
                textcoords="offset points",
                xytext=(4, -10),
                fontsize=7,
            )
        ax.set_ylabel("quality")
        ax.set_xlabel("USD per month")
        ax.set_title(f"{scenario.name}: cost vs quality (labels: share sent to the strong model)")
    else:
        ax.plot(shares, costs, marker="o")
        ax.set_xlabel("share sent to the strong model")
        ax.set_ylabel("USD per month")
        ax.set_title(f"{scenario.name}: cost by strong-model share")
    _mark_operating_point(ax, scenario)
    return _save(fig, directory / f"routing_curve_{_safe_name(scenario.name)}.png")


def operating_point(scenario: Any) -> tuple[float, float, float | None] | None:
    """The scenario's own point on its routing curve: (strong share, monthly USD, quality or None)."""
    routing = scenario.details.get("routing")
    if not routing or scenario.monthly_usd is None or not routing.get("tiers"):
        return None
    quality = (routing.get("quality") or {}).get("quality")
    return float(routing["tiers"][-1]["share"]), float(scenario.monthly_usd), quality


def _mark_operating_point(ax: Any, scenario: Any) -> None:
    point = operating_point(scenario)
    if point is None:
        return
    share, monthly, quality = point
    labelled = all("quality" in p for p in scenario.curve)
    if labelled and quality is None:
        return
    where = (monthly, quality) if labelled else (share, monthly)
    ax.plot(*where, marker="*", markersize=16, color="tab:red", linestyle="none", zorder=5)
    ax.annotate(
        f"this scenario: {share:.0%} strong",
        where,
        textcoords="offset points",
        xytext=(8, 6),
        fontsize=8,
        color="tab:red",
    )


def _ttl_plot(plt: Any, scenario: Any, curve: list[dict[str, Any]], directory: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4))
    finite = [point for point in curve if point["ttl_s"] is not None]
    ax.plot(
        [point["ttl_s"] / 60 for point in finite],
        [point["hit_rate"] for point in finite],
        marker="o",
    )
    infinite = [point for point in curve if point["ttl_s"] is None]
    if infinite:
        ax.axhline(infinite[0]["hit_rate"], linestyle="--", color="gray", label="infinite cache")
        ax.legend()
    ax.set_xscale("log")
    ax.set_xlabel("TTL (minutes, log scale)")
    ax.set_ylabel("prompt-cache hit rate (share of input tokens)")
    ax.set_title(f"{scenario.name}: hit rate vs TTL")
    return _save(fig, directory / f"cache_hit_rate_vs_ttl_{_safe_name(scenario.name)}.png")
