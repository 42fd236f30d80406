"""The hardware half: which GPU, which kernels ship for it, which modules are prebuilt."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import torch

import capabilities
from capabilities import Support
from capabilities._agree import merge
from tests.conftest import cli
from capabilities._gpu import arch_name, read_gpus
from capabilities._kernels import parse_kernel_name
from capabilities.testing import write_fake_sysfs

GFX942, GFX950, GFX90A = (90402, 304), (90500, 256), (90010, 110)
MXFP4 = "fmoe/silu/fmoe_bf16_pertokenMXfp4_g1u1_silu_1tg_32x512.co"
FP8 = "fmoe/gelu/fmoe_bf16_pertokenFp8_g1u1_multix_gelu_1tg_32x128.co"
NOQUANT = "fmoe/silu/fmoe_bf16_noquantBf16_g1u0_atm_inlv_silu_1tg_32x512.co"
# A wheel-like build: MXFP4 MoE kernels for gfx950 only; its dispatch table lists MXFP4 on both.
KERNELS = {
    "gfx942": [FP8, NOQUANT, "fmoe/silu/fmoe_bf16_noquant_g1u0_silu.csv", "fmoe_int8_g1u0.co", "f4gemm/f4gemm_bf16_per1x32Fp4.csv"],
    "gfx950": [MXFP4, FP8, "fmoe/silu/fmoe_bf16_pertokenMXfp4_g1u1_silu.csv", "f4gemm/f4gemm_bf16_per1x32Fp4_128x128.co"],
}
DISPATCH = """
class _Names:
    def __getattr__(self, name):
        return name
