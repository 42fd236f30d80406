"""Truth under faults: install shapes, imports that misbehave, hostile input, misuse."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

import capabilities
from capabilities import AiterStatus, Support, UsageError
from capabilities._header import parse as parse_header
from capabilities.testing import forget_aiter, write_fake_aiter
from tests.conftest import ROOT, cli, run_cli

SIGNATURE = "hidden_states, w1, w2, topk_weight, topk_ids, splitk=0"


# --- identity: the answer is what `import aiter` would do --------------------------------


def test_a_legacy_develop_install_keeps_its_owner(tmp_path: Path) -> None:
    checkout = write_fake_aiter(tmp_path / "src", distribution=None, header="source", params=SIGNATURE).root
    info = checkout / "amd_aiter.egg-info"
    info.mkdir()
    (info / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: amd-aiter\nVersion: 0.1.7.post2\n")
    (info / "top_level.txt").write_text("aiter\n")
    site = tmp_path / "site"
    site.mkdir()
    (site / "amd-aiter.egg-link").write_text(f"{checkout}\n.\n")
    (site / "easy-install.pth").write_text(f"{checkout}\n")
    capabilities.clear_cache()
    ident = capabilities.probe(aiter_path=site).aiter
    assert (ident.status, ident.distribution, ident.version) == (AiterStatus.AVAILABLE, "amd-aiter", "0.1.7.post2")
    assert "legacy develop install" in ident.detail and ident.conflicts == ()


def test_a_symlinked_package_folder_keeps_its_owner(tmp_path: Path) -> None:
    # The installed folder is a link to a checkout; the RECORD in site-packages names it as linked.
    built = write_fake_aiter(tmp_path / "built", params=SIGNATURE)
    real = write_fake_aiter(tmp_path / "real", params=SIGNATURE, distribution=None)
    site = tmp_path / "site"
    site.mkdir()
    (site / "aiter").symlink_to(real.package, target_is_directory=True)
    assert built.dist_info is not None
    shutil.copytree(built.dist_info, site / built.dist_info.name)
    capabilities.clear_cache()
    ident = capabilities.probe(aiter_path=site).aiter
    assert (ident.status, ident.distribution) == (AiterStatus.AVAILABLE, "amd-aiter")
    assert ident.conflicts == ()


def test_a_namespace_aiter_over_two_path_entries_is_read_as_import_reads_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one, two = tmp_path / "one" / "aiter", tmp_path / "two" / "aiter"
    one.mkdir(parents=True)
    (two / "jit").mkdir(parents=True)
    (one / "fused_moe.py").write_text(f"def fused_moe({SIGNATURE}):\n    return (hidden_states, splitk)\n")
    (two / "jit" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path / "two"))
    monkeypatch.syspath_prepend(str(tmp_path / "one"))
    forget_aiter()
    report = capabilities.probe()
    assert report.aiter.status is AiterStatus.AVAILABLE, report.aiter.detail
    assert report.support("splitk") is Support.SUPPORTED
    forget_aiter()


def test_an_aiter_inside_a_zip_on_the_path_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = tmp_path / "aiter.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("aiter/__init__.py", "")
        z.writestr("aiter/jit/__init__.py", "")
        z.writestr("aiter/fused_moe.py", f"def fused_moe({SIGNATURE}):\n    return (hidden_states, splitk)\n")
    monkeypatch.syspath_prepend(str(archive))
    forget_aiter()
    report = capabilities.probe()
    assert report.aiter.status is AiterStatus.AVAILABLE, report.aiter.detail
    assert report.fused_moe is not None and "splitk" in report.fused_moe.names
    forget_aiter()


def test_an_editable_finder_in_a_folder_python_never_runs_pth_files_in_is_not_aiter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_install_shapes import _editable

    _, site = _editable(tmp_path)
    monkeypatch.syspath_prepend(str(site))  # a PYTHONPATH entry: its .pth files are never run
    forget_aiter()
    assert capabilities.probe().aiter.status is AiterStatus.ABSENT  # as `import aiter` fails there
    code = f"import sys; sys.path.insert(0, {str(site)!r}); import aiter"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode != 0
    forget_aiter()


# --- --import -------------------------------------------------------------------------


def test_a_fused_moe_package_is_read_at_run_time_as_its_own(fake_aiter: Any) -> None:
    fake = fake_aiter()
    (fake.package / "fused_moe.py").unlink()
    (fake.package / "fused_moe").mkdir()
    (fake.package / "fused_moe" / "__init__.py").write_text(f"def fused_moe({SIGNATURE}, no_combine=False):\n    return (hidden_states, splitk, no_combine)\n")
    report = capabilities.probe(runtime=True)
    assert report.evidence.runtime is not None and report.evidence.runtime.error is None
    assert report.fused_moe is not None and report.fused_moe.source == "runtime_signature"
    from runners import AiterRunnerCore, MoeRunnerConfig

    AiterRunnerCore(MoeRunnerConfig(), report=report)  # imports fine: not refused


def test_a_renamed_editable_checkout_imports_in_the_child(tmp_path: Path) -> None:
    checkout = write_fake_aiter(tmp_path / "src", distribution=None, header="source", params=SIGNATURE).package
    renamed = checkout.with_name("aiter_checkout")
    checkout.rename(renamed)
    site = tmp_path / "site"
    site.mkdir()
    from tests.test_install_shapes import FINDER

    (site / "__editable___amd_aiter_0_1_finder.py").write_text(FINDER.format(mapping={"aiter": str(renamed)}))
    capabilities.clear_cache()
    report = capabilities.probe(aiter_path=site, runtime=True, isolated=True, timeout=60)
    assert report.aiter.status is AiterStatus.AVAILABLE, report.aiter.detail
    assert report.fused_moe is not None and report.fused_moe.source == "runtime_signature"


def test_a_child_that_prints_a_huge_line_still_answers(fake_aiter: Any) -> None:
    fake = fake_aiter(params=SIGNATURE)
    with (fake.package / "__init__.py").open("a") as init:
        init.write("import sys\nsys.stdout.write('x' * 20_000_000)\nsys.stdout.flush()\n")
    report = capabilities.probe(runtime=True, isolated=True, timeout=60)
    assert report.fused_moe is not None and report.fused_moe.source == "runtime_signature"


def test_a_grandchild_holding_the_output_open_does_not_turn_an_exit_into_a_time_out(fake_aiter: Any) -> None:
    fake = fake_aiter(params=SIGNATURE)
    with (fake.package / "__init__.py").open("a") as init:
        init.write(
            "import os, subprocess, sys\n"
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
            "os._exit(3)\n"
        )
    report = capabilities.probe(runtime=True, isolated=True, timeout=45)
    assert report.aiter.status is AiterStatus.IMPORT_FAILED
    assert "exited with code 3 before answering" in (report.aiter.import_error or "")


# --- the enum header -------------------------------------------------------------------


def test_a_deprecated_member_keeps_its_place() -> None:
    enums, values = parse_header(
        'enum class QuantType : int {\n  No,\n  per_Old [[deprecated("use per_New, not this")]],\n'
        "  per_Tensor __attribute__((deprecated)),\n  per_Token = 0x10,\n  per_X = 010,\n  per_Y\n};\n"
    )
    assert enums["QuantType"] == ("No", "per_Old", "per_Tensor", "per_Token", "per_X", "per_Y")
    assert values["QuantType"] == {"No": 0, "per_Old": 1, "per_Tensor": 2, "per_Token": 16, "per_X": 8, "per_Y": 9}


# --- the cache keys on what the probe reads ------------------------------------------------


def test_the_cache_keys_on_visibility_and_the_sysfs_root(fake_aiter: Any, fake_sysfs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_aiter()
    fake_sysfs([(90402, 304), (90500, 256)])
    both = capabilities.probe()
    monkeypatch.setenv("ROCR_VISIBLE_DEVICES", "1")
    one = capabilities.probe()  # no refresh: the variable is part of the key
    assert (both.archs.names, one.archs.names) == (("gfx942", "gfx950"), ("gfx950",))
    monkeypatch.delenv("ROCR_VISIBLE_DEVICES")
    assert capabilities.probe() is both


def test_the_cache_keys_on_an_imported_fused_moe(fake_aiter: Any) -> None:
    fake_aiter(params=SIGNATURE)
    static = capabilities.probe()
    import importlib

    importlib.import_module("aiter.fused_moe")
    after = capabilities.probe()
    assert (static.fused_moe and static.fused_moe.source, after.fused_moe and after.fused_moe.source) == ("static_signature", "runtime_signature")


# --- the CLI never shows a traceback ---------------------------------------------------------


def test_deeply_nested_json_is_a_usage_error(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    code, _, err = cli("--compare", str(deep), str(deep))
    assert code == 2 and "nested too deeply" in err


def test_a_full_disk_is_exit_3_and_a_gate_keeps_exit_1(fake_aiter: Any) -> None:
    fake = fake_aiter()
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "capabilities"], stdout=full, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(fake.root)])})  # fmt: skip
        assert done.returncode == 3 and "cannot write the output: No space left on device" in done.stderr
        assert "Traceback" not in done.stderr
        gate = subprocess.run([sys.executable, "-m", "capabilities", "--require", "no_combine"], stdout=full, stderr=subprocess.PIPE,
                              text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(fake.root)])})  # fmt: skip
        assert gate.returncode == 1 and "Traceback" not in gate.stderr


def test_an_ascii_terminal_and_a_non_ascii_path(tmp_path: Path) -> None:
    fake = write_fake_aiter(tmp_path / "café-ü")
    for flags in ([], ["-v"], ["--json"]):
        done = run_cli("--aiter-path", str(fake.root), *flags, env={"PYTHONIOENCODING": "ascii"})
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        assert "caf" in done.stdout
    assert "café-ü" in json.loads(done.stdout)["aiter"]["location"]  # JSON escapes what ascii cannot show


def test_with_stderr_closed_nothing_lands_on_stdout_after_the_json(fake_aiter: Any) -> None:
    fake = fake_aiter()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(fake.root)])}
    done = subprocess.run(f"{sys.executable} -m capabilities --json --require no_combine 2>&-", shell=True, capture_output=True, text=True, env=env)
    assert done.returncode == 1
    json.loads(done.stdout)  # the JSON alone


@pytest.mark.parametrize("config", ['"a string"', '[{"module": 1}]', "42", '{"module_ok": {}, "1bad": 2}', "[1, 2"])
def test_any_jit_config_shape_gives_a_report(fake_aiter: Any, config: str) -> None:
    fake = fake_aiter(jit_modules=["module_ok"])
    (fake.package / "jit" / "optCompilerConfig.json").write_text(config)
    code, out, err = cli("--json")
    assert code == 0, err
    jit = json.loads(out)["jit"]
    assert jit["error"] or set(jit["modules"]) == {"module_ok"}


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root to run as another user")
def test_an_aiter_path_another_user_cannot_read(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    write_fake_aiter(locked)
    locked.chmod(0o000)
    tmp_path.chmod(0o755)
    try:
        done = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m", "capabilities", "--aiter-path", str(locked)],
            capture_output=True, text=True, cwd="/", env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
    finally:
        locked.chmod(0o755)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "--aiter-path" in done.stderr and "cannot be read" in done.stderr


# --- misuse: the project's errors, naming the argument ------------------------------------------


@pytest.mark.parametrize(
    ("call", "said"),
    [
        (lambda r: capabilities.check_call("topk_softmax", None, report=r), "kwargs must be a collection of keyword names"),  # type: ignore[arg-type]
        (lambda r: capabilities.check_call("topk_softmax", "need_renorm", report=r), "not the string 'need_renorm'"),
        (lambda r: capabilities.check_call(None, [], report=r), "an AITER name is a str"),  # type: ignore[arg-type]
        (lambda r: capabilities.check_call("topk_softmax", [], args=-1, report=r), "args= is how many positional arguments"),
        (lambda r: capabilities.gate(None, report=r, requested_by="x"), "gate\\(\\) takes a feature name"),  # type: ignore[arg-type]
        (lambda r: r.feature(None), "a feature name is a str"),
        (lambda r: capabilities.enum_value(None, report=r), "enum_value takes 'Enum.member'"),  # type: ignore[arg-type]
        (lambda r: capabilities.require(["no_combine"], report=r), "require\\(\\) takes feature names as separate str arguments"),  # type: ignore[arg-type]
        (lambda r: capabilities.require_prebuilt(None, report=r), "require_prebuilt\\(\\) takes JIT module names"),  # type: ignore[arg-type]
        (lambda r: capabilities.require("no_combine", report="x"), "report= must be a CapabilityReport"),  # type: ignore[arg-type]
        (lambda r: capabilities.probe(arch=123), "arch must be an arch name"),  # type: ignore[arg-type]
        (lambda r: capabilities.probe(timeout="5"), "probe\\(timeout=...\\) must be a positive number"),  # type: ignore[arg-type]
        (lambda r: capabilities.probe(timeout=float("nan")), "probe\\(timeout=...\\) must be a positive number"),
        (lambda r: capabilities.probe(aiter_path=""), "aiter_path must name a folder"),
        (lambda r: capabilities.probe(runtime="yes"), "probe\\(runtime=...\\) must be True or False"),  # type: ignore[arg-type]
        (lambda r: r.resolve(3), "an AITER name is a str"),  # type: ignore[arg-type]
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_misuse_is_a_usage_error_naming_the_argument(fake_aiter: Any, call: Any, said: str) -> None:
    fake_aiter()
    report = capabilities.probe()
    with pytest.raises(UsageError, match=said):
        call(report)


def test_a_runner_given_a_wrong_report_says_so(fake_aiter: Any) -> None:
    from runners import AiterRunnerCore, MoeRunnerConfig

    fake_aiter()
    with pytest.raises(UsageError, match="report= must be a CapabilityReport"):
        AiterRunnerCore(MoeRunnerConfig(), report="x")  # type: ignore[arg-type]


def test_cli_name_mistakes(fake_aiter: Any) -> None:
    fake_aiter()
    code, out, err = cli("--require", "no_combine,no_combine,no_combine")
    assert code == 1 and err.count("  no_combine:") == 1  # said once
    code, out, err = cli("--require", "aiter.fused_moe.fused_moe")
    assert code == 0, err
    assert "no enum aiter" not in err
