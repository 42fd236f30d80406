"""``python -m capabilities scan PATH ...``: every AITER call in a code base, checked as files.

Files -> sites -> verdicts. Nothing is imported. Files are filtered by their bytes
(only a file that says it imports ``aiter`` is parsed); each is walked once by the
binding engine (:mod:`._bindings`), which gives every call, reference and import
that may reach AITER with each AITER binding that reaches it, its conditions and
the non-AITER alternatives. One resolver per AITER tree then judges each site by
Python's binding rules (:func:`._calls.judge`). A site with several AITER
alternatives gives one entry per alternative; ``fallback``, ``guarded`` and code
that never runs (``TYPE_CHECKING``, a constant test, a named test asked both ways)
are reported and not counted. ``torch.ops.aiter.*`` is reported as not checkable.
"""

from __future__ import annotations

import ast
import fnmatch
import gc
import importlib.util
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from packaging.version import InvalidVersion, Version

from ._bindings import TOP, Binding, Conds, Handles, Scope, TryInfo, Walk, chain, contradicts, dict_keys, join
from ._calls import CallShape, call_verdict, signature_text
from .errors import did_you_mean
from ._distribution import Located
from ._facts import package
from .model import INSTALL
from ._resolve import Resolver
from ._source import PARSE_ERRORS, Parsed, Words

Verdict = Literal["ok", "fails", "unknown"]
SiteKind = Literal["call", "reference", "import", "torch.ops"]
_SKIP_DIRS = frozenset({"__pycache__", "node_modules"})
# A file that imports AITER (or names torch.ops.aiter) says so in one of these ways; any other
# file binds no AITER name and is not parsed.
# A line may end with CR alone (old Mac files): such a file is read like any other.
_IMPORTS_AITER = re.compile(
    rb"(?m)(?:^|(?<=\r))[ \t]*(?:from[ \t]+aiter(?:[ \t.\r]|$)|import[ \t][^\r\n#]*\baiter\b)|torch\.ops\.aiter\b"
    rb"|\bimport[ \t]*\([^)]*\baiter\b|\bimport_module\([ \t]*[\"']aiter\b"
)


def _imports_aiter(data: bytes) -> bool:
    """Whether ``_IMPORTS_AITER`` matches somewhere in ``data``, trying it only where a match can
    start (it has no literal prefix, so its own search is slow over a large file): the start of
    a line holding ``aiter`` (after a LF or a CR), and each ``import`` and ``torch``."""
    line, seen, tried = 0, 0, -1  # the line start of the last 'aiter' (looked for back to the one before)
    i = data.find(b"aiter")
    while i >= 0:
        k = max(data.rfind(b"\n", seen, i), data.rfind(b"\r", seen, i))
        line, seen = (k + 1 if k >= 0 else line), i
        if line != tried and _IMPORTS_AITER.match(data, line):
            return True
        tried = line
        i = data.find(b"aiter", i + 1)
    for word in (b"import", b"torch"):
        i = data.find(word)
        while i >= 0:
            if _IMPORTS_AITER.match(data, i):
                return True
            i = data.find(word, i + 1)
    return False


_AITER_STAR = re.compile(r"\bfrom[ \t]+aiter[\w.]*[ \t]+import[ \t(]*\*")
_FROM = re.compile(rb"(?m)^[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]*(\([^)]*\)|[^\n]*)")
_CALLABLE_KINDS = frozenset({"function", "class"})


# --- what the walk finds --------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    """One place in the code base that depends on AITER, through one binding of its name."""

    file: str  # relative to the PATH given
    line: int
    col: int
    kind: SiteKind
    target: str  # the AITER object, as module:attr.attr (aiter.ops.triton.quant:dynamic_mxfp4_quant)
    shape: CallShape | None = None  # for a call: how it passes its arguments
    guarded: bool = False  # an import whose ImportError the code handles
    launch: bool = False  # kernel[grid](...)
    end_line: int = 0
    end_col: int = 0
    conds: Conds = ()  # the conditions under which this binding reaches this site
    binding: str = ""  # which binding of the called name is judged
    others: tuple[str, ...] = ()  # non-AITER alternatives the name may also hold there
    guard_import: str | None = None  # the binding comes from this import, made in a try that catches ImportError
    bound_self: bool = False  # a class attribute called through an instance: a function gets self
    star: bool = False  # the name comes from a star import only if the module exports it
    guarded_keys: tuple[tuple[str, str], ...] = ()  # keys its **dict holds only under an AITER self-test: (key, test)
    handles: Handles = ()  # what the try bodies around the site catch: (class name, handler line)
    default: str | None = None  # the value came from getattr(m, "name", default): this is the default
    reads: int = 0  # how many attributes the site reads off its name's binding (a failure there is an AttributeError at the site)

    @property
    def condition(self) -> str | None:
        return " and ".join(str(c.text) for c in self.conds) or None


