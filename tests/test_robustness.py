"""Never a traceback: whatever the disk, the child process or the imported code does,
the report comes (exit 0), and what went wrong is in it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import capabilities
from capabilities import AiterStatus, Support
from capabilities.testing import write_fake_aiter
from tests.conftest import ROOT, cli, run_cli


# --- the disk -------------------------------------------------------------------


def _deny(monkeypatch: pytest.MonkeyPatch, method: str, name: str) -> None:
    """Make ``Path.<method>`` raise PermissionError for files called ``name`` (tests run as
    root here, where chmod does not keep anyone out)."""
    real = getattr(Path, method)

    def deny(self: Path) -> Any:
        if self.name == name:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, method, deny)


def test_unreadable_header_is_a_recorded_problem(fake_aiter: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_aiter()
    _deny(monkeypatch, "read_bytes", "aiter_enum.h")
    report = capabilities.probe()
    assert report.support("QuantType.No") is Support.UNKNOWN
    assert "PermissionError" in (report.evidence.enum_error or "")


def test_an_unreadable_record_is_a_recorded_problem(fake_aiter: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_aiter()
    _deny(monkeypatch, "read_bytes", "RECORD")
    report = capabilities.probe()
    assert report.aiter.status is AiterStatus.AVAILABLE  # the content still decides
    assert report.aiter.distribution is None  # no file proves who installed it
    assert any("RECORD cannot be read: PermissionError" in p for p in report.evidence.problems)


def test_non_utf8_metadata_is_a_recorded_problem(fake_aiter: Any) -> None:
    fake = fake_aiter()
    assert fake.dist_info is not None
    path = fake.dist_info / "METADATA"
    path.write_bytes(path.read_bytes() + b"Summary: caf\xe9\n")
    code, out, err = cli("--json")
    assert code == 0 and err == ""
    data = json.loads(out)
    assert (data["aiter"]["status"], data["aiter"]["distribution"]) == ("available", "amd-aiter")  # the rest still counts
    assert [p for p in data["evidence"]["problems"] if "METADATA is not valid UTF-8" in p]


def test_a_non_utf8_top_level_that_is_read_is_a_recorded_problem(fake_aiter: Any) -> None:
    fake = fake_aiter()
    assert fake.dist_info is not None
    (fake.dist_info / "RECORD").unlink()  # no file proves ownership: top_level.txt is read instead
    top = fake.dist_info / "top_level.txt"
    top.write_bytes(top.read_bytes() + b"caf\xe9\n")
    code, out, err = cli("--json")
    assert code == 0 and err == ""
    data = json.loads(out)
    assert [p for p in data["evidence"]["problems"] if "top_level.txt is not valid UTF-8" in p]
    assert data["aiter"]["distribution"] is None  # a claim is no proof


@pytest.mark.parametrize(
    "source",
    ["x = " + "-" * 100_000 + "1\n", "def fused_moe(x, y=" + "[" * 150 + "]" * 150 + "): ...\n"],
    ids=["too-deep-to-parse", "deep-default"],
)
def test_deeply_nested_source_gives_an_answer(fake_aiter: Any, source: str) -> None:
    fake_aiter(fused_moe_source=source)
    code, out, _ = cli("--json")
    assert code == 0
    assert json.loads(out)["aiter"]["status"] in ("unreadable", "available")


@pytest.mark.parametrize(
    "prefix",
    [b"\xef\xbb\xbf", b"# -*- coding: latin-1 -*-\n# caf\xe9\n"],
    ids=["bom", "coding-cookie"],
)
def test_source_python_can_import_is_read(fake_aiter: Any, prefix: bytes) -> None:
    fake = fake_aiter()
    (fake.package / "fused_moe.py").write_bytes(prefix + b"def fused_moe(x, no_combine=False): ...\n")
    report = capabilities.probe()
    assert report.aiter.status is AiterStatus.AVAILABLE
    assert report.support("no_combine") is Support.SUPPORTED


@pytest.mark.parametrize(
    "before",
    ["# a comment\u2028still the comment\n", "\f\n", "# one\f\n\f\n# two\u2028\u2028\n"],
    ids=["line-separator-in-comment", "form-feed-line", "both"],
)
def test_defaults_after_odd_line_breaks_are_their_source_text(fake_aiter: Any, before: str) -> None:
    fake = fake_aiter()
    source = f"{before}def fused_moe(x, a=1, *, b='two'): ...\n"
    (fake.package / "fused_moe.py").write_text(source, encoding="utf-8")
    fm = capabilities.probe().fused_moe
    assert fm is not None
    assert [(p.name, p.default) for p in fm.parameters] == [("x", None), ("a", "1"), ("b", "'two'")]


# --- the imported code ------------------------------------------------------------


SWAP = "import aiter.fused_moe as _m\n{code}\n"


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("class _F:\n    __signature__ = 'not a signature'\n    def __call__(self, *a): ...\n_m.fused_moe = _F()", "inspect.signature(aiter.fused_moe.fused_moe) failed"),
        ("_m.fused_moe = None", "has no callable fused_moe"),
        ("class _F:\n    @property\n    def __signature__(self):\n        raise KeyError('boom')\n    def __call__(self, *a): ...\n_m.fused_moe = _F()", "KeyError"),
    ],
    ids=["bad-signature", "not-callable", "signature-raises"],
)
def test_a_runtime_reading_that_fails_leaves_no_static_supported(fake_aiter: Any, code: str, why: str) -> None:
    fake = fake_aiter(params="hidden_states, no_combine=False")
    with (fake.package / "__init__.py").open("a") as init:
        init.write(SWAP.format(code=code))
    assert capabilities.probe().support("no_combine") is Support.UNKNOWN  # the source sees the patch
    report = capabilities.probe(runtime=True)
    assert report.fused_moe is None
    assert report.support("no_combine") is Support.UNKNOWN
    assert why in report.feature("no_combine").detail


def test_the_runner_refuses_a_kernel_whose_signature_is_unknown(fake_aiter: Any) -> None:
    from runners import AiterRunnerCore, AiterUnavailableError, MoeRunnerConfig

    fake = fake_aiter(params="hidden_states, w1, w2, topk_weight, topk_ids, activation=None, quant_type=None")
    with (fake.package / "__init__.py").open("a") as init:
        init.write(SWAP.format(code="_m.fused_moe = None"))
    with pytest.raises(AiterUnavailableError, match="signature of fused_moe is unknown.*has no callable fused_moe"):
        AiterRunnerCore(MoeRunnerConfig())


def test_raising_repr_and_module_getattr_in_process(fake_aiter: Any) -> None:
    fake_aiter(
        fused_moe_source=(
            "class _D:\n    def __repr__(self):\n        raise RuntimeError('no')\n"
            "def fused_moe(x, d=_D()): ...\n"
            "def __getattr__(name):\n    raise RuntimeError('module getattr')\n"
        )
    )
    report = capabilities.probe(runtime=True)
    assert report.support("d") is Support.SUPPORTED
    assert report.fused_moe is not None and report.fused_moe.source == "runtime_signature"


# --- the child process --------------------------------------------------------------


CHILD_SAYS = {
    "non-utf8-output": "import sys\nsys.stdout.buffer.write(b'\\xff\\xfe\\n'); sys.stdout.flush()\n",
    "forged-marker": (
        "import json, os, sys\n"
        "m = json.loads(os.environ['CAPABILITIES_CHILD'])['marker']\n"
        "print(m + '{not json'); sys.stdout.flush()\n"
        "raise SystemExit(3)\n"
    ),
    "wrong-shape": (
        "import json, os, sys\n"
        "m = json.loads(os.environ['CAPABILITIES_CHILD'])['marker']\n"
        "print(m + json.dumps({'reading': 7})); sys.stdout.flush()\n"
        "raise SystemExit(3)\n"
    ),
}


@pytest.mark.parametrize("name", sorted(CHILD_SAYS))
def test_whatever_the_child_prints_the_report_comes(fake_aiter: Any, name: str) -> None:
    fake = fake_aiter()
    init = fake.package / "__init__.py"
    init.write_text(CHILD_SAYS[name] + init.read_text())
    code, out, err = cli("--json", "--import")
    assert code == 0, err
    data = json.loads(out)
    if name == "non-utf8-output":  # noise before the answer changes nothing
        assert (data["aiter"]["status"], data["fused_moe"]["source"]) == ("available", "runtime_signature")
    else:  # no reading came back: the source speaks, and the report says why
        assert (data["aiter"]["status"], data["fused_moe"]["source"]) == ("import_failed", "static_signature")
        assert "answered something unreadable" in data["aiter"]["import_error"]


def test_import_that_leaves_work_running_answers_at_once_and_leaves_no_orphan(fake_aiter: Any, tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    fake = fake_aiter()
    init = fake.package / "__init__.py"
    init.write_text(
        "import subprocess, threading, time\n"
        f"p = subprocess.Popen(['sleep', '60'])\nopen({str(pidfile)!r}, 'w').write(str(p.pid))\n"
        "threading.Thread(target=time.sleep, args=(60,)).start()\n" + init.read_text()
    )
    start = time.monotonic()
    code, out, _ = cli("--json", "--import", "--timeout", "50")
    assert code == 0 and time.monotonic() - start < 20
    assert json.loads(out)["fused_moe"]["source"] == "runtime_signature"
    pid = int(pidfile.read_text())
    time.sleep(0.2)
    stat = Path(f"/proc/{pid}/stat")
    assert not stat.exists() or stat.read_text().split(") ")[1].startswith("Z")  # gone, or a corpse


@pytest.mark.parametrize("timeout", ["1e9", "inf"])
def test_huge_timeouts_are_accepted(fake_aiter: Any, timeout: str) -> None:
    fake_aiter()
    code, out, err = cli("--json", "--import", "--timeout", timeout)
    assert code == 0, err
    assert json.loads(out)["evidence"]["runtime"]["error"] is None


def test_a_path_object_in_sys_path(fake_aiter: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_aiter()
    monkeypatch.setattr(sys, "path", [*sys.path, tmp_path])
    report = capabilities.probe(runtime=True, isolated=True)
    assert report.evidence.runtime is not None and report.evidence.runtime.error is None


def test_a_hanging_isolated_probe_does_not_stall_other_probes(fake_aiter: Any, tmp_path: Path) -> None:
    fake_aiter(import_error="__import__('time').sleep(30) or RuntimeError('late')")
    other = write_fake_aiter(tmp_path / "other")
    started = threading.Event()

    def hang() -> None:
        started.set()
        capabilities.probe(runtime=True, isolated=True, timeout=8)

    threading.Thread(target=hang, daemon=True).start()
    started.wait()
    time.sleep(0.3)
    begin = time.monotonic()
    capabilities.probe(aiter_path=other.root)
    assert time.monotonic() - begin < 3


# --- the command line ---------------------------------------------------------------


def test_require_accumulates(fake_aiter: Any) -> None:
    fake_aiter(params="hidden_states, no_combine=False")
    code, _, err = cli("--require", "splitk", "--require", "no_combine,beta")
    assert code == 1
    assert "--require needs 2 feature(s)" in err and "beta: unsupported" in err and "splitk: unsupported" in err


@pytest.mark.parametrize(
    ("which", "message"),
    [("package", "is the aiter package itself; pass the folder that holds it"), ("empty", "not an empty string")],
)
def test_aiter_path_mistakes_are_usage_errors(fake_aiter: Any, which: str, message: str) -> None:
    fake = fake_aiter()
    code, out, err = cli("--aiter-path", str(fake.package) if which == "package" else "")
    assert code == 2 and out == "" and message in err


@pytest.mark.parametrize("value", ["nan", "-1"])
def test_timeout_must_be_a_positive_number(value: str) -> None:
    code, _, err = cli("--timeout", value)
    assert code == 2 and "--timeout must be a positive number" in err


def test_compare_reads_back_its_own_json_whatever_the_path_bytes(tmp_path: Path) -> None:
    root = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9-\xff"))
    write_fake_aiter(root)
    saved = tmp_path / "a.json"
    done = run_cli("--json", "--aiter-path", str(root))
    assert done.returncode == 0, done.stderr
    saved.write_text(done.stdout)
    code, out, err = cli("--compare", str(saved), str(saved))
    assert code == 0, err
    assert "every answer is the same" in out


def test_compare_prints_values_not_enum_names(fake_aiter: Any, tmp_path: Path) -> None:
    fake_aiter()
    a = tmp_path / "a.json"
    a.write_text(cli("--json")[1])
    fake_aiter(impostor=True)
    b = tmp_path / "b.json"
    b.write_text(cli("--json")[1])
    code, out, _ = cli("--compare", str(a), str(b))
    assert code == 1
    assert "status: available | impostor" in out and "AiterStatus" not in out


def test_a_closed_pipe_ends_quietly(fake_aiter: Any) -> None:
    fake = fake_aiter()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(fake.root)])}
    done = subprocess.run(
        f"{sys.executable} -m capabilities | head -c 10", shell=True, capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0 and done.stderr == ""


def test_text_report_without_aiter_says_it_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    code, out, _ = cli()  # no AITER is installed where the tests run (--aiter-path to a folder without one is a usage error)
    assert code == 0
    assert out.count("not installed") == 1 and "pip install amd-aiter" in out
    assert out.splitlines()[0].startswith("aiter") and out.splitlines()[1].startswith("answer")


# --- the report itself ---------------------------------------------------------------


def test_reports_are_hashable_and_copies_stay_frozen(fake_aiter: Any) -> None:
    fake_aiter()
    report = capabilities.probe()
    assert hash(report) == hash(capabilities.CapabilityReport.model_validate_json(report.model_dump_json()))
    copy = report.model_copy(update={"features": dict(report.features)})
    with pytest.raises(TypeError):
        copy.features["no_combine"] = copy.features["w1"]  # type: ignore[index]
    assert hash(copy) == hash(report) and copy == report
