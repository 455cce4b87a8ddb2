"""Fail closed: with the gateway gone nothing reaches the target; fail_closed=False goes direct, warning once."""
from __future__ import annotations

import asyncio
import logging
import socket
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, List

import httpx
import pytest
import requests

import sphyr_sdk
from sphyr_sdk import SphyrConfigError, SphyrNetworkError
from support import TEST_POLICY, Gateway, Target


def _calls(url: str) -> Dict[str, Callable[[], Any]]:
    """One request per library, each returning the status it got."""

    async def with_httpx_async() -> int:
        async with httpx.AsyncClient() as client:
            return (await client.get(url)).status_code

    async def with_aiohttp() -> int:
        async with sphyr_sdk.aiohttp_session() as session:
            async with session.get(url) as response:
                return int(response.status)

    def with_urllib() -> int:
        with sphyr_sdk.build_opener().open(url, timeout=10) as response:
            return int(response.status)

    return {
        "requests": lambda: requests.get(url, timeout=10).status_code,
        "httpx": lambda: httpx.get(url).status_code,
        "httpx-async": lambda: asyncio.run(with_httpx_async()),
        "aiohttp": lambda: asyncio.run(with_aiohttp()),
        "urllib": with_urllib,
    }


def _closed_port() -> str:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return f"http://127.0.0.1:{port}"


def _warnings(caplog: pytest.LogCaptureFixture) -> List[str]:
    return [r.getMessage() for r in caplog.records if r.name == "sphyr_sdk" and r.levelno == logging.WARNING]


def test_a_stopped_gateway_fails_closed_for_every_library_and_the_canary_hears_nothing(
    make_gateway: Callable[[Dict[str, Any]], Gateway], target: Target
) -> None:
    gw = make_gateway(TEST_POLICY)
    handle = sphyr_sdk.auto_instrument(gateway_url=gw.url, credential=gw.credential, instrument_hosts=["127.0.0.1"])
    try:
        assert requests.get(f"{target.url}/echo").status_code == 200  # registered while it was up
        gw.stop()
        target.seen.clear()
        for library, call in _calls(f"{target.url}/echo").items():
            with pytest.raises(SphyrNetworkError) as raised:
                call()
            assert raised.value.code == "gateway_unreachable", library
            assert "nothing was sent to the target" in str(raised.value)
        assert target.seen == []
    finally:
        handle.restore()


def test_a_gateway_never_reached_fails_closed_too(gateway: Gateway, target: Target) -> None:
    handle = sphyr_sdk.auto_instrument(gateway_url=_closed_port(), credential=gateway.credential,
                                       instrument_hosts=["127.0.0.1"])
    try:
        for library, call in _calls(f"{target.url}/echo").items():
            with pytest.raises(SphyrNetworkError) as raised:
                call()
            assert raised.value.code == "gateway_unreachable", library
        assert target.seen == []
    finally:
        handle.restore()


@pytest.mark.parametrize("registered_first", [True, False])
def test_fail_open_sends_direct_with_one_warning(
    make_gateway: Callable[[Dict[str, Any]], Gateway], target: Target, sphyr_log: pytest.LogCaptureFixture,
    registered_first: bool
) -> None:
    gw = make_gateway(TEST_POLICY)
    handle = sphyr_sdk.auto_instrument(fail_closed=False, gateway_url=gw.url, credential=gw.credential,
                                       instrument_hosts=["127.0.0.1"])
    try:
        if registered_first:
            assert requests.get(f"{target.url}/echo").headers["Sphyr-Outcome"] == "allowed"
        gw.stop()
        target.seen.clear()
        statuses = {library: call() for library, call in _calls(f"{target.url}/echo").items()}
        statuses["requests again"] = requests.post(f"{target.url}/echo", data=iter([b"ab", b"c"])).status_code
        assert set(statuses.values()) == {200}, statuses
        assert len(target.seen) == 6 and target.seen[-1].body == b"abc"
        warnings = _warnings(sphyr_log)
        assert len(warnings) == 1 and "DIRECT" in warnings[0] and "fail_closed is False" in warnings[0]
    finally:
        handle.restore()


def test_without_a_credential_relayed_requests_fail_with_the_reason(
    tmp_path: Path, target: Target, monkeypatch: pytest.MonkeyPatch, sphyr_log: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("SPHYR_CREDENTIAL", raising=False)
    monkeypatch.delenv("SPHYR_GATEWAY_URL", raising=False)
    handle = sphyr_sdk.auto_instrument(gateway_url="http://127.0.0.1:9", instrument_hosts=["127.0.0.1"])
    try:
        assert "not signing requests" in _warnings(sphyr_log)[0]
        for library, call in _calls(f"{target.url}/echo").items():
            with pytest.raises(SphyrConfigError) as raised:
                call()
            assert raised.value.code == "not_configured" and "sphyr login" in str(raised.value), library
        assert target.seen == []
    finally:
        handle.restore()
    (tmp_path / ".sphyr").mkdir()
    (tmp_path / ".sphyr" / "config.json").write_text('{"gateway": "http://127.0.0.1:9", "credential": 5}')
    handle = sphyr_sdk.auto_instrument(fail_closed=False, instrument_hosts=["127.0.0.1"])
    try:
        assert requests.get(f"{target.url}/echo").status_code == 200
        assert urllib.request.urlopen(f"{target.url}/echo").status == 200  # not wrapped: plain urllib
        warnings = _warnings(sphyr_log)
        assert any("config.json" in w and '"credential" must be a string' in w for w in warnings)
        assert sum("DIRECT" in w for w in warnings) == 1
    finally:
        handle.restore()
