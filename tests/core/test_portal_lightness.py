"""What the portal client does not load: httpx's command line, a CA bundle for plain http."""

from __future__ import annotations

import ssl
import subprocess
import sys

from tui.core.portal.client import _tls_context


def test_the_portal_client_imports_httpx_without_its_command_line():
    code = (
        "import sys\n"
        "from tui.core.portal.client import PortalClient\n"
        "import httpx\n"
        "assert callable(httpx.main) and httpx.Client\n"
        "print(sorted(m for m in ('click', 'pygments', 'rich.progress', 'httpx._main')"
        " if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_plain_http_gets_a_context_that_trusts_nothing():
    """No CA bundle is read for http://; should TLS ever happen, it fails closed."""
    context = _tls_context(None, "http")
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 0
    assert _tls_context(None, "https") is True  # https keeps httpx's verified default
