"""python -m capabilities: text, JSON, --require, --import, usage errors."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from capabilities._cli import main
from tests.conftest import cli, run_cli


def test_text_report_has_aligned_keys_and_one_line_per_feature(fake_aiter: Any) -> None:
    fake_aiter(params="hidden_states, w1, *, no_combine=False", version="0.1.21")
    code, out, err = cli()
    assert code == 0 and err == ""
    head = out.splitlines()
    assert len(head) <= 25
    assert len({line.index(" : ") for line in head}) == 1  # aligned
    assert head[0].startswith("aiter") and "amd-aiter 0.1.21 (available)" in head[0]  # who, first
    assert head[1].startswith("answer") and "features (for the build, no architecture checked):" in head[1]  # then the answer
    code, out, err = cli("-v")
    rows = {k.strip(): v for k, _, v in (line.partition(" : ") for line in out.split("\n\n")[0].splitlines())}
    assert (rows["aiter status"], rows["version"]) == ("available", "0.1.21")
    features = out.split("features (as checked for the archs above):\n")[1].split("\n\n")[0].splitlines()
    assert any(line.split()[:2] == ["supported", "no_combine"] for line in features)
    assert any(line.split()[:2] == ["unsupported", "splitk"] for line in features)


def test_json_report_fields(fake_aiter: Any) -> None:
    fake = fake_aiter(params="hidden_states, w1, *, no_combine=False", version="0.1.21")
    code, out, _ = cli("--json")
    data = json.loads(out)
    assert code == 0
    assert data["schema_version"] == 4
    assert data["aiter"] == {
        "status": "available",
        "distribution": "amd-aiter",
        "version": "0.1.21",
        "version_valid": True,
        "location": str(fake.package),
        "import_error": None,
        "rule": "distribution name 'amd-aiter'",
        "conflicts": [],
        "detail": f"amd-aiter 0.1.21 provides module 'aiter' at {fake.package}: its RECORD lists 3 file(s) under aiter/",
        "revision": None,
    }
    assert data["fused_moe"]["parameters"] == [
        {"name": "hidden_states", "kind": "positional_or_keyword", "default": None, "used": True},
        {"name": "w1", "kind": "positional_or_keyword", "default": None, "used": True},
        {"name": "no_combine", "kind": "keyword_only", "default": "False", "used": True},
    ]  # used: the fake's body records every parameter by name
    assert data["features"]["no_combine"] == {
        "support": "supported",
        "source": "static_signature",
        "detail": "fused_moe in amd-aiter 0.1.21 takes 'no_combine' by keyword (keyword_only, default False)",
        "used": True,
    }
    assert data["enums"]["ActivationType"] == ["No", "Silu", "Gelu", "Swiglu"]
    assert set(data["environment"]) == {"python", "torch", "platform"}


def test_json_fused_moe_is_null_when_unknown(fake_aiter: Any) -> None:
    fake_aiter(fused_moe_source="fused_moe = print\n")
    data = json.loads(cli("--json")[1])
    assert data["fused_moe"] is None
    assert data["features"]["no_combine"]["support"] == "unknown"


@pytest.mark.parametrize(
    ("require", "code"),
    [("no_combine", 0), ("no_combine,ActivationType.Silu", 0), ("splitk", 1), ("no_combine,splitk", 1), ("nope", 2)],
)
def test_require_exit_codes(fake_aiter: Any, require: str, code: int) -> None:
    fake_aiter(params="hidden_states, no_combine=False")
    got, _, err = cli("--require", require)
    assert got == code
    if code == 1:
        assert "--require needs 1 feature(s) not supported by amd-aiter 0.1.20" in err


def test_require_explains_each_missing_feature(fake_aiter: Any) -> None:
    fake_aiter(params="hidden_states, **kwargs", version="0.1.9")
    code, _, err = cli("--require", "splitk,no_combine")
    assert code == 1
    assert "splitk: unknown: 'splitk' is not a named parameter of fused_moe in amd-aiter 0.1.9, which takes **kwargs" in err
    code, out, err = cli("--require", "splitk,no_combin")  # no feature of any release: a typo, whatever **kwargs takes
    assert code == 2 and out == "" and "no feature is named 'no_combin' (did you mean 'no_combine'?)" in err


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--require", "frobnicate"], "--require: no feature is named 'frobnicate'"),
        (["--arch", "gfx9999"], "AITER knows no architecture 'gfx9999' (did you mean"),
        (["--arch", "gfx943,gfx942"], "it knows gfx908, gfx90a, gfx940, gfx941, gfx942"),
        (["--aiter-path", "."], "holds no aiter package"),
    ],
)
def test_a_mistake_is_a_usage_error_with_the_right_advice(fake_aiter: Any, argv: list[str], said: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_aiter()
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(*argv)
    assert (code, out) == (2, "") and said in err and "pip install" not in err


def test_require_prebuilt_of_no_jit_module_says_so_in_the_summary(fake_aiter: Any) -> None:
    fake_aiter()
    code, out, err = cli("--require-prebuilt", "module_moe")
    assert code == 1 and "module_moe: not a JIT module of amd-aiter" in out and "not prebuilt: module_moe" not in out
    assert "module_moe: not a JIT module" in err


def test_require_on_impostor_names_amd_aiter(fake_aiter: Any) -> None:
    fake_aiter(impostor=True)
    code, out, err = cli("--require", "no_combine")
    assert code == 1 and "(impostor)" in out.splitlines()[0]
    assert "AMD's AITER is the distribution 'amd-aiter'" in err
    assert "pip uninstall aiter && pip install amd-aiter" in err  # the impostor goes first


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--require", "a,,b"], "--require takes comma-separated names"),
        (["--require", ""], "--require takes comma-separated names"),
        (["--timeout", "0"], "--timeout must be a positive number"),
        (["--timeout", "soon"], "invalid float value"),
        (["--aiter-path", "/nonexistent/dir"], "does not exist"),
        (["--compare", "a.json"], "expected 2 arguments"),
    ],
)
def test_usage_errors_exit_2(argv: list[str], message: str) -> None:
    code, out, err = cli(*argv)
    assert code == 2 and out == ""
    assert message in err and "usage: python -m capabilities" in err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "--require" in capsys.readouterr().out


def test_import_runs_in_a_child_with_a_time_limit(fake_aiter: Any) -> None:
    fake = fake_aiter()
    (fake.package / "__init__.py").write_text("import time\ntime.sleep(60)\n")
    code, out, _ = cli("--json", "--import", "--timeout", "0.5")
    data = json.loads(out)
    assert code == 0
    assert data["aiter"]["status"] == "import_failed"
    assert "did not finish within 0.5 s" in data["aiter"]["import_error"]


def test_aiter_path(tmp_path: Path) -> None:
    from capabilities.testing import forget_aiter, write_fake_aiter

    forget_aiter()
    fake = write_fake_aiter(tmp_path, version="0.1.5", params="hidden_states, moe_sorting_dispatch_policy=0")
    data = json.loads(cli("--json", "--aiter-path", str(tmp_path))[1])
    assert data["aiter"]["location"] == str(fake.package) and data["aiter"]["version"] == "0.1.5"
    assert data["features"]["moe_sorting_dispatch_policy"]["support"] == "supported"
    forget_aiter()


def test_default_report_imports_neither_torch_nor_aiter(tmp_path: Path) -> None:
    from capabilities.testing import write_fake_aiter

    write_fake_aiter(tmp_path, import_error='RuntimeError("ran")')
    code = (
        "import sys\nfrom capabilities._cli import main\n"
        "rc = main(['--json'])\n"
        "assert rc == 0, rc\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'aiter'))\n"
        "assert not bad, bad\n"
    )
    import subprocess
    import sys

    env_path = f"{tmp_path}:{Path(__file__).parent.parent}"
    done = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": env_path, "PYTHONPYCACHEPREFIX": os.environ["PYTHONPYCACHEPREFIX"]}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_module_entry_point(fake_aiter: Any) -> None:
    fake = fake_aiter(params="hidden_states, splitk=0")
    done = run_cli("--require", "splitk", pythonpath=fake.root)
    assert done.returncode == 0, done.stderr
    assert "require     : 1 of 1 supported" in done.stdout and "verdict     : pass (exit 0)" in done.stdout


def _save(tmp_path: Path, name: str) -> str:
    code, out, _ = cli("--json")
    assert code == 0
    path = tmp_path / name
    path.write_text(out)
    return str(path)


def test_compare_two_fakes(fake_aiter: Any, tmp_path: Path) -> None:
    fake_aiter(params="hidden_states, w1, no_combine=False, splitk=0", version="0.1.21")
    a = _save(tmp_path, "a.json")
    fake_aiter(params="hidden_states, w1, splitk=1", version="0.1.9")
    b = _save(tmp_path, "b.json")
    code, out, err = cli("--compare", a, b)
    assert code == 1 and err == ""
    assert f"A: {a}: amd-aiter 0.1.21 (available)" in out
    assert "version: 0.1.21 | 0.1.9" in out
    assert "no_combine: positional_or_keyword = False | absent" in out
    assert "splitk: positional_or_keyword = 0 | positional_or_keyword = 1" in out
    assert "features (as each host answers them): 1 difference(s), A | B\n  no_combine: supported | unsupported\n" in out
    code, out, _ = cli("--compare", a, b, "--json")
    data = json.loads(out)
    assert code == 1 and data["features"] == {"no_combine": {"a": "supported", "b": "unsupported"}}
    assert data["identity"]["version"] == {"a": "0.1.21", "b": "0.1.9"} and data["answers_differ"] is True
    assert data["parameters"]["no_combine"] == {"a": {"kind": "positional_or_keyword", "default": "False"}, "b": None}
    assert data["parameters"]["splitk"] == {"a": {"kind": "positional_or_keyword", "default": "0"}, "b": {"kind": "positional_or_keyword", "default": "1"}}


def test_compare_equal_reports_exit_0(fake_aiter: Any, tmp_path: Path) -> None:
    fake_aiter()
    a = _save(tmp_path, "a.json")
    code, out, _ = cli("--compare", a, a)
    assert code == 0 and "features (as each host answers them): same" in out and "every answer is the same" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("{}", "is not a report of this version"),
        ("not json", "is not JSON"),
        ("SCHEMA99", "schema version 99; this version of the project reads schema 4"),
    ],
    ids=["missing", "empty-object", "not-json", "other-schema"],
)
def test_compare_bad_files_exit_2(fake_aiter: Any, tmp_path: Path, content: str | None, message: str) -> None:
    fake_aiter()
    good = _save(tmp_path, "good.json")
    bad = tmp_path / "bad.json"
    if content == "SCHEMA99":
        content = Path(good).read_text().replace('"schema_version": 4', '"schema_version": 99')
    if content is not None:
        bad.write_text(content)
    code, _, err = cli("--compare", good, str(bad))
    assert code == 2 and message in err
