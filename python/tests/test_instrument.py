"""auto_instrument() itself: idempotent, restore(), other patchers, what is never relayed."""
from __future__ import annotations

from typing import Any, Callable

import httpx
import pytest
import requests
import requests.adapters

import sphyr_sdk
from sphyr_sdk import SphyrPolicyError
from sphyr_sdk._state import current_state
from support import Gateway, Target

Instrument = Callable[..., sphyr_sdk.Instrumentation]
ORIGINAL_SEND = requests.adapters.HTTPAdapter.send
ORIGINAL_HANDLE = httpx.HTTPTransport.handle_request
ORIGINAL_AHANDLE = httpx.AsyncHTTPTransport.handle_async_request


def test_twice_instruments_once_and_the_last_restore_puts_everything_back(
    instrument: Instrument, gateway: Gateway, target: Target
) -> None:
    first = instrument()
    second = sphyr_sdk.auto_instrument(gateway_url="http://127.0.0.1:9", credential=gateway.credential)
    patched = requests.adapters.HTTPAdapter.send
    assert patched is not ORIGINAL_SEND and getattr(patched, "_sphyr_original") is ORIGINAL_SEND
    before = gateway.newest_seq()
    assert requests.get(f"{target.url}/echo").headers["Sphyr-Outcome"] == "allowed"  # the first call's settings
    assert len(gateway.records_after(before)) == 1  # signed once, relayed once
    second.restore()
    second.restore()  # a second restore of the same handle does nothing
    assert current_state() is not None and requests.adapters.HTTPAdapter.send is patched
    first.restore()
    assert current_state() is None
    assert requests.adapters.HTTPAdapter.send is ORIGINAL_SEND
    assert httpx.HTTPTransport.handle_request is ORIGINAL_HANDLE
    assert httpx.AsyncHTTPTransport.handle_async_request is ORIGINAL_AHANDLE


def test_a_patcher_on_top_keeps_its_wrapper_and_ours_goes_inert(
    instrument: Instrument, gateway: Gateway, target: Target
) -> None:
    handle = instrument()
    ours = requests.adapters.HTTPAdapter.send
    seen = []

    def theirs(self: Any, request: Any, **kwargs: Any) -> Any:
        seen.append(request.url)
        return ours(self, request, **kwargs)

    setattr(requests.adapters.HTTPAdapter, "send", theirs)
    try:
        assert requests.get(f"{target.url}/echo").headers["Sphyr-Outcome"] == "allowed"
        handle.restore()
        assert requests.adapters.HTTPAdapter.send is theirs
        before = gateway.newest_seq()
        assert "Sphyr-Outcome" not in requests.get(f"{target.url}/echo").headers
        assert gateway.records_after(before) == [] and len(seen) == 2
    finally:
        setattr(requests.adapters.HTTPAdapter, "send", ORIGINAL_SEND)


def test_the_gateway_itself_is_never_relayed_even_when_listed(instrument: Instrument, gateway: Gateway) -> None:
    instrument(instrument_hosts=["127.0.0.1", "localhost"])
    before = gateway.newest_seq()
    answer = requests.get(f"{gateway.url}/v1/relay")  # straight to the gateway, unsigned
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "missing_signature"
    assert [r["reason"] for r in gateway.records_after(before)] == ["missing_signature"]


def test_other_schemes_and_broken_hosts_are_refused_before_anything_is_sent(instrument: Instrument) -> None:
    instrument()
    with pytest.raises(SphyrPolicyError) as raised:
        httpx.get("http://425.510.425.510/")
    assert raised.value.code == "invalid_url"
    with pytest.raises(SphyrPolicyError) as raised:
        requests.get("http://[fe80::1%25eth0]:1/")
    assert raised.value.code == "invalid_url"


def test_a_custom_adapter_that_calls_the_base_send_is_covered(instrument: Instrument, target: Target) -> None:
    class Retrying(requests.adapters.HTTPAdapter):  # type: ignore[misc]
        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            return super().send(request, *args, **kwargs)

    instrument()
    session = requests.Session()
    session.mount("http://", Retrying(max_retries=2))
    assert session.get(f"{target.url}/echo").headers["Sphyr-Outcome"] == "allowed"