def split_ref(ref: str) -> tuple[str, tuple[str, ...]]:
    module, _, attrs = ref.partition(":")
    return module, tuple(a for a in attrs.split(".") if a)


def shown(ref: str) -> str:
    """``aiter.ops.x:f.g`` as the dotted name a reader knows: ``aiter.ops.x.f.g``."""
    module, attrs = split_ref(ref)
    return ".".join((module, *attrs))


def _end(node: ast.AST) -> tuple[int, int]:
    return getattr(node, "end_lineno", None) or 0, getattr(node, "end_col_offset", None) or 0


class _Sites(Walk):
    """The AITER sites of one parsed module, each through every binding that reaches it."""

    def __init__(self, rel: str, source: str | None = None, exports: _Exports | None = None) -> None:
        super().__init__(source)
        self.rel = rel
        self.sites: list[Site] = []
        self._exports = exports

    def imported(self, module: str, level: int, name: str) -> tuple[Binding, ...]:
        if self._exports is None or not self._exports.by_module:
            return ()
        return self._exports.find(self.rel, module, level, name)

    def _site(self, node: ast.AST, kind: SiteKind, target: str, **kw: Any) -> Site:
        end_line, end_col = _end(node)
        return Site(self.rel, getattr(node, "lineno", 0), getattr(node, "col_offset", 0), kind, target,
                    end_line=end_line, end_col=end_col, **kw)  # fmt: skip

    def on_import(self, stmt: ast.stmt, ref: str, guarded: bool) -> None:
        self.sites.append(self._site(stmt, "import", ref, guarded=guarded, conds=self.conds, binding=ast.unparse(stmt) + f" (line {stmt.lineno})"))

    def on_opaque(self, node: ast.expr, dotted: str) -> None:
        self.sites.append(self._site(node, "torch.ops", dotted, conds=self.conds, binding=dotted))

    def on_reference(self, node: ast.expr, values: tuple[Binding, ...], reads: int) -> None:
        others = tuple(dict.fromkeys(str(v.label) for v in values if v.ref is None))
        for v in values:
            if v.ref is not None and split_ref(v.ref)[1] and not v.star:
                self.sites.append(self._site(node, "reference", v.ref, conds=join(self.conds, v.conds), binding=str(v.label),
                                             others=others, guard_import=v.guard_import, handles=self.handles, reads=reads))  # fmt: skip

    def on_call(self, call: ast.Call, callee: tuple[Binding, ...], scope: Scope, *, launch: bool, through_instance: bool) -> None:
        others = tuple(dict.fromkeys(str(v.label) for v in callee if v.ref is None))
        base, guarded_keys = self._shape(call, scope)
        names = chain(call.func.value if isinstance(call.func, ast.Subscript) else call.func)
        reads = len(names) - 1 if names is not None and not through_instance else 0
        for v in callee:
            if v.ref is None:
                continue
            shape = base
            if v.pre_args or v.pre_keywords:  # functools.partial: its arguments come first (a call's keyword overrides the partial's)
                shape = replace(base, args=base.args + v.pre_args, keywords=tuple(dict.fromkeys((*v.pre_keywords, *base.keywords))))
            self.sites.append(self._site(
                call, "call", v.ref, shape=shape, launch=launch, conds=join(self.conds, v.conds), binding=str(v.label),
                others=others, guard_import=v.guard_import, bound_self=v.bound_self, star=v.star, handles=self.handles, reads=reads,
                guarded_keys=guarded_keys, default=None if v.default is None else str(v.default),
            ))  # fmt: skip

    def _shape(self, call: ast.Call, scope: Scope) -> tuple[CallShape, tuple[tuple[str, str], ...]]:
        """How the call passes its arguments, and the keys its ``**dict`` holds only under an
        AITER self-test (with that test)."""
        positional = 0
        star_args = False
        for a in call.args:
            if not isinstance(a, ast.Starred):
                positional += 1
                continue
            n = self._length(a.value, scope)
            if n is None:
                star_args = True
            else:
                positional += n
        keywords: list[str] = []
        maybe: list[str] = []
        guarded: list[tuple[str, str]] = []
        repeated: list[str] = []
        unreadable = False
        for kw in call.keywords:
            if kw.arg is not None:
                if kw.arg in keywords:
                    repeated.append(kw.arg)
                keywords.append(kw.arg)
                continue
            keys = dict_keys(kw.value)
            if keys is None and isinstance(kw.value, ast.Name):
                keys = scope.dicts.get(kw.value.id)  # a dict of this scope (one of an enclosing scope may change between calls)
            if keys is None or not keys.known:
                unreadable = True
            if keys is not None:
                repeated += [k for k in keys.certain if k in keywords]
                keywords += [k for k in keys.certain if k not in keywords]
                maybe += list(keys.maybe)
                guarded += list(keys.guarded)
        shape = CallShape(positional, tuple(dict.fromkeys(keywords)), star_args, unreadable, tuple(dict.fromkeys(maybe)),
                          repeated=tuple(dict.fromkeys(repeated)))  # fmt: skip
        return shape, tuple(g for g in dict.fromkeys(guarded) if g[0] in maybe and g[0] not in keywords)

    def _length(self, node: ast.expr, scope: Scope) -> int | None:
        """How many items ``*node`` gives, where the code says so exactly: a tuple or list
        display, or a name of this scope bound only to displays of one length."""
        if isinstance(node, (ast.Tuple, ast.List)):
            if any(isinstance(e, ast.Starred) for e in node.elts):
                return None
            return len(node.elts)
        if isinstance(node, ast.Name) and node.id in scope.names:
            lengths = {b.length for b in scope.names[node.id]}
            if len(lengths) == 1:
                return lengths.pop()
        return None


