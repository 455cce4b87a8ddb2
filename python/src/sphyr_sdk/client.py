"""The one client that talks to the gateway (DESIGN §3.2-3.3), standard library only.

It signs every call with ``sphyr-req-v1``, registers the agent once (shared by every thread),
re-registers once on ``agent_expired`` ("session refresh"), corrects its clock once on
``clock_skew``, and turns the gateway's refusals into the error classes. Registration goes through
``http.client``, which nothing in this SDK patches, so it can never loop back through it.
"""
from __future__ import annotations

import email.utils
import http.client
import json
import os
import platform
import socket
import ssl
import threading
import time
from typing import Callable, Iterable, List, NamedTuple, Optional, Tuple, Union

from ._version import __version__
from .credential import Credential, parse_credential
from .errors import (
    SphyrAuthError,
    SphyrError,
    SphyrNetworkError,
    SphyrPolicyError,
    SphyrRateLimitError,
    SphyrRequestError,
)
from .signing import RequestFacts, content_digest, sign_request
from .urls import canonical_target_uri, parse_url

#: How long registration may take before the gateway counts as unreachable.
REGISTER_TIMEOUT = 10.0

Headers = List[Tuple[str, str]]

# Never taken from the caller: ours to set, or connection-level.
_OWN_HEADERS = frozenset({
    "signature", "signature-input", "content-digest", "host", "content-length", "connection",
    "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection", "expect",
})


class Prepared(NamedTuple):
    """A signed gateway call: where to send it and the headers to send (caller's plus signature)."""

    url: str
    headers: Headers
    agent_id: Optional[str]


class Verdict(NamedTuple):
    error: SphyrError
    #: ``"skew"`` or ``"agent"`` when one more attempt can succeed.
    retry: Optional[str]


class CallerTimeout(Exception):
    """The caller's own time limit ran out while the agent was registering (not a gateway outage)."""


def is_own_header(name: str) -> bool:
    lowered = name.lower()
    return lowered in _OWN_HEADERS or lowered.startswith("sphyr-")


def error_from(status: int, outcome: str, body_text: str) -> SphyrError:
    """A gateway refusal (``{"error": {"code", "message"}}``) as the matching error class."""
    code, message = "gateway_error", f"the gateway answered HTTP {status}"
    try:
        body = json.loads(body_text)
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            code = str(error.get("code") or code)
            message = str(error.get("message") or message)
    except ValueError:
        pass  # A body that is not our JSON keeps the generic message.
    if outcome == "unauthorized":
        return SphyrAuthError(code, message)
    if outcome == "blocked":
        return SphyrPolicyError(code, message)
    if outcome == "rate_limited":
        return SphyrRateLimitError(code, message)
    if 400 <= status < 500:
        return SphyrRequestError(code, message)
    return SphyrNetworkError(code, message)


def unreachable(gateway_url: str, error: BaseException) -> SphyrNetworkError:
    """The gateway could not be reached: fail closed, saying so."""
    reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
    return SphyrNetworkError(
        "gateway_unreachable",
        f"cannot reach the Sphyr gateway at {gateway_url} ({reason}); nothing was sent to the target",
        error,
    )


