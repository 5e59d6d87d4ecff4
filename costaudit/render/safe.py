"""Text from outside costaudit, made harmless for the output it goes to.

Model names, scenario names, group values, price ids, file names and values quoted in error
messages come from logs, price tables, scenario files and the command line: anyone who can write a
log line chooses them. Each output reads some characters as instructions: a terminal runs escape
sequences, GitHub Actions runs any stdout/stderr line that starts with `::`, Markdown and HTML turn
`<img …>` and `|` into markup, spreadsheets run cells that start with `=`, XML parsers refuse control
characters. One function per output here; every place that writes such text calls the one for its
output. JSON needs none: its encoder escapes every string and keeps the real value.

What each function does is chosen so that an ordinary name (letters, digits, `-`, `.`, `/`, `:`,
spaces, parentheses, non-ASCII letters) comes out unchanged: only hostile text looks different.

- Control characters (C0, DEL, C1 including U+0085, the Unicode line and paragraph separators, and
  the bidirectional overrides that reorder what a reader sees) are shown as visible escapes (`\\n`,
  `\\x1b`, `\\u2028`), so untrusted text never starts a new line, moves the cursor, colours the
  screen or opens an OSC-8 hyperlink. A backslash already in the text is left as it is: the escapes
  are for reading, not for decoding.
- Text that would start a line with `::`, after any leading spaces, gets a backslash in front: the
  GitHub runner reads a line as a workflow command when, once leading whitespace is trimmed, it
  starts with `::` (actions/runner, src/Runner.Common/ActionCommand.cs, `TryParseV2`). Its older
  syntax, `##[name]`, counts anywhere in a line, so `##[` in a name never reaches a line whole.
- Rich console markup (`[bold]`, `[/x]`) is not escaped here: costaudit's consoles are made with
  markup and emoji codes off (cli/common.py), so no text they print is ever read as markup, and
  pass every plain string they print (table cells, titles) through `terminal`.
- Matplotlib never parses `$…$` as mathematics in costaudit's charts (`text.parse_math` is off in
  render/charts.py), so `$` stays a dollar sign; chart text only needs its control characters shown.
"""

from __future__ import annotations

import html
import re

NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
"""Characters that reorder the text around them when shown (the "Trojan Source" characters)."""

COMMAND_STARTS = ("::", "##[")
"""What a GitHub Actions runner reads as a workflow command at the start of a (left-trimmed) line."""
LEGACY_COMMAND = "##["
"""The runner's older command syntax (`##[name]data`), which it finds anywhere in a line, not only at
its start (actions/runner, src/Runner.Common/ActionCommand.cs, `TryParse`)."""

FORMULA_STARTS = frozenset("=+-@\t\r")
"""Cell starts a spreadsheet reads as a formula (OWASP, "CSV Injection",
https://owasp.org/www-community/attacks/CSV_Injection)."""


def _visible(char: str) -> str:
    if char in NAMED_ESCAPES:
        return NAMED_ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029" + "".join(sorted(BIDI_CONTROLS)) + "]")


def visible_controls(text: str) -> str:
    """Control characters as visible escapes: the text stays on its line and cannot drive a
    terminal."""
    return _CONTROLS.sub(lambda match: _visible(match.group()), text)


def no_command_start(text: str) -> str:
    """A backslash before text that would otherwise start a line as a GitHub workflow command, and
    one inside the older `##[` wherever it is."""
    text = text.replace(LEGACY_COMMAND, "##\\[")
    return "\\" + text if text.lstrip().startswith(COMMAND_STARTS) else text


_RUNNER_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)?")
"""A line as the GitHub runner reads a step's output: ended by CR, LF or CRLF only (a JSON string
may hold U+2028, which must not be taken for a line break and get a backslash)."""


def no_command_lines(text: str) -> str:
    """A whole output, made safe line by line for a CI log: the last guard before stdout, for what
    the sinks above cannot see whole (a long table cell wrapped onto a new line, a JSON document).

    A line that would start a workflow command gets a backslash in front. A `##[` left anywhere can
    only be inside a JSON string by now (every other output escapes it where the name goes in), so
    it is written `##\\u005b`: the same characters once the JSON is read, never a command."""
    if "::" not in text and LEGACY_COMMAND not in text:
        return text
    text = text.replace(LEGACY_COMMAND, "##\\u005b")
    return "".join(no_command_start(line.group()) for line in _RUNNER_LINE.finditer(text))


# ------------------------------------------------------------------------------ terminal / CI logs


def terminal(text: str) -> str:
    """Untrusted text for the terminal, stdout/stderr lines and CI logs (where GitHub reads workflow
    commands): one line, no escape sequences, never a workflow command."""
    return no_command_start(visible_controls(text))


def log_line(line: str) -> str:
    """A whole line costaudit writes to stdout or stderr, with untrusted text in it: the same as
    `terminal`, applied to the line, so that nothing in it can break it in two."""
    return terminal(line)


