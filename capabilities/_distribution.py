"""Step 1: which code answers to ``import aiter``, and which distribution installed it.

Nothing here imports ``aiter`` or judges it. The module is found the way the
import system would find it: live, through ``importlib.util.find_spec`` (path
entries, ``.pth`` lines Python has run, editable installs' meta-path finders,
zip archives); or, for ``--aiter-path DIR``, by the path finder over DIR taken
as a site folder (its ``.pth`` lines, and an editable finder's ``MAPPING`` read
as a literal, never run).

It is tied to a distribution only by files that prove it: a ``RECORD`` (or an
egg-info's ``installed-files.txt``) listing the package's files; an editable
install whose finder or ``direct_url.json`` points at the package; or a
legacy ``setup.py develop`` install, whose ``.egg-link`` points at the folder
that holds it. A ``top_level.txt`` alone proves nothing: it only makes a
distribution a claimant. Metadata folders are listed, not parsed: a
distribution's RECORD is read only where its name or its ``top_level.txt`` says
it may concern ``aiter`` (or it has no ``top_level.txt`` and its folder holds
the package), so a server image of hundreds of distributions costs little more
than one of ten. A metadata folder reached twice (a linked site folder) is one
distribution. Every failure to read is recorded as a problem, never raised.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import functools
import importlib.machinery
import importlib.util
import json
import os
import re
import sys
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote, urlparse

from packaging.version import InvalidVersion, Version

from ._source import TOP, Found, Location, Tree, zip_location
from .model import SourceRevision

AMD_DISTRIBUTION = "amd-aiter"
MODULE = TOP
T = TypeVar("T")
_READ_ERRORS = (OSError, UnicodeDecodeError, ValueError, SyntaxError, RecursionError, MemoryError)


def canonicalize_name(name: str) -> str:
    """A distribution name as PEP 503 normalises it (what ``packaging.utils`` does, without
    importing its platform-tag machinery)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def is_amd_name(name: str | None) -> bool:
    """Whether a distribution name is AMD's AITER (``amd-aiter``, any spelling)."""
    return name is not None and canonicalize_name(name) == AMD_DISTRIBUTION


@dataclass(frozen=True)
class Located:
    """Raw facts about the module ``aiter``; no judgement yet."""

    tree: Tree | None  # the package as import would load it; None: no package
    module_file: Path | None  # a single-file module ``aiter.py``
    found_by: str  # how the import system finds it
    distribution: str | None
    version: str | None
    version_valid: bool
    owner_evidence: str  # why the distribution is the one that installed it
    conflicts: tuple[str, ...]  # other distributions claiming the module, with why they lose
    problems: tuple[str, ...]  # what could not be read on the way
    fused_moe: Found
    has_jit: bool  # aiter/jit/: AITER's JIT machinery, in every release
    native_tree: str | None  # aiter_meta/ (wheel) or csrc/ (checkout) beside the package
    torch: str | None = None  # torch's version, from its metadata on the same path (torch is not imported)
    revision: SourceRevision | None = None  # a source tree's version file and git commit

    @property
    def package_dir(self) -> Path | None:
        """The folder of the package on disk (the portion holding fused_moe); None in a zip."""
        if self.tree is None:
            return None
        holder = self.fused_moe.path
        for loc in self.tree.locations:
            if isinstance(loc, Path) and (holder is None or str(holder).startswith(str(loc))):
                return loc
        return None

    @property
    def found(self) -> bool:
        return self.tree is not None or self.module_file is not None

    @property
    def location(self) -> str | None:
        if self.tree is not None:
            where = self.package_dir or self.tree.locations[0]
            return str(where).rstrip("/")
        return None if self.module_file is None else str(self.module_file)

    @property
    def is_amd_name(self) -> bool:
        return is_amd_name(self.distribution)


def _safe(problems: list[str], what: str, fn: Callable[[], T], default: T) -> T:
    """``fn()``, or ``default`` with the failure recorded: a report must come whatever the disk holds."""
    try:
        return fn()
    except _READ_ERRORS as exc:
        problems.append(f"{what}: {type(exc).__name__}: {getattr(exc, 'strerror', None) or exc}")
        return default


