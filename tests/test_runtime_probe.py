"""The runtime probe: inspect.signature of the imported function, failures recorded."""

from __future__ import annotations

import ast
import itertools
import keyword
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import capabilities
from capabilities import AiterStatus, Support
from capabilities.model import ParameterKind
from capabilities.testing import forget_aiter, write_fake_aiter


def test_runtime_probe_reads_the_imported_function(fake_aiter: Any) -> None:
    fake_aiter(params="hidden_states, w1, *, no_combine=False, gate_mode=GateMode.SEPARATED.value")
    report = capabilities.probe(runtime=True)
    assert report.aiter.status is AiterStatus.AVAILABLE
    assert report.fused_moe is not None and report.fused_moe.source == "runtime_signature"
    assert report.fused_moe.parameters[-1].default == "GateMode.SEPARATED.value"  # the source text where it agrees
    assert report.features["no_combine"].source == "runtime_signature"
    assert report.enums["ActivationType"] == ("No", "Silu", "Gelu", "Swiglu")
    assert report.features["ActivationType.Swiglu"].source == "runtime_enum"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ('RuntimeError("ROCm version file not found")', "RuntimeError: ROCm version file not found"),
        ('ImportError("libamdhip64.so: cannot open shared object file")', "ImportError: libamdhip64.so"),
        ("SystemExit(3)", "SystemExit: 3"),
        ('KeyError("HIP_VISIBLE_DEVICES")', "KeyError: 'HIP_VISIBLE_DEVICES'"),
    ],
    ids=["runtime-error", "import-error", "system-exit", "key-error"],
)
def test_any_import_failure_is_recorded_not_raised(fake_aiter: Any, error: str, expected: str) -> None:
    fake_aiter(import_error=error)
    report = capabilities.probe(runtime=True)
    assert report.aiter.status is AiterStatus.IMPORT_FAILED
    assert report.aiter.import_error is not None and report.aiter.import_error.startswith(expected)
    assert report.fused_moe is not None and report.fused_moe.source == "static_signature"


def test_syntax_error_on_import_is_recorded(fake_aiter: Any) -> None:
    fake = fake_aiter()
    (fake.package / "__init__.py").write_text("def broken(:\n")
    report = capabilities.probe(runtime=True)
    assert report.aiter.status is AiterStatus.IMPORT_FAILED
    assert report.aiter.import_error is not None and report.aiter.import_error.startswith("SyntaxError")


def test_runtime_decides_and_records_disagreement(fake_aiter: Any) -> None:
    # The source says no_combine; what runs does not (the package swaps it): the runtime reading wins.
    fake = fake_aiter(fused_moe_source="def fused_moe(hidden_states, no_combine=False): ...\n")
    with (fake.package / "__init__.py").open("a") as init:
        init.write("import aiter.fused_moe as _m\ndef _other(hidden_states, splitk=0): ...\n_m.fused_moe = _other\n")
    # The source alone already refuses to trust its own def: another module patches it.
    static = capabilities.probe()
    assert static.fused_moe is None
    assert "may be replaced by another module: _m.fused_moe is assigned at line" in (static.evidence.static.error or "")
    assert static.features["no_combine"].support is Support.UNKNOWN
    report = capabilities.probe(runtime=True)
    assert report.features["no_combine"].support is Support.UNSUPPORTED
    assert report.features["splitk"].support is Support.SUPPORTED
    assert report.fused_moe is not None and report.fused_moe.source == "runtime_signature"


def test_a_wrapped_claim_narrower_than_the_code_is_not_trusted(fake_aiter: Any) -> None:
    # functools.wraps makes inspect.signature report _other's parameters; a call binds fused_moe's own.
    fake_aiter(
        fused_moe_source=(
            "import functools\n"
            "def _other(hidden_states, splitk=0): ...\n"
            "@functools.wraps(_other)\n"
            "def fused_moe(hidden_states, no_combine=False): ...\n"
        )
    )
    assert capabilities.probe().support("no_combine") is Support.SUPPORTED  # the source reads the def itself
    report = capabilities.probe(runtime=True)
    assert report.fused_moe is None
    assert "its own code binds" in (report.evidence.runtime.error if report.evidence.runtime else "")
    assert report.support("no_combine") is Support.UNKNOWN and report.support("splitk") is Support.UNKNOWN


def test_runtime_follows_wrapped(fake_aiter: Any) -> None:
    fake_aiter(
        fused_moe_source=(
            "import functools\n"
            "def _guard(f):\n"
            "    @functools.wraps(f)\n"
            "    def inner(*a, **k):\n"
            "        return f(*a, **k)\n"
            "    return inner\n"
            "@_guard\n"
            "def fused_moe(hidden_states, *, no_combine=False): ...\n"
        )
    )
    static = capabilities.probe().features["no_combine"]
    assert static.support is Support.SUPPORTED  # the wrapper passes *a, **k on: the source says so too
    capabilities.clear_cache()
    report = capabilities.probe(runtime=True)
    assert report.features["no_combine"].support is Support.SUPPORTED


def test_uninspectable_callable_falls_back_with_the_reason(fake_aiter: Any) -> None:
    fake_aiter(fused_moe_source="import builtins\nfused_moe = builtins.next  # a C function without a signature\n")
    report = capabilities.probe(runtime=True)
    assert report.fused_moe is None
    assert report.features["no_combine"].support is Support.UNKNOWN
    assert "inspect.signature" in report.features["no_combine"].detail


