"""requests: ``HTTPAdapter.send`` patched on the class, so every Session (also ones made before
``auto_instrument()``) and every redirect hop passes here once; requests keeps its own redirect,
cookie, hook, auth and timeout logic, and relayed responses look exactly like direct ones."""
from __future__ import annotations

from typing import Any, Callable, Optional, Tuple

import requests
import requests.adapters
import requests.cookies
import requests.exceptions
import requests.structures
from urllib3.util import parse_url

from ._relay import Answer, GatewayDown, plan, read_body, relay_sync
from ._state import SdkState, current_state
from .client import CallerTimeout, Prepared

Send = Callable[..., Any]


def _connect_timeout(timeout: object) -> Optional[float]:
    if isinstance(timeout, tuple):
        timeout = timeout[0]
    connect = getattr(timeout, "connect_timeout", timeout)
    return float(connect) if isinstance(connect, (int, float)) else None


def _answer(response: Any) -> Answer:
    h = response.headers
    return Answer(response.status_code, h.get("sphyr-outcome"), h.get("location"), h.get("date"))


def _drain(response: Any) -> str:
    try:
        return bytes(response.content[: 1024 * 1024]).decode("utf-8", "replace")
    finally:
        response.close()


def _relay(
    state: SdkState,
    original: Send,
    adapter: Any,
    request: Any,
    stream: bool,
    timeout: Any,
    verify: Any,
    cert: Any,
    proxies: Any,
) -> Any:
    def direct() -> Any:
        return original(adapter, request, stream=stream, timeout=timeout, verify=verify, cert=cert,
                        proxies=proxies)

    url = parse_url(request.url)
    hop = plan(state, url.scheme or "", url.host or "", url.port, request.path_url)
    if hop.route == "direct":
        return direct()
    original_body = request.body
    body = read_body(original_body)
    if not isinstance(original_body, (bytes, str, type(None))):
        # A stream or file was read to be signed; a direct send (failing open) sends the bytes.
        request.body = body
        request.headers.pop("Transfer-Encoding", None)
        request.headers["Content-Length"] = str(len(body))
    method = (request.method or "GET").upper()

    def send(prepared: Prepared) -> Any:
        gateway = requests.PreparedRequest()
        gateway.method = method
        gateway.url = prepared.url
        gateway.headers = requests.structures.CaseInsensitiveDict(prepared.headers)
        gateway.body = body if body or method not in ("GET", "HEAD") else None
        if gateway.body is not None:
            gateway.headers["Content-Length"] = str(len(body))
        gateway.hooks = {"response": []}
        try:
            return original(_gateway_adapter(state), gateway, stream=stream, timeout=timeout, verify=True,
                            cert=None, proxies={})
        except requests.exceptions.Timeout:
            raise  # the caller's own timeout, as requests reports it
        except requests.exceptions.ConnectionError as error:
            raise GatewayDown(error) from error

    try:
        response = relay_sync(state, hop, method, body, request.headers.items(), _connect_timeout(timeout),
                              send, _answer, _drain, direct)
    except CallerTimeout as error:
        raise requests.exceptions.ConnectTimeout(str(error), request=request) from None
    if response.request is not request:
        # The target's identity, as plain requests gives it: URL, request, adapter, cookies.
        response.url = request.url
        response.request = request
        response.connection = adapter
        response.cookies = requests.cookies.RequestsCookieJar()
        requests.cookies.extract_cookies_to_jar(response.cookies, request, response.raw)
    return response


def _new_adapter() -> Any:
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=32)
    adapter._sphyr_gateway = True
    return adapter


def _gateway_adapter(state: SdkState) -> Any:
    """The SDK's own adapter to the gateway (urllib3's pools are thread-safe); never intercepted."""
    return state.resource("requests", _new_adapter)


def patch() -> Callable[[], None]:
    """Patch ``HTTPAdapter.send``; returns the undo. A slot already ours (any copy) is left alone."""
    cls = requests.adapters.HTTPAdapter
    original: Send = cls.send
    if getattr(original, "_sphyr_original", None) is not None:
        return lambda: None

    def send(self: Any, request: Any, stream: bool = False, timeout: Any = None, verify: Any = True,
             cert: Any = None, proxies: Any = None) -> Any:
        state = current_state()
        if state is None or getattr(self, "_sphyr_gateway", False):
            return original(self, request, stream=stream, timeout=timeout, verify=verify, cert=cert,
                            proxies=proxies)
        return _relay(state, original, self, request, stream, timeout, verify, cert, proxies)

    setattr(send, "_sphyr_original", original)
    send.__doc__ = original.__doc__
    setattr(cls, "send", send)

    def unpatch() -> None:
        # Put it back only where it is still ours; someone who wrapped us keeps their wrapper,
        # and ours below it is inert (no state in force).
        if cls.__dict__.get("send") is send:
            setattr(cls, "send", original)

    return unpatch


def hop_parts(url: str) -> Tuple[str, str, Optional[int]]:
    """How requests reads a URL's scheme, host and port (for the shared routing table)."""
    parsed = parse_url(url)
    return parsed.scheme or "", parsed.host or "", parsed.port
