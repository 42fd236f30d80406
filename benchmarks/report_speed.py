"""Wall time of ``python -m capabilities --json`` against importing AITER to read the signature.

Both run as fresh processes against the same AITER on the path (``--aiter-root``,
a folder with an installed ``aiter``; e.g. ``pip install --no-deps --target DIR
amd-aiter``). The baseline is what integrations do today:
``from aiter.fused_moe import fused_moe; inspect.signature(fused_moe)``.

    python benchmarks/report_speed.py --aiter-root DIR [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "import inspect\nfrom aiter.fused_moe import fused_moe\ninspect.signature(fused_moe)\n"


def _time(cmd: list[str], env: dict[str, str]) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True)
    return time.perf_counter() - start, done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aiter-root", required=True, type=Path)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(args.aiter_root)]))
    ours, base = [], []
    codes = set()
    for _ in range(args.runs):
        t, code = _time([sys.executable, "-m", "capabilities", "--json"], env)
        ours.append(t)
        codes.add(("report", code))
        t, code = _time([sys.executable, "-c", BASELINE], env)
        base.append(t)
        codes.add(("baseline", code))
    m_ours, m_base = statistics.median(ours), statistics.median(base)
    print(f"runs: {args.runs}  aiter root: {args.aiter_root}")
    print(f"python -m capabilities --json      median {m_ours:.3f} s  (min {min(ours):.3f}, max {max(ours):.3f})")
    print(f"import aiter.fused_moe + signature median {m_base:.3f} s  (min {min(base):.3f}, max {max(base):.3f})")
    print(f"speed-up: {m_base / m_ours:.1f}x")
    print("exit codes: " + ", ".join(f"{k}={c}" for k, c in sorted(codes)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
