"""``python -m capabilities scan PATH ...``: every AITER call in a code base, checked as files.

Nothing is imported. Files are filtered by their bytes first (only a file that
says ``aiter`` is parsed), and one resolver per AITER tree serves every file.

In each module and each function (their scopes, as Python's LEGB rule
nests them), the walk follows which names are bound to AITER, in statement
order: ``import aiter [as m]``, ``import aiter.x.y [as m]``, ``from aiter.x
import y [as z]`` (at module level, lazily inside functions, inside ``try``
or ``if``), and aliases (``f = aiter.x``, ``g = f``). Every call of such a
name or of an attribute chain rooted at one (``rocm_aiter.ops.f(...)``,
``tgemm.mm(...)``, ``kernel[grid](...)``) gets a verdict from Python's binding
rules against the tree's signature; every other reference (``QuantType.per_1x128``,
``GateMode.INTERLEAVE.value``, ``dtypes.fp8``) and every import gets one from
whether the name resolves. ``torch.ops.aiter.*`` is reported as not checkable.

The keys of a ``**`` argument are read where it is a dict literal with constant
keys, or a dict built in the same scope with constant keys (``d = {...}``,
``d = dict(k=...)``, ``d["k"] = ...``, ``d.update(k=...)``); otherwise they are
unreadable and the call's verdict is ``unknown`` unless it fails for another
reason.

Import failures are handled where the code says so: an import inside a
``try`` whose handler catches ``ImportError`` is *guarded* (its failure does
not fail the scan), and the sites inside that handler are *fallback* where
every guarded import of the ``try`` resolves (the handler cannot run).
"""

from __future__ import annotations

import ast
import fnmatch
import importlib.util
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from packaging.version import InvalidVersion, Version

from ._calls import CallShape, judge, plural, signature_text
from .errors import UsageError, did_you_mean
from ._distribution import Located
from ._facts import package
from .model import INSTALL
from ._registry import check_aiter_path
from ._resolve import Resolver
from ._source import Offsets, Parsed
from ._source import words as _words

Verdict = Literal["ok", "fails", "unknown"]
SiteKind = Literal["call", "reference", "import", "torch.ops"]
_SKIP_DIRS = frozenset({"__pycache__", "node_modules"})
# A file that imports AITER (or names torch.ops.aiter) says so in one of these ways; any other
# file binds no AITER name and is not parsed.
_IMPORTS_AITER = re.compile(
    rb"(?m)^[ \t]*(?:from[ \t]+aiter(?:[ \t.]|$)|import[ \t][^\n#]*\baiter\b)|torch\.ops\.aiter\b|\bimport[ \t]*\([^)]*\baiter\b"
)
_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})
_CALLABLE_KINDS = frozenset({"function", "class"})


# --- what the walk finds --------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    """One place in the code base that depends on AITER."""

    file: str  # relative to the PATH given
    line: int
    col: int
    kind: SiteKind
    target: str  # the dotted AITER name, e.g. aiter.ops.triton.quant.dynamic_mxfp4_quant
    shape: CallShape | None = None  # for a call: how it passes its arguments
    guarded: bool = False  # an import whose ImportError the code handles
    handler_of: int | None = None  # id of the try whose except ImportError holds this site
    launch: bool = False  # kernel[grid](...)
    end_line: int = 0
    end_col: int = 0
    condition: str | None = None  # when the judged binding is the one that runs, in words
    binding: str = ""  # which binding of the called name is judged
    others: tuple[str, ...] = ()  # non-AITER alternatives the name may also hold there


@dataclass
class _Try:
    imports: list[str] = field(default_factory=list)  # the targets the try body imports


@dataclass
class _Keys:
    """What a dict variable holds, as far as the code says: keys on every path, keys on some
    paths only (set inside a block nested below the dict's creation), and whether that is all."""

    certain: tuple[str, ...]
    maybe: tuple[str, ...]
    known: bool
    depth: int  # the block depth at which the dict was made

    def add(self, key: str | None, depth: int) -> _Keys:
        if key is None:
            return _Keys(self.certain, self.maybe, False, self.depth)
        if depth > self.depth:
            return _Keys(self.certain, (*self.maybe, key), self.known, self.depth)
        return _Keys((*self.certain, key), self.maybe, self.known, self.depth)


