"""The README's Python quickstart (fixtures/sdk/guard_demo.py), run as written, as a user would."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

from support import ROOT, node

DEMO = ROOT / "fixtures" / "sdk" / "guard_demo.py"


def _readme_blocks() -> List[str]:
    """The README's Python code blocks, in order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", readme, re.DOTALL)


def test_the_readme_shows_the_script_that_is_tested() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"```python\n{DEMO.read_text(encoding='utf-8')}```" in readme


def test_the_quickstart_runs_as_written_signed_relayed_and_logged(tmp_path: Path) -> None:
    helper = subprocess.Popen([node(), str(Path(__file__).with_name("quickstart_gateway.mjs"))],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert helper.stdin is not None and helper.stdout is not None
    try:
        ready = json.loads(helper.stdout.readline() or "{}")
        assert "url" in ready, helper.stderr.read() if helper.stderr else ""
        (tmp_path / ".sphyr").mkdir()
        config = tmp_path / ".sphyr" / "config.json"
        config.write_text(json.dumps({"gateway": ready["url"], "credential": ready["credential"]}))
        config.chmod(0o600)
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp_path),
            "PYTHONPATH": str(ROOT / "python" / "src"),  # as if installed
            # Were the SDK not in force, requests would try this dead proxy, never the internet.
            "HTTPS_PROXY": "http://127.0.0.1:9",
        }
        run = subprocess.run([sys.executable, str(DEMO)], env=env, capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip() == "{'data': 'from api.example.com', 'items': [1, 2, 3]}"
        # The README's aiohttp and urllib example, run as written too.
        wrapped = next(b for b in _readme_blocks() if "aiohttp_session()" in b)
        (tmp_path / "wrapped.py").write_text(wrapped + "print(data, body)\n")
        run = subprocess.run([sys.executable, str(tmp_path / "wrapped.py")], env=env, capture_output=True, text=True,
                             timeout=60)
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip() == (
            "{'data': 'from api.example.com', 'items': [1, 2, 3]} "
            "b'{\"data\":\"from api.example.com\",\"items\":[1,2,3]}'"
        )
    finally:
        out, _ = helper.communicate(timeout=30)
    lines: List[Dict[str, Any]] = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [line["seen"] for line in lines if "seen" in line] == ["GET api.example.com/data"] * 3
    record = next(line["records"] for line in lines if "records" in line)[0]
    assert (record["kind"], record["outcome"], record["host"], record["status"]) == (
        "relay", "allowed", "api.example.com", 200)
    assert record["signature"].startswith("sig=:")


def test_the_readme_webhook_example_verifies_the_design_vector(monkeypatch: Any) -> None:
    from support import load_shared

    vector = load_shared("signing-vectors.json")["webhook"]
    block = next(b for b in _readme_blocks() if "def is_from_sphyr" in b)
    scope: Dict[str, Any] = {}
    exec(compile(block, "README.md", "exec"), scope)
    monkeypatch.setenv("SPHYR_WEBHOOK_SECRET", vector["secret"])
    body = vector["body"].encode()
    assert scope["is_from_sphyr"](body, {"X-Sphyr-Signature": vector["signature"]}) is True
    assert scope["is_from_sphyr"](body + b" ", {"X-Sphyr-Signature": vector["signature"]}) is False
    assert scope["is_from_sphyr"](body, {}) is False
