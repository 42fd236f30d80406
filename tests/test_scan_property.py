"""A property: on small server modules generated from the shapes servers bind AITER names
with, the scan never says ``ok`` where Python raises TypeError, never ``fails`` where Python
binds, and never leaves the call out. Python's answer comes from importing each module
against a fake AITER and running it, many modules per subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capabilities._scan import scan, trees
from capabilities.testing import write_package

AITER = {
    "aiter/__init__.py": "from .ops.a import *\n",
    "aiter/ops/__init__.py": "",
    "aiter/ops/a.py": "__all__ = ['f']\n\ndef f(x, y, *, k=0):\n    return (x, y, k)\n",
}

# How the server binds the name ``fn`` to aiter's f; {call} is the call, always run.
BINDINGS = {
    "import": "from aiter.ops.a import f as fn\ndef main():\n    return {call}  # CALL\n",
    "alias": "import aiter\nfn = aiter.f\ndef main():\n    return {call}  # CALL\n",
    "try_none": "try:\n    from aiter import f as fn\nexcept ImportError:\n    fn = None\ndef main():\n    return {call}  # CALL\n",
    "if_else": "import os\nif not os.environ.get('NOPE_Q'):\n    from aiter import f as fn\nelse:\n    from json import dumps as fn\ndef main():\n    return {call}  # CALL\n",
    "self_fn": "from aiter import f\nclass L:\n    def __init__(self):\n        self.fn = f\n    def run(self):\n        fn = self.fn\n        return {call}  # CALL\ndef main():\n    return L().run()\n",
    "lazy": "def main():\n    from aiter.ops import a\n    fn = a.f\n    return {call}  # CALL\n",
    "getattr": "import aiter\nfn = getattr(aiter, 'f')\ndef main():\n    return {call}  # CALL\n",
    "default": "import aiter\ndef main(fn=aiter.f):\n    return {call}  # CALL\n",
}
KEYWORDS = ("x", "y", "k", "z")


@st.composite
def modules(draw: st.DrawFn) -> str:
    binding = draw(st.sampled_from(sorted(BINDINGS)))
    positional = draw(st.integers(0, 3))
    keywords = draw(st.lists(st.sampled_from(KEYWORDS), unique=True, max_size=3))
    through = draw(st.sampled_from(["plain", "star", "dict", "dict_literal"]))
    args = [str(i) for i in range(positional)]
    kws = [f"{k}={i}" for i, k in enumerate(keywords)]
    if through == "star" and args:
        args = [f"*({', '.join(args)},)"]
    if through == "dict" and kws:
        kws = [f"**dict({', '.join(kws)})"]
    if through == "dict_literal" and kws:
        kws = ["**{" + ", ".join(f"'{k}': {i}" for i, k in enumerate(keywords)) + "}"]
    call = f"fn({', '.join(args + kws)})"
    return BINDINGS[binding].format(call=call)


_RUN = """
import importlib, json, sys
out = {}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name).main()
        out[name] = "ok"
    except TypeError as exc:
        out[name] = "TypeError"
print(json.dumps(out))
"""


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(modules(), min_size=25, max_size=25))
def test_the_scan_agrees_with_python_on_generated_modules(tmp_path_factory: object, sources: list[str]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="scan-property-") as tmp:
        base = Path(tmp)
        tree = write_package(base / "aiter_tree", AITER)
        code = base / "code"
        code.mkdir()
        lines = {}
        for i, text in enumerate(sources):
            (code / f"gen_{i}.py").write_text(text)
            lines[f"gen_{i}"] = next(n for n, line in enumerate(text.splitlines(), 1) if "# CALL" in line)
        ran = subprocess.run([sys.executable, "-c", _RUN, *lines], cwd=code, capture_output=True, text=True, timeout=120,
                             env={"PYTHONPATH": f"{tree}:{code}"})  # fmt: skip
        assert ran.returncode == 0, ran.stderr
        truth = json.loads(ran.stdout)
        data = scan([code], trees([str(tree)]))
        for name, line in lines.items():
            found = [c for c in data["calls"] if c["file"] == f"{name}.py" and c["line"] == line and c["kind"] == "call"]
            assert found, (name, sources[int(name[4:])])  # never left out
            judged = found[0]  # the one AITER binding, which is the one that runs
            if truth[name] == "TypeError":
                assert judged["verdict"] != "ok", (sources[int(name[4:])], judged)
            else:
                assert judged["verdict"] != "fails", (sources[int(name[4:])], judged)