# --- finding the module -------------------------------------------------------


def _strings(entries: Iterable[object]) -> list[str]:
    """sys.path entries as strings (it may hold Path objects; anything else is skipped)."""
    return [os.fsdecode(os.fspath(e)) for e in entries if isinstance(e, (str, os.PathLike))]


def _pth_entries(folder: str, problems: list[str]) -> list[str]:
    """The folders that ``.pth`` files in ``folder`` add to the path, as ``site`` would."""
    out: list[str] = []
    pths: list[str] = _safe(problems, f"listing {folder}", lambda: sorted(n for n in os.listdir(folder) if n.endswith(".pth")), [])
    for name in pths:
        pth = os.path.join(folder, name)
        text = _safe(problems, f"reading {pth}", lambda: Path(pth).read_bytes().decode("utf-8", "replace"), "")
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


def _editable_spec(folder: str, problems: list[str]) -> tuple[Path | None, str]:
    finders: list[str] = _safe(
        problems, f"listing {folder}", lambda: sorted(n for n in os.listdir(folder) if n.startswith("__editable__") and n.endswith("_finder.py")), []
    )
    for name in finders:
        target = _editable_mapping(Path(folder) / name, problems).get(MODULE)
        if target is not None:
            return Path(target), f"setuptools editable finder {name} in {folder}"
    return None, ""


def _locations(spec: importlib.machinery.ModuleSpec | None, problems: list[str]) -> tuple[list[Location], Path | None]:
    """A spec's package portions (folders, or folders inside a zip) or its single file."""
    if spec is None:
        return [], None
    search = list(spec.submodule_search_locations or ())
    if search:
        archive = getattr(spec.loader, "archive", None)  # zipimport
        out: list[Location] = []
        for entry in search:
            if isinstance(archive, str) and entry.startswith(archive + os.sep):
                where = zip_location(archive, entry[len(archive) + 1 :])
                if where is None:
                    problems.append(f"the zip archive {archive} cannot be read")
                    continue
                out.append(where)
            else:
                out.append(Path(entry))
        return out, None
    if spec.origin and spec.origin not in ("built-in", "frozen"):
        return [], Path(spec.origin)
    return [], None


def _find(search_path: Sequence[str] | None, problems: list[str]) -> tuple[list[Location], Path | None, str, list[str]]:
    """(package portions, single-file module, how it was found, folders whose distributions count)."""
    if search_path is None:
        entries = _strings(sys.path)
        try:
            # The import system itself: meta-path finders (editable installs) included.
            # For a top-level name this runs finders, never the module.
            spec = importlib.util.find_spec(MODULE)
        except (ImportError, ValueError, AttributeError) as exc:
            problems.append(f"importlib.util.find_spec('aiter') raised {type(exc).__name__}: {exc}")
            spec = _path_spec(entries, problems)
        locations, module = _locations(spec, problems)
        loader = "" if spec is None else f" ({type(spec.loader).__name__})"
        return locations, module, f"the import system{loader}", entries
    entries = [e for folder in search_path for e in (folder, *_pth_entries(folder, problems))]
    spec = _path_spec(entries, problems)
    locations, module = _locations(spec, problems)
    if locations or module is not None:
        return locations, module, "the path finder over " + os.pathsep.join(entries), entries
    for folder in search_path:
        found, how = _editable_spec(folder, problems)
        if found is not None:
            return [found], None, how, entries
    return [], None, "the path finder over " + os.pathsep.join(entries), entries


def _path_spec(entries: list[str], problems: list[str]) -> importlib.machinery.ModuleSpec | None:
    try:
        return importlib.machinery.PathFinder.find_spec(MODULE, entries)
    except (ImportError, OSError, ValueError) as exc:
        problems.append(f"the path finder over {os.pathsep.join(entries)} raised {type(exc).__name__}: {exc}")
        return None


# --- the installed distributions, listed cheaply ----------------------------------


