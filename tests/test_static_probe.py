"""The static probe reads what the source pins down, and says "unknown" otherwise."""

from __future__ import annotations

from typing import Any

import pytest

import capabilities
from capabilities import AiterStatus, Support
from capabilities.model import ParameterKind

# Shapes of fused_moe.py whose signature cannot be known without running it.
AMBIGUOUS = {
    "conditional def": "import os\nif os.environ.get('X'):\n    def fused_moe(x, no_combine=False): ...\nelse:\n    def fused_moe(x): ...\n",
    "def in try": "try:\n    from ._impl import fused_moe\nexcept ImportError:\n    def fused_moe(x, no_combine=False): ...\n",
    "two defs then a rebinding": "def fused_moe(x): ...\ndef fused_moe(x, no_combine=False): ...\nfused_moe = print\n",
    "globals": "def fused_moe(x, no_combine=False): ...\nglobals()['fused_moe'] = print\n",
    "setattr on the module": "import sys\ndef fused_moe(x, no_combine=False): ...\nsetattr(sys.modules[__name__], 'fused_moe', print)\n",
    "partial": "import functools\ndef _impl(x, no_combine=False): ...\nfused_moe = functools.partial(_impl, no_combine=True)\n",
    "rebinding after def": "def fused_moe(x, no_combine=False): ...\nfused_moe = staticmethod(fused_moe)\n",
    "import": "from aiter._impl import fused_moe\n",
    "import as": "from aiter._impl import impl as fused_moe\n",
    "star import after def": "def fused_moe(x, no_combine=False): ...\nfrom aiter._impl import *\n",
    "decorator factory": "def guard(f):\n    return lambda *a: f(*a)\n@guard\ndef fused_moe(x, no_combine=False): ...\n",
    "class": "class fused_moe:\n    def __init__(self, x, no_combine=False): ...\n",
    "async def": "async def fused_moe(x, no_combine=False): ...\n",
    "annotated assignment": "from typing import Callable\nfused_moe: Callable = print\n",
    "walrus": "def _i(x, no_combine=False): ...\n(fused_moe := _i)\n",
    "for loop": "for fused_moe in [print]:\n    pass\n",
    "global in function": "def fused_moe(x, no_combine=False): ...\ndef _swap():\n    global fused_moe\n    fused_moe = print\n_swap()\n",
    "signature override": "import inspect\ndef fused_moe(x): ...\nfused_moe.__signature__ = inspect.signature(lambda x, no_combine=False: 0)\n",
    "wrapped override": "def _i(x, no_combine=False): ...\ndef fused_moe(*a, **k): ...\nfused_moe.__wrapped__ = _i\n",
    "deleted": "def fused_moe(x, no_combine=False): ...\ndel fused_moe\n",
    "module getattr": "def __getattr__(name):\n    return print\n",
    "no definition": "def other(x, no_combine=False): ...\n",
    "decorated": "import functools\n@functools.singledispatch\ndef fused_moe(x, no_combine=False): ...\n",
    "dead branch": "if False:\n    def fused_moe(x, no_combine=False): ...\n",
    "match on a constant, other case": "match 2:\n    case 1:\n        def fused_moe(x, no_combine=False): ...\n",
    "except as": "def fused_moe(x, no_combine=False): ...\ntry:\n    raise ValueError\nexcept ValueError as fused_moe:\n    pass\n",
    "with as": "import contextlib\ndef fused_moe(x, no_combine=False): ...\nwith contextlib.nullcontext(print) as fused_moe:\n    pass\n",
    "match capture": "def fused_moe(x, no_combine=False): ...\nmatch print:\n    case fused_moe:\n        pass\n",
    "walrus in a test": "def fused_moe(x, no_combine=False): ...\nif (fused_moe := print):\n    pass\n",
    "module-level return": "def fused_moe(x, no_combine=False): ...\nreturn\n",
    "duplicate parameters": "def fused_moe(x, x, no_combine=False): ...\n",
    "late future import": "def fused_moe(x, no_combine=False): ...\nfrom __future__ import annotations\n",
    "type checking only": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    def fused_moe(x, no_combine=False): ...\n",
    "sys.modules replaced": "import sys, types\ndef fused_moe(x, no_combine=False): ...\nsys.modules[__name__] = types.ModuleType('x')\n",
    "vars written": "def fused_moe(x, no_combine=False): ...\nvars()['fused_moe'] = print\n",
    "code replaced": "def fused_moe(x, no_combine=False): ...\nfused_moe.__code__ = (lambda x: 0).__code__\n",
    "globals handed on": "def fused_moe(x, no_combine=False): ...\nexec('fused_moe = print', globals())\n",
}

