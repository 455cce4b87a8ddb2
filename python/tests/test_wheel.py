"""The distribution: a wheel builds with no package index, holds the typed package, and imports."""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from support import ROOT

PYTHON_DIR = ROOT / "python"


def test_a_wheel_builds_offline_and_imports_from_itself(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(PYTHON_DIR, source, ignore=shutil.ignore_patterns("tests", "__pycache__", "*.egg-info", "build"))
    out = tmp_path / "wheel"
    out.mkdir()
    # The PEP 517 backend the pyproject names, called directly: no pip, no index, no isolation.
    build = ("import sys, setuptools.build_meta as b; "
             "print(b.build_wheel(sys.argv[1]))")
    done = subprocess.run([sys.executable, "-c", build, str(out)], cwd=source, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    wheel = out / done.stdout.strip().splitlines()[-1]
    assert wheel.name.startswith("sphyr_sdk-0.1.0-py3-none-any")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert {"sphyr_sdk/__init__.py", "sphyr_sdk/py.typed", "sphyr_sdk/_requests.py"} <= names
    assert not [n for n in names if "tests" in n or n.endswith(".pyc")]
    assert "Name: sphyr-sdk" in metadata and "Requires-Python: >=3.9" in metadata
    # No runtime dependency: the only Requires-Dist lines belong to the optional extras.
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert requires and all("extra ==" in line for line in requires)
    imported = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(wheel)!r}); import sphyr_sdk; "
         "print(sphyr_sdk.__version__, sphyr_sdk.__file__)"],
        capture_output=True, text=True, timeout=60,
    )
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.split()[0] == "0.1.0" and str(wheel) in imported.stdout
