"""The smallest terminal eonay draws in, and the size classes every screen gets.

60×18 is the smallest size at which the PIN screen shows the text box, the
keypad, İMZALA, the certificate and the countdown without cutting any of
them (with the demo banner and a three-line message too). Below it a notice
replaces every screen and no input reaches the screens, so nothing can be
signed on a screen that cannot be seen whole. Between 18 and 23 rows the
screens draw compactly (`-short`); from 24 rows as designed (`-tall`).

The classes are Textual's breakpoints: set on the active screen whenever the
terminal's size changes, and on a screen when it is shown again.
"""

from __future__ import annotations

MIN_WIDTH = 60
MIN_HEIGHT = 18
TALL = 24  # from here on, the roomy layout (margins, the keypad's gaps)

TOO_NARROW = "-too-narrow"
TOO_LOW = "-too-low"

HORIZONTAL_BREAKPOINTS = [(0, TOO_NARROW), (MIN_WIDTH, "-wide-enough")]
VERTICAL_BREAKPOINTS = [(0, TOO_LOW), (MIN_HEIGHT, "-short"), (TALL, "-tall")]


def big_enough(width: int, height: int) -> bool:
    """Whether every screen fits a terminal of this size."""
    return width >= MIN_WIDTH and height >= MIN_HEIGHT
