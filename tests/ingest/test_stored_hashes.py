"""A saved workload simulated with its prefix hashes in a temporary file (read in passes, a chunk at a
time) gives the report that the same requests give with their hashes in memory, for every kind of
prompt-cache replay and for the strategies that move, copy or drop requests before it."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from costaudit import api
from costaudit.api import scenarios
from costaudit.core import prompt_cache
from costaudit.core.prompt_cache import PrefixBlocks, StoredBlocks
from costaudit.ingest import workload_io
from costaudit.render.simulation import jsonable
from support import REPO

GATEWAY = REPO / "examples" / "logs" / "app_gateway.jsonl.gz"

SCENARIOS = """
scenarios:
  - name: provider caching
    prompt_cache: {}
  - name: coarser blocks
    prompt_cache: {block_tokens: 256, ttl: 10m}
  - name: breakpoints at shared prefixes
    prompt_cache: {breakpoints: shared_prefixes}
  - name: cascade, then caching
    routing:
      mode: cascade
      escalation_rate: 0.3
      tiers: [{model: gpt-4o-mini, share: 1}, {model: gpt-4o}]
      applies_to: [gpt-4o]
    prompt_cache: {}
  - name: response cache, then caching
    response_cache: {ttl: 1h}
    prompt_cache: {}
"""


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("stored")
    log = folder / "gateway.jsonl"
    log.write_bytes(gzip.decompress(GATEWAY.read_bytes()))
    path = folder / "w.parquet"
    api.analyze(log, save_workload=path)
    return path


def _report(scenario: Path) -> object:
    return jsonable(api.simulate(scenario))


def test_hashes_in_a_temporary_file_give_the_in_memory_report(
    saved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = saved.parent / "s.yaml"
    scenario.write_text(f"workload: {{workload: {saved.name}}}\n" + SCENARIOS)
    with monkeypatch.context() as patched:
        patched.setattr(
            scenarios, "load_workload", lambda path, **_: workload_io.load_workload(path)
        )
        expected = _report(scenario)
    assert isinstance(workload_io.load_workload(saved).prefix_blocks, PrefixBlocks)
    # Small slices and chunks, so every replay reads the store in several passes of several chunks.
    monkeypatch.setattr(prompt_cache, "REPLAY_SLICE", 5_000)
    monkeypatch.setattr(prompt_cache, "STORE_CHUNK", 3_000)
    monkeypatch.setattr(prompt_cache, "SLICES_PER_PASS", 2)
    stored = workload_io.load_workload(saved, hashes_in_memory=False)
    assert isinstance(stored.prefix_blocks, StoredBlocks)
    assert _report(scenario) == expected


def test_loading_keeps_all_zero_token_columns_as_one_value(saved: Path) -> None:
    """The gateway log reports no cache writes or audio: those columns are held as one zero each, and
    read as every row's zero."""
    table = workload_io.load_workload(saved)
    writes = table.tokens["cache_write_tokens"]
    assert writes.strides == (0,) and len(writes) == len(table) == 2_000
    assert not writes.flags.writeable
    assert table.take(writes[:10].astype(int) + 3).tokens["cache_write_tokens"].tolist() == [0] * 10
    assert table.tokens["input_tokens"].strides != (0,)


@pytest.mark.parametrize("positioned", [True, False])
def test_the_temporary_file_reads_back_every_hash(
    saved: Path, positioned: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With positioned reads, or with a seek and a read where the system has none."""
    import os

    if not positioned and hasattr(os, "preadv"):
        monkeypatch.delattr(os, "preadv")
    monkeypatch.setattr(prompt_cache, "STORE_CHUNK", 1_000)
    expected = workload_io.load_workload(saved).prefix_blocks
    stored = workload_io.load_workload(saved, hashes_in_memory=False).prefix_blocks
    assert isinstance(expected, PrefixBlocks) and isinstance(stored, StoredBlocks)
    chunks = [chunk for _, _, chunk in stored.row_chunks()]
    assert len(chunks) > 10
    assert np.concatenate(chunks).tolist() == expected.hashes.tolist()
    assert stored.offsets.tolist() == expected.offsets.tolist()
