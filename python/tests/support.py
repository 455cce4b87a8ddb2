"""Test support: a real loopback target server and a real gateway spawned from this repo's build."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, List, Optional
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "fixtures" / "shared"
SPHYR_BIN = ROOT / "bin" / "sphyr.js"
#: Loopback targets open (test only), and limits far above what the tests send.
TEST_POLICY: Dict[str, Any] = {
    "unsafeAllowRanges": ["127.0.0.0/8"],
    "rateLimits": {"perAgent": 10000, "perKey": 10000, "perIp": 10000, "preAuthPerIp": 10000},
}


def load_shared(name: str) -> Any:
    return json.loads((SHARED / name).read_text(encoding="utf-8"))


def node() -> str:
    found = shutil.which("node")
    if found is None:
        raise RuntimeError("node is not on PATH; the end-to-end tests spawn the gateway with it")
    return found


class Seen:
    def __init__(self, method: str, path: str, headers: Dict[str, str], body: bytes) -> None:
        self.method, self.path, self.headers, self.body = method, path, headers, body

    def __repr__(self) -> str:
        return f"Seen({self.method} {self.path}, {len(self.body)} bytes)"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "Target._Server"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def _body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _reply(self, status: int, body: bytes = b"", headers: Optional[Dict[str, str]] = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self) -> None:
        body = self._body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.seen.append(Seen(self.command, self.path, headers, body))
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        if url.path == "/redirect":
            self._reply(int(query.get("code", "302")), headers={"Location": query.get("to", "/echo")})
        elif url.path.startswith("/status/"):
            self._reply(int(url.path.rsplit("/", 1)[1]), b"status page", {"Content-Type": "text/plain"})
        elif url.path == "/slow":
            time.sleep(int(query.get("ms", "2000")) / 1000)
            self._reply(200, b"late")
        elif url.path == "/set-cookie":
            cookies = [f"{k}={v}; Path=/" for k, v in query.items()]
            self.send_response(200)
            for cookie in cookies:
                self.send_header("Set-Cookie", cookie)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path.startswith("/bytes/"):
            self._reply(200, b"a" * int(url.path.rsplit("/", 1)[1]), {"Content-Type": "application/octet-stream"})
        elif url.path == "/fake-verdict":
            self._reply(200, b"ok", {"Sphyr-Outcome": "blocked", "X-Kept": "yes"})
        else:
            echo = {
                "method": self.command,
                "path": self.path,
                "headers": headers,
                "bodyBytes": len(body),
                "sha256": hashlib.sha256(body).hexdigest(),
            }
            self._reply(200, json.dumps(echo).encode(), {"Content-Type": "application/json", "X-Target": "yes"})

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle


class Target:
    """A real HTTP server on 127.0.0.1; ``seen`` is its own access log."""

    class _Server(ThreadingHTTPServer):
        daemon_threads = True
        seen: List[Seen]

    def __init__(self) -> None:
        self._server = Target._Server(("127.0.0.1", 0), _Handler)
        self._server.seen = []
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def seen(self) -> List[Seen]:
        return self._server.seen

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Gateway:
    """``sphyr gateway start`` as a child process, with one key made by ``sphyr keys create``."""

    def __init__(self, workdir: Path, policy: Dict[str, Any], *extra_args: str) -> None:
        self.data_dir = workdir / "data"
        policy_file = workdir / "policy.json"
        policy_file.write_text(json.dumps(policy), encoding="utf-8")
        self.stderr_file = (workdir / "gateway.stderr").open("w+b")
        self.process = subprocess.Popen(
            [node(), str(SPHYR_BIN), "gateway", "start", "--port", "0", "--data-dir", str(self.data_dir),
             "--policy", str(policy_file), *extra_args],
            stdout=subprocess.PIPE, stderr=self.stderr_file, env={**os.environ, "SPHYR_ADMIN_PASSWORD": "x" * 16},
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode().strip()
        if not line.startswith("http"):
            self.process.kill()
            self.stderr_file.seek(0)
            raise RuntimeError(f"the gateway did not start: {self.stderr_file.read().decode()}")
        self.url = line
        self.credential = self.cli("keys", "create", "--name", "pytest").strip()

    def cli(self, *args: str) -> str:
        done = subprocess.run([node(), str(SPHYR_BIN), *args, "--data-dir", str(self.data_dir)],
                              capture_output=True, timeout=60, check=True)
        return done.stdout.decode()

    def log(self, n: int = 10) -> List[Dict[str, Any]]:
        """The newest ``n`` records, oldest first, as ``sphyr log tail --json`` prints them."""
        out = self.cli("log", "tail", "--json", "-n", str(n))
        return [json.loads(line) for line in out.splitlines() if line.startswith("{")]

    def newest_seq(self) -> int:
        records = self.log(1)
        return int(records[-1]["seq"]) if records else 0

    def records_after(self, seq: int) -> List[Dict[str, Any]]:
        return [r for r in self.log(200) if int(r["seq"]) > seq]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.stderr_file.close()
