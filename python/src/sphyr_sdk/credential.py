"""The credential ``sphyr.<keyid>.<secret>`` (DESIGN §3.1), parsed; its secret never prints."""
from __future__ import annotations

import base64
import binascii
import re

from .errors import SphyrConfigError

_PREFIX = "sphyr"
_KEY_ID = re.compile(r"\A[A-Za-z0-9_-]+\Z")
_BASE64URL = re.compile(r"\A[A-Za-z0-9_-]+\Z")
MIN_SECRET_BYTES = 32
_FIX = "Run `sphyr login` or `sphyr keys create` for a new one."


class Credential:
    """A parsed credential. ``str()``/``repr()`` show the key id only, so a log line stays a redaction."""

    __slots__ = ("key_id", "_secret")

    def __init__(self, key_id: str, secret: bytes) -> None:
        self.key_id = key_id
        self._secret = bytes(secret)

    @property
    def secret(self) -> bytes:
        """The HMAC key: the secret's raw bytes."""
        return self._secret

    def reveal(self) -> str:
        """The full credential string; only for writing it where the user asked for it."""
        text = base64.urlsafe_b64encode(self._secret).rstrip(b"=").decode("ascii")
        return f"{_PREFIX}.{self.key_id}.{text}"

    def __str__(self) -> str:
        return f"{_PREFIX}.{self.key_id}.[redacted]"

    def __repr__(self) -> str:
        return f"Credential({self})"


def parse_credential(text: str, source: str) -> Credential:
    """Parse ``sphyr.<keyid>.<secret>``; ``source`` names where it came from. Errors never repeat it."""
    if not isinstance(text, str):
        raise SphyrConfigError("credential_malformed", f"{source}: the credential must be a string. {_FIX}")
    parts = text.strip().split(".")
    if len(parts) != 3 or parts[0] != _PREFIX:
        raise SphyrConfigError(
            "credential_malformed",
            f"{source}: the credential must look like sphyr.<keyid>.<secret> (three dot-separated parts "
            f'starting with "sphyr"). {_FIX}',
        )
    _, key_id, secret_text = parts
    if not _KEY_ID.match(key_id):
        raise SphyrConfigError(
            "credential_malformed",
            f'{source}: the credential\'s key id may only hold letters, digits, "_" and "-". {_FIX}',
        )
    if not _BASE64URL.match(secret_text) or len(secret_text) % 4 == 1:
        raise SphyrConfigError(
            "credential_malformed", f"{source}: the credential's secret must be base64url without padding. {_FIX}"
        )
    try:
        secret = base64.urlsafe_b64decode(secret_text + "=" * (-len(secret_text) % 4))
    except (binascii.Error, ValueError):
        raise SphyrConfigError(
            "credential_malformed", f"{source}: the credential's secret must be base64url without padding. {_FIX}"
        ) from None
    if len(secret) < MIN_SECRET_BYTES:
        raise SphyrConfigError(
            "credential_malformed",
            f"{source}: the credential's secret decodes to {len(secret)} bytes; at least "
            f"{MIN_SECRET_BYTES} are required. {_FIX}",
        )
    return Credential(key_id, secret)
