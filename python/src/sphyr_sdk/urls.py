"""WHATWG URL canonicalisation for http(s), enough to give the gateway the target it requires.

The gateway accepts a ``sphyr-target-uri`` only in the form Node's ``new URL(x).href`` prints
(DESIGN §3.2). Python has no WHATWG parser, so this is one for the two special schemes we send:
scheme, credentials, host (domain, IPv4 in every WHATWG spelling, IPv6), port, path (dot segments,
backslashes, percent-encoding) and query. fixtures/shared/target-canonical.json holds the cases both
test suites check, Node's parser being the reference.
"""
from __future__ import annotations

import importlib
import ipaddress
import re
from typing import Any, List, NamedTuple, Optional
from urllib.parse import unquote_to_bytes

from .errors import SphyrPolicyError

DEFAULT_PORTS = {"http": 80, "https": 443}

_SCHEME = re.compile(r"\A([A-Za-z][A-Za-z0-9+.\-]*):")
_LEADING_TRAILING = "".join(chr(i) for i in range(0x21))
_TAB_NEWLINE = re.compile(r"[\t\n\r]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_FORBIDDEN_DOMAIN = re.compile(r"[\x00-\x20#%/:<>?@\[\\\]^|\x7f]")
_DECIMAL = re.compile(r"\A[0-9]+\Z")
_HEX_PART = re.compile(r"\A0[xX][0-9A-Fa-f]*\Z")

# Percent-encode sets (WHATWG URL §1.3), as the characters added to the C0-control set.
_QUERY_SET = frozenset(' "#<>')
_SPECIAL_QUERY_SET = _QUERY_SET | frozenset("'")
_PATH_SET = _QUERY_SET | frozenset("?`{}")
_USERINFO_SET = _PATH_SET | frozenset("/:;=@[\\]^|")


class InvalidUrl(ValueError):
    """The text is not a URL WHATWG would accept."""


class ParsedUrl(NamedTuple):
    scheme: str
    username: str
    password: str
    #: Serialised host: lowercase ASCII domain, dotted-quad IPv4, or ``[ipv6]``.
    host: str
    port: Optional[int]
    path: str
    #: Without the ``?``; ``None`` when the URL has no query at all.
    query: Optional[str]

    @property
    def authority(self) -> str:
        """``host[:port]`` with the default port left out: what ``Host`` and ``@authority`` carry."""
        return self.host if self.port is None else f"{self.host}:{self.port}"

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.authority}"

    def href(self, credentials: bool = True) -> str:
        userinfo = ""
        if credentials and (self.username or self.password):
            userinfo = self.username + (":" + self.password if self.password else "") + "@"
        query = "" if self.query is None else "?" + self.query
        return f"{self.scheme}://{userinfo}{self.authority}{self.path}{query}"


def _encode(text: str, extra: frozenset[str]) -> str:
    out: List[str] = []
    for ch in _SURROGATE.sub("\ufffd", text):
        code = ord(ch)
        if code < 0x20 or code > 0x7E or ch in extra:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8"))
        else:
            out.append(ch)
    return "".join(out)


def _ipv4_number(part: str) -> int:
    if part == "":
        raise InvalidUrl("empty IPv4 part")
    radix = 10
    if part[:2] in ("0x", "0X"):
        radix, part = 16, part[2:]
    elif len(part) > 1 and part[0] == "0":
        radix, part = 8, part[1:]
    if part == "":
        return 0
    allowed = {10: "0123456789", 8: "01234567", 16: "0123456789abcdefABCDEF"}[radix]
    if any(c not in allowed for c in part):
        raise InvalidUrl("not an IPv4 number")
    return int(part, radix)


def _ends_in_number(host: str) -> bool:
    parts = host.split(".")
    if parts[-1] == "":
        if len(parts) == 1:
            return False
        parts.pop()
    last = parts[-1]
    return bool(_DECIMAL.match(last) or _HEX_PART.match(last))


def _ipv4(host: str) -> str:
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    if len(parts) > 4:
        raise InvalidUrl("too many IPv4 parts")
    numbers = [_ipv4_number(p) for p in parts]
    if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise InvalidUrl("IPv4 part out of range")
    value = numbers[-1]
    for i, n in enumerate(numbers[:-1]):
        value += n * 256 ** (3 - i)
    return ".".join(str((value >> shift) & 0xFF) for shift in (24, 16, 8, 0))


def _ipv6(text: str) -> str:
    """WHATWG's IPv6 serialisation: lowercase hex pieces, the first longest zero run (≥ 2) as ``::``.

    Written out by hand: ``ipaddress`` prints IPv4-mapped addresses in dotted form on Python 3.13.
    """
    if "%" in text:
        raise InvalidUrl("zone identifiers are not allowed")
    try:
        packed = ipaddress.IPv6Address(text).packed
    except ValueError:
        raise InvalidUrl("not an IPv6 address") from None
    pieces = [packed[i] << 8 | packed[i + 1] for i in range(0, 16, 2)]
    best_start, best_len, i = -1, 1, 0
    while i < 8:
        if pieces[i] == 0:
            j = i
            while j < 8 and pieces[j] == 0:
                j += 1
            if j - i > best_len:
                best_start, best_len = i, j - i
            i = j
        else:
            i += 1
    if best_start < 0:
        return ":".join(f"{p:x}" for p in pieces)
    head = ":".join(f"{p:x}" for p in pieces[:best_start])
    tail = ":".join(f"{p:x}" for p in pieces[best_start + best_len:])
    return f"{head}::{tail}"


def _domain_to_ascii(domain: str) -> str:
    if domain.isascii():
        result = domain.lower()
    else:
        result = _idna(domain)
    for label in result.split("."):
        if label.startswith("xn--"):
            try:
                decoded = label[4:].encode("ascii").decode("punycode")
            except (UnicodeError, ValueError):
                raise InvalidUrl("invalid punycode label") from None
            if decoded == "" or decoded.isascii():
                raise InvalidUrl("invalid punycode label")
    if result == "":
        raise InvalidUrl("empty host")
    return result


def _idna(domain: str) -> str:
    """UTS 46 (non-transitional) when the ``idna`` package is there, as WHATWG does; else IDNA 2003."""
    idna: Any = None
    try:
        idna = importlib.import_module("idna")
    except ImportError:  # pragma: no cover - idna comes with requests and httpx
        pass
    try:
        if idna is not None:
            encoded: bytes = idna.encode(domain, uts46=True, transitional=False)
            return encoded.decode("ascii").lower()
        return domain.encode("idna").decode("ascii").lower()
    except Exception:  # idna raises its own error classes
        raise InvalidUrl("the host cannot be converted to ASCII") from None


def canonical_host(text: str) -> str:
    """The WHATWG serialisation of a host as it appears in a URL (``[...]`` around IPv6)."""
    if text.startswith("["):
        if not text.endswith("]"):
            raise InvalidUrl("unclosed IPv6 address")
        return "[" + _ipv6(text[1:-1]) + "]"
    if text == "":
        raise InvalidUrl("empty host")
    decoded = unquote_to_bytes(text).decode("utf-8", "replace")
    ascii_host = _domain_to_ascii(decoded)
    if _FORBIDDEN_DOMAIN.search(ascii_host):
        raise InvalidUrl("forbidden character in host")
    if _ends_in_number(ascii_host):
        return _ipv4(ascii_host)
    return ascii_host


def _path(text: str) -> str:
    """The path state for special URLs: ``\\`` separates too, ``.``/``..`` (also ``%2e``) resolve."""
    if text == "":
        return "/"
    segments: List[str] = []
    parts = re.split(r"[/\\]", text[1:])
    for i, raw in enumerate(parts):
        last = i == len(parts) - 1
        segment = _encode(raw, _PATH_SET)
        lowered = segment.lower()
        if lowered in ("..", ".%2e", "%2e.", "%2e%2e"):
            if segments:
                segments.pop()
            if last:
                segments.append("")
        elif lowered in (".", "%2e"):
            if last:
                segments.append("")
        else:
            segments.append(segment)
    return "/" + "/".join(segments)


def parse_url(text: str) -> ParsedUrl:
    """Parse an absolute http(s) URL the way WHATWG does; raises ``InvalidUrl`` (a ``ValueError``).

    A scheme other than http/https raises ``InvalidUrl`` with ``args[1] == "scheme"``.
    """
    s = _TAB_NEWLINE.sub("", text.strip(_LEADING_TRAILING))
    match = _SCHEME.match(s)
    if not match:
        raise InvalidUrl("no scheme")
    scheme = match.group(1).lower()
    if scheme not in DEFAULT_PORTS:
        raise InvalidUrl(f"only http and https are allowed, not {scheme}:", "scheme")
    rest = s[match.end():].lstrip("/\\")
    end = len(rest)
    for sep in "/\\?#":
        found = rest.find(sep)
        if found != -1:
            end = min(end, found)
    authority, rest = rest[:end], rest[end:]
    username = password = ""
    at = authority.rfind("@")
    if at != -1:
        user, _, pw = authority[:at].partition(":")
        username, password = _encode(user, _USERINFO_SET), _encode(pw, _USERINFO_SET)
        authority = authority[at + 1:]
    if authority.startswith("["):
        close = authority.find("]")
        if close == -1:
            raise InvalidUrl("unclosed IPv6 address")
        host_text, port_text = authority[: close + 1], authority[close + 1:]
        if port_text and not port_text.startswith(":"):
            raise InvalidUrl("junk after the IPv6 address")
        port_text = port_text[1:]
    else:
        host_text, _, port_text = authority.partition(":")
    if host_text == "":
        raise InvalidUrl("empty host")
    host = canonical_host(host_text)
    port: Optional[int] = None
    if port_text:
        if not _DECIMAL.match(port_text) or int(port_text) > 65535:
            raise InvalidUrl("invalid port")
        port = int(port_text)
        if port == DEFAULT_PORTS[scheme]:
            port = None
    fragment_at = rest.find("#")
    if fragment_at != -1:
        rest = rest[:fragment_at]
    query: Optional[str] = None
    query_at = rest.find("?")
    if query_at != -1:
        rest, query = rest[:query_at], _encode(rest[query_at + 1:], _SPECIAL_QUERY_SET)
    return ParsedUrl(scheme, username, password, host, port, _path(rest), query)


def canonical_target_uri(url: str) -> str:
    """The outbound URL as signed in ``sphyr-target-uri``: WHATWG href, fragment removed.

    Raises ``SphyrPolicyError`` with ``invalid_url`` or ``scheme_not_allowed``, as Node does.
    """
    try:
        return parse_url(url).href()
    except InvalidUrl as error:
        if len(error.args) > 1 and error.args[1] == "scheme":
            raise SphyrPolicyError("scheme_not_allowed", str(error.args[0])) from None
        raise SphyrPolicyError("invalid_url", f"the target URL could not be parsed ({error.args[0]})") from None


def compose_url(scheme: str, host: str, port: Optional[int], path_and_query: str) -> str:
    """A URL from what an HTTP library would put on the wire: its host, port and request target."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    if not path_and_query.startswith("/"):
        path_and_query = "/" + path_and_query
    netloc = host if port is None else f"{host}:{port}"
    return f"{scheme}://{netloc}{path_and_query}"
