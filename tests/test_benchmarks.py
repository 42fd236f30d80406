"""The benchmarks run (figures are theirs to print; no timing is asserted here)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.parametrize("flags", [[], ["--no-combine"]])
def test_dispatch_benchmark_runs(flags: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "dispatch.py"), "--calls", "200", "--repeat", "3", *flags],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "ours / upstream = " in done.stdout and "ours / bare     = " in done.stdout


def test_gpu_dispatch_benchmark_runs_on_cpu() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu_dispatch.py"), "--device", "cpu", "--tokens", "1,16",
         "--experts", "8", "--hidden", "64", "--inter", "32", "--iters", "2", "--repeat", "1"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "run/direct" in done.stdout and "n/a (cpu)" in done.stdout


def test_no_combine_benchmark_runs_on_cpu() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "no_combine.py"), "--device", "cpu", "--tokens", "1,16",
         "--experts", "8", "--hidden", "64", "--inter", "32", "--iters", "2", "--rounds", "1"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "emu/native" in lines[1] and len(lines) == 5
    assert all(line.split()[5] == "yes" for line in lines[2:4])  # bitwise equal at each M
    assert "device-to-device copy" in lines[4]
