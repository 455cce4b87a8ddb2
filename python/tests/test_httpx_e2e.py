"""httpx Client and AsyncClient through a real gateway to real loopback targets."""
from __future__ import annotations

import asyncio
import hashlib
import time
from typing import AsyncIterator, Callable, Dict, Iterator, List

import httpx
import pytest

import sphyr_sdk
from sphyr_sdk import SphyrPolicyError
from support import Gateway, Target

Instrument = Callable[..., sphyr_sdk.Instrumentation]
PAYLOAD = bytes(range(256)) * 30


def _chunks() -> Iterator[bytes]:
    yield PAYLOAD[:3000]
    yield PAYLOAD[3000:]


async def _achunks() -> AsyncIterator[bytes]:
    yield PAYLOAD[:3000]
    yield PAYLOAD[3000:]


def test_sync_client_relays_with_streamed_bodies_and_logs_agree(
    instrument: Instrument, gateway: Gateway, target: Target
) -> None:
    early = httpx.Client()
    instrument()
    before = gateway.newest_seq()
    with early:
        got = early.get(f"{target.url}/echo?x=1", headers={"X-App": "1"})
        posted = early.post(f"{target.url}/echo", content=_chunks())
    assert got.status_code == 200 and got.headers["sphyr-outcome"] == "allowed"
    assert str(got.url) == f"{target.url}/echo?x=1" and got.json()["headers"]["x-app"] == "1"
    assert posted.json()["sha256"] == hashlib.sha256(PAYLOAD).hexdigest()
    assert httpx.get(f"{target.url}/bytes/200000").content == b"a" * 200000
    records = gateway.records_after(before)
    assert [(r["outcome"], r["method"]) for r in records] == [("allowed", "GET"), ("allowed", "POST"),
                                                              ("allowed", "GET")]
    assert [(s.method, s.path) for s in target.seen] == [("GET", "/echo?x=1"), ("POST", "/echo"),
                                                         ("GET", "/bytes/200000")]


def test_sync_redirects_metadata_and_link_local_hops(
    instrument: Instrument, gateway: Gateway, target: Target
) -> None:
    instrument()
    with httpx.Client(follow_redirects=True) as client:
        followed = client.get(f"{target.url}/redirect?to=%2Fecho")
        assert followed.status_code == 200 and str(followed.url) == f"{target.url}/echo"
        assert [r.status_code for r in followed.history] == [302]
        with pytest.raises(SphyrPolicyError) as raised:
            client.get(f"{target.url}/redirect?to=http%3A%2F%2F169.254.7.7%2F")
        assert raised.value.code == "ssrf_link_local"
        with pytest.raises(SphyrPolicyError) as raised:
            client.get("http://169.254.169.254/latest/meta-data/")
        assert raised.value.code == "ssrf_metadata"
        # A hop the server chose goes through the gateway even to localhost (alone: direct); the
        # test policy opens loopback, so the gateway relays it.
        hop = client.get(f"{target.url}/redirect?to=http%3A%2F%2Flocalhost%3A{target.port}%2Fecho")
        assert hop.headers.get("Sphyr-Outcome") == "allowed"
    assert len(target.seen) == 5
    assert [r["reason"] for r in gateway.log(4)] == ["ssrf_link_local", "ssrf_metadata", "allowed", "allowed"]
    assert gateway.log(1)[0]["host"] == f"localhost:{target.port}"


def test_sync_timeout_is_httpx_own_and_restore_gives_plain_httpx(
    instrument: Instrument, gateway: Gateway, target: Target
) -> None:
    handle = instrument()
    client = httpx.Client()
    with pytest.raises(httpx.ReadTimeout):
        client.get(f"{target.url}/slow?ms=3000", timeout=0.5)
    handle.restore()
    before = gateway.newest_seq()
    plain = client.get(f"{target.url}/echo")
    assert "sphyr-outcome" not in plain.headers and gateway.records_after(before) == []
    client.close()


