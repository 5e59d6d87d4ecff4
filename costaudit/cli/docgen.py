"""Regenerate the README's generated sections from the real CLI (`python -m costaudit.cli.docgen`).

Sections sit between `<!-- BEGIN generated:NAME -->` and `<!-- END generated:NAME -->` markers: the
`--help` of every command, and the real output of example runs. A test regenerates them and fails when
the README has drifted, so the documentation cannot lie about the tool.

It also writes the HTML reports the README shows (docs/reports/<name>.html) and, with Chromium
installed, their screenshots (<name>.png). Screenshots differ in their bytes from one machine's fonts to
another's, so the drift test does not compare them: it regenerates each page and compares it with the
committed one (chart drawings left out: their figures are in the tables), and checks that each PNG
carries, in a text field, the digest of the page it was taken of.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shlex
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import typer
from typer.testing import CliRunner

from costaudit.cli.app import app
from costaudit.fileio import write_file

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
DOCUMENTS = (README, REPO / "examples" / "scenarios" / "README.md", REPO / "docs" / "pricing.md")
"""Files with generated sections."""

WIDTH = "100"
MARKER = re.compile(
    r"(<!-- BEGIN generated:(?P<name>[\w.-]+) -->\n)(?P<body>.*?)(<!-- END generated:(?P=name) -->)",
    re.S,
)

EXAMPLE_RUNS: dict[str, list[str]] = {
    "analyze-demo": ["analyze", "examples/logs/"],
    "analyze-group": ["analyze", "examples/logs/", "--group-by", "feature", "-o", "markdown"],
    "analyze-over-time": ["analyze", "examples/logs/", "--group-by", "day", "-o", "csv"],
    "formats": ["formats", "-o", "markdown"],
    "pricing-show": ["pricing", "show", "claude-sonnet-4-5-20250929"],
    "pricing-providers": ["pricing", "list", "--providers"],
    "pricing-show-bedrock": [
        "pricing",
        "show",
        "bedrock/us.anthropic.claude-3-7-sonnet-20250219-v1:0",
    ],
    "pricing-list-search": ["pricing", "list", "--provider", "groq", "--search", "llama"],
    "pricing-list-hardware": ["pricing", "list", "--hardware"],
    "simulate-design-card": [
        "simulate",
        "--scenario",
        "examples/scenarios/design-card.yaml",
        "-o",
        "markdown",
    ],
    "simulate-app-logs": [
        "simulate",
        "--scenario",
        "examples/scenarios/app-logs.yaml",
        "--allow-path",
        "examples/logs",
        "--group-by",
        "feature",
    ],
    "check-ci": [
        "check",
        "--scenario",
        "examples/ci/costaudit.yaml",
        "--baseline",
        "examples/ci/costaudit-baseline.json",
        "--max-increase",
        "5%",
        "-o",
        "markdown",
    ],
}

"""Example commands whose real output the README shows (run from the repository root)."""


def _commands(group: typer.Typer, prefix: list[str]) -> list[list[str]]:
    found = [prefix]
    for info in group.registered_commands:
        name = info.name or (info.callback.__name__ if info.callback else "")
        found.append([*prefix, name])
    for sub in group.registered_groups:
        if sub.typer_instance is not None and sub.name:
            found += _commands(sub.typer_instance, [*prefix, sub.name])
    return found


def _invoke(args: list[str]) -> str:
    runner = CliRunner(env={"COLUMNS": WIDTH, "NO_COLOR": "1", "TERM": "dumb"})
    cwd = Path.cwd()
    os.chdir(REPO)
    try:
        result = runner.invoke(app, args)
    finally:
        os.chdir(cwd)
    lines = [line.rstrip() for line in result.stdout.rstrip().splitlines()]
    return "\n".join(lines) + "\n"


def help_section() -> str:
    parts = []
    for command in _commands(app, []):
        title = " ".join(["costaudit", *command])
        parts.append(f"#### `{title}`\n\n```text\n{_invoke([*command, '--help'])}```\n")
    return "\n".join(parts)


RAW_MARKDOWN = {"formats"}
"""Sections whose Markdown output is part of the document itself rather than shown as an example."""


def example_section(name: str) -> str:
    args = EXAMPLE_RUNS[name]
    output = _invoke(args)
    if name in RAW_MARKDOWN:
        return output

    if "-o" in args and args[args.index("-o") + 1] == "markdown":
        return f"```console\n$ costaudit {shlex.join(args)}\n```\n\n````markdown\n{output}````\n"

    return f"```console\n$ costaudit {shlex.join(args)}\n{output}```\n"


def _example(name: str) -> Callable[[], str]:
    return lambda: example_section(name)


GUIDE_CLAIMS = {
    "gpt-4-turbo API": "~$30",
    "claude-3.5-sonnet API": "~$15",
    "fine-tuned 7B on A100": "~$0.50",
    "quantized 13B on spot": "~$0.15",
    "Phi-3 on CPU": "~$0.02",
}
"""The per-1M-token figures of the guide the product grew from (ORIGIN.md), by design-card scenario."""


def guide_comparison() -> str:
    """The design card's five approaches: the guide's $/1M beside what costaudit computes."""
    document = json.loads(
        _invoke(["simulate", "-s", "examples/scenarios/design-card.yaml", "-o", "json"])
    )
    rows = [
        "| approach | guide, $/1M tokens | costaudit, $/1M (blended) | $/1M output only | monthly | utilisation |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for scenario in document["scenarios"]:
        if scenario["name"] not in GUIDE_CLAIMS:
            continue
        details = scenario["details"]
        hosting = details.get("hosting") or details.get("fine_tune", {}).get("hosting")
        output = f"${Decimal(hosting['usd_per_output_mtok']):.2f}" if hosting else "—"
        utilisation = f"{hosting['utilization']:.0%}" if hosting else "—"
        rows.append(
            f"| {scenario['name']} | {GUIDE_CLAIMS[scenario['name']]} | ${Decimal(scenario['usd_per_mtok']):.2f} | "
            f"{output} | ${Decimal(scenario['monthly_usd']):,.0f} | {utilisation} |"
        )
    return "\n".join(rows) + "\n"


PYTHON_EXAMPLE = REPO / "examples" / "python_api.py"
"""The Python API example the README shows, with its real output."""


def python_example_section() -> str:
    """The example's source, then what it prints when run from the repository root."""
    import subprocess

    done = subprocess.run(  # noqa: S603 - our own example, run with this interpreter
        [sys.executable, str(PYTHON_EXAMPLE)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": WIDTH, "NO_COLOR": "1"},
    )
    source = PYTHON_EXAMPLE.read_text(encoding="utf-8")
    return (
        f"```python\n{source}```\n\n```console\n$ python examples/python_api.py\n{done.stdout}```\n"
    )


REPORT_DIR = REPO / "docs" / "reports"
REPORTS: dict[str, list[str]] = {
    "analyze": ["analyze", "examples/logs/", "--group-by", "feature"],
    "simulate": [
        "simulate",
        "--scenario",
        "examples/scenarios/app-logs.yaml",
        "--allow-path",
        "examples/logs",
    ],
    "check": [
        "check",
        "--scenario",
        "examples/ci/costaudit.yaml",
        "--baseline",
        "examples/ci/costaudit-baseline.json",
        "--budget",
        "5000",
    ],
}
"""The HTML reports the README shows (a screenshot of each, and the page itself in docs/reports/)."""
SHOT_WIDTH = 1100
SHOT_HEIGHT = 1400
"""Screenshots show the top of each page, at a width where the page is laid out as on a laptop."""
PAGE_DIGEST_KEY = "costaudit-page-sha256"
"""PNG text field: the digest of the page the screenshot was taken of (see `page_digest`)."""
_CHART = re.compile(r"<svg\b.*?</svg>", re.S)


def report_command(name: str) -> list[str]:
    """The command the README shows for a report (the output file name is the reader's choice)."""
    return [*REPORTS[name], "-o", "html", "--out", f"{name}-report.html"]


def report_page(name: str, out: Path) -> str:
    """Run the report's command writing to `out`; the page with this checkout's path taken out."""
    _invoke([*REPORTS[name], "-o", "html", "--out", str(out)])
    return out.read_text(encoding="utf-8").replace(f"{REPO}{os.sep}", "")


def chart_free(page: str) -> str:
    """The page without its chart drawings: matplotlib's SVG output changes between its releases,
    while every figure a chart shows is also in the page's tables."""
    return _CHART.sub("<svg/>", page)


def page_digest(page: str) -> str:
    return hashlib.sha256(chart_free(page).encode()).hexdigest()


def reports_section() -> str:
    """Each report's command and a screenshot linking to the page."""
    return "\n".join(
        f"```console\n$ costaudit {shlex.join(report_command(name))}\n```\n\n"
        f"[![costaudit {name} HTML report](docs/reports/{name}.png)](docs/reports/{name}.html)\n"
        for name in REPORTS
    )


def write_reports() -> list[str]:
    """Write docs/reports/<name>.html and, when Chromium is installed, its screenshot; returns what
    could not be done."""
    from costaudit.cli.browser import browser, find_chromium

    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    pages = {}
    for name in REPORTS:
        path = REPORT_DIR / f"{name}.html"
        pages[name] = report_page(name, path)
        write_file(path, pages[name])
    if find_chromium() is None:
        return ["screenshots not taken: Chromium is not installed (apt-get install chromium)"]
    with browser() as chromium:
        for name, page in pages.items():
            visit = chromium.visit(
                REPORT_DIR / f"{name}.html",
                width=SHOT_WIDTH,
                height=SHOT_HEIGHT,
                clip_height=SHOT_HEIGHT,
            )
            _save_screenshot(visit.screenshot, page_digest(page), REPORT_DIR / f"{name}.png")
    return []


def _save_screenshot(png: bytes, digest: str, path: Path) -> None:
    """The screenshot, reduced to a 256-colour palette (a fifth of the size, no visible change), with
    the digest of its page in a text field."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256)
    info = PngInfo()
    info.add_text(PAGE_DIGEST_KEY, digest)
    write_file(path, lambda handle: image.save(handle, format="PNG", optimize=True, pnginfo=info))


def scenario_keys_section() -> str:
    """Every key of a scenario file, from the JSON Schema of scenario files."""
    from costaudit.pricetable.schema import scenario_schema_text
    from costaudit.render.scenario_reference import scenario_reference

    return scenario_reference(json.loads(scenario_schema_text()))


SECTIONS: dict[str, Callable[[], str]] = {
    "cli-help": help_section,
    "scenario-keys": scenario_keys_section,
    "python-api": python_example_section,
    "design-card-guide": guide_comparison,
    "html-reports": reports_section,
    **{name: _example(name) for name in EXAMPLE_RUNS},
}


def regenerate(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in SECTIONS:
            return match.group(0)
        return f"{match.group(1)}{SECTIONS[name]()}{match.group(4)}"

    return MARKER.sub(replace, text)


def main() -> None:
    if "--check" not in sys.argv[1:]:
        for problem in write_reports():
            sys.stderr.write(f"warning: {problem}\n")
    stale = []
    for document in DOCUMENTS:
        if not document.exists():
            continue
        current = document.read_text(encoding="utf-8")
        updated = regenerate(current)
        if updated != current:
            stale.append(document)
            if "--check" not in sys.argv[1:]:
                write_file(document, updated)
    if stale and "--check" in sys.argv[1:]:
        names = ", ".join(str(path.relative_to(REPO)) for path in stale)
        sys.stderr.write(f"out of date: {names}; run `python -m costaudit.cli.docgen`\n")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