def test_already_imported_module_is_read_automatically(fake_aiter: Any) -> None:
    fake_aiter(params="hidden_states, **kwargs")
    import aiter.fused_moe  # noqa: F401  (the caller imported the kernel already)

    report = capabilities.probe()
    assert report.evidence.runtime is not None
    assert report.fused_moe is not None and report.fused_moe.source == "runtime_signature"


@pytest.mark.parametrize(
    ("init", "timeout", "expected"),
    [
        ("import time\ntime.sleep(60)\n", 0.5, "did not finish within 0.5 s"),
        ("import os\nos._exit(7)\n", 60, "exited with code 7"),
    ],
    ids=["hangs", "crashes"],
)
def test_isolated_probe_survives_a_bad_import(fake_aiter: Any, init: str, timeout: float, expected: str) -> None:
    fake = fake_aiter()
    (fake.package / "__init__.py").write_text(init)
    report = capabilities.probe(runtime=True, isolated=True, timeout=timeout)
    assert report.aiter.status is AiterStatus.IMPORT_FAILED
    assert expected in (report.aiter.import_error or "")
    assert report.fused_moe is not None and report.fused_moe.source == "static_signature"


# --- property: on generated signatures, the static and runtime readings agree ----

_names = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True).filter(lambda s: not keyword.iskeyword(s))
_literals = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet="abc xyz_-", max_size=5),
    st.tuples(st.integers(0, 9), st.integers(0, 9)),
)


@st.composite
def signatures(draw: st.DrawFn) -> list[tuple[str, ParameterKind, object]]:
    names = draw(st.lists(_names, min_size=0, max_size=8, unique=True))
    it = iter(names)
    out: list[tuple[str, ParameterKind, object]] = []
    missing = object()
    n_pos = draw(st.integers(0, len(names)))
    n_posonly = draw(st.integers(0, n_pos))
    first_default = draw(st.integers(0, n_pos))  # positional defaults only at the end
    for i, name in zip(range(n_pos), it):
        kind = ParameterKind.POSITIONAL_ONLY if i < n_posonly else ParameterKind.POSITIONAL_OR_KEYWORD
        out.append((name, kind, draw(_literals) if i >= first_default else missing))
    rest = list(it)
    if rest and draw(st.booleans()):
        out.append((rest.pop(), ParameterKind.VAR_POSITIONAL, missing))
    kwarg = rest.pop() if rest and draw(st.booleans()) else None
    for name in rest:
        out.append((name, ParameterKind.KEYWORD_ONLY, draw(st.one_of(st.just(missing), _literals))))
    if kwarg is not None:
        out.append((kwarg, ParameterKind.VAR_KEYWORD, missing))
    return [(n, k, None if d is missing else ("value", d)) for n, k, d in out]


def _render(sig: list[tuple[str, ParameterKind, object]]) -> str:
    parts: list[str] = []
    posonly = [p for p in sig if p[1] is ParameterKind.POSITIONAL_ONLY]
    star = any(p[1] in (ParameterKind.VAR_POSITIONAL, ParameterKind.KEYWORD_ONLY) for p in sig)
    for name, kind, default in sig:
        if kind is ParameterKind.KEYWORD_ONLY and not any(p[1] is ParameterKind.VAR_POSITIONAL for p in sig) and star:
            parts.append("*")
            star = False
        prefix = {ParameterKind.VAR_POSITIONAL: "*", ParameterKind.VAR_KEYWORD: "**"}.get(kind, "")
        text = prefix + name + ("" if default is None else f"={default[1]!r}")  # type: ignore[index]
        parts.append(text)
        if kind is ParameterKind.VAR_POSITIONAL:
            star = False
        if posonly and name == posonly[-1][0]:
            parts.append("/")
    return ", ".join(parts)


_counter = itertools.count()


@pytest.mark.slow  # a fresh import per example
@settings(max_examples=60, deadline=None)
@given(signatures())
def test_static_and_runtime_probes_agree(sig: list[tuple[str, ParameterKind, object]]) -> None:
    with tempfile.TemporaryDirectory(prefix=f"prop-{next(_counter)}-") as tmp:  # removed after each example
        fake = write_fake_aiter(Path(tmp), params=_render(sig))
        sys.path.insert(0, str(fake.root))
        forget_aiter()
        try:
            static = capabilities.probe()
            runtime = capabilities.probe(runtime=True)
        finally:
            sys.path.remove(str(fake.root))
            forget_aiter()
    assert static.fused_moe is not None and runtime.fused_moe is not None
    assert runtime.fused_moe.source == "runtime_signature"
    assert runtime.evidence.disagreement is None
    assert static.fused_moe.parameters == runtime.fused_moe.parameters
    assert [(p.name, p.kind) for p in static.fused_moe.parameters] == [(n, k) for n, k, _ in sig]
    for p, (_, _, default) in zip(static.fused_moe.parameters, sig):
        assert (p.default is None) == (default is None)
        if default is not None:
            assert ast.literal_eval(p.default) == default[1]  # type: ignore[index]
    assert {n: f.support for n, f in static.features.items()} == {n: f.support for n, f in runtime.features.items()}
