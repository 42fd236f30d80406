"""``python -m capabilities scan``: a code base read as files, every AITER site judged."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import cli
from capabilities.testing import write_package

# Two releases of one AITER: topk_softmax grows from 5 to 7 parameters, qr_get_handle gains
# out_ptr, and grouped_topk moves from aiter.ops.topk to aiter.ops.topk_v2.
OLD = {
    "aiter/__init__.py": "from .ops.moe_op import *\nfrom .ops.topk import *\nfrom .ops.enum import *\n",
    "aiter/ops/__init__.py": "",
    "aiter/ops/enum.py": "from enum import IntEnum\nclass QuantType(IntEnum):\n    No = 0\n    per_Token = 2\n",
    "aiter/ops/moe_op.py": """
        def topk_softmax(topk_weights, topk_indices, token_expert_indices, gating_output, need_renorm):
            return need_renorm

        def qr_get_handle(fa):
            return fa
    """,
    "aiter/ops/topk.py": "def grouped_topk(x, k, *, renorm=False):\n    return (x, k, renorm)\n",
}
NEW = {
    **OLD,
    "aiter/__init__.py": "from .ops.moe_op import *\nfrom .ops.topk_v2 import *\nfrom .ops.enum import *\n",
    "aiter/ops/moe_op.py": """
        def topk_softmax(topk_weights, topk_indices, token_expert_indices, gating_output, need_renorm,
                         num_shared_experts=0, shared_expert_scoring_func=None):
            return (need_renorm, num_shared_experts, shared_expert_scoring_func)

        def qr_get_handle(fa, out_ptr):
            return None
    """,
    "aiter/ops/topk.py": None,
    "aiter/ops/topk_v2.py": "def grouped_topk(x, k, *, renorm=False):\n    return (x, k, renorm)\n",
}
SERVER = {
    "server/__init__.py": "",
    "server/plain.py": "def nothing_to_do_with_it():\n    return 1\n",
    "server/moe.py": """
        import torch
        import aiter as rocm_aiter
        from aiter import QuantType

        def route(w, i, t, g):
            rocm_aiter.topk_softmax(w, i, t, g, True)  # 5 positional: binds on both
            rocm_aiter.topk_softmax(w, i, t, g, True, 1, "sigmoid")  # 7 positional: the drift
            return QuantType.per_Token

        def lazy(fa):
            from aiter import qr_get_handle as get
            try:
                return get(fa)  # one argument: a TypeError that the except swallows
            except Exception:
                return None

        def forwarded(x, **extra):
            kw = {"renorm": True}
            kw["bogus"] = 1
            import aiter.ops.topk as topk
            return topk.grouped_topk(x, 2, **kw)

        def conditional(x, flag):
            kw = {}
            if flag:
                kw["num_shared_experts"] = 1
            return rocm_aiter.topk_softmax(x, x, x, x, True, **kw)

        def unreadable(x, extra):
            return rocm_aiter.topk_softmax(x, x, x, x, True, **extra)

        def star(args):
            return rocm_aiter.topk_softmax(*args)

        alias = rocm_aiter.qr_get_handle

        def through_alias(fa):
            return alias(fa, 0)

        def custom_op(x):
            return torch.ops.aiter.rmsnorm(x)
    """,
    "server/guarded.py": """
        try:
            from aiter.ops.topk import grouped_topk
        except ImportError:
            from aiter.ops.topk_v2 import grouped_topk

            def shim(x):
                return grouped_topk(x, 2)

        def use(x):
            return grouped_topk(x, 2, renorm=True)
    """,
}


def _write(root: Path, files: dict[str, str | None]) -> Path:
    for rel, text in files.items():
        if text is None:
            continue
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("scan")
    old = write_package(base / "old", {k: v for k, v in OLD.items() if v is not None}, version="0.1.11", distribution="amd-aiter")
    new = write_package(base / "new", {k: v for k, v in NEW.items() if v is not None}, version="0.1.19.post2", distribution="amd-aiter")
    return {"old": old, "new": new, "server": _write(base / "code", SERVER)}


def _scan(*argv: str) -> tuple[int, str, str]:
    return cli("scan", *argv)


def _calls(trees: dict[str, Path], tree: str) -> dict[tuple[str, int, str], dict[str, Any]]:
    code, out, err = _scan(str(trees["server"]), "--aiter-path", str(trees[tree]), "--json")
    assert code in (0, 1), err
    data = json.loads(out)
    return {(c["file"], c["line"], c["kind"]): c for c in data["calls"]}


@pytest.mark.parametrize(
    ("line", "kind", "old", "new", "said"),
    [
        (3, "import", "ok", "ok", ""),
        (7, "call", "ok", "ok", ""),
        (8, "call", "fails", "ok", "topk_softmax() takes 5 positional arguments but 7 were given"),
        (9, "reference", "ok", "ok", ""),
        (14, "call", "ok", "fails", "qr_get_handle() missing 1 required positional argument: 'out_ptr'"),
        (22, "call", "fails", "fails", ""),  # old: the ** dict's 'bogus'; new: the module moved
        (28, "call", "unknown", "ok", "on some paths only"),  # new takes the key or not
        (31, "call", "unknown", "unknown", "cannot be read"),
        (34, "call", "unknown", "unknown", "*iterable"),
        (39, "call", "fails", "ok", "qr_get_handle() takes 1 positional argument but 2 were given"),
        (42, "torch.ops", "unknown", "unknown", "torch custom op"),
    ],
)
def test_each_site_gets_pythons_verdict_on_each_release(trees: dict[str, Path], line: int, kind: str, old: str, new: str, said: str) -> None:
    for tree, want in (("old", old), ("new", new)):
        site = _calls(trees, tree)[("server/moe.py", line, kind)]
        assert site["verdict"] == want, (tree, site)
        if want != "ok" and said:
            assert said in site["why"], site["why"]


def test_a_moved_name_says_where_it_lives_now(trees: dict[str, Path]) -> None:
    site = _calls(trees, "new")[("server/moe.py", 22, "call")]
    assert site["verdict"] == "fails" and "it lives at aiter.ops.topk_v2.grouped_topk" in site["why"]
    assert "unexpected keyword argument 'bogus'" in _calls(trees, "old")[("server/moe.py", 22, "call")]["why"]


def test_fallbacks_and_guarded_imports_do_not_fail_the_scan(trees: dict[str, Path]) -> None:
    old = _calls(trees, "old")
    assert old[("server/guarded.py", 3, "import")]["verdict"] == "ok"
    fallback = old[("server/guarded.py", 5, "import")]
    assert fallback["verdict"] == "fails" and fallback["fallback"]  # the handler never runs on the old tree
    assert old[("server/guarded.py", 8, "call")]["fallback"]  # nor does the def inside it
    new = _calls(trees, "new")
    guarded = new[("server/guarded.py", 3, "import")]
    assert guarded["verdict"] == "fails" and guarded["guarded"] and not guarded["fallback"]
    assert new[("server/guarded.py", 5, "import")]["verdict"] == "ok"
    assert not new[("server/guarded.py", 5, "import")]["fallback"]  # the guarded import fails: this one runs
    assert new[("server/guarded.py", 11, "call")]["verdict"] == "ok"


def test_exit_codes_json_and_text(trees: dict[str, Path], tmp_path: Path) -> None:
    code, out, err = _scan(str(trees["server"]), "--aiter-path", str(trees["new"]))
    assert code == 1 and err == ""
    text = out.splitlines()
    assert text[0] == "server/moe.py"  # failures first
    assert text[-1].startswith("4 files read, 2 parsed,")  # plain.py and __init__.py only read
    code, out, _ = _scan(str(trees["server"] / "server" / "guarded.py"), "--aiter-path", str(trees["new"]))
    assert code == 0
    data = json.loads(_scan(str(trees["server"]), "--aiter-path", str(trees["new"]), "--json")[1])
    assert set(data) == {"calls", "summary"}
    assert {"file", "line", "target", "verdict", "why", "fallback"} <= set(data["calls"][0])
    assert all(not c["file"].startswith("/") for c in data["calls"])  # relative to the PATH given
    assert _scan(str(tmp_path / "nope"))[0] == 2
    assert _scan(str(trees["server"]), "--aiter-path", str(tmp_path / "nope"))[0] == 2


def test_several_trees_name_the_oldest_that_binds_every_call(trees: dict[str, Path], tmp_path: Path) -> None:
    code_dir = _write(tmp_path / "code", {"use.py": "import aiter\naiter.topk_softmax(1, 2, 3, 4, True, 0, None)\n"})
    code, out, _ = _scan(str(code_dir), "--aiter-path", str(trees["old"]), "--aiter-path", str(trees["new"]))
    assert code == 1  # it fails on one of the trees given
    assert "fails   | ok" in out
    assert out.splitlines()[-1].endswith(f"oldest tree on which every call binds: {trees['new']}")


def test_the_scan_never_imports_the_code(trees: dict[str, Path], tmp_path: Path) -> None:
    code_dir = _write(tmp_path / "boom", {"bad.py": "import aiter\nraise SystemExit('imported!')\naiter.topk_softmax(1)\n"})
    code, out, _ = _scan(str(code_dir), "--aiter-path", str(trees["new"]))
    assert code == 1 and "missing 4 required positional arguments" in out


def test_every_entry_carries_its_region_binding_and_whether_it_counts(trees: dict[str, Path]) -> None:
    data = json.loads(_scan(str(trees["server"]), "--aiter-path", str(trees["old"]), "--aiter-path", str(trees["new"]), "--json")[1])
    for c in data["calls"]:
        assert {"end_line", "end_col", "counts", "condition", "binding", "others"} <= set(c), c
        assert (c["end_line"], c["end_col"]) > (c["line"], c["col"]), c
        assert isinstance(c["binding"], str) and c["binding"] and isinstance(c["others"], list)
        assert c["counts"] == c["trees"][0]["counts"]
        for t in c["trees"]:
            assert t["counts"] == (t["verdict"] == "fails" and not t["fallback"] and not t["guarded"]), t
    failing = [sum(t["counts"] for c in data["calls"] for t in c["trees"] if t["tree"] == tree["tree"]) for tree in data["summary"]["trees"]]
    assert failing == [t["fails"] for t in data["summary"]["trees"]]


def test_sites_judged_once_differ_in_no_field_the_verdict_reads() -> None:
    # Sites with equal verdict_key share one verdict: judge_site must read no field that the key leaves out.
    import ast
    import inspect

    from capabilities import _scan

    def fields(fn: object) -> set[str]:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))  # type: ignore[arg-type]
        return {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "site"}

    assert fields(_scan.judge_site) <= fields(_scan.verdict_key)
