"""The HTML report's page: one self-contained file (styles, script and charts inline), safe markup.

Every value that reaches the page passes through `el`, which escapes plain strings; only markup built
here (`Html`) is inserted as is. Model, user, feature, scenario and file names come from logs, price
tables and scenario files, so they are untrusted text: a name such as `<script>` shows as text.

The page asks for nothing over the network: its Content-Security-Policy forbids every fetch (no
`default-src`, images only from `data:`), styles and the one script are inline, fonts are the
reader's own. Numbers are in real tables and readable without JavaScript; the script only sorts
tables when a header is clicked. Print styles keep charts, cards and table rows whole across pages.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from costaudit import __version__
from costaudit.core.pricing import PriceTableInfo
from costaudit.jsonio import decimal_str
from costaudit.render.charts import Chart, inline_svg
from costaudit.render.safe import html_text


class Html(str):
    """Markup built by this module (already escaped); any other `str` is text and gets escaped."""

    __slots__ = ()


def esc(value: object) -> Html:
    """Text as HTML (quotes too, so it is safe in attributes)."""
    return value if isinstance(value, Html) else Html(html_text(str(value)))


Child = str | Html | None
Cell = Child | tuple[Child, object]
"""A table cell: text or markup, or (text, sort key) so that `$1.2k` still sorts as a number."""
Row = Sequence[Cell]


def join(parts: Iterable[Child]) -> Html:
    return Html("".join(esc(part) for part in parts if part is not None))


def el(tag: str, *children: Child, **attrs: str | int | None) -> Html:
    """`<tag attrs>children</tag>`; attribute names `class_` → `class`, `data_x` → `data-x`."""
    rendered = "".join(
        f' {name.rstrip("_").replace("_", "-")}="{esc(value)}"'
        for name, value in attrs.items()
        if value is not None
    )
    return Html(f"<{tag}{rendered}>{join(children)}</{tag}>")


def figure_value(
    name: str, shown: str, exact: object = None, *, inline: bool = False, **attrs: str | None
) -> Html:
    """A key figure: the rounded text people read, with the value the JSON document gives in
    `data-value` (money as its decimal string, to the micro-dollar unless passed as a string)."""
    value = decimal_str(exact) if isinstance(exact, Decimal) else exact
    return el(
        "span",
        shown,
        class_="figure" if inline else "value",
        data_figure=name,
        data_value=None if value is None else str(value),
        **attrs,
    )


@dataclass(frozen=True)
class Column:
    name: str
    numeric: bool = False


def table(
    columns: Sequence[Column],
    rows: Iterable[Row],
    *,
    caption: str | None = None,
    name: str | None = None,
) -> Html:
    """A sortable table. A cell is text, markup, or (text, sort key) — the key keeps numbers sorting
    as numbers when the text is `$1.2k`-style."""
    head = el(
        "thead",
        el(
            "tr",
            *(
                el("th", column.name, class_="num" if column.numeric else None, scope="col")
                for column in columns
            ),
        ),
    )
    body_rows = []
    for row in rows:
        cells = []
        for column, cell in zip(columns, row, strict=True):
            text, key = cell if isinstance(cell, tuple) else (cell, None)
            cells.append(
                el(
                    "td",
                    text,
                    class_="num" if column.numeric else None,
                    data_sort=None if key is None else str(key),
                )
            )
        body_rows.append(el("tr", *cells))
    return el(
        "div",
        el(
            "table",
            el("caption", caption) if caption else None,
            head,
            el("tbody", *body_rows),
            class_="sortable",
            data_table=name,
        ),
        class_="table-wrap",
    )


def facts(rows: Sequence[tuple[str, Child]], caption: str | None = None) -> Html:
    """A two-column list of labelled figures (no header row, not sortable)."""
    return el(
        "div",
        el(
            "table",
            el("caption", caption) if caption else None,
            el(
                "tbody",
                *(el("tr", el("th", label, scope="row"), el("td", value)) for label, value in rows),
            ),
            class_="facts",
        ),
        class_="table-wrap",
    )


def chart(item: Chart, note: str | None = None) -> Html:
    """A chart as inline SVG in a figure that never splits across printed pages."""
    return el(
        "figure",
        Html(inline_svg(item)),
        el("figcaption", note) if note else None,
        class_="chart",
        data_chart=item.slug,
    )


def section(anchor: str, title: str, *body: Child, lead: Child = None) -> Html:
    """A titled section; on paper its title, lead and first block stay on one page."""
    parts = [part for part in body if part is not None]
    first, rest = (parts[0], parts[1:]) if parts else (None, [])
    return el(
        "section",
        el(
            "div",
            el("h2", title),
            el("p", lead, class_="lead") if lead else None,
            first,
            class_="keep",
        ),
        *rest,
        id=anchor,
    )


def card(label: str, value: Html, detail: Child = None, *, main: bool = False) -> Html:
    """A key figure with its label and one line of context."""
    return el(
        "div",
        el("div", label, class_="label"),
        value,
        el("div", detail, class_="detail") if detail else None,
        class_="card main" if main else "card",
    )


def pricing_footer(info: PriceTableInfo | None) -> Html:
    parts: list[Child] = [f"costaudit {__version__}. "]
    if info is not None:
        parts += [
            "Prices: ",
            ", ".join(info.files),
            f" (effective {info.effective.isoformat()}, sha256 {info.sha256[:12]}…). ",
        ]
    parts.append(
        "This report holds no prompt or completion text: only counts, token totals, costs, and model, "
        "group and scenario names."
    )
    return el("footer", el("p", *parts))


SCRIPT = """
(function () {
  "use strict";
  function key(cell) {
    var sort = cell.getAttribute("data-sort");
    return sort !== null ? sort : cell.textContent.trim();
  }
  function compare(a, b, numeric) {
    if (numeric) {
      var x = parseFloat(a), y = parseFloat(b);
      if (isNaN(x)) { x = -Infinity; }
      if (isNaN(y)) { y = -Infinity; }
      return x - y;
    }
    return a.localeCompare(b);
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var headers = table.querySelectorAll("thead th");
    headers.forEach(function (header, index) {
      header.tabIndex = 0;
      header.title = "Sort by this column";
      function sort() {
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var numeric = header.classList.contains("num");
        var descending = header.getAttribute("aria-sort") !== "descending";
        headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
        header.setAttribute("aria-sort", descending ? "descending" : "ascending");
        rows.sort(function (a, b) {
          var order = compare(key(a.cells[index]), key(b.cells[index]), numeric);
          return descending ? -order : order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      }
      header.addEventListener("click", sort);
      header.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sort(); }
      });
    });
  });
})();
""".strip()

STYLE = """
:root { --ink: #1d2330; --muted: #5b6473; --line: #dfe3ea; --soft: #f5f7fa; --accent: #3366aa;
  --good: #2f9e6e; --bad: #d0493b; --warn: #b7791f; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.45; font-size: 15px;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Liberation Sans",
  "DejaVu Sans", sans-serif; }
