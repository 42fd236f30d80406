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


def test_ci_runs_the_readme_test_command_then_mypy() -> None:
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith(("#", "set ", "cd ", "export "))]
    assert ci == [_commands()[1], ".venv/bin/python -m mypy --cache-dir=/dev/null"]


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
