"""Every library signs ``@authority`` as exactly the Host it sends: IPv6, a default port, upper case,
and many threads at once."""
from __future__ import annotations

import asyncio
import threading
from typing import Any, Callable, Dict, List

import httpx
import pytest
import requests

import sphyr_sdk
from support import TEST_POLICY, Gateway, Target


def _all_libraries(url: str) -> Dict[str, Any]:
    async def with_aiohttp() -> Any:
        async with sphyr_sdk.aiohttp_session() as session:
            async with session.post(url, data=b"aio") as response:
                return response.headers.get("Sphyr-Outcome")

    async def with_httpx() -> Any:
        async with httpx.AsyncClient() as client:
            return (await client.post(url, content=b"async")).headers.get("Sphyr-Outcome")

    with sphyr_sdk.build_opener().open(url, data=b"urllib") as response:
        by_urllib = response.headers.get("Sphyr-Outcome")
    return {
        "requests": requests.post(url, data=b"requests").headers.get("Sphyr-Outcome"),
        "httpx": httpx.post(url, content=b"httpx").headers.get("Sphyr-Outcome"),
        "httpx-async": asyncio.run(with_httpx()),
        "aiohttp": asyncio.run(with_aiohttp()),
        "urllib": by_urllib,
    }


@pytest.mark.parametrize("spelling", ["http://[::1]:{port}", "http://[0:0:0:0:0:0:0:1]:{port}/ignored/path"])
def test_a_gateway_on_ipv6_loopback(make_gateway: Callable[..., Gateway], target: Target, spelling: str) -> None:
    gw = make_gateway(TEST_POLICY, "--host", "::1")
    assert gw.url.startswith("http://[::1]:")
    port = gw.url.rsplit(":", 1)[1]
    handle = sphyr_sdk.auto_instrument(gateway_url=spelling.format(port=port), credential=gw.credential,
                                       instrument_hosts=["127.0.0.1"])
    try:
        assert set(_all_libraries(f"{target.url}/echo").values()) == {"allowed"}
        assert len(target.seen) == 5
    finally:
        handle.restore()


def test_an_upper_case_gateway_url(gateway: Gateway, target: Target) -> None:
    handle = sphyr_sdk.auto_instrument(gateway_url=gateway.url.replace("http://", "HTTP://"),
                                       credential=gateway.credential, instrument_hosts=["127.0.0.1"])
    try:
        assert set(_all_libraries(f"{target.url}/echo").values()) == {"allowed"}
    finally:
        handle.restore()


def test_many_threads_share_one_agent_and_every_request_is_relayed(instrument: Callable[..., Any],
                                                                   gateway: Gateway, target: Target) -> None:
    instrument()
    before = gateway.newest_seq()
    statuses: List[int] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        session = requests.Session() if n % 2 else None
        for i in range(5):
            url = f"{target.url}/echo?t={n}&i={i}"
            status = session.get(url).status_code if session else httpx.get(url).status_code
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 60 and len(target.seen) == 60
    records = gateway.records_after(before)
    assert len(records) == 60 and {r["outcome"] for r in records} == {"allowed"}
    assert len({r["agentId"] for r in records}) == 1