main, header.page, footer { max-width: 1120px; margin: 0 auto; padding: 0 24px; }
header.page { padding-top: 28px; padding-bottom: 8px; border-bottom: 1px solid var(--line); }
header.page h1 { margin: 0 0 4px; font-size: 26px; }
header.page p { margin: 2px 0; color: var(--muted); }
nav { margin: 10px 0 4px; font-size: 13px; }
nav a { color: var(--accent); text-decoration: none; margin-right: 14px; white-space: nowrap; }
h2 { font-size: 19px; margin: 34px 0 8px; padding-bottom: 4px; border-bottom: 2px solid var(--soft); }
h3 { font-size: 16px; margin: 22px 0 6px; }
p.lead { color: var(--muted); margin: 0 0 12px; max-width: 75ch; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 12px; margin: 18px 0 4px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; background: var(--soft); }
.card .label { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.card .value { display: block; font-size: 24px; font-weight: 650; margin-top: 2px; font-variant-numeric: tabular-nums; }
.card .detail { font-size: 13px; color: var(--muted); margin-top: 2px; }
.card .figure { font-weight: 600; color: var(--ink); }
.card.main { background: #eaf1fb; border-color: #c8d8f0; }
.verdict { border-radius: 10px; padding: 16px 20px; margin: 20px 0 8px; border: 2px solid; }
.verdict.pass { border-color: var(--good); background: #eef8f3; }
.verdict.fail { border-color: var(--bad); background: #fcefed; }
.verdict h2 { border: 0; margin: 0 0 4px; padding: 0; font-size: 22px; }
.verdict ul { margin: 6px 0 0; padding-left: 20px; }
.table-wrap { overflow-x: auto; margin: 10px 0 16px; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: 4px 0 6px; color: var(--muted); }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; white-space: nowrap; }
th[aria-sort="ascending"]::after { content: " \\25B2"; font-size: 10px; }
th[aria-sort="descending"]::after { content: " \\25BC"; font-size: 10px; }
td.num, th.num { text-align: right; white-space: nowrap; }
table.facts { width: auto; min-width: 50%; }
table.facts th { background: none; font-weight: 500; color: var(--muted); white-space: normal; }
tbody tr:hover { background: #fafbfd; }
figure.chart { margin: 12px 0 18px; }
figure.chart svg { display: block; width: 100%; max-width: 900px; height: auto; }
figcaption { font-size: 13px; color: var(--muted); margin-top: 4px; max-width: 90ch; }
.tag { display: inline-block; font-size: 12px; padding: 1px 7px; border-radius: 10px; background: var(--soft); border: 1px solid var(--line); }
.tag.bad { background: #fcefed; border-color: #f0c4be; color: #9b2c20; }
.tag.good { background: #eef8f3; border-color: #bfe3d1; color: #1d6b49; }
.tag.warn { background: #fdf6e7; border-color: #f0dbb0; color: #7a5210; }
.good { color: var(--good); } .bad { color: var(--bad); }
ul.notes { padding-left: 20px; color: var(--muted); font-size: 14px; }
code { font-size: 13px; background: var(--soft); padding: 0 4px; border-radius: 4px; }
footer { margin-top: 40px; padding-top: 12px; padding-bottom: 30px; border-top: 1px solid var(--line);
  font-size: 12.5px; color: var(--muted); }
@media print {
  @page { size: A4; margin: 14mm 12mm; }
  body { font-size: 10.5pt; }
  nav { display: none; }
  main, header.page, footer { max-width: none; padding: 0; }
  h2 { break-after: avoid-page; margin-top: 18px; }
  h3, caption { break-after: avoid-page; }
  figure.chart, .card, .cards, .verdict, tr, .keep { break-inside: avoid-page; }
  thead { display: table-header-group; }
  figure.chart svg { max-width: 100%; }
  .table-wrap { overflow: visible; }
  tbody tr:hover { background: none; }
  th[aria-sort]::after { content: ""; }
}
""".strip()


def _csp() -> str:
    digest = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
    return (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )


def document(
    title: str,
    subtitle: Sequence[Child],
    nav: Sequence[tuple[str, str]],
    body: Sequence[Child],
    footer: Html,
) -> str:
    """The whole page. `nav` is (anchor, label) pairs of the sections, in order."""
    links = (
        el("nav", *(el("a", label, href=f"#{anchor}") for anchor, label in nav)) if nav else None
    )
    page = join(
        [
            Html("<!DOCTYPE html>\n"),
            Html('<html lang="en">\n<head>\n<meta charset="utf-8">\n'),
            Html(f'<meta http-equiv="Content-Security-Policy" content="{esc(_csp())}">\n'),
            Html('<meta name="viewport" content="width=device-width, initial-scale=1">\n'),
            Html('<meta name="generator" content="costaudit">\n'),
            Html('<link rel="icon" href="data:,">\n'),
            el("title", title),
            Html(f"\n<style>\n{STYLE}\n</style>\n</head>\n<body>\n"),
            el(
                "header",
                el("h1", title),
                *(el("p", line) for line in subtitle if line),
                links,
                class_="page",
            ),
            Html("\n<main>\n"),
            *(Html(f"{esc(part)}\n") for part in body if part is not None),
            Html("</main>\n"),
            footer,
            Html(f"\n<script>{SCRIPT}</script>\n</body>\n</html>\n"),
        ]
    )
    return str(page)
