"""Which distribution provides the module aiter, and what that makes the status."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

import capabilities
from capabilities import AiterStatus, Support


def test_absent(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "path", [p for p in sys.path if "site-packages" in p] + [str(tmp_path)])
    capabilities.clear_cache()
    report = capabilities.probe(aiter_path=tmp_path)
    assert report.aiter.status is AiterStatus.ABSENT
    assert report.aiter.distribution is None and report.aiter.location is None
    assert report.fused_moe is None
    assert {f.support for f in report.features.values()} == {Support.UNSUPPORTED}
    assert "amd-aiter" in report.features["no_combine"].detail


def test_amd_distribution_is_identified(fake_aiter: Any) -> None:
    fake = fake_aiter(version="0.1.9.post1")
    report = capabilities.probe()
    assert report.aiter.status is AiterStatus.AVAILABLE
    assert (report.aiter.distribution, report.aiter.version) == ("amd-aiter", "0.1.9.post1")
    assert report.aiter.location == str(fake.package)
    assert report.aiter.version_valid


def test_other_distribution_is_an_impostor(fake_aiter: Any) -> None:
    fake_aiter(impostor=True)
    report = capabilities.probe()
    assert report.aiter.status is AiterStatus.IMPOSTOR
    assert report.aiter.distribution == "aiter"
    assert "AMD's AITER is the distribution 'amd-aiter'" in report.aiter.detail
    assert report.fused_moe is None  # an impostor's code is not read
    assert report.features["hidden_states"].support is Support.UNSUPPORTED


def test_package_without_fused_moe_is_an_impostor(fake_aiter: Any) -> None:
    fake = fake_aiter()
    (fake.package / "fused_moe.py").unlink()
    report = capabilities.probe()
    assert report.aiter.status is AiterStatus.IMPOSTOR
    assert "has no aiter/fused_moe, so it is not a usable AITER" in report.aiter.detail


def test_single_file_module_is_an_impostor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "aiter.py").write_text("x = 1\n")
    capabilities.clear_cache()
    report = capabilities.probe(aiter_path=tmp_path)
    assert report.aiter.status is AiterStatus.IMPOSTOR
    assert report.aiter.location == str(tmp_path / "aiter.py")


def test_source_checkout_has_no_distribution(fake_aiter: Any) -> None:
    fake_aiter(distribution=None, header="source")
    report = capabilities.probe()
    assert report.aiter.status is AiterStatus.AVAILABLE
    assert report.aiter.distribution is None and report.aiter.version is None
    assert "has no installed distribution that owns it" in report.aiter.detail
    assert report.aiter.rule == "content: aiter/fused_moe and aiter/jit/, with csrc/ beside it"
    assert report.features["ActivationType.Swiglu"].support is Support.SUPPORTED


def test_invalid_version_is_reported_not_fatal(fake_aiter: Any) -> None:
    fake_aiter(version="0.1.x-custom")
    report = capabilities.probe()
    assert report.aiter.status is AiterStatus.AVAILABLE
    assert report.aiter.version == "0.1.x-custom" and not report.aiter.version_valid
    assert "not a valid PEP 440 version" in report.aiter.detail


def test_first_on_sys_path_wins(fake_aiter: Any) -> None:
    fake_aiter(impostor=True)
    fake_aiter(version="0.1.20")  # prepended: it shadows the first
    assert capabilities.probe().aiter.status is AiterStatus.AVAILABLE


def test_aiter_path_probes_that_folder(fake_aiter: Any, tmp_path: Path) -> None:
    from capabilities.testing import write_fake_aiter

    fake_aiter(version="0.1.20")
    other = write_fake_aiter(tmp_path / "checkout", version="0.1.4", params="hidden_states, dtype=None")
    report = capabilities.probe(aiter_path=other.root)
    assert report.aiter.version == "0.1.4"
    assert report.aiter.location == str(other.package)
    assert capabilities.probe().aiter.version == "0.1.20"  # a separate cache entry


def test_probing_never_imports_aiter(fake_aiter: Any) -> None:
    fake_aiter(import_error='RuntimeError("must not run")')
    report = capabilities.probe()
    assert report.aiter.status is AiterStatus.AVAILABLE
    assert "aiter" not in sys.modules


# --- a server-sized image: RECORDs read only where they may concern aiter ----------------------


def _other(site: Path, name: str, *, top: str | None, files: list[str]) -> Path:
    info = site / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    if top is not None:
        (info / "top_level.txt").write_text(top + "\n")
    (info / "RECORD").write_text("".join(f"{f},,\n" for f in files))
    return info


def test_records_that_cannot_concern_aiter_are_never_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from capabilities import _distribution
    from capabilities.testing import write_fake_aiter

    fake = write_fake_aiter(tmp_path / "site")
    for i in range(20):  # named in top_level.txt, and without one (flit, hatchling): neither names aiter
        _other(fake.root, f"other{i}", top=f"other{i}" if i % 2 else None, files=[f"other{i}/__init__.py"])
    # Without top_level.txt, its RECORD is the only word on what it installs: this one installs aiter too.
    _other(fake.root, "vendored", top=None, files=["aiter/extra.py", "vendored/__init__.py"])
    read: list[str] = []
    real = _distribution._Dist.read

    def counting(self: Any, name: str, problems: list[str]) -> bytes | None:
        if name == "RECORD" and name not in self._files:
            read.append(self.path.name.split("-")[0])
        return real(self, name, problems)

    monkeypatch.setattr(_distribution._Dist, "read", counting)
    found = _distribution.locate([str(fake.root)])
    assert sorted(read) == ["amd_aiter", "other0", "other10", "other12", "other14", "other16", "other18", "other2",
                            "other4", "other6", "other8", "vendored"]  # fmt: skip
    # The answer every RECORD read would give: two RECORDs list files under aiter/, one of them its fused_moe.
    assert (found.distribution, found.version) == ("amd-aiter", "0.1.20")
    assert [c.split(" ")[0] for c in found.conflicts] == ["vendored"]


def test_a_metadata_folder_reached_twice_is_one_distribution(tmp_path: Path) -> None:
    from capabilities._distribution import locate
    from capabilities.testing import write_fake_aiter

    fake = write_fake_aiter(tmp_path / "real")
    linked = tmp_path / "linked"
    linked.mkdir()
    for entry in fake.root.iterdir():  # a site folder of links to another: the same install
        (linked / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    found = locate([str(linked)])
    assert (found.distribution, found.conflicts) == ("amd-aiter", ())