def test_a_429_is_httpx_own_429(make_gateway: Callable[[Dict[str, object]], Gateway], target: Target) -> None:
    strict = make_gateway({"unsafeAllowRanges": ["127.0.0.0/8"], "rateLimits": {"perAgent": 1}})
    handle = sphyr_sdk.auto_instrument(gateway_url=strict.url, credential=strict.credential,
                                       instrument_hosts=["127.0.0.1"])
    try:
        with httpx.Client() as client:
            assert client.get(f"{target.url}/echo").status_code == 200
            limited = client.get(f"{target.url}/echo")
        assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
        with pytest.raises(httpx.HTTPStatusError):
            limited.raise_for_status()

        async def run() -> httpx.Response:
            await asyncio.sleep(1.1)  # a fresh window
            async with httpx.AsyncClient() as client:
                await client.get(f"{target.url}/echo")
                return await client.get(f"{target.url}/echo")

        assert asyncio.run(run()).status_code == 429
    finally:
        handle.restore()


def test_async_client_made_earlier_relays_concurrently_across_event_loops(
    instrument: Instrument, gateway: Gateway, target: Target
) -> None:
    early = httpx.AsyncClient(follow_redirects=True)
    instrument()
    before = gateway.newest_seq()

    async def first() -> List[int]:
        responses = await asyncio.gather(*(early.get(f"{target.url}/echo?n={i}") for i in range(5)))
        posted = await early.post(f"{target.url}/echo", content=_achunks())
        assert posted.json()["sha256"] == hashlib.sha256(PAYLOAD).hexdigest()
        redirected = await early.get(f"{target.url}/redirect?to=%2Fecho")
        assert str(redirected.url) == f"{target.url}/echo" and len(redirected.history) == 1
        with pytest.raises(SphyrPolicyError) as raised:
            await early.get("http://169.254.169.254/latest/meta-data/")
        assert raised.value.code == "ssrf_metadata"
        await early.aclose()
        return [r.status_code for r in responses]

    assert asyncio.run(first()) == [200] * 5

    async def second() -> int:  # a new event loop: the SDK's gateway pool must not cross loops
        async with httpx.AsyncClient() as client:
            return (await client.get(f"{target.url}/echo")).status_code

    assert asyncio.run(second()) == 200
    reasons = [r["reason"] for r in gateway.records_after(before)]
    assert reasons.count("allowed") == 9 and reasons[-2:] == ["ssrf_metadata", "allowed"]
    assert len(target.seen) == 9


def test_async_relays_never_block_the_event_loop(instrument: Instrument, target: Target) -> None:
    instrument()

    async def run() -> int:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.02)
                ticks += 1

        task = asyncio.create_task(ticker())
        async with httpx.AsyncClient() as client:
            # The first call registers the agent (blocking I/O, in a worker thread) and then waits
            # 600 ms on the target; the loop keeps turning the whole time.
            response = await client.get(f"{target.url}/slow?ms=600")
        task.cancel()
        assert response.text == "late"
        return ticks

    assert asyncio.run(run()) >= 15


def test_async_timeout_is_httpx_own(instrument: Instrument, target: Target) -> None:
    instrument()

    async def run() -> None:
        async with httpx.AsyncClient(timeout=0.5) as client:
            await client.get(f"{target.url}/slow?ms=3000")

    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        asyncio.run(run())
    assert time.monotonic() - started < 2.5


def test_cookies_set_by_the_target_come_back_to_it(instrument: Instrument, target: Target) -> None:
    instrument()
    with httpx.Client() as client:
        client.get(f"{target.url}/set-cookie?flavour=rye")
        assert client.cookies.get("flavour") == "rye"
        assert client.get(f"{target.url}/echo").json()["headers"]["cookie"] == "flavour=rye"


def test_a_hung_gateway_blocks_neither_the_loop_nor_past_the_callers_timeout(
    gateway: Gateway, target: Target
) -> None:
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    handle = sphyr_sdk.auto_instrument(gateway_url=f"http://127.0.0.1:{listener.getsockname()[1]}",
                                       credential=gateway.credential, instrument_hosts=["127.0.0.1"])

    async def run() -> int:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.02)
                ticks += 1

        task = asyncio.create_task(ticker())
        try:
            async with httpx.AsyncClient(timeout=0.8) as client:
                with pytest.raises(httpx.ConnectTimeout):
                    await client.get(f"{target.url}/echo")
        finally:
            task.cancel()
        return ticks

    try:
        started = time.monotonic()
        assert asyncio.run(run()) >= 20  # registration waited in a worker thread, not on the loop
        assert time.monotonic() - started < 5 and target.seen == []
    finally:
        handle.restore()
        listener.close()
