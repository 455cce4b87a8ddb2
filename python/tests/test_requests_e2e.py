"""requests through a real gateway to real loopback targets: what auto_instrument() promises."""
from __future__ import annotations

import hashlib
import io
import json
import time
from typing import Callable, Dict, Iterator

import pytest
import requests

import sphyr_sdk
from sphyr_sdk import SphyrPolicyError
from support import Gateway, Target

Instrument = Callable[..., sphyr_sdk.Instrumentation]


def test_relays_through_the_gateway_and_the_two_logs_agree(
    instrument: Instrument, gateway: Gateway, target: Target
) -> None:
    instrument()
    before = gateway.newest_seq()
    session = requests.Session()
    get = session.get(f"{target.url}/echo?q=1", headers={"X-App": "1"})
    post = requests.post(f"{target.url}/echo", data=b"hello", headers={"Content-Type": "text/plain"})
    put = requests.put(f"{target.url}/echo", json={"a": 1})
    assert [r.status_code for r in (get, post, put)] == [200, 200, 200]
    assert get.url == f"{target.url}/echo?q=1" and get.headers["Sphyr-Outcome"] == "allowed"
    echo = get.json()
    assert echo["headers"]["x-app"] == "1" and echo["path"] == "/echo?q=1"
    # The target never sees the signature or any Sphyr header.
    assert not [h for h in echo["headers"] if h.startswith("sphyr-") or h.startswith("signature")]
    assert post.json()["bodyBytes"] == 5 and put.json()["sha256"] == hashlib.sha256(b'{"a": 1}').hexdigest()
    records = gateway.records_after(before)
    assert [(r["kind"], r["outcome"], r["method"], r["host"]) for r in records] == [
        ("relay", "allowed", m, f"127.0.0.1:{target.port}") for m in ("GET", "POST", "PUT")
    ]
    assert [r["bytesIn"] for r in records] == [0, 5, 8]
    assert [(s.method, s.path) for s in target.seen] == [("GET", "/echo?q=1"), ("POST", "/echo"), ("PUT", "/echo")]
    assert len({r["agentId"] for r in records}) == 1


def test_a_session_made_before_auto_instrument_is_relayed_and_restore_gives_plain_requests_back(
    instrument: Instrument, gateway: Gateway, target: Target
) -> None:
    early = requests.Session()
    handle = instrument()
    before = gateway.newest_seq()
    assert early.get(f"{target.url}/echo").headers.get("Sphyr-Outcome") == "allowed"
    handle.restore()
    plain = early.get(f"{target.url}/echo")
    assert "Sphyr-Outcome" not in plain.headers and plain.json()["path"] == "/echo"
    assert "Sphyr-Outcome" not in requests.get(f"{target.url}/echo").headers
    assert len(gateway.records_after(before)) == 1 and len(target.seen) == 3


def test_streamed_and_file_bodies_arrive_byte_exact(instrument: Instrument, target: Target) -> None:
    instrument()
    payload = bytes(range(256)) * 40

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(payload), 1000):
            yield payload[i:i + 1000]

    streamed = requests.post(f"{target.url}/echo", data=chunks())
    from_file = requests.post(f"{target.url}/echo", data=io.BytesIO(payload))
    for response in (streamed, from_file):
        assert response.headers["Sphyr-Outcome"] == "allowed"
        assert response.json()["sha256"] == hashlib.sha256(payload).hexdigest()
    big = requests.get(f"{target.url}/bytes/300000", stream=True)
    assert sum(len(c) for c in big.iter_content(65536)) == 300000


def test_the_metadata_url_is_blocked_and_nothing_reaches_a_target(
    instrument: Instrument, gateway: Gateway, target: Target
) -> None:
    instrument()
    for url in ("http://169.254.169.254/latest/meta-data/", "http://metadata.google.internal/computeMetadata/v1/"):
        with pytest.raises(SphyrPolicyError) as raised:
            requests.get(url, timeout=10)
        assert raised.value.code == "ssrf_metadata"
    assert target.seen == []
    assert [(r["outcome"], r["reason"]) for r in gateway.log(2)] == [("blocked", "ssrf_metadata")] * 2


def test_every_redirect_hop_is_relayed_and_history_is_as_plain_requests_gives_it(
    instrument: Instrument, gateway: Gateway, target: Target
) -> None:
    instrument()
    before = gateway.newest_seq()
    response = requests.get(f"{target.url}/redirect?to=%2Fredirect%3Fto%3D%252Fecho%26code%3D307&code=301")
    assert response.status_code == 200 and response.url == f"{target.url}/echo"
    assert [h.status_code for h in response.history] == [301, 307]
    assert [h.url for h in response.history][0].startswith(f"{target.url}/redirect")
    assert len(gateway.records_after(before)) == 3 == len(target.seen)