@dataclass
class _Scope:
    names: dict[str, str]  # name -> dotted AITER target
    dicts: dict[str, _Keys]  # name -> the keys it holds
    parent: _Scope | None = None

    def lookup(self, name: str) -> str | None:
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.names:
                return scope.names[name] or None  # "" marks a name rebound to something else
            scope = scope.parent
        return None


def _chain(node: ast.expr) -> list[str] | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return parts[::-1]
    return None


def _extend(ref: str, attrs: Sequence[str]) -> str:
    """``module:a.b`` with more attributes: ``module:a.b.c``."""
    module, _, have = ref.partition(":")
    return f"{module}:{'.'.join([*([have] if have else []), *attrs])}"


def split_ref(ref: str) -> tuple[str, tuple[str, ...]]:
    module, _, attrs = ref.partition(":")
    return module, tuple(a for a in attrs.split(".") if a)


def shown(ref: str) -> str:
    """``aiter.ops.x:f.g`` as the dotted name a reader knows: ``aiter.ops.x.f.g``."""
    module, attrs = split_ref(ref)
    return ".".join((module, *attrs))


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any((_chain(t) or [""])[-1] in _IMPORT_ERRORS for t in types)


class _Walker:
    """Collects the AITER sites of one parsed file."""

    def __init__(self, rel: str, module_name: str | None) -> None:
        self.rel = rel
        self.module_name = module_name
        self.sites: list[Site] = []
        self.tries: dict[int, _Try] = {}
        self._guard: list[int] = []  # the tries whose body we are in, that catch ImportError
        self._handler: list[int] = []  # the tries whose ImportError handler we are in
        self._deferred: list[tuple[ast.AST, _Scope, list[int]]] = []  # (body, enclosing scope, handlers around it)
        self._depth = 0  # how many blocks deep the walk is (for keys set on some paths only)

    # --- scopes -----------------------------------------------------------------------

    def run(self, tree: ast.Module) -> None:
        module = _Scope({}, {})
        self._block(tree.body, module)
        while self._deferred:
            node, parent, handlers = self._deferred.pop(0)
            self._handler = list(handlers)  # a def inside an except ImportError exists only if it ran
            scope = _Scope({}, {}, parent)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs, node.args.vararg, node.args.kwarg):
                    if a is not None:
                        scope.names[a.arg] = ""  # a parameter shadows any AITER name
                for default in (*node.args.defaults, *node.args.kw_defaults):
                    if default is not None:
                        self._expr(default, parent)
                body = node.body if isinstance(node.body, list) else [ast.Expr(node.body)]
                self._block(body, scope)
            elif isinstance(node, ast.ClassDef):
                self._block(node.body, scope)

    def _block(self, stmts: Sequence[ast.stmt], scope: _Scope) -> None:
        for stmt in stmts:
            self._stmt(stmt, scope)

    def _stmt(self, stmt: ast.stmt, scope: _Scope) -> None:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for dec in stmt.decorator_list:
                self._expr(dec, scope)
            if isinstance(stmt, ast.ClassDef):
                for base in stmt.bases:
                    self._expr(base, scope)
            scope.names[stmt.name] = ""
            self._deferred.append((stmt, scope, list(self._handler)))
            return
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.name == "aiter" or alias.name.startswith("aiter."):
                    self._import(stmt, f"{alias.name}:")
                    if alias.asname:
                        scope.names[alias.asname] = f"{alias.name}:"
                    else:
                        scope.names["aiter"] = "aiter:"  # `import aiter.x` binds aiter; .x is then an attribute
                else:
                    scope.names[(alias.asname or alias.name).split(".")[0]] = ""
            return
        if isinstance(stmt, ast.ImportFrom):
            source = stmt.module or ""
            if stmt.level == 0 and (source == "aiter" or source.startswith("aiter.")):
                for alias in stmt.names:
                    if alias.name == "*":
                        continue
                    target = f"{source}:{alias.name}"
                    self._import(stmt, target)
                    scope.names[alias.asname or alias.name] = target
            else:
                for alias in stmt.names:
                    if alias.name != "*":
                        scope.names[alias.asname or alias.name] = ""
            return
        if isinstance(stmt, _TRY_TYPES):
            self._try(stmt, scope)
            return
        if isinstance(stmt, ast.Assign):
            self._expr(stmt.value, scope)
            for t in stmt.targets:
                self._assign(t, stmt.value, scope)
            return
        if isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
            if stmt.value is not None:
                self._expr(stmt.value, scope)
            if isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id in scope.dicts:
                scope.dicts[stmt.target.id] = scope.dicts[stmt.target.id].add(None, self._depth)  # d |= ...
            if stmt.value is not None or isinstance(stmt, ast.AugAssign):
                self._assign(stmt.target, stmt.value if isinstance(stmt, ast.AnnAssign) else None, scope)
            return
        # Everything else: its expressions in order, its blocks in order.
        for name, value in ast.iter_fields(stmt):
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                self._depth += 1
                self._block(value, scope)
                self._depth -= 1
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.expr):
                        self._expr(item, scope)
                    elif isinstance(item, (ast.withitem, ast.match_case, ast.comprehension)):
                        for sub in ast.iter_child_nodes(item):
                            if isinstance(sub, ast.expr):
                                self._expr(sub, scope)
                        if isinstance(item, ast.match_case):
                            self._depth += 1
                            self._block(item.body, scope)
                            self._depth -= 1
            elif isinstance(value, ast.expr):
                self._expr(value, scope)
        if isinstance(stmt, (ast.For, ast.AsyncFor)):
            self._assign(stmt.target, None, scope)

    def _try(self, stmt: Any, scope: _Scope) -> None:
        guarded = any(_catches_import_error(h) for h in stmt.handlers)
        key = id(stmt)
        self.tries[key] = _Try()
        self._depth += 1
        if guarded:
            self._guard.append(key)
        self._block(stmt.body, scope)
        if guarded:
            self._guard.pop()
        for handler in stmt.handlers:
            catches = _catches_import_error(handler)
            if catches:
                self._handler.append(key)
            if handler.name:
                scope.names[handler.name] = ""
            self._block(handler.body, scope)
            if catches:
                self._handler.pop()
        self._block(stmt.orelse, scope)
        self._depth -= 1
        self._block(stmt.finalbody, scope)

    def _assign(self, target: ast.expr, value: ast.expr | None, scope: _Scope) -> None:
        if isinstance(target, ast.Name):
            name = target.id
            scope.dicts.pop(name, None)
            chain = _chain(value) if value is not None else None
            bound = scope.lookup(chain[0]) if chain else None
            scope.names[name] = _extend(bound, chain[1:]) if bound and chain else ""
            literal = _dict_keys(value) if value is not None else None
            if literal is not None:
                scope.dicts[name] = _Keys(literal[0], (), literal[1], self._depth)
        elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and target.value.id in scope.dicts:
            key = target.slice
            text = key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else None
            scope.dicts[target.value.id] = scope.dicts[target.value.id].add(text, self._depth)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                self._assign(elt.value if isinstance(elt, ast.Starred) else elt, None, scope)

    def _import(self, stmt: ast.stmt, target: str) -> None:
        guarded = bool(self._guard)
        if guarded:
            self.tries[self._guard[-1]].imports.append(target)
        self._add(stmt, "import", target, guarded=guarded)

    def _add(self, node: ast.AST, kind: SiteKind, target: str, **kw: Any) -> None:
        handler = self._handler[-1] if self._handler else None
        self.sites.append(
            Site(
                self.rel, getattr(node, "lineno", 0), getattr(node, "col_offset", 0), kind, target, handler_of=handler,
                end_line=getattr(node, "end_lineno", None) or 0, end_col=getattr(node, "end_col_offset", None) or 0, **kw,
            )
        )  # fmt: skip

    # --- expressions ------------------------------------------------------------------

    def _expr(self, node: ast.expr, scope: _Scope) -> None:
        if isinstance(node, (ast.Lambda,)):
            self._deferred.append((node, scope, list(self._handler)))
            return
        if isinstance(node, ast.Call):
            self._call(node, scope)
            return
        chain = _chain(node) if isinstance(node, ast.Attribute) else None
        if chain is not None:
            self._reference(node, chain, scope)
            return
        if isinstance(node, ast.NamedExpr):
            self._expr(node.value, scope)
            self._assign(node.target, node.value, scope)
            return
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self._expr(child, scope)
            elif isinstance(child, ast.comprehension):
                for sub in (child.iter, *child.ifs):
                    self._expr(sub, scope)
            elif isinstance(child, ast.keyword):
                self._expr(child.value, scope)

    def _reference(self, node: ast.expr, chain: list[str], scope: _Scope) -> None:
        if chain[:3] == ["torch", "ops", "aiter"]:
            self._add(node, "torch.ops", ".".join(chain))
            return
        bound = scope.lookup(chain[0])
        if bound is not None and len(chain) > 1:
            self._add(node, "reference", _extend(bound, chain[1:]))

    def _call(self, call: ast.Call, scope: _Scope) -> None:
        func = call.func
        launch = False
        if isinstance(func, ast.Subscript):  # a Triton kernel launched as kernel[grid](...)
            self._expr(func.slice, scope)
            func = func.value
            launch = True
        chain = _chain(func)
        target = None
        if chain is not None:
            if chain[:3] == ["torch", "ops", "aiter"]:
                self._add(call, "torch.ops", ".".join(chain))
            else:
                bound = scope.lookup(chain[0])
                if bound is not None:
                    target = _extend(bound, chain[1:])
        elif not isinstance(func, ast.Name):
            self._expr(func, scope)
        if target is not None:
            self.sites.append(
                Site(
                    self.rel, call.lineno, call.col_offset, "call", target, shape=self._shape(call, scope),
                    handler_of=self._handler[-1] if self._handler else None, launch=launch,
                    end_line=call.end_lineno or 0, end_col=call.end_col_offset or 0,
                )
            )  # fmt: skip
        for arg in call.args:
            self._expr(arg.value if isinstance(arg, ast.Starred) else arg, scope)
        for kw in call.keywords:
            self._expr(kw.value, scope)
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in scope.dicts:
            self._mutation(func.value.id, func.attr, call, scope)

    def _mutation(self, name: str, method: str, call: ast.Call, scope: _Scope) -> None:
        keys = scope.dicts[name]
        if method in ("get", "keys", "items", "values", "copy", "__contains__"):
            return
        added: list[str | None] = []
        if method == "update":
            for arg in call.args:
                literal = _dict_keys(arg)
                added += list(literal[0]) + ([] if literal[1] else [None]) if literal is not None else [None]
            added += [k.arg for k in call.keywords]
        elif method == "setdefault" and call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
            added.append(call.args[0].value)
        else:
            added.append(None)  # pop, clear, anything else: what remains cannot be told
        for key in added:
            keys = keys.add(key, self._depth)
        scope.dicts[name] = keys

    def _shape(self, call: ast.Call, scope: _Scope) -> CallShape:
        positional = sum(1 for a in call.args if not isinstance(a, ast.Starred))
        star_args = any(isinstance(a, ast.Starred) for a in call.args)
        keywords: list[str] = []
        maybe: list[str] = []
        unreadable = False
        for kw in call.keywords:
            if kw.arg is not None:
                keywords.append(kw.arg)
                continue
            literal = _dict_keys(kw.value)
            keys = _Keys(literal[0], (), literal[1], 0) if literal is not None else None
            if keys is None and isinstance(kw.value, ast.Name):
                keys = _lookup_dict(scope, kw.value.id)
            if keys is None or not keys.known:
                unreadable = True
            if keys is not None:
                keywords += list(keys.certain)
                maybe += list(keys.maybe)
        return CallShape(positional, tuple(dict.fromkeys(keywords)), star_args, unreadable, tuple(dict.fromkeys(maybe)))


