"""Sphyr SDK for Python: every outbound HTTP call of an agent signed, policy-checked and logged.

``auto_instrument()`` covers requests and httpx; aiohttp (``aiohttp_session()``) and urllib
(``build_opener()``) are wrapped by hand. See the "Python SDK" section of the project README.
"""
from __future__ import annotations

from typing import Any

from ._urllib import SphyrHandler, build_opener
from ._version import __version__
from .client import GatewayClient
from .config import read_client_settings
from .credential import Credential, parse_credential
from .errors import (
    SphyrAuthError,
    SphyrConfigError,
    SphyrError,
    SphyrNetworkError,
    SphyrPolicyError,
    SphyrRateLimitError,
    SphyrRequestError,
)
from .instrument import Instrumentation, auto_instrument
from .urls import canonical_target_uri
from .webhook import verify_sphyr_webhook

__all__ = [
    "__version__",
    "Credential",
    "GatewayClient",
    "Instrumentation",
    "SphyrAuthError",
    "SphyrConfigError",
    "SphyrError",
    "SphyrHandler",
    "SphyrNetworkError",
    "SphyrPolicyError",
    "SphyrRateLimitError",
    "SphyrRequestError",
    "aiohttp_session",
    "auto_instrument",
    "build_opener",
    "canonical_target_uri",
    "parse_credential",
    "read_client_settings",
    "verify_sphyr_webhook",
]


def aiohttp_session(*args: Any, **kwargs: Any) -> Any:
    """An ``aiohttp.ClientSession`` relayed through the gateway (imports aiohttp only when called)."""
    from ._aiohttp import aiohttp_session as make

    return make(*args, **kwargs)
