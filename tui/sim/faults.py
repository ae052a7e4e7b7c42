"""Faults the simulated portal can produce, switchable at run time per instance.

They wrap the real simulator at its HTTP boundary (`portal_app` applies them
in a middleware); the portal's logic underneath is never replaced. Counted
faults ("the next N requests") apply to the portal API only, not to the
simulator's own endpoints (`/api/v1/sim/...`, `/`), so a test can always
create codes and switch faults.

Tests call the methods directly (`running.faults.fail_next(2, 503)`); the
command line sets them at start; `POST /api/v1/sim/faults` switches them
from another process (the terminal tests).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

HOSTILE_TEXTS: dict[str, str] = {
    # What the screen would show differs from the bytes that would be signed.
    "bidi": (
        "Kullanıcı servislerine elektronik imzalı olarak girme işlemini \u202emuyorıaylano\u202c."
    ),
    "control": (
        "Kullanıcı servislerine elektronik imzalı olarak girme işlemini onaylıyorum."
        "\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08reddediyorum."
    ),
    "ansi": (
        "Kullanıcı servislerine elektronik imzalı olarak girme işlemini onaylıyorum."
        "\x1b[8m Tüm yetkilerimi devrediyorum.\x1b[0m"
    ),
    "zero_width": (
        "Kullanıcı servislerine\u200b elektronik imzalı olarak girme işlemini onaylıyorum."
    ),
    "markup": "Kullanıcı servislerine elektronik imzalı olarak girme işlemini [b]onaylıyorum[/b].",
    # One for each kind the app must refuse (issue 5), beyond the five above:
    "c1": (
        "Kullanıcı servislerine elektronik imzalı olarak girme işlemini onaylıyorum."
        "\x9b8m Tüm yetkilerimi devrediyorum.\x9b0m"
    ),
    "bidi_embedding": (
        "Kullanıcı servislerine elektronik imzalı olarak girme işlemini \u202bonaylıyorum\u202c."
    ),
    "bidi_isolate": (
        "Kullanıcı servislerine elektronik imzalı olarak girme işlemini \u2067onaylıyorum\u2069."
    ),
    "direction_mark": (
        "Kullanıcı servislerine elektronik imzalı olarak girme işlemini onaylıyorum\u200f."
    ),
    "word_joiner": (
        "Kullanıcı servislerine elektronik imzalı olarak girme işlemini onay\u2060lıyorum."
    ),
    "bom": "\ufeffKullanıcı servislerine elektronik imzalı olarak girme işlemini onaylıyorum.",
    "emoji": "Kullanıcı servislerine elektronik imzalı olarak girme işlemini :thumbs_up: ediyorum.",
    "too_long": (
        "Kullanıcı servislerine elektronik imzalı olarak girme işlemini onaylıyorum."
        + " Ek madde: tüm yetkilerimi devrediyorum." * 60
    ),
    # One for each class of the rule of issue 11 (tui.core.text), beyond those above.
    # Textual draws U+3164 in 0 cells, tmux and glibc in 2: the clause is pushed out of sight.
    "hangul_filler": (
        "Kullanıcı servislerine elektronik imzalı olarak girme işlemini onaylıyorum.\n"
        + "\u3164" * 40
        + "\nDEĞİL. Tüm yetkilerimi devrediyorum."
    ),
    "grapheme_joiner": (
        "Kullanıcı servislerine elektronik imzalı olarak girme işlemini onay\u034flıyorum."
    ),
    "variation_selector": (
        "Kullanıcı servislerine elektronik imzalı olarak girme işlemini onaylıyorum\ufe0f."
    ),
    "mongolian_selector": (
        "Kullanıcı servislerine elektronik\u180b imzalı olarak girme işlemini onaylıyorum."
    ),
    "khmer_vowel": (
        "Kullanıcı servislerine elektronik imzalı olarak girme\u17b4 işlemini onaylıyorum."
    ),
    "cyrillic_lookalike": (
        "Kullanıcı servislerine elektronik imzalı olarak girme işlemini \u043enaylıyorum."
    ),
    "greek_lookalike": (
        "Kullanıcı servislerine elektronik imzalı olarak girme işlemini onaylıy\u03bfrum."
    ),
    "nfd": ("Kullanıcı servislerine elektronik imzalı olarak girme is\u0327lemini onaylıyorum."),
    "combining_mark": (
        "Kullanıcı servislerine elektronik imzalı olarak girme işlemini onaylı\u0307yorum."
    ),
    "private_use": (
        "Kullanıcı servislerine elektronik imzalı olarak girme işlemini onaylıyorum.\ue000"
    ),
    "unassigned": (
        "Kullanıcı servislerine elektronik imzalı olarak girme işlemini onaylıyorum.\u0378"
    ),
    "disputed_width": (
        "Kullanıcı servislerine elektronik imzalı olarak girme işlemini onaylıyorum \U0001f1f9."
    ),
    "ambiguous_width": (
        "Kullanıcı servislerine elektronik imzalı olarak girme işlemini onaylıyorum \u2605."
    ),
    "line_separator": (
        "Kullanıcı servislerine elektronik imzalı olarak girme işlemini onaylıyorum."
        "\u2028Tüm yetkilerimi devrediyorum."
    ),
    "no_break_space": (
        "Kullanıcı servislerine elektronik imzalı\u00a0olarak girme işlemini onaylıyorum."
    ),
    "space_run": (
        "Kullanıcı servislerine elektronik imzalı olarak girme işlemini onaylıyorum."
        + " " * 300
        + "Tüm yetkilerimi devrediyorum."
    ),
    "blank_lines": (
        "Kullanıcı servislerine elektronik imzalı olarak girme işlemini onaylıyorum."
        + "\n" * 40
        + "Tüm yetkilerimi devrediyorum."
    ),
}
"""Challenge texts with control, bidi, zero-width or markup characters, or too long, by name."""

FAIL_STATUSES = (500, 502, 503, 504)


class Abortable(Protocol):
    def abort(self) -> None: ...


class ConnectionRegistry:
    """Open connections by client address, so a fault can cut one without answering.

    The server's HTTP protocol registers each connection's transport here
    (see `tui.sim.server`); ASGI itself offers no way to drop a connection.
    """

    def __init__(self) -> None:
        self._by_client: dict[tuple[str, int], Abortable] = {}
        self._lock = threading.Lock()

    def add(self, client: tuple[str, int], transport: Abortable) -> None:
        with self._lock:
            self._by_client[client] = transport

    def discard(self, client: tuple[str, int], transport: Abortable) -> None:
        with self._lock:
            if self._by_client.get(client) is transport:
                del self._by_client[client]

    def get(self, client: tuple[str, int]) -> Abortable | None:
        with self._lock:
            return self._by_client.get(client)


@dataclass
class Faults:
    """The fault switches of one simulator instance. Thread-safe."""

    latency: float = 0.0
    """Seconds added before every portal API answer."""
    hostile_text: str | None = None
    """A key of HOSTILE_TEXTS: every new challenge gets that text instead of the usual one."""
    fail_status: int = 500
    fail_count: int = 0
    drop_count: int = 0
    malformed_count: int = 0
    wrong_type_count: int = 0
    oversized_count: int = 0
    oversized_chunked: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    # --- switching ----------------------------------------------------------

    def fail_next(self, n: int, status: int = 500) -> None:
        """Answer the next `n` API requests with `status` (a 5xx) and a server_error body."""
        if status not in FAIL_STATUSES:
            raise ValueError(f"fail status must be one of {FAIL_STATUSES}")
        with self._lock:
            self.fail_count, self.fail_status = n, status

    def drop_next_signature(self, n: int = 1) -> None:
        """Process the next `n` signature POSTs fully, then cut the connection unanswered."""
        with self._lock:
            self.drop_count = n

    def malformed_json_next(self, n: int = 1) -> None:
        """Cut the JSON of the next `n` API answers in half (Content-Type still JSON)."""
        with self._lock:
            self.malformed_count = n

    def wrong_content_type_next(self, n: int = 1) -> None:
        """Answer the next `n` API requests with an HTML page as text/html, status 200."""
        with self._lock:
            self.wrong_type_count = n

    def oversized_next(self, n: int = 1, *, chunked: bool = False) -> None:
        """Pad the next `n` API answers past 64 KiB (still valid JSON), optionally chunked."""
        with self._lock:
            self.oversized_count, self.oversized_chunked = n, chunked

    def set_hostile_text(self, kind: str | None) -> None:
        if kind is not None and kind not in HOSTILE_TEXTS:
            raise ValueError(f"hostile text must be one of {', '.join(HOSTILE_TEXTS)}")
        with self._lock:
            self.hostile_text = kind

    def reset(self) -> None:
        with self._lock:
            self.latency = 0.0
            self.hostile_text = None
            self.fail_status = 500
            self.fail_count = self.drop_count = self.malformed_count = 0
            self.wrong_type_count = self.oversized_count = 0
            self.oversized_chunked = False

    def update(self, settings: dict[str, Any]) -> None:
        """Apply a JSON object of `POST /api/v1/sim/faults` (keys as in `snapshot`)."""
        if settings.get("reset"):
            self.reset()
        if "latency" in settings:
            latency = float(settings["latency"])
            if not 0 <= latency <= 600:
                raise ValueError("latency must be between 0 and 600 seconds")
            with self._lock:
                self.latency = latency
        if "fail_next" in settings:
            self.fail_next(int(settings["fail_next"]), int(settings.get("fail_status", 500)))
        if "drop_next_signature" in settings:
            self.drop_next_signature(int(settings["drop_next_signature"]))
        if "malformed_json" in settings:
            self.malformed_json_next(int(settings["malformed_json"]))
        if "wrong_content_type" in settings:
            self.wrong_content_type_next(int(settings["wrong_content_type"]))
        if "oversized" in settings:
            self.oversized_next(
                int(settings["oversized"]), chunked=bool(settings.get("oversized_chunked", False))
            )
        if "hostile_text" in settings:
            value = settings["hostile_text"]
            self.set_hostile_text(None if value is None else str(value))

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "latency": self.latency,
                "hostile_text": self.hostile_text,
                "fail_next": self.fail_count,
                "fail_status": self.fail_status,
                "drop_next_signature": self.drop_count,
                "malformed_json": self.malformed_count,
                "wrong_content_type": self.wrong_type_count,
                "oversized": self.oversized_count,
                "oversized_chunked": self.oversized_chunked,
            }

    # --- taking, one request at a time -------------------------------------

    def text_for(self, default: str | None = None) -> str | None:
        """The challenge text to use: the hostile one when switched on, else `default`."""
        with self._lock:
            return HOSTILE_TEXTS[self.hostile_text] if self.hostile_text else default

    def take_failure(self) -> int | None:
        with self._lock:
            if self.fail_count <= 0:
                return None
            self.fail_count -= 1
            return self.fail_status

    def take_drop(self) -> bool:
        with self._lock:
            if self.drop_count <= 0:
                return False
            self.drop_count -= 1
            return True

    def take_transform(self) -> str | None:
        """Which answer transform applies to this request, if any (one at a time)."""
        with self._lock:
            for name in ("malformed_count", "wrong_type_count", "oversized_count"):
                if getattr(self, name) > 0:
                    setattr(self, name, getattr(self, name) - 1)
                    return name.removesuffix("_count")
            return None
