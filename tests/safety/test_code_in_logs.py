"""The verification code in the log: masked to its last 4 digits, in URLs too.

A code opens the holder's login until it is used or runs out; a DEBUG log is
what people attach to bug reports. The real app, card and simulator, the
app's own log set-up (`tui.core.setup.logs`) at DEBUG, as `eonay` runs it.
"""

from __future__ import annotations

import pytest

from tests.safety import drive
from tests.safety.conftest import HOLDER
from tui.core.settings import Settings
from tui.core.setup.logs import redact

pytestmark = pytest.mark.softhsm


async def test_the_code_is_masked_to_its_last_4_digits_in_a_debug_log(rig, softhsm_card, debug_log):
    log_file, raw_records = debug_log
    r = rig(Settings(language="en", log_level="DEBUG"))
    code = r.sim.new_login().code
    async with r.app.run_test(size=(80, 24)) as pilot:
        await drive.whole_flow(pilot, code, HOLDER, softhsm_card.pin)
        await pilot.press("enter")  # Finish

    # The code did reach the loggers, in the URLs of the client and of httpx:
    # what follows is the redactor's doing, not the absence of lines about it.
    assert any(f"challenges/{code}" in record for record in raw_records)
    log_text = log_file.read_text(encoding="utf-8")
    assert code not in log_text
    masked = "*" * 10 + code[-4:]
    assert f"/api/v1/challenges/{masked} -> 200" in log_text  # the client's own line
    assert f"/api/v1/challenges/{masked}/signature" in log_text
    assert code[:10] not in log_text


def test_an_unexpected_errors_message_goes_through_the_same_redactor_first():
    """`tui.errorlog` runs the log's one redactor in strict mode: its rules, then no digits at all.

    Checked on `redact` itself: in the file, the handler's filter would hide a gap.
    """
    code = "49586779463734"
    message = f"GET /api/v1/challenges/{code}?x=1 password=hunter2 Cookie: sid=abc"
    text = redact(message, strict=True)
    assert code not in text and code[:10] not in text and code[-4:] not in text
    assert "hunter2" not in text and "sid=abc" not in text
    assert text.startswith("GET /api/v1/challenges/")
