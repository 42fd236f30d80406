"""Wrappers that pass their call on: checked against the function they reach, only where their
source shows every argument goes on unchanged. Each verdict is compared with what Python does."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

import capabilities
from capabilities import InvalidCallError, UnverifiedFeatureWarning

KERNEL = """
import functools

def fused_moe(hidden_states, w1, w2, topk_weight, topk_ids, expert_mask=None, activation=None,
              doweight_stage1=False, moe_sorting_dispatch_policy=0):
    return "kernel"

def other(hidden_states, w1, w2, topk_weight, topk_ids, **anything):
    return "other"

def helper(d):
    d.pop("doweight_stage1", None)
"""

# name -> (wrapper source, whether its forwarding can be verified)
WRAPPERS = {
    # SGLang's gfx95 patch, in shape: named leading parameters, reads a key, forwards all
    "sglang_gfx95": ("""
        @functools.wraps(fused_moe)
        def wrapper(hidden_states, w1, w2, topk_weight, topk_ids, *args, **kwargs):
            quant = kwargs.get("quant_type", None)
            emit = quant is not None and "activation" in kwargs and kwargs["activation"] is None
            try:
                return fused_moe(hidden_states, w1, w2, topk_weight, topk_ids, *args, **kwargs)
            finally:
                emit = False
        """, True),
    "plain_star": ("""
        @functools.wraps(fused_moe)
        def wrapper(*args, **kwargs):
            return fused_moe(*args, **kwargs)
        """, True),
    "pops_a_key": ("""
        @functools.wraps(fused_moe)
        def wrapper(hidden_states, w1, w2, topk_weight, topk_ids, *args, **kwargs):
            kwargs.pop("doweight_stage1", None)
            return fused_moe(hidden_states, w1, w2, topk_weight, topk_ids, *args, **kwargs)
        """, False),
    "hands_kwargs_on": ("""
        @functools.wraps(fused_moe)
        def wrapper(hidden_states, w1, w2, topk_weight, topk_ids, *args, **kwargs):
            helper(kwargs)
            return fused_moe(hidden_states, w1, w2, topk_weight, topk_ids, *args, **kwargs)
        """, False),
    "rebinds_args": ("""
        @functools.wraps(fused_moe)
        def wrapper(hidden_states, w1, w2, topk_weight, topk_ids, *args, **kwargs):
            args = ()
            return fused_moe(hidden_states, w1, w2, topk_weight, topk_ids, *args, **kwargs)
        """, False),
    "swaps_two": ("""
        @functools.wraps(fused_moe)
        def wrapper(hidden_states, w1, w2, topk_weight, topk_ids, *args, **kwargs):
            return fused_moe(hidden_states, w2, w1, topk_weight, topk_ids, *args, **kwargs)
        """, False),
    "calls_another": ("""
        @functools.wraps(fused_moe)
        def wrapper(hidden_states, w1, w2, topk_weight, topk_ids, *args, **kwargs):
            return other(hidden_states, w1, w2, topk_weight, topk_ids, *args, **kwargs)
        """, False),
    "star_calls_another": ("""
        @functools.wraps(fused_moe)
        def wrapper(*args, **kwargs):
            return other(*args, **kwargs)
        """, False),
    "renamed_leading": ("""
        @functools.wraps(fused_moe)
        def wrapper(x, w1, w2, topk_weight, topk_ids, *args, **kwargs):
            return fused_moe(x, w1, w2, topk_weight, topk_ids, *args, **kwargs)
        """, False),
}

# (keywords, positional count): the calls made, each checked and run
CALLS = [
    ((), 5),
    (("doweight_stage1",), 5),
    (("doweight_stage_1",), 5),  # misspelt
    (("expert_mask", "moe_sorting_dispatch_policy"), 5),
    (("hidden_states", "w1", "w2", "topk_weight", "topk_ids"), 0),
    (("x",), 4),
    ((), 11),  # too many positional
    (("w1",), 5),  # given twice
]


def _write(tmp_path: Path, name: str) -> Path:
    body, _ = WRAPPERS[name]
    path = tmp_path / f"wrap_{name}.py"
    path.write_text(textwrap.dedent(KERNEL) + textwrap.dedent(body))
    return path


def _python(path: Path) -> list[str]:
    """What Python does with each call: 'ok' or the TypeError."""
    script = f"""
import json, sys
sys.path.insert(0, {str(path.parent)!r})
m = __import__({path.stem!r})
out = []
for kws, n in {CALLS!r}:
    try:
        m.wrapper(*range(n), **{{k: None for k in kws}})
        out.append("ok")
    except TypeError as exc:
        out.append("TypeError: " + str(exc))
print(json.dumps(out))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    result: list[str] = json.loads(done.stdout)
    return result


def _ours(path: Path) -> list[str]:
    spec = importlib.util.spec_from_file_location(f"capabilities_fwd_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = []
    for kws, n in CALLS:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                capabilities.check_call(module.wrapper, kws, args=n)
                verdict = "ok"
            except InvalidCallError as exc:
                verdict = f"fails: {exc}"
        if any(issubclass(w.category, UnverifiedFeatureWarning) for w in caught):
            verdict = "unknown"
        out.append(verdict)
    return out


@pytest.mark.parametrize("name", sorted(WRAPPERS))
def test_a_wrapper_is_checked_through_only_where_its_source_shows_it_forwards(tmp_path: Path, name: str) -> None:
    path = _write(tmp_path, name)
    python, ours = _python(path), _ours(path)
    verified = WRAPPERS[name][1]
    for (kws, n), truth, verdict in zip(CALLS, python, ours):
        if not verified:
            assert verdict == "unknown", (kws, n, verdict)  # never trusted blindly
            continue
        assert verdict != "unknown", (kws, n)  # valid keys never warn; wrong ones are refused
        assert (truth == "ok") == (verdict == "ok"), (kws, n, truth, verdict)


def test_sglang_shaped_wrapper_refuses_a_misspelt_key_with_did_you_mean(tmp_path: Path) -> None:
    path = _write(tmp_path, "sglang_gfx95")
    spec = importlib.util.spec_from_file_location("capabilities_fwd_sglang", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(TypeError, match=r"doweight_stage_1.*did you mean 'doweight_stage1'"):
        capabilities.check_call(module.wrapper, {"doweight_stage_1": True}, partial=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a server that runs with warnings as errors
        capabilities.check_call(module.wrapper, {"doweight_stage1": True, "moe_sorting_dispatch_policy": 1}, partial=True)
