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
