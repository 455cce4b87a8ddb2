"""The shared fixtures (fixtures/shared/*.json), also read by test/shared-fixtures.test.ts (Node)."""
from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any, Dict, List

import pytest

from libraries import LIBRARIES, library_parts
from sphyr_sdk import SphyrPolicyError, canonical_target_uri, parse_credential, verify_sphyr_webhook
from sphyr_sdk.routing import REFUSE, classify
from sphyr_sdk.signing import (
    COVERED_COMPONENTS,
    EMPTY_CONTENT_DIGEST,
    RequestFacts,
    build_signature_base,
    content_digest,
    sign_request,
)
from sphyr_sdk.urls import InvalidUrl, compose_url, parse_url
from support import load_shared

VECTORS: Dict[str, Any] = load_shared("signing-vectors.json")
ROUTES: Dict[str, Any] = load_shared("route-cases.json")
CANONICAL: List[Dict[str, Any]] = load_shared("target-canonical.json")["cases"]
RELAY = VECTORS["relay"]


def _facts() -> RequestFacts:
    return RequestFacts(
        method=RELAY["method"], authority=RELAY["authority"], path=RELAY["path"], query=RELAY["query"],
        content_digest=RELAY["contentDigest"], target_uri=RELAY["targetUri"], agent_id=RELAY["agentId"],
    )


def test_the_credential_decodes_to_the_vector_key_and_the_body_to_its_digest() -> None:
    credential = parse_credential(RELAY["credential"], "vector")
    assert credential.key_id == RELAY["keyId"]
    assert credential.secret.hex() == RELAY["keyHex"]
    assert content_digest(RELAY["body"].encode()) == RELAY["contentDigest"]
    assert content_digest(b"") == VECTORS["emptyBodyDigest"] == EMPTY_CONTENT_DIGEST


def test_component_lists_of_every_call_kind() -> None:
    assert {k: list(v) for k, v in COVERED_COMPONENTS.items()} == VECTORS["components"]


def test_signature_base_signature_input_and_signature_byte_for_byte() -> None:
    key = bytes.fromhex(RELAY["keyHex"])
    signed = sign_request("relay", _facts(), RELAY["keyId"], key, RELAY["created"], nonce=RELAY["nonce"])
    assert build_signature_base("relay", _facts(), signed.params) == "\n".join(RELAY["base"])
    assert signed.signature_input == RELAY["signatureInput"]
    assert signed.signature == RELAY["signature"]
    # A fractional clock is truncated, as RFC 9421's integer `created` requires.
    again = sign_request("relay", _facts(), RELAY["keyId"], key, RELAY["created"] + 0.999, nonce=RELAY["nonce"])
    assert again.signature == RELAY["signature"]


def test_webhook_vector_with_the_ascii_key_and_not_the_hex_decoded_one() -> None:
    w = VECTORS["webhook"]
    assert verify_sphyr_webhook(w["body"].encode(), w["signature"], w["secret"]) is True
    hex_keyed = hmac.new(bytes.fromhex(w["secret"]), w["body"].encode(), hashlib.sha256).hexdigest()
    assert hex_keyed == w["hexDecodedKeySignature"]  # the counter-example is the other construction
    assert verify_sphyr_webhook(w["body"].encode(), w["hexDecodedKeySignature"], w["secret"]) is False


def _route(case: Dict[str, Any], library: str) -> str:
    gateway = parse_url(case.get("gateway", ROUTES["gateway"])).authority
    try:
        scheme, host, port, _ = library_parts(library, case["url"])
    except Exception:
        return REFUSE  # the library itself will not send it
    return classify(scheme, host, port, gateway, case.get("directHosts", ()), case.get("instrumentHosts", ()))


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("case", ROUTES["cases"], ids=[c["url"] or "(empty)" for c in ROUTES["cases"]])
def test_route_cases(case: Dict[str, Any], library: str) -> None:
    expected = case.get("python", case["node"])
    assert _route(case, library) == expected, case.get("why", "")


def test_every_python_difference_says_why_and_is_the_safe_direction() -> None:
    differences = [c for c in ROUTES["cases"] if "python" in c]
    assert differences, "the table records Python's deliberate differences"
    for case in differences:
        assert case.get("why"), case["url"]
        # Python may relay what Node sends direct, never the other way round.
        assert (case["node"], case["python"]) == ("direct", "instrument"), case["url"]


@pytest.mark.parametrize("case", CANONICAL, ids=[repr(c["input"]) for c in CANONICAL])
def test_canonical_targets(case: Dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(SphyrPolicyError) as raised:
            canonical_target_uri(case["input"])
        assert raised.value.code == case["error"]
        return
    assert canonical_target_uri(case["input"]) == case["href"]
    assert canonical_target_uri(case["href"]) == case["href"]


@pytest.mark.parametrize("case", [c for c in CANONICAL if "href" in c], ids=lambda c: repr(c["input"]))
def test_what_each_library_sends_is_listed_for_node_to_check(case: Dict[str, Any]) -> None:
    """The target the SDK builds from each library's own request is the fixture's href or one of its
    libraryHrefs, which Node checks are WHATWG fixed points (so the gateway accepts them)."""
    allowed = {case["href"], *case.get("libraryHrefs", [])}
    for library in LIBRARIES:
        try:
            scheme, host, port, target = library_parts(library, case["input"])
        except Exception:
            continue
        try:
            href = parse_url(compose_url(scheme.lower(), host, port, target)).href()
        except InvalidUrl:
            # The SDK refuses such a hop before anything is sent (an empty host, say).
            assert classify(scheme, host, port, "gateway.invalid") == REFUSE, library
            continue
        assert href in allowed, f"{library}: {href} (add it to libraryHrefs and run the Node test)"
        assert canonical_target_uri(href) == href


def test_the_vector_credential_round_trips_without_printing_its_secret() -> None:
    credential = parse_credential(RELAY["credential"], "vector")
    assert credential.reveal() == RELAY["credential"]
    secret_text = RELAY["credential"].rsplit(".", 1)[1]
    assert secret_text not in repr(credential) and secret_text not in str(credential)
    assert base64.urlsafe_b64encode(credential.secret).rstrip(b"=").decode() == secret_text
