"""Each HTML report opened in a real headless Chromium with the network cut off, as a reader would.

Asserted for analyze, simulate and check: the page requested nothing but its own file and nothing
failed, the console stayed clean, the key figures in the rendered page are the ones the JSON document
gives, it prints to PDF, and a full-page screenshot (kept in the test's tmp dir) is the size of a real
report and not blank. A blank page put through the same screenshot check fails it.

Chromium is Debian's `chromium` package (`.ci/run` installs it). Without it the tests skip, saying
so, unless COSTAUDIT_REQUIRE_BROWSER=1 (set by `.ci/run`), when they fail instead.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from costaudit.cli.browser import Browser, BrowserError, Visit, browser, find_chromium
from costaudit.render.money import count, usd
from report_inputs import Hostile, run

REQUIRE_BROWSER_ENV = "COSTAUDIT_REQUIRE_BROWSER"
"""Kept by tests/conftest.py's clean environment, like COSTAUDIT_REQUIRE_SHARED_DATA."""
WIDTH = 1280
FIGURES = """[...document.querySelectorAll('[data-figure]')].map(node => ({
  figure: node.dataset.figure, scenario: node.dataset.scenario || null,
  value: node.dataset.value || null, text: node.textContent }))"""
INSPECT = f"({{figures: {FIGURES}, text: document.body.innerText,"
INSPECT += " svgs: document.querySelectorAll('figure.chart svg').length,"
INSPECT += " tables: document.querySelectorAll('table').length,"
INSPECT += " sections: [...document.querySelectorAll('main > section')].map(node => node.id)})"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    if find_chromium() is None:
        message = (
            "Chromium is not installed (apt-get install chromium); the report browser tests need it"
        )
        if os.environ.get(REQUIRE_BROWSER_ENV) == "1":
            pytest.fail(f"{message}, and {REQUIRE_BROWSER_ENV}=1")
        pytest.skip(message)
    try:
        with browser() as instance:
            yield instance
    except BrowserError as error:
        pytest.fail(f"Chromium did not start: {error}")


def ink(screenshot: bytes) -> tuple[tuple[int, int], float, int]:
    """Size, share of pixels that are not the page's white, and number of distinct colours."""
    from PIL import Image

    image = Image.open(io.BytesIO(screenshot)).convert("RGB")
    pixels = image.width * image.height
    histogram: list[tuple[int, tuple[int, int, int]]] = image.getcolors(maxcolors=pixels) or []  # type: ignore[assignment]
    white = sum(number for number, (red, green, blue) in histogram if min(red, green, blue) >= 250)
    return image.size, 1 - white / pixels, len(histogram)


def looks_like_a_report(screenshot: bytes) -> bool:
    """A report fills more than one screen with text, tables and coloured charts."""
    (width, height), inked, colours = ink(screenshot)
    return width == WIDTH and height > 1500 and inked > 0.03 and colours > 100


def _open(chromium: Browser, page: Path, tmp_path: Path) -> Visit:
    visit = chromium.visit(page, width=WIDTH, inspect=INSPECT, pdf=True)
    shot = tmp_path / f"{page.stem}.png"
    shot.write_bytes(visit.screenshot)
    assert shot.stat().st_size > 20_000
    assert visit.requests == [page.resolve().as_uri()], visit.requests
    assert visit.outgoing == [] and visit.failed == []
    assert visit.console_errors == []
    assert visit.pdf.startswith(b"%PDF") and visit.pdf_pages >= 2
    assert looks_like_a_report(visit.screenshot), ink(visit.screenshot)
    assert visit.result["svgs"] >= 3 and visit.result["tables"] >= 2
    return visit


def _figures(visit: Visit, name: str) -> list[dict[str, Any]]:
    return [item for item in visit.result["figures"] if item["figure"] == name]


def _one(visit: Visit, name: str) -> dict[str, Any]:
    [item] = _figures(visit, name)
    return item


def _same_money(item: dict[str, Any], json_value: str) -> None:
    """The page shows the JSON's amount, rounded for people, and carries it exactly."""
    assert item["value"] == json_value
    assert item["text"] == usd(Decimal(json_value))


