"""costaudit: what LLM traffic costs, and what it would cost routed, cached, batched or self-hosted.

The Python API (`costaudit.analyze`, `costaudit.simulate`, `costaudit.check`, …) lives in
`costaudit.api`; its names are available here too. They are imported on first use, so that
`import costaudit` (and the command line's `--help`) does not pay for numpy, pyarrow and pydantic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from costaudit.decimals import ensure_money_precision

__version__ = "0.1.0"

ensure_money_precision()

if TYPE_CHECKING:
    from costaudit.api import (
        Analysis,
        BaselineUpdate,
        LoadedPrices,
        LoadedScenario,
        LoadedWorkload,
        Logs,
        RequestTable,
        SimulationResult,
        Thresholds,
        Verdict,
        analyze,
        check,
        fit_router,
        load_prices,
        load_scenario,
        load_workload,
        read_logs,
        save_workload,
        scenario_workload,
        simulate,
        update_baseline,
    )

__all__ = [
    "Analysis",
    "BaselineUpdate",
    "LoadedPrices",
    "LoadedScenario",
    "LoadedWorkload",
    "Logs",
    "RequestTable",
    "SimulationResult",
    "Thresholds",
    "Verdict",
    "__version__",
    "analyze",
    "check",
    "fit_router",
    "load_prices",
    "load_scenario",
    "load_workload",
    "read_logs",
    "save_workload",
    "scenario_workload",
    "simulate",
    "update_baseline",
]


def __getattr__(name: str) -> Any:
    """The API's names, imported from `costaudit.api` when first asked for."""
    if name in __all__:
        return getattr(importlib.import_module("costaudit.api"), name)
    raise AttributeError(f"module 'costaudit' has no attribute {name!r}")