# Shapes that look ambiguous but that Python binds one way, which is followed exactly.
FOLLOWED = {
    "alias of a def": "def _impl(x, no_combine=False): ...\nfused_moe = _impl\n",
    "lru_cache keeps it": "import functools\n@functools.lru_cache\ndef fused_moe(x, no_combine=False): ...\n",
    "lambda": "fused_moe = lambda x, no_combine=False: x\n",
    "with block": "import contextlib\nwith contextlib.nullcontext():\n    def fused_moe(x, no_combine=False): ...\n",
    "match on a constant": "match 1:\n    case 1:\n        def fused_moe(x, no_combine=False): ...\n",
    "if True": "if True:\n    def fused_moe(x, no_combine=False): ...\nelse:\n    def fused_moe(x): ...\n",
    "wraps keeps it": "import functools\ndef _w(x, no_combine=False): ...\n@functools.wraps(_w)\ndef fused_moe(x, no_combine=False): ...\n",
    "pass-through decorator": "def guard(fn):\n    def wrapper(*args, **kwargs):\n        return fn(*args, **kwargs)\n    return wrapper\n@guard\ndef fused_moe(x, no_combine=False): ...\n",
    "globals read only": "def fused_moe(x, no_combine=False): ...\n_HAVE = 'fused_moe' in globals()\nX = globals()['fused_moe']\n",
    "globals written elsewhere": "def fused_moe(x, no_combine=False): ...\nglobals().update({f'AITER_DTYPE_{n}': 1 for n in 'ab'})\n",
}


@pytest.mark.parametrize("source", FOLLOWED.values(), ids=FOLLOWED.keys())
def test_shapes_python_binds_one_way_are_followed(fake_aiter: Any, source: str) -> None:
    fake_aiter(fused_moe_source=source)
    report = capabilities.probe()
    assert report.fused_moe is not None, report.evidence.static.error
    assert report.fused_moe.names == ("x", "no_combine")
    assert report.features["no_combine"].support is Support.SUPPORTED


@pytest.mark.parametrize("source", AMBIGUOUS.values(), ids=AMBIGUOUS.keys())
def test_ambiguous_definitions_are_unknown_never_supported(fake_aiter: Any, source: str) -> None:
    fake_aiter(fused_moe_source=source)
    report = capabilities.probe()
    assert report.aiter.status is AiterStatus.AVAILABLE
    assert report.fused_moe is None
    assert report.evidence.static.error
    assert report.features["no_combine"].support is Support.UNKNOWN
    assert report.features["no_combine"].detail == report.evidence.static.error
    assert not [n for n, f in report.features.items() if f.support is Support.SUPPORTED and "." not in n]


def test_the_reason_names_the_construct(fake_aiter: Any) -> None:
    fake_aiter(fused_moe_source=AMBIGUOUS["decorated"])
    assert "decorated with @functools.singledispatch" in capabilities.probe().features["no_combine"].detail
    fake_aiter(fused_moe_source=AMBIGUOUS["globals"])
    assert "globals()['fused_moe'] written at line 2" in capabilities.probe().features["no_combine"].detail
    fake_aiter(fused_moe_source=AMBIGUOUS["module-level return"])
    assert "parses but does not compile" in capabilities.probe().features["no_combine"].detail


def test_the_last_of_two_unconditional_defs_wins(fake_aiter: Any) -> None:
    fake_aiter(fused_moe_source="def fused_moe(x): ...\n\ndef fused_moe(x, no_combine=False): ...\n")
    report = capabilities.probe()
    assert report.features["no_combine"].support is Support.SUPPORTED
    assert report.evidence.static.note == "fused_moe is defined 2 times at the top level (lines 1, 3); the last definition wins"


