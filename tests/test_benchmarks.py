"""The benchmarks run (figures are theirs to print; no timing is asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from capabilities.testing import write_fake_aiter, write_fake_entry_points
from tests.conftest import DATA, ROOT

pytestmark = pytest.mark.slow  # each runs a benchmark script in a fresh interpreter


@pytest.mark.parametrize("flags", [[], ["--no-combine"]])
def test_dispatch_benchmark_runs(flags: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "dispatch.py"), "--calls", "200", "--repeat", "3", *flags],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    plan = "native" if flags else "combined"
    assert f"(plan: {plan})" in done.stdout
    for pattern in ("same", "per-forward"):
        assert f"{pattern} ours / floor = " in " ".join(done.stdout.split()) and "ours / upstream = " in done.stdout


SMALL = ["--device", "cpu", "--tokens", "1,16", "--experts", "8", "--hidden", "64", "--inter", "32", "--iters", "2"]


@pytest.mark.parametrize(
    ("script", "flags", "said"),
    [
        ("gpu_dispatch.py", ["--repeat", "1"], ["run/direct", "n/a (cpu)"]),
        ("no_combine.py", ["--rounds", "1"], ["emu/native", "device-to-device copy"]),
    ],
)
def test_gpu_benchmarks_run_on_cpu(script: str, flags: list[str], said: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *SMALL, *flags], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert all(s in done.stdout for s in said)
    if script == "no_combine.py":
        rows = done.stdout.splitlines()[2:4]
        assert [row.split()[5] for row in rows] == ["yes", "yes"]  # bitwise equal at each M


def test_scan_benchmark_runs(tmp_path: Path) -> None:
    history = json.loads((DATA / "aiter-entry-points-history.json").read_text())
    aiter = write_fake_entry_points(tmp_path / "aiter-tree", history["releases"][-1]["entry_points"])
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "scan_speed.py"), "--aiter-path", str(aiter),
         "--generate", "40", "--with-aiter", "4", "--runs", "1"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "scan / floor = " in done.stdout and "scan / floor with parsing = " in done.stdout


def test_report_benchmark_runs(tmp_path: Path) -> None:
    write_fake_aiter(tmp_path / "site", version="0.1.20")
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "report_speed.py"), "--aiter-root", str(tmp_path / "site"), "--runs", "1"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "report / floor" in done.stdout and "import / report" in done.stdout
