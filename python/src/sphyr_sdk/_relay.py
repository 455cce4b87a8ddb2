"""One relay of one hop, for any library: sign, send through the gateway, read the verdict.

Each patched library supplies how to send to the gateway and how to read its answer; this module
holds what is the same for all of them (DESIGN §3.3): a pass (``Sphyr-Outcome: allowed`` or
``rate_limited``) is handed back as the library's own response, a 3xx's ``Location`` is tainted so
that hop is never sent direct, ``clock_skew`` and ``agent_expired`` are retried once, every other
refusal raises, and an unreachable gateway fails closed (or, with ``fail_closed=False``, goes
direct with one warning).
"""
from __future__ import annotations

import asyncio
from typing import Awaitable, Callable, Iterable, NamedTuple, Optional, Set, Tuple, TypeVar

from .client import GatewayClient, Prepared, unreachable
from .errors import SphyrError, SphyrNetworkError, SphyrPolicyError
from .routing import DIRECT, REFUSE
from ._state import SdkState
from .urls import InvalidUrl, compose_url, parse_url

R = TypeVar("R")

PASS_OUTCOMES = ("allowed", "rate_limited")


class GatewayDown(Exception):
    """The library could not reach the gateway (connection refused, reset, DNS...); not a timeout."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


class Hop(NamedTuple):
    """One request as the library is about to send it, and what Sphyr makes of it."""

    route: str
    #: The WHATWG-canonical target (``""`` when the hop goes direct untainted).
    target: str


class Answer(NamedTuple):
    """What the relay needs from a gateway response, read from the library's own object."""

    status: int
    outcome: Optional[str]
    location: Optional[str]
    date: Optional[str]


def plan(state: SdkState, scheme: str, host: str, port: Optional[int], path_and_query: str) -> Hop:
    """Route one hop. Raises ``SphyrPolicyError`` for a hop that must not be sent at all."""
    route = state.route(scheme, host, port)
    if route == DIRECT and not state.has_taints():
        return Hop(DIRECT, "")
    if route == REFUSE:
        if scheme and scheme.lower() not in ("http", "https"):
            raise SphyrPolicyError("scheme_not_allowed", f"only http and https are allowed, not {scheme}:")
        raise SphyrPolicyError("invalid_url", f"the target host {host!r} is not a valid host; not sent")
    try:
        target = parse_url(compose_url(scheme.lower(), host, port, path_and_query)).href()
    except InvalidUrl as error:
        raise SphyrPolicyError("invalid_url", f"the target URL could not be parsed ({error.args[0]})") from None
    if route == DIRECT and not state.is_tainted(target):
        return Hop(DIRECT, "")
    return Hop("instrument", target)


def read_body(body: object) -> bytes:
    """The whole request body as bytes: it is digested before it is signed."""
    if body is None:
        return b""
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    read = getattr(body, "read", None)
    if callable(read):
        chunks = []
        while True:
            chunk = read(65536)
            if not chunk:
                break
            chunks.append(chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk))
        return b"".join(chunks)
    if isinstance(body, Iterable):
        return b"".join(c.encode("utf-8") if isinstance(c, str) else bytes(c) for c in body)
    raise TypeError(f"cannot sign a request body of type {type(body).__name__}")


def _no_client(state: SdkState) -> SphyrError:
    problem = state.settings.problem
    return problem if problem is not None else SphyrNetworkError("not_configured", "Sphyr is not configured")


def relay_sync(
    state: SdkState,
    hop: Hop,
    method: str,
    body: bytes,
    headers: Iterable[Tuple[str, str]],
    caller_timeout: Optional[float],
    send: Callable[[Prepared], R],
    answer: Callable[[R], Answer],
    drain: Callable[[R], str],
    direct: Callable[[], R],
) -> R:
    """Relay one hop synchronously; ``direct()`` is only called when failing open."""
    client = state.client
    if client is None:
        if state.settings.fail_closed:
            raise _no_client(state)
        state.warn_fail_open(_no_client(state))
        return direct()
    headers = list(headers)
    retried: Set[str] = set()
    while True:
        try:
            agent = client.agent_id(caller_timeout)
        except SphyrNetworkError as error:
            if error.code != "gateway_unreachable" or state.settings.fail_closed:
                raise
            state.warn_fail_open(error)
            return direct()
        prepared = client.prepare("relay", method, "/v1/relay", body, headers, hop.target, agent)
        try:
            response = send(prepared)
        except GatewayDown as down:
            if state.settings.fail_closed:
                raise unreachable(client.gateway_url, down.cause) from None
            state.warn_fail_open(unreachable(client.gateway_url, down.cause))
            return direct()
        got = answer(response)
        retry = _verdict(state, client, hop, got, agent, retried, lambda: drain(response))
        if retry is None:
            return response


async def relay_async(
    state: SdkState,
    hop: Hop,
    method: str,
    body: bytes,
    headers: Iterable[Tuple[str, str]],
    caller_timeout: Optional[float],
    send: Callable[[Prepared], Awaitable[R]],
    answer: Callable[[R], Answer],
    drain: Callable[[R], Awaitable[str]],
    direct: Callable[[], Awaitable[R]],
) -> R:
    """The same for asyncio: registration (blocking, rare) runs in a worker thread, never on the loop."""
    client = state.client
    if client is None:
        if state.settings.fail_closed:
            raise _no_client(state)
        state.warn_fail_open(_no_client(state))
        return await direct()
    headers = list(headers)
    retried: Set[str] = set()
    while True:
        agent = client.cached_agent_id()
        if agent is None:
            try:
                agent = await asyncio.get_running_loop().run_in_executor(None, client.agent_id, caller_timeout)
            except SphyrNetworkError as error:
                if error.code != "gateway_unreachable" or state.settings.fail_closed:
                    raise
                state.warn_fail_open(error)
                return await direct()
        prepared = client.prepare("relay", method, "/v1/relay", body, headers, hop.target, agent)
        try:
            response = await send(prepared)
        except GatewayDown as down:
            if state.settings.fail_closed:
                raise unreachable(client.gateway_url, down.cause) from None
            state.warn_fail_open(unreachable(client.gateway_url, down.cause))
            return await direct()
        got = answer(response)
        if got.outcome in PASS_OUTCOMES:
            _taint(state, hop, got)
            return response
        text = await drain(response)
        retry = _verdict(state, client, hop, got, agent, retried, lambda: text)
        if retry is None:  # pragma: no cover - _verdict raises for every refusal
            return response


def _taint(state: SdkState, hop: Hop, got: Answer) -> None:
    if 300 <= got.status < 400 and got.location:
        state.taint(got.location, hop.target)


def _verdict(
    state: SdkState,
    client: GatewayClient,
    hop: Hop,
    got: Answer,
    agent: Optional[str],
    retried: Set[str],
    text: Callable[[], str],
) -> Optional[str]:
    """``None`` for a pass; the retry kind when one more attempt can succeed; raises otherwise."""
    if got.outcome in PASS_OUTCOMES:
        _taint(state, hop, got)
        return None
    verdict = client.learn_from(got.status, got.outcome, text(), got.date, "relay", agent)
    if verdict.retry is not None and verdict.retry not in retried:
        retried.add(verdict.retry)
        return verdict.retry
    raise verdict.error
