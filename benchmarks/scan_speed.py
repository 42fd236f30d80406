"""Wall time of ``python -m capabilities scan`` against its floor, measured in one run.

The floor is what any scan must pay: reading every file's bytes (a fresh process
that walks the tree and reads each ``.py``), plus the cold report for the same
AITER (``python -m capabilities --aiter-path DIR --json``). The scan is timed
the same way, as fresh processes, interleaved with both, and the ratio of the
medians is printed.

A second floor adds what reading the calls needs: ``ast.parse`` of each file whose
bytes mention ``aiter``, parsed whole, in the reading process (the target: the scan
costs at most 1.0x this floor). On a real server those files are large (SGLang 0.5.23: 89 files,
3.8 MB), so parsing them costs more than the report does.

The tree is generated (``--generate``, the default: about 4,700 files, about 90
of which use AITER the ways servers do: module-level, lazy and guarded imports,
aliases, positional and keyword calls, ``**`` dicts, enum members), or given
(``--tree DIR``, e.g. an unpacked server wheel).

    python benchmarks/scan_speed.py --aiter-path DIR [--tree DIR | --generate 4700] [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


READ = """
import os, sys
n = 0
for dirpath, dirnames, filenames in os.walk(sys.argv[1]):
    dirnames[:] = [d for d in dirnames if d != "__pycache__" and not d.startswith(".")]
    for name in filenames:
        if name.endswith(".py"):
            with open(os.path.join(dirpath, name), "rb") as f:
                n += len(f.read())
