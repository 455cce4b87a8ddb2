"""The ``sphyr-req-v1`` signing profile (DESIGN §3.2): RFC 9421 with HMAC-SHA256, fixed components.

Mirrors src/signing in the Node package; the shared vectors in fixtures/shared keep the two equal.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from typing import Dict, NamedTuple, Optional, Sequence, Tuple

PROFILE_TAG = "sphyr-req-v1"
LABEL = "sig"
ALG = "hmac-sha256"
SIGN_LIFETIME_SECONDS = 60
MAX_LIFETIME_SECONDS = 300
NONCE_BYTES = 16
MIN_KEY_BYTES = 32
EMPTY_CONTENT_DIGEST = "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"

#: Covered components per kind of gateway call; the gateway requires exactly these lists.
COVERED_COMPONENTS: Dict[str, Tuple[str, ...]] = {
    "relay": ("@method", "@authority", "@path", "@query", "sphyr-target-uri", "content-digest",
              "sphyr-agent-id"),
    "agent": ("@method", "@authority", "@path", "@query", "content-digest", "sphyr-agent-id"),
    "register": ("@method", "@authority", "@path", "@query", "content-digest"),
    # POST /v1/tunnel: the relay's list with the tunnel's host:port in place of its target URI.
    "tunnel": ("@method", "@authority", "@path", "@query", "sphyr-target", "content-digest", "sphyr-agent-id"),
}

KEYID_PATTERN = re.compile(r"\A[A-Za-z0-9_-]{1,128}\Z")
NONCE_PATTERN = re.compile(r"\A[A-Za-z0-9_-]{16,128}\Z")
# Visible ASCII and space only: CR/LF would forge base lines, non-ASCII would make bytes ambiguous.
_SAFE_VALUE = re.compile(r"\A[\x20-\x7e]*\Z")


class RequestFacts(NamedTuple):
    """What a signature covers, taken from the request about to be sent to the gateway."""

    method: str
    #: The gateway request's ``host[:port]`` (default port omitted), as sent in ``Host``.
    authority: str
    path: str
    #: The raw query with its leading ``?``, or ``""`` when there is none.
    query: str
    content_digest: str
    target_uri: Optional[str] = None
    agent_id: Optional[str] = None
    #: A tunnel's ``host:port`` (the ``sphyr-target`` header).
    target: Optional[str] = None


class SignatureParams(NamedTuple):
    created: int
    expires: int
    nonce: str
    keyid: str
    alg: str = ALG
    tag: str = PROFILE_TAG


class SignedHeaders(NamedTuple):
    signature_input: str
    signature: str
    params: SignatureParams


def content_digest(body: bytes) -> str:
    """RFC 9530 ``Content-Digest`` (sha-256) of the exact body bytes."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"


def new_nonce() -> str:
    """16 random bytes, base64url without padding (22 characters)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(NONCE_BYTES)).rstrip(b"=").decode("ascii")


def _sf_string(value: str) -> str:
    """An RFC 8941 sf-string: printable ASCII only, ``\\`` and ``"`` escaped."""
    if not _SAFE_VALUE.match(value):
        raise ValueError("structured-field strings hold printable ASCII only")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def serialize_signature_params(components: Sequence[str], params: SignatureParams) -> str:
    """The ``@signature-params`` value: the inner list, then the six parameters in profile order."""
    inner = " ".join(_sf_string(c) for c in components)
    return (
        f"({inner});created={int(params.created)};expires={int(params.expires)}"
        f";nonce={_sf_string(params.nonce)};keyid={_sf_string(params.keyid)}"
        f";alg={_sf_string(params.alg)};tag={_sf_string(params.tag)}"
    )


def _component_value(component: str, facts: RequestFacts) -> Optional[str]:
    if component == "@method":
        return facts.method or None
    if component == "@authority":
        return facts.authority.lower() or None
    if component == "@path":
        return facts.path or "/"
    if component == "@query":
        if facts.query == "":
            return "?"
        if not facts.query.startswith("?"):
            raise ValueError('@query must start with "?"')
        return facts.query
    if component == "sphyr-target-uri":
        return (facts.target_uri or "").strip() or None
    if component == "sphyr-target":
        return (facts.target or "").strip() or None
    if component == "content-digest":
        return facts.content_digest.strip() or None
    if component == "sphyr-agent-id":
        return (facts.agent_id or "").strip() or None
    raise ValueError(f'component "{component}" is not part of {PROFILE_TAG}')


def build_signature_base(kind: str, facts: RequestFacts, params: SignatureParams) -> str:
    """The signature base: one ``"<component>": <value>`` line each, then ``@signature-params``."""
    components = COVERED_COMPONENTS[kind]
    lines = []
    for component in components:
        value = _component_value(component, facts)
        if value is None:
            raise ValueError(f'covered component "{component}" is missing from the request')
        if not _SAFE_VALUE.match(value):
            raise ValueError(f'covered component "{component}" holds characters outside visible ASCII')
        lines.append(f'"{component}": {value}')
    lines.append('"@signature-params": ' + serialize_signature_params(components, params))
    return "\n".join(lines)


def compute_signature(key: bytes, base: str) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the HMAC key must be at least {MIN_KEY_BYTES} bytes")
    return hmac.new(key, base.encode("ascii"), hashlib.sha256).digest()


def sign_request(
    kind: str,
    facts: RequestFacts,
    key_id: str,
    key: bytes,
    now_seconds: float,
    nonce: Optional[str] = None,
) -> SignedHeaders:
    """Sign one gateway request; ``now_seconds`` is already corrected by any known clock offset."""
    if not KEYID_PATTERN.match(key_id):
        raise ValueError("the key id must match [A-Za-z0-9_-]{1,128}")
    nonce = new_nonce() if nonce is None else nonce
    if not NONCE_PATTERN.match(nonce):
        raise ValueError("the nonce must be 16-128 base64url characters")
    created = int(now_seconds // 1)
    params = SignatureParams(created, created + SIGN_LIFETIME_SECONDS, nonce, key_id)
    mac = compute_signature(key, build_signature_base(kind, facts, params))
    return SignedHeaders(
        signature_input=f"{LABEL}=" + serialize_signature_params(COVERED_COMPONENTS[kind], params),
        signature=f"{LABEL}=:" + base64.b64encode(mac).decode("ascii") + ":",
        params=params,
    )