_TRY_TYPES: tuple[type, ...] = (ast.Try, getattr(ast, "TryStar", ast.Try))


def _lookup_dict(scope: _Scope, name: str) -> _Keys | None:
    """A dict variable of this scope (a dict of an enclosing scope may change between calls)."""
    return scope.dicts.get(name)


def _dict_keys(node: ast.expr | None) -> tuple[tuple[str, ...], bool] | None:
    """(the constant keys of a dict expression, whether they are all of its keys); None for
    anything that is not a dict expression."""
    if isinstance(node, ast.Dict):
        keys: list[str] = []
        known = True
        for k, v in zip(node.keys, node.values):
            if k is None:  # {**other}
                inner = _dict_keys(v)
                if inner is None:
                    known = False
                else:
                    keys += inner[0]
                    known = known and inner[1]
            elif isinstance(k, ast.Constant) and isinstance(k.value, str):
                keys.append(k.value)
            else:
                known = False
        return tuple(keys), known
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
        if not node.args and all(k.arg for k in node.keywords):
            return tuple(k.arg for k in node.keywords if k.arg), True
        return (), False
    return None


# --- the files -------------------------------------------------------------------------------


@dataclass
class Files:
    """The Python files under the paths given, read once as bytes."""

    read: int = 0
    candidates: list[tuple[Path, str, bytes]] = field(default_factory=list)  # (path, shown as, bytes)
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
            if b"aiter" in data and _IMPORTS_AITER.search(data):  # the byte filter: parse only what imports it
                rel = os.path.relpath(path, base).replace(os.sep, "/")
                files.candidates.append((Path(path), rel, data))
    return files


