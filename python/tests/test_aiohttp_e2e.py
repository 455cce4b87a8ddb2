"""aiohttp, wrapped by hand with aiohttp_session(), through a real gateway to real loopback targets."""
from __future__ import annotations

import asyncio
import hashlib
from typing import Any, AsyncIterator, Callable, Dict, List, Tuple

import aiohttp
import pytest

import sphyr_sdk
from sphyr_sdk import SphyrConfigError, SphyrPolicyError
from sphyr_sdk._state import current_state
from support import Gateway, Target

Instrument = Callable[..., sphyr_sdk.Instrumentation]
PAYLOAD = bytes(range(256)) * 30


async def _chunks() -> AsyncIterator[bytes]:
    yield PAYLOAD[:1000]
    yield PAYLOAD[1000:]


def test_the_session_relays_and_the_two_logs_agree(
    instrument: Instrument, gateway: Gateway, target: Target
) -> None:
    instrument()
    before = gateway.newest_seq()

    async def run() -> Tuple[int, str, Dict[str, Any], str]:
        async with sphyr_sdk.aiohttp_session() as session:
            async with session.get(f"{target.url}/echo?a=1", headers={"X-App": "1"}) as got:
                echo = await got.json()
                outcome = got.headers["Sphyr-Outcome"]
                url = str(got.url)
            async with session.post(f"{target.url}/echo", data=_chunks()) as posted:
                assert (await posted.json())["sha256"] == hashlib.sha256(PAYLOAD).hexdigest()
            async with session.put(f"{target.url}/echo", json={"k": "v"}) as put:
                assert (await put.json())["bodyBytes"] == 10
            async with session.get(f"{target.url}/bytes/150000") as big:
                assert len(await big.read()) == 150000
            return got.status, outcome, echo, url

    status, outcome, echo, url = asyncio.run(run())
    assert (status, outcome, url) == (200, "allowed", f"{target.url}/echo?a=1")
    assert echo["headers"]["x-app"] == "1"
    assert not [h for h in echo["headers"] if h.startswith(("sphyr-", "signature"))]
    records = gateway.records_after(before)
    assert [(r["outcome"], r["method"]) for r in records] == [
        ("allowed", "GET"), ("allowed", "POST"), ("allowed", "PUT"), ("allowed", "GET")]
    assert [s.method for s in target.seen] == ["GET", "POST", "PUT", "GET"]


def test_redirect_hops_are_relayed_and_screened_again(
    instrument: Instrument, gateway: Gateway, target: Target
) -> None:
    instrument()

    async def run() -> List[str]:
        async with sphyr_sdk.aiohttp_session() as session:
            async with session.get(f"{target.url}/redirect?to=%2Fecho") as followed:
                assert followed.status == 200 and str(followed.url) == f"{target.url}/echo"
                assert [h.status for h in followed.history] == [302]
            errors = []
            for url in (f"{target.url}/redirect?to=http%3A%2F%2F169.254.3.3%2F",
                        "http://169.254.169.254/latest/meta-data/"):
                with pytest.raises(SphyrPolicyError) as raised:
                    await session.get(url)
                errors.append(raised.value.code)
            # A hop to localhost goes through the gateway too (the test policy opens loopback).
            async with session.get(f"{target.url}/redirect?to=http%3A%2F%2Flocalhost%3A{target.port}%2Fecho") as hop:
                assert hop.headers.get("Sphyr-Outcome") == "allowed"
            return errors

    assert asyncio.run(run()) == ["ssrf_link_local", "ssrf_metadata"]
    # the redirects reached the target; the blocked hops and the metadata URL never did
    assert [s.path.split("?")[0] for s in target.seen] == ["/redirect", "/echo", "/redirect", "/redirect", "/echo"]
    assert gateway.log(1)[0]["host"] == f"localhost:{target.port}"


def test_cookies_timeouts_and_a_session_refresh(instrument: Instrument, gateway: Gateway, target: Target) -> None:
    instrument()

    async def run() -> None:
        # unsafe=True: aiohttp keeps no cookies for IP-address hosts otherwise (plain aiohttp too).
        async with sphyr_sdk.aiohttp_session(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            await (await session.get(f"{target.url}/set-cookie?flavour=spelt")).read()
            async with session.get(f"{target.url}/echo") as echo:
                assert (await echo.json())["headers"]["cookie"] == "flavour=spelt"
            with pytest.raises(asyncio.TimeoutError):
                await session.get(f"{target.url}/slow?ms=3000", timeout=aiohttp.ClientTimeout(total=0.5))
            state = current_state()
            assert state is not None and state.client is not None
            state.client._agent_id = "agt_forgotten_by_the_gateway"
            state.client._offset = -1000.0
            async with session.post(f"{target.url}/echo", data=b"twice") as retried:
                assert retried.status == 200 and (await retried.json())["bodyBytes"] == 5
            assert state.client.cached_agent_id() != "agt_forgotten_by_the_gateway"

    before = gateway.newest_seq()
    asyncio.run(run())
    reasons = [r["reason"] for r in gateway.records_after(before)]
    # The gateway checks the clock before the agent, so the two retries come in that order.
    assert reasons[-3:] == ["clock_skew", "agent_expired", "allowed"]


def test_restore_gives_plain_aiohttp_back_and_the_factory_needs_auto_instrument(
    instrument: Instrument, gateway: Gateway, target: Target
) -> None:
    with pytest.raises(SphyrConfigError) as raised:
        sphyr_sdk.aiohttp_session()
    assert raised.value.code == "not_instrumented"
    handle = instrument()

    async def run() -> None:
        async with sphyr_sdk.aiohttp_session() as session:
            handle.restore()
            before = gateway.newest_seq()
            async with session.get(f"{target.url}/echo") as plain:
                assert "Sphyr-Outcome" not in plain.headers and plain.status == 200
            assert gateway.records_after(before) == []

    asyncio.run(run())
    assert len(target.seen) == 1


def test_a_429_is_aiohttps_own_429(make_gateway: Callable[[dict[str, object]], Gateway], target: Target) -> None:
    strict = make_gateway({"unsafeAllowRanges": ["127.0.0.0/8"], "rateLimits": {"perAgent": 1}})
    handle = sphyr_sdk.auto_instrument(gateway_url=strict.url, credential=strict.credential,
                                       instrument_hosts=["127.0.0.1"])

    async def run() -> None:
        async with sphyr_sdk.aiohttp_session() as session:
            assert (await session.get(f"{target.url}/echo")).status == 200
            limited = await session.get(f"{target.url}/echo")
            assert limited.status == 429 and limited.headers["Retry-After"] == "1"
            with pytest.raises(aiohttp.ClientResponseError) as raised:
                limited.raise_for_status()
            assert str(raised.value.request_info.url) == f"{target.url}/echo"

    try:
        asyncio.run(run())
    finally:
        handle.restore()
