"""Text from inputs made visible: control and format characters shown as escapes.

A value from a cluster or a scope file is data. A bidirectional override (U+202E)
would make an owner or a ticket read as something else, an escape sequence (`\\x1b`)
would retitle the terminal, and a bell or a NUL reaches the PDF as a missing glyph.
Every output edge (terminal, PDF, SVG diagram, spreadsheet) passes input text through
`visible`, so such characters are shown as `\\u202e` or `\\x1b` and never act.
"""

from __future__ import annotations

import unicodedata

HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
"""Control, format, surrogate, private-use and unassigned code points, and the line and
paragraph separators: none of them has a glyph a reader can see and trust."""


def visible(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with every hidden character replaced by its escape (`\\x07`, `\\u202e`).

    `keep_newlines` keeps `\\n`, `\\r` and `\\t` as they are, for outputs where they are
    layout (a paragraph of the PDF, a spreadsheet cell) rather than a break of a one-line
    form; a terminal line escapes them, since `\\r` would let a value overwrite the line.
    """
    if text.isprintable():  # the common case, at C speed
        return text
    out = []
    for ch in text:
        if (keep_newlines and ch in "\n\r\t") or unicodedata.category(ch) not in HIDDEN_CATEGORIES:
            out.append(ch)
        else:
            out.append(escape(ch))
    return "".join(out)


def escape(ch: str) -> str:
    """`\\n`, `\\x1b`, `\\u202e` or `\\U000e0001`: the form Python and JSON readers know."""
    code = ord(ch)
    if ch in "\n\t\r":
        return {"\n": "\\n", "\t": "\\t", "\r": "\\r"}[ch]
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


MARKDOWN_SPECIALS = "`*_[]<>|#"


def line_value(value: object, md: bool) -> str:
    """A value for one line of a text or Markdown report (diff, history): hidden
    characters escaped, and in Markdown the characters that would start markup too, so a
    name from a cluster or a pack can neither act on the terminal nor format the page."""
    text = visible(str(value))
    if md:
        text = text.replace("\\", "\\\\")
        for ch in MARKDOWN_SPECIALS:
            text = text.replace(ch, "\\" + ch)
    return text
