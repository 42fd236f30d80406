"""The two real distributions that install a module named aiter, installed by pip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import DATA, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.network]

# amd-aiter 0.1.7.post2.dev18 is cut from v0.1.7.post2: its fused_moe, read by hand.
AMD_PARAMS = [
    ("hidden_states", None), ("w1", None), ("w2", None), ("topk_weight", None), ("topk_ids", None),
    ("expert_mask", "None"), ("activation", "ActivationType.Silu"), ("quant_type", "QuantType.No"),
    ("doweight_stage1", "False"), ("w1_scale", "None"), ("w2_scale", "None"), ("a1_scale", "None"),
    ("a2_scale", "None"), ("block_size_M", "None"), ("num_local_tokens", "None"),
    ("moe_sorting_dispatch_policy", "0"), ("dtype", "None"), ("hidden_pad", "0"), ("intermediate_pad", "0"),
    ("bias1", "None"), ("bias2", "None"),
]  # fmt: skip


def _json(*args: str, path: Path) -> dict:  # type: ignore[type-arg]
    done = run_cli("--json", *args, pythonpath=path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_real_distribution_static(real_install: tuple[str, Path]) -> None:
    which, path = real_install
    data = _json(path=path)
    if which == "impostor":
        assert data["aiter"]["status"] == "impostor"
        assert (data["aiter"]["distribution"], data["aiter"]["version"]) == ("aiter", "0.13.20191203")
        assert data["fused_moe"] is None
        assert data["features"]["no_combine"]["support"] == "unsupported"
        return
    assert data["aiter"]["status"] == "available"
    assert (data["aiter"]["distribution"], data["aiter"]["version"]) == ("amd-aiter", "0.1.7.post2.dev18")
    assert data["aiter"]["location"] == str(path / "aiter")
    assert [(p["name"], p["default"]) for p in data["fused_moe"]["parameters"]] == AMD_PARAMS
    assert data["features"]["no_combine"]["support"] == "unsupported"
    assert data["features"]["bias1"]["support"] == "supported"
    assert data["features"]["splitk"]["support"] == "unsupported"
    assert data["enums"] == {
        "ActivationType": ["No", "Silu", "Gelu", "Swiglu"],
        "QuantType": ["No", "per_Tensor", "per_Token", "per_1x32", "per_1x128", "per_128x128"],
    }


def test_real_distribution_with_import(real_install: tuple[str, Path]) -> None:
    which, path = real_install
    data = _json("--import", path=path)
    if which == "impostor":
        assert data["aiter"]["status"] == "impostor"
        assert data["evidence"]["runtime"] is None  # an unrelated project's code is not run
        return
    assert data["aiter"]["status"] == "import_failed"
    assert data["aiter"]["import_error"] == "RuntimeError: ROCm version file not found"
    assert data["fused_moe"]["source"] == "static_signature"
    assert [(p["name"], p["default"]) for p in data["fused_moe"]["parameters"]] == AMD_PARAMS


def test_real_distribution_require_gates(real_install: tuple[str, Path]) -> None:
    which, path = real_install
    done = run_cli("--require", "no_combine", pythonpath=path)
    assert done.returncode == 1
    assert "no_combine: unsupported" in done.stderr and "Traceback" not in done.stderr
    if which == "impostor":
        assert "AMD's AITER is the distribution 'amd-aiter'" in done.stderr


def test_real_wheel_hardware(real_install: tuple[str, Path], tmp_path: Path) -> None:
    which, path = real_install
    if which == "impostor":
        data = _json(path=path)
        assert data["arch_features"] == {} and data["jit"]["modules"] == {}
        return
    on942 = _json("--arch", "gfx942", path=path)
    mxfp4 = on942["arch_features"]["gfx942"]["QuantType.per_1x32"]
    assert mxfp4["support"] == "unsupported" and "no pertokenMXfp4 fmoe kernel" in mxfp4["detail"]
    declared = [e for e in on942["kernels"]["dispatch_table"] if e["arch"] == "gfx942" and e["quant_type"] == "per_1x32"]
    assert [(e["activation"], e["kernels"]) for e in declared] == [("Silu", "declared_without_kernels")]
    assert sorted(on942["kernels"]["inventory"]) == ["gfx942", "gfx950"]
    assert on942["kernels"]["inventory"]["gfx942"]["families"]["f4gemm"] == {"co_files": 0, "csv_rows": 0}
    on950 = _json("--arch", "gfx950", path=path)
    assert on950["arch_features"]["gfx950"]["QuantType.per_1x32"]["support"] == "supported"
    modules = on942["jit"]["modules"]
    assert len(modules) == 65 and not any(m["prebuilt"] for m in modules.values())
    text = run_cli(pythonpath=path).stdout
    assert "0 of 65 modules prebuilt: the first call of each kernel compiles it" in text
    done = run_cli("--require-prebuilt", "module_moe_asm", pythonpath=path)
    assert done.returncode == 1 and "module_moe_asm: not prebuilt" in done.stderr
    assert "the first call of its kernels will compile it" in done.stderr


def test_real_wheel_entry_points(real_install: tuple[str, Path]) -> None:
    """amd-aiter 0.1.7.post2.dev18 is cut from v0.1.7.post2: every entry point of that tag resolves exactly,
    except that the wheel, cut later, adds one trailing parameter to get_mla_metadata_v1 (read by hand
    in its aiter/ops/attention.py: ``max_split_per_batch: int = -1``)."""
    import ast

    which, path = real_install
    data = _json(path=path)
    if which == "impostor":
        assert data["entry_points"] == {} and data["features"]["topk_softmax"]["support"] == "unsupported"
        return
    history = json.loads((DATA / "aiter-entry-points-history.json").read_text())
    tag = next(r["entry_points"] for r in history["releases"] if r["ref"] == "v0.1.7.post2")

    def text(d: str | None) -> str | None:
        return None if d is None else ast.unparse(ast.parse(d, mode="eval"))

    for name, want in tag.items():
        got = data["entry_points"][name]
        if want is None:
            assert got["status"] in ("missing", "unknown"), name
            continue
        assert got["status"] == "resolved", (name, got["detail"])
        assert (got["file"], got["decorators"]) == (want["file"], want["decorators"])
        expected = [(n, k, text(d)) for n, k, d in want["params"]]
        if name == "aiter.get_mla_metadata_v1":
            expected.append(("max_split_per_batch", "positional_or_keyword", "-1"))
        assert [(p["name"], p["kind"], text(p["default"])) for p in got["parameters"]] == expected
    assert data["enum_values"]["QuantType"] == {"No": 0, "per_Tensor": 1, "per_Token": 2, "per_1x32": 3, "per_1x128": 4, "per_128x128": 5}
    assert data["features"]["topk_softmax.num_shared_experts"]["support"] == "unsupported"  # 5 parameters there
