"""The log file: where it is, that it rotates, and that secrets never reach it."""

from __future__ import annotations

import logging
import logging.handlers
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.core.settings import Settings
from tui.core.setup.logs import BACKUPS, LOG_NAME, RedactingFilter, redact, setup_logging


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("pin=123456", "123456"),
        ("user_pin: 482913", "482913"),
        ('{"pin": "482913", "slot": 1}', "482913"),
        ("PIN 482913 entered", "482913"),
        ("PIN code 482913", "482913"),
        ("so-pin=99887766", "99887766"),
        ("puk:55443322", "55443322"),
        ("pin=bytearray(b'482913')", "482913"),
        ("got bytearray(b'482913') from the field", "482913"),
        ('pin = "48 29 13"', "48 29"),
        ("password=hunter2", "hunter2"),
        ("Authorization: Bearer eyJhbGciOi.abc.def", "eyJhbGciOi"),
        ("headers={'authorization': 'Bearer s3cr3t-session'}", "s3cr3t-session"),
        ("Proxy-Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        ('{"status": "accepted", "session": "opaque-token-123"}', "opaque-token-123"),
        ("session_token=abc123&next=1", "abc123"),
        ("Cookie: sid=abcdef; theme=dark", "sid=abcdef"),
        ("sending bearer abc.def.ghi upstream", "abc.def.ghi"),
        ("holder serial 12345678950", "345678"),
    ],
)
def test_redact_removes_the_secret(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out
    assert out != text


@pytest.mark.parametrize(
    "text",
    [
        "spinner=3 pinned=yes",
        "token=AKIS Kart 1 slot=0",
        "GET /api/v1/challenges/4958677946373 200",  # 13 digits: not a code
        "Pin(<6 digits hidden>)",
        "loaded /usr/lib/libakisp11.so in 0.2 s",
    ],
)
def test_redact_leaves_ordinary_text_alone(text: str) -> None:
    assert redact(text) == text


def test_redact_keeps_the_shape() -> None:
    assert redact('{"pin": "1234", "x": 1}') == '{"pin": "***", "x": 1}'
    assert redact("Authorization: Bearer abc") == "Authorization: ***"
    assert redact("holder 12345678950") == "holder 12*******50"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "GET /api/v1/challenges/49586779463734 -> 200 (310 bytes, 0.01 s)",
            "GET /api/v1/challenges/**********3734 -> 200 (310 bytes, 0.01 s)",
        ),
        (
            'HTTP Request: GET http://127.0.0.1:8080/api/v1/challenges/49586779463734?x=1 "200"',
            'HTTP Request: GET http://127.0.0.1:8080/api/v1/challenges/**********3734?x=1 "200"',
        ),
        (
            "POST /api/v1/challenges/00000000001234/signature failed after 3 tries",
            "POST /api/v1/challenges/**********1234/signature failed after 3 tries",
        ),
        ('{"code": "49586779463734"}', '{"code": "**********3734"}'),
        ("code=49586779463734&next=1", "code=**********3734&next=1"),
        # The T.C. kimlik number beside it keeps its own mask.
        (
            "holder 12345678950 code 49586779463734",
            "holder 12*******50 code **********3734",
        ),
    ],
)
def test_redact_masks_the_verification_code_but_its_last_4_digits(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("token=abc cms: MIIB", "token=*** cms: ***"),
        ('{"token": "abc"}', '{"token": ***}'),
        ("error 1234 at 99", "error <digits> at 99"),
        ("pin=1234 took 2500 ms", "pin=*** took <digits> ms"),
        ("code 1234 5678 9012 34, no 123-456-789-01", "code <digits>, no <digits>"),
    ],
)
def test_strict_mode_adds_the_unexpected_errors_rules(text: str, expected: str) -> None:
    """One redactor: strict mode is its every rule, then no token or cms field, no digit run."""
    assert redact(text, strict=True) == expected
    assert redact(text) != expected  # the log's own mode keeps what strict mode removes


def test_strict_mode_keeps_short_numbers_and_versions() -> None:
    text = "HTTP 401 in 12 s, PyKCS11 1.5.20, 80x24"
    assert redact(text, strict=True) == text


@pytest.mark.parametrize("digits", [13, 15, 20])
def test_redact_masks_only_14_digit_runs_as_codes(digits: int) -> None:
    run = "7" * digits
    assert redact(f"id {run} end") == f"id {run} end"
    assert redact("id " + "7" * 14 + " end") == "id **********7777 end"


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    log = logging.getLogger("eonay-test-logs")
    log.propagate = False
    yield log
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()


def test_the_log_file_is_private_in_the_xdg_state_dir(
    tmp_path: Path, logger: logging.Logger
) -> None:
    env = {"HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state")}
    path = setup_logging(Settings(log_level="INFO"), env, logger)
    assert path == tmp_path / "state" / "eonay" / LOG_NAME
    logger.info("started")
    logger.debug("not at INFO")
    text = path.read_text()
    assert "started" in text and "not at INFO" not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_configured_file_and_level(tmp_path: Path, logger: logging.Logger) -> None:
    target = tmp_path / "logs" / "app.log"
    path = setup_logging(Settings(log_level="DEBUG", log_file=target), {}, logger)
    assert path == target
    logger.debug("debug line")
    assert "debug line" in target.read_text()
    # running it again replaces the handler instead of writing every line twice
    setup_logging(Settings(log_level="DEBUG", log_file=target), {}, logger)
    logger.debug("once")
    assert target.read_text().count("once") == 1


def test_secrets_are_redacted_in_messages_args_and_tracebacks(
    tmp_path: Path, logger: logging.Logger
) -> None:
    path = setup_logging(Settings(log_level="DEBUG", log_file=tmp_path / "x.log"), {}, logger)
    logger.info("login with pin=%s", "482913")
    logger.info("headers %r", {"Authorization": "Bearer tok-777"})
    try:
        raise RuntimeError('portal said {"session": "sess-999"}')
    except RuntimeError:
        logger.exception("submit failed")
    logger.info("stack", stack_info=True, extra={})
    text = path.read_text()
    for secret in ("482913", "tok-777", "sess-999"):
        assert secret not in text
    assert "submit failed" in text and "RuntimeError" in text and "Traceback" in text


def test_the_filter_redacts_for_every_handler_after_it() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "pin=%s", ("1234",), None)
    assert RedactingFilter().filter(record) is True
    assert record.getMessage() == "pin=***"


def test_the_file_rotates(tmp_path: Path, logger: logging.Logger) -> None:
    target = tmp_path / "r.log"
    setup_logging(Settings(log_level="INFO", log_file=target), {}, logger)
    handler = logger.handlers[0]
    assert isinstance(handler, logging.handlers.RotatingFileHandler)
    handler.maxBytes = 2000  # rotate sooner than the real 1 MB
    for i in range(400):
        logger.info("line %d %s", i, "x" * 40)
    backups = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("r.log."))
    assert backups == [f"r.log.{n}" for n in range(1, BACKUPS + 1)]
    assert target.stat().st_size <= 2000
    assert "line 399" in target.read_text()