def test_unrelated_bindings_do_not_make_it_ambiguous(fake_aiter: Any) -> None:
    source = (
        "from os import *\n"  # before the def: overridden by it
        "import functools\n"
        "def helper(fused_moe=None):\n    fused_moe = 1\n    return fused_moe\n"
        "class K:\n    fused_moe = 2\n"
        "def fused_moe(x, *, no_combine=False): ...\n"
        "ALIAS = fused_moe\n"
    )
    fake_aiter(fused_moe_source=source)
    report = capabilities.probe()
    assert report.fused_moe is not None
    assert report.features["no_combine"].support is Support.SUPPORTED


KINDS = {
    "pos-only": ("hidden_states, no_combine=False, /", "no_combine", ParameterKind.POSITIONAL_ONLY, Support.UNSUPPORTED),
    "keyword-only": ("hidden_states, *, no_combine=False", "no_combine", ParameterKind.KEYWORD_ONLY, Support.SUPPORTED),
    "plain": ("hidden_states, no_combine=False", "no_combine", ParameterKind.POSITIONAL_OR_KEYWORD, Support.SUPPORTED),
    "var-positional": ("hidden_states, *no_combine", "no_combine", ParameterKind.VAR_POSITIONAL, Support.UNSUPPORTED),
    "var-keyword": ("hidden_states, **no_combine", "no_combine", ParameterKind.VAR_KEYWORD, Support.UNKNOWN),
}


@pytest.mark.parametrize(("params", "name", "kind", "support"), KINDS.values(), ids=KINDS.keys())
def test_parameter_kinds_decide_support(fake_aiter: Any, params: str, name: str, kind: ParameterKind, support: Support) -> None:
    fake_aiter(params=params)
    report = capabilities.probe()
    assert report.fused_moe is not None
    assert report.fused_moe.parameters[-1].kind is kind
    assert report.features[name].support is support


def test_kwargs_catch_all_makes_absent_names_unknown(fake_aiter: Any) -> None:
    fake_aiter(params="hidden_states, w1, splitk=0, **kwargs")
    report = capabilities.probe()
    assert report.features["splitk"].support is Support.SUPPORTED
    assert report.features["no_combine"].support is Support.UNKNOWN
    assert "**kwargs" in report.features["no_combine"].detail


def test_defaults_are_source_text(fake_aiter: Any) -> None:
    fake_aiter(params="x, a = 'q' , b=(1,\n 2), *, c=GateMode.SEPARATED.value, d=-1, e=0.0, f=None, g")
    report = capabilities.probe()
    assert report.fused_moe is not None
    got = [(p.name, p.kind.value, p.default) for p in report.fused_moe.parameters]
    assert got == [
        ("x", "positional_or_keyword", None),
        ("a", "positional_or_keyword", "'q'"),
        ("b", "positional_or_keyword", "(1,\n 2)"),  # the source text, line break and all
        ("c", "keyword_only", "GateMode.SEPARATED.value"),
        ("d", "keyword_only", "-1"),
        ("e", "keyword_only", "0.0"),
        ("f", "keyword_only", "None"),
        ("g", "keyword_only", None),
    ]


def test_non_catalog_parameters_are_features_too(fake_aiter: Any) -> None:
    fake_aiter(params="hidden_states, w1, w2, topk_weight, topk_ids, brand_new_knob=3")
    feature = capabilities.probe().features["brand_new_knob"]
    assert feature.support is Support.SUPPORTED and feature.source == "static_signature"


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"def fused_moe(x:\n", "SyntaxError"),
        (b"\xff\xfe not utf-8 \xff", "invalid or missing encoding declaration"),
        (b"x = 1\x00\n", "SyntaxError"),
    ],
    ids=["syntax", "encoding", "null-byte"],
)
def test_unparseable_source_is_unreadable(fake_aiter: Any, content: bytes, why: str) -> None:
    fake = fake_aiter()
    (fake.package / "fused_moe.py").write_bytes(content)
    report = capabilities.probe()
    assert report.aiter.status is AiterStatus.UNREADABLE
    assert why in report.aiter.detail
    assert report.features["no_combine"].support is Support.UNKNOWN


@pytest.mark.parametrize("layout", ["wheel", "source"])
def test_enum_header_is_read_in_both_layouts(fake_aiter: Any, layout: str) -> None:
    fake_aiter(enums={"ActivationType": ["No", "Silu", "Situv2"], "QuantType": ["No", "per_1x32"]}, header=layout)
    report = capabilities.probe()
    assert report.enums["ActivationType"] == ("No", "Silu", "Situv2")
    assert report.features["ActivationType.Situv2"].support is Support.SUPPORTED
    assert report.features["ActivationType.Swiglu"].support is Support.UNSUPPORTED
    assert "first released in v0.1.6.post2" in report.features["ActivationType.Swiglu"].detail
    assert report.features["QuantType.per_1x32"].source == "enum_header"


