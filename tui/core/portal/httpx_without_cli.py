"""httpx, imported without its command-line client.

httpx's `__init__` runs `from ._main import main`, and `_main` imports click,
pygments and rich's progress, syntax and table modules whenever they are
installed, which they are next to eonay (uvicorn needs click, rich needs
pygments). The app never runs httpx's command line; loading it cost about
3 MiB resident and 20 ms before the first request. While httpx is imported
here, `httpx._main` is a placeholder without `main`, so httpx takes its own
fallback, exactly as it does when the CLI's extras are not installed.
`from tui.core.portal.httpx_without_cli import httpx` wherever httpx is needed.
"""

from __future__ import annotations

import sys
import types

_placeholder = types.ModuleType("httpx._main")
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", _placeholder)
try:
    import httpx as httpx
finally:
    if sys.modules.get("httpx._main") is _placeholder:
        del sys.modules["httpx._main"]
