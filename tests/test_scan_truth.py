"""The scan against Python itself: each shape of how a server binds an AITER name is written
as real files, imported in one subprocess against a fake AITER and called; the scan's verdict
for the binding that ran must be what happened (``unknown`` aside), and no call may be left out."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from capabilities._scan import scan, trees
from capabilities.testing import write_package

AITER = {
    "aiter/__init__.py": "from .ops.a import *\n__version__ = '0.1.20'\n",
    "aiter/ops/__init__.py": "",
    "aiter/ops/a.py": """
        __all__ = ["f", "g", "Holder"]

        def f(x, y, *, k=0):
            return (x, y, k)

        def g(x):
            return x

        class Holder:
            def run(self, x):
                return x
    """,
    "aiter/ops/b.py": "def h(x, y):\n    return (x, y)\n",
}

# name -> (server module; which AITER entry at the "# CALL" line runs, in the scan's order, or
# None where no AITER binding runs there)
CASES: dict[str, tuple[str, int | None]] = {
    "try_def_shadows_handler": ("""
        try:
            from aiter.ops.b import h as _h
            def fused(a, b, c):
                return _h(a, b)
        except ImportError:
            from aiter.ops.a import g as fused
        def main():
            return fused(1, 2, 3)  # CALL
    """, None),
    "handler_binds_none": ("""
        try:
            from aiter.ops.a import f
        except ImportError:
            f = None
        def main():
            return f(1, 2, k=3)  # CALL
    """, 0),
    "handler_stub_def": ("""
        try:
            from aiter.ops.a import g
        except ImportError:
            def g(*a, **k):
                raise RuntimeError
        def main():
            return g(1, 2)  # CALL
    """, 0),
    "elif_rebinds_elsewhere": ("""
        import os
        flag = os.environ.get("NOPE_X") == "1"
        if flag:
            from aiter.ops.a import g as norm
        elif os.environ.get("NOPE_Y"):
            from json import dumps as norm
        else:
            from aiter.ops.b import h as norm
        def main():
            return norm(1)  # CALL
    """, 1),
    "if_else_both_aiter_first_fails": ("""
        import os
        if os.environ.get("NOPE_Z"):
            from aiter.ops.b import h as fn
        else:
            from aiter.ops.a import g as fn
        def main():
            return fn(1)  # CALL
    """, 1),
    "self_fn": ("""
        from aiter.ops.a import f
        class Layer:
            def __init__(self):
                self.fn = f
            def forward(self, x):
                return self.fn(x, preserve=True)  # CALL
        def main():
            return Layer().forward(1)
    """, 0),
    "self_fn_read_before_it_is_stored": ("""
        from aiter.ops.a import f
        class Layer:
            def forward(self, x):
                fn = self.fn
                return fn(x)  # CALL
            def __init__(self):
                self.fn = f
        def main():
            return Layer().forward(1)
    """, 0),
    "class_attribute_through_self": ("""
        from aiter.ops.a import g
        class Layer:
            op = g
            def forward(self, x):
                return self.op(x)  # CALL
        def main():
            return Layer().forward(1)
    """, 0),
    "partial": ("""
        import functools
        import aiter
        p = functools.partial(aiter.f, 1, k=2)
        def main():
            return p(2, 3)  # CALL
    """, 0),
    "default_value": ("""
        import aiter
        def use(x, fn=aiter.g):
            return fn(x, x)  # CALL
        def main():
            return use(1)
    """, 0),
    "decorator_application": ("""
        from aiter.ops.a import f
        def main():
            @f  # CALL
            def inner():
                pass
    """, 0),
    "getattr_literal": ("""
        import aiter
        fn = getattr(aiter, "g")
        def main():
            return fn()  # CALL
    """, 0),
    "import_module": ("""
        import importlib
        m = importlib.import_module("aiter.ops.b")
        def main():
            return m.h(1, 2)  # CALL
    """, 0),
    "star_import": ("""
        from aiter import *
        def main():
            return g(1, 2)  # CALL
    """, 0),
    "global_in_function": ("""
        _fn = None
        def main():
            _load()
            return _fn(1, y=2, k=3)  # CALL
        def _load():
            global _fn
            from aiter.ops.a import f
            _fn = f
    """, 0),
    "class_body_name_does_not_leak": ("""
        from aiter.ops.a import g
        class K:
            g = staticmethod(lambda a, b: a)
            def m(self):
                return g(1)  # CALL
        def main():
            return K().m()
    """, 0),
    "comprehension_shadows": ("""
        from aiter.ops.a import g
        def main():
            return [g(1) for g in [max]]  # CALL
    """, None),
    "type_checking": ("""
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            from aiter.ops.a import g
            g(1, 2, 3)  # CALL
        def main():
            return None
    """, None),
    "foreign_import_in_try": ("""
        try:
            import not_a_module_anywhere_x
            from aiter.ops.a import g
        except ImportError:
            from aiter.ops.b import h as g
        def main():
            return g(1)  # CALL
    """, 1),
    "value_given_twice": ("""
        from aiter.ops.b import h
        def main():
            return h(1, y=2, **{"y": 3})  # CALL
    """, 0),
    "star_args_tuple_display": ("""
        from aiter.ops.b import h
        def main():
            args = (1, 2, 3)
            return h(*args)  # CALL
    """, 0),
    "conditional_dict": ("""
        from aiter.ops.a import f
        def main(c=True):
            return f(1, 2, **(dict(k=1) if c else {}))  # CALL
    """, 0),
    "aiter_self_test": ("""
        import aiter
        if hasattr(aiter, "nope"):
            from aiter.ops.b import h as fn
        else:
            from aiter.ops.a import g as fn
        def main():
            return fn(1)  # CALL
    """, 1),
    "named_test_asked_both_ways": ("""
        import os
        _use = os.environ.get("NOPE_U") == "1"
        if _use:
            from aiter.ops.b import h as norm
        else:
            from json import dumps as norm
        def main():
            if _use:
                return None
            else:
                return norm(1)  # CALL
    """, None),
    "getattr_default_where_the_name_resolves": ("""
        from aiter.ops import a
        def main():
            fn = getattr(a, "g", None)
            if not callable(fn):
                return None
            return fn(1, 2)  # CALL
    """, 0),
    "reexported_by_a_server_module": ("""
        from srv_ops_module import h as norm  # the server's own module re-exports aiter's h
        def main():
            return norm(1)  # CALL
    """, 0),
    "cr_only_line_endings": ("""
        from aiter.ops.b import h
        def main():
            return h(1)  # CALL
    """, 0),
    "default_uses_binding_at_its_point": ("""
        from aiter.ops.a import g
        def use(x, fn=g):
            return fn(x)  # CALL
        from aiter.ops.b import h as g
        def main():
            return use(1)
    """, 0),
}

# name -> (server module, what the scan must say of the AITER site at the "# CALL" line:
# "guarded" where the code catches exactly the error the site raises or getattr gives its default
# instead, "counted" where the error escapes or a broad except swallows it, and words its reason
# must hold). main() records in OUTCOME what its handler caught ("caught TypeError"), or that it
# took getattr's default.
PROBES: dict[str, tuple[str, str, str]] = {
    "except_attribute_error_probes_a_name": ("""
        def main():
            global OUTCOME
            try:
                from aiter.ops import a as mod
                mod.not_there  # CALL
            except (ImportError, AttributeError) as exc:
                OUTCOME = "caught " + type(exc).__name__
    """, "guarded", "the except AttributeError at line 6 handles it"),
    "except_attribute_error_around_a_call": ("""
        from aiter.ops import a
        def main():
            global OUTCOME
            try:
                return a.not_there(1)  # CALL
            except AttributeError as exc:
                OUTCOME = "caught " + type(exc).__name__
    """, "guarded", "handles it"),
    "except_type_error_around_a_call": ("""
        from aiter.ops.b import h
        def main():
            global OUTCOME
            try:
                return h(1)  # CALL
            except TypeError as exc:
                OUTCOME = "caught " + type(exc).__name__
    """, "guarded", "the except TypeError at line 6 handles it"),
    "first_matching_clause_decides": ("""
        from aiter.ops.b import h
        def main():
            global OUTCOME
            try:
                return h(1)  # CALL
            except TypeError as exc:
                OUTCOME = "caught " + type(exc).__name__
            except Exception:
                OUTCOME = "swallowed"
    """, "guarded", "handles it"),
    "broad_except_swallows_a_bad_call": ("""
        from aiter.ops.b import h
        def main():
            global OUTCOME
            try:
                return h(1)  # CALL
            except Exception as exc:
                OUTCOME = "caught " + type(exc).__name__
    """, "counted", "the except Exception at line 6 swallows it"),
    "inner_broad_except_goes_first": ("""
        from aiter.ops.b import h
        def main():
            global OUTCOME
            try:
                try:
                    return h(1)  # CALL
                except BaseException as exc:
                    OUTCOME = "caught " + type(exc).__name__
            except TypeError:
                OUTCOME = "probe"
    """, "counted", "swallows it"),
    "attribute_error_handler_does_not_catch_a_bad_call": ("""
        from aiter.ops.b import h
        def main():
            try:
                return h(1)  # CALL
            except AttributeError:
                return None
    """, "counted", "missing 1 required positional argument"),
    "def_in_a_try_runs_outside_it": ("""
        from aiter.ops.b import h
        try:
            def probe():
                return h(1)  # CALL
        except TypeError:
            probe = None
        def main():
            return probe()
    """, "counted", "missing 1 required positional argument"),
    "generator_runs_outside_the_try": ("""
        from aiter.ops.b import h
        def main():
            try:
                gen = (h(x) for x in [1])  # CALL
            except TypeError:
                return None
            return list(gen)
    """, "counted", "missing 1 required positional argument"),
    "getattr_default_where_the_name_is_absent": ("""
        from aiter.ops import a
        def main():
            global OUTCOME
            fn = getattr(a, "not_there", None)
            if not callable(fn):
                OUTCOME = "the default"
                return None
            return fn(1)  # CALL
    """, "guarded", "getattr gives the default None (line 4) where the name is absent"),
    # A key set only under a test that asks AITER itself: where the test holds the call fails
    # as Python says, and the scan reports it guarded; where it does not, the call binds.
    "kwargs_key_under_an_aiter_test_that_holds": ("""
        import aiter
        from aiter.ops.a import g
        def main():
            kw = {}
            if hasattr(aiter, "f"):
                kw["extra"] = 1
            return g(1, **kw)  # CALL
    """, "self-test", "'extra' only when the AITER test `hasattr(aiter, 'f')` holds"),
    "kwargs_key_set_both_ways_of_an_aiter_test": ("""
        import aiter
        from aiter.ops.a import g
        def main():
            kw = {}
            if hasattr(aiter, "not_there"):
                kw["extra"] = 1
            else:
                kw["extra"] = 2
            return g(1, **kw)  # CALL
    """, "not-guarded", "extra"),
    "kwargs_key_under_an_aiter_test_that_fails": ("""
        import aiter
        from aiter.ops.a import g
        def main():
            kw = dict()
            if hasattr(aiter, "not_there"):
                kw.update(extra=1)
            return g(1, **kw)  # CALL
    """, "self-test", "'extra' only when the AITER test `hasattr(aiter, 'not_there')` holds"),
}

# Modules of the server that no case runs directly.
EXTRA = {"srv_ops_module.py": "from aiter.ops.b import h\n"}

_RUN = """
import importlib, json, sys, traceback
out = {}
for name in sys.argv[1:]:
    try:
        module = importlib.import_module("srv_" + name)
        module.main()
        out[name] = "ok"
        if getattr(module, "OUTCOME", None):
            out[name + ":outcome"] = module.OUTCOME
    except TypeError as exc:
        out[name] = "TypeError: " + str(exc)
    except Exception as exc:
        out[name] = type(exc).__name__ + ": " + str(exc)
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], dict[str, list[dict[str, Any]]], dict[str, int]]:
    base = tmp_path_factory.mktemp("truth")
    tree = write_package(base / "aiter_tree", AITER, version="0.1.20", distribution="amd-aiter")
    code = base / "code"
    code.mkdir()
    lines: dict[str, int] = {}
    sources = {name: case[0] for name, case in (*CASES.items(), *PROBES.items())}
    for name, source in sources.items():
        text = textwrap.dedent(source).lstrip("\n")
        lines[name] = next(i for i, line in enumerate(text.splitlines(), 1) if "# CALL" in line)
        if name == "cr_only_line_endings":
            text = text.replace("\n", "\r")
        (code / f"srv_{name}.py").write_bytes(text.encode())
    for rel, text in EXTRA.items():
        (code / rel).write_text(text)
    ran = subprocess.run(
        [sys.executable, "-c", _RUN, *sources], cwd=code, capture_output=True, text=True, timeout=120,
        env={"PYTHONPATH": f"{tree}:{code}", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    truth = json.loads(ran.stdout)
    data = scan([code], trees([str(tree)]))
    entries: dict[str, list[dict[str, Any]]] = {name: [] for name in sources}
    for c in data["calls"]:
        name = c["file"].removeprefix("srv_").removesuffix(".py")
        if name in lines and c["kind"] in ("call", "reference") and c["line"] == lines[name]:
            entries[name].append(c)
    return truth, entries, lines


@pytest.mark.parametrize("name", CASES)
def test_the_binding_that_runs_gets_pythons_verdict(name: str, outcome: tuple[dict[str, str], dict[str, list[dict[str, Any]]], dict[str, int]]) -> None:
    truth, entries, _ = outcome
    runs = CASES[name][1]
    happened = truth[name]
    found = entries[name]
    if runs is None:
        assert all(not e["counts"] for e in found), (happened, found)
        return
    assert len(found) > runs, (happened, found)  # never left out
    judged = found[runs]
    want = "fails" if happened.startswith("TypeError") else "ok"
    assert happened == "ok" or happened.startswith("TypeError"), happened
    assert judged["verdict"] in (want, "unknown"), (happened, judged)
    assert judged["verdict"] != "unknown", (happened, judged)  # each of these shapes is readable
    if want == "fails":
        assert judged["counts"] or judged["guarded"], judged
    for other in found:
        assert other["verdict"] != "ok" or not happened.startswith("TypeError") or other is not judged


@pytest.mark.parametrize("name", PROBES)
def test_an_except_that_names_the_error_is_a_probe(name: str, outcome: tuple[dict[str, str], dict[str, list[dict[str, Any]]], dict[str, int]]) -> None:
    truth, entries, _ = outcome
    _, want, words = PROBES[name]
    happened, caught = truth[name], truth.get(name + ":outcome", "")
    found = entries[name]
    assert len(found) == 1, found  # never left out
    judged = found[0]
    if want == "not-guarded":  # set on every path: Python fails; never hidden as guarded (unknown may say so)
        assert happened.startswith("TypeError"), happened
        assert judged["verdict"] in ("fails", "unknown") and not judged["guarded"], judged
        return
    assert judged["verdict"] == "fails", (happened, judged)
    assert words in judged["why"], judged["why"]
    if want == "self-test":
        assert happened == "ok" or judged["why"].startswith(happened.removeprefix("TypeError: ")), (happened, judged["why"])
        assert judged["guarded"] and not judged["counts"], judged
    elif want == "guarded":
        assert happened == "ok" and caught, (happened, caught)
        if caught.startswith("caught "):
            assert f"the except {caught.split()[1]} at line" in judged["why"], (caught, judged["why"])
        assert judged["guarded"] and not judged["counts"], judged
    else:  # the error escaped main(), or a broad except caught it
        assert happened.startswith("TypeError") or (happened == "ok" and caught.startswith("caught ")), (happened, caught)
        assert judged["counts"] and not judged["guarded"], judged
