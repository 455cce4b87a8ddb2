"""verify_sphyr_webhook beyond the vector: everything malformed is simply False."""
from __future__ import annotations

import pytest

from sphyr_sdk import verify_sphyr_webhook
from support import load_shared

W = load_shared("signing-vectors.json")["webhook"]
BODY = W["body"].encode()


def test_the_quickstart_form_bytes_and_either_hex_case() -> None:
    assert verify_sphyr_webhook(BODY, W["signature"], W["secret"])
    assert verify_sphyr_webhook(bytearray(BODY), W["signature"].upper(), W["secret"])
    assert verify_sphyr_webhook(W["body"], W["signature"], W["secret"])


@pytest.mark.parametrize(
    ("body", "signature", "secret"),
    [
        (BODY + b" ", W["signature"], W["secret"]),  # a changed body
        (b'{"type": "policy.blocked", "id": "evt_01J9Z3"}', W["signature"], W["secret"]),  # re-serialised JSON
        (BODY, W["signature"], W["secret"].replace("00", "01", 1)),  # another secret
        (BODY, W["signature"][:63], W["secret"]),  # truncated
        (BODY, "sha256=" + W["signature"], W["secret"]),  # a prefix
        (BODY, None, W["secret"]),  # no header
        (BODY, [W["signature"]], W["secret"]),  # a repeated header as a list
        (BODY, W["signature"], ""),  # an empty secret
        (BODY, "g" * 64, W["secret"]),  # not hex
    ],
)
def test_rejects(body: bytes, signature: object, secret: str) -> None:
    assert verify_sphyr_webhook(body, signature, secret) is False
