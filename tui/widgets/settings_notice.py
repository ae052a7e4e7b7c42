"""On the first screen: settings that cannot work, before anyone types a code."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual.content import Content
from textual.widgets import Static

from tui.i18n import _

if TYPE_CHECKING:
    from tui.core.setup.settings_check import SettingProblem


class SettingsNotice(Static):
    """What is wrong and what to do, for each problem; shown only when there are any."""

    def __init__(self, problems: Sequence[SettingProblem]) -> None:
        lines = [_("eonay cannot work with these settings; no code will be looked up:")]
        for problem in problems:
            lines.append(problem.problem)
            lines.append("→ " + problem.fix)
        # Paths and addresses come from the command line and files: never read as markup.
        super().__init__(Content("\n".join(lines)), id="settings-notice")
