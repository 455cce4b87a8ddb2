"""Verifying webhook deliveries (DESIGN §3.9), exactly as the quickstart's Python verifier."""
from __future__ import annotations

import hashlib
import hmac
import re
from typing import Union

_HEX64 = re.compile(r"\A[0-9a-f]{64}\Z")


def verify_sphyr_webhook(
    payload_bytes: Union[bytes, bytearray, memoryview, str],
    received_signature: object,
    secret: str,
) -> bool:
    """Check ``X-Sphyr-Signature``: hex HMAC-SHA256 of the raw body, keyed with the secret's ASCII bytes.

    Pass the body exactly as received (re-serialised JSON will not verify). Constant time; anything
    malformed (no header, a list, a ``sha256=`` prefix, an empty secret) is simply ``False``.
    """
    if not isinstance(received_signature, str) or not isinstance(secret, str) or secret == "":
        return False
    received = received_signature.strip().lower()
    if not _HEX64.match(received):
        return False
    body = payload_bytes.encode("utf-8") if isinstance(payload_bytes, str) else bytes(payload_bytes)
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, received)
