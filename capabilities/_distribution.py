"""Step 1: which code answers to ``import aiter``, and which distribution installed it.

Nothing here imports ``aiter`` or judges it. The module is found the way the
import system would find it (path entries, ``.pth`` lines, setuptools'
editable finders), and tied to a distribution only by files that prove it: a
``RECORD`` listing the package's files, or an editable install whose mapping
or ``direct_url.json`` points at the package. A ``top_level.txt`` alone proves
nothing: it only makes a distribution a claimant. Every failure to read is
recorded as a problem, never raised.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import importlib.machinery
import importlib.metadata as md
import importlib.util
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote, urlparse

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

AMD_DISTRIBUTION = "amd-aiter"
MODULE = "aiter"
T = TypeVar("T")

# How Python's FileFinder looks for a submodule, in its order: a package folder
# first, then extension modules, then source, then bytecode.
_LOADERS = (
    (importlib.machinery.ExtensionFileLoader, importlib.machinery.EXTENSION_SUFFIXES),
    (importlib.machinery.SourceFileLoader, importlib.machinery.SOURCE_SUFFIXES),
    (importlib.machinery.SourcelessFileLoader, importlib.machinery.BYTECODE_SUFFIXES),
)


@dataclass(frozen=True)
class Submodule:
    """What ``import aiter.<name>`` would load, found without loading it."""

    path: Path | None
    kind: str  # "source", "package", "extension", "bytecode", "namespace", "missing"


@dataclass(frozen=True)
class Located:
    """Raw facts about the module ``aiter``; no judgement yet."""

    package_dir: Path | None  # the folder of the package, None when absent
    module_file: Path | None  # a single-file module ``aiter.py``
    found_by: str  # how the import system finds it
    distribution: str | None
    version: str | None
    version_valid: bool
    owner_evidence: str  # why the distribution is the one that installed it
    conflicts: tuple[str, ...]  # other distributions claiming the module, with why they lose
    problems: tuple[str, ...]  # what could not be read on the way
    fused_moe: Submodule
    has_jit: bool  # aiter/jit/: AITER's JIT machinery, in every release
    native_tree: str | None  # aiter_meta/ (wheel) or csrc/ (checkout) beside the package

    @property
    def found(self) -> bool:
        return self.package_dir is not None or self.module_file is not None

    @property
    def location(self) -> Path | None:
        return self.package_dir or self.module_file

    @property
    def is_amd_name(self) -> bool:
        return self.distribution is not None and canonicalize_name(self.distribution) == AMD_DISTRIBUTION


_ABSENT = Submodule(None, "missing")


def _safe(problems: list[str], what: str, fn: Callable[[], T], default: T) -> T:
    """``fn()``, or ``default`` with the failure recorded: a report must come whatever the disk holds."""
    try:
        return fn()
    except (OSError, UnicodeDecodeError, ValueError, SyntaxError, RecursionError, MemoryError) as exc:
        problems.append(f"{what}: {type(exc).__name__}: {exc}")
        return default


# --- finding the module -------------------------------------------------------


def _strings(entries: Iterable[object]) -> list[str]:
    """sys.path entries as strings (it may hold Path objects; anything else is skipped)."""
    out = []
    for e in entries:
        if isinstance(e, (str, os.PathLike)):
            out.append(os.fsdecode(os.fspath(e)))
    return out


def _pth_entries(folder: str, problems: list[str]) -> list[str]:
    """The folders that ``.pth`` files in ``folder`` add to the path, as ``site`` would."""
    out: list[str] = []
    pths: list[Path] = _safe(problems, f"listing {folder}", lambda: sorted(Path(folder).glob("*.pth")), [])
    for pth in pths:
        text = _safe(problems, f"reading {pth}", lambda: pth.read_bytes().decode("utf-8", "replace"), "")
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "import ", "import\t")):
                out.append(os.path.join(folder, line))
    return out


def _editable_mapping(finder: Path, problems: list[str]) -> dict[str, str]:
    """``MAPPING`` of a setuptools editable finder module, read as a literal, never run."""

    def read() -> dict[str, str]:
        tree = ast.parse(finder.read_bytes(), filename=str(finder))
        for node in tree.body:
            target: ast.expr
            if isinstance(node, ast.AnnAssign):
                target, expr = node.target, node.value
            elif isinstance(node, ast.Assign):
                target, expr = node.targets[0], node.value
            else:
                continue
            if isinstance(target, ast.Name) and target.id == "MAPPING" and expr is not None:
                value = ast.literal_eval(expr)
                if isinstance(value, dict):
                    return {str(k): str(v) for k, v in value.items()}
        return {}

    return _safe(problems, f"reading the editable finder {finder}", read, {})


def _editable_spec(folders: Sequence[str], problems: list[str]) -> tuple[Path | None, str]:
    for folder in folders:
        finders: list[Path] = _safe(
            problems, f"listing {folder}", lambda: sorted(Path(folder).glob("__editable__*_finder.py")), []
        )
        for finder in finders:
            target = _editable_mapping(finder, problems).get(MODULE)
            if target is not None:
                return Path(target), f"setuptools editable finder {finder.name} in {folder}"
    return None, ""


def _spec_paths(spec: importlib.machinery.ModuleSpec | None) -> tuple[Path | None, Path | None]:
    if spec is None:
        return None, None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations))), None
    if spec.origin and spec.origin not in ("built-in", "frozen"):
        return None, Path(spec.origin)
    return None, None


def _find(search_path: Sequence[str] | None, problems: list[str]) -> tuple[Path | None, Path | None, str, list[str]]:
    """(package folder, single-file module, how it was found, folders whose distributions count)."""
    if search_path is None:
        entries = _strings(sys.path)
        try:
            # The import system itself: meta-path finders (editable installs) included.
            # For a top-level name this runs finders, never the module.
            spec = importlib.util.find_spec(MODULE)
        except (ImportError, ValueError, AttributeError) as exc:
            problems.append(f"importlib.util.find_spec('aiter') raised {type(exc).__name__}: {exc}")
            spec = importlib.machinery.PathFinder.find_spec(MODULE, entries)
        package, module = _spec_paths(spec)
        if package is None and module is None:
            found, how = _editable_spec(entries, problems)
            return found, None, how or "the import system (sys.path and meta-path finders)", entries
        loader = "" if spec is None else f" ({type(spec.loader).__name__})"
        return package, module, f"the import system{loader}", entries
    entries = [e for folder in search_path for e in (folder, *_pth_entries(folder, problems))]
    spec = importlib.machinery.PathFinder.find_spec(MODULE, entries)
    package, module = _spec_paths(spec)
    if package is not None or module is not None:
        return package, module, "the path finder over " + os.pathsep.join(entries), entries
    found, how = _editable_spec(search_path, problems)
    return found, None, how or "the path finder over " + os.pathsep.join(entries), entries


def find_submodule(package_dir: Path, name: str) -> Submodule:
    """What ``import aiter.<name>`` would load from ``package_dir``, as FileFinder decides."""
    finder = importlib.machinery.FileFinder(str(package_dir), *_LOADERS)
    spec = finder.find_spec(f"{MODULE}.{name}")
    if spec is None:
        return _ABSENT
    if spec.origin is None:
        locations = list(spec.submodule_search_locations or ())
        return Submodule(Path(locations[0]) if locations else None, "namespace")
    origin = Path(spec.origin)
    if spec.submodule_search_locations is not None:
        return Submodule(origin, "package")
    if isinstance(spec.loader, importlib.machinery.ExtensionFileLoader):
        return Submodule(origin, "extension")
    if isinstance(spec.loader, importlib.machinery.SourcelessFileLoader):
        return Submodule(origin, "bytecode")
    return Submodule(origin, "source")


# --- tying it to a distribution ----------------------------------------------


class _Dist:
    """An installed distribution; its METADATA is parsed only when its name is needed
    (most distributions on the path never are, and parsing them all is slow)."""

    def __init__(self, dist: md.Distribution) -> None:
        self.dist = dist
        self.base = Path(str(dist.locate_file("")))  # the folder that RECORD paths are relative to
        self._named: tuple[str, str] | None = None
        self.record: dict[str, str] | None = None  # RECORD as {path: hash}, read once

    def named(self, problems: list[str]) -> tuple[str, str] | None:
        """(name, version), or None with the problem recorded."""
        if self._named is None:
            try:
                self._named = (self.dist.name or "", self.dist.version or "")
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                problems.append(f"metadata of a distribution in {self.base} cannot be read: {type(exc).__name__}: {exc}")
                self._named = ("", "")
        return self._named if self._named[0] else None

    @property
    def name(self) -> str:
        return self._named[0] if self._named else "(unnamed)"

    @property
    def version(self) -> str:
        return self._named[1] if self._named else ""


def _read_dists(folders: Sequence[str], problems: list[str]) -> list[_Dist]:
    unique = list(dict.fromkeys(folders))
    dists: list[md.Distribution] = _safe(
        problems, "listing installed distributions", lambda: list(md.distributions(path=unique)), []
    )
    return [_Dist(d) for d in dists]


def _text(d: _Dist, name: str, problems: list[str]) -> str | None:
    try:
        return d.dist.read_text(name)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        problems.append(f"{name} in {d.base} cannot be read: {type(exc).__name__}: {exc}")
        return None


def _record(d: _Dist, problems: list[str]) -> dict[str, str]:
    """RECORD as {path: hash}, read once per distribution."""
    if d.record is None:
        d.record = {}
        for line in (_text(d, "RECORD", problems) or "").splitlines():
            path, _, rest = line.partition(",")
            d.record[path.strip('"')] = rest.partition(",")[0]
    return d.record


def _resolve(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _editable_target(d: _Dist, problems: list[str]) -> tuple[Path | None, str]:
    """Where an editable install of ``d`` points ``aiter``, and the file that says so."""
    raw = _text(d, "direct_url.json", problems)  # pip writes one for every editable install
    if not raw:
        return None, ""
    try:
        data = json.loads(raw)
        editable = bool(data.get("dir_info", {}).get("editable"))
        url = urlparse(str(data.get("url", "")))
    except (ValueError, AttributeError) as exc:
        problems.append(f"direct_url.json in {d.base} is not valid: {type(exc).__name__}: {exc}")
        return None, ""
    if not editable:
        return None, ""
    for entry in _record(d, problems):
        name = entry.rsplit("/", 1)[-1]
        if name.startswith("__editable__") and name.endswith("_finder.py"):
            target = _editable_mapping(d.base / entry, problems).get(MODULE)
            if target is not None:
                return Path(target), f"its editable finder {name} maps 'aiter' to {target}"
    if url.scheme == "file":
        root = Path(unquote(url.path))
        return root, f"its direct_url.json records an editable install of {root}"
    return None, ""


def _sha256(path: Path) -> str | None:
    try:
        digest = hashlib.sha256(path.read_bytes()).digest()
    except OSError:
        return None
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _tie(
    package_dir: Path | None, module_file: Path | None, fused: Submodule, folders: Sequence[str], problems: list[str]
) -> tuple[_Dist | None, str, tuple[str, ...]]:
    """(owning distribution, evidence, conflicting claimants)."""
    location = package_dir or module_file
    if location is None:
        return None, "", ()
    real = _resolve(location)
    pool = _read_dists([*folders, str(location.parent)], problems)
    owners: list[tuple[_Dist, str, dict[str, str]]] = []
    claimants: list[tuple[_Dist, str]] = []
    for d in pool:
        base = _resolve(d.base)
        record = _record(d, problems) if _inside(real, base) or real.parent == base else {}
        rel = os.path.relpath(real, base) if record else ""
        listed = sorted(k for k in record if k == rel or k.startswith(rel + "/"))
        if listed and d.named(problems):
            owners.append((d, f"its RECORD lists {len(listed)} file(s) under {rel}/", record))
            continue
        target, why = _editable_target(d, problems)
        if target is not None and (_inside(real, _resolve(target)) or _resolve(target) == real) and d.named(problems):
            owners.append((d, why, {}))
            continue
        top = (_text(d, "top_level.txt", problems) or "").split()
        claims = MODULE in top or any(k.split("/")[0] in (MODULE, f"{MODULE}.py") for k in record)
        if claims and d.named(problems):
            claimants.append((d, "names the module 'aiter' but none of its files is this one"))
    if len(owners) > 1 and fused.path is not None and package_dir is not None:
        # Two RECORDs for one folder (one install over another): the file on disk says which won.
        rel_fused = os.path.relpath(_resolve(fused.path), _resolve(owners[0][0].base))
        digest = _sha256(fused.path)
        matching = [o for o in owners if o[2].get(rel_fused) and o[2].get(rel_fused) == digest]
        if len(matching) != 1:
            matching = [o for o in owners if rel_fused in o[2]]
        if len(matching) == 1:
            owner = matching[0]
            losers = [(d, f"also has a RECORD for this folder, but not the {rel_fused} on disk") for d, _, _ in owners if d is not owner[0]]
            return owner[0], f"{owner[1]}, including {rel_fused}", _conflicts(losers + claimants)
    if len(owners) == 1:
        return owners[0][0], owners[0][1], _conflicts(claimants)
    losers = [(d, why) for d, why, _ in owners] + claimants
    return None, "", _conflicts(losers)


def _conflicts(items: list[tuple[_Dist, str]]) -> tuple[str, ...]:
    return tuple(sorted({f"{d.name} {d.version} at {d.base} ({why})" for d, why in items}))


def locate(search_path: Sequence[str] | None = None) -> Located:
    """Find ``aiter`` on ``search_path`` (default: as ``import aiter`` would) and its distribution."""
    problems: list[str] = []
    package_dir, module_file, how, folders = _find(search_path, problems)
    if package_dir is None and module_file is None:
        return Located(None, None, how, None, None, True, "", (), tuple(problems), _ABSENT, False, None)
    fused = _ABSENT
    has_jit = False
    native = None
    if package_dir is not None:
        pkg = package_dir
        fused = _safe(problems, f"looking for fused_moe in {pkg}", lambda: find_submodule(pkg, "fused_moe"), _ABSENT)
        has_jit = _safe(problems, f"looking at {pkg / 'jit'}", lambda: (pkg / "jit").is_dir(), False)
        for tree in ("aiter_meta", "csrc"):
            if _safe(problems, f"looking at {pkg.parent / tree}", lambda: (pkg.parent / tree).is_dir(), False):
                native = f"{tree}/"
                break
    dist, evidence, conflicts = _tie(package_dir, module_file, fused, folders, problems)
    if dist is None:
        return Located(package_dir, module_file, how, None, None, True, "", conflicts, tuple(problems), fused, has_jit, native)
    try:
        Version(dist.version)
        valid = True
    except InvalidVersion:
        valid = False
    return Located(
        package_dir, module_file, how, dist.name, dist.version, valid, evidence, conflicts, tuple(problems), fused, has_jit, native
    )