class GatewayClient:
    """Signs and sends calls to one gateway for one agent. Thread-safe."""

    def __init__(
        self,
        gateway_url: str,
        credential: Union[Credential, str],
        agent_name: Optional[str] = None,
        *,
        clock: Callable[[], float] = time.time,
        register_timeout: float = REGISTER_TIMEOUT,
    ) -> None:
        from .config import parse_gateway_url

        self.gateway_url = parse_gateway_url(gateway_url, "gateway_url")
        gateway = parse_url(self.gateway_url)
        self.scheme = gateway.scheme
        #: ``host[:port]`` exactly as sent in ``Host`` and signed as ``@authority``.
        self.authority = gateway.authority
        self._dial_host = gateway.host.strip("[]")
        self._dial_port = gateway.port or (443 if gateway.scheme == "https" else 80)
        self._credential = (
            credential if isinstance(credential, Credential) else parse_credential(credential, "credential")
        )
        self.agent_name = agent_name or f"python-{os.getpid()}"
        self._clock = clock
        self._register_timeout = register_timeout
        self._offset = 0.0
        self._agent_id: Optional[str] = None
        self._lock = threading.Lock()
        self._register_lock = threading.Lock()

    @property
    def key_id(self) -> str:
        return self._credential.key_id

    def __repr__(self) -> str:
        return f"GatewayClient({self.gateway_url!r}, {self._credential!r})"

    # -- agent registration -------------------------------------------------------------------

    def cached_agent_id(self) -> Optional[str]:
        return self._agent_id

    def agent_id(self, timeout: Optional[float] = None) -> str:
        """Register once (other threads wait for the same registration) and return the agent id.

        ``timeout`` is the caller's own limit: when it, not registration's own 10 s, runs out,
        ``CallerTimeout`` is raised so the library can report its own timeout error.
        """
        current = self._agent_id
        if current is not None:
            return current
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._register_lock.acquire(timeout=-1 if timeout is None else max(timeout, 0.0)):
            raise CallerTimeout("the request timed out while the agent was registering")
        try:
            current = self._agent_id
            if current is not None:
                return current
            limit, caller_bound = self._register_timeout, False
            if deadline is not None and deadline - time.monotonic() < limit:
                limit, caller_bound = max(deadline - time.monotonic(), 0.001), True
            agent = self._register(limit, caller_bound)
            with self._lock:
                self._agent_id = agent
            return agent
        finally:
            self._register_lock.release()

    def forget_agent(self, agent_id: Optional[str]) -> None:
        """The gateway said ``agent_expired`` for ``agent_id``: the next call registers again."""
        with self._lock:
            if agent_id is None or self._agent_id == agent_id:
                self._agent_id = None

    def _register(self, timeout: float, caller_bound: bool) -> str:
        info = {
            "name": self.agent_name,
            "runtime": f"python {platform.python_version()}",
            "version": __version__,
            "host": socket.gethostname()[:255],
            "pid": os.getpid(),
        }
        body = json.dumps(info).encode("utf-8")
        for attempt in range(2):
            prepared = self.prepare(
                "register", "POST", "/v1/agents", body, [("content-type", "application/json")]
            )
            status, headers, text = self._exchange("POST", "/v1/agents", prepared.headers, body, timeout,
                                                   caller_bound)
            outcome = headers.get("sphyr-outcome")
            if outcome == "allowed":
                try:
                    agent = json.loads(text).get("agentId")
                except (ValueError, AttributeError):
                    agent = None
                if not isinstance(agent, str) or not agent:
                    raise SphyrNetworkError(
                        "gateway_bad_response", "the gateway answered registration without an agentId"
                    )
                return agent
            verdict = self.learn_from(status, outcome, text, headers.get("date"), "register")
            if verdict.retry == "skew" and attempt == 0:
                continue
            raise verdict.error
        raise AssertionError("unreachable")  # pragma: no cover

    def _exchange(
        self, method: str, path: str, headers: Headers, body: bytes, timeout: float, caller_bound: bool
    ) -> Tuple[int, dict[str, str], str]:
        connection: http.client.HTTPConnection
        if self.scheme == "https":
            connection = http.client.HTTPSConnection(
                self._dial_host, self._dial_port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            connection = http.client.HTTPConnection(self._dial_host, self._dial_port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=dict([("Host", self.authority), *headers]))
            response = connection.getresponse()
            text = response.read(1024 * 1024).decode("utf-8", "replace")
            return response.status, {k.lower(): v for k, v in response.getheaders()}, text
        except socket.timeout as error:
            if caller_bound:
                raise CallerTimeout("the request timed out while the agent was registering") from error
            raise unreachable(self.gateway_url, TimeoutError("no answer in time")) from None
        except (OSError, http.client.HTTPException) as error:
            raise unreachable(self.gateway_url, error) from None
        finally:
            connection.close()

    # -- signing ------------------------------------------------------------------------------

    def prepare(
        self,
        kind: str,
        method: str,
        path: str,
        body: bytes,
        headers: Iterable[Tuple[str, str]] = (),
        target_uri: Optional[str] = None,
        agent_id: Optional[str] = None,
    ) -> Prepared:
        """Sign one gateway call (registering the agent first when needed, unless ``agent_id`` given)."""
        if kind != "register" and agent_id is None:
            agent_id = self.agent_id()
        digest = content_digest(body)
        path_only, mark, query = path.partition("?")
        facts = RequestFacts(
            method=method,
            authority=self.authority,
            path=path_only,
            query=mark + query,
            content_digest=digest,
            target_uri=target_uri,
            agent_id=agent_id if kind != "register" else None,
        )
        signed = sign_request(
            kind, facts, self._credential.key_id, self._credential.secret, self._clock() + self._offset
        )
        out: Headers = [(n, v) for n, v in headers if not is_own_header(n)]
        out += [
            ("content-digest", digest),
            ("signature-input", signed.signature_input),
            ("signature", signed.signature),
        ]
        if kind != "register" and agent_id:
            out.append(("sphyr-agent-id", agent_id))
        if target_uri is not None:
            out.append(("sphyr-target-uri", target_uri))
        return Prepared(self.gateway_url + path, out, facts.agent_id)

    def sign_relay(
        self,
        method: str,
        url: str,
        body: bytes = b"",
        headers: Iterable[Tuple[str, str]] = (),
        agent_id: Optional[str] = None,
    ) -> Prepared:
        """Hand-sign one relay of ``method url``: send ``method`` to ``Prepared.url`` with these headers
        and exactly ``body``. ``method`` must be what goes on the wire (upper case)."""
        return self.prepare("relay", method, "/v1/relay", body, headers, canonical_target_uri(url), agent_id)

    # -- answers ------------------------------------------------------------------------------

    def learn_from(
        self,
        status: int,
        outcome: Optional[str],
        body_text: str,
        date: Optional[str],
        kind: str = "relay",
        agent_id: Optional[str] = None,
    ) -> Verdict:
        """Turn a gateway answer that is not a pass into an error, and learn from it: ``clock_skew``
        sets the clock offset from the gateway's ``Date``, ``agent_expired`` forgets the agent."""
        if outcome is None:
            return Verdict(
                SphyrNetworkError(
                    "gateway_bad_response",
                    f"{self.gateway_url} answered HTTP {status} without a Sphyr-Outcome header; "
                    "is SPHYR_GATEWAY_URL a Sphyr gateway?",
                ),
                None,
            )
        error = error_from(status, outcome, body_text)
        if error.code == "clock_skew":
            try:
                server = email.utils.parsedate_to_datetime(date or "").timestamp()
            except (TypeError, ValueError, IndexError):
                server = None
            if server is not None:
                with self._lock:
                    self._offset = server - self._clock()
            return Verdict(error, "skew")
        if error.code == "agent_expired" and kind != "register":
            self.forget_agent(agent_id)
            return Verdict(error, "agent")
        return Verdict(error, None)
