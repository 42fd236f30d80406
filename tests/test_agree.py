"""Every rank agrees on one feature set: real processes, gloo on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import capabilities
from capabilities import Support
from tests.conftest import HISTORY, ROOT

LATEST = [tuple(p) for p in HISTORY[-1]["fused_moe_params"]]
WITH_NO_COMBINE = [*LATEST, ("no_combine", "False")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_ranks(tmp_path: Path, specs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], float]:
    port = _free_port()
    start = time.monotonic()
    procs = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "agree_worker.py"), str(rank), str(len(specs)), str(port), str(tmp_path), json.dumps(specs)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in range(len(specs))
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=180)  # a hang guard, not a speed claim
        assert proc.returncode == 0, err
    elapsed = time.monotonic() - start
    return [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(len(specs))], elapsed


@pytest.mark.slow  # process groups of fresh interpreters
def test_three_ranks_one_lacking_no_combine(tmp_path: Path) -> None:
    specs = [
        {"params": WITH_NO_COMBINE, "version": "0.1.21.dev1"},
        {"params": WITH_NO_COMBINE, "version": "0.1.21.dev1"},
        {"params": LATEST, "version": "0.1.20.post1"},
    ]
    results, elapsed = _run_ranks(tmp_path, specs)
    print(f"3-rank agreement and runner check: {elapsed:.1f} s wall, ranks {[round(r['seconds'], 1) for r in results]} s")
    agreements = [r["agreement"] for r in results]
    assert agreements[1] == agreements[0] and agreements[2] == agreements[0]  # every rank, the same answer
    agreement = capabilities.Agreement.model_validate(agreements[0])
    assert agreement.report.support("no_combine") is Support.UNSUPPORTED
    assert agreement.report.support("splitk") is Support.SUPPORTED
    (diff,) = agreement.differences
    assert diff.feature == "no_combine"
    assert [(a.rank, a.support.value, a.version) for a in diff.answers] == [
        (0, "supported", "0.1.21.dev1"),
        (1, "supported", "0.1.21.dev1"),
        (2, "unsupported", "0.1.20.post1"),
    ]
    detail = agreement.report.features["no_combine"].detail
    assert detail.startswith("rank 2 lacks it: rank 2 (amd-aiter 0.1.20.post1): not a parameter of fused_moe")
    assert detail.endswith("; ranks 0, 1: supported")
    assert agreement.report.aiter.version == "0.1.21.dev1 on ranks 0, 1; 0.1.20.post1 on rank 2"

    errors = [r["error"] for r in results]
    assert errors[0] is not None and errors[1] == errors[0] and errors[2] == errors[0]  # the same error everywhere
    assert errors[0]["type"] == "UnsupportedFeatureError"
    assert "MoeRunnerConfig(no_combine=True, fallback='refuse') needs 1 feature(s)" in errors[0]["message"]
    assert "rank 2 (amd-aiter 0.1.20.post1)" in errors[0]["message"]


@pytest.mark.slow  # process groups of fresh interpreters
def test_a_rank_that_fails_before_the_exchange_fails_every_rank_alike(tmp_path: Path) -> None:
    specs = [
        {"params": LATEST, "version": "0.1.20.post1"},
        {"params": LATEST, "version": "0.1.20.post1", "fail": "Input/output error reading /caf\udcff/aiter"},
    ]
    # A rank left waiting would hit the workers' 60 s process-group time-out and fail with that instead.
    results, _ = _run_ranks(tmp_path, specs)
    errors = [r["error"] for r in results]
    assert errors[0] == errors[1] and errors[0]["type"] == "AgreementError"
    assert "rank 1: OSError: [Errno 5] Input/output error" in errors[0]["message"]


@pytest.mark.slow  # process groups of fresh interpreters
def test_equal_builds_agree_silently(tmp_path: Path) -> None:
    specs = [{"params": WITH_NO_COMBINE, "version": "0.1.21.dev1"}] * 3
    results, _ = _run_ranks(tmp_path, specs)
    for r in results:
        assert r["error"] is None and r["warnings"] == []
        assert r["agreement"]["differences"] == []
        assert r["agreement"]["report"]["features"]["no_combine"]["support"] == "supported"
    assert results[0]["agreement"] == results[1]["agreement"] == results[2]["agreement"]


def test_without_a_process_group_the_local_report_comes_back(fake_aiter: Any) -> None:
    fake_aiter()
    local = capabilities.probe()
    agreement = capabilities.agree()
    assert agreement.report is local and agreement.differences == () and agreement.unanimous


def test_merge_rules(fake_aiter: Any) -> None:
    from capabilities._agree import merge

    fake_aiter(params="hidden_states, splitk=0, no_combine=False", version="1")
    a = capabilities.probe()
    fake_aiter(params="hidden_states, **kwargs", version="2")
    b = capabilities.probe()
    fake_aiter(params="hidden_states, splitk=0", version="3")
    c = capabilities.probe()
    ab = merge([a, b])
    assert ab.report.support("splitk") is Support.UNKNOWN  # supported + unknown
    assert ab.report.support("no_combine") is Support.UNKNOWN
    assert ab.report.support("brand_new") is Support.UNSUPPORTED  # rank 0 would reject it
    abc = merge([a, b, c])
    assert abc.report.support("no_combine") is Support.UNSUPPORTED  # unknown + unsupported
    assert abc.report.support("hidden_states") is Support.SUPPORTED
    assert [d.feature for d in abc.differences] == sorted(d.feature for d in abc.differences)
    assert merge([a, a]).report.features == a.features


def test_merge_needs_reports() -> None:
    from capabilities._agree import merge

    with pytest.raises(capabilities.AgreementError, match="no reports"):
        merge([])


@pytest.fixture
def one_rank_group(tmp_path: Path) -> Any:
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'rendezvous'}", rank=0, world_size=1)
    yield
    dist.destroy_process_group()


def test_single_rank_group_exchanges_real_bytes(fake_aiter: Any, one_rank_group: None) -> None:
    fake_aiter(params="hidden_states, no_combine=False")
    local = capabilities.probe()
    agreement = capabilities.agree()
    assert agreement.report == local and agreement.report is not local  # it went through the wire
    assert agreement.ranks == (local.aiter,)


def test_a_report_at_a_non_utf8_path_crosses_the_wire(tmp_path: Path, one_rank_group: None) -> None:
    from capabilities.testing import write_fake_aiter

    root = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9-\xff"))
    write_fake_aiter(root, params="hidden_states, no_combine=False")
    local = capabilities.probe(aiter_path=root)
    agreement = capabilities.agree(local)
    assert agreement.report == local and agreement.report is not local
    assert os.fsencode(agreement.report.aiter.location or "").startswith(bytes(root))
    assert agreement.report.model_dump_json().encode("utf-8")  # and it serialises after the trip


def test_unreadable_peer_report_is_an_agreement_error(
    fake_aiter: Any, one_rank_group: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from capabilities import _agree

    fake_aiter()
    # A peer on another version of this project: its bytes are not our schema.
    monkeypatch.setattr(_agree, "_exchange", lambda payload, group: [b'R{"schema_version": 99}'])
    # One wrong schema version, and every other field missing: the count is the payload's own.
    count = len(capabilities.CapabilityReport.model_fields)
    with pytest.raises(capabilities.AgreementError, match=rf"rank 0 sent a report this rank cannot read \({count} problem\(s\)\)"):
        capabilities.agree()
