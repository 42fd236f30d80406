"""Promises about the project itself: README commands, CI, packaging."""

from __future__ import annotations

import tomllib

from tests.conftest import ROOT


def _commands() -> list[str]:
    return [line.strip() for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("    python3 -m venv")]


def test_readme_gives_two_fresh_machine_commands_first() -> None:
    commands = _commands()
    assert len(commands) == 2
    assert commands[0].endswith("python -m capabilities")
    assert commands[1].endswith("python -m pytest")
    head = "\n".join((ROOT / "README.md").read_text().splitlines()[:10])
    assert all(c in head for c in commands)


def test_ci_runs_the_readme_test_command_the_slow_tests_then_mypy() -> None:
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith(("#", "set ", "cd ", "export "))]
    assert ci == [_commands()[1], ".venv/bin/python -m pytest -m slow", ".venv/bin/python -m mypy --cache-dir=/dev/null"]


def test_optional_extra_names_amd_aiter_never_aiter() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["optional-dependencies"]["aiter"] == ["amd-aiter"]
    every = project["dependencies"] + [d for ds in project["optional-dependencies"].values() for d in ds]
    assert not [d for d in every if d.split("[")[0].split("=")[0].split(">")[0].strip() == "aiter"]


def test_docs_catalog_lists_every_feature_with_its_release() -> None:
    from capabilities._catalog import FIRST_RELEASE

    rows = {line.split("|")[1].strip(): line.split("|")[3].strip() for line in (ROOT / "docs" / "report.md").read_text().splitlines() if line.startswith("| `")}
    for name, first in FIRST_RELEASE.items():
        assert rows.get(f"`{name}`") == first, name


def test_public_api_is_the_curated_list_and_loads_lazily() -> None:
    import ast
    import subprocess
    import sys

    import capabilities

    for name in capabilities.__all__:
        assert getattr(capabilities, name) is not None, name
    assert set(dir(capabilities)) >= set(capabilities.__all__)
    # what mypy sees (the TYPE_CHECKING imports) is exactly the lazy list
    tree = ast.parse((ROOT / "capabilities" / "__init__.py").read_text())
    checked = {a.asname for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level for a in node.names}
    assert checked == set(capabilities.__all__) - {"__version__"}
    try:
        capabilities.ParameterKind  # noqa: B018
    except AttributeError as e:
        assert "capabilities" in str(e) and "ParameterKind" in str(e)
    else:
        raise AssertionError("a model type leaked into the top-level API")
    code = "import sys, capabilities; print(sorted(m for m in ('pydantic', 'torch', 'capabilities._report') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.strip() == "[]"


def test_runners_use_only_public_capabilities_names() -> None:
    import ast

    for path in (ROOT / "runners").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("capabilities"):
                assert not any(part.startswith("_") for part in node.module.split(".")), (path.name, node.module)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "capabilities":
                assert not node.attr.startswith("_"), (path.name, node.attr)


def test_the_fake_writers_import_without_pytest() -> None:
    import subprocess
    import sys

    code = "import sys, capabilities.testing; print('pytest' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.strip() == "False"
