"""A source tree is named by its version file and its git commit, each read from files and
labelled with the file; git itself says what the commit is."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import capabilities
from capabilities._distribution import locate
from capabilities.testing import write_fake_aiter

SHA = "0123456789abcdef0123456789abcdef01234567"
OTHER = "89abcdef0123456789abcdef0123456789abcdef"


def _tree(root: Path, **kwargs: object) -> Path:
    write_fake_aiter(root, distribution=None, **kwargs)  # type: ignore[arg-type]
    return root


def _git_files(root: Path, head: str, files: dict[str, str]) -> None:
    git = root / ".git"
    git.mkdir()
    (git / "HEAD").write_text(head + "\n")
    for rel, text in files.items():
        (git / rel).parent.mkdir(parents=True, exist_ok=True)
        (git / rel).write_text(text)


def test_the_version_file_setuptools_scm_writes_names_the_tree(tmp_path: Path) -> None:
    root = _tree(tmp_path / "co")
    (root / "aiter" / "_version.py").write_text("__version__ = '0.1.21.dev5+g0123456'\n")
    report = capabilities.probe(aiter_path=root)
    rev = report.aiter.revision
    assert rev is not None and (rev.version, rev.version_file) == ("0.1.21.dev5+g0123456", "aiter/_version.py (written by setuptools_scm)")
    assert rev.commit is None and report.aiter.describe() == "AITER source tree 0.1.21.dev5+g0123456"
    assert "version 0.1.21.dev5+g0123456 from aiter/_version.py" in report.aiter.detail
    # setuptools_scm's default template assigns two names at once; it reads the same.
    (root / "aiter" / "_version.py").write_text("version = __version__ = '0.2'\n__version_tuple__ = (0, 2)\n")
    assert locate([str(root)]).revision.version == "0.2"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("head", "files", "commit", "ref", "where"),
    [
        ("ref: refs/heads/main", {"refs/heads/main": SHA + "\n"}, SHA, "refs/heads/main", ".git/refs/heads/main"),
        ("ref: refs/heads/main", {"packed-refs": f"# pack-refs with: peeled\n{OTHER} refs/heads/x\n{SHA} refs/heads/main\n^{OTHER}\n"},
         SHA, "refs/heads/main", ".git/packed-refs"),
        (SHA, {}, SHA, None, ".git/HEAD"),
        ("ref: refs/heads/unborn", {}, None, "refs/heads/unborn", None),
    ],
    ids=["loose-ref", "packed-ref", "detached", "no-commit-yet"],
)  # fmt: skip
def test_the_commit_is_read_as_git_reads_head(tmp_path: Path, head: str, files: dict[str, str], commit: str | None, ref: str | None, where: str | None) -> None:
    root = _tree(tmp_path / "co")
    _git_files(root, head, files)
    found = locate([str(root)])
    if commit is None:
        assert found.revision is None and found.problems == ()
        return
    assert found.revision is not None
    assert (found.revision.commit, found.revision.ref, found.revision.commit_file) == (commit, ref, where)


def test_a_worktree_reads_its_head_and_the_common_refs(tmp_path: Path) -> None:
    main = _tree(tmp_path / "main")
    _git_files(main, "ref: refs/heads/main", {"refs/heads/feature": SHA + "\n", "worktrees/wt/HEAD": "ref: refs/heads/feature\n", "worktrees/wt/commondir": "../..\n"})
    wt = _tree(tmp_path / "wt")
    (wt / ".git").write_text(f"gitdir: {main / '.git' / 'worktrees' / 'wt'}\n")
    rev = locate([str(wt)]).revision
    assert rev is not None and (rev.commit, rev.ref) == (SHA, "refs/heads/feature")
    assert rev.commit_file == str(main / ".git" / "refs" / "heads" / "feature")


def test_a_broken_head_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    root = _tree(tmp_path / "co")
    _git_files(root, "garbage", {})
    found = locate([str(root)])
    assert found.revision is None and any(".git/HEAD holds neither" in p for p in found.problems)
    (root / ".git" / "HEAD").unlink()
    (root / ".git").rmdir()
    (root / ".git").write_text("not a pointer\n")
    assert any("without a 'gitdir:' line" in p for p in locate([str(root)]).problems)


def test_an_installed_distribution_keeps_its_own_version(tmp_path: Path) -> None:
    fake = write_fake_aiter(tmp_path / "site", version="0.1.20")
    (fake.package / "_version.py").write_text("__version__ = '9.9'\n")
    report = capabilities.probe(aiter_path=fake.root)
    assert report.aiter.revision is None and report.aiter.describe() == "amd-aiter 0.1.20"


@pytest.mark.skipif(shutil.which("git") is None, reason="needs the git command")
def test_git_itself_agrees_on_every_shape(tmp_path: Path) -> None:
    root = _tree(tmp_path / "co")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}

    def git(*args: str, cwd: Path = root) -> str:
        return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "one")
    git("commit", "-q", "--allow-empty", "-m", "two")

    def ours(where: Path) -> tuple[str | None, str | None]:
        rev = locate([str(where)]).revision
        assert rev is not None
        return rev.commit, rev.ref

    assert ours(root) == (git("rev-parse", "HEAD"), "refs/heads/main")
    git("pack-refs", "--all")
    assert not (root / ".git" / "refs" / "heads" / "main").exists()
    assert ours(root) == (git("rev-parse", "HEAD"), "refs/heads/main")
    git("checkout", "-q", "--detach", "HEAD~1")
    assert ours(root) == (git("rev-parse", "HEAD"), None)
    git("worktree", "add", "-q", "-b", "side", str(tmp_path / "wt"), "main")
    assert ours(tmp_path / "wt") == (git("rev-parse", "HEAD", cwd=tmp_path / "wt"), "refs/heads/side")
    assert git("rev-parse", "HEAD", cwd=tmp_path / "wt") != git("rev-parse", "HEAD")
