"""What a Textual app shows, as plain text lines, read through public API only.

`App.export_screenshot()` is Textual's public view of the screen as drawn. Its
SVG (Rich's `export_svg`) places each run of text on its line (clip path
`…-line-N`) at its first cell (x = column × cell width, the cell width being
the line's clip width over the screen's width). Rebuilding the cells from
that gives the screen's text without reading Textual's compositor.
"""

from __future__ import annotations

import contextvars
import html
import re
from typing import Any

from rich.cells import cell_len

_LINE_CLIP = re.compile(r'<clipPath id="[\w-]+-line-0">\s*<rect [^>]*?width="([0-9.e+-]+)"')
_TEXT = re.compile(
    r'<text [^>]*?x="([0-9.e+-]+)"[^>]*?clip-path="url\(#[\w-]+-line-(\d+)\)"[^>]*>(.*?)</text>',
    re.S,
)


def screen_text(app: Any) -> str:
    """The screen as lines of text, trailing spaces trimmed."""
    width, height = app.size
    # Rendering sets Textual's context variables (the visible screen stack) in the
    # caller's context; a copy keeps the test's own context from holding screens.
    svg = contextvars.copy_context().run(app.export_screenshot)
    clip = _LINE_CLIP.search(svg)
    assert clip, "no line clip in the screenshot"
    cell = float(clip.group(1)) / width
    rows: list[list[str]] = [[" "] * width for _ in range(height)]
    for x, line, content in _TEXT.findall(svg):
        row = int(line)
        if row >= height:
            continue
        col = round(float(x) / cell)
        for ch in html.unescape(content).replace("\xa0", " "):
            if col >= width:
                break
            rows[row][col] = ch
            cells = cell_len(ch)
            for extra in range(1, cells):  # a wide character covers the next cell too
                if col + extra < width:
                    rows[row][col + extra] = ""
            col += max(cells, 1)
    return "\n".join("".join(row).rstrip() for row in rows)
