"""aiohttp (manual wrapping): ``aiohttp_session()`` makes a ``ClientSession`` whose hops are relayed.

aiohttp runs one ``ClientRequest`` per hop (redirects included) and lets a session choose the
request class, so that is the hook: a hop to relay is pointed at the gateway when it is created,
its connection is made to the gateway (an unreachable gateway fails closed there, before anything
is sent), and ``send()`` signs the exact body bytes. aiohttp keeps its redirects, cookies (they are
kept for the target: the response's URL is the target's), timeouts and traces.
"""
from __future__ import annotations

import asyncio
import contextvars
import inspect
from typing import Any, FrozenSet, List, Optional, Tuple, Type

import aiohttp
from aiohttp import payload as aiohttp_payload
from aiohttp.client_reqrep import ClientRequest, ClientResponse, RequestInfo
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from ._relay import PASS_OUTCOMES, Hop, plan
from ._state import SdkState, current_state
from .client import CallerTimeout, is_own_header, unreachable
from .errors import SphyrConfigError, SphyrError

_DEFAULT_SSL = inspect.signature(ClientRequest.__init__).parameters["ssl"].default
#: Retries already spent on this hop (a retry is a nested request of the same session).
_RETRIED: "contextvars.ContextVar[FrozenSet[str]]" = contextvars.ContextVar("sphyr_retried", default=frozenset())


def hop_parts(url: URL) -> Tuple[str, str, Optional[int], str]:
    """Scheme, host, port and request target exactly as aiohttp puts them on the wire."""
    explicit: Optional[int] = getattr(url, "explicit_port", None)
    port = explicit if explicit != {"http": 80, "https": 443}.get(url.scheme) else None
    return url.scheme, url.raw_host or "", port, url.raw_path_qs


class _Collector:
    """A stand-in stream writer: collects what a payload writes, so the body can be digested."""

    def __init__(self) -> None:
        self.chunks: List[bytes] = []

    async def write(self, chunk: Any) -> None:
        self.chunks.append(bytes(chunk))

    async def write_eof(self, chunk: bytes = b"") -> None:
        self.chunks.append(bytes(chunk))

    async def drain(self) -> None:
        return None


class SphyrClientRequest(ClientRequest):
    """A ``ClientRequest`` that sends its hop through the gateway when the route says so."""

    def __init__(self, method: str, url: URL, **kwargs: Any) -> None:
        super().__init__(method, url, **kwargs)
        self._sphyr_state: Optional[SdkState] = None
        self._sphyr_hop: Optional[Hop] = None
        state = current_state()
        if state is None:
            return
        hop = plan(state, *hop_parts(self.url))
        if hop.route == "direct":
            return
        self._sphyr_state, self._sphyr_hop = state, hop
        self._sphyr_caller_headers = CIMultiDict(self.headers)
        self._sphyr_direct = (self.url, self.proxy, self.proxy_auth, self._ssl)
        if state.client is not None:
            self._point_at_gateway(state)

    def _point_at_gateway(self, state: SdkState) -> None:
        client = state.client
        assert client is not None
        self.url = URL(client.gateway_url + "/v1/relay")
        # The caller's proxy and TLS settings are for the target; the gateway gets the defaults.
        self.proxy, self.proxy_auth, self._ssl = None, None, _DEFAULT_SSL
        self.headers["Host"] = client.authority

    def _sphyr_go_direct(self) -> None:
        """Fail open: send this hop as plain aiohttp would have."""
        self.url, self.proxy, self.proxy_auth, self._ssl = self._sphyr_direct
        self.headers = CIMultiDict(self._sphyr_caller_headers)
        self._sphyr_hop = None

    @property
    def request_info(self) -> RequestInfo:
        if self._sphyr_hop is None:
            return super().request_info
        return RequestInfo(self.original_url.with_fragment(None), self.method,
                           CIMultiDictProxy(self._sphyr_caller_headers), self.original_url)

    async def _body_bytes(self) -> bytes:
        body = self.body
        if isinstance(body, (bytes, bytearray)):
            return bytes(body)
        if isinstance(body, aiohttp_payload.Payload):
            collector = _Collector()
            await body.write(collector)
            return b"".join(collector.chunks)
        return b"".join(bytes(c) for c in body)

    async def send(self, conn: Any) -> ClientResponse:
        state, hop = self._sphyr_state, self._sphyr_hop
        if state is None or hop is None or state.client is None:
            return await super().send(conn)
        client = state.client
        body = await self._body_bytes()
        agent = client.cached_agent_id() or await _register(state, None)
        prepared = client.prepare("relay", self.method, "/v1/relay", body, self._sphyr_caller_headers.items(),
                                  hop.target, agent)
        headers: CIMultiDict[str] = CIMultiDict(prepared.headers)
        headers["Host"] = client.authority
        setattr(self, "body", aiohttp_payload.BytesPayload(body))
        self.chunked = None
        if body or self.method not in ("GET", "HEAD"):
            headers["Content-Length"] = str(len(body))
        self.headers = headers
        response = await super().send(conn)
        await response.start(conn)
        setattr(response, "_sphyr_started", True)
        outcome = response.headers.get("sphyr-outcome")
        if outcome in PASS_OUTCOMES:
            location = response.headers.get("location")
            if 300 <= response.status < 400 and location:
                state.taint(location, hop.target)
            return response
        text = (await response.read())[: 1024 * 1024].decode("utf-8", "replace")
        response.release()
        verdict = client.learn_from(response.status, outcome, text, response.headers.get("date"), "relay", agent)
        retried = _RETRIED.get()
        if verdict.retry is None or verdict.retry in retried:
            raise verdict.error
        # One more attempt, as a nested request of the same session (newly signed, newly connected).
        token = _RETRIED.set(retried | {verdict.retry})
        try:
            caller = [(k, v) for k, v in self._sphyr_caller_headers.items() if not is_own_header(k)]
            return await self._session.request(self.method, self.original_url, data=body, headers=caller,
                                               allow_redirects=False, raise_for_status=False)
        finally:
            _RETRIED.reset(token)