# The lines of _IMPORTS_AITER's first alternatives, matched from a line's start.
_IMPORT_LINE = re.compile(r"[ \t]*(?:from[ \t]+aiter(?:[ \t.]|$)|import[ \t][^\n#]*\baiter\b)", re.M)
_IMPORT_PAREN_HEAD = re.compile(r"\bimport[ \t]*\Z")


def _word_at(source: str, i: int, n: int) -> bool:
    return (i == 0 or not (source[i - 1].isalnum() or source[i - 1] == "_")) and not (
        i + n < len(source) and (source[i + n].isalnum() or source[i + n] == "_")
    )


def import_offsets(source: str) -> list[int]:
    """Where ``_IMPORTS_AITER``'s matches start in ``source``, found from each occurrence
    of the word ``aiter`` (``str.find``) rather than by trying the pattern at every
    offset, which costs a third of a second on a server's 4 MB of such files."""
    out: list[int] = []
    line_done = -1
    i = source.find("aiter")
    while i >= 0:
        start = source.rfind("\n", 0, i) + 1
        if start != line_done and _IMPORT_LINE.match(source, start):
            out.append(start)
            line_done = start
        elif _word_at(source, i, 5):
            if source.startswith("torch.ops.", i - 10):
                out.append(i - 10)
            else:
                paren = source.rfind("(", 0, i)
                if paren >= 0 and ")" not in source[paren:i]:
                    head = _IMPORT_PAREN_HEAD.search(source, max(0, paren - 40), paren)
                    if head is not None:
                        out.append(head.start())
        i = source.find("aiter", i + 5)
    return out


