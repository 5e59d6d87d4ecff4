"""What the complexity score and the fitted router are worth on public labelled data (RouteLLM's GSM8K
labels and the MMLU development half), measured through `route fit`'s own code, and the documented
table (docs/complexity.md) kept equal to the measurement."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from costaudit.core.complexity import MEASURED_APGR

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _evaluation() -> ModuleType:
    name = "bench_routing_eval"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, BENCH / "routing_eval.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="module")
def measured(shared_data: Path) -> dict[str, Any]:
    return dict(_evaluation().run(shared_data))


@pytest.mark.shared_data
@pytest.mark.parametrize("labelled", ["GSM8K", "MMLU, development half"])
def test_builtin_score_is_at_least_as_good_as_prompt_length_and_above_random(
    measured: dict[str, Any], labelled: str
) -> None:
    comparison = measured[labelled].fit.comparison
    assert comparison.builtin.apgr >= comparison.length.apgr
    low, _ = comparison.builtin.apgr_interval
    assert low > 0.5
    assert comparison.random.apgr == pytest.approx(0.5, abs=1e-3)
    assert MEASURED_APGR[0] <= round(comparison.builtin.apgr, 2) <= MEASURED_APGR[1]


@pytest.mark.shared_data
@pytest.mark.parametrize("labelled", ["GSM8K", "MMLU, development half"])
def test_fitted_router_reaches_0_62_out_of_fold(measured: dict[str, Any], labelled: str) -> None:
    comparison = measured[labelled].fit.comparison
    assert comparison.fitted.apgr >= 0.62
    assert comparison.fitted.apgr > comparison.builtin.apgr
    assert comparison.fitted.cpt50 < comparison.builtin.cpt50


@pytest.mark.shared_data
def test_documented_table_is_the_measurement(measured: dict[str, Any]) -> None:
    evaluation = _evaluation()
    documented = evaluation.MARKER.search(evaluation.DOCS.read_text(encoding="utf-8"))
    assert documented is not None
    assert documented.group("body") == evaluation.markdown(measured), (
        "docs/complexity.md drifted: run `python bench/routing_eval.py --write-docs`"
    )
