"""What to check when no card is seen: shared by the app's screen and plain mode."""

from __future__ import annotations

from tui.i18n import _


def no_card_hints(module_paths: list[str]) -> str:
    """What to check when no card is seen; names the driver files in use."""
    modules = ", ".join(module_paths) if module_paths else _("none configured")
    return "\n".join(
        [
            "• " + _("Is the card reader plugged in, with the card fully inserted?"),
            "• "
            + _("Is the card's driver installed? Driver (PKCS#11 module) in use: {modules}").format(
                modules=modules
            ),
            "• " + _("Close other programs that may hold the card (for example DYS)."),
            "• " + _("`eonay doctor` checks the reader, driver and card step by step."),
        ]
    )
