"""The cold report's cost, against its floor, against the import-based probe, and with many
distributions installed beside AITER: all measured in one run, as fresh processes.

- report: ``python -m capabilities --aiter-path DIR --json``.
- floor: an interpreter that imports pydantic and parses (``ast.parse``) the files the
  probe must read, found by running the probe once (13 on the amd-aiter wheel).
- model floor: the same, importing ``pydantic.BaseModel`` instead. pydantic 2 imports
  lazily: ``import pydantic`` alone loads little of what any model needs, so this floor
  is the one that holds pydantic's own cost.
- import: what integrations do without us, ``from aiter.fused_moe import fused_moe;
  inspect.signature(fused_moe)`` (on a host without ROCm it fails after the import).
- distributions: the report as a server makes it, AITER found on ``sys.path`` (no
  ``--aiter-path``) in a site folder beside 30, then 330, other distributions
  (dist-info folders with METADATA, top_level.txt and a RECORD of 500 to 5,000 rows,
  every tenth of 14,622 rows as torch's), CPU time. ``--bare N`` leaves out every Nth
  top_level.txt (about half the wheels of a current environment have none).

    python benchmarks/report_speed.py --aiter-root DIR [--runs 9] [--bare N]

DIR is a folder with AMD's AITER installed, e.g. ``pip install --no-deps --target DIR amd-aiter``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

IMPORT = "import inspect\nfrom aiter.fused_moe import fused_moe\ninspect.signature(fused_moe)\n"
PARSE = "for f in sys.argv[1:]:\n    ast.parse(open(f, 'rb').read())\n"
FLOOR = "import ast, sys, pydantic\n" + PARSE
MODEL_FLOOR = "import ast, sys\nfrom pydantic import BaseModel\n" + PARSE


def _run(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, env=env, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _files_read(aiter_root: Path) -> list[str]:
    """The module files the probe reads for the report (the floor parses each of them whole)."""
    import capabilities
    from capabilities._report import resolver_for

    report = capabilities.probe(aiter_path=aiter_root)
    resolver = resolver_for(report)
    assert resolver is not None, "no AITER in --aiter-root"
    return sorted(str(p.path) for p in resolver.tree._parsed.values() if not isinstance(p, str))


def _rows(i: int) -> int:
    """RECORD rows of the ``i``-th distribution: 500 to 5,000, and every tenth as large as
    torch's (14,622 rows), as in a server image."""
    return 14_622 if i % 10 == 9 else 500 + (i * 7_919) % 4_501


def _site(base: Path, aiter_root: Path, count: int, bare: int = 0) -> Path:
    """A site folder: the AITER install and ``count`` unrelated distributions with
    METADATA, ``top_level.txt`` and a RECORD listing their files (the files themselves are
    not written: only the metadata is read). With ``bare`` N, every Nth has no
    ``top_level.txt``, as wheels built by flit, hatchling or maturin have none."""
    site = base / f"site-{count}"
    site.mkdir()
    for entry in aiter_root.iterdir():  # installed here, as pip would (hard links: no copy, no symlink)
        if entry.is_dir():
            shutil.copytree(entry, site / entry.name, copy_function=os.link)
        else:
            os.link(entry, site / entry.name)
    for i in range(count):
        name = f"package_{i:03d}"
        info = site / f"{name}-1.{i}.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\nVersion: 1.{i}.0\n")
        if not bare or i % bare:
            (info / "top_level.txt").write_text(f"{name}\n")
        files = [f"{name}/__init__.py", *(f"{name}/sub_{k // 50}/module_{k}.py" for k in range(_rows(i) - 4))]
        rows = [f"{rel},sha256=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA,{1000 + k}" for k, rel in enumerate(files)]
        rows += [f"{info.name}/{m},," for m in ("METADATA", "RECORD", "top_level.txt")]
        (info / "RECORD").write_text("\n".join(rows) + "\n")
    return site


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aiter-root", required=True, type=Path)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--bare", type=int, default=0, metavar="N",
                        help="every Nth generated distribution has no top_level.txt (0: all have one)")
    args = parser.parse_args()
    # Steady state: bytecode is cached (a first, untimed round writes it), as on any host
    # that does not forbid it; PYTHONDONTWRITEBYTECODE would time compiling this project.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # a PYTHONPYCACHEPREFIX still caches
    env["PYTHONPATH"] = str(ROOT)
    python = sys.executable
    files = _files_read(args.aiter_root)
    with tempfile.TemporaryDirectory(prefix="report-speed-") as tmp:
        few, many = _site(Path(tmp), args.aiter_root, 30, args.bare), _site(Path(tmp), args.aiter_root, 330, args.bare)
        commands = {
            "report": [python, "-m", "capabilities", "--aiter-path", str(args.aiter_root), "--json"],
            "floor": [python, "-c", FLOOR, *files],
            "model floor": [python, "-c", MODEL_FLOOR, *files],
            "import": [python, "-c", IMPORT],
            # As a server finds AITER: on sys.path, beside every other distribution.
            "30 dists": [python, "-m", "capabilities", "--json"],
            "330 dists": [python, "-m", "capabilities", "--json"],
        }
        envs = {k: env for k in commands}
        envs["import"] = dict(env, PYTHONPATH=os.pathsep.join([str(ROOT), str(args.aiter_root)]))
        envs["30 dists"] = dict(env, PYTHONPATH=os.pathsep.join([str(ROOT), str(few)]))
        envs["330 dists"] = dict(env, PYTHONPATH=os.pathsep.join([str(ROOT), str(many)]))
        wall: dict[str, list[float]] = {k: [] for k in commands}
        cpu: dict[str, list[float]] = {k: [] for k in commands}
        for name, cmd in commands.items():
            _run(cmd, envs[name])  # the untimed round
        for name in ("30 dists", "330 dists"):  # each finds the AITER installed there, with its owner
            found = json.loads(subprocess.run(commands[name], env=envs[name], capture_output=True, text=True).stdout)["aiter"]
            if found["location"] is None or not found["location"].startswith(str(Path(tmp))):
                raise SystemExit(f"{name}: the report did not find the AITER of its site folder: {found['detail']}")
            print(f"{name}: {found['detail']}")
        for _ in range(args.runs):  # interleaved, so a slow moment of the machine hits every command
            for name, cmd in commands.items():
                w, c = _run(cmd, envs[name])
                wall[name].append(w)
                cpu[name].append(c)
        shutil.rmtree(tmp, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in wall.items()}
    cmed = {k: statistics.median(v) for k, v in cpu.items()}
    print(f"runs: {args.runs}; the floor parses the {len(files)} files the probe reads")
    for k in commands:
        print(f"{k:<11} wall median {med[k]:.3f} s (min {min(wall[k]):.3f})   cpu median {cmed[k]:.3f} s")
    print(f"report / floor           = {med['report'] / med['floor']:.2f}  (wall)")
    print(f"report / model floor     = {med['report'] / med['model floor']:.2f}  (wall)")
    print(f"import / report          = {med['import'] / med['report']:.1f}x")
    print(f"330 dists / 30 dists     = {cmed['330 dists'] / cmed['30 dists']:.3f}  (cpu)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