# --- the files -------------------------------------------------------------------------------


@dataclass
class Files:
    """The Python files under the paths given, read once as bytes."""

    read: int = 0
    candidates: list[tuple[Path, str, bytes]] = field(default_factory=list)  # (path, shown as, bytes)
    rest: list[tuple[Path, str, bytes]] = field(default_factory=list)  # others that mention aiter: they may import a re-export
    errors: list[str] = field(default_factory=list)


def excluded(rel: str, exclude: Sequence[str]) -> bool:
    """Whether a path relative to the scanned root matches an ``--exclude`` glob: the glob is
    matched against the whole relative path and against each of its leading folders, so
    ``test`` and ``test/*`` both leave out the folder ``test/`` (as ruff's ``exclude`` does)."""
    if not exclude:
        return False
    parts = rel.split("/")
    heads = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(fnmatch.fnmatchcase(h, g) or fnmatch.fnmatchcase(parts[i], g) for g in exclude for i, h in enumerate(heads))


def _python_files(root: str, exclude: Sequence[str]) -> Iterator[str]:
    if os.path.isfile(root):
        yield root
        return
    for dirpath, dirnames, filenames in os.walk(root):
        here = os.path.relpath(dirpath, root).replace(os.sep, "/")
        prefix = "" if here == "." else here + "/"
        dirnames[:] = sorted(
            d for d in dirnames if d not in _SKIP_DIRS and not d.startswith(".") and not excluded(prefix + d, exclude)
        )
        for name in sorted(filenames):
            if name.endswith(".py") and not excluded(prefix + name, exclude):
                yield os.path.join(dirpath, name)


