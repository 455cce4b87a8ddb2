"""``auto_instrument()``: requests and httpx through the gateway, for the whole process."""
from __future__ import annotations

import importlib.util
import threading
from typing import Callable, Iterable, List, Optional, Union

from ._state import SdkState, logger, resolve_settings, set_current
from .credential import Credential


class _Registry:
    def __init__(self, state: SdkState, undo: List[Callable[[], None]]) -> None:
        self.state = state
        self.undo = undo
        self.refs = 0


_lock = threading.Lock()
_registry: Optional[_Registry] = None


class Instrumentation:
    """What ``auto_instrument()`` returns: ``restore()`` undoes that call."""

    def __init__(self, registry: _Registry) -> None:
        self._registry: Optional[_Registry] = registry

    @property
    def active(self) -> bool:
        return self._registry is not None

    def restore(self) -> None:
        """Undo this call; the last ``restore()`` gives every library its plain behaviour back."""
        global _registry
        with _lock:
            registry, self._registry = self._registry, None
            if registry is None:
                return
            registry.refs -= 1
            if registry.refs > 0:
                return
            registry.state.active = False
            for undo in registry.undo:
                undo()
            if _registry is registry:
                _registry = None
                set_current(None)


def _patch_libraries() -> List[Callable[[], None]]:
    """Patch what is installed; a library that is not is simply not patched."""
    undo: List[Callable[[], None]] = []
    if importlib.util.find_spec("requests") is not None:
        from . import _requests

        undo.append(_requests.patch())
    if importlib.util.find_spec("httpx") is not None:
        from . import _httpx

        undo.append(_httpx.patch())
    return undo


def auto_instrument(
    fail_closed: bool = True,
    gateway_url: Optional[str] = None,
    credential: Optional[Union[str, Credential]] = None,
    agent_name: Optional[str] = None,
    direct_hosts: Iterable[str] = (),
    instrument_hosts: Iterable[str] = (),
) -> Instrumentation:
    """Route every outbound requests and httpx call of this process through the Sphyr gateway:
    signed, screened and logged. Loopback, RFC 1918 and the gateway itself go direct; everything
    else is relayed, each redirect hop screened again. Calling it twice instruments once (the first
    call's settings hold); each call's ``restore()`` undoes it.

    Settings not given come from ``SPHYR_CREDENTIAL``/``SPHYR_GATEWAY_URL`` or
    ``~/.sphyr/config.json`` (``sphyr login`` writes it), ``SPHYR_AGENT_NAME``,
    ``SPHYR_DIRECT_HOSTS`` and ``SPHYR_INSTRUMENT_HOSTS`` (comma-separated).
    """
    global _registry
    with _lock:
        if _registry is None:
            settings = resolve_settings(
                fail_closed, gateway_url, credential, agent_name, direct_hosts, instrument_hosts
            )
            state = SdkState(settings)
            if settings.problem is not None:
                logger.warning("sphyr: not signing requests: %s", settings.problem)
            set_current(state)
            _registry = _Registry(state, _patch_libraries())
        _registry.refs += 1
        return Instrumentation(_registry)
