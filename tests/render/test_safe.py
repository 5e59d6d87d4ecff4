"""The output sinks of render/safe.py, one by one: hostile text comes out harmless, ordinary names
come out unchanged."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from costaudit.errors import echoed
from costaudit.render import safe

ORDINARY = [
    "gpt-4o-mini",
    "claude-sonnet-4-5",
    "meta-llama/Llama-3.1-8B-Instruct",
    "ft:gpt-4o-mini:acme::9abc",
    "gpt_4o_mini",
    "route simple chat to mini",
    "cascade mini → 4o",
    "prompt caching (provider rules)",
    "café crème 日本語",
]
HOSTILE = [
    "gpt-4o\n::error::pwned",
    "::warning file=x::y",
    "  ::error::indented",
    "##[error]old syntax",
    "\x1b[31mred\x1b[0m",
    "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\",
    "[/x]",
    "[bold]loud[/bold]",
    "<img src=x onerror=alert(1)>",
    "a|b|c",
    "=cmd|' /C calc'!A0",
    "+1",
    "-2+3",
    "@SUM(A1)",
    "nul\x00bell\x07back\x08",
    "$\\frac{$",
    "line\u2028sep\u2029para\x85next",
    "bidi\u202eevil",
    "x" * 5000,
]
RUNNER_LINES = re.compile("\r\n|\r|\n")
"""How the GitHub runner splits a step's output into lines."""


def starts_a_command(line: str) -> bool:
    """What the GitHub runner reads as a workflow command: `::` after leading whitespace, or the
    older `##[` anywhere in the line."""
    return line.lstrip().startswith("::") or "##[" in line


@pytest.mark.parametrize("name", ORDINARY)
def test_ordinary_names_come_out_unchanged(name: str) -> None:
    assert safe.terminal(name) == name
    assert safe.markdown(name) == name
    assert safe.markdown_prose(name) == name
    assert safe.csv_cell(name) == name
    assert safe.plot_text(name) == name
    assert safe.annotation_message(name) == name
    assert echoed(name) == name


@pytest.mark.parametrize("name", HOSTILE)
def test_terminal_text_is_one_line_without_escapes_or_commands(name: str) -> None:
    shown = safe.terminal(name)
    assert len(RUNNER_LINES.split(shown)) == 1
    assert len(shown.splitlines()) <= 1
    assert "\x1b" not in shown and "\x07" not in shown and "\x00" not in shown
    assert not starts_a_command(shown)


def test_terminal_shows_control_characters_as_escapes() -> None:
    assert safe.terminal("a\nb\tc\x1b[31m\x85\u2028") == "a\\nb\\tc\\x1b[31m\\x85\\u2028"
    assert safe.terminal("::error::x") == "\\::error::x"
    assert safe.terminal("  ##[group]x") == "  ##\\[group]x"
    assert safe.terminal("a ##[add-mask]b") == "a ##\\[add-mask]b"
    assert safe.terminal("mid ::error:: stays") == "mid ::error:: stays"


def test_every_line_of_an_output_is_kept_from_starting_a_command() -> None:
    text = "ok line\n::error::bad\n  ::warning::also\nlast ::notice:: fine\n"
    guarded = safe.no_command_lines(text)
    assert guarded == "ok line\n\\::error::bad\n\\  ::warning::also\nlast ::notice:: fine\n"
    document = '{"model": "x##[set-output name=a;]b\u2028::error::c"}'
    assert json.loads(safe.no_command_lines(document)) == json.loads(document)
    assert "##[" not in safe.no_command_lines(document)
    assert safe.no_command_lines("plain\ntext\n") == "plain\ntext\n"


@pytest.mark.parametrize("name", HOSTILE)
def test_markdown_cell_keeps_the_table_shape(name: str) -> None:
    row = f"| {safe.markdown(name)} | 1 |"
    assert len(re.split(r"(?<!\\)\|", row)) == 4
    assert "\n" not in row and "<img" not in row
    assert not starts_a_command(safe.markdown(name))


def test_markdown_escapes_markup_and_html() -> None:
    assert safe.markdown("<img src=x>") == "&lt;img src=x&gt;"
    assert safe.markdown("a|b") == "a\\|b"
    assert safe.markdown("*bold* [link](x) ![i](y) `code` ~s~ #h") == (
        "\\*bold\\* \\[link\\](x) \\!\\[i\\](y) \\`code\\` \\~s\\~ \\#h"
    )
    assert safe.markdown("_emph_ snake_case") == "\\_emph\\_ snake_case"
    assert safe.markdown_prose("use `--days` for <b>") == "use `--days` for &lt;b&gt;"


def test_markdown_code_span_cannot_be_closed_by_the_text() -> None:
    assert safe.markdown_code("baseline.json") == "`baseline.json`"
    assert safe.markdown_code("a`b") == "``a`b``"
    assert safe.markdown_code("`x`") == "`` `x` ``"
    assert safe.markdown_code("a\nb") == "`a\\nb`"


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "\\tx"),
        ("\r=1", "\\r=1"),
        ("::error::x", "'::error::x"),
        ("a\n::error::x", "a\\n::error::x"),
        ("gpt-4o", "gpt-4o"),
    ],
)
def test_csv_cell_is_never_a_formula_or_a_command(cell: str, written: str) -> None:
    assert safe.csv_cell(cell) == written


@pytest.mark.parametrize("name", HOSTILE)
def test_csv_with_hostile_cells_parses_and_keeps_one_line_per_record(name: str) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([["name", "n"], [safe.csv_cell(name), 1]])
    text = out.getvalue()
    assert len(text.splitlines()) == 2
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][1] == "1"
    assert rows[1][0][:1] not in set("=+-@\t\r")
    assert not any(starts_a_command(line) for line in text.splitlines())


@pytest.mark.parametrize("name", [*HOSTILE, "\ud800lone", "\ufffe\uffff", "\x0b\x0c"])
def test_xml_text_and_attributes_are_well_formed(name: str) -> None:
    document = f"<t name={safe.xml_attribute(name)}>{safe.xml_text(name)}</t>"
    element = ET.fromstring(document)
    assert element.text is not None and element.get("name") == element.text
    assert "\x00" not in element.text


def test_annotation_escaping_follows_the_runner() -> None:
    assert safe.annotation_message("50% of a\nb") == "50%25 of a\\nb"
    assert safe.annotation_property("a:b,c%") == "a%3Ab%2Cc%25"
    assert "\n" not in safe.annotation_message("x\n::error::y")


def test_html_text_escapes_tags_and_quotes() -> None:
    assert safe.html_text('<img src=x onerror="a">') == "&lt;img src=x onerror=&quot;a&quot;&gt;"


def test_plot_text_keeps_line_breaks_and_dollars() -> None:
    assert safe.plot_text("a\nb\x1b$\\frac{$") == "a\nb\\x1b$\\frac{$"


def test_echoed_values_are_short_and_printable() -> None:
    assert echoed("errored") == "errored"
    assert echoed("x\n::error::y") == "'x\\n::error::y'"
    long = echoed("y" * 10_000)
    assert len(long) <= 60 and long.endswith("…")
    assert echoed({"a": 1}) == "{'a': 1}"


@given(st.text(max_size=60))
def test_any_text_is_harmless_for_line_based_outputs(text: str) -> None:
    for shown in (safe.terminal(text), safe.markdown(text), safe.csv_cell(text)):
        assert len(RUNNER_LINES.split(shown)) == 1
        assert len(shown.splitlines()) <= 1
        assert "\x1b" not in shown
        assert not starts_a_command(shown)
    assert safe.csv_cell(text)[:1] not in set("=+-@\t\r")
