"""Every entry point servers call, resolved as Python would bind it, without importing AITER."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

import capabilities
from capabilities import IgnoredOptionWarning, InvalidKwargsError, Support, UnsupportedFeatureError
from capabilities._entry_catalog import ENTRY_POINTS
from capabilities.testing import write_fake_entry_points, write_fake_aiter
from tests.conftest import DATA, ROOT
from tools.aiter_history import release_key

HISTORY: dict[str, Any] = json.loads((DATA / "aiter-entry-points-history.json").read_text())
RELEASES = {r["ref"]: r["entry_points"] for r in HISTORY["releases"]}


def _text(default: str | None) -> str | None:
    """Default source text, normalised (the history unparses; the report keeps the source)."""
    return None if default is None else ast.unparse(ast.parse(default, mode="eval"))


# --- the catalog -----------------------------------------------------------------------


def test_the_catalog_is_generated_from_the_history() -> None:
    """tools/aiter_history.py builds the catalog from the data alone: byte for byte."""
    from tools import aiter_history

    assert aiter_history.catalog_source(*aiter_history.load()) == (ROOT / "capabilities" / "_entry_catalog.py").read_text()
    assert len(ENTRY_POINTS) == 21


# --- every release x every entry point ----------------------------------------------------


@pytest.mark.parametrize("ref", sorted(RELEASES, key=release_key))
def test_every_release_resolves_exactly(tmp_path: Path, ref: str) -> None:
    entries = RELEASES[ref]
    root = write_fake_entry_points(tmp_path, entries)
    capabilities.clear_cache()
    report = capabilities.probe(aiter_path=root)
    for name, want in entries.items():
        got = report.entry_points[name]
        short = name.rsplit(".", 1)[1]
        if want is None:
            assert got.status == "missing", (name, got.detail)
            assert short == "fused_moe" or report.support(short) is Support.UNSUPPORTED
            continue
        assert got.status == "resolved", (name, got.detail)
        assert (got.file, list(got.decorators)) == (want["file"], want["decorators"])
        assert [(p.name, p.kind.value, _text(p.default)) for p in got.parameters or ()] == [
            (n, k, _text(d)) for n, k, d in want["params"]
        ]
        if short != "fused_moe":
            assert report.support(short) is Support.SUPPORTED
            assert all(report.support(f"{short}.{p[0]}") is Support.SUPPORTED for p in want["params"])
            missing = set(ENTRY_POINTS[name][1]) - {p[0] for p in want["params"]}
            assert all(report.support(f"{short}.{p}") is Support.UNSUPPORTED for p in missing)
    assert "aiter" not in sys.modules  # nothing was imported


# --- resolution shapes -----------------------------------------------------------------------


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = write_fake_aiter(tmp_path, distribution=None).root  # fused_moe.py, jit/: AITER by content
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    capabilities.clear_cache()
    return root


DEF = "def topk_softmax(topk_weights, topk_indices, token_expert_indices, gating_output, need_renorm, num_shared_experts=0):\n    return need_renorm\n"
SHAPES: dict[str, tuple[dict[str, str], str, str]] = {
    "try-import-rebound": (
        {"aiter/__init__.py": "try:\n    from .ops.moe_op import topk_softmax\nexcept ImportError:\n    topk_softmax = None\n", "aiter/ops/moe_op.py": DEF},
        "unknown", "bound differently in the branches of the try",
    ),
    "all-excludes-it": (
        {"aiter/__init__.py": "from .ops.moe_op import *\n", "aiter/ops/moe_op.py": "__all__ = ['other']\n" + DEF},
        "missing", "nothing binds topk_softmax in aiter",
    ),
    "underscore-name": (
        {"aiter/__init__.py": "from .ops.moe_op import *\n", "aiter/ops/moe_op.py": DEF.replace("def topk_softmax", "def _topk_softmax")},
        "missing", "nothing binds topk_softmax",
    ),
    "three-module-chain": (
        {
            "aiter/__init__.py": "from .ops.a import *\n",
            "aiter/ops/a.py": "from .b import topk_softmax\n",
            "aiter/ops/b.py": "from .c import *\n",
            "aiter/ops/c.py": DEF,
        },
        "resolved", "aiter/ops/c.py",
    ),
    "defined-then-star-imported-over": (
        {
            "aiter/__init__.py": "def topk_softmax(x):\n    return x\nfrom .ops.moe_op import *\n",
            "aiter/ops/moe_op.py": DEF,
        },
        "resolved", "aiter/ops/moe_op.py",
    ),
    "star-import-then-defined": (
        {
            "aiter/__init__.py": "from .ops.moe_op import *\ndef topk_softmax(x):\n    return x\n",
            "aiter/ops/moe_op.py": DEF,
        },
        "resolved", "aiter/__init__.py",
    ),
    "circular-star-import": (
        {"aiter/__init__.py": "from .ops.a import *\n", "aiter/ops/a.py": "from .b import *\n", "aiter/ops/b.py": "from .a import *\n"},
        "missing", "nothing binds",
    ),
    "circular-reexport": (
        {"aiter/__init__.py": "from .ops.a import topk_softmax\n", "aiter/ops/a.py": "from .b import topk_softmax\n", "aiter/ops/b.py": "from .a import topk_softmax\n"},
        "unknown", "circular imports",
    ),
    "other-decorator": (
        {"aiter/__init__.py": "from .ops.moe_op import *\n", "aiter/ops/moe_op.py": "import functools\n@functools.singledispatch\n" + DEF},
        "unknown", "decorated with @functools.singledispatch",
    ),
    "lru-cache-keeps-it": (
        {"aiter/__init__.py": "from .ops.moe_op import *\n", "aiter/ops/moe_op.py": "import functools\n@functools.lru_cache\n" + DEF},
        "resolved", "decorated @functools.lru_cache, which keeps the signature",
    ),
    "assignment": (
        {"aiter/__init__.py": "from .ops.moe_op import *\n", "aiter/ops/moe_op.py": DEF + "topk_softmax = print\n"},
        "unknown", "bound by an assignment at line 3 of aiter.ops.moe_op to print",
    ),
    "external-star-import-not-installed": (
        {"aiter/__init__.py": "import importlib.util\nif importlib.util.find_spec('aiter_') is not None:\n    from aiter_ import *\n"},
        "unknown", "aiter_ is not installed here",  # it may be where AITER runs: never "absent"
    ),
    "external-star-import-installed": (
        {"aiter/__init__.py": "from aiter_ import *\n", "aiter_.py": DEF},
        "unknown", "a module outside the package, whose names are not read here",
    ),
    "if-one-branch": (
        {"aiter/__init__.py": "import os\nif os.environ.get('X'):\n    pass\nelse:\n    from .ops.moe_op import *\n", "aiter/ops/moe_op.py": DEF},
        "resolved", "aiter/ops/moe_op.py",
    ),
}


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
def test_resolution_shapes_are_right_or_unknown(tmp_path: Path, shape: str) -> None:
    files, status, said = SHAPES[shape]
    report = capabilities.probe(aiter_path=_package(tmp_path, files))
    ep = report.entry_points["aiter.topk_softmax"]
    assert ep.status == status, ep.detail
    assert said in (ep.file or "") + ep.detail
    want = {"resolved": Support.SUPPORTED, "missing": Support.UNSUPPORTED, "unknown": Support.UNKNOWN}[status]
    assert report.support("topk_softmax") is want


# --- used or not ------------------------------------------------------------------------------


USAGE = (
    "def nested(a, b):\n    def inner():\n        return a\n    return inner\n"
    "def in_a_default(a, b=a):\n    return b\n"
    "def through_locals(a, b):\n    return dict(locals())\n"
    "def never(a, b):\n    return a\n"
)


@pytest.mark.parametrize(
    ("function", "used"),
    [("nested", {"a": True, "b": False}), ("in_a_default", {"a": False, "b": True}), ("through_locals", {"a": None, "b": None}), ("never", {"a": True, "b": False})],
)
def test_a_parameter_is_used_only_if_the_body_reads_it(tmp_path: Path, function: str, used: dict[str, bool | None]) -> None:
    import ast as _ast

    from capabilities._static import parameters as _parameters, with_usage

    tree = _ast.parse("a = 1\n" + USAGE)
    node = next(n for n in tree.body if isinstance(n, _ast.FunctionDef) and n.name == function)
    params = with_usage(node, _parameters(node, "a = 1\n" + USAGE))
    assert {p.name: p.used for p in params} == used


def test_splitk_is_accepted_and_ignored(fake_aiter: Any) -> None:
    release = [r for r in json.loads((DATA / "aiter-fused-moe-history.json").read_text())["releases"] if r["tag"] == "v0.1.20.post1"][0]
    fake_aiter(params=[tuple(p) for p in release["fused_moe_params"]], body="return hidden_states")
    feature = capabilities.probe().feature("splitk")
    assert (feature.support, feature.used) == (Support.SUPPORTED, False)
    assert "accepted and ignored" in feature.detail
    assert capabilities.probe().feature("fused_moe.splitk") == feature  # the alias
    with pytest.warns(IgnoredOptionWarning, match="'splitk' is accepted and ignored"):
        capabilities.gate("splitk", requested_by="a test")


# --- negotiated calls ------------------------------------------------------------------------


@pytest.fixture
def release(tmp_path: Path) -> Any:
    def make(ref: str) -> capabilities.CapabilityReport:
        capabilities.clear_cache()
        return capabilities.probe(aiter_path=write_fake_entry_points(tmp_path / ref, RELEASES[ref]))

    return make


def test_check_call_for_the_seven_argument_topk_softmax(release: Any) -> None:
    new, old = release("v0.1.12"), release("v0.1.11.post1")
    seven = ["topk_weights", "topk_indices", "token_expert_indices", "gating_output", "need_renorm", "num_shared_experts", "shared_expert_scoring_func"]
    assert capabilities.check_call("topk_softmax", seven, report=new) is new
    with pytest.raises(InvalidKwargsError, match=r"topk_softmax in AITER \(no installed distribution\) does not accept the keyword\(s\) \['num_shared_experts', 'shared_expert_scoring_func'\]") as info:
        capabilities.check_call("aiter.topk_softmax", seven, report=old)
    assert "first released in v0.1.12" in str(info.value)  # the lowest version; v0.1.12.post1 was tagged first


def test_the_arg0_stub_refuses_keywords_and_says_why(release: Any) -> None:
    stub = release("v0.1.5")
    with pytest.raises(InvalidKwargsError, match="names its parameters arg0, arg1, arg2, arg3, arg4: a stub, so pass them by position"):
        capabilities.check_call("topk_softmax", ["need_renorm"], report=stub)


def test_check_call_misspelt_and_missing_entry_point(release: Any) -> None:
    report = release("v0.1.20")
    with pytest.raises(InvalidKwargsError, match="did you mean 'causal'"):
        capabilities.check_call("mla_decode_fwd", ["casual"], report=report)
    old = release("v0.1.1")
    with pytest.raises(UnsupportedFeatureError, match=r"(?s)a call of aiter.topk_sigmoid needs .*does not resolve"):
        capabilities.check_call("topk_sigmoid", [], report=old)
    with pytest.raises(UnsupportedFeatureError, match=r"aiter.topk_softmx: missing: .*did you mean 'topk_softmax'"):
        capabilities.check_call("topk_softmx", [], report=report)


def test_bind_checks_once_and_imports_on_first_call(release: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = release("v0.1.20")
    monkeypatch.syspath_prepend(str(tmp_path / "v0.1.20"))
    from capabilities.testing import forget_aiter

    forget_aiter()
    call = capabilities.bind("mla_decode_fwd", causal=True, report=report)
    assert "aiter" not in sys.modules
    with pytest.raises(InvalidKwargsError):
        capabilities.bind("mla_decode_fwd", causal=True, report=release("v0.1.19"))
    with pytest.raises(UnsupportedFeatureError, match="cannot be imported here: import aiter.mla raised RuntimeError: ROCm version file not found"):
        call(1, 2)  # the fake's import raises, as AITER's does without ROCm
    forget_aiter()


def test_enum_values_and_their_drift(tmp_path: Path) -> None:
    old = write_fake_aiter(tmp_path / "old", enums={"QuantType": ["No", "per_Tensor", "per_Token", "per_1x128", "per_128x128"]})
    new = write_fake_aiter(tmp_path / "new", enums={"QuantType": ["No", "per_Tensor", "per_Token", "per_1x32", "per_1x128", "per_128x128"]})
    capabilities.clear_cache()
    a, b = capabilities.probe(aiter_path=old.root), capabilities.probe(aiter_path=new.root)
    assert (capabilities.enum_value("QuantType.per_1x128", a), capabilities.enum_value("QuantType.per_1x128", b)) == (3, 4)
    with pytest.raises(KeyError, match="QuantType.per_1x32 is not an enum member"):
        capabilities.enum_value("QuantType.per_1x32", a)
    from capabilities._compare import diff

    assert diff(a, b).enum_values["QuantType.per_1x128"] == {"a": 3, "b": 4}


def test_no_warning_for_a_clean_call(release: Any) -> None:
    report = release("v0.1.20.post1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        capabilities.check_call("biased_grouped_topk", ["need_renorm", "routed_scaling_factor"], args=6, report=report)


@pytest.mark.parametrize(
    ("feature", "said"),
    [
        ("topk_softmax.arg0", "removed after v0.1.5.post2 (present in v0.1.5…v0.1.5.post2)"),
        ("pa_fwd_asm.query", "removed after v0.1.4 (present in v0.1.1…v0.1.4)"),
        ("grouped_topk.scoring_func", "removed after v0.1.4 (present in v0.1.1…v0.1.4)"),
    ],
)
def test_a_name_only_old_releases_had_is_removed_not_to_be_installed(tmp_path: Path, feature: str, said: str) -> None:
    report = capabilities.probe(aiter_path=write_fake_entry_points(tmp_path, RELEASES["HEAD"]))
    f = report.feature(feature)
    assert f.support is Support.UNSUPPORTED
    assert said in f.detail and "stop passing it" in f.detail
    assert "install an AITER build that has it" not in f.detail


# --- a dotted name is what `from <module> import <last>` gives -----------------------------------


@pytest.mark.parametrize("aiter_installed", [False, True], ids=["aiter_-absent", "aiter_-shadows"])
def test_a_submodule_name_is_found_as_import_finds_it_whatever_a_star_import_binds(tmp_path: Path, aiter_installed: bool) -> None:
    # The wheel's own __init__ shape: a guarded star import from a module that may exist where AITER
    # runs, before anything else. `from aiter.fused_moe import fused_moe` still loads aiter/fused_moe.py.
    init = "import importlib.util\nif importlib.util.find_spec('aiter_') is not None:\n    from aiter_ import *\n"
    files = {"aiter/__init__.py": init}
    if aiter_installed:
        files["aiter_.py"] = "fused_moe = 'not the submodule'\n"
    root = _package(tmp_path, files)
    report = capabilities.probe(aiter_path=root)
    assert report.fused_moe is not None and report.evidence.static.parameters is not None, report.evidence.static.error
    ep = report.entry_points["aiter.fused_moe.fused_moe"]
    assert (ep.status, ep.file) == ("resolved", "aiter/fused_moe.py"), ep.detail
    # Python agrees: the import binds the def in aiter/fused_moe.py, with the parameters the report read.
    probe = (
        "import sys, inspect, types; sys.modules['torch'] = types.ModuleType('torch')\n"
        "from aiter.fused_moe import fused_moe\n"
        "print(','.join(inspect.signature(fused_moe).parameters))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ",".join(p.name for p in report.fused_moe.parameters)
