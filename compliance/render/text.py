"""Long values for the PDF: break opportunities so WeasyPrint lays them out in linear time.

WeasyPrint finds each line break by laying out the whole rest of the text box again, so
a text box with an unbroken run of n characters costs about n * n / (line length): a
40,000-character justification without a space took minutes, and in a narrow table
column such a run has nowhere to wrap but that one costly way. `breakable` puts a `<wbr>`
every RUN characters inside runs without whitespace, which ends the text box there
(bounding every layout) and gives the line a place to break. Text with spaces is left
alone: WeasyPrint already breaks it cheaply. Only break opportunities are added, never
characters: the PDF shows the value whole (a `<wbr>` reads as a zero-width space when
text is copied out of the PDF).
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from compliance.text import visible

RUN = 20
"""Longest piece of an unbroken run; shorter than a table column's line, so a break at a
`<wbr>` never leaves more than one line's worth of text in a box."""

_LONG_RUN = re.compile(rf"\S{{{RUN + 1},}}")
_WBR = Markup("<wbr>")


def breakable(value: object) -> Markup:
    """The value escaped, with `<wbr>` every RUN characters of any longer unbroken run.

    Control and format characters are shown escaped first, as `shown` does for every
    other value: the filter's markup output would otherwise pass `finalize` untouched."""
    text = visible(str(value), keep_newlines=True)
    out: list[Markup] = []
    start = 0
    for match in _LONG_RUN.finditer(text):
        out.append(escape(text[start : match.start()]))
        run = match.group()
        out.append(_WBR.join(escape(run[i : i + RUN]) for i in range(0, len(run), RUN)))
        start = match.end()
    out.append(escape(text[start:]))
    return Markup("").join(out)
