"""Collect: resolve ``aiter.X`` the way Python would bind it, without importing anything.

The binding of a name in a module is the last statement that binds it: a
``def``, ``from .m import name``, ``from .m import *`` (when ``m`` exports the
name: its ``__all__``, or every public name it binds), or anything else
(assignment, class, ``del``...), which cannot be read. A binding inside
``if``/``try``/``with``/``for``/``match`` stands when exactly one branch
binds it; when branches bind it differently, it depends on execution and is
``unknown``. Re-exports are followed across modules; a cycle is ``unknown``.
Decorators AITER uses that keep the Python signature (``compile_ops(...)``,
``torch_compile_guard(...)``) are transparent and recorded; any other is
``unknown``. Every answer says why.
"""

from __future__ import annotations

import ast
import importlib.machinery
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from . import _static
from ._distribution import find_submodule
from ._model import Parameter

TRANSPARENT = frozenset({"compile_ops", "torch_compile_guard"})
# The body of a compile_ops stub is replaced by the compiled module's function.
REPLACES_BODY = frozenset({"compile_ops"})
_MAX_DEPTH = 12
_STAR_TEXT = re.compile(r"^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+\*", re.M)


@dataclass(frozen=True)
class Func:
    module: str
    node: ast.FunctionDef


@dataclass(frozen=True)
class Ref:
    module: str  # absolute module name, e.g. "aiter.ops.moe_op"
    name: str
    star: bool = False  # bound by a star import of ``module``


@dataclass(frozen=True)
class Opaque:
    reason: str


Candidate = Func | Ref | Opaque


@dataclass(frozen=True)
class Resolution:
    status: Literal["resolved", "missing", "unknown"]
    file: str | None  # relative to the folder holding aiter/
    decorators: tuple[str, ...]
    parameters: tuple[Parameter, ...] | None
    detail: str


def _key(c: Candidate | None) -> object:
    if isinstance(c, Func):
        return ("func", c.module, c.node.lineno)
    if isinstance(c, Ref):
        return ("ref", c.module, c.name, c.star)
    return c if c is None else ("opaque", c.reason)


