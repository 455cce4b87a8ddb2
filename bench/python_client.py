"""The Python SDK's own overhead, spawned by bench/python.mjs (section "python" of bench/run.mjs).

A closed-loop client like bench/sdk.mjs, with requests (one Session per thread) as an application
uses it. Four arms, all ``GET /1k`` on the local target (bench/target.mjs), the body read to the end:

  hand          the request hand-signed with ``GatewayClient.sign_relay()`` and sent to the
                gateway's ``/v1/relay`` with plain requests; nothing installed (the baseline);
  instrumented  plain ``session.get(target)`` under ``auto_instrument(instrument_hosts=["127.0.0.1"])``:
                the SDK's hook signs and relays it through the same gateway;
  plain         plain ``session.get(target)``, nothing installed: direct to the target;
  excluded      the same with ``auto_instrument()`` installed but 127.0.0.1 not listed, so it goes direct.

Pairs (hand, instrumented) and (plain, excluded) run in halves A-B-B-A per concurrency; an install is
followed by untimed priming requests (registration, warm connections). Prints one JSON object.
Usage: python_client.py '{"gatewayUrl": ..., "credential": ..., "targetUrl": ..., "seconds": 3, ...}'
"""
from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python" / "src"))

import requests  # noqa: E402

import sphyr_sdk  # noqa: E402

EXPECT_BYTES = 1024
RELAYED = ("hand", "instrumented")


class Bench:
    def __init__(self, config: Dict[str, Any]) -> None:
        self.config = config
        self.target: str = config["targetUrl"]
        self.hand_client = sphyr_sdk.GatewayClient(config["gatewayUrl"], config["credential"], "bench-py-hand")
        self.hand_client.agent_id()
        self.installed: Optional[str] = None
        self.handle: Optional[sphyr_sdk.Instrumentation] = None

    def install(self, mode: Optional[str]) -> bool:
        if mode == self.installed:
            return False
        if self.handle is not None:
            self.handle.restore()
            self.handle = None
        self.installed = mode
        if mode is not None:
            self.handle = sphyr_sdk.auto_instrument(
                gateway_url=self.config["gatewayUrl"], credential=self.config["credential"],
                agent_name=f"bench-py-{mode}", instrument_hosts=["127.0.0.1"] if mode == "instrumented" else [],
            )
        return True

    def once(self, arm: str, session: requests.Session) -> Optional[str]:
        if arm == "hand":
            prepared = self.hand_client.sign_relay("GET", self.target)
            response = session.get(prepared.url, headers=dict(prepared.headers))
        else:
            response = session.get(self.target)
        body = response.content
        if response.status_code != 200:
            return f"HTTP {response.status_code}"
        outcome = response.headers.get("sphyr-outcome")
        if arm in RELAYED and outcome != "allowed":
            return f"sphyr-outcome {outcome} (expected allowed)"
        if arm not in RELAYED and outcome is not None:
            return f"sphyr-outcome {outcome} on a request that should go direct"
        if len(body) != EXPECT_BYTES:
            return f"got {len(body)} bytes"
        return None

    def run(self, arm: str, concurrency: int, seconds: float, record: bool) -> Dict[str, Any]:
        mode = arm if arm in ("instrumented", "excluded") else None
        sessions = [requests.Session() for _ in range(concurrency)]
        if self.install(mode):
            for session in sessions:  # untimed: registration and a warm connection per thread
                for _ in range(3):
                    problem = self.once(arm, session)
                    if problem:
                        raise RuntimeError(f"{arm}: priming request failed: {problem}")
        latencies: List[float] = []
        counts = {"ok": 0, "errors": 0}
        first_error: List[str] = []
        lock = threading.Lock()
        deadline = time.perf_counter() + seconds

        def worker(session: requests.Session) -> None:
            mine: List[float] = []
            ok = errors = 0
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    problem = self.once(arm, session)
                except Exception as error:  # noqa: BLE001 - reported, not hidden
                    problem = f"{type(error).__name__}: {error}"
                elapsed = (time.perf_counter() - t0) * 1000
                if problem:
                    errors += 1
                    if not first_error:
                        first_error.append(problem)
                else:
                    ok += 1
                    mine.append(elapsed)
            with lock:
                counts["ok"] += ok
                counts["errors"] += errors
                latencies.extend(mine)

        cpu0, wall0 = time.process_time(), time.perf_counter()
        threads = [threading.Thread(target=worker, args=(s,)) for s in sessions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
        for session in sessions:
            session.close()
        return {"ok": counts["ok"], "errors": counts["errors"], "firstError": first_error[0] if first_error else None,
                "elapsedMs": elapsed * 1000, "cpuMs": cpu * 1000, "latencies": latencies if record else []}


def percentile(values: List[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def summarize(runs: List[Dict[str, Any]]) -> Dict[str, Any]:
    ok = sum(r["ok"] for r in runs)
    errors = sum(r["errors"] for r in runs)
    elapsed = sum(r["elapsedMs"] for r in runs)
    latencies = [x for r in runs for x in r["latencies"]]
    return {
        "requests": ok, "errors": errors, "firstError": next((r["firstError"] for r in runs if r["firstError"]), None),
        "rps": ok / (elapsed / 1000) if elapsed else 0.0,
        "halvesRps": [r["ok"] / (r["elapsedMs"] / 1000) for r in runs],
        "p50Ms": percentile(latencies, 0.5), "p99Ms": percentile(latencies, 0.99),
        "cpuUsPerRequest": 1000 * sum(r["cpuMs"] for r in runs) / max(ok + errors, 1),
    }


def main() -> None:
    config = json.loads(sys.argv[1])
    bench = Bench(config)
    seconds, warmup = float(config.get("seconds", 3)), float(config.get("warmupSeconds", 0.5))
    cells = []
    for baseline, sdk in (("hand", "instrumented"), ("plain", "excluded")):
        for concurrency in config.get("concurrency", [1, 8]):
            for arm in (baseline, sdk):
                bench.run(arm, concurrency, warmup, record=False)
            halves = [bench.run(arm, concurrency, seconds / 2, record=True) for arm in (baseline, sdk, sdk, baseline)]
            a, b = summarize([halves[0], halves[3]]), summarize([halves[1], halves[2]])
            cells.append({"pair": sdk, "baseline": baseline, "sdk": sdk, "concurrency": concurrency,
                          baseline: a, sdk: b, "ratio": b["rps"] / a["rps"] if a["rps"] else 0.0})
    bench.install(None)
    print(json.dumps({
        "python": sys.version.split()[0], "requests": requests.__version__, "sdk": sphyr_sdk.__version__,
        "cells": cells,
    }))


if __name__ == "__main__":
    main()
