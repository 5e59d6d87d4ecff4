"""`--plots DIR`: the report's charts (render/charts.py) as PNG files, one per chart."""

from __future__ import annotations

from pathlib import Path

from costaudit.core.analysis import Analysis
from costaudit.core.simulate.engine import SimulationResult
from costaudit.errors import InputError
from costaudit.render.charts import Chart, analysis_charts, simulation_charts, write_png


def _prepare(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            str(directory), f"cannot create plot directory: {exc.strerror or exc}"
        ) from None


def _write(charts: list[Chart], directory: Path) -> list[Path]:
    _prepare(directory)
    return [write_png(chart, directory) for chart in charts]


def analysis_plots(analysis: Analysis, directory: Path) -> list[Path]:
    """Cost by model, by each group key and per day or hour; tokens per request with percentiles;
    complexity with its class cut-offs; requests per hour."""
    return _write(analysis_charts(analysis), directory)


def simulation_plots(result: SimulationResult, directory: Path) -> list[Path]:
    """Monthly cost per scenario against the baseline; cost–quality curves for routing; hit rate and
    band for prompt caching; the break-even sweep, with today's volume, for self-hosting."""
    return _write(simulation_charts(result), directory)