def test_analyze_report_in_a_browser(chromium: Browser, hostile: Hostile, tmp_path: Path) -> None:
    options = [str(hostile.log), *hostile.pricing(), "--group-by", "user,feature"]
    page = tmp_path / "analyze.html"
    assert run("analyze", *options, "-o", "html", "--out", str(page))[0] == 0
    document = json.loads(run("analyze", *options, "-o", "json")[1])
    visit = _open(chromium, page, tmp_path)
    _same_money(_one(visit, "total-cost"), document["cost"]["total_usd"])
    _same_money(_one(visit, "monthly-cost"), document["cost"]["monthly_usd"])
    for key, value in document["records"].items():
        item = _one(visit, f"records-{key}")
        assert (item["value"], item["text"]) == (str(value), count(value))
    assert _one(visit, "window-days")["value"] == document["window"]["days"]
    text = visit.result["text"]
    for model in document["models"]:
        assert model["model"] in text
    assert '<script>alert("model")</script>' in text  # a name shown as text, never run


def test_simulate_report_in_a_browser(chromium: Browser, hostile: Hostile, tmp_path: Path) -> None:
    options = ["-s", str(hostile.scenario), *hostile.pricing()]
    page = tmp_path / "simulate.html"
    assert run("simulate", *options, "-o", "html", "--out", str(page))[0] == 0
    document = json.loads(run("simulate", *options, "-o", "json")[1])
    visit = _open(chromium, page, tmp_path)
    _same_money(_one(visit, "baseline-monthly"), document["baseline"]["monthly_usd"])
    shown = {item["scenario"]: item for item in _figures(visit, "scenario-monthly")}
    assert set(shown) == {scenario["name"] for scenario in document["scenarios"]}
    for scenario in document["scenarios"]:
        _same_money(shown[scenario["name"]], scenario["monthly_usd"])
    assert _one(visit, "workload-requests")["value"] == str(document["workload"]["requests"])


def test_check_report_in_a_browser(chromium: Browser, hostile: Hostile, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    options = ["-s", str(hostile.scenario), "-b", str(baseline), *hostile.pricing()]
    assert run("check", *options, "--update-baseline")[0] == 0
    page = tmp_path / "check.html"
    assert run("check", *options, "--budget", "0.01", "-o", "html", "--out", str(page))[0] == 1
    document = json.loads(run("check", *options, "--budget", "0.01", "-o", "json")[1])
    visit = _open(chromium, page, tmp_path)
    verdict = _one(visit, "verdict")
    assert verdict["value"] == ("passed" if document["verdict"]["passed"] else "failed") == "failed"
    assert visit.result["sections"][:3] == ["verdict", "changes", "movers"]
    assert "Cost check failed" in visit.result["text"]
    after = {item["scenario"]: item for item in _figures(visit, "after")}
    for scenario in document["verdict"]["scenarios"]:
        _same_money(after[scenario["name"]], scenario["after_usd"])


def test_a_blank_page_fails_the_screenshot_check(chromium: Browser, tmp_path: Path) -> None:
    """The screenshot check can fail: an empty page (or one whose styles hid everything) does."""
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><head><title>x</title></head><body></body></html>")
    visit = chromium.visit(blank, width=WIDTH)
    assert visit.console_errors == []
    assert not looks_like_a_report(visit.screenshot)
    (_, height), inked, _ = ink(visit.screenshot)
    assert inked < 0.001 and height < 1500


SORT_BY_REQUESTS = """(() => {
  const table = document.querySelector('table[data-table="models"]');
  const header = [...table.querySelectorAll('th')].find(th => th.textContent === 'requests');
  const column = [...header.parentNode.children].indexOf(header);
  const read = () => [...table.tBodies[0].rows].map(row => row.cells[column].textContent);
  const before = read();
  header.click();
  const first = read();
  header.click();
  return {before, first, second: read(), sort: header.getAttribute('aria-sort')};
})()"""


def test_clicking_a_column_header_sorts_the_table(
    chromium: Browser, hostile: Hostile, tmp_path: Path
) -> None:
    """The page's one script: numbers sort as numbers (by their exact value, not their text)."""
    page = tmp_path / "analyze.html"
    assert (
        run("analyze", str(hostile.log), *hostile.pricing(), "-o", "html", "--out", str(page))[0]
        == 0
    )
    visit = chromium.visit(page, width=WIDTH, inspect=SORT_BY_REQUESTS)
    assert visit.console_errors == []
    order = visit.result
    assert order["first"] == sorted(order["before"], key=int, reverse=True)
    assert order["second"] == sorted(order["before"], key=int)
    assert order["sort"] == "ascending"
