"""Client-side routing (DESIGN §3.4): send a request direct, through the gateway, or refuse it.

Decided on the host exactly as the HTTP library will dial it, with no DNS. Direct only for the
gateway itself, ``localhost``, ``[::1]`` and IPv4 literals in 127/8, 10/8, 172.16/12, 192.168/16 —
and, unlike Node, only when the library's host is already written canonically: Python's socket layer
reads ``0x7f.1``, ``127.1`` or ``2130706433`` itself, so those spellings go through the gateway
(the safe direction; fixtures/shared/route-cases.json records each difference).
"""
from __future__ import annotations

import ipaddress
import re
from typing import Iterable, Optional

from .urls import DEFAULT_PORTS, InvalidUrl, canonical_host

DIRECT = "direct"
INSTRUMENT = "instrument"
REFUSE = "refuse"

_DIRECT_NAMES = frozenset({"localhost", "[::1]"})
_DIRECT_V4 = tuple(
    ipaddress.IPv4Network(n) for n in ("127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED_QUAD = re.compile(rf"\A{_OCTET}(?:\.{_OCTET}){{3}}\Z")


def canonical_entry(entry: str) -> str:
    """A configured hostname in canonical form (``LOCALHOST``→``localhost``); junk stays verbatim."""
    text = entry.strip()
    if ":" in text and not text.startswith("["):
        text = f"[{text}]"
    try:
        return canonical_host(text)
    except InvalidUrl:
        return entry


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def classify(
    scheme: str,
    host: str,
    port: Optional[int],
    gateway_authority: str,
    direct_hosts: Iterable[str] = (),
    instrument_hosts: Iterable[str] = (),
) -> str:
    """``direct``, ``instrument`` or ``refuse`` for a hop to ``scheme://host:port``.

    ``host`` is the library's own (IPv6 with or without brackets); ``port`` ``None`` means the
    scheme's default. ``gateway_authority`` is the gateway's canonical ``host[:port]``.
    """
    scheme = scheme.lower()
    if scheme not in DEFAULT_PORTS:
        return REFUSE
    written = _bracketed(host)
    try:
        canonical = canonical_host(written)
    except InvalidUrl:
        return REFUSE
    if port is not None and not 0 <= port <= 65535:
        return REFUSE
    if canonical in {canonical_entry(h) for h in instrument_hosts}:
        return INSTRUMENT
    # Direct only for a host the socket layer will read exactly as we do. IPv6 literals are parsed
    # strictly everywhere, so their canonical form is what gets dialled.
    if not canonical.startswith("[") and written.lower() != canonical:
        return INSTRUMENT
    authority = canonical if port in (None, DEFAULT_PORTS[scheme]) else f"{canonical}:{port}"
    if authority == gateway_authority:
        return DIRECT
    if canonical in _DIRECT_NAMES:
        return DIRECT
    if _DOTTED_QUAD.match(canonical) and any(ipaddress.IPv4Address(canonical) in n for n in _DIRECT_V4):
        return DIRECT
    if canonical in {canonical_entry(h) for h in direct_hosts}:
        return DIRECT
    return INSTRUMENT
