"""The registry: one probe per process, a frozen answer, require()."""

from __future__ import annotations

import threading
from typing import Any

import pydantic
import pytest

import capabilities
from capabilities import CapabilityError, Support, UnsupportedFeatureError
from capabilities import _registry


def test_probe_is_cached(fake_aiter: Any) -> None:
    fake_aiter()
    assert capabilities.probe() is capabilities.probe()


def test_sixty_four_threads_cause_one_probe(fake_aiter: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_aiter()
    builds: list[int] = []
    real_build = _registry.from_facts

    def counting_build(facts: Any) -> capabilities.CapabilityReport:
        builds.append(1)
        return real_build(facts)

    monkeypatch.setattr(_registry, "from_facts", counting_build)
    barrier = threading.Barrier(64)
    results: list[capabilities.CapabilityReport] = []

    def worker() -> None:
        barrier.wait()
        results.append(capabilities.probe())

    threads = [threading.Thread(target=worker) for _ in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(builds) == 1
    assert len(results) == 64 and all(r is results[0] for r in results)


def test_refresh_probes_again(fake_aiter: Any) -> None:
    fake = fake_aiter(params="hidden_states")
    first = capabilities.probe()
    assert first.support("no_combine") is Support.UNSUPPORTED
    (fake.package / "fused_moe.py").write_text("def fused_moe(hidden_states, no_combine=False): ...\n")
    assert capabilities.probe() is first  # cached: the file is not read again
    fresh = capabilities.probe(refresh=True)
    assert fresh is not first
    assert fresh.support("no_combine") is Support.SUPPORTED
    assert capabilities.probe() is fresh


def test_report_is_frozen(fake_aiter: Any) -> None:
    fake_aiter()
    report = capabilities.probe()
    with pytest.raises(pydantic.ValidationError):
        report.aiter.status = capabilities.AiterStatus.ABSENT  # type: ignore[misc]
    with pytest.raises(TypeError):
        report.features["no_combine"] = report.features["w1"]  # type: ignore[index]
    assert isinstance(report.fused_moe.parameters, tuple)  # type: ignore[union-attr]


def test_report_round_trips_through_json(fake_aiter: Any) -> None:
    fake_aiter(params="hidden_states, *, no_combine=False, **kw")
    report = capabilities.probe()
    again = capabilities.CapabilityReport.model_validate_json(report.model_dump_json())
    assert again == report


def test_require_passes_on_supported(fake_aiter: Any) -> None:
    fake_aiter(params="hidden_states, no_combine=False")
    assert capabilities.require("no_combine", "ActivationType.Silu") is capabilities.probe()


def test_require_names_every_missing_feature(fake_aiter: Any) -> None:
    fake_aiter(params="hidden_states, w1, w2, topk_weight, topk_ids", version="0.1.9")
    with pytest.raises(UnsupportedFeatureError) as info:
        capabilities.require("w1", "splitk", "no_combine", "QuantType.per_256x128")
    err = info.value
    assert isinstance(err, NotImplementedError) and isinstance(err, CapabilityError)
    assert err.features == ("QuantType.per_256x128", "no_combine", "splitk")
    assert (err.distribution, err.version) == ("amd-aiter", "0.1.9")
    message = str(err)
    assert "3 feature(s) not supported by amd-aiter 0.1.9" in message
    assert "splitk: unsupported: not a parameter of fused_moe in amd-aiter 0.1.9 (first released in v0.1.9)" in message
    assert "pull-request builds only" in message
    assert "Fix: install an AITER build" in message


def test_require_suggests_a_spelling(fake_aiter: Any) -> None:
    fake_aiter(params="hidden_states, no_combine=False")
    with pytest.raises(UnsupportedFeatureError, match=r"no_combin: unsupported: not a parameter of fused_moe in amd-aiter 0.1.20; .*\(did you mean 'no_combine'\?\)"):
        capabilities.require("no_combin")


def test_require_on_an_impostor_names_amd_aiter(fake_aiter: Any) -> None:
    fake_aiter(impostor=True)
    with pytest.raises(UnsupportedFeatureError, match="AMD's AITER is the distribution 'amd-aiter', and the 'aiter' installed here is another library: pip uninstall aiter && pip install amd-aiter"):
        capabilities.require("no_combine")


def test_require_with_an_explicit_report(fake_aiter: Any) -> None:
    fake_aiter(params="hidden_states")
    report = capabilities.probe()
    fake_aiter(params="hidden_states, splitk=0")
    with pytest.raises(UnsupportedFeatureError, match="splitk"):
        capabilities.require("splitk", report=report)
