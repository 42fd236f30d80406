"""Any AITER name, one engine: the ways AITER binds the names servers use, and Python's
binding rules for every call of them."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

import capabilities
from capabilities import InvalidCallError, InvalidKwargsError, UnsupportedFeatureError, UnverifiedFeatureWarning
from capabilities._calls import CallShape, judge
from capabilities.model import Parameter, ParameterKind
from capabilities.testing import write_package

# How AITER binds the names servers use, one fake package holding every shape.
PACKAGE = {
    "aiter/__init__.py": """
        from .utility import dtypes as dtypes
        from .ops.enum import *
        from .ops.moe_op import *
        from . import mla
    """,
    "aiter/utility/dtypes.py": """
        import torch
        from ..ops.enum import QuantType
        fp8 = torch.float8_e4m3fn
        def _fp8_pair():
            return torch.float8_e5m2, torch.float8_e4m3fn
        e5m2, e4m3 = _fp8_pair()
        globals().update({f"AITER_DTYPE_{n}": i for i, n in enumerate(["fp8"])})
    """,
    "aiter/ops/__init__.py": "",
    "aiter/ops/enum.py": """
        from ..jit.core import compile_ops
        @compile_ops("module_aiter_enum", "QuantType")
        def _QuantType(dummy): ...
        QuantType = type(_QuantType(0))
    """,
    "aiter/jit/core.py": "def compile_ops(*a, **k):\n    return lambda f: f\n",
    "aiter/ops/moe_op.py": """
        import functools
        from aiter import dtypes

        @functools.lru_cache(maxsize=None)
        def topk_softmax(topk_weights, topk_indices, token_expert_indices, gating_output, need_renorm):
            return need_renorm

        def qr_get_handle(fa, out_ptr):
            return None

        def posonly(a, b, /, c=1): ...

        def kwonly(a, *, b): ...

        def catch_all(a, **kwargs): ...
    """,
    "aiter/mla.py": "from aiter import dtypes\ndef mla_decode_fwd(q, kv, o, *, causal=False):\n    return causal\n",
    "aiter/tuned_gemm.py": """
        class TunedGemm:
            def __init__(self):
                self.bestsols = {}

            def mm(self, inp, weights, bias=None):
                return inp if bias is None else inp + bias

            @staticmethod
            def plain(x): ...

            @classmethod
            def make(cls, n): ...

        tgemm = TunedGemm()
    """,
    "aiter/ops/flydsl/moe_common.py": """
        from enum import Enum

        class GateMode(str, Enum):
            SEPARATED = "separated"
            INTERLEAVE = "interleave"
    """,
    "aiter/ops/flydsl/__init__.py": "",
    "aiter/ops/triton/__init__.py": """
        import sys
        from types import SimpleNamespace
        _BACKWARD_COMPAT_MAP = {"fused_fp8_quant": "quant.fused_fp8_quant"}

        def __getattr__(name):
            if name in _BACKWARD_COMPAT_MAP:
                import importlib
                return importlib.import_module(f"aiter.ops.triton.{_BACKWARD_COMPAT_MAP[name]}")
            raise AttributeError(name)

        def _find(fullname, path, target=None):
            name = fullname.rsplit(".", 1)[-1]
            if name in _BACKWARD_COMPAT_MAP:
                sys.modules[fullname] = None
            return None

        sys.meta_path.insert(0, SimpleNamespace(find_spec=_find))
    """,
    "aiter/ops/lazy/__init__.py": """
        import importlib
        _LAZY = {"Thing": "impl"}

        def __getattr__(name):
            sub = _LAZY.get(name)
            if sub is None:
                raise AttributeError(name)
            return getattr(importlib.import_module(f"{__name__}.{sub}"), name)
    """,
    "aiter/ops/lazy/impl.py": "class Thing:\n    def __init__(self, a, *, b=1): ...\n",
    "aiter/ops/triton/quant/__init__.py": "",
    "aiter/ops/triton/quant/fused_fp8_quant.py": """
        import triton

        def _trace(fn):
            def wrapper(*args, **kwargs):
                return fn(*args, **kwargs)
            return wrapper

        @triton.jit
        def _kernel(x_ptr, n, BLOCK: "tl.constexpr"): ...

        @_trace
        def fused_rms_fp8_group_quant(x, weight, eps, group_size=128): ...
    """,
}
HEADER = {"QuantType": ("No", "per_Tensor", "per_Token", "per_1x32", "per_1x128")}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_package(tmp_path_factory.mktemp("aiter-tree"), PACKAGE, enums=HEADER)


@pytest.fixture
def report(tree: Path) -> capabilities.CapabilityReport:
    capabilities.clear_cache()
    return capabilities.probe(aiter_path=tree)


@pytest.mark.parametrize(
    ("name", "kind", "params"),
    [
        ("aiter.topk_softmax", "function", ["topk_weights", "topk_indices", "token_expert_indices", "gating_output", "need_renorm"]),
        ("aiter.ops.moe_op.topk_softmax", "function", None),  # lru_cache keeps the signature
        ("aiter.fused_moe", "module", None),  # a submodule the package never binds
        ("aiter.dtypes", "module", None),  # a module bound under another name
        ("aiter.dtypes.fp8", "value", None),  # no circular-import alarm
        ("aiter.dtypes.e4m3", "value", None),  # one item of a tuple unpacked at import
        ("aiter.QuantType", "enum", None),
        ("aiter.QuantType.per_1x128", "enum_member", None),  # from the C++ header
        ("aiter.QuantType.per_1x128.value", "constant", None),
        ("aiter.ops.flydsl.moe_common.GateMode.INTERLEAVE", "enum_member", None),  # a Python Enum
        ("aiter.ops.flydsl.moe_common.GateMode.INTERLEAVE.value", "constant", None),
        ("aiter.tuned_gemm.tgemm", "instance", None),
        ("aiter.tuned_gemm.tgemm.mm", "function", ["inp", "weights", "bias"]),  # bound through the instance
        ("aiter.tuned_gemm.TunedGemm.mm", "function", ["self", "inp", "weights", "bias"]),  # through the class
        ("aiter.tuned_gemm.TunedGemm.plain", "function", ["x"]),
        ("aiter.tuned_gemm.TunedGemm.make", "function", ["n"]),
        ("aiter.tuned_gemm.TunedGemm", "class", []),  # its __init__ takes nothing but self
        ("aiter.ops.triton.fused_fp8_quant.fused_rms_fp8_group_quant", "function", ["x", "weight", "eps", "group_size"]),  # the import hook's map
        ("aiter.ops.triton.quant.fused_fp8_quant._kernel", "function", ["x_ptr", "n", "BLOCK"]),  # @triton.jit
        ("aiter.mla.mla_decode_fwd", "function", ["q", "kv", "o", "causal"]),
    ],
)
def test_the_names_aiter_really_defines_resolve(report: Any, name: str, kind: str, params: list[str] | None) -> None:
    r = report.resolve(name)
    assert (r.status, r.kind) == ("resolved", kind), r.detail
    if params is not None:
        assert [p.name for p in r.parameters or ()] == params


@pytest.mark.parametrize(
    ("name", "status", "said"),
    [
        ("aiter.topk_sigmoid", "missing", "nothing binds topk_sigmoid in aiter"),
        ("aiter.QuantType.per_2x2", "missing", "has no member per_2x2"),
        ("aiter.tuned_gemm.tgemm.bestsols", "unknown", "an instance may set it at run time"),
        ("aiter.dtypes.AITER_DTYPE_fp8", "unknown", "globals().update() of names starting 'AITER_DTYPE_'"),
        ("aiter.ops.triton.nothing_mapped", "unknown", "module __getattr__"),
        # A lazy package's map names the submodule that holds the class, not the class: no module.
        ("aiter.ops.lazy.Thing", "unknown", "module __getattr__"),
        ("aiter.fused_moe.fused_moe.__name__", "unknown", "an attribute of a function"),
    ],
)
def test_what_cannot_resolve_says_why(report: Any, name: str, status: str, said: str) -> None:
    r = report.resolve(name)
    assert r.status == status and said in r.detail, r.detail


def test_each_module_is_read_at_most_once_per_probe(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from collections import Counter

    from capabilities._source import Tree

    reads: Counter[str] = Counter()
    real = Tree._read

    def counting(self: Tree, dotted: str, path: Any) -> Any:
        reads[dotted] += 1
        return real(self, dotted, path)

    monkeypatch.setattr(Tree, "_read", counting)
    capabilities.clear_cache()
    report = capabilities.probe(aiter_path=tree)
    for _ in range(2):
        for name in ("aiter.topk_softmax", "aiter.tuned_gemm.tgemm.mm", "aiter.QuantType.per_1x128", "aiter.mla.mla_decode_fwd",
                     "aiter.qr_get_handle", "aiter.dtypes.fp8", "aiter.ops.triton.fused_fp8_quant.fused_rms_fp8_group_quant"):  # fmt: skip
            report.resolve(name)
    assert reads and max(reads.values()) == 1, reads


# --- Python's binding rules ------------------------------------------------------------------


def _p(name: str, kind: str = "positional_or_keyword", default: str | None = None) -> Parameter:
    return Parameter(name=name, kind=ParameterKind(kind), default=default)


SIG = (_p("a", "positional_only"), _p("b"), _p("c", default="1"), _p("d", "keyword_only"), _p("e", "keyword_only", "2"))


@pytest.mark.parametrize(
    ("shape", "answer", "why"),
    [
        (CallShape(2, ("d",)), "ok", ""),
        (CallShape(4, ("d",)), "fails", "f() takes from 2 to 3 positional arguments but 4 were given"),
        (CallShape(1, ("d",)), "fails", "f() missing 1 required positional argument: 'b'"),
        (CallShape(2, ()), "fails", "f() missing 1 required keyword-only argument: 'd'"),
        (CallShape(2, ("d", "z")), "fails", "f() got an unexpected keyword argument 'z'"),
        (CallShape(2, ("b", "d")), "fails", "f() got multiple values for argument 'b'"),
        (CallShape(1, ("a", "b", "d")), "fails", "f() got some positional-only arguments passed as keyword arguments: 'a'"),
        (CallShape(1, ("d",), star_args=True), "unknown", "*iterable"),
        (CallShape(9, ("d",), star_args=True), "fails", "takes from 2 to 3 positional arguments but 9"),
        (CallShape(2, (), star_kwargs=True), "unknown", "cannot be read"),
        (CallShape(2, ("z",), star_kwargs=True), "fails", "unexpected keyword argument 'z'"),
        (CallShape(2, ("d",), maybe=("z",)), "unknown", "on some paths only"),
        (CallShape(2, (), maybe=("d",)), "unknown", "on some paths only"),
        # partial: a pass-through dict checked on its own; only what it names can fail
        (CallShape(0, ("c", "e"), partial=True), "ok", "not checked"),
        (CallShape(0, ("z",), partial=True), "fails", "unexpected keyword argument 'z'"),
        (CallShape(0, ("a",), partial=True), "fails", "positional-only arguments passed as keyword"),
        (CallShape(2, ("b",), partial=True), "fails", "multiple values for argument 'b'"),
        (CallShape(0, (), star_kwargs=True, partial=True), "unknown", "cannot be read"),
    ],
)
def test_binding_rules_are_pythons(shape: CallShape, answer: str, why: str) -> None:
    verdict = judge("f", SIG, shape)
    assert verdict.answer == answer and why in verdict.why, verdict.why


def test_binding_rules_agree_with_python_on_real_calls() -> None:
    import inspect

    def f(a: int, /, b: int, c: int = 1, *, d: int, e: int = 2) -> None: ...

    sig = inspect.signature(f)
    for args in range(0, 5):
        for kws in ([], ["d"], ["b", "d"], ["a", "d"], ["d", "z"], ["c", "d", "e"]):
            try:
                sig.bind(*range(args), **{k: 0 for k in kws})
                python = "ok"
            except TypeError:
                python = "fails"
            assert judge("f", SIG, CallShape(args, tuple(kws))).answer == python, (args, kws)


def test_a_catch_all_takes_any_keyword() -> None:
    assert judge("g", (_p("a"), _p("kw", "var_keyword")), CallShape(1, ("anything",))).answer == "ok"


# --- check_call on any name ----------------------------------------------------------------


def test_positional_drift_is_caught(report: Any) -> None:
    # vllm#43873: topk_softmax() expected at most 5 argument(s) but received 7
    with pytest.raises(InvalidCallError, match=r"topk_softmax\(\) takes 5 positional arguments but 7 were given: .*aiter/ops/moe_op.py:6"):
        capabilities.check_call("aiter.ops.moe_op.topk_softmax", args=7, report=report)
    # qr_get_handle(fa) against (fa, out_ptr), from v0.1.19.post2 on
    with pytest.raises(InvalidCallError, match=r"qr_get_handle\(\) missing 1 required positional argument: 'out_ptr'"):
        capabilities.check_call("aiter.qr_get_handle", args=1, report=report)


def test_check_call_for_any_name(report: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        capabilities.check_call("aiter.tuned_gemm.tgemm.mm", ["bias"], args=2, report=report)
        capabilities.check_call("aiter.mla.mla_decode_fwd", ["causal"], args=3, report=report)
    with pytest.raises(InvalidKwargsError, match="did you mean 'causal'"):
        capabilities.check_call("aiter.mla.mla_decode_fwd", ["casual"], args=3, report=report)
    with pytest.raises(InvalidCallError, match="positional-only arguments passed as keyword"):
        capabilities.check_call("aiter.posonly", ["a"], args=1, report=report)
    with pytest.raises(InvalidCallError, match="missing 1 required keyword-only argument: 'b'"):
        capabilities.check_call("aiter.kwonly", args=1, report=report)
    with pytest.raises(UnsupportedFeatureError, match="topk_sigmoid: unsupported: aiter.topk_sigmoid does not resolve"):
        capabilities.check_call("aiter.topk_sigmoid", report=report)
    # A value unpacked at import exists, but how a call of it binds is not read: warned, never passed as ok.
    with pytest.warns(capabilities.UnverifiedFeatureWarning, match="cannot be read"):
        capabilities.check_call("aiter.dtypes.e4m3", args=1, report=report)
    with pytest.warns(UnverifiedFeatureWarning, match="cannot be read"):
        capabilities.check_call("aiter.catch_all", args=1, star_kwargs=True, report=report)
    with pytest.raises(InvalidCallError, match="a module, which cannot be called"):
        capabilities.check_call("aiter.fused_moe", report=report)


# --- check_call on an imported function ---------------------------------------------------


def _narrow(hidden_states: Any, w1: Any, /, w2: Any, *, quant_type: Any = None) -> None: ...


def _catch_all(hidden_states: Any, **kwargs: Any) -> None: ...


@pytest.mark.parametrize(
    ("kwargs", "args", "partial", "error", "said"),
    [
        (["quant_type"], 0, True, None, ""),
        (["quant_typ"], 0, True, InvalidKwargsError, r"(?s)_narrow as imported does not accept the keyword\(s\) \['quant_typ'\].*did you mean 'quant_type'"),
        (["w1"], 0, True, InvalidCallError, "positional-only arguments passed as keyword arguments: 'w1'"),
        (["w2"], 3, False, InvalidCallError, "multiple values for argument 'w2'"),
        ([], 2, False, InvalidCallError, r"missing 1 required positional argument: 'w2': as imported it is _narrow\(hidden_states, w1, /, w2, \*, quant_type=None\) \(.*test_any_name.py:\d+\)"),
        ([], 4, False, InvalidCallError, "takes 3 positional arguments but 4 were given"),
    ],
)
def test_an_imported_function_is_checked_against_its_own_signature(
    kwargs: list[str], args: int, partial: bool, error: type[Exception] | None, said: str
) -> None:
    if error is None:
        assert capabilities.check_call(_narrow, kwargs, args=args, partial=partial) is None
        return
    with pytest.raises(error, match=said):
        capabilities.check_call(_narrow, kwargs, args=args, partial=partial)
    assert issubclass(error, TypeError)  # what Python itself would have raised at the call


def test_an_imported_function_takes_what_its_catch_all_takes() -> None:
    capabilities.check_call(_catch_all, {"custom_fused_moe_kwarg": "enabled"}, partial=True)
    with pytest.raises(InvalidCallError, match="missing 1 required positional argument: 'hidden_states'"):
        capabilities.check_call(_catch_all, {"custom_fused_moe_kwarg": "enabled"})


def test_an_imported_function_is_checked_once_per_call_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    from capabilities import _calls

    reads: list[object] = []
    real = _calls.signature_of
    monkeypatch.setattr(_calls, "signature_of", lambda fn: reads.append(fn) or real(fn))
    for _ in range(3):
        capabilities.check_call(_catch_all, ["a"], args=1)
        capabilities.check_call(_catch_all, ["b"], args=1)
    assert reads == [_catch_all, _catch_all]  # one read per distinct shape, none after


def test_an_unreadable_signature_is_unknown_not_passed_silently() -> None:
    class Opaque:
        __signature__ = "not a signature"

        def __call__(self) -> None: ...

    with pytest.warns(UnverifiedFeatureWarning, match="is not checked: its signature cannot be read"):
        capabilities.check_call(Opaque(), ["x"])


def test_an_imported_function_takes_no_report(report: Any) -> None:
    with pytest.raises(capabilities.UsageError, match="report= goes with an AITER name"):
        capabilities.check_call(_narrow, [], report=report)  # type: ignore[call-overload]


def test_the_report_answers_for_any_dotted_name(report: Any) -> None:
    assert report.support("aiter.tuned_gemm.tgemm.mm") is capabilities.Support.SUPPORTED
    assert report.support("aiter.topk_sigmoid") is capabilities.Support.UNSUPPORTED


def test_check_call_and_the_scan_give_one_verdict(report: Any, tree: Path, tmp_path: Path) -> None:
    """A kernel launch's options and a call of an enum (QuantType(2) looks a member up) are
    not TypeErrors: check_call warns and passes, and the scan says unknown, through one rule."""
    from capabilities._scan import scan, trees

    kernel = "aiter.ops.triton.quant.fused_fp8_quant._kernel"
    for name, kwargs, args in ((kernel, ["num_warps"], 3), ("aiter.QuantType", [], 1)):
        with pytest.warns(capabilities.UnverifiedFeatureWarning):
            capabilities.check_call(name, kwargs, args=args, report=report)
    code = tmp_path / "code"
    code.mkdir()
    (code / "use.py").write_text(f"import aiter\nfrom {kernel.rsplit('.', 1)[0]} import _kernel\n_kernel[(1,)](1, 2, 3, num_warps=4)\naiter.QuantType(2)\n")
    verdicts = {c["line"]: c["verdict"] for c in scan([code], trees([str(tree)]))["calls"] if c["kind"] == "call"}
    assert verdicts == {3: "unknown", 4: "unknown"}
