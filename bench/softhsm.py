"""A throwaway SoftHSM2 configuration: every benchmark gets its own token directory."""

from __future__ import annotations

import os
from pathlib import Path

MODULE = "/usr/lib/softhsm/libsofthsm2.so"


def softhsm_conf(workdir: Path) -> Path:
    """Write a SoftHSM2 config whose tokens live under `workdir`; return its path."""
    tokens = workdir / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    conf = workdir / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    return conf


class SoftHsmEnv:
    """Point this process at a private SoftHSM2 config while inside the block.

    PyKCS11 reads SOFTHSM2_CONF when the module is loaded, so each figure that
    loads the module in-process does so inside its own block.
    """

    def __init__(self, conf: Path) -> None:
        self.conf = conf
        self._old: str | None = None

    def __enter__(self) -> Path:
        self._old = os.environ.get("SOFTHSM2_CONF")
        os.environ["SOFTHSM2_CONF"] = str(self.conf)
        return self.conf

    def __exit__(self, *exc: object) -> None:
        if self._old is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = self._old