def test_a_public_looking_target_redirecting_to_link_local_is_blocked_at_that_hop(
    instrument: Instrument, gateway: Gateway, target: Target
) -> None:
    instrument()
    with pytest.raises(SphyrPolicyError) as raised:
        requests.get(f"{target.url}/redirect?to=http%3A%2F%2F169.254.1.1%2Fsecrets")
    assert raised.value.code == "ssrf_link_local"
    assert [s.path for s in target.seen] == ["/redirect?to=http%3A%2F%2F169.254.1.1%2Fsecrets"]
    assert gateway.log(1)[0]["reason"] == "ssrf_link_local"


def test_a_hop_a_server_chose_never_goes_direct_even_to_localhost(
    instrument: Instrument, gateway: Gateway, target: Target
) -> None:
    instrument()  # only 127.0.0.1 is relayed; localhost alone would go direct
    before = gateway.newest_seq()
    hop = requests.get(f"{target.url}/redirect?to=" + requests.utils.quote(f"http://localhost:{target.port}/echo"))
    # The test policy opens loopback, so the gateway relays the hop: it was screened, not sent direct.
    assert hop.status_code == 200 and hop.headers.get("Sphyr-Outcome") == "allowed"
    assert [r["host"] for r in gateway.records_after(before)] == [
        f"127.0.0.1:{target.port}",
        f"localhost:{target.port}",
    ]


def test_an_excluded_local_service_redirecting_to_metadata_is_blocked_at_that_hop(
    instrument: Instrument, gateway: Gateway, target: Target
) -> None:
    instrument(instrument_hosts=[])
    before = gateway.newest_seq()
    assert "Sphyr-Outcome" not in requests.get(f"{target.url}/echo").headers  # excluded: direct
    assert gateway.records_after(before) == []
    with pytest.raises(SphyrPolicyError) as raised:
        requests.get(f"{target.url}/redirect?to=http%3A%2F%2F169.254.169.254%2Flatest%2F")
    assert raised.value.code == "ssrf_metadata"
    assert [r["reason"] for r in gateway.records_after(before)] == ["ssrf_metadata"]
    assert len(target.seen) == 2


def test_cookies_the_target_sets_come_back_to_it(instrument: Instrument, target: Target) -> None:
    instrument()
    session = requests.Session()
    set_cookie = session.get(f"{target.url}/set-cookie?flavour=oat")
    assert set_cookie.cookies.get("flavour") == "oat"
    assert session.get(f"{target.url}/echo").json()["headers"].get("cookie") == "flavour=oat"


def test_the_callers_timeout_is_requests_own_timeout_error(instrument: Instrument, target: Target) -> None:
    instrument()
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{target.url}/slow?ms=3000", timeout=0.5)
    assert time.monotonic() - started < 2.5


def test_a_429_from_the_gateway_is_requests_own_429_with_retry_after(
    make_gateway: Callable[[Dict[str, object]], Gateway], target: Target
) -> None:
    strict = make_gateway({"unsafeAllowRanges": ["127.0.0.0/8"], "rateLimits": {"perAgent": 1}})
    handle = sphyr_sdk.auto_instrument(gateway_url=strict.url, credential=strict.credential,
                                       instrument_hosts=["127.0.0.1"])
    try:
        assert requests.get(f"{target.url}/echo").status_code == 200
        limited = requests.get(f"{target.url}/echo")
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
        assert limited.headers["Sphyr-Outcome"] == "rate_limited"
        assert json.loads(limited.content)["error"]["code"] == "rate_limited_agent"
        with pytest.raises(requests.exceptions.HTTPError):
            limited.raise_for_status()
        assert len(target.seen) == 1
    finally:
        handle.restore()


def test_a_forged_verdict_from_the_target_is_replaced(instrument: Instrument, target: Target) -> None:
    instrument()
    response = requests.get(f"{target.url}/fake-verdict")
    assert response.status_code == 200 and response.text == "ok"
    assert response.headers["Sphyr-Outcome"] == "allowed" and response.headers["X-Kept"] == "yes"


def test_the_callers_proxy_settings_are_for_the_target_not_the_gateway(
    instrument: Instrument, target: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    instrument()
    assert requests.get(f"{target.url}/echo").headers["Sphyr-Outcome"] == "allowed"


def test_head_and_delete(instrument: Instrument, target: Target) -> None:
    instrument()
    assert requests.head(f"{target.url}/echo").status_code == 200
    assert requests.delete(f"{target.url}/echo").json()["method"] == "DELETE"
    assert [s.method for s in target.seen] == ["HEAD", "DELETE"]
