"""Fixtures: a real gateway from this repo's build, real loopback targets, clean instrumentation."""
from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest

import sphyr_sdk
from sphyr_sdk._state import current_state
from support import ROOT, TEST_POLICY, Gateway, Target


def pytest_sessionstart(session: pytest.Session) -> None:
    built = [ROOT / "packages" / "cli" / "dist" / "sphyr.js", ROOT / "packages" / "gateway" / "dist" / "index.js"]
    if not all(path.is_file() for path in built):
        raise pytest.UsageError("the end-to-end tests spawn the built gateway: run `npm run build` first")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int) -> None:
    # A skipped test proves nothing; the suite allows none.
    skipped = terminalreporter.stats.get("skipped", [])
    if skipped:
        terminalreporter.write_line(f"FAILED: {len(skipped)} test(s) skipped; the suite allows none", red=True)
        terminalreporter._session.exitstatus = 1


@pytest.fixture(scope="session")
def gateway() -> Iterator[Gateway]:
    with tempfile.TemporaryDirectory(prefix="sphyr-py-") as tmp:
        gw = Gateway(Path(tmp), TEST_POLICY)
        try:
            yield gw
        finally:
            gw.stop()


@pytest.fixture
def make_gateway() -> Iterator[Callable[..., Gateway]]:
    """Another gateway with its own policy (rate limits...), stopped after the test."""
    made: List[Gateway] = []
    dirs: List[tempfile.TemporaryDirectory[str]] = []

    def make(policy: Dict[str, Any], *extra_args: str) -> Gateway:
        tmp = tempfile.TemporaryDirectory(prefix="sphyr-py-")
        dirs.append(tmp)
        gw = Gateway(Path(tmp.name), policy, *extra_args)
        made.append(gw)
        return gw

    yield make
    for gw in made:
        gw.stop()
    for tmp in dirs:
        tmp.cleanup()


@pytest.fixture
def target() -> Iterator[Target]:
    server = Target()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(autouse=True)
def no_leftover_instrumentation() -> Iterator[None]:
    assert current_state() is None, "a previous test left auto_instrument() in force"
    yield
    leftover = current_state() is not None
    while current_state() is not None:  # restore whatever a failing test left behind
        from sphyr_sdk import instrument

        registry = instrument._registry
        assert registry is not None
        registry.refs = 1
        sphyr_sdk.Instrumentation(registry).restore()
    assert not leftover, "the test left auto_instrument() in force"


@pytest.fixture
def instrument(gateway: Gateway) -> Iterator[Callable[..., sphyr_sdk.Instrumentation]]:
    """``auto_instrument()`` against the session gateway, 127.0.0.1 relayed; restored after the test."""
    handles: List[sphyr_sdk.Instrumentation] = []

    def start(**options: Any) -> sphyr_sdk.Instrumentation:
        settings: Dict[str, Any] = {
            "gateway_url": gateway.url,
            "credential": gateway.credential,
            "instrument_hosts": ["127.0.0.1"],
            "agent_name": "pytest",
        }
        settings.update(options)
        handle = sphyr_sdk.auto_instrument(**settings)
        handles.append(handle)
        return handle

    yield start
    for handle in handles:
        handle.restore()


@pytest.fixture
def sphyr_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING, logger="sphyr_sdk")
    return caplog
