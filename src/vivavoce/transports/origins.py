"""Which web pages may open sessions, checked on every way in before a session exists.

Browsers let any site open a WebSocket, or POST, to 127.0.0.1, and say in `Origin` which
page asks. Allowed, as local model servers do it: no `Origin` (not a browser: SDKs,
backends, curl), the server's own origin, and origins listed with `--allowed-origin`;
anything else is refused with 403, in every mode, key or no key. Both checks take a
request's headers (a case-insensitive mapping such as Starlette's `Headers`) and the
settings, so every transport (the Realtime WebSocket, WebRTC calls) calls the same one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from urllib.parse import urlsplit

from vivavoce.protocol.problems import shown
from vivavoce.settings import Settings

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def _loopback(host: str | None) -> bool:
    if host is None:
        return False
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_own_origin(origin: str, headers: Mapping[str, str], settings: Settings) -> bool:
    """Whether `origin` is this server's: a page it served asks from the very scheme, host
    and port the request went to."""
    parts = urlsplit(origin)
    host = headers.get("host")
    if parts.scheme not in ("http", "https") or not parts.netloc or host is None:
        return False
    if parts.netloc.lower() != host.lower():
        return False
    # DNS rebinding: a foreign name that resolves to this machine makes Origin and Host
    # agree. A server listening on loopback only answers to loopback names.
    return _loopback(parts.hostname) or not _loopback(settings.host)


def origin_refusal(headers: Mapping[str, str], settings: Settings) -> str | None:
    """Why a browser page may not open a session here (None: it may)."""
    origin = headers.get("origin")
    allowed = settings.allowed_origin_list
    if origin is None or origin in allowed or "*" in allowed:
        return None
    if is_own_origin(origin, headers, settings):
        return None
    return (f"Pages from {shown(origin)} may not use this server (allow an origin with "
            "--allowed-origin).")


def same_origin_refusal(headers: Mapping[str, str], settings: Settings) -> str | None:
    """Why a request is not the server's own page asking (None: it is). A browser says so
    with `Sec-Fetch-Site: same-origin` or a matching `Origin`; a request with neither
    is no page of this server's, whoever sends it."""
    origin = headers.get("origin")
    if origin is not None:
        return None if is_own_origin(origin, headers, settings) else \
            "Only this server's own web page may ask for a session here."
    if headers.get("sec-fetch-site") == "same-origin":
        return None
    return ("Only this server's own web page may ask for a session here (a same-origin "
            "browser request).")