print(n)
"""
# READ, then ast.parse of every file whose bytes mention aiter: what reading the calls needs at
# least, since any such file may bind an AITER name.
READ_PARSE = READ.replace(
    "n += len(f.read())", "data = f.read()\n                n += len(data)\n"
    "                if b'aiter' in data:\n"
    "                    ast.parse(data)"
).replace("import os, sys", "import ast, os, sys")


def _filler(rng: random.Random, size: int) -> str:
    """Plain Python that has nothing to do with AITER, about ``size`` bytes of it."""
    out = ["import math\nimport os\n\n"]
    i = 0
    while sum(map(len, out)) < size:
        i += 1
        out.append(
            textwrap.dedent(
                f'''
                class Helper{i}:
                    """Keeps state for step {i}."""

                    def __init__(self, scale={rng.randint(1, 9)}):
                        self.scale = scale
                        self.items = [x * scale for x in range({rng.randint(3, 30)})]

                    def total(self, bias=0.0):
                        acc = 0.0
                        for k, item in enumerate(self.items):
                            if k % {rng.randint(2, 5)} == 0:
                                acc += math.sqrt(abs(item)) + bias
                            else:
                                acc -= item / (k + 1)
                        return acc


                def compute_{i}(values, *, mode="fast"):
                    helper = Helper{i}()
                    if mode == "fast":
                        return [v * helper.total() for v in values]
                    return {{str(v): os.path.basename(str(v)) for v in values}}
                '''
            )
        )
    return "".join(out)


def _params(resolution: object) -> list[str]:
    params = getattr(resolution, "parameters", None) or ()
    return [p.name for p in params if p.kind.value in ("positional_only", "positional_or_keyword") and p.default is None]


def _aiter_file(rng: random.Random, names: list[tuple[str, list[str]]], size: int, i: int) -> str:
    """A server-like module: AITER imported at module level, lazily and guarded; calls by
    position and by keyword; a ** dict; enum members; an alias."""
    picks = rng.sample(names, k=min(6, len(names)))
    mod_name, mod_params = picks[0]
    module, _, short = mod_name.rpartition(".")
    lines = [
        "import torch\n",
        "import aiter\n",
        "from aiter import QuantType, ActivationType\n",
        f"from {module} import {short}\n",
        "try:\n    from aiter.ops.triton.quant import dynamic_mxfp4_quant\nexcept ImportError:\n    dynamic_mxfp4_quant = None\n",
        f"_alias = aiter.{picks[1][0].split('aiter.', 1)[1]}\n\n",
    ]
    for k, (name, params) in enumerate(picks):
        args = ", ".join(f"a{j}" for j in range(len(params)))
        call = name.split("aiter.", 1)[1]
        lines.append(
            textwrap.dedent(
                f"""
                def use_{i}_{k}(x):
                    from aiter import dtypes
                    a = [x] * {len(params) + 1}
                    {', '.join(f'a{j}' for j in range(len(params))) + (' = a[:' + str(len(params)) + ']') if params else 'pass'}
                    kw = {{}}
                    out = aiter.{call}({args}{', **kw' if k % 2 else ''})
                    if QuantType.per_1x128 is not None and dtypes.fp8 is not None:
                        return out, ActivationType.Silu
                    return out
                """
            )
        )
    lines.append(f"\n\ndef call_directly(x):\n    return {short}({', '.join('x' for _ in mod_params)})\n")
    return "".join(lines) + _filler(rng, size)


def generate(root: Path, total: int, with_aiter: int, aiter_path: str, seed: int = 7) -> Path:
    import capabilities
    from capabilities._entry_catalog import ENTRY_POINTS

    rng = random.Random(seed)
    report = capabilities.probe(aiter_path=aiter_path)
    names = [(n, _params(report.resolve(n))) for n in ENTRY_POINTS if not n.endswith(".fused_moe")]
    names = [(n, p) for n, p in names if report.entry_points[n].status == "resolved"]
    for i in range(total):
        package = root / "server" / f"pkg{i // 100}"
        package.mkdir(parents=True, exist_ok=True)
        init = package / "__init__.py"
        if not init.exists():
            init.write_text("")
        size = int(rng.lognormvariate(9.2, 0.9))  # a few KB to tens of KB, like a server's modules
        if i % (total // with_aiter) == 0 and i // (total // with_aiter) < with_aiter:
            text = _aiter_file(rng, names, 3 * size, i)
        else:
            text = _filler(rng, size)
        (package / f"mod{i}.py").write_text(text)
    return root


def _time(cmd: list[str]) -> float:
    # Steady state: bytecode cached (the first, untimed round writes it), as on most hosts.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # a PYTHONPYCACHEPREFIX still caches
    env["PYTHONPATH"] = str(ROOT)
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr.decode(errors='replace')[-400:]}")
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aiter-path", required=True, help="an AITER tree (a folder holding aiter/)")
    parser.add_argument("--tree", type=Path, help="scan this tree instead of a generated one")
    parser.add_argument("--generate", type=int, default=4700, metavar="N", help="files in the generated tree (default 4700)")
    parser.add_argument("--with-aiter", type=int, default=90, metavar="K", help="of those, how many use AITER (default 90)")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="scan-speed-") as tmp:
        tree = args.tree or generate(Path(tmp), args.generate, args.with_aiter, args.aiter_path)
        python = sys.executable
        commands = {
            "read": [python, "-c", READ, str(tree)],
            "read+parse": [python, "-c", READ_PARSE, str(tree)],
            "report": [python, "-m", "capabilities", "--aiter-path", args.aiter_path, "--json"],
            "scan": [python, "-m", "capabilities", "scan", str(tree), "--aiter-path", args.aiter_path, "--json"],
        }
        times: dict[str, list[float]] = {k: [] for k in commands}
        for cmd in commands.values():
            _time(cmd)  # the untimed round
        for _ in range(args.runs):
            for name, cmd in commands.items():
                times[name].append(_time(cmd))
        med = {k: statistics.median(v) for k, v in times.items()}
        files = sum(1 for _ in Path(tree).rglob("*.py"))
        print(f"tree: {'given ' + str(args.tree) if args.tree else 'generated'}, {files} .py files; runs: {args.runs}")
        for k in commands:
            print(f"{k:<10} median {med[k]:.3f} s  (min {min(times[k]):.3f}, max {max(times[k]):.3f})")
        floor = med["read"] + med["report"]
        parse_floor = med["read+parse"] + med["report"]
        print(f"floor (read + report) {floor:.3f} s; with parsing the AITER files {parse_floor:.3f} s")
        print(f"scan / floor = {med['scan'] / floor:.2f}")
        print(f"scan / floor with parsing = {med['scan'] / parse_floor:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
