"""Fixtures for the report tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from report_inputs import Hostile, make_hostile


@pytest.fixture
def hostile(tmp_path: Path) -> Hostile:
    """A log, a price layer and a scenario file whose names are markup (see report_inputs.py)."""
    return make_hostile(tmp_path)