def read_files(paths: Sequence[Path], exclude: Sequence[str] = ()) -> Files:
    """Every ``.py`` file under ``paths`` (a file named directly is always read), less those an
    ``exclude`` glob matches (see :func:`excluded`)."""
    files = Files()
    for root in paths:
        top = str(root)
        base = top if os.path.isdir(top) else os.path.dirname(top)
        for path in _python_files(top, exclude):
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError as exc:
                files.errors.append(f"{path}: {exc.strerror or exc}")
                continue
            files.read += 1
            rel = os.path.relpath(path, base).replace(os.sep, "/")
            if b"aiter" in data and _imports_aiter(data):  # the byte filter: parse only what imports it
                files.candidates.append((Path(path), rel, data))
            elif b"aiter" in data:  # it may import a name another file re-exports from AITER
                files.rest.append((Path(path), rel, data))
    return files


def _module_of(rel: str) -> str:
    """``srt/layers/x.py`` as ``srt.layers.x`` (a package's ``__init__.py`` as the package)."""
    parts = rel.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _absolute(importer: str, module: str) -> str:
    """A relative ``from ..m import`` in the file ``importer`` as a module path under the PATH given."""
    level = len(module) - len(module.lstrip("."))
    if not level:
        return module
    base = _module_of(importer).split(".")
    base = base[: max(0, len(base) - level + (1 if importer.endswith("__init__.py") else 0))]
    return ".".join([*base, *([module[level:]] if module[level:] else [])])


class _Exports:
    """The names that the code's own modules bind to AITER, by module, found by the module's
    path relative to the PATH given (so ``sglang.srt.x`` matches ``srt/x.py`` under ``sglang/``)."""

    def __init__(self) -> None:
        self.by_module: dict[str, dict[str, tuple[Binding, ...]]] = {}

    def find(self, importer: str, module: str, level: int, name: str) -> tuple[Binding, ...]:
        module = _absolute(importer, "." * level + module)
        for known, names in self.by_module.items():
            if name in names and (module == known or module.endswith("." + known)):
                return names[name]
        return ()

    def known(self, module: str, names: set[str]) -> bool:
        """Whether ``from module import names`` may take a name that module binds to AITER."""
        parts = module.split(".")
        for i in range(len(parts)):
            bound = self.by_module.get(".".join(parts[i:]))
            if bound is not None and ("*" in names or not names.isdisjoint(bound)):
                return True
        return False


class _Parsed:
    def __init__(self, rel: str, parsed: Parsed) -> None:
        self.rel, self.parsed, self.source = rel, parsed, parsed.source


def _walk(p: _Parsed, exports: _Exports | None) -> _Sites:
    """Walk the top-level statements that can matter: those that name ``aiter``, a name some
    statement binds to AITER, a re-exported name or a star import; the walk finds names bound
    to AITER, so the choice grows until no new name comes (a class keeps only the members that
    name one). Any other statement binds none of those names and holds no site. Raises what
    ``Parsed.statements`` raises where the module does not parse."""
    words = {TOP, *(n for names in (exports.by_module.values() if exports else ()) for n in names)}
    everything = _AITER_STAR.search(p.source) is not None  # any name may be AITER's there: read it all
    while True:
        body = p.parsed.statements() if everything else p.parsed.statements(Words(*sorted(words), stars=True), members=True)
        tree = ast.Module(body=body, type_ignores=[])
        walk = _Sites(p.rel, p.source, exports)
        walk.run(tree)
        if walk.stale:  # a method read self.x before the method storing it was walked
            seed = walk.classes_seed()
            walk = _Sites(p.rel, p.source, exports)
            walk.seed = seed
            walk.run(tree)
        found = walk.words()
        if found <= words:
            return walk
        words |= found


def _parse(path: Path, rel: str, data: bytes, errors: list[str]) -> _Parsed | None:
    try:
        return _Parsed(rel, Parsed(rel, path, rel, importlib.util.decode_source(data)))
    except (SyntaxError, ValueError, UnicodeDecodeError, RecursionError, MemoryError) as exc:
        errors.append(f"{rel}: cannot be read: {type(exc).__name__}: {exc}")
        return None