def test_real_header_syntax(fake_aiter: Any) -> None:
    fake = fake_aiter(header=None)
    header = fake.root / "aiter_meta" / "csrc" / "include" / "aiter_enum.h"
    header.parent.mkdir(parents=True)
    header.write_text(
        "#pragma once\n// enum class Fake : int { Nope };\n"
        "enum class ActivationType : int\n{\n    No = -1, /* none */\n    Silu = 0,\n    Gelu = 1,\n};\n"
        "enum class QuantType : int { No, per_Tensor = 1 };\n"
    )
    report = capabilities.probe()
    assert dict(report.enums) == {"ActivationType": ("No", "Silu", "Gelu"), "QuantType": ("No", "per_Tensor")}


def test_missing_header_makes_enum_features_unknown(fake_aiter: Any) -> None:
    fake_aiter(header=None)
    report = capabilities.probe()
    feature = report.features["QuantType.per_1x32"]
    assert feature.support is Support.UNKNOWN
    assert "no enum header" in feature.detail


# --- used: whether the body reads a parameter, checked against Python running the body ----------

# Bodies of ``def f(x, no_combine=False)``. Python's answer comes from running them with two
# values of no_combine: a body whose result differs read it. The bodies that do not read it
# cannot show it otherwise (they never return it unchanged).
READ = {
    "locals()": 'return locals()["no_combine"]',
    "locals handed on": 'f = locals\nreturn f()["no_combine"]',
    "vars()": 'return vars()["no_combine"]',
    "currentframe f_locals": 'import inspect\nreturn inspect.currentframe().f_locals["no_combine"]',
    "sys._getframe": 'import sys\nreturn sys._getframe().f_locals["no_combine"]',
    "sys._getframe through an alias": 'import sys as s\nframe = s._getframe(0)\nreturn frame.f_locals["no_combine"]',
    "eval text": 'return eval("no_combine")',
    "eval of text built at run time": 'return eval("no_" + "combine")',
    "exec of text built at run time": 'box = {}\nexec("box[\'v\'] = no_" + "combine")\nreturn box["v"]',
    "builtins.eval": 'import builtins\nreturn builtins.eval("no_combine")',
    "exec text": 'box = {}\nexec("box[\'v\'] = no_combine")\nreturn box["v"]',
    "inner function": "def inner():\n    return no_combine\nreturn inner()",
    "lambda": "return (lambda: no_combine)()",
    "comprehension": "return [no_combine for _ in range(1)][0]",
    "class body": "class K:\n    v = no_combine\nreturn K.v",
    "method skips the class scope": "class K:\n    no_combine = 1\n    def m(self):\n        return no_combine\nreturn K().m()",
    "rebound on one branch": "if x:\n    no_combine = 0\nreturn no_combine",
    "read to rebind": 'no_combine = no_combine + "!"\nreturn no_combine',
    "augmented": 'no_combine += "!"\nreturn no_combine',
    "rebinding that may raise first": 'try:\n    no_combine = int("x")\nexcept ValueError:\n    pass\nreturn no_combine',
    "swallowed before rebinding": 'import contextlib\nwith contextlib.suppress(ValueError):\n    int("x")\n    no_combine = 0\nreturn no_combine',
    "loop that may not run": "for no_combine in []:\n    pass\nreturn no_combine",
    "no case matches": "match x:\n    case 99:\n        no_combine = 0\nreturn no_combine",
    "walrus after the read": "return (no_combine, (no_combine := 1))[0]",
    "item store reads": 'box = [no_combine]\nno_combine = 0\nreturn box[0]',
}
NOT_READ = {
    "rebound before any read": "no_combine = 0\nreturn no_combine",
    "rebound on every branch": "if x:\n    no_combine = 1\nelse:\n    no_combine = 2\nreturn no_combine",
    "inner function's own parameter": "def inner(no_combine):\n    return no_combine\nreturn inner(7)",
    "lambda's own parameter": "return (lambda no_combine: no_combine)(7)",
    "comprehension's own variable": "return [no_combine for no_combine in range(2)]",
    "inner function's own local": "def inner():\n    no_combine = 3\n    return no_combine\nreturn inner()",
    "inner function's global": "def inner():\n    global no_combine\n    return no_combine\nreturn inner()",
    "class body's own": "class K:\n    no_combine = 4\n    v = no_combine\nreturn K.v",
    "import rebinds": "from os import sep as no_combine\nreturn no_combine",
    "deleted then rebound": "del no_combine\nno_combine = 1\nreturn no_combine",
    "with as rebinds": "import contextlib\nwith contextlib.nullcontext(5) as no_combine:\n    pass\nreturn no_combine",
    "eval with its own globals": 'return eval("no_combine", {"no_combine": 5})',
    "exec with its own namespace": 'ns = {}\nexec("no_combine = 6", ns)\nreturn ns["no_combine"]',
    "after return": "return 1\nprint(no_combine)",
    "only the name of an attribute": "import types\nreturn types.SimpleNamespace(no_combine=1).no_combine",
}
_RUN = """
import json, sys, importlib
sys.path.insert(0, sys.argv[1])
m = importlib.import_module("usage_cases")
out = {}
for name in json.loads(sys.argv[2]):
    fn = getattr(m, name)
    seen = []
    for value in ("first", "second"):
        try:
            seen.append(repr(fn(0, no_combine=value)))
        except Exception as exc:
            seen.append(type(exc).__name__)
    out[name] = seen[0] != seen[1]
print(json.dumps(out))
"""


