from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import tempfile
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

# The tests never write into the repository: no example database, and Hypothesis's
# own caches go to a temporary folder that is removed at exit.
_HYPOTHESIS_HOME = tempfile.mkdtemp(prefix="capabilities-hypothesis-")
atexit.register(shutil.rmtree, _HYPOTHESIS_HOME, ignore_errors=True)
set_hypothesis_home_dir(_HYPOTHESIS_HOME)
settings.register_profile("no-database", database=None)
settings.load_profile("no-database")

# No bytecode is written into the repository. This process writes none (it still reads
# the installed packages' own); the children it starts (each CLI test is a fresh
# interpreter) share one cache in a temporary folder, so they compile the project once.
sys.dont_write_bytecode = True
_PYCACHE = tempfile.mkdtemp(prefix="capabilities-pycache-")
atexit.register(shutil.rmtree, _PYCACHE, ignore_errors=True)
os.environ["PYTHONPYCACHEPREFIX"] = _PYCACHE
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

pytest_plugins = ["capabilities.testing.fixtures"]

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
HISTORY: list[dict[str, Any]] = json.loads((DATA / "aiter-fused-moe-history.json").read_text())["releases"]

# The two real distributions that install a module "aiter" (see docs/report.md).
REAL_WHEELS = {
    "amd": "amd-aiter==0.1.7.post2.dev18",
    "impostor": "aiter==0.13.20191203",
}


def _install(spec: str, target: Path) -> None:
    """pip-install ``spec`` (no dependencies) into ``target``; pip's own cache keeps the download."""
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), spec], check=True, capture_output=True, timeout=600)


@pytest.fixture(scope="session", params=sorted(REAL_WHEELS))
def real_install(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A folder with a real distribution installed by pip, as ``(which, folder)``.

    Skipped without network, unless CAPABILITIES_REAL_WHEELS=required (as in CI)."""
    which: str = request.param
    target = tmp_path_factory.mktemp(f"real-{which}")
    try:
        _install(REAL_WHEELS[which], target)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        message = f"cannot install {REAL_WHEELS[which]}: {detail.decode(errors='replace')[-500:]}"
        if os.environ.get("CAPABILITIES_REAL_WHEELS") == "required":
            pytest.fail(message)
        pytest.skip(message)
    return which, target


def cli(*argv: str) -> tuple[int, str, str]:
    """``python -m capabilities ARGV`` in this process: (exit code, stdout, stderr)."""
    import io

    from capabilities._cli import main

    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), stdout=out, stderr=err), out.getvalue(), err.getvalue()


def run_cli(*args: str, pythonpath: Path | None = None, timeout: float = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m capabilities ARGS`` in a fresh process (``env``: variables to set)."""
    env = {**os.environ, **(env or {})}
    paths = [str(ROOT)] + ([str(pythonpath)] if pythonpath else [])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return subprocess.run(
        [sys.executable, "-m", "capabilities", *args], env=env, capture_output=True, text=True, timeout=timeout
    )