def collect(files: Files) -> tuple[list[Site], dict[int, TryInfo], list[str]]:
    """Every AITER site of the code: each file that imports AITER parsed whole and walked once;
    then the files that import a name one of those re-exports (``from server.ops import
    aiter_fn``), walked again with what it holds, until no new re-export comes."""
    errors = list(files.errors)
    walks: dict[str, _Sites] = {}
    parsed: dict[str, _Parsed] = {}
    pending = list(files.candidates)
    rest = list(files.rest)
    exports = _Exports()
    for _ in range(3):  # a re-export of a re-export, and one more
        for path, rel, data in pending:
            p = parsed.get(rel) or _parse(path, rel, data, errors)
            if p is None:
                continue
            parsed[rel] = p
            try:
                walks[rel] = _walk(p, exports)
            except RecursionError:
                errors.append(f"{rel}: nested too deeply to walk")
            except PARSE_ERRORS as exc:
                errors.append(f"{rel}: cannot be parsed: {type(exc).__name__}: {exc}")
        found = {_module_of(rel): bound for rel, w in walks.items() if (bound := w.exports())}
        if found.keys() == exports.by_module.keys() and all(found[k].keys() == exports.by_module[k].keys() for k in found):
            break
        exports.by_module = found

        def imports_one(rel: str, data: bytes) -> bool:
            """Whether a file has ``from M import name`` where M binds ``name`` to AITER."""
            for m in _FROM.finditer(data):
                module = _absolute(rel, m.group(1).decode("ascii", "replace"))
                names = {w.decode("ascii", "replace") for w in re.findall(rb"[\w*]+", m.group(2))}
                if exports.known(module, names):
                    return True
            return False

        pending = [c for c in (*files.candidates, *rest) if imports_one(c[1], c[2])]
        rest = [c for c in rest if c not in pending]
        if not pending:
            break
    sites = [s for w in walks.values() for s in w.sites]
    tries = {k: v for w in walks.values() for k, v in w.tries.items()}
    return sites, tries, errors


# --- verdicts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Judged:
    verdict: Verdict
    why: str
    signature: str | None = None
    defined_at: str | None = None
    absent: bool = False  # the name is not in this AITER (else a fails is a call that does not bind)
    guarded: bool = False  # it fails only where an AITER self-test holds


def verdict_key(site: Site) -> tuple[object, ...]:
    """Every field of a site that :func:`judge_site` reads: sites equal here get one verdict.
    A field judge_site comes to read must be added here too (a test checks the two agree)."""
    return (site.kind, site.target, site.shape, site.star, site.bound_self, site.guarded_keys)


def judge_site(site: Site, resolver: Resolver | None, absent: str = "") -> Judged:
    if site.kind == "torch.ops":
        return Judged("unknown", "a torch custom op, registered when AITER imports: not checkable from files")
    if resolver is None:
        return Judged("fails", f"no AITER to check against: {absent}")
    module, attrs = split_ref(site.target)
    r = resolver.resolve_in(module, attrs)
    short = shown(site.target).rsplit(".", 1)[-1]
    if r.status == "missing" and site.star:
        return Judged("fails", f"{short} is not bound: {shown(site.target).rsplit('.', 1)[0]} does not export it to the star import, and nothing else binds it ({r.detail})")
    if r.status == "missing":
        moved = resolver.defined(short)
        parent = shown(site.target).rsplit(".", 1)[0]
        near = did_you_mean(short, resolver.names(parent)) if parent.startswith("aiter") else ""
        where = f"; it lives at {', '.join(moved)}" if moved else ""
        return Judged("fails", f"absent from this AITER: {r.detail}{near}{where}", absent=True)
    if r.status == "unknown":
        return Judged("unknown", r.detail)
    at = r.where or None
    if site.kind != "call":
        return Judged("ok", r.detail, defined_at=at)
    assert site.shape is not None
    verdict = call_verdict(short, r, site.shape, through_instance=site.bound_self)
    sig = signature_text(short, r.parameters) if r.parameters is not None and r.kind in _CALLABLE_KINDS else None
    if verdict.answer == "unknown" and site.guarded_keys:
        # Keys set only under an AITER self-test: the call as it is without them, and with them.
        keys = tuple(k for k, _ in site.guarded_keys)
        without = replace(site.shape, maybe=tuple(k for k in site.shape.maybe if k not in keys))
        if call_verdict(short, r, without, through_instance=site.bound_self).answer == "ok":
            with_ = replace(without, keywords=(*site.shape.keywords, *keys))
            fails = call_verdict(short, r, with_, through_instance=site.bound_self)
            if fails.answer == "fails":
                tests = "; ".join(f"'{k}' only {test}" for k, test in site.guarded_keys)
                return Judged("fails", f"{fails.why}: its **dict holds {tests}", sig, at, guarded=True)
            if fails.answer == "ok":
                return Judged("ok", "binds", sig, at)
    return Judged(verdict.answer, verdict.why if verdict.answer != "ok" else "binds", sig, at)


