"""Errors: one base class with a stable string ``code`` (DESIGN §7), as in the Node SDK."""
from __future__ import annotations

from typing import Optional


class SphyrError(Exception):
    """Base of every Sphyr error; ``code`` is stable and machine-readable (``ssrf_metadata``, ...)."""

    def __init__(self, code: str, message: str, cause: Optional[BaseException] = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        if cause is not None:
            self.__cause__ = cause

    def __str__(self) -> str:
        return f"{self.message} [{self.code}]"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


class SphyrNetworkError(SphyrError):
    """The gateway could not be reached or answered unusably. Fail-closed: nothing reached the target."""


class SphyrPolicyError(SphyrError):
    """Refused by SSRF screening or policy; ``code`` is the reason (``ssrf_link_local``, ...)."""


class SphyrAuthError(SphyrError):
    """The gateway refused the signature or key: ``bad_signature``, ``key_revoked``, ``clock_skew``..."""


class SphyrConfigError(SphyrError):
    """A local file, variable or option is missing or malformed; the message names which and what to do."""


class SphyrRequestError(SphyrError):
    """The gateway refused the request as malformed (``target_not_canonical``, ``body_too_large``...)."""


class SphyrRateLimitError(SphyrError):
    """Over a gateway rate limit where there is no response to hand back (agent registration)."""

    def __init__(self, code: str, message: str, retry_after_seconds: int = 1) -> None:
        super().__init__(code, message)
        self.retry_after_seconds = retry_after_seconds
