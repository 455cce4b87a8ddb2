"""The signing client against a real gateway: registration, session refresh, clock skew, threads."""
from __future__ import annotations

import socket
import threading
import time
from typing import Callable, Iterator, List

import pytest
import requests

import sphyr_sdk
from sphyr_sdk import GatewayClient, SphyrAuthError, SphyrNetworkError
from sphyr_sdk._state import current_state
from support import Gateway, Target

Instrument = Callable[..., sphyr_sdk.Instrumentation]


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers: a hung gateway."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


def test_registers_once_for_every_thread(gateway: Gateway) -> None:
    client = GatewayClient(gateway.url, gateway.credential, "threads")
    calls: List[float] = []
    register = client._register

    def counted(timeout: float, caller_bound: bool) -> str:
        calls.append(timeout)
        time.sleep(0.2)  # hold the registration open while the other threads arrive
        return register(timeout, caller_bound)

    setattr(client, "_register", counted)
    ids: List[str] = []
    threads = [threading.Thread(target=lambda: ids.append(client.agent_id())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and len(ids) == 8 and len(set(ids)) == 1 and ids[0].startswith("agt_")


def test_a_wrong_clock_is_corrected_once_from_the_gateways_date(gateway: Gateway) -> None:
    client = GatewayClient(gateway.url, gateway.credential, "skewed", clock=lambda: time.time() - 3600)
    assert client.agent_id().startswith("agt_")
    assert 3590 < client._offset < 3610


def test_relays_refresh_an_expired_agent_once_and_retry_a_clock_skew_once(
    instrument: Instrument, gateway: Gateway, target: Target
) -> None:
    instrument()
    assert requests.get(f"{target.url}/echo").status_code == 200
    state = current_state()
    assert state is not None and state.client is not None
    first = state.client.cached_agent_id()
    state.client._agent_id = "agt_forgotten_by_the_gateway"
    before = gateway.newest_seq()
    assert requests.get(f"{target.url}/echo").status_code == 200  # session refresh, transparently
    assert state.client.cached_agent_id() not in (None, first, "agt_forgotten_by_the_gateway")
    state.client._offset = -1000.0  # the machine's clock jumped
    assert requests.post(f"{target.url}/echo", data=b"again").json()["bodyBytes"] == 5
    assert -5 < state.client._offset < 5
    reasons = [r["reason"] for r in gateway.records_after(before)]
    assert reasons == ["agent_expired", "allowed", "clock_skew", "allowed"]
    assert len(target.seen) == 3


def test_unknown_and_revoked_keys_are_auth_errors(gateway: Gateway) -> None:
    stranger = GatewayClient(gateway.url, "sphyr.key_nobody." + "A" * 43, "stranger")
    with pytest.raises(SphyrAuthError) as raised:
        stranger.agent_id()
    assert raised.value.code == "unknown_key"
    revoked = gateway.cli("keys", "create", "--name", "to-revoke").strip()
    gateway.cli("keys", "revoke", revoked.split(".")[1])
    with pytest.raises(SphyrAuthError) as raised:
        GatewayClient(gateway.url, revoked, "revoked").agent_id()
    assert raised.value.code == "key_revoked"


def test_something_that_is_not_a_gateway_is_named_as_such(gateway: Gateway, target: Target) -> None:
    with pytest.raises(SphyrNetworkError) as raised:
        GatewayClient(target.url, gateway.credential, "confused").agent_id()
    assert raised.value.code == "gateway_bad_response" and "Sphyr-Outcome" in str(raised.value)


def test_a_gateway_that_never_answers_is_unreachable_after_its_own_limit(
    gateway: Gateway, silent_server: str
) -> None:
    client = GatewayClient(silent_server, gateway.credential, "hung", register_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(SphyrNetworkError) as raised:
        client.agent_id()
    assert raised.value.code == "gateway_unreachable" and time.monotonic() - started < 5


def test_a_callers_timeout_while_registering_is_the_librarys_timeout(
    gateway: Gateway, target: Target, silent_server: str
) -> None:
    handle = sphyr_sdk.auto_instrument(gateway_url=silent_server, credential=gateway.credential,
                                       instrument_hosts=["127.0.0.1"])
    try:
        started = time.monotonic()
        with pytest.raises(requests.exceptions.ConnectTimeout):
            requests.get(f"{target.url}/echo", timeout=0.5)
        assert time.monotonic() - started < 5 and target.seen == []
    finally:
        handle.restore()


def test_the_credential_never_shows_in_the_client_or_its_errors(gateway: Gateway) -> None:
    client = GatewayClient(gateway.url, gateway.credential, "quiet")
    secret = gateway.credential.rsplit(".", 1)[1]
    assert secret not in repr(client)
    with pytest.raises(SphyrNetworkError) as raised:
        GatewayClient("http://127.0.0.1:9", gateway.credential, "down").agent_id()
    assert secret not in str(raised.value) and secret not in repr(raised.value)


def test_hand_signed_relays_are_accepted(gateway: Gateway, target: Target) -> None:
    client = GatewayClient(gateway.url, gateway.credential, "by-hand")
    prepared = client.sign_relay("POST", f"{target.url}/echo#ignored", b"abc", [("Content-Type", "text/plain")])
    response = requests.post(prepared.url, data=b"abc", headers=dict(prepared.headers))
    assert response.headers["Sphyr-Outcome"] == "allowed" and response.json()["bodyBytes"] == 3
    replayed = requests.post(prepared.url, data=b"abc", headers=dict(prepared.headers))
    assert replayed.status_code == 401 and replayed.json()["error"]["code"] == "replay"