@dataclass
class Resolver:
    """Resolves names in one AITER package; parsed modules are kept for the probe's length."""

    package_dir: Path
    _modules: dict[str, tuple[str, ast.Module, Path] | str] = field(default_factory=dict)
    _texts: dict[str, str | None] = field(default_factory=dict)
    _paths: dict[str, Path | None] = field(default_factory=dict)
    _star_targets: dict[str, list[str | None]] = field(default_factory=dict)

    # --- modules ---------------------------------------------------------------

    def seed(self, module: str, source: str, tree: ast.Module, path: Path) -> None:
        """A module parsed already (fused_moe, by the static probe): not parsed twice."""
        self._modules[module] = (source, tree, path)

    def _path(self, module: str) -> Path | None:
        if module not in self._paths:
            self._paths[module] = self._find(module)
        return self._paths[module]

    def _find(self, module: str) -> Path | None:
        parts = module.split(".")
        if parts[0] != self.package_dir.name:
            return None
        folder = self.package_dir
        for part in parts[1:-1]:
            folder = folder / part
        if len(parts) == 1:
            init = self.package_dir / "__init__.py"
            return init if init.is_file() else None
        sub = find_submodule(folder, parts[-1]) if folder.is_dir() else None
        if sub is None or sub.path is None or sub.kind not in ("source", "package"):
            return None
        return sub.path

    def module(self, module: str) -> tuple[str, ast.Module, Path] | str:
        """``(source, tree, path)`` or why the module cannot be read."""
        cached = self._modules.get(module)
        if cached is None:
            path = self._path(module)
            if path is None:
                cached = f"module {module} is not Python source inside the package (or does not exist)"
            else:
                parsed = _static.parse_file(path)
                cached = parsed if isinstance(parsed, str) else (*parsed, path)
            self._modules[module] = cached
        return cached

    def _is_package(self, module: str) -> bool:
        path = self._path(module)
        return path is not None and path.name == "__init__.py"

    def _absolute(self, module: str, level: int, target: str | None) -> str | None:
        """The absolute name of ``from <level dots><target> import ...`` in ``module``."""
        if level == 0:
            return target
        base = module.split(".")
        if not self._is_package(module):
            base = base[:-1]
        if level > 1:
            base = base[: -(level - 1)] if level - 1 < len(base) else []
        if not base:
            return None
        return ".".join(base + ([target] if target else []))

    def _inside(self, module: str | None) -> bool:
        pkg = self.package_dir.name
        return module is not None and (module == pkg or module.startswith(pkg + "."))

    def _mentions(self, module: str, name: str, seen: set[str]) -> bool:
        """Whether ``name`` occurs in ``module``'s text or in a module it star-imports: where it
        does not, nothing there can bind it, and no file needs parsing to say so."""
        seen.add(module)
        text = self._text(module)
        if text is None or name in text:
            return True
        for target in self._stars(module, text):
            if not self._inside(target):
                return True  # a star import from outside: cannot be told from text
            if target is not None and target not in seen and self._mentions(target, name, seen):
                return True
        return False

    def _stars(self, module: str, text: str) -> list[str | None]:
        if module not in self._star_targets:
            found = [self._absolute(module, len(m[1]), m[2] or None) for m in _STAR_TEXT.finditer(text)]
            self._star_targets[module] = found
        return self._star_targets[module]

    def _installed(self, module: str) -> bool:
        """Whether a module outside the package can be found beside it or on sys.path (never imported)."""
        top = module.split(".")[0]
        paths = [str(self.package_dir.parent), *(p for p in sys.path if isinstance(p, str))]
        try:
            return importlib.machinery.PathFinder.find_spec(top, paths) is not None
        except (ImportError, ValueError, OSError):
            return True  # cannot tell: assume it may bind

    def _text(self, module: str) -> str | None:
        if module not in self._texts:
            path = self._path(module)
            try:
                self._texts[module] = None if path is None else path.read_bytes().decode("utf-8", "replace")
            except OSError:
                self._texts[module] = None
        return self._texts[module]

    # --- bindings --------------------------------------------------------------

    def exports(self, module: str, name: str, stack: tuple[tuple[str, str], ...]) -> bool | None:
        """Whether ``from module import *`` binds ``name`` (None: cannot be told)."""
        if not self._mentions(module, name, set()):
            return False
        found = self.module(module)
        if isinstance(found, str):
            return None
        _, tree, _ = found
        declared = None
        for stmt in tree.body:
            if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                    try:
                        declared = ast.literal_eval(stmt.value) if stmt.value is not None else None
                    except ValueError:
                        return None  # a computed __all__
            elif isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id == "__all__":
                return None
        if declared is not None:
            return name in declared
        if name.startswith("_"):
            return False
        outcome = self.binding(module, name, stack)
        if outcome is None:
            return False
        return None if isinstance(outcome, Opaque) and outcome.reason.startswith("unknown:") else True

    def binding(self, module: str, name: str, stack: tuple[tuple[str, str], ...] = ()) -> Candidate | None:
        """The candidate that binds ``name`` last in ``module`` (None: never bound)."""
        if (module, name) in stack:
            return Opaque(f"unknown: circular imports ({' -> '.join(m for m, _ in stack)} -> {module})")
        if len(stack) > _MAX_DEPTH:
            return Opaque("unknown: a re-export chain too long to follow")
        found = self.module(module)
        if isinstance(found, str):
            return Opaque(f"unknown: {found}")
        source, tree, _ = found
        return self._walk(tree.body, None, module, name, (*stack, (module, name)))

    def _walk(
        self, stmts: list[ast.stmt], current: Candidate | None, module: str, name: str, stack: tuple[tuple[str, str], ...]
    ) -> Candidate | None:
        for stmt in stmts:
            current = self._statement(stmt, current, module, name, stack)
        return current

    def _statement(
        self, stmt: ast.stmt, current: Candidate | None, module: str, name: str, stack: tuple[tuple[str, str], ...]
    ) -> Candidate | None:
        if isinstance(stmt, ast.FunctionDef):
            return Func(module, stmt) if stmt.name == name else current
        if isinstance(stmt, (ast.AsyncFunctionDef, ast.ClassDef)):
            kind = "an async def" if isinstance(stmt, ast.AsyncFunctionDef) else "a class"
            return Opaque(f"{name} is {kind} in {module} (line {stmt.lineno})") if stmt.name == name else current
        if isinstance(stmt, ast.ImportFrom):
            source = self._absolute(module, stmt.level, stmt.module)
            for alias in stmt.names:
                if alias.name == "*":
                    if source is None or not self._inside(source):
                        if name.startswith("_"):
                            continue  # a star import binds no underscore name (short of an __all__ we cannot read)
                        if source is not None and not self._installed(source):
                            continue  # not installed: that import binds nothing (it is skipped or fails)
                        current = Opaque(
                            f"unknown: {name} may be bound by 'from {source or '.'} import *' at line {stmt.lineno} of "
                            f"{module}: a module outside the package, whose names are not read here"
                        )
                        continue
                    exported = self.exports(source, name, stack)
                    if exported:
                        current = Ref(source, name, star=True)
                    elif exported is None:
                        current = Opaque(f"unknown: whether 'from {source} import *' (line {stmt.lineno} of {module}) binds {name} cannot be told")
                elif (alias.asname or alias.name) == name:
                    if source is None:
                        current = Opaque(f"unknown: a relative import beyond the package at line {stmt.lineno} of {module}")
                    else:
                        current = Ref(source, alias.name)
            return current
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if (alias.asname or alias.name.split(".")[0]) == name:
                    current = Opaque(f"{name} is a module (import at line {stmt.lineno} of {module})")
            return current
        branches = _branches(stmt)
        if branches is not None:
            outcomes = [self._walk(b, current, module, name, stack) for b in branches]
            changed = {_key(o): o for o in outcomes if _key(o) != _key(current)}
            if not changed:
                return current
            if len(changed) == 1:
                return next(iter(changed.values()))  # bound in some branches only, and alike
            kinds = type(stmt).__name__.lower()
            return Opaque(
                f"unknown: {name} is bound differently in the branches of the {kinds} at line {stmt.lineno} of "
                f"{module}, so the binding depends on execution"
            )
        if _static._binds(stmt, name):
            return Opaque(f"{name} is rebound by {_static._describe(stmt)} at line {stmt.lineno} of {module}")
        return current

    # --- the answer ------------------------------------------------------------

    def resolve(self, dotted: str) -> Resolution:
        """``aiter.topk_softmax`` or ``aiter.mla.mla_decode_fwd``: where it is defined and how it is called."""
        module, _, name = dotted.rpartition(".")
        candidate: Candidate | None = self.binding(module, name)
        where = module
        chain = [(module, name)]
        while isinstance(candidate, Ref) and len(chain) < _MAX_DEPTH:
            if (candidate.module, candidate.name) in chain:
                path = " -> ".join(m for m, _ in chain)
                return Resolution("unknown", None, (), None, f"{dotted}: circular imports ({path} -> {candidate.module})")
            chain.append((candidate.module, candidate.name))
            where = candidate.module
            candidate = self.binding(candidate.module, candidate.name)
            if candidate is None:
                return self._none(f"{dotted} is re-exported from {where}, which does not bind it")
        if candidate is None:
            return self._none(f"nothing binds {name} in {module}")
        if isinstance(candidate, Opaque):
            reason = candidate.reason.removeprefix("unknown: ")
            return Resolution("unknown", None, (), None, f"{dotted}: {reason}")
        if isinstance(candidate, Ref):
            return Resolution("unknown", None, (), None, f"{dotted}: a re-export chain too long to follow")
        return self._function(dotted, candidate)

    def _none(self, why: str) -> Resolution:
        return Resolution("missing", None, (), None, why)

    def _function(self, dotted: str, func: Func) -> Resolution:
        found = self.module(func.module)
        if isinstance(found, str):  # cannot happen: the function was read from it
            return Resolution("unknown", None, (), None, f"{dotted}: {found}")
        source, tree, path = found
        rel = path.relative_to(self.package_dir.parent).as_posix()
        decorators = tuple(ast.unparse(d) for d in func.node.decorator_list)
        foreign = [d for d, node in zip(decorators, func.node.decorator_list) if _decorator_name(node) not in TRANSPARENT]
        if foreign:
            why = f"decorated with {', '.join('@' + d for d in foreign)}, which may change its signature"
            return Resolution("unknown", rel, decorators, None, f"{dotted} in {rel}: {why}")
        dynamic = _static._dynamic(tree, source, func.node.name)
        if dynamic:
            why = f"{func.node.name} may be rebound by {', '.join(dynamic)}"
            return Resolution("unknown", rel, decorators, None, f"{dotted} in {rel}: {why}")
        replaced = any(_decorator_name(node) in REPLACES_BODY for node in func.node.decorator_list)
        params = _static.with_usage(func.node, _static._parameters(func.node, source), replaced=replaced)
        how = f" (decorated {', '.join('@' + d for d in decorators)}, which keeps the signature)" if decorators else ""
        return Resolution("resolved", rel, decorators, params, f"{dotted} is defined in {rel} at line {func.node.lineno}{how}")


def _decorator_name(node: ast.expr) -> str | None:
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Attribute):
        return target.attr
    return target.id if isinstance(target, ast.Name) else None


_TRY: tuple[type, ...] = (ast.Try, getattr(ast, "TryStar", ast.Try))  # TryStar: Python 3.11+


def _branches(stmt: ast.stmt) -> list[list[ast.stmt]] | None:
    """The bodies one of which runs (an empty one where none may), for compound statements."""
    if isinstance(stmt, ast.If):
        return [stmt.body, stmt.orelse]
    if isinstance(stmt, _TRY):
        tail: list[ast.stmt] = getattr(stmt, "finalbody")
        body: list[ast.stmt] = getattr(stmt, "body") + getattr(stmt, "orelse")
        return [body + tail, *[h.body + tail for h in getattr(stmt, "handlers")]]
    if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
        return [stmt.body + stmt.orelse, stmt.orelse]
    if isinstance(stmt, (ast.With, ast.AsyncWith)):
        return [stmt.body]
    if isinstance(stmt, ast.Match):
        return [c.body for c in stmt.cases] + [[]]
    return None
