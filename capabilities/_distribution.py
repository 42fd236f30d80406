"""Step 1: which installed distribution provides the module ``aiter``.

Nothing here imports ``aiter``: the module is located with the import system's
path finder and matched to a distribution through ``importlib.metadata``.
"""

from __future__ import annotations

import importlib.machinery
import importlib.metadata as md
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

AMD_DISTRIBUTION = "amd-aiter"
MODULE = "aiter"


@dataclass(frozen=True)
class Located:
    """Raw facts about the module ``aiter``; no judgement yet."""

    package_dir: Path | None  # the folder of the package, None when absent
    module_file: Path | None  # a single-file module ``aiter.py``
    distribution: str | None
    version: str | None
    version_valid: bool
    claimants: tuple[str, ...]  # every distribution naming the module, for the detail

    @property
    def found(self) -> bool:
        return self.package_dir is not None or self.module_file is not None

    @property
    def location(self) -> Path | None:
        return self.package_dir or self.module_file

    @property
    def is_amd(self) -> bool:
        return self.distribution is not None and canonicalize_name(self.distribution) == AMD_DISTRIBUTION


def _provides(dist: md.Distribution, module: str) -> bool:
    top = dist.read_text("top_level.txt")
    if top is not None and module in top.split():
        return True
    for f in dist.files or ():
        parts = f.parts
        if parts and (parts[0] == module or parts[0] == f"{module}.py"):
            return True
    return False


def locate(search_path: list[str] | None = None) -> Located:
    """Find ``aiter`` on ``search_path`` (default ``sys.path``) and its distribution."""
    paths = sys.path if search_path is None else search_path
    spec = importlib.machinery.PathFinder.find_spec(MODULE, paths)
    if spec is None:
        return Located(None, None, None, None, True, ())
    package_dir: Path | None = None
    module_file: Path | None = None
    if spec.submodule_search_locations:
        package_dir = Path(next(iter(spec.submodule_search_locations)))
    elif spec.origin:
        module_file = Path(spec.origin)
    location = package_dir or module_file
    if location is None:  # a spec with neither folder nor file: nothing to read
        return Located(None, None, None, None, True, ())
    entry = location.parent

    # The dist-info beside the module is the one that installed it; only when there
    # is none (an editable install) do we look at every distribution on the path.
    beside = [d for d in md.distributions(path=[str(entry)]) if _provides(d, MODULE)]
    claimants = beside or [d for d in md.distributions(path=list(paths)) if _provides(d, MODULE)]
    names = tuple(sorted({d.metadata["Name"] for d in claimants if d.metadata["Name"]}))
    # Several claimants and none beside the module: which one owns it is a guess,
    # so we name none and report them all.
    dist = claimants[0] if len(claimants) == 1 else None
    if dist is None:
        return Located(package_dir, module_file, None, None, True, names)
    raw_version = dist.version
    try:
        Version(raw_version)
        valid = True
    except (InvalidVersion, TypeError):
        valid = False
    return Located(package_dir, module_file, dist.metadata["Name"], raw_version, valid, names)

