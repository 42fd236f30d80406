"""Every AITER release's real fused_moe signature, as a fake installed AITER on a CPU host."""

from __future__ import annotations

from typing import Any

import pytest

import capabilities
from capabilities import AiterStatus, Support
from capabilities.model import ParameterKind
from capabilities._catalog import ENUMS, PARAMETERS
from tests.conftest import HISTORY

ROCM_ERROR = 'RuntimeError("ROCm version file not found")'


def _write(fake_aiter: Any, release: dict[str, Any]) -> None:
    fake_aiter(
        params=[tuple(p) for p in release["fused_moe_params"]],
        version=release["tag"][1:],
        enums=release["enums"],
        import_error=ROCM_ERROR,
    )


def _check(report: capabilities.CapabilityReport, release: dict[str, Any]) -> None:
    assert report.fused_moe is not None
    assert [(p.name, p.default) for p in report.fused_moe.parameters] == [tuple(p) for p in release["fused_moe_params"]]
    assert {p.kind for p in report.fused_moe.parameters} == {ParameterKind.POSITIONAL_OR_KEYWORD}
    names = {p[0] for p in release["fused_moe_params"]}
    for known in PARAMETERS:
        expected = Support.SUPPORTED if known.name in names else Support.UNSUPPORTED
        assert report.features[known.name].support is expected, known.name
    for enum, members in ENUMS.items():
        for m in members:
            expected = Support.SUPPORTED if m.name in release["enums"][enum] else Support.UNSUPPORTED
            assert report.features[f"{enum}.{m.name}"].support is expected, (enum, m.name)


def test_history_holds_every_release() -> None:
    assert len(HISTORY) == 63


@pytest.mark.parametrize("release", HISTORY, ids=[r["tag"] for r in HISTORY])
def test_static_probe_reads_release_exactly(fake_aiter: Any, release: dict[str, Any]) -> None:
    _write(fake_aiter, release)
    report = capabilities.probe()
    assert report.aiter.status is AiterStatus.AVAILABLE
    assert report.aiter.distribution == "amd-aiter"
    assert report.aiter.version == release["tag"][1:]
    assert report.evidence.runtime is None  # the default probe never imports aiter
    _check(report, release)
    missing = [k.name for k in PARAMETERS if k.name not in {p[0] for p in release["fused_moe_params"]}]
    for name in missing:
        assert f"not a parameter of fused_moe in amd-aiter {release['tag'][1:]}" in report.features[name].detail


@pytest.mark.parametrize("release", HISTORY[::8] + HISTORY[-1:], ids=lambda r: r["tag"])
def test_failed_import_falls_back_to_the_source(fake_aiter: Any, release: dict[str, Any]) -> None:
    _write(fake_aiter, release)
    report = capabilities.probe(runtime=True)
    assert report.aiter.status is AiterStatus.IMPORT_FAILED
    assert report.aiter.import_error == "RuntimeError: ROCm version file not found"
    assert report.fused_moe is not None and report.fused_moe.source == "static_signature"
    _check(report, release)


@pytest.mark.parametrize("release", HISTORY[::8] + HISTORY[-1:], ids=lambda r: r["tag"])
def test_runtime_probe_agrees_on_every_sampled_release(fake_aiter: Any, release: dict[str, Any]) -> None:
    fake_aiter(params=[tuple(p) for p in release["fused_moe_params"]], version=release["tag"][1:], enums=release["enums"])
    report = capabilities.probe(runtime=True)
    assert report.aiter.status is AiterStatus.AVAILABLE
    assert report.fused_moe is not None and report.fused_moe.source == "runtime_signature"
    assert report.evidence.disagreement is None
    _check(report, release)