@dataclass
class Tree:
    """An AITER tree to check against: where it is and its resolver (None: no AITER there)."""

    label: str  # what the user gave (a folder), or "installed"
    located: Located
    resolver: Resolver | None

    @property
    def version(self) -> Version | None:
        try:
            return Version(self.located.version or "")
        except InvalidVersion:
            return None

    def describe(self) -> str:
        loc = self.located
        if self.resolver is None:
            return "no AITER"
        if loc.distribution is None:
            rev = loc.revision
            if rev is not None and (rev.version or rev.commit):
                return f"AITER source tree {rev.describe()}"
            return f"AITER source tree at {loc.location} (no version file or git commit)"
        return f"{loc.distribution} {loc.version}"

    @property
    def absent(self) -> str:
        return f"no module 'aiter' is found by {self.located.found_by}; {INSTALL}"


def _resolves(ref: str, resolver: Resolver) -> bool:
    return resolver.resolve_in(*split_ref(ref)).status == "resolved"


def _fallback(site: Site, tries: dict[int, TryInfo], resolver: Resolver | None) -> bool:
    """A site (or the binding it is judged through) inside an ``except ImportError`` handler
    that cannot run here: its try imports AITER names only, and they all resolve."""
    if resolver is None:
        return False
    for cond in site.conds:
        if cond.kind == "handler":
            info = tries.get(cond.key)
            if info is not None and info.imports and not info.foreign[0] and all(_resolves(t, resolver) for t in info.imports):
                return True
    return False


def _guarded(site: Site, resolver: Resolver | None) -> bool:
    """Not counted because the code handles it: an import inside a try that catches
    ImportError, a binding made by such an import that does not resolve here (the handler
    runs instead), or a branch whose test asks AITER itself."""
    if site.guarded or any(c.kind == "guard" for c in site.conds):
        return True
    return site.guard_import is not None and resolver is not None and not _resolves(site.guard_import, resolver)


_BROAD = frozenset({"Exception", "BaseException"})


def _caught_by(site: Site, judged: Judged, resolver: Resolver | None) -> tuple[str, int] | None:
    """The ``except`` clause that catches a failing site's error where the site raises it: an
    AttributeError where a name the site reads off its binding is absent, a TypeError where a
    call does not bind (an import's ImportError is the site's own ``guarded``). The innermost
    try decides, its first matching clause first, as Python does; None where the error is
    raised elsewhere (the binding itself is absent) or nothing around the site catches it."""
    if judged.verdict != "fails" or resolver is None or site.kind not in ("call", "reference"):
        return None
    want = "TypeError"
    if judged.absent:
        module, attrs = split_ref(site.target)
        if not 0 < site.reads <= len(attrs) or not _resolves(f"{module}:{'.'.join(attrs[: len(attrs) - site.reads])}", resolver):
            return None
        want = "AttributeError"
    for clauses in reversed(site.handles):
        for name, line in clauses:
            if name == want or name in _BROAD:
                return name, line
    return None


def scan(paths: Sequence[Path], trees: Sequence[Tree], exclude: Sequence[str] = ()) -> dict[str, Any]:
    """Every AITER site under ``paths``, judged against each tree. The cyclic garbage collector
    is paused meanwhile (and resumed as it was): the scan makes millions of objects that live
    to its end and few cycles, and collecting would walk them again and again."""
    if not gc.isenabled():
        return _scan_all(paths, trees, exclude)
    gc.disable()
    try:
        return _scan_all(paths, trees, exclude)
    finally:
        gc.enable()