dtypes = aiter = _Names()
fused_moe_1stage_dict = {
    "gfx942": {
        (ActivationType.Silu, QuantType.per_1x32, dtypes.bf16, dtypes.fp4x2, dtypes.fp4x2, True): aiter.fmoe_g1u1,
        (ActivationType.Gelu, QuantType.per_Token, dtypes.bf16, dtypes.fp8, dtypes.fp8, True): aiter.fmoe_g1u1,
        (ActivationType.Silu, QuantType.per_Token, dtypes.bf16, dtypes.i8, dtypes.i8, False): aiter.fmoe_int8_g1u0,
    },
    "gfx950": {
        (ActivationType.Silu, QuantType.per_1x32, dtypes.bf16, dtypes.fp4x2, dtypes.fp4x2, True): aiter.fmoe_g1u1,
    },
}
"""


def _build(fake_aiter: Any, **kw: Any) -> Any:
    return fake_aiter(kernels=KERNELS, prelude=DISPATCH, jit_modules=["module_moe_asm", "module_moe_sorting"], **kw)


# --- the GPU this process runs on -------------------------------------------------


@pytest.mark.parametrize(("version", "arch"), [(90402, "gfx942"), (90500, "gfx950"), (90010, "gfx90a"), (110000, "gfx1100")])
def test_arch_names_from_gfx_target_version(version: int, arch: str) -> None:
    assert arch_name(version) == arch


@pytest.mark.parametrize(
    ("gpus", "env", "expected"),
    [
        ([GFX942], {}, [(0, "gfx942", 304, True)]),
        ([GFX942, GFX950], {}, [(0, "gfx942", 304, True), (1, "gfx950", 256, True)]),
        ([GFX942, GFX950], {"ROCR_VISIBLE_DEVICES": "1"}, [(0, "gfx942", 304, False), (1, "gfx950", 256, True)]),
        ([GFX942, GFX950, GFX90A], {"ROCR_VISIBLE_DEVICES": "0,2", "HIP_VISIBLE_DEVICES": "1"}, [(0, "gfx942", 304, False), (1, "gfx950", 256, False), (2, "gfx90a", 110, True)]),
        ([], {}, []),
    ],
    ids=["one-gfx942", "two-archs", "rocr-hides-one", "hip-within-rocr", "cpu-only"],
)
def test_gpus_from_a_fake_sysfs(tmp_path: Path, gpus: list[tuple[int, int]], env: dict[str, str], expected: list[tuple[Any, ...]]) -> None:
    write_fake_sysfs(tmp_path, gpus, cpu_nodes=2)
    facts = read_gpus({"CAPABILITIES_SYSFS_ROOT": str(tmp_path), **env})
    assert [(g.index, g.arch, g.compute_units, g.visible) for g in facts.gpus] == expected
    assert facts.problems == ()


def test_no_kfd_folder_is_no_gpu_not_an_error(tmp_path: Path) -> None:
    facts = read_gpus({"CAPABILITIES_SYSFS_ROOT": str(tmp_path)})
    assert facts.gpus == () and facts.problems == ()


def test_garbage_and_unreadable_properties_make_visibility_undecided(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_fake_sysfs(tmp_path, [GFX942, GFX950])
    nodes = root / "sys/class/kfd/kfd/topology/nodes"
    (nodes / "1" / "properties").write_bytes(b"\xff\xfe garbage\ngfx_target_version lots\n")
    real = Path.read_bytes

    def deny(self: Path) -> bytes:
        if self.parent.name == "2":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", deny)
    facts = read_gpus({"CAPABILITIES_SYSFS_ROOT": str(root)})
    assert facts.gpus == ()
    assert any("node 1: properties has no simd_count and gfx_target_version" in p for p in facts.problems)
    assert any("node 2: properties cannot be read: PermissionError" in p for p in facts.problems)
    assert facts.undecided is not None and "cannot be told" in facts.undecided


# (uuid of GPU 0, GPU 1, GPU 2) as ROCm writes them: 'GPU-' and the unique_id in 16 hex digits.
U0, U1, U2 = 0x00AA11BB22CC33DD, 0x00AA11BB22CC44EE, 0x7F00000000000001
THREE = [(*GFX942, U0), (*GFX950, U1), (*GFX90A, U2)]


@pytest.mark.parametrize(
    ("env", "visible"),
    [
        ({}, [0, 1, 2]),
        ({"ROCR_VISIBLE_DEVICES": "2,0"}, [0, 2]),
        ({"ROCR_VISIBLE_DEVICES": "GPU-00aa11bb22cc44ee"}, [1]),  # a full UUID
        ({"ROCR_VISIBLE_DEVICES": "gpu-00AA11BB22CC44"}, [1]),  # a unique prefix, any case
        ({"ROCR_VISIBLE_DEVICES": "GPU-00aa11bb22cc"}, []),  # a prefix of two GPUs: the list ends there
        ({"ROCR_VISIBLE_DEVICES": "0,GPU-ffff"}, [0]),  # no match: ends there
        ({"ROCR_VISIBLE_DEVICES": "0x1"}, [1]),  # strtol: hex
        ({"ROCR_VISIBLE_DEVICES": "02"}, [2]),  # strtol: octal
        ({"ROCR_VISIBLE_DEVICES": "0-2"}, []),  # a range is not a device: ends at once
        ({"ROCR_VISIBLE_DEVICES": "-1"}, []),
        ({"ROCR_VISIBLE_DEVICES": "garbage,1"}, []),
        ({"ROCR_VISIBLE_DEVICES": ""}, []),  # set and empty: no GPU
        ({"ROCR_VISIBLE_DEVICES": "1,1,2"}, [1]),  # a repeat ends the list
        ({"ROCR_VISIBLE_DEVICES": " 1 , 2 "}, [1, 2]),  # ROCr trims
        ({"HIP_VISIBLE_DEVICES": "1"}, [1]),
        ({"CUDA_VISIBLE_DEVICES": "2"}, [2]),  # HIP honours it too
        ({"HIP_VISIBLE_DEVICES": "0", "CUDA_VISIBLE_DEVICES": "2"}, [0]),  # HIP_ wins
        ({"HIP_VISIBLE_DEVICES": "", "CUDA_VISIBLE_DEVICES": "2"}, [2]),  # an empty HIP_ is unset
        ({"ROCR_VISIBLE_DEVICES": "1,2", "HIP_VISIBLE_DEVICES": "1"}, [2]),  # HIP indexes what ROCr left
        ({"ROCR_VISIBLE_DEVICES": "1,2", "CUDA_VISIBLE_DEVICES": "0"}, [1]),
        ({"HIP_VISIBLE_DEVICES": "GPU-7f00000000000001"}, [2]),  # HIP: a substring of the lowercase UUID
        ({"HIP_VISIBLE_DEVICES": "GPU-7F00000000000001"}, []),  # ... matched as written
        ({"HIP_VISIBLE_DEVICES": "1,1,0"}, [0, 1]),  # HIP skips repeats
        ({"HIP_VISIBLE_DEVICES": "01"}, []),  # HIP takes exact decimals only
        ({"HIP_VISIBLE_DEVICES": "-1"}, []),
        ({"HIP_VISIBLE_DEVICES": "0,5,1"}, [0]),  # out of range ends it
    ],
    ids=lambda v: repr(v),
)
def test_visibility_follows_rocm(tmp_path: Path, env: dict[str, str], visible: list[int]) -> None:
    write_fake_sysfs(tmp_path, THREE)
    facts = read_gpus({"CAPABILITIES_SYSFS_ROOT": str(tmp_path), **env})
    assert [g.index for g in facts.visible] == visible
    assert facts.undecided is None
    for name, value in env.items():
        assert f"{name}={value!r}" in facts.visibility or (name == "HIP_VISIBLE_DEVICES" and not value)


def test_the_uuid_is_reported(tmp_path: Path) -> None:
    write_fake_sysfs(tmp_path, [(*GFX942, U0), (*GFX950, 0)])
    facts = read_gpus({"CAPABILITIES_SYSFS_ROOT": str(tmp_path)})
    assert [g.uuid for g in facts.gpus] == ["GPU-00aa11bb22cc33dd", None]


@pytest.mark.parametrize(
    "env",
    [
        {"ROCR_VISIBLE_DEVICES": "GPU-00aa11bb22cc33dd"},  # the gfx942, by UUID
        {"ROCR_VISIBLE_DEVICES": "-1"},  # nothing visible
        {"ROCR_VISIBLE_DEVICES": "0-1"},
        {"HIP_VISIBLE_DEVICES": "garbage"},
        {"CUDA_VISIBLE_DEVICES": "0"},
    ],
    ids=lambda v: repr(v),
)
def test_a_hidden_or_gfx942_only_process_fails_the_mxfp4_gate(fake_aiter: Any, fake_sysfs: Any, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    _build(fake_aiter)
    fake_sysfs([(*GFX942, U0), (*GFX950, U1)])
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, _, err = cli("--require", "QuantType.per_1x32")
    assert code == 1, err
    report = capabilities.probe()
    assert report.archs.source in ("live", "hidden")
    assert report.support("QuantType.per_1x32") is Support.UNSUPPORTED


def test_a_visible_gfx950_passes_the_mxfp4_gate(fake_aiter: Any, fake_sysfs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _build(fake_aiter)
    fake_sysfs([(*GFX942, U0), (*GFX950, U1)])
    monkeypatch.setenv("ROCR_VISIBLE_DEVICES", "GPU-00aa11bb22cc44ee")
    assert cli("--require", "QuantType.per_1x32")[0] == 0
    assert capabilities.probe().archs.names == ("gfx950",)


def test_undecided_visibility_answers_unknown_never_nothing_to_check(fake_aiter: Any, fake_sysfs: Any) -> None:
    _build(fake_aiter)
    root = fake_sysfs([GFX950])
    (root / "sys/class/kfd/kfd/topology/nodes/1/properties").write_text("simd_count 4\n")  # no gfx_target_version
    report = capabilities.probe()
    assert report.archs.source == "undecided"
    feature = report.feature("QuantType.per_1x32")
    assert feature.support is Support.UNKNOWN and "cannot be told" in feature.detail
    assert report.support("no_combine") is report.features["no_combine"].support  # not a per-arch feature
    assert any("node 1" in p for p in report.evidence.problems)
    assert cli("--require", "QuantType.per_1x32")[0] == 1


@pytest.mark.parametrize("name", ["²", "node0", "-1", "1a"])
def test_a_node_folder_that_is_not_a_number_is_ignored_and_said(tmp_path: Path, name: str) -> None:
    root = write_fake_sysfs(tmp_path, [GFX942])
    (root / "sys/class/kfd/kfd/topology/nodes" / name).mkdir()
    facts = read_gpus({"CAPABILITIES_SYSFS_ROOT": str(root)})
    assert [g.arch for g in facts.gpus] == ["gfx942"]
    assert any("is not a node number" in p for p in facts.problems)


def test_a_gap_in_the_node_numbers_is_undecided(tmp_path: Path) -> None:
    root = write_fake_sysfs(tmp_path, [GFX942, GFX950])
    nodes = root / "sys/class/kfd/kfd/topology/nodes"
    (nodes / "1").rename(nodes / "7")
    facts = read_gpus({"CAPABILITIES_SYSFS_ROOT": str(root)})
    assert facts.undecided is not None and "not 0..2" in facts.undecided


def test_report_lists_gpus_and_checks_for_the_visible_ones(fake_aiter: Any, fake_sysfs: Any) -> None:
    _build(fake_aiter)
    fake_sysfs([GFX942, GFX950])
    report = capabilities.probe()
    assert [(g.index, g.arch, g.visible) for g in report.gpus] == [(0, "gfx942", True), (1, "gfx950", True)]
    assert (report.archs.names, report.archs.source) == (("gfx942", "gfx950"), "live")


# --- the kernel inventory ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "parsed"),
    [
        ("fmoe_bf16_pertokenMXfp4_g1u1_silu_1tg_32x512.co", ("bf16", "per_1x32", "MXfp4", "g1u1", "Silu")),
        ("fmoe_bf16_blockscaleFp8_g1u1_novs_gelu_1tg_ps_32x256.co", ("bf16", "per_1x128", "Fp8", "g1u1", "Gelu")),
        ("fmoe_bf16_noquantBf16_g1u0_vs_atm_inlv_silu_1tg_ps_32x512.co", ("bf16", "No", "Bf16", "g1u0", "Silu")),
        ("fmoe_int8_g1u1_multix_subGU_128.co", None),
        ("fmoe_stage1_bf16_pertokenFp8_blockscale_g1u1_112x128_pf2.co", None),
    ],
)
def test_kernel_names_parse_or_are_left_unparsed(name: str, parsed: tuple[str, ...] | None) -> None:
    assert parse_kernel_name(name) == parsed


def test_inventory_per_arch(fake_aiter: Any, fake_sysfs: Any) -> None:
    _build(fake_aiter)
    fake_sysfs([])
    inventory = capabilities.probe().kernels.inventory
    assert sorted(inventory) == ["gfx942", "gfx950"]
    gfx942 = inventory["gfx942"]
    assert {f: (x.co_files, x.csv_rows) for f, x in gfx942.families.items()} == {"(top level)": (1, 0), "f4gemm": (0, 1), "fmoe": (2, 1)}
    assert gfx942.unparsed == 1  # fmoe_int8_g1u0.co: counted, not guessed
    assert {(k.quant, k.gating, k.activation) for k in inventory["gfx950"].kernels} == {("per_1x32", "g1u1", "Silu"), ("per_Token", "g1u1", "Gelu")}


def test_dispatch_table_is_cross_checked(fake_aiter: Any, fake_sysfs: Any) -> None:
    _build(fake_aiter)
    fake_sysfs([])
    table = {(e.arch, e.quant_type, e.q_dtype_w): e for e in capabilities.probe().kernels.dispatch_table}
    assert table[("gfx942", "per_1x32", "fp4x2")].kernels == "declared_without_kernels"
    assert table[("gfx942", "per_Token", "fp8")].kernels == "ship"
    assert table[("gfx942", "per_Token", "i8")].kernels == "unverified"  # only an old-style name mentions int8
    assert table[("gfx950", "per_1x32", "fp4x2")].kernels == "ship"


# --- per-architecture features ------------------------------------------------------------


def test_arch_features_need_file_evidence_for_supported(fake_aiter: Any, fake_sysfs: Any) -> None:
    _build(fake_aiter)
    fake_sysfs([])
    af = capabilities.probe().arch_features
    assert af["gfx950"]["QuantType.per_1x32"].support is Support.SUPPORTED
    assert af["gfx950"]["QuantType.per_1x32"].source == "kernel_inventory"
    on942 = af["gfx942"]["QuantType.per_1x32"]
    assert (on942.support, on942.source) == (Support.UNSUPPORTED, "upstream_rule")
    assert "rule (from upstream reports, not from files)" in on942.detail and "ROCm/aiter#4640" in on942.detail
    assert af["gfx942"]["QuantType.per_1x128"].support is Support.UNKNOWN  # CK 2-stage compiles at first use
    supported = [(a, n) for a, fs in af.items() for n, f in fs.items() if f.support is Support.SUPPORTED]
    assert all(af[a][n].source in ("kernel_inventory", "runtime_enum", "enum_header") for a, n in supported)


def test_a_member_the_build_lacks_is_lacking_on_every_arch(fake_aiter: Any, fake_sysfs: Any) -> None:
    _build(fake_aiter)
    fake_sysfs([])
    af = capabilities.probe().arch_features
    assert af["gfx950"]["QuantType.per_256x128"].support is Support.UNSUPPORTED  # not in DEFAULT_ENUMS


def test_no_gpu_decides_for_every_shipped_arch_but_gates_on_none(fake_aiter: Any, fake_sysfs: Any) -> None:
    _build(fake_aiter)
    fake_sysfs([])
    report = capabilities.probe()
    assert report.archs.source == "none" and sorted(report.arch_features) == ["gfx942", "gfx950"]
    assert report.support("QuantType.per_1x32") is Support.SUPPORTED  # the build has it; no arch to check


@pytest.mark.parametrize(("arch", "support"), [("gfx942", Support.UNSUPPORTED), ("gfx950", Support.SUPPORTED), ("gfx90a", Support.UNSUPPORTED)])
def test_named_arch_decides(fake_aiter: Any, fake_sysfs: Any, arch: str, support: Support) -> None:
    _build(fake_aiter)
    fake_sysfs([GFX950])  # the live GPU is ignored when an arch is named
    report = capabilities.probe(arch=arch)
    assert (report.archs.names, report.archs.source) == ((arch,), "named")
    assert report.support("QuantType.per_1x32") is support
    if support is Support.UNSUPPORTED:
        with pytest.raises(capabilities.UnsupportedFeatureError, match=f"(?s)on {arch}: .*Fix: run on a GPU architecture whose kernels cover them"):
            capabilities.require("QuantType.per_1x32", report=report)


def test_bad_arch_names_are_value_errors() -> None:
    with pytest.raises(ValueError, match="arch names look like 'gfx942'"):
        capabilities.probe(arch="mi300")


def test_the_live_gfx942_makes_the_runner_refuse_mxfp4_before_any_call(fake_aiter: Any, fake_sysfs: Any) -> None:
    from runners import AiterMoeQuantInfo, AiterQuantType, AiterRunnerCore, AiterRunnerInput, MoeRunnerConfig

    _build(fake_aiter, params="hidden_states, w1, w2, topk_weight, topk_ids, activation=None, quant_type=None")
    fake_sysfs([GFX942])
    runner = AiterRunnerCore(MoeRunnerConfig())
    qi = AiterMoeQuantInfo(w13_weight=torch.zeros(2, 8, 4), w2_weight=torch.zeros(2, 4, 4), quant_type=AiterQuantType.PER_1X32)
    ri = AiterRunnerInput(hidden_states=torch.zeros(1, 4), topk_ids=torch.zeros(1, 1, dtype=torch.int32), topk_weights=torch.ones(1, 1))
    with pytest.raises(capabilities.UnsupportedFeatureError, match="QuantType.per_1x32: unsupported: on gfx942"):
        runner.run(ri, qi)
    import aiter.fused_moe

    assert aiter.fused_moe.CALLS == []  # type: ignore[attr-defined]


# --- JIT readiness ---------------------------------------------------------------------


def test_jit_section_and_require_prebuilt(fake_aiter: Any, fake_sysfs: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.aiter/jit of this machine's
    monkeypatch.delenv("AITER_JIT_DIR", raising=False)
    _build(fake_aiter, built={"module_moe_sorting": ["gfx942"]})
    fake_sysfs([GFX942])
    jit = capabilities.probe().jit
    assert jit.prebuilt == ("module_moe_sorting",) and jit.modules["module_moe_sorting"].archs == ("gfx942",)
    assert cli("--require-prebuilt", "module_moe_sorting")[0] == 0
    code, _, err = cli("--require-prebuilt", "module_moe_asm,module_moe_sortin")
    assert code == 1
    assert "module_moe_asm: not prebuilt" in err and "the first call of its kernels will compile it" in err
    assert "module_moe_sortin: not a JIT module of amd-aiter 0.1.20 (did you mean 'module_moe_sorting'" in err
    code, _, err = cli("--require-prebuilt", "module_moe_sorting", "--arch", "gfx950")
    assert code == 1 and "built at" in err and "not for gfx950" in err
    _, out, _ = cli()
    assert "jit         : 1 of 2 modules prebuilt; the others compile on their first call" in out
    assert re.search(r"prebuilt +: module_moe_sorting", cli("-v")[1])


def test_cli_arch_usage_errors() -> None:
    code, _, err = cli("--arch", "MI300")
    assert code == 2 and "--arch names look like 'gfx942'" in err


# --- several ranks -------------------------------------------------------------------------


def test_a_mixed_group_agrees_on_what_both_archs_serve(fake_aiter: Any, fake_sysfs: Any) -> None:
    _build(fake_aiter)
    fake_sysfs([GFX950])
    on950 = capabilities.probe()
    fake_sysfs([GFX942])
    on942 = capabilities.probe()
    agreement = merge([on950, on942])
    assert agreement.report.archs.names == ("gfx942", "gfx950")
    assert agreement.report.support("QuantType.per_1x32") is Support.UNSUPPORTED
    with pytest.raises(capabilities.UnsupportedFeatureError, match=r"rank 1 \(amd-aiter 0.1.20 on gfx942\): on gfx942"):
        capabilities.require("QuantType.per_1x32", report=agreement.report)
    (difference,) = [d for d in agreement.differences if d.feature == "QuantType.per_1x32"]
    assert [(a.rank, a.archs, a.support) for a in difference.answers] == [(0, ("gfx950",), Support.SUPPORTED), (1, ("gfx942",), Support.UNSUPPORTED)]


def test_json_carries_the_hardware_sections(fake_aiter: Any, fake_sysfs: Any) -> None:
    _build(fake_aiter)
    fake_sysfs([GFX942])
    data = json.loads(cli("--json")[1])
    assert data["gpus"] == [
        {"index": 0, "node": 1, "arch": "gfx942", "compute_units": 304, "vendor_id": 4098, "uuid": "GPU-1d6e3a5b00000001", "visible": True}
    ]
    assert data["arch_features"]["gfx942"]["QuantType.per_1x32"]["support"] == "unsupported"
    assert set(data["jit"]["modules"]) == {"module_moe_asm", "module_moe_sorting"}
    assert data["archs"] == {"names": ["gfx942"], "source": "live", "detail": "no visibility variable is set: every GPU is visible"}


@pytest.mark.parametrize("argv", [[], ["--arch", "gfx942"], ["--arch", "gfx950"], ["--arch", "gfx942,gfx950"]])
def test_the_answer_line_counts_what_the_gates_answer_for_the_archs_considered(fake_aiter: Any, fake_sysfs: Any, argv: list[str]) -> None:
    _build(fake_aiter)
    fake_sysfs([])
    code, out, err = cli(*argv)
    assert code == 0, err
    answer = next(line for line in out.splitlines() if line.startswith("answer"))
    report = capabilities.probe(arch=argv[1].split(",") if argv else None)
    counts = {s: sum(1 for n in report.features if report.support(n) is s) for s in Support}
    assert ", ".join(f"{counts[s]} {s.value}" for s in Support) in answer
    scope = f"for {', '.join(report.archs.names)}" if argv else "for the build, no architecture checked"
    assert f"features ({scope})" in answer
    per_1x32 = report.support("QuantType.per_1x32")
    assert per_1x32 is (Support.UNSUPPORTED if "gfx942" in "".join(argv) else Support.SUPPORTED)
    code, _, _ = cli("--require", "QuantType.per_1x32", *argv)  # the gate agrees with the count
    assert code == (1 if per_1x32 is Support.UNSUPPORTED else 0)
