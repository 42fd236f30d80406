"""Install shapes real users have: which code answers to ``import aiter``, and who installed it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import capabilities
from capabilities import AiterStatus, Support
from capabilities.testing import write_async_iterator_aiter, write_fake_aiter
from tests.conftest import ROOT, run_cli

# A minimal stand-in for setuptools' editable finder module: a MAPPING literal and an
# install() that puts a meta-path finder on sys.meta_path (as `pip install -e` does).
FINDER = '''
import importlib.util, sys
MAPPING = {mapping!r}
class _Finder:
    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        if fullname in MAPPING:
            init = MAPPING[fullname] + "/__init__.py"
            return importlib.util.spec_from_file_location(fullname, init, submodule_search_locations=[MAPPING[fullname]])
        return None
def install():
    sys.meta_path.append(_Finder)
'''


def _editable(tmp_path: Path, *, version: str = "0.1.7.post2") -> tuple[Path, Path]:
    """A source checkout (no metadata beside it) and a site folder holding its editable install."""
    checkout = write_fake_aiter(tmp_path / "src", distribution=None, header="source", params="hidden_states, splitk=0").root
    site = tmp_path / "site"
    site.mkdir()
    stem = f"__editable___amd_aiter_{version.replace('.', '_')}_finder"
    (site / f"{stem}.py").write_text(FINDER.format(mapping={"aiter": str(checkout / "aiter")}))
    (site / f"__editable__.amd_aiter-{version}.pth").write_text(f"import {stem}; {stem}.install()\n")
    info = site / f"amd_aiter-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: amd-aiter\nVersion: {version}\n")
    (info / "direct_url.json").write_text(json.dumps({"url": checkout.as_uri(), "dir_info": {"editable": True}}))
    (info / "RECORD").write_text(f"{stem}.py,,\n__editable__.amd_aiter-{version}.pth,,\n")
    return checkout, site


def test_editable_install_found_through_its_finder_file(tmp_path: Path) -> None:
    checkout, site = _editable(tmp_path)
    capabilities.clear_cache()
    report = capabilities.probe(aiter_path=site)
    assert report.aiter.status is AiterStatus.AVAILABLE
    assert (report.aiter.distribution, report.aiter.version) == ("amd-aiter", "0.1.7.post2")
    assert report.aiter.location == str(checkout / "aiter")
    assert "editable finder" in report.aiter.detail
    assert report.support("splitk") is Support.SUPPORTED
    assert report.evidence.enum_header == str(checkout / "csrc" / "include" / "aiter_enum.h")


def test_editable_install_found_through_the_import_system(tmp_path: Path) -> None:
    """Python itself processes the .pth, so the finder is live on sys.meta_path."""
    checkout, site = _editable(tmp_path)
    code = (
        "import site, sys, json\n"
        f"site.addsitedir({str(site)!r})\n"
        "from capabilities._cli import main\n"
        "sys.exit(main(['--json']))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["aiter"]["status"] == "available"
    assert (data["aiter"]["distribution"], data["aiter"]["location"]) == ("amd-aiter", str(checkout / "aiter"))


def test_checkout_never_takes_the_version_of_an_amd_aiter_installed_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = write_fake_aiter(tmp_path / "site", version="0.1.20")
    checkout = write_fake_aiter(tmp_path / "checkout", distribution=None, header="source")
    monkeypatch.syspath_prepend(str(elsewhere.root))
    monkeypatch.syspath_prepend(str(checkout.root))  # first on the path: this is what imports
    capabilities.clear_cache()
    report = capabilities.probe()
    assert report.aiter.location == str(checkout.package)
    assert report.aiter.distribution is None and report.aiter.version is None
    assert "has no installed distribution that owns it" in report.aiter.detail


@pytest.mark.parametrize(
    ("distribution", "version", "status", "rule"),
    [
        ("aiter", "0.1.7.post2", AiterStatus.AVAILABLE, "content: aiter/fused_moe and aiter/jit/"),
        ("amd-aiter", "0.1.7.post2.dev18", AiterStatus.AVAILABLE, "distribution name 'amd-aiter'"),
        ("my-fork", "1.0", AiterStatus.AVAILABLE, "content: aiter/fused_moe and aiter/jit/"),
    ],
)
def test_identity_rests_on_content_not_only_the_name(
    fake_aiter: Any, distribution: str, version: str, status: AiterStatus, rule: str
) -> None:
    fake_aiter(distribution=distribution, version=version)
    ident = capabilities.probe().aiter
    assert (ident.status, ident.distribution, ident.version) == (status, distribution, version)
    assert ident.rule.startswith(rule)


def test_amd_source_build_named_aiter_says_so(fake_aiter: Any) -> None:
    fake_aiter(distribution="aiter", version="0.1.7.post2")
    assert "AMD's source builds up to v0.1.7.post2 were named 'aiter'" in capabilities.probe().aiter.detail


def test_the_async_iterator_aiter_is_an_impostor_by_content(fake_aiter: Any) -> None:
    fake_aiter(impostor=True)
    ident = capabilities.probe().aiter
    assert ident.status is AiterStatus.IMPOSTOR
    assert ident.rule == "content: no aiter/fused_moe and aiter/jit/"


def test_two_dist_infos_beside_aiter_the_record_names_the_owner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "site"
    write_fake_aiter(root, version="0.1.7.post2.dev18")
    impostor = write_async_iterator_aiter(tmp_path / "other")
    info = impostor.dist_info
    assert info is not None
    (root / info.name).mkdir()
    for f in info.iterdir():
        (root / info.name / f.name).write_bytes(f.read_bytes())  # installed over the same folder
    monkeypatch.syspath_prepend(str(root))
    capabilities.clear_cache()
    ident = capabilities.probe().aiter
    assert (ident.status, ident.distribution, ident.version) == (AiterStatus.AVAILABLE, "amd-aiter", "0.1.7.post2.dev18")
    assert len(ident.conflicts) == 1 and ident.conflicts[0].startswith("aiter 0.13.20191203 at ")
    assert "conflicting install(s): aiter 0.13.20191203" in ident.detail


def test_two_records_for_fused_moe_the_hash_on_disk_decides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import base64
    import hashlib

    fake = write_fake_aiter(tmp_path / "site", version="0.1.9")
    digest = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256((fake.package / "fused_moe.py").read_bytes()).digest()).rstrip(b"=").decode()
    assert fake.dist_info is not None
    (fake.dist_info / "RECORD").write_text(f"aiter/fused_moe.py,{digest},1\n")
    old = tmp_path / "site" / "amd_aiter-0.1.4.dist-info"
    old.mkdir()
    (old / "METADATA").write_text("Metadata-Version: 2.1\nName: amd-aiter-old\nVersion: 0.1.4\n")
    (old / "RECORD").write_text("aiter/fused_moe.py,sha256=AAAA,1\n")
    monkeypatch.syspath_prepend(str(fake.root))
    capabilities.clear_cache()
    ident = capabilities.probe().aiter
    assert (ident.distribution, ident.version) == ("amd-aiter", "0.1.9")
    assert any(c.startswith("amd-aiter-old 0.1.4") for c in ident.conflicts)


@pytest.mark.parametrize(
    ("shadow", "kind"),
    [
        ("fused_moe/__init__.py", "package"),
        ("fused_moe" + __import__("importlib.machinery").machinery.EXTENSION_SUFFIXES[0], "extension"),
    ],
    ids=["package", "extension"],
)
def test_what_python_would_load_is_read_not_the_shadowed_file(fake_aiter: Any, shadow: str, kind: str) -> None:
    fake = fake_aiter(params="hidden_states, no_combine=False")
    target = fake.package / shadow
    target.parent.mkdir(exist_ok=True)
    target.write_text("def fused_moe(hidden_states): ...\n" if kind == "package" else "")
    report = capabilities.probe()
    assert report.evidence.module == str(target)
    assert report.support("no_combine") is not Support.SUPPORTED
    if kind == "extension":
        assert report.support("no_combine") is Support.UNKNOWN
        assert "compiled extension module" in (report.evidence.unknown_reason or "")


def test_import_reads_the_located_aiter_not_one_beside_the_project(tmp_path: Path) -> None:
    """A project installed in site-packages next to another AITER must not import that one."""
    site = tmp_path / "site-packages"
    import shutil

    for package in ("capabilities",):
        shutil.copytree(ROOT / package, site / package, ignore=shutil.ignore_patterns("__pycache__"))
    write_fake_aiter(site, version="9.0", params="hidden_states, no_combine=False", body="return None")
    other = write_fake_aiter(tmp_path / "d", version="1.0", params="hidden_states", body="return None")
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run(
        [sys.executable, "-m", "capabilities", "--json", "--import", "--aiter-path", str(other.root)],
        capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["aiter"]["version"], data["fused_moe"]["source"]) == ("1.0", "runtime_signature")
    assert data["features"]["no_combine"]["support"] == "unsupported"


def test_import_that_loads_another_aiter_is_recorded_not_used(fake_aiter: Any, tmp_path: Path) -> None:
    """The in-process reading of a module from elsewhere is evidence, never this build's signature."""
    fake_aiter(version="9.0", params="hidden_states, no_combine=False", body="return None")
    import aiter.fused_moe  # noqa: F401 - the one on sys.path, imported by "someone else"

    other = write_fake_aiter(tmp_path / "d", version="1.0", params="hidden_states", body="return None")
    report = capabilities.probe(aiter_path=other.root, runtime=True)
    assert report.aiter.version == "1.0"
    assert report.support("no_combine") is Support.UNSUPPORTED
    assert report.fused_moe is not None and report.fused_moe.source == "static_signature"
    assert report.evidence.runtime is not None and "would not load the AITER at" in (report.evidence.runtime.error or "")


def test_cli_on_editable_site_reports_exit_0(tmp_path: Path) -> None:
    _, site = _editable(tmp_path)
    done = run_cli("--aiter-path", str(site))
    assert done.returncode == 0 and "Traceback" not in done.stderr
    assert textwrap.dedent("amd-aiter 0.1.7.post2 (available)") in done.stdout