@dataclass
class _Dist:
    """One metadata folder (``X.dist-info``, ``X.egg-info``) or ``X.egg-link``; files read on demand."""

    path: Path
    base: Path  # the folder that RECORD paths are relative to
    kind: str  # "dist-info", "egg-info", "egg-link"
    _files: dict[str, bytes | None] = field(default_factory=dict)
    _named: tuple[str, str] | None = None

    def read(self, name: str, problems: list[str]) -> bytes | None:
        """A metadata file's bytes; None where it does not exist (a read error is a problem)."""
        if name not in self._files:
            target = self.path / name
            try:
                self._files[name] = target.read_bytes()
            except FileNotFoundError:
                self._files[name] = None
            except (OSError, ValueError) as exc:
                problems.append(f"{target} cannot be read: {type(exc).__name__}: {getattr(exc, 'strerror', None) or exc}")
                self._files[name] = None
        return self._files[name]

    def text(self, name: str, problems: list[str]) -> str | None:
        """A metadata file as text: UTF-8, as the packaging specs say; bytes that are not
        are a recorded problem, and read as U+FFFD so the rest still counts."""
        raw = self.read(name, problems)
        if raw is None:
            return None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(f"{self.path / name} is not valid UTF-8 ({exc.reason} at byte {exc.start}); read with replacement characters")
            return raw.decode("utf-8", "replace")

    def named(self, problems: list[str]) -> tuple[str, str] | None:
        """(name, version) from its METADATA / PKG-INFO headers; None where they cannot be read."""
        if self._named is None:
            raw = self.text("METADATA" if self.kind == "dist-info" else "PKG-INFO", problems)
            name = version = ""
            for line in (raw or "").splitlines():
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                if key.strip().lower() == "name" and not name:
                    name = value.strip()
                elif key.strip().lower() == "version" and not version:
                    version = value.strip()
            if raw is not None and not name:
                problems.append(f"{self.path}: its metadata names no distribution")
            self._named = (name, version)
        return self._named if self._named[0] else None

    @property
    def name(self) -> str:
        return self._named[0] if self._named and self._named[0] else self.path.name

    @property
    def version(self) -> str:
        return self._named[1] if self._named else ""


