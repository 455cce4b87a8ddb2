"""httpx: ``HTTPTransport.handle_request`` and ``AsyncHTTPTransport.handle_async_request`` patched on
the class: once per hop, for every Client and AsyncClient (also ones made earlier) and every mount.
httpx keeps its redirects, cookies, auth and timeouts; the relay sends the hop to the gateway on an
SDK-owned transport (one per event loop for async)."""
from __future__ import annotations

import asyncio
import weakref
from typing import Any, Awaitable, Callable, Dict, Optional, Tuple

import httpx

from ._relay import Answer, GatewayDown, Hop, plan, relay_async, relay_sync
from ._state import SdkState, current_state
from .client import CallerTimeout, Prepared

SyncHandle = Callable[[Any, httpx.Request], httpx.Response]
AsyncHandle = Callable[[Any, httpx.Request], Awaitable[httpx.Response]]


def hop_parts(url: httpx.URL) -> Tuple[str, str, Optional[int], str]:
    """Scheme, host, port and request target exactly as httpx puts them on the wire."""
    return url.scheme, url.raw_host.decode("ascii"), url.port, url.raw_path.decode("ascii")


def _plan(state: SdkState, request: httpx.Request) -> Hop:
    scheme, host, port, target = hop_parts(request.url)
    return plan(state, scheme, host, port, target)


def _connect_timeout(request: httpx.Request) -> Optional[float]:
    timeout = request.extensions.get("timeout")
    value = timeout.get("connect") if isinstance(timeout, dict) else None
    return float(value) if isinstance(value, (int, float)) else None


def _gateway_request(request: httpx.Request, prepared: Prepared, body: bytes) -> httpx.Request:
    method = request.method.upper()
    # The caller's timeout travels in the extensions; sni_hostname would name the target, not us.
    extensions = {k: v for k, v in request.extensions.items() if k != "sni_hostname"}
    content = body if body or method not in ("GET", "HEAD") else None
    return httpx.Request(method, prepared.url, headers=prepared.headers, content=content, extensions=extensions)


def _answer(response: httpx.Response) -> Answer:
    h = response.headers
    return Answer(response.status_code, h.get("sphyr-outcome"), h.get("location"), h.get("date"))


def _headers(request: httpx.Request) -> list[Tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]


def _timeout_error(request: httpx.Request, error: CallerTimeout) -> httpx.ConnectTimeout:
    return httpx.ConnectTimeout(str(error), request=request)


def _sync_relay(state: SdkState, original: SyncHandle, transport: Any, request: httpx.Request) -> httpx.Response:
    hop = _plan(state, request)
    if hop.route == "direct":
        return original(transport, request)
    body = request.read()

    def send(prepared: Prepared) -> httpx.Response:
        gateway = state.resource("httpx", _new_sync_transport)
        try:
            return original(gateway, _gateway_request(request, prepared, body))
        except httpx.TimeoutException:
            raise  # the caller's own timeout, as httpx reports it
        except httpx.TransportError as error:
            raise GatewayDown(error) from error

    def drain(response: httpx.Response) -> str:
        try:
            return response.read()[: 1024 * 1024].decode("utf-8", "replace")
        finally:
            response.close()

    try:
        return relay_sync(state, hop, request.method.upper(), body, _headers(request), _connect_timeout(request),
                          send, _answer, drain, lambda: original(transport, request))
    except CallerTimeout as error:
        raise _timeout_error(request, error) from None


async def _async_relay(
    state: SdkState, original: AsyncHandle, transport: Any, request: httpx.Request
) -> httpx.Response:
    hop = _plan(state, request)
    if hop.route == "direct":
        return await original(transport, request)
    body = await request.aread()

    async def send(prepared: Prepared) -> httpx.Response:
        gateway = _loop_transport(state)
        try:
            return await original(gateway, _gateway_request(request, prepared, body))
        except httpx.TimeoutException:
            raise
        except httpx.TransportError as error:
            raise GatewayDown(error) from error

    async def drain(response: httpx.Response) -> str:
        try:
            return (await response.aread())[: 1024 * 1024].decode("utf-8", "replace")
        finally:
            await response.aclose()

    try:
        return await relay_async(state, hop, request.method.upper(), body, _headers(request),
                                 _connect_timeout(request), send, _answer, drain,
                                 lambda: original(transport, request))
    except CallerTimeout as error:
        raise _timeout_error(request, error) from None


def _new_sync_transport() -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport()
    setattr(transport, "_sphyr_gateway", True)
    return transport


def _loop_transport(state: SdkState) -> httpx.AsyncHTTPTransport:
    """One gateway transport per event loop: async pools must not cross loops (httpx #2058, #2473)."""
    per_loop: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncHTTPTransport]" = state.resource(
        "httpx-async", weakref.WeakKeyDictionary
    )
    loop = asyncio.get_running_loop()
    transport = per_loop.get(loop)
    if transport is None:
        transport = httpx.AsyncHTTPTransport()
        setattr(transport, "_sphyr_gateway", True)
        per_loop[loop] = transport
    return transport


def patch() -> Callable[[], None]:
    """Patch both transports; returns the undo. A slot already ours (any copy) is left alone."""
    sync_cls, async_cls = httpx.HTTPTransport, httpx.AsyncHTTPTransport
    undo: Dict[str, Callable[[], None]] = {}
    original_sync: SyncHandle = sync_cls.handle_request
    if getattr(original_sync, "_sphyr_original", None) is None:

        def handle_request(self: Any, request: httpx.Request) -> httpx.Response:
            state = current_state()
            if state is None or getattr(self, "_sphyr_gateway", False):
                return original_sync(self, request)
            return _sync_relay(state, original_sync, self, request)

        setattr(handle_request, "_sphyr_original", original_sync)
        setattr(sync_cls, "handle_request", handle_request)
        undo["sync"] = lambda: _restore(sync_cls, "handle_request", handle_request, original_sync)

    original_async: AsyncHandle = async_cls.handle_async_request
    if getattr(original_async, "_sphyr_original", None) is None:

        async def handle_async_request(self: Any, request: httpx.Request) -> httpx.Response:
            state = current_state()
            if state is None or getattr(self, "_sphyr_gateway", False):
                return await original_async(self, request)
            return await _async_relay(state, original_async, self, request)

        setattr(handle_async_request, "_sphyr_original", original_async)
        setattr(async_cls, "handle_async_request", handle_async_request)
        undo["async"] = lambda: _restore(async_cls, "handle_async_request", handle_async_request, original_async)

    def unpatch() -> None:
        for step in undo.values():
            step()

    return unpatch


def _restore(cls: type, name: str, ours: object, original: object) -> None:
    # Only where the slot is still ours; a wrapper someone put over ours stays, ours is inert.
    if cls.__dict__.get(name) is ours:
        setattr(cls, name, original)
