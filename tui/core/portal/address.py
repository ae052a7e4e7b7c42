"""The rule for the portal's address, without httpx: checked at start-up and by the client.

One rule, in one place: https:// with a host name; plain http:// only to this
computer (a loopback address), where there is no network to read it; no user
name or password in it (it would travel in every request); no query or
fragment (the API's paths are added to it).
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from urllib.parse import urlsplit


class AddressProblem(StrEnum):
    NOT_A_URL = "not_a_url"
    SCHEME_OR_HOST = "scheme_or_host"
    USERINFO = "userinfo"
    QUERY_OR_FRAGMENT = "query_or_fragment"
    PLAIN_HTTP = "plain_http"  # http:// to another computer


def is_loopback(host: str) -> bool:
    """`localhost`, 127.0.0.0/8 or ::1: plain http there never crosses a network."""
    host = host.strip("[]")
    if host.rstrip(".").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def address_problem(url: str) -> AddressProblem | None:
    """What is wrong with `url` as the portal's base address, or None."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        return AddressProblem.NOT_A_URL
    if parts.scheme not in ("https", "http") or not host:
        return AddressProblem.SCHEME_OR_HOST
    if parts.username is not None or parts.password is not None:
        return AddressProblem.USERINFO
    if parts.query or parts.fragment:
        return AddressProblem.QUERY_OR_FRAGMENT
    if parts.scheme == "http" and not is_loopback(host):
        return AddressProblem.PLAIN_HTTP
    return None
