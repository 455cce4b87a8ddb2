"""Process-wide instrumentation state, shared by every patched library (like src/sdk/state.ts)."""
from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, Callable, Dict, Iterable, Mapping, NamedTuple, Optional, Tuple
from urllib.parse import urljoin

from .client import GatewayClient
from .config import parse_gateway_url, read_client_settings
from .credential import Credential, parse_credential
from .errors import SphyrConfigError, SphyrError
from .routing import DIRECT, INSTRUMENT, canonical_entry, classify
from .urls import InvalidUrl, compose_url, parse_url

logger = logging.getLogger("sphyr_sdk")

#: How long a redirect target chosen by a remote server stays "tainted" (never sent direct).
TAINT_SECONDS = 60.0


class Settings(NamedTuple):
    fail_closed: bool
    gateway_url: Optional[str]
    credential: Optional[Credential]
    agent_name: str
    direct_hosts: Tuple[str, ...]
    instrument_hosts: Tuple[str, ...]
    #: Why the SDK cannot sign (no credential, a broken config file...); relayed requests fail with it.
    problem: Optional[SphyrError]


def _host_list(value: Iterable[str], env: Optional[str]) -> Tuple[str, ...]:
    given = tuple(h for h in value if h)
    if given:
        return given
    return tuple(h.strip() for h in (env or "").split(",") if h.strip())


def resolve_settings(
    fail_closed: bool,
    gateway_url: Optional[str],
    credential: "Optional[Credential | str]",
    agent_name: Optional[str],
    direct_hosts: Iterable[str],
    instrument_hosts: Iterable[str],
    env: Optional[Mapping[str, str]] = None,
    home: Optional[str] = None,
) -> Settings:
    """Options first, then ``SPHYR_*`` variables, then ``~/.sphyr/config.json``. A problem with the
    credential or gateway does not raise here: it is kept, and every relayed request fails with it
    (fail closed), so an app starts and says clearly why its calls are refused."""
    env = os.environ if env is None else env
    problem: Optional[SphyrError] = None
    url: Optional[str] = None
    cred: Optional[Credential] = None
    try:
        from_config = (
            None if gateway_url is not None and credential is not None else read_client_settings(env, home)
        )
        url = parse_gateway_url(gateway_url, "gateway_url") if gateway_url is not None else (
            from_config.gateway_url if from_config else None
        )
        if isinstance(credential, str):
            cred = parse_credential(credential, "the credential option")
        else:
            cred = credential if credential is not None else (from_config.credential if from_config else None)
        if cred is None or url is None:
            missing = "no credential" if cred is None else "no gateway URL"
            raise SphyrConfigError(
                "not_configured", f"{missing}: run `sphyr login`, or set SPHYR_CREDENTIAL and SPHYR_GATEWAY_URL"
            )
    except SphyrError as error:
        problem = error
    return Settings(
        fail_closed=bool(fail_closed),
        gateway_url=url,
        credential=cred,
        agent_name=agent_name or env.get("SPHYR_AGENT_NAME") or f"python-{os.getpid()}",
        direct_hosts=_host_list(direct_hosts, env.get("SPHYR_DIRECT_HOSTS")),
        instrument_hosts=_host_list(instrument_hosts, env.get("SPHYR_INSTRUMENT_HOSTS")),
        problem=problem,
    )


class SdkState:
    """What every patched layer consults: on or off, the client, routes, tainted redirect hops."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.active = True
        self.client: Optional[GatewayClient] = None
        self.gateway_scheme = ""
        self.gateway_authority = ""
        if settings.problem is None and settings.gateway_url and settings.credential:
            self.client = GatewayClient(settings.gateway_url, settings.credential, settings.agent_name)
            self.gateway_scheme, self.gateway_authority = self.client.scheme, self.client.authority
        elif settings.gateway_url:
            gateway = parse_url(settings.gateway_url)
            self.gateway_scheme, self.gateway_authority = gateway.scheme, gateway.authority
        self._direct = frozenset(canonical_entry(h) for h in settings.direct_hosts)
        self._instrument = frozenset(canonical_entry(h) for h in settings.instrument_hosts)
        self._routes: Dict[Tuple[str, str, Optional[int]], str] = {}
        self._tainted: Dict[str, float] = {}
        self._lock = threading.Lock()
        self._warned = False
        self._resources: Dict[str, Any] = {}

    def resource(self, name: str, make: Callable[[], Any]) -> Any:
        """A per-state object made once (a library's own connection pool to the gateway, ...)."""
        found = self._resources.get(name)
        if found is None:
            with self._lock:
                found = self._resources.get(name)
                if found is None:
                    found = self._resources[name] = make()
        return found

    # -- routing ------------------------------------------------------------------------------

    def route(self, scheme: str, host: str, port: Optional[int]) -> str:
        """The route for ``scheme://host:port`` (cached: it depends on nothing else)."""
        key = (scheme, host, port)
        route = self._routes.get(key)
        if route is None:
            route = classify(scheme, host, port, self.gateway_authority, self._direct, self._instrument)
            # The gateway's own origin is always direct, whatever instrument_hosts says: it would loop.
            if route == INSTRUMENT and scheme.lower() == self.gateway_scheme and self.gateway_authority:
                try:
                    if parse_url(compose_url(scheme, host, port, "/")).authority == self.gateway_authority:
                        route = DIRECT
                except InvalidUrl:
                    pass
            if len(self._routes) >= 1024:
                self._routes.clear()
            self._routes[key] = route
        return route

    def has_taints(self) -> bool:
        return bool(self._tainted)

    def is_tainted(self, href: str) -> bool:
        until = self._tainted.get(href)
        return until is not None and until > time.monotonic()

    def taint(self, location: str, base: str) -> None:
        """Remember a hop a remote server chose, so it is screened by the gateway whatever it looks like."""
        try:
            hop = parse_url(urljoin(base, location.strip())).href()
        except (InvalidUrl, ValueError):
            return
        now = time.monotonic()
        with self._lock:
            if len(self._tainted) > 1000:
                for href, until in list(self._tainted.items()):
                    if until <= now:
                        del self._tainted[href]
            self._tainted[hop] = now + TAINT_SECONDS

    # -- fail open ----------------------------------------------------------------------------

    def warn_fail_open(self, why: object) -> None:
        """Say once, loudly, that requests bypass the gateway (only with ``fail_closed=False``)."""
        with self._lock:
            if self._warned:
                return
            self._warned = True
        logger.warning(
            "sphyr: requests are going DIRECT, unscreened and unlogged, because fail_closed is False: %s", why
        )


_current: Optional[SdkState] = None


def current_state() -> Optional[SdkState]:
    """The instrumentation in force in this process, if any."""
    state = _current
    return state if state is not None and state.active else None


def set_current(state: Optional[SdkState]) -> None:
    global _current
    _current = state
