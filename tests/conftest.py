"""Test-wide fixtures: hermetic environment, the real public traces, and no network."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from costaudit.config.pricing import PriceTable
from costaudit.core.request_table import RequestTable
from costaudit.ingest.problems import Problems
from costaudit.ingest.table import Draft, TableBuilder
from support import MakeRequests, MakeTable

settings.register_profile("repeatable", derandomize=True, database=None)
settings.load_profile(os.environ.get("COSTAUDIT_HYPOTHESIS_PROFILE", "repeatable"))
"""Property tests draw the same examples on every run, so `make test` passes or fails the same way
on every machine; set COSTAUDIT_HYPOTHESIS_PROFILE=default to explore new examples."""

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
REQUIRE_SHARED_ENV = "COSTAUDIT_REQUIRE_SHARED_DATA"
REQUIRE_BROWSER_ENV = "COSTAUDIT_REQUIRE_BROWSER"
"""Set by .ci/run: the report browser tests fail, instead of skipping, when Chromium is missing."""


@pytest.fixture(scope="session")
def _cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One price-table cache for the whole run, never the user's own."""
    return tmp_path_factory.mktemp("costaudit-cache")


@pytest.fixture(autouse=True)
def _hermetic_env(monkeypatch: pytest.MonkeyPatch, _cache_dir: Path) -> None:
    """No user configuration leaks into tests, output has no colour, and rich never sizes to a tty."""
    for name in list(os.environ):
        if name.startswith("COSTAUDIT_") and name not in {REQUIRE_SHARED_ENV, REQUIRE_BROWSER_ENV}:
            monkeypatch.delenv(name)
    monkeypatch.setenv("COSTAUDIT_CACHE_DIR", str(_cache_dir))
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("TERM", "dumb")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a network connection fails the test that made it."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("costaudit must not open network connections")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture(scope="session")
def shared_data() -> Iterator[Path]:
    """The public traces in ../shared/data (present beside the checkout in CI).

    A user's clone does not have them, so the tests that need them are skipped there; CI sets
    COSTAUDIT_REQUIRE_SHARED_DATA=1 so that a missing directory fails instead of skipping.
    """
    if not SHARED_DATA.is_dir():
        if os.environ.get(REQUIRE_SHARED_ENV) == "1":
            pytest.fail(f"{SHARED_DATA} is missing but {REQUIRE_SHARED_ENV}=1")
        pytest.skip(f"public traces not found at {SHARED_DATA}")
    yield SHARED_DATA


# ---------------------------------------------------------------------------------------------- builders


def _model_entry(**fields: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"provider": "test", "source": "test fixture", "checked": "2026-11-25"}
    entry.update(fields)
    return entry


@pytest.fixture(scope="session")
def make_table() -> MakeTable:
    """`make_table(gpt={"input": "2.5", "output": "10"}, ...)` → a validated PriceTable."""

    def build(**models: dict[str, Any]) -> PriceTable:
        return PriceTable.model_validate(
            {
                "schema_version": 1,
                "effective": "2026-11-25",
                "models": {name: _model_entry(**fields) for name, fields in sorted(models.items())},
            }
        )

    return build


@pytest.fixture(scope="session")
def make_requests() -> MakeRequests:
    """`make_requests({"model": "m", "input_tokens": 10, ...}, ...)` → a canonical request table.

    Rows go through the real TableBuilder, so fixtures obey the same validation as logs.
    """

    def build(*rows: dict[str, Any]) -> RequestTable:
        builder = TableBuilder(Problems(strict=True), lambda _model: "cl100k_base")
        for line, row in enumerate(rows, 1):
            fields = {"output_tokens": 0, **row}
            builder.add(Draft(**fields), "fixture", line)
        return builder.finish()

    return build
