"""What can rebind an AITER module's names at run time, read from its files: eval and exec
inside a function, exec into a namespace of its own and ``list(globals())`` leave them alone;
an exec that may declare ``global`` does not. Each claim is checked against Python too."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import capabilities
from capabilities.testing import write_package

PACKAGE = {
    "aiter/__init__.py": "",
    "aiter/tg.py": """
        class TunedGemm:
            def mm(self, inp, dtype="None"):
                return eval(dtype)

        tgemm = TunedGemm()

        def local_exec(a):
            exec("y = 1")
            return a
    """,
    "aiter/ownns.py": """
        exec("f = 1", {})
        ns = eval("1", dict())

        def f(a):
            return a
    """,
    "aiter/dirmod.py": """
        def f(a):
            return a

        def __dir__():
            return sorted(list(globals()))
    """,
    "aiter/patched.py": """
        def f(a):
            return a

        def patch():
            exec("global f\\nf = 1")

        patch()
    """,
    "aiter/fly.py": """
        from not_installed_anywhere_x.kernels import *

        def g(a):
            return a
    """,
    "aiter/getattr_hook.py": """
        def g(a):
            return a

        def __getattr__(name):
            raise AttributeError(name)
    """,
    "aiter/wrapped.py": """
        import functools

        def keep(fn):
            @functools.wraps(fn)
            def w(*args, **kwargs):
                return fn(*args, **kwargs)
            return w

        def adds(fn):
            @functools.wraps(fn)
            def w(*args, **kwargs):
                kwargs["stream"] = 0
                return fn(*args, **kwargs)
            return w

        def pops(fn):
            @functools.wraps(fn)
            def w(*args, **kwargs):
                kwargs.pop("stream", None)
                return fn(*args, **kwargs)
            return w

        def fixes(fn):
            @functools.wraps(fn)
            def w(*args, **kwargs):
                return fn(0, *args, **kwargs)
            return w

        def partial_of(fn):
            @functools.wraps(fn)
            def w(*args, **kwargs):
                return functools.partial(fn, 0)(*args, **kwargs)
            return w

        @keep
        def kept(x, stream):
            return x

        @adds
        def added(x, stream):
            return x

        @pops
        def popped(x):
            return x

        @fixes
        def fixed(ctx, x):
            return x

        @partial_of
        def partial_fixed(ctx, x):
            return x
    """,
    "aiter/computed.py": """
        def f(a):
            return a

        def patch(src):
            exec(src)

        patch("global f\\nf = 1")
    """,
}

CASES = {
    "aiter.tg.tgemm.mm": "resolved",  # eval inside a method binds nothing in the module
    "aiter.tg.local_exec": "resolved",  # exec of a constant text without global: the function's locals
    "aiter.ownns.f": "resolved",  # exec and eval into a dict of their own
    "aiter.dirmod.f": "resolved",  # list(globals()) reads the names
    "aiter.patched.f": "unknown",  # exec("global f ...") rebinds the module's f
    "aiter.computed.f": "unknown",  # exec of text that cannot be read, inside a function
}
# A wrapper keeps the signature only when it passes its arguments on unchanged.
WRAPPED = {
    "aiter.wrapped.kept": "resolved",
    "aiter.wrapped.added": "unknown",  # kwargs["stream"] = ...: a call may leave stream out
    "aiter.wrapped.popped": "unknown",  # kwargs.pop("stream"): a call may pass what fn refuses
    "aiter.wrapped.fixed": "unknown",  # fn(0, *args, **kwargs): one argument fewer
    "aiter.wrapped.partial_fixed": "unknown",  # partial(fn, 0)
}
# Names whose source cannot be read here: unknown, never missing.
UNREADABLE = {
    "aiter.fly.h": "not installed here",  # a star import from a package not installed here
    "aiter.getattr_hook.h": "__getattr__",  # a module __getattr__ (PEP 562) may supply it
}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tree = write_package(tmp_path_factory.mktemp("dyn"), PACKAGE)
    capabilities.clear_cache()
    return tree, capabilities.probe(aiter_path=tree)


@pytest.mark.parametrize(("name", "status"), CASES.items(), ids=list(CASES))
def test_runtime_rebinding_is_read_as_python_does(report: Any, name: str, status: str) -> None:
    _, rep = report
    r = rep.resolve(name)
    assert r.status == status, r.detail


@pytest.mark.parametrize(("name", "status"), WRAPPED.items(), ids=list(WRAPPED))
def test_a_wrapper_that_changes_arguments_is_not_trusted(report: Any, name: str, status: str) -> None:
    _, rep = report
    r = rep.resolve(name)
    assert r.status == status, r.detail
    if status == "resolved":
        assert [p.name for p in r.parameters or ()] == ["x", "stream"]


def test_python_agrees_that_those_wrappers_change_what_binds(report: Any) -> None:
    tree, _ = report
    calls = "from aiter import wrapped as w\nw.added(1)\nw.popped(1, stream=2)\nw.fixed(1)\nw.partial_fixed(1)\nprint('bound')"
    out = subprocess.run([sys.executable, "-c", calls], capture_output=True, text=True, timeout=60, env={"PYTHONPATH": str(tree)})
    assert out.stdout.strip() == "bound", out.stderr  # each call binds, which the bare signature would refuse


@pytest.mark.parametrize(("name", "said"), UNREADABLE.items(), ids=list(UNREADABLE))
def test_what_another_machine_may_supply_is_unknown_not_absent(report: Any, name: str, said: str) -> None:
    _, rep = report
    r = rep.resolve(name)
    assert r.status == "unknown" and said in r.detail, r.detail
    assert rep.resolve(name.rsplit(".", 1)[0] + ".g").status == "resolved"


def test_python_agrees_on_which_names_are_rebound(report: Any) -> None:
    tree, _ = report
    probe = textwrap.dedent("""
        import importlib, inspect, sys
        for dotted in sys.argv[1:]:
            module, *attrs = dotted.split(".")
            parts = dotted.split(".")
            for i in range(len(parts), 0, -1):
                try:
                    obj = importlib.import_module(".".join(parts[:i]))
                    break
                except ImportError:
                    continue
            for a in parts[i:]:
                obj = getattr(obj, a)
            print(dotted, callable(obj) and not isinstance(obj, type))
    """)
    out = subprocess.run([sys.executable, "-c", probe, *CASES], capture_output=True, text=True, timeout=60, env={"PYTHONPATH": str(tree)})
    assert out.returncode == 0, out.stderr
    still = dict(line.split() for line in out.stdout.splitlines())
    for name, status in CASES.items():
        # resolved: Python still finds the function there; unknown here: Python finds it rebound
        assert (still[name] == "True") == (status == "resolved"), (name, still[name])


_DEF = "def fused_moe(a, b):\n    return a\n\ndef _v2(a):\n    return a\n"
# Each replaces fused_moe from outside its def; Python's own signature of it then differs.
PATCHED = {
    "init-patches-through-alias": {"aiter/__init__.py": "from . import fused_moe as _m\n_m.fused_moe = _m._v2\n", "aiter/fused_moe.py": _DEF},
    "helper-imported-last": {
        "aiter/__init__.py": "", "aiter/fused_moe.py": _DEF + "from . import _patch\n",
        "aiter/_patch.py": "import sys\nm = sys.modules['aiter.fused_moe']\nm.fused_moe = m._v2\n",
    },
    "setattr-code": {"aiter/__init__.py": "", "aiter/fused_moe.py": _DEF + "setattr(fused_moe, '__code__', _v2.__code__)\n"},
    "code-through-alias": {"aiter/__init__.py": "", "aiter/fused_moe.py": _DEF + "g = fused_moe\ng.__code__ = _v2.__code__\n"},
    "globals-of-another-function": {"aiter/__init__.py": "", "aiter/fused_moe.py": _DEF + "_v2.__globals__['fused_moe'] = _v2\n"},
    "sys-under-another-name": {"aiter/__init__.py": "", "aiter/fused_moe.py": _DEF + "import sys as _s\n_s.modules[__name__].fused_moe = _v2\n"},
    "import-module-of-itself": {"aiter/__init__.py": "", "aiter/fused_moe.py": _DEF + "import importlib\nimportlib.import_module(__name__).fused_moe = _v2\n"},
    "builtins-globals": {"aiter/__init__.py": "", "aiter/fused_moe.py": _DEF + "import builtins\nbuiltins.globals()['fused_moe'] = _v2\n"},
}


@pytest.mark.parametrize("files", PATCHED.values(), ids=list(PATCHED))
def test_rebinding_from_outside_the_def_is_never_read_as_the_def(tmp_path: Path, files: dict[str, str]) -> None:
    tree = write_package(tmp_path, files)
    capabilities.clear_cache()
    r = capabilities.probe(aiter_path=tree).resolve("aiter.fused_moe.fused_moe")
    assert r.status == "unknown", r.detail
    sig = "import inspect\nfrom aiter.fused_moe import fused_moe\nprint(list(inspect.signature(fused_moe).parameters))"
    out = subprocess.run([sys.executable, "-c", sig], capture_output=True, text=True, timeout=60, env={"PYTHONPATH": str(tree)})
    assert out.stdout.strip() == "['a']", out.stderr  # Python meets _v2, not the def the file shows