def _bound_names(stmts: Sequence[ast.stmt], known: set[str]) -> set[str]:
    """The module-level names these statements bind to AITER (imports, and aliases of names
    already known), looking into if/try blocks but not into functions or classes."""
    out: set[str] = set()
    stack: list[ast.AST] = list(stmts)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Import):
            out |= {(a.asname or a.name.split(".")[0]) for a in node.names if a.name == "aiter" or a.name.startswith("aiter.")}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "aiter":
            out |= {a.asname or a.name for a in node.names if a.name != "*"}
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr)):
            value = node.value
            chain = _chain(value) if value is not None else None
            if chain and chain[0] in known | out:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                out |= {t.id for t in targets if isinstance(t, ast.Name)}
        stack.extend(ast.iter_child_nodes(node))
    return out


def module_body(parsed: Parsed) -> list[ast.stmt]:
    """The top-level statements that can matter to AITER sites: those that import AITER,
    and then those that say a name bound to it at module level, until no new name comes
    (classes with only their members that do); the rest is never parsed. Raises
    SyntaxError where the module does not parse."""
    known: set[str] = set()
    hits = import_offsets(parsed.source)  # found once; each round adds only its new names
    while True:
        body = parsed.statements(Offsets(hits), members=True)
        found = _bound_names(body, known)
        if found <= known:
            return body
        hits += [m.start() for m in _words(*sorted(found - known)).finditer(parsed.source)]
        known |= found


def collect(files: Files) -> tuple[list[Site], dict[int, _Try], list[str]]:
    sites: list[Site] = []
    tries: dict[int, _Try] = {}
    errors = list(files.errors)
    for path, rel, data in files.candidates:
        try:
            parsed = Parsed(rel, path, rel, importlib.util.decode_source(data))
            tree = ast.Module(body=module_body(parsed), type_ignores=[])
        except (SyntaxError, ValueError, UnicodeDecodeError, RecursionError, MemoryError) as exc:
            errors.append(f"{rel}: cannot be parsed: {type(exc).__name__}: {exc}")
            continue
        walker = _Walker(rel, None)
        try:
            walker.run(tree)
        except RecursionError:
            errors.append(f"{rel}: nested too deeply to walk")
            continue
        sites += walker.sites
        tries.update(walker.tries)
    return sites, tries, errors


