"""The HTML reports as files: self-contained, escaped, private, real tables (the browser test in
test_report_browser.py opens them)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

from costaudit.render.money import usd
from report_inputs import (
    ANSWER_MARKER,
    EVIL_FEATURE,
    EVIL_FILE,
    EVIL_MODEL,
    EVIL_SCENARIO,
    EVIL_USER,
    PROMPT_MARKER,
    Hostile,
    run,
)


class Page(HTMLParser):
    """Tags, attributes, table cells and text of a page, as a browser's parser sees them."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str | None]] = []
        self.cells: list[str] = []
        self.text: list[str] = []
        self._cell: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [(tag, name, value) for name, value in attrs]
        if tag == "td":
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.cells.append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def _report(*args: str, out: Path) -> tuple[str, str]:
    code, _, err = run(*args, "-o", "html", "--out", str(out))
    assert code in {0, 1}, err
    return out.read_text(encoding="utf-8"), err


def _assert_self_contained_and_escaped(html: str) -> Page:
    page = Page(html)
    # One script element, ours; no element that loads anything.
    assert page.tags.count("script") == 1
    assert html.lower().count("<script") == 1
    assert not {"img", "iframe", "object", "embed", "audio", "video", "source"} & set(page.tags)
    for tag, name, value in page.attributes:
        assert name != "src", (tag, value)
        if name in {"href", "xlink:href"}:
            assert value is not None and (value.startswith("#") or value == "data:,"), value
        assert not name.startswith("on"), (tag, name, value)
    assert [value for tag, _, value in page.attributes if tag == "link"] in ([], ["icon", "data:,"])
    assert "@import" not in html and "url(http" not in html
    policy = next(v for _, n, v in page.attributes if n == "content" and v and "default-src" in v)
    assert "default-src 'none'" in policy
    # Privacy: the prompt and the answer never reach the page.
    assert PROMPT_MARKER not in html and ANSWER_MARKER not in html
    return page


def test_analyze_report_escapes_every_name_and_holds_no_prompt(
    hostile: Hostile, tmp_path: Path
) -> None:
    html, err = _report(
        "analyze", str(hostile.log), *hostile.pricing(), "--group-by", "user,feature",
        out=tmp_path / "report.html",
    )  # fmt: skip
    assert f"report written to {tmp_path / 'report.html'}" in err
    page = _assert_self_contained_and_escaped(html)
    text = "".join(page.text)
    for name in (EVIL_MODEL, EVIL_USER, EVIL_FEATURE, EVIL_FILE):
        assert name in text, name  # shown as text, not markup
    assert "<b>co</b>" not in html and "<img" not in html
    # Real tables: the cost of each model is a table cell, as the JSON gives it.
    code, out, _ = run("analyze", str(hostile.log), *hostile.pricing(), "-o", "json")
    assert code == 0
    document = json.loads(out)
    for model in document["models"]:
        if model["cost_usd"] is not None:
            assert usd(Decimal(model["cost_usd"])) in page.cells
    assert usd(Decimal(document["cost"]["total_usd"])) in text
    # The skipped line is named with its file and line, escaped.
    assert f"{hostile.log}:3" in text


def test_simulate_report_escapes_scenario_and_file_names(hostile: Hostile, tmp_path: Path) -> None:
    html, _ = _report(
        "simulate", "-s", str(hostile.scenario), *hostile.pricing(), out=tmp_path / "sim.html"
    )
    page = _assert_self_contained_and_escaped(html)
    text = "".join(page.text)
    assert EVIL_SCENARIO in text and hostile.scenario.name in text
    code, out, _ = run("simulate", "-s", str(hostile.scenario), *hostile.pricing(), "-o", "json")
    assert code == 0
    for scenario in json.loads(out)["scenarios"]:
        assert usd(Decimal(scenario["monthly_usd"])) in page.cells
    # Each scenario's strategy details, with the charts that explain them.
    charts = [value for tag, name, value in page.attributes if name == "data-chart"]
    assert "monthly_cost_by_scenario" in charts
    assert any(chart and chart.startswith("routing_curve_") for chart in charts)
    assert "break_even_self-hosted" in charts


def test_check_report_puts_the_verdict_first(hostile: Hostile, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    common = ["-s", str(hostile.scenario), "-b", str(baseline), *hostile.pricing()]
    assert run("check", *common, "--update-baseline")[0] == 0
    html, _ = _report("check", *common, "--budget", "0.01", out=tmp_path / "check.html")
    page = _assert_self_contained_and_escaped(html)
    sections = [value for tag, name, value in page.attributes if tag == "section" and name == "id"]
    assert sections[:3] == ["verdict", "changes", "movers"]
    text = "".join(page.text)
    assert "Cost check failed" in text
    assert f"{EVIL_SCENARIO}: monthly cost" in text  # the reason, escaped
    assert "No input changed since the baseline" in text


def test_check_report_says_what_changed_and_the_movers(hostile: Hostile, tmp_path: Path) -> None:
    """Prices raised after the baseline was written: the report names the cause and leads with the
    scenario that grew."""
    baseline = tmp_path / "baseline.json"
    common = ["-s", str(hostile.scenario), "-b", str(baseline), *hostile.pricing()]
    assert run("check", *common, "--update-baseline")[0] == 0
    hostile.prices.write_text(hostile.prices.read_text().replace("output: 8.00", "output: 80.00"))
    html, _ = _report("check", *common, "--max-increase", "1%", out=tmp_path / "check.html")
    page = _assert_self_contained_and_escaped(html)
    text = "".join(page.text)
    assert "Cost check failed" in text
    assert "prices: the price tables differ from the ones the baseline was computed with" in text
    movers = text.split("Top movers", 2)[2]
    assert movers.index("as logged") < movers.index("self-hosted")
    assert "regression" in movers


def test_html_needs_no_matplotlib_until_a_chart_is_drawn() -> None:
    """The report modules import matplotlib only when they draw: `analyze -o json` never loads it."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, costaudit.render.html_analysis, costaudit.render.html_simulation, "
            "costaudit.render.html_check, costaudit.render.plots; "
            "print('matplotlib' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "False"


def test_an_html_report_is_not_poured_onto_a_terminal(hostile: Hostile) -> None:
    """Without --out, HTML goes to stdout only when it is redirected (CliRunner's stdout is not a tty)."""
    code, out, _ = run("analyze", str(hostile.log), *hostile.pricing(), "-o", "html")
    assert code == 0 and out.startswith("<!DOCTYPE html>")
    assert re.search(r"<title>LLM cost audit</title>", out)


def test_simulate_report_breaks_each_scenario_down_and_the_columns_add_up() -> None:
    from costaudit import api
    from costaudit.render.html_simulation import simulation_html
    from support import REPO

    loaded = api.load_scenario(
        REPO / "examples" / "scenarios" / "app-logs.yaml", allow_paths=[REPO / "examples" / "logs"]
    )
    result = api.simulate(loaded, group_by=["feature"])
    page = simulation_html([result])
    assert "Where the money goes" in page
    for caption in ("Monthly cost by model", "Monthly cost by feature"):
        assert f"<caption>{caption}</caption>" in page
    for scenario in result.scenarios:
        for rows in (scenario.breakdown.models, scenario.breakdown.groups["feature"]):
            parts = [row.monthly_usd for row in rows if row.monthly_usd is not None]
            assert scenario.monthly_usd is not None
            assert abs(sum(parts, Decimal(0)) - scenario.monthly_usd) < Decimal("0.000001")