class SphyrClientResponse(ClientResponse):
    """Started by ``SphyrClientRequest.send`` for relayed hops (the verdict is read there)."""

    async def start(self, connection: Any) -> "SphyrClientResponse":
        if getattr(self, "_sphyr_started", False):
            return self
        await super().start(connection)
        return self


async def _register(state: SdkState, timeout: Optional[float]) -> str:
    client = state.client
    assert client is not None
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(None, client.agent_id, timeout)
    except CallerTimeout:
        raise asyncio.TimeoutError() from None  # aiohttp reports it as its own connection timeout


def _wrap_connector(connector: Any) -> None:
    """Relayed hops connect to the gateway; that is where an unreachable gateway fails closed."""
    if getattr(connector, "_sphyr_wrapped", False):
        return
    original = connector.connect

    async def connect(req: Any, traces: Any, timeout: Any) -> Any:
        state: Optional[SdkState] = getattr(req, "_sphyr_state", None)
        if state is None or getattr(req, "_sphyr_hop", None) is None:
            return await original(req, traces, timeout)
        client = state.client
        try:
            if client is None:
                raise state.settings.problem or SphyrConfigError("not_configured", "Sphyr is not configured")
            if client.cached_agent_id() is None:
                connect_timeout = getattr(timeout, "connect", None) or getattr(timeout, "total", None)
                await _register(state, connect_timeout)
            return await original(req, traces, timeout)
        except asyncio.TimeoutError:
            raise  # the caller's own time limit, reported by aiohttp as its connection timeout
        except OSError as error:  # aiohttp.ClientConnectorError included
            assert client is not None
            down: SphyrError = unreachable(client.gateway_url, error)
            if state.settings.fail_closed:
                raise down from None
        except SphyrError as error:
            unusable = client is None or error.code == "gateway_unreachable"
            if not unusable or state.settings.fail_closed:
                raise
            down = error
        state.warn_fail_open(down)
        req._sphyr_go_direct()
        return await original(req, traces, timeout)

    setattr(connector, "connect", connect)
    setattr(connector, "_sphyr_wrapped", True)


def _mix(base: Type[Any], ours: Type[Any]) -> Type[Any]:
    if issubclass(base, ours):
        return base
    return type(f"Sphyr{base.__name__}", (ours, base), {})


def aiohttp_session(*args: Any, **kwargs: Any) -> aiohttp.ClientSession:
    """An ``aiohttp.ClientSession`` (same arguments) whose requests go through the gateway while
    ``auto_instrument()`` is in force. Needs ``auto_instrument()`` first.

    Example::

        sphyr_sdk.auto_instrument()
        async with sphyr_sdk.aiohttp_session() as session:
            async with session.get("https://api.example.com/data") as response:
                data = await response.json()
    """
    if current_state() is None:
        raise SphyrConfigError("not_instrumented", "aiohttp_session(): call sphyr_sdk.auto_instrument() first")
    kwargs["request_class"] = _mix(kwargs.get("request_class", ClientRequest), SphyrClientRequest)
    kwargs["response_class"] = _mix(kwargs.get("response_class", ClientResponse), SphyrClientResponse)
    session = aiohttp.ClientSession(*args, **kwargs)
    if session.connector is not None:
        _wrap_connector(session.connector)
    return session
