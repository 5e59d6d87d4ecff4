"""Smoke test of bench/sim_scale.py (the simulate-at-scale benchmark, opt-in: `make bench-sim-scale`).

On a few thousand requests: the generator is deterministic, writes a workload `simulate` loads with
prefix hashes that repeat (so the prompt-cache replay has work), and the scenario file parses.
It asserts nothing about speed.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np

from costaudit.config.scenario import ScenarioFile
from costaudit.configfile import read_yaml
from costaudit.core.prompt_cache import PrefixBlocks
from costaudit.ingest.workload_io import load_workload

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _sim_scale() -> ModuleType:
    name = "bench_sim_scale"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCH / "sim_scale.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_generated_workload_is_deterministic_and_has_shared_prefixes(tmp_path: Path) -> None:
    sim_scale = _sim_scale()
    first, second = tmp_path / "a.parquet", tmp_path / "b.parquet"
    sim_scale.write_workload(2_000, first)
    sim_scale.write_workload(2_000, second)
    a, b = load_workload(first), load_workload(second)
    assert len(a) == 2_000
    assert isinstance(a.prefix_blocks, PrefixBlocks) and isinstance(b.prefix_blocks, PrefixBlocks)
    assert np.array_equal(a.prefix_blocks.hashes, b.prefix_blocks.hashes)
    assert np.array_equal(a.tokens["input_tokens"], b.tokens["input_tokens"])
    distinct = len(np.unique(a.prefix_blocks.hashes))
    assert distinct < 0.7 * len(a.prefix_blocks.hashes)
    scenario = tmp_path / "a.yaml"
    sim_scale.write_scenario(first, scenario)
    parsed = ScenarioFile.model_validate(read_yaml(scenario))
    assert [item.name for item in parsed.scenarios][-1] == "combined"
