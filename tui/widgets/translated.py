"""Binding descriptions in the current language.

Textual reads `BINDINGS` once per class, at import, before the language is
chosen; so BINDINGS hold msgids (marked with `N_`) and each node translates
its own copy when it is created.
"""

from __future__ import annotations

from dataclasses import replace

from textual.binding import BindingsMap
from textual.dom import DOMNode

from tui.i18n import _


def translate_bindings(node: DOMNode) -> None:
    translated = BindingsMap()
    for bindings in node._bindings.key_to_bindings.values():
        for binding in bindings:
            translated._add_binding(
                replace(
                    binding,
                    description=_(binding.description) if binding.description else "",
                    tooltip=_(binding.tooltip) if binding.tooltip else "",
                )
            )
    node._bindings = translated
