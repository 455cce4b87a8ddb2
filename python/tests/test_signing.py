"""sphyr-req-v1 beyond the vector: refusals that keep a signature from meaning two things."""
from __future__ import annotations

import re

import pytest

from sphyr_sdk.signing import RequestFacts, build_signature_base, new_nonce, sign_request

KEY = bytes(range(32))
FACTS = RequestFacts("GET", "gw.test:7470", "/v1/relay", "", "sha-256=:x:", "https://example.com/", "agt_1")


def test_nonces_are_fresh_16_byte_base64url() -> None:
    nonces = {new_nonce() for _ in range(200)}
    assert len(nonces) == 200
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", n) for n in nonces)


def test_each_kind_signs_its_own_component_list() -> None:
    register = sign_request("register", FACTS._replace(target_uri=None, agent_id=None), "key_1", KEY, 100)
    assert register.signature_input.startswith('sig=("@method" "@authority" "@path" "@query" "content-digest");')
    agent = sign_request("agent", FACTS._replace(target_uri=None), "key_1", KEY, 100)
    assert '"content-digest" "sphyr-agent-id");created=100;expires=160;' in agent.signature_input


@pytest.mark.parametrize(
    "facts",
    [
        FACTS._replace(target_uri=None),  # a relay without its target
        FACTS._replace(agent_id=""),  # or without its agent
        FACTS._replace(target_uri="https://example.com/\r\n\"@method\": GET"),  # a forged base line
        FACTS._replace(target_uri="https://bücher.example/"),  # non-ASCII: bytes would be ambiguous
        FACTS._replace(query="a=1"),  # a query must be URL.search form
    ],
)
def test_refuses_to_sign_what_could_mean_two_things(facts: RequestFacts) -> None:
    with pytest.raises(ValueError):
        sign_request("relay", facts, "key_1", KEY, 100)


@pytest.mark.parametrize(
    ("key_id", "key", "nonce"),
    [("key.1", KEY, None), ("", KEY, None), ("key_1", KEY[:31], None), ("key_1", KEY, "short"),
     ("key_1", KEY, "a" * 21 + '"')],
)
def test_refuses_bad_key_ids_short_keys_and_bad_nonces(key_id: str, key: bytes, nonce: object) -> None:
    with pytest.raises(ValueError):
        sign_request("relay", FACTS, key_id, key, 100, nonce=nonce)  # type: ignore[arg-type]


def test_authority_is_signed_lowercase_and_an_empty_path_as_slash() -> None:
    base = build_signature_base("relay", FACTS._replace(authority="GW.Test:7470", path=""),
                                sign_request("relay", FACTS, "key_1", KEY, 100).params)
    assert '"@authority": gw.test:7470\n"@path": /\n"@query": ?\n' in base