def annotation_message(text: str) -> str:
    """The message of a GitHub `::error::` workflow command (the runner's escaping: `%`, CR, LF)."""
    shown = visible_controls(text).replace(LEGACY_COMMAND, "##\\[")
    return shown.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def annotation_property(text: str) -> str:
    """A property value of a workflow command (`title=…`, `file=…`): the message's escaping plus
    `:` and `,`, which end a property."""
    return annotation_message(text).replace(":", "%3A").replace(",", "%2C")


# ------------------------------------------------------------------------------------- Markdown

_MARKDOWN_SPECIALS = re.compile(r"[\\`*\[\]<>!#|~]")
_PROSE_SPECIALS = re.compile(r"[\\*\[\]<>!#|~]")
_UNDERSCORE_AT_EDGE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
"""An underscore that can open or close emphasis; one inside a word (`gpt_4o_mini`) cannot."""


def markdown(text: str) -> str:
    """Untrusted text inside Markdown (a table cell, a list item, the job summary): shown as
    written, never as markup, HTML, a table column break or a new line."""
    return _markdown_escaped(text, _MARKDOWN_SPECIALS)


def markdown_prose(text: str) -> str:
    """A sentence of costaudit's own that quotes untrusted text (a note, a failure reason) inside
    Markdown: as `markdown`, except that backticks stay, since the sentence uses them for code
    (a stray one from a name can only show text as code, which is still text, and a pipe inside
    code still needs its escape, which it gets)."""
    return _markdown_escaped(text, _PROSE_SPECIALS)


def _markdown_escaped(text: str, specials: re.Pattern[str]) -> str:
    shown = specials.sub(lambda match: _markdown_escape(match.group()), visible_controls(text))
    return no_command_start(_UNDERSCORE_AT_EDGE.sub(r"\\_", shown))


def _markdown_escape(char: str) -> str:
    """`<` and `>` as entities (a backslash does not stop every Markdown renderer's raw HTML);
    other punctuation with a backslash, which CommonMark defines for every ASCII punctuation mark."""
    return {"<": "&lt;", ">": "&gt;"}.get(char, "\\" + char)


def markdown_code(text: str) -> str:
    """Untrusted text as a Markdown code span: fenced with more backticks than it contains, so it
    cannot close the span early (a code span shows backslashes literally, so escaping cannot help)."""
    shown = visible_controls(text)
    longest = max((len(run) for run in re.findall(r"`+", shown)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {shown} " if shown.startswith("`") or shown.endswith("`") else shown
    return f"{fence}{padded}{fence}"


# ------------------------------------------------------------------------------------- HTML, XML


def html_text(text: str) -> str:
    """Untrusted text in an HTML page, as text or an attribute value: escaped, and its control
    characters shown (a browser ignores them, but a page printed to a terminal or a CI log must
    not carry an escape sequence or a line that starts a workflow command)."""
    escaped = html.escape(visible_controls(text), quote=True)
    return escaped.replace(LEGACY_COMMAND, "##&#91;")


_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters XML 1.0 does not allow anywhere, even escaped (most C0 controls, lone surrogates,
U+FFFE and U+FFFF)."""


def xml_text(text: str) -> str:
    """Untrusted text as XML character data (JUnit): well-formed whatever the input, one line."""
    return html.escape(_xml_valid(text), quote=False)


def xml_attribute(text: str) -> str:
    """Untrusted text as a quoted XML attribute value (JUnit test names), quotes included: in
    double quotes, or in single quotes when it holds a double quote and no single one (the text has
    no line breaks or tabs left by then: they are shown as escapes)."""
    value = html.escape(_xml_valid(text), quote=False)
    if '"' not in value:
        return f'"{value}"'
    if "'" not in value:
        return f"'{value}'"
    return '"' + value.replace('"', "&quot;") + '"'


def _xml_valid(text: str) -> str:
    shown = visible_controls(text)
    return _XML_INVALID.sub(lambda match: f"\\u{ord(match.group()):04x}", shown)


# ------------------------------------------------------------------------------------------ CSV


def csv_cell(text: str) -> str:
    """Untrusted text as a CSV cell: on one line, and never a formula or a workflow command.

    A cell that starts with `=`, `+`, `-` or `@` gets a single quote in front, as OWASP recommends
    for CSV injection; so does one that would start a line with `::`. Line breaks and other control
    characters are shown as visible escapes rather than kept inside a quoted cell: every record
    stays one line, which keeps line-based tools (and CI logs) honest. The csv module quotes any cell
    holding a comma or a quote, so a cell cannot spill into the next one."""
    shown = visible_controls(text).replace(LEGACY_COMMAND, "##\\[")
    if shown[:1] in FORMULA_STARTS or shown.lstrip().startswith("::"):
        return "'" + shown
    return shown


# ---------------------------------------------------------------------------------------- charts


def plot_text(text: str) -> str:
    """Text drawn in a chart (PNG and SVG): control characters shown, since they have no glyph and
    matplotlib warns about each; line breaks kept, as a chart is no command channel and its own
    labels use them. `$` needs nothing: math parsing is off for costaudit's charts."""
    return "\n".join(visible_controls(line) for line in text.split("\n"))
