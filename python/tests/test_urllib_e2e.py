"""urllib, wrapped by hand with build_opener(), through a real gateway to real loopback targets."""
from __future__ import annotations

import hashlib
import io
import json
import socket
import urllib.error
import urllib.request
from http.cookiejar import CookieJar
from typing import Callable, Dict

import pytest

import sphyr_sdk
from sphyr_sdk import SphyrConfigError, SphyrPolicyError
from sphyr_sdk._state import current_state
from support import Gateway, Target

Instrument = Callable[..., sphyr_sdk.Instrumentation]


def test_the_opener_relays_and_the_two_logs_agree(
    instrument: Instrument, gateway: Gateway, target: Target
) -> None:
    instrument()
    opener = sphyr_sdk.build_opener()
    before = gateway.newest_seq()
    with opener.open(urllib.request.Request(f"{target.url}/echo?u=1", headers={"X-App": "1"}), timeout=10) as got:
        assert got.status == 200 and got.url == f"{target.url}/echo?u=1"
        assert got.headers["Sphyr-Outcome"] == "allowed"
        echo = json.loads(got.read())
    assert echo["headers"]["x-app"] == "1" and "python-urllib" in echo["headers"]["user-agent"].lower()
    payload = bytes(range(256)) * 20
    with opener.open(urllib.request.Request(f"{target.url}/echo", data=payload, method="put")) as put:
        assert json.loads(put.read())["sha256"] == hashlib.sha256(payload).hexdigest()
    streamed = urllib.request.Request(f"{target.url}/echo", data=io.BytesIO(payload),
                                      headers={"Content-Length": str(len(payload))})
    with opener.open(streamed) as posted:
        assert json.loads(posted.read())["bodyBytes"] == len(payload)
    records = gateway.records_after(before)
    assert [(r["outcome"], r["method"]) for r in records] == [("allowed", "GET"), ("allowed", "PUT"),
                                                              ("allowed", "POST")]
    assert [s.method for s in target.seen] == ["GET", "PUT", "POST"]


def test_redirects_blocks_and_cookies(instrument: Instrument, gateway: Gateway, target: Target) -> None:
    instrument()
    jar = CookieJar()
    opener = sphyr_sdk.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"{target.url}/redirect?to=%2Fecho") as followed:
        assert followed.url == f"{target.url}/echo"
    codes = []
    for url in (f"{target.url}/redirect?to=http%3A%2F%2F169.254.9.9%2F",
                "http://169.254.169.254/latest/meta-data/"):
        with pytest.raises(SphyrPolicyError) as raised:
            opener.open(url)
        codes.append(raised.value.code)
    assert codes == ["ssrf_link_local", "ssrf_metadata"]
    # A hop to localhost goes through the gateway too (the test policy opens loopback).
    with opener.open(f"{target.url}/redirect?to=http%3A%2F%2Flocalhost%3A{target.port}%2Fecho") as hop:
        assert hop.headers.get("Sphyr-Outcome") == "allowed"
    opener.open(f"{target.url}/set-cookie?flavour=barley").read()
    assert [c.name for c in jar] == ["flavour"]
    with opener.open(f"{target.url}/echo") as echo:
        assert json.loads(echo.read())["headers"]["cookie"] == "flavour=barley"
    paths = [s.path.split("?")[0] for s in target.seen]
    assert paths == ["/redirect", "/echo", "/redirect", "/redirect", "/echo", "/set-cookie", "/echo"]


def test_timeouts_a_429_and_a_session_refresh(
    make_gateway: Callable[[Dict[str, object]], Gateway], target: Target
) -> None:
    strict = make_gateway({"unsafeAllowRanges": ["127.0.0.0/8"], "rateLimits": {"perAgent": 2}})
    handle = sphyr_sdk.auto_instrument(gateway_url=strict.url, credential=strict.credential,
                                       instrument_hosts=["127.0.0.1"])
    try:
        opener = sphyr_sdk.build_opener()
        with pytest.raises(socket.timeout):  # urllib's own error for a read that timed out
            opener.open(f"{target.url}/slow?ms=3000", timeout=0.5)
        state = current_state()
        assert state is not None and state.client is not None
        state.client._agent_id = "agt_forgotten_by_the_gateway"
        with opener.open(f"{target.url}/echo") as refreshed:
            assert refreshed.status == 200
        with pytest.raises(urllib.error.HTTPError) as raised:
            opener.open(f"{target.url}/echo")
            opener.open(f"{target.url}/echo")
        assert raised.value.code == 429 and raised.value.headers["Retry-After"] == "1"
        reasons = [r["reason"] for r in strict.log(10)]
        assert reasons[reasons.index("agent_expired") + 1] == "allowed" and reasons[-1] == "rate_limited_agent"
    finally:
        handle.restore()


def test_restore_steps_aside_and_the_opener_needs_auto_instrument(
    instrument: Instrument, gateway: Gateway, target: Target
) -> None:
    with pytest.raises(SphyrConfigError) as raised:
        sphyr_sdk.build_opener()
    assert raised.value.code == "not_instrumented"
    handle = instrument()
    opener = sphyr_sdk.build_opener()
    handle.restore()
    before = gateway.newest_seq()
    with opener.open(f"{target.url}/echo") as plain:
        assert "Sphyr-Outcome" not in plain.headers
    assert gateway.records_after(before) == [] and len(target.seen) == 1