def _scan_all(paths: Sequence[Path], trees: Sequence[Tree], exclude: Sequence[str] = ()) -> dict[str, Any]:
    files = read_files(paths, exclude)
    sites, tries, errors = collect(files)
    calls = []
    failing = [0] * len(trees)
    # Sites alike (verdict_key) are judged once per tree.
    judged_once: list[dict[tuple[object, ...], Judged]] = [{} for _ in trees]
    for site in sorted(sites, key=lambda s: (s.file, s.line, s.col)):
        entry: dict[str, Any] = {
            "file": site.file, "line": site.line, "col": site.col, "end_line": site.end_line, "end_col": site.end_col,
            "kind": site.kind, "target": shown(site.target),
            "condition": site.condition, "binding": site.binding or shown(site.target), "others": list(site.others),
        }  # fmt: skip
        # Code that never runs: under TYPE_CHECKING, a constant test, or one named test asked both ways.
        never = any(c.kind in ("type_checking", "never") for c in site.conds) or contradicts(site.conds)
        if site.shape is not None:
            entry["args"] = {"positional": site.shape.args, "keywords": list(site.shape.keywords), "star_args": site.shape.star_args, "star_kwargs": site.shape.star_kwargs}
        per_tree = []
        for i, tree in enumerate(trees):
            key = verdict_key(site)
            judged = judged_once[i].get(key) or judged_once[i].setdefault(key, judge_site(site, tree.resolver, tree.absent))
            fallback = _fallback(site, tries, tree.resolver)
            guarded = _guarded(site, tree.resolver) or judged.guarded
            caught = _caught_by(site, judged, tree.resolver)
            if judged.absent and site.default is not None:  # getattr(m, "name", default) gives the default instead
                guarded = True
                judged = replace(judged, why=f"{judged.why} (getattr gives {site.default} where the name is absent: the call is of that, not of AITER)")
            elif caught is not None and caught[0] not in _BROAD:  # a probe: the code asks for exactly this failure
                guarded = True
                judged = replace(judged, why=f"{judged.why} (the except {caught[0]} at line {caught[1]} handles it)")
            elif caught is not None and not guarded:  # a broad except is no probe: a real failure, hidden
                judged = replace(judged, why=f"{judged.why} (the except {caught[0]} at line {caught[1]} swallows it)")
            counts = judged.verdict == "fails" and not fallback and not guarded and not never
            failing[i] += counts
            per_tree.append(
                {"tree": tree.label, "verdict": judged.verdict, "why": judged.why, "fallback": fallback, "guarded": guarded,
                 "signature": judged.signature, "defined_at": judged.defined_at, "counts": counts}
            )  # fmt: skip
        entry.update({k: per_tree[0][k] for k in ("verdict", "why", "fallback", "guarded", "signature", "defined_at", "counts")})
        if len(trees) > 1:
            entry["trees"] = per_tree
        calls.append(entry)
    summary = _summary(calls, files, errors, trees, failing)
    return {"calls": calls, "summary": summary}


def _summary(calls: list[dict[str, Any]], files: Files, errors: list[str], trees: Sequence[Tree], failing: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "files_read": files.read,
        "files_parsed": len(files.candidates),
        "files_with_aiter": len({c["file"] for c in calls}),
        "sites": len(calls),
        "calls": sum(1 for c in calls if c["kind"] == "call"),
        "errors": errors,
        "trees": [],
    }
    for i, tree in enumerate(trees):
        verdicts = [(c["trees"][i] if "trees" in c else c) for c in calls]
        out["trees"].append(
            {
                "tree": tree.label,
                "aiter": tree.describe(),
                "ok": sum(1 for v in verdicts if v["verdict"] == "ok"),
                "fails": failing[i],
                "fails_not_counted": sum(1 for v in verdicts if v["verdict"] == "fails") - failing[i],
                "unknown": sum(1 for v in verdicts if v["verdict"] == "unknown"),
            }
        )
    binding = [t for t, f in zip(trees, failing) if f == 0]
    dated = [t for t in binding if t.version is not None]
    oldest = min(dated, key=lambda t: t.version) if dated else (binding[0] if binding else None)  # type: ignore[arg-type, return-value]
    out["oldest_binding_tree"] = None if oldest is None else oldest.label
    return out


def trees(folders: Sequence[str]) -> list[Tree]:
    """The trees to check against; only their files are read (no report is made)."""
    if not folders:
        return [Tree("installed", *package(None, usage=False))]
    return [Tree(folder, *package(folder, usage=False)) for folder in folders]