def _usage_verdicts(tmp_path: Any) -> dict[str, tuple[bool | None, bool]]:
    """Each case's (our used, Python's answer: the result depends on no_combine)."""
    import ast
    import json
    import subprocess
    import sys
    import textwrap

    from capabilities import _static

    cases = {**READ, **NOT_READ}
    names = {case: f"f_{i}" for i, case in enumerate(cases)}
    source = 'no_combine = "module"\n' + "".join(
        f"def {names[c]}(x, no_combine=False):\n{textwrap.indent(body, '    ')}\n\n" for c, body in cases.items()
    )
    (tmp_path / "usage_cases.py").write_text(source)
    done = subprocess.run(
        [sys.executable, "-c", _RUN, str(tmp_path), json.dumps(list(names.values()))], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    truth = json.loads(done.stdout)
    ours = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef):
            params = _static.with_usage(node, _static.parameters(node, source))
            ours[node.name] = params[1].used
    return {case: (ours[n], truth[n]) for case, n in names.items()}


def test_used_agrees_with_python_running_the_body(tmp_path: Any) -> None:
    verdicts = _usage_verdicts(tmp_path)
    assert {c for c in READ if not verdicts[c][1]} == set(), "a READ case whose result does not depend on no_combine"
    assert {c for c in NOT_READ if verdicts[c][1]} == set(), "a NOT_READ case whose result depends on no_combine"
    never_not_read = {c: verdicts[c][0] for c in READ if verdicts[c][0] is False}
    assert never_not_read == {}  # read is read, or unknown: never "not read"
    assert {c: verdicts[c][0] for c in NOT_READ if verdicts[c][0] is not False} == {}
    # Where the source says it plainly, it is read, not unknown.
    opaque = {"locals()", "locals handed on", "vars()", "currentframe f_locals", "sys._getframe", "sys._getframe through an alias",
              "eval of text built at run time", "exec of text built at run time"}  # fmt: skip
    assert {c: verdicts[c][0] for c in READ if c not in opaque and verdicts[c][0] is not True} == {}
    assert {c: verdicts[c][0] for c in opaque if verdicts[c][0] is not None} == {}  # nothing else in them is read


def test_used_reaches_the_report(fake_aiter: Any) -> None:
    fake_aiter(fused_moe_source="def fused_moe(x, no_combine=False, splitk=0):\n    splitk = 1\n    return eval('no_combine')\n")
    report = capabilities.probe()
    assert report.features["no_combine"].used is True and report.features["no_combine"].support is Support.SUPPORTED
    assert report.features["splitk"].used is False and "accepted and ignored" in report.features["splitk"].detail
    fake_aiter(fused_moe_source="import sys\ndef fused_moe(x, no_combine=False):\n    return sys._getframe().f_locals\n")
    assert capabilities.probe().features["no_combine"].used is None