class _Listing:
    """The metadata folders of the path's folders, each folder listed once."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        self._by_folder: dict[str, list[_Dist]] = {}
        self.entries: dict[str, frozenset[str]] = {}  # each listed folder's names
        self.hooks: set[str] = set()  # the listed folders holding an editable install's hook

    def in_folder(self, folder: str) -> list[_Dist]:
        if folder not in self._by_folder:
            dists: list[_Dist] = []
            try:
                names = sorted(os.listdir(folder))
            except FileNotFoundError:
                names = []
            except (OSError, ValueError) as exc:
                self.problems.append(f"listing {folder}: {type(exc).__name__}: {getattr(exc, 'strerror', None) or exc}")
                names = []
            self.entries[folder] = frozenset(names)
            if any(n.startswith("__editable__") for n in names):
                self.hooks.add(folder)
            for name in names:
                for suffix in (".dist-info", ".egg-info", ".egg-link"):
                    if name.endswith(suffix):
                        dists.append(_Dist(Path(folder) / name, Path(folder), suffix[1:]))
            self._by_folder[folder] = dists
        return self._by_folder[folder]

    def every(self, folders: Iterable[str]) -> list[_Dist]:
        return [d for folder in dict.fromkeys(folders) for d in self.in_folder(folder)]


def installed_version(listing: _Listing, folders: Iterable[str], project: str) -> str | None:
    """The version of ``project`` first on ``folders``, from its metadata folder."""
    want = canonicalize_name(project)
    for d in listing.every(folders):
        if d.kind == "dist-info" and canonicalize_name(d.path.name.split("-", 1)[0]) == want:
            named = d.named(listing.problems)
            if named:
                return named[1]
    return None


# --- tying the package to a distribution ---------------------------------------


def _resolve(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _record_entries(raw: bytes, rel: str) -> dict[str, str]:
    """The RECORD rows under ``rel`` (``{path: hash}``)."""
    out: dict[str, str] = {}
    prefix = rel + "/"
    for line in raw.decode("utf-8", "replace").splitlines():
        path, _, rest = line.partition(",")
        path = path.strip('"')
        if path == rel or path.startswith(prefix):
            out[path] = rest.partition(",")[0]
    return out


def _count_rows(raw: bytes, rel: str) -> int:
    """How many RECORD rows lie under ``rel``: a byte count, no parsing."""
    token = (rel + "/").encode("utf-8", "surrogateescape")
    return sum(raw.count(b"\n" + q + token) + raw.startswith(q + token) for q in (b"", b'"'))


def _mentions(raw: bytes, rel: str) -> bool:
    """A byte test before any parsing: whether a RECORD row may start with ``rel``."""
    token = rel.encode("utf-8", "surrogateescape")
    return raw.startswith(token) or b"\n" + token in raw or b'\n"' + token in raw or raw.startswith(b'"' + token)


@dataclass
class _Claim:
    dist: _Dist
    evidence: str
    raw: bytes = b""  # its RECORD
    rel: str = ""  # the package as its RECORD names it

    @functools.cached_property
    def record(self) -> dict[str, str]:
        """The rows under the package, parsed only where two RECORDs claim one folder."""
        return _record_entries(self.raw, self.rel) if self.rel else {}


def _owner_by_files(d: _Dist, spots: list[tuple[Path, str]], problems: list[str]) -> _Claim | None:
    """``d`` owns the package if its RECORD (or installed-files.txt) lists its files."""
    if d.kind == "dist-info":
        raw = d.read("RECORD", problems)
        if raw is None:
            return None
        for base, rel in spots:
            if base == d.base and _mentions(raw, rel):
                rows = _count_rows(raw, rel)
                if rows:
                    return _Claim(d, f"its RECORD lists {rows} file(s) under {rel}/", raw, rel)
    elif d.kind == "egg-info" and d.path.is_dir():
        raw = d.read("installed-files.txt", problems)  # paths relative to the egg-info folder
        for base, rel in spots:
            if raw is not None and base == d.base and _mentions(raw.replace(b"../", b""), rel):
                return _Claim(d, f"its installed-files.txt lists files under {rel}/")
    return None


def _owner_by_pointer(d: _Dist, real: Path, problems: list[str]) -> _Claim | None:
    """``d`` owns the package if it is an editable or develop install pointing at it."""
    if d.kind == "egg-link":
        try:  # an egg-link is a file, not a folder of metadata
            raw = d.path.read_bytes()
        except OSError as exc:
            problems.append(f"{d.path} cannot be read: {type(exc).__name__}: {exc.strerror or exc}")
            return None
        lines = raw.decode("utf-8", "replace").splitlines()
        if not lines:
            return None
        project = _resolve(Path(lines[0].strip()))
        if real.parent != project:
            return None
        infos = sorted(project.glob("*.egg-info")) if project.is_dir() else []
        for info in infos:
            egg = _Dist(info, project, "egg-info")
            top = (egg.text("top_level.txt", problems) or "").split()
            if MODULE in top and egg.named(problems):
                return _Claim(egg, f"a legacy develop install: {d.path.name} in {d.base} points at {project}, whose {info.name} names 'aiter'")
        return None
    if d.kind != "dist-info":
        return None
    record = d.read("RECORD", problems) or b""
    if b"__editable__" not in record and b".pth" not in record:
        return None
    for line in record.decode("utf-8", "replace").splitlines():
        entry = line.partition(",")[0].strip('"')
        name = entry.rsplit("/", 1)[-1]
        if name.startswith("__editable__") and name.endswith("_finder.py"):
            target = _editable_mapping(d.base / entry, problems).get(MODULE)
            if target is not None and _resolve(Path(target)) == real:
                return _Claim(d, f"its editable finder {name} maps 'aiter' to {target}")
    direct = d.read("direct_url.json", problems)  # pip writes one for every editable install
    if not direct:
        return None
    try:
        data = json.loads(direct)
        editable = bool(data.get("dir_info", {}).get("editable"))
        url = urlparse(str(data.get("url", "")))
    except (ValueError, AttributeError) as exc:
        problems.append(f"{d.path / 'direct_url.json'} is not valid: {type(exc).__name__}: {exc}")
        return None
    if editable and url.scheme == "file":
        root = _resolve(Path(unquote(url.path)))
        if _inside(real, root):
            return _Claim(d, f"its direct_url.json records an editable install of {root}")
    return None


def _claims_module(d: _Dist, problems: list[str]) -> bool:
    """Whether ``d`` installs some module ``aiter`` (just not, as it turns out, this one)."""
    if d.kind == "dist-info":
        raw = d.read("RECORD", problems)
        if raw is not None:
            return _mentions(raw, MODULE + "/") or _mentions(raw, MODULE + ".py")
    if d.kind in ("dist-info", "egg-info") and d.path.is_dir():
        return MODULE in (d.text("top_level.txt", problems) or "").split()
    return False


def _sha256(path: Path) -> str | None:
    try:
        digest = hashlib.sha256(path.read_bytes()).digest()
    except OSError:
        return None
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _spots(location: Path) -> list[tuple[Path, str]]:
    """(folder, relative path) pairs naming the package as a RECORD could: as found (a symlinked
    folder keeps its place) and resolved."""
    out = []
    for path in (Path(os.path.abspath(location)), _resolve(location)):
        pair = (path.parent, path.name)
        if pair not in out:
            out.append(pair)
    resolved_parent = _resolve(location.parent)
    if (resolved_parent, location.name) not in out:
        out.append((resolved_parent, location.name))
    return out


def _may_concern(d: _Dist, names: set[str], listing: _Listing, problems: list[str]) -> bool:
    """Whether ``d`` may install the package or point at it, told before its RECORD is parsed.

    A server image holds hundreds of distributions whose RECORDs run to thousands of rows.
    Read whole are only: a develop install's link (a line); a distribution named as AITER
    is; one whose ``top_level.txt`` names the package. One without a ``top_level.txt``
    (flit, hatchling, maturin write none) counts if it has a ``direct_url.json`` (every
    editable install has one), and otherwise only if its folder holds an entry of the
    package's name or an editable hook and one byte search of its RECORD finds that name
    (a RECORD listing files its folder no longer holds claims nothing import could load)."""
    if d.kind == "egg-link":
        return True
    if canonicalize_name(d.path.name.split("-", 1)[0]) in (AMD_DISTRIBUTION, MODULE):
        return True
    top = d.read("top_level.txt", problems)
    if top is not None:
        return not names.isdisjoint(top.decode("utf-8", "surrogateescape").split())
    if d.kind == "egg-info":
        return True
    if _safe(problems, f"looking at {d.path / 'direct_url.json'}", (d.path / "direct_url.json").is_file, False):
        return True
    here = listing.entries.get(str(d.base), frozenset())
    hooks = str(d.base) in listing.hooks
    if here.isdisjoint(names) and here.isdisjoint(n + ".py" for n in names) and not hooks:
        return False
    record = d.read("RECORD", problems)
    if record is None:
        return False  # no files listed, no top_level.txt: it claims nothing
    return any(n.encode("utf-8", "surrogateescape") in record for n in names) or (hooks and b"__editable__" in record)


def _tie(
    location: Path, fused: Found, folders: Sequence[str], listing: _Listing, problems: list[str]
) -> tuple[_Dist | None, str, tuple[str, ...]]:
    """(owning distribution, evidence, conflicting claimants)."""
    real = _resolve(location)
    spots = _spots(location)
    bases = [str(b) for b, _ in spots]
    names = {MODULE, *(rel for _, rel in spots)}
    owners: list[_Claim] = []
    claimants: list[tuple[_Dist, str]] = []
    seen: set[Path] = set()
    for d in listing.every([*folders, *bases]):
        if not _may_concern(d, names, listing, problems):
            continue
        same = _resolve(d.path)
        if same in seen:
            continue  # one metadata folder reached twice (a linked site folder): one distribution
        seen.add(same)
        claim = _owner_by_files(d, spots, problems) or _owner_by_pointer(d, real, problems)
        if claim is not None and claim.dist.named(problems):
            owners.append(claim)
        elif d.kind != "egg-link" and _claims_module(d, problems) and d.named(problems):
            if d.kind == "egg-info" and d.base == real.parent:
                continue  # the checkout's own egg-info, never installed: nothing claims from it
            claimants.append((d, "names the module 'aiter' but none of its files is this one"))
    if len(owners) > 1 and fused.path is not None and isinstance(fused.path, Path):
        # Two RECORDs for one folder (one install over another): the file on disk says which won.
        digest = _sha256(fused.path)
        path = fused.path

        def rels(o: _Claim) -> set[str]:  # the file as this RECORD would name it, as found and resolved
            pairs = ((os.path.abspath(path), os.path.abspath(o.dist.base)), (_resolve(path), _resolve(o.dist.base)))
            return {os.path.relpath(a, b).replace(os.sep, "/") for a, b in pairs}

        matching = [o for o in owners if any(o.record.get(r) and o.record.get(r) == digest for r in rels(o))]
        if len(matching) != 1:
            matching = [o for o in owners if any(r in o.record for r in rels(o))]
        if len(matching) == 1:
            owner = matching[0]
            rel = next(r for r in rels(owner) if r in owner.record)
            losers = [(o.dist, f"also has a RECORD for this folder, but not the {rel} on disk") for o in owners if o is not owner]
            return owner.dist, f"{owner.evidence}, including {rel}", _conflicts(losers + claimants)
    if len(owners) == 1:
        return owners[0].dist, owners[0].evidence, _conflicts(claimants)
    unique = {id(o.dist): o for o in owners}
    if len(unique) == 1:
        only = next(iter(unique.values()))
        return only.dist, only.evidence, _conflicts(claimants)
    losers = [(o.dist, o.evidence) for o in owners] + claimants
    return None, "", _conflicts(losers)


def _conflicts(items: list[tuple[_Dist, str]]) -> tuple[str, ...]:
    return tuple(sorted({f"{d.name} {d.version} at {d.base} ({why})" for d, why in items}))


# --- a source tree's revision ------------------------------------------------------

_HEX = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")  # a SHA-1 or SHA-256 object name
_VERSION_FILE = "_version.py"  # what setuptools_scm's write_to names in AITER's pyproject.toml


def _version_file(package: Path, problems: list[str]) -> str | None:
    """``__version__`` of ``aiter/_version.py``, a literal string, read without running it."""
    path = package / _VERSION_FILE
    if not _safe(problems, f"looking at {path}", path.is_file, False):
        return None

    def read() -> str | None:
        for node in ast.parse(path.read_bytes(), filename=str(path)).body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                if any(isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets):
                    return node.value.value.strip() or None
        return None

    return _safe(problems, f"reading {path}", read, None)


def _git_dir(root: Path, problems: list[str]) -> Path | None:
    """The git folder of a checkout at ``root``: ``.git`` itself, or where a ``.git`` file
    (a worktree, a submodule) points with its ``gitdir:`` line."""
    dot = root / ".git"
    if _safe(problems, f"looking at {dot}", dot.is_dir, False):
        return dot
    if not _safe(problems, f"looking at {dot}", dot.is_file, False):
        return None
    text = _safe(problems, f"reading {dot}", lambda: dot.read_bytes().decode("utf-8", "surrogateescape"), "")
    first = text.splitlines()[0] if text.strip() else ""
    if not first.startswith("gitdir:"):
        problems.append(f"{dot} is a file without a 'gitdir:' line")
        return None
    return root / first[len("gitdir:") :].strip()


def _git_commit(root: Path, problems: list[str]) -> tuple[str | None, str | None, str | None]:
    """(commit, ref, the file it was read from) for the checkout at ``root``, as git reads
    ``HEAD``: a detached object name, or ``ref: NAME`` looked up as a loose ref, then in
    ``packed-refs`` (a worktree's refs live in its ``commondir``)."""
    git = _git_dir(root, problems)
    if git is None:
        return None, None, None
    common = git
    pointer = git / "commondir"
    if _safe(problems, f"looking at {pointer}", pointer.is_file, False):
        common = Path(os.path.normpath(git / _safe(problems, f"reading {pointer}", lambda: pointer.read_text("utf-8").strip(), ".")))

    def shown(path: Path) -> str:  # relative to the checkout where it lies inside it
        return path.relative_to(root).as_posix() if _inside(path, root) else str(path)

    head = git / "HEAD"
    value = _safe(problems, f"reading {head}", lambda: head.read_text("utf-8", "replace").strip(), "")
    where, ref = head, None
    for _ in range(5):  # a symbolic ref may name another; git itself stops at five
        if _HEX.fullmatch(value):
            return value, ref, shown(where)
        if not value.startswith("ref:"):
            if value:
                problems.append(f"{where} holds neither an object name nor 'ref: NAME': {value[:80]!r}")
            return None, ref, None
        ref = value[len("ref:") :].strip()
        for folder in dict.fromkeys((git, common)):
            loose = folder / ref
            if _safe(problems, f"looking at {loose}", loose.is_file, False):
                where = loose
                value = _safe(problems, f"reading {loose}", lambda: loose.read_text("utf-8", "replace").strip(), "")
                break
        else:
            packed = common / "packed-refs"
            has_packed = _safe(problems, f"looking at {packed}", packed.is_file, False)
            text = _safe(problems, f"reading {packed}", lambda: packed.read_text("utf-8", "replace"), "") if has_packed else ""
            for line in text.splitlines():
                name, _, target = line.partition(" ")
                if target.strip() == ref and _HEX.fullmatch(name):
                    return name, ref, shown(packed)
            return None, ref, None  # a branch with no commit yet
    return None, ref, None


def _revision(package: Path, distribution: str | None, problems: list[str]) -> SourceRevision | None:
    """A source tree's version file (only where no distribution names the version) and the
    commit of the checkout that holds the package folder (its parent, as AITER's repository
    has it); None where neither is there."""
    version = _version_file(package, problems) if distribution is None else None
    commit, ref, commit_file = _git_commit(package.parent, problems)
    if version is None and commit is None:
        return None
    return SourceRevision(
        version=version,
        version_file=f"{package.name}/{_VERSION_FILE} (written by setuptools_scm)" if version else None,
        commit=commit,
        ref=ref,
        commit_file=commit_file,
    )


# --- the answer -------------------------------------------------------------------


def _is_dir(problems: list[str], path: Path) -> bool:
    return _safe(problems, f"looking at {path}", path.is_dir, False)


def locate(search_path: Sequence[str] | None = None) -> Located:
    """Find ``aiter`` on ``search_path`` (default: as ``import aiter`` would) and its distribution."""
    problems: list[str] = []
    listing = _Listing(problems)
    locations, module_file, how, folders = _find(search_path, problems)
    torch = installed_version(listing, folders, "torch")
    if not locations and module_file is None:
        return Located(None, None, how, None, None, True, "", (), tuple(problems), Found(MODULE, "missing", None), False, None, torch)
    tree = Tree(tuple(locations)) if locations else None
    fused = tree.find(f"{MODULE}.fused_moe") if tree is not None else Found(MODULE, "missing", None)
    has_jit = tree is not None and tree.find(f"{MODULE}.jit").is_package
    native = None
    on_disk: Path | None = module_file
    if tree is not None:
        holder = next((loc for loc in tree.locations if isinstance(loc, Path) and fused.path is not None and str(fused.path).startswith(str(loc))), None)
        on_disk = holder or next((loc for loc in tree.locations if isinstance(loc, Path)), None)
        if on_disk is not None:
            for native_dir in ("aiter_meta", "csrc"):
                if _is_dir(problems, on_disk.parent / native_dir):
                    native = f"{native_dir}/"
                    break
    dist: _Dist | None = None
    evidence, conflicts = "", tuple[str, ...]()
    if on_disk is not None:
        dist, evidence, conflicts = _tie(on_disk, fused, folders, listing, problems)
    revision = _revision(on_disk, None if dist is None else dist.name, problems) if tree is not None and on_disk is not None else None
    if dist is None:
        return Located(tree, module_file, how, None, None, True, "", conflicts, tuple(problems), fused, has_jit, native, torch, revision)
    try:
        Version(dist.version)
        valid = True
    except InvalidVersion:
        valid = False
    return Located(tree, module_file, how, dist.name, dist.version, valid, evidence, conflicts, tuple(problems), fused, has_jit, native, torch, revision)


__all__ = ["AMD_DISTRIBUTION", "MODULE", "Located", "is_amd_name", "locate", "zipfile"]