# --- verdicts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Judged:
    verdict: Verdict
    why: str
    signature: str | None = None
    defined_at: str | None = None


def judge_site(site: Site, resolver: Resolver | None, absent: str = "") -> Judged:
    if site.kind == "torch.ops":
        return Judged("unknown", "a torch custom op, registered when AITER imports: not checkable from files")
    if resolver is None:
        return Judged("fails", f"no AITER to check against: {absent}")
    module, attrs = split_ref(site.target)
    r = resolver.resolve_in(module, attrs)
    short = shown(site.target).rsplit(".", 1)[-1]
    if r.status == "missing":
        moved = resolver.defined(short)
        parent = shown(site.target).rsplit(".", 1)[0]
        near = did_you_mean(short, resolver.names(parent)) if parent.startswith("aiter") else ""
        where = f"; it lives at {', '.join(moved)}" if moved else ""
        return Judged("fails", f"absent from this AITER: {r.detail}{near}{where}")
    if r.status == "unknown":
        return Judged("unknown", r.detail)
    at = r.where or None
    if site.kind != "call":
        return Judged("ok", r.detail, defined_at=at)
    assert site.shape is not None
    if r.kind not in _CALLABLE_KINDS:
        if r.kind in ("module", "enum_member", "constant"):
            return Judged("fails", f"{short} is {'a ' + r.kind.replace('_', ' ')}, which cannot be called ({r.detail})", defined_at=at)
        return Judged("unknown", f"{r.detail}: how a call of it binds cannot be read", defined_at=at)
    if r.parameters is None:
        return Judged("unknown", f"{r.detail}: its signature cannot be read", defined_at=at)
    verdict = judge(short, r.parameters, site.shape)
    sig = signature_text(short, r.parameters)
    why = verdict.why if verdict.answer != "ok" else "binds"
    if r.kernel is not None and verdict.answer == "fails" and verdict.unexpected:
        return Judged("unknown", f"{why}; a Triton kernel launch takes launch options (num_warps, ...) as keywords too", sig, at)
    if r.kernel == "tuned" and verdict.answer == "fails" and "missing" in verdict.why:
        return Judged("unknown", f"{why}; its autotune or heuristics configs may give those", sig, at)
    return Judged(verdict.answer, why, sig, at)


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
            return f"AITER at {loc.location} (no installed distribution)"
        return f"{loc.distribution} {loc.version}"

    @property
    def absent(self) -> str:
        return f"no module 'aiter' is found by {self.located.found_by}; {INSTALL}"


def _fallback(site: Site, tries: dict[int, _Try], resolver: Resolver | None) -> bool:
    """A site inside an ``except ImportError`` handler whose try's imports all resolve."""
    if site.handler_of is None or resolver is None:
        return False
    imports = tries.get(site.handler_of, _Try()).imports
    return bool(imports) and all(resolver.resolve_in(*split_ref(t)).status == "resolved" for t in imports)


def scan(paths: Sequence[Path], trees: Sequence[Tree], exclude: Sequence[str] = ()) -> dict[str, Any]:
    files = read_files(paths, exclude)
    sites, tries, errors = collect(files)
    calls = []
    failing = [0] * len(trees)
    for site in sorted(sites, key=lambda s: (s.file, s.line, s.col)):
        entry: dict[str, Any] = {
            "file": site.file, "line": site.line, "col": site.col, "end_line": site.end_line, "end_col": site.end_col,
            "kind": site.kind, "target": shown(site.target),
            "condition": site.condition, "binding": site.binding or shown(site.target), "others": list(site.others),
        }  # fmt: skip
        if site.shape is not None:
            entry["args"] = {"positional": site.shape.args, "keywords": list(site.shape.keywords), "star_args": site.shape.star_args, "star_kwargs": site.shape.star_kwargs}
        per_tree = []
        for i, tree in enumerate(trees):
            judged = judge_site(site, tree.resolver, tree.absent)
            fallback = _fallback(site, tries, tree.resolver)
            counts = judged.verdict == "fails" and not fallback and not site.guarded
            failing[i] += counts
            per_tree.append(
                {"tree": tree.label, "verdict": judged.verdict, "why": judged.why, "fallback": fallback, "guarded": site.guarded,
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
