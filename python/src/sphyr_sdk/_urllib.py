"""urllib (manual wrapping): a handler that relays ``http``/``https`` opens through the gateway.

``build_opener()`` puts it in front of urllib's own handlers. Every hop — redirects come back
through ``OpenerDirector.open`` as new requests — is routed like requests and httpx hops; direct
hops fall through to urllib's own handlers (proxies, TLS contexts and all).
"""
from __future__ import annotations

import http.client
import re
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Optional, Tuple

from ._relay import Answer, GatewayDown, plan, read_body, relay_sync
from ._state import SdkState, current_state
from .client import CallerTimeout, Prepared
from .errors import SphyrConfigError

_SPLITHOST = re.compile(r"//([^/#?]*)(.*)", re.DOTALL)


def hop_parts(full_url: str) -> Tuple[str, str, Optional[int], str]:
    """Scheme, host, port and request target exactly as urllib and http.client read them."""
    scheme, _, rest = full_url.partition(":")
    match = _SPLITHOST.match(rest)
    if not match:
        raise ValueError(f"unknown url type: {full_url!r}")
    netloc, selector = match.group(1), match.group(2) or "/"
    netloc = urllib.parse.unquote(netloc).rpartition("@")[2]
    host, port = netloc, None
    colon, bracket = netloc.rfind(":"), netloc.rfind("]")
    if colon > bracket:
        port_text = netloc[colon + 1:]
        host = netloc[:colon]
        if port_text:
            if not port_text.isdigit():
                raise ValueError(f"nonnumeric port: {port_text!r}")
            port = int(port_text)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return scheme.lower(), host, port, selector.partition("#")[0]


class SphyrHandler(urllib.request.BaseHandler):
    """Relays urllib's http and https requests through the gateway while ``auto_instrument()`` is in
    force; with nothing in force (or for excluded hosts) it steps aside for urllib's own handlers."""

    handler_order = 50  # before ProxyHandler (100) and the HTTP handlers (500)

    def http_open(self, req: urllib.request.Request) -> Optional[http.client.HTTPResponse]:
        return self._open(req)

    def https_open(self, req: urllib.request.Request) -> Optional[http.client.HTTPResponse]:
        return self._open(req)

    def _open(self, req: urllib.request.Request) -> Optional[http.client.HTTPResponse]:
        state = current_state()
        if state is None:
            return None
        scheme, host, port, selector = hop_parts(req.full_url)
        hop = plan(state, scheme, host, port, selector)
        if hop.route == "direct":
            return None
        body = read_body(req.data)
        if req.data is not None and not isinstance(req.data, bytes):
            req.data = body  # read to be signed; a direct send (failing open) sends these bytes
            req.remove_header("Transfer-encoding")
        method = req.get_method().upper()
        timeout = getattr(req, "timeout", None)
        caller_timeout = timeout if isinstance(timeout, (int, float)) else None

        live = state

        def send(prepared: Prepared) -> Optional[http.client.HTTPResponse]:
            return _exchange(live, method, prepared, body, caller_timeout)

        def answer(response: Optional[http.client.HTTPResponse]) -> Answer:
            assert response is not None
            h = response.headers
            return Answer(response.status, h.get("sphyr-outcome"), h.get("location"), h.get("date"))

        def drain(response: Optional[http.client.HTTPResponse]) -> str:
            assert response is not None
            try:
                return response.read(1024 * 1024).decode("utf-8", "replace")
            finally:
                response.close()

        try:
            response = relay_sync(state, hop, method, body, req.header_items(), caller_timeout, send, answer,
                                  drain, _step_aside)
        except CallerTimeout as error:
            raise urllib.error.URLError(socket.timeout(str(error))) from None
        if response is None:
            return None  # failing open: urllib's own handler sends it direct
        # What urllib's do_open does to the responses it returns.
        setattr(response, "url", req.get_full_url())
        setattr(response, "msg", response.reason)
        return response


def _step_aside() -> Optional[http.client.HTTPResponse]:
    return None  # failing open: urllib's own handler sends the request direct


def _exchange(
    state: SdkState, method: str, prepared: Prepared, body: bytes, timeout: Optional[float]
) -> http.client.HTTPResponse:
    client = state.client
    assert client is not None
    host, _, port_text = client.authority.rpartition(":")
    if not host or "]" in port_text:
        host, port_text = client.authority, ""
    port = int(port_text) if port_text else None
    connection: http.client.HTTPConnection
    dial = host.strip("[]")
    if client.scheme == "https":
        connection = http.client.HTTPSConnection(dial, port, timeout=timeout, context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(dial, port, timeout=timeout)
    headers = dict([("Host", client.authority), ("Connection", "close"), *prepared.headers])
    data = body if body or method not in ("GET", "HEAD") else None
    try:
        connection.request(method, prepared.url[len(client.gateway_url):], body=data, headers=headers)
    except socket.timeout as error:
        connection.close()
        raise urllib.error.URLError(error) from None  # as urllib reports the caller's timeout
    except OSError as error:
        connection.close()
        raise GatewayDown(error) from error
    try:
        return connection.getresponse()
    except socket.timeout:
        connection.close()
        raise
    except (OSError, http.client.HTTPException) as error:
        connection.close()
        raise GatewayDown(error) from error


def build_opener(*handlers: Any) -> urllib.request.OpenerDirector:
    """``urllib.request.build_opener`` with Sphyr's handler first. Needs ``auto_instrument()``.

    Example::

        sphyr_sdk.auto_instrument()
        opener = sphyr_sdk.build_opener()
        with opener.open("https://api.example.com/data", timeout=10) as response:
            data = response.read()
    """
    if current_state() is None:
        raise SphyrConfigError("not_instrumented", "build_opener(): call sphyr_sdk.auto_instrument() first")
    return urllib.request.build_opener(SphyrHandler(), *handlers)
