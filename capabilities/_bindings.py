"""Bindings as Python makes them: which values a name may hold at a point of a module.

One walk over a module's tree, in the model of pyflakes' checker: a scope per module,
class, function, lambda and comprehension; class scopes are invisible inside their
methods; function and lambda bodies are read after the module, against the final
bindings of the scopes around them, while their default values and decorators are
read at their own point. A name holds the *set* of its possible bindings: where
control flow joins (``if``/``elif``/``else``, ``try``/``except``/``else``/``finally``,
loops, ``match``, a conditional expression) the sets of the branches are joined, each
binding keeping the conditions that select it (the ``try`` body or an ``except
ImportError`` handler, ``if TYPE_CHECKING:``, a constant test, a named runtime test,
a test that asks AITER itself). ``global`` and ``nonlocal`` are followed.

A binding's value is an AITER object (``module:attr.attr``, from ``import aiter``,
``from aiter.x import f``, attribute chains, ``getattr(m, "name")``,
``importlib.import_module("aiter.x")``, ``functools.partial``) or something else,
named for the reader ("a local def at line 14", "None (line 20)"). A subclass says
what to do at each call, reference and import (:class:`Walk`'s ``on_*`` hooks).
"""

from __future__ import annotations

import ast
import builtins
import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

TOP = "aiter"
_BUILTINS = frozenset(dir(builtins))
_GLOBAL = re.compile(r"\bglobal\b")
_TRY_KEYS = itertools.count(1)
_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})
_TRY: tuple[type, ...] = (ast.Try, getattr(ast, "TryStar", ast.Try))
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
# The first argument of these is examined, not called: a test that asks AITER about itself.
_SELF_TESTS = frozenset({"hasattr", "signature", "getfullargspec", "getargspec", "getattr", "find_spec", "version"})

CondKind = Literal["if", "try", "handler", "type_checking", "never", "guard", "default"]
# The exceptions the ``try`` bodies around a point catch: one entry per try, innermost last, each
# its clauses in order as (class name, handler line); a bare ``except:`` is ``BaseException``.
Handles = tuple[tuple[tuple[str, int], ...], ...]


@dataclass(frozen=True, eq=False)
class Cond:
    """One condition that selects a binding or a site: ``kind`` says how it counts, ``text`` says
    it to the reader, ``key`` names the ``try`` statement for ``try``/``handler``."""

    kind: CondKind
    text: Text
    key: int = 0
    test: str = ""  # a test that is a plain name (``_use_aiter``): its value is fixed where it is read
    yes: bool = True  # the test holds (False: it does not)


Conds = tuple[Cond, ...]


@dataclass(frozen=True, eq=False)
class Binding:
    """One value a name may hold, with where it was made and the conditions that select it."""

    label: Text  # "from aiter.ops.x import f (line 12)", "a local def at line 14"
    line: int
    conds: Conds = ()
    ref: str | None = None  # "module:attr.attr" for an AITER object, else None
    guard_import: str | None = None  # the AITER import behind it, made in a try that catches ImportError
    star: bool = False  # from ``from aiter.x import *``: the module may not export the name
    pre_args: int = 0  # functools.partial: positional arguments already given
    pre_keywords: tuple[str, ...] = ()  # and keywords
    length: int | None = None  # a tuple or list display: how many items
    node: ast.FunctionDef | ast.AsyncFunctionDef | None = None  # a local def (for tests that call it)
    bound_self: bool = False  # a class attribute read through an instance: a function gets self
    default: Text | None = None  # from getattr(m, "name", default): what the name holds where m lacks it

    def attr(self, names: Sequence[str]) -> Binding:
        """The attribute chain ``names`` of this value (an AITER object's attribute is AITER's)."""
        if self.ref is None or not names:
            return self if not names else replace(self, length=None, node=None)
        module, _, have = self.ref.partition(":")
        return replace(self, ref=f"{module}:{'.'.join([*([have] if have else []), *names])}", pre_args=0, pre_keywords=(), length=None, default=None)

    def under(self, conds: Conds) -> Binding:
        return replace(self, conds=join(conds, self.conds)) if conds else self


def join(a: Conds, b: Conds) -> Conds:
    return a + tuple(c for c in b if c not in a)


def contradicts(conds: Conds) -> bool:
    """Whether these conditions ask one named test both ways (``if _use_aiter:`` around the
    binding, ``else:`` around the call): no run takes that path while the name keeps its value."""
    seen: dict[str, bool] = {}
    for c in conds:
        if c.test:
            if seen.setdefault(c.test, c.yes) is not c.yes:
                return True
    return False


def union(*groups: Iterable[Binding]) -> tuple[Binding, ...]:
    seen: dict[int, Binding] = {}
    for group in groups:
        for b in group:
            seen.setdefault(id(b), b)
    return tuple(seen.values())


def chain(node: ast.expr) -> list[str] | None:
    """``a.b.c`` as ``["a", "b", "c"]``; None for anything but a name with attributes."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return parts[::-1]
    return None


def is_aiter(module: str) -> bool:
    return module == TOP or module.startswith(TOP + ".")


def caught(handler: ast.ExceptHandler) -> list[str]:
    """The class names an ``except`` clause names (``BaseException`` for a bare one)."""
    if handler.type is None:
        return ["BaseException"]
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return [(chain(t) or [""])[-1] for t in types]


def catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any((chain(t) or [""])[-1] in _IMPORT_ERRORS for t in types)


class Lazy:
    """Source text for a reader, unparsed only when it is shown (most bindings never are)."""

    __slots__ = ("fmt", "node")

    def __init__(self, fmt: str, node: ast.AST) -> None:
        self.fmt = fmt
        self.node = node

    def __str__(self) -> str:
        return self.fmt.format(_text(self.node))


Text = str | Lazy


def _text(node: ast.AST, limit: int = 60) -> str:
    text = ast.unparse(node)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _constant_truth(test: ast.expr) -> bool | None:
    if isinstance(test, ast.Constant):
        return bool(test.value)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _constant_truth(test.operand)
        return None if inner is None else not inner
    return None


def _is_type_checking(test: ast.expr) -> bool:
    return (chain(test) or [""])[-1] == "TYPE_CHECKING"


@dataclass(frozen=True)
class TryInfo:
    """A ``try`` whose handlers catch ImportError: the AITER imports of its body, and whether
    it imports anything else (then the handler may run whatever AITER offers)."""

    imports: list[str] = field(default_factory=list)
    foreign: list[bool] = field(default_factory=lambda: [False])


@dataclass
class Scope:
    kind: Literal["module", "class", "function", "comprehension"]
    names: dict[str, tuple[Binding, ...]]
    parent: Scope | None = None  # where a lookup goes next (class scopes are skipped from functions)
    local: frozenset[str] = frozenset()  # a function's own names (assigned anywhere in its body)
    globals: set[str] = field(default_factory=set)
    nonlocals: set[str] = field(default_factory=set)
    stars: tuple[Binding, ...] = ()  # from aiter.x import *: may bind any name not bound otherwise
    dicts: dict[str, Keys] = field(default_factory=dict)
    owner: ClassInfo | None = None  # a method's class
    self_name: str | None = None  # a method's first parameter


@dataclass
class ClassInfo:
    """A class of the walked code: its body's final bindings and what its methods store on self."""

    name: str
    scope: Scope
    line: int = 0
    instance: dict[str, tuple[Binding, ...]] = field(default_factory=dict)
    read: set[str] = field(default_factory=set)  # attributes read through self so far

    def through_self(self, attr: str) -> tuple[Binding, ...]:
        """What ``self.attr`` may hold: what a method stored there, or the class attribute
        (a function read through the instance then receives self)."""
        self.read.add(attr)
        cls = self.scope.names.get(attr, ())
        return union(self.instance.get(attr, ()), (replace(v, bound_self=True) if v.ref is not None else v for v in cls))


@dataclass(frozen=True)
class Keys:
    """What a dict holds, as far as the code says: keys on every path, keys on some paths
    only, and whether that is all."""

    certain: tuple[str, ...]
    maybe: tuple[str, ...]
    known: bool
    depth: int = 0  # the block depth at which the dict was made
    conds: int = 0  # how many conditions held where it was made
    # Keys set on some paths only, each only under a test that asks AITER itself: (key, the test).
    guarded: tuple[tuple[str, str], ...] = ()

    def add(self, key: str | None, depth: int, guard: str | None = None) -> Keys:
        """``guard``: the AITER self-test that holds where the key is set (since the dict was made)."""
        if key is None:
            return replace(self, known=False)
        if depth > self.depth:
            guarded = self.guarded
            if guard is not None and key not in self.maybe:
                guarded = (*guarded, (key, guard))
            else:  # set on another path too (an else of the same test, say): not only under the test
                guarded = tuple(g for g in guarded if g[0] != key)
            return replace(self, maybe=(*self.maybe, key), guarded=guarded)
        return replace(self, certain=(*self.certain, key))


def dict_keys(node: ast.expr | None) -> Keys | None:
    """The keys of a dict expression (a display with constant keys, ``dict(k=...)``, a
    conditional expression of two such); None for anything else."""
    if isinstance(node, ast.Dict):
        certain: list[str] = []
        maybe: list[str] = []
        known = True
        for k, v in zip(node.keys, node.values):
            if k is None:  # {**other}
                inner = dict_keys(v)
                if inner is None:
                    known = False
                else:
                    certain += inner.certain
                    maybe += inner.maybe
                    known = known and inner.known
            elif isinstance(k, ast.Constant) and isinstance(k.value, str):
                certain.append(k.value)
            else:
                known = False
        return Keys(tuple(certain), tuple(maybe), known)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
        if not node.args and all(k.arg for k in node.keywords):
            return Keys(tuple(k.arg for k in node.keywords if k.arg), (), True)
        if len(node.args) == 1 and not node.keywords:
            return dict_keys(node.args[0])
        return Keys((), (), False)
    if isinstance(node, ast.IfExp):
        a, b = dict_keys(node.body), dict_keys(node.orelse)
        if a is None or b is None:
            return None
        both = tuple(k for k in a.certain if k in b.certain)
        some = tuple(dict.fromkeys(k for k in (*a.certain, *a.maybe, *b.certain, *b.maybe) if k not in both))
        return Keys(both, some, a.known and b.known)
    return None


def function_locals(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> tuple[frozenset[str], set[str], set[str]]:
    """(the names a function's body binds, its ``global`` names, its ``nonlocal`` names), as the
    compiler decides them: assigned anywhere in the body, nested scopes aside."""
    args = node.args
    names = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg) if a is not None}
    glob: set[str] = set()
    nonloc: set[str] = set()
    stack: list[ast.AST] = list(node.body) if isinstance(node.body, list) else [node.body]
    while stack:
        n = stack.pop()
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(n.name)
            stack.extend(n.decorator_list)
            if not isinstance(n, ast.ClassDef):
                stack.extend(d for d in (*n.args.defaults, *n.args.kw_defaults) if d is not None)
            else:
                stack.extend(n.bases)
            continue
        if isinstance(n, ast.Lambda):
            stack.extend(d for d in (*n.args.defaults, *n.args.kw_defaults) if d is not None)
            continue
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            names.add(n.id)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in n.names if a.name != "*")
        elif isinstance(n, ast.ExceptHandler) and n.name:
            names.add(n.name)
        elif isinstance(n, ast.Global):
            glob.update(n.names)
        elif isinstance(n, ast.Nonlocal):
            nonloc.update(n.names)
        elif isinstance(n, (ast.MatchAs, ast.MatchStar)) and n.name:
            names.add(n.name)
        elif isinstance(n, ast.MatchMapping) and n.rest:
            names.add(n.rest)
        stack.extend(ast.iter_child_nodes(n))
    return frozenset(names - glob - nonloc), glob, nonloc


@dataclass
class _Deferred:
    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
    parent: Scope
    conds: Conds
    owner: ClassInfo | None
    defaults: dict[str, tuple[Binding, ...]]


class Walk:
    """The binding engine over one module. Subclasses receive each call, attribute reference
    and AITER import with the bindings that reach it (``on_call``, ``on_reference``,
    ``on_import``) and the conditions in force there (``self.conds``)."""

    def __init__(self, source: str | None = None) -> None:
        # With the module's source, a function body that names nothing that may hold AITER
        # (nor ``aiter`` itself) is not walked: it can reach AITER through no binding.
        self._source = source
        self._starts: list[int] = []
        self._words: set[str] = {TOP}  # names that hold AITER somewhere in this module
        self._pattern: tuple[int, re.Pattern[str]] | None = None
        self.conds: Conds = ()
        self.handles: Handles = ()  # what the try bodies around this point catch (this function's own)
        self.tries: dict[int, TryInfo] = {}
        self._try_stack: list[int] = []  # the ImportError-catching tries whose body we are in
        self._deferred: list[_Deferred] = []
        self._depth = 0
        self.module = Scope("module", {})
        self.classes: list[ClassInfo] = []
        # Calls through self (``self.fn(...)``), judged once every method has stored its attributes.
        self.pending: list[tuple[ast.Call, Scope, str, Conds, bool, Handles]] = []
        # What each class's methods store on self, from an earlier walk (class line -> attr -> values),
        # for methods that read an attribute before the method that stores it was walked.
        self.seed: dict[int, dict[str, tuple[Binding, ...]]] = {}
        self.stale = False

    # --- hooks ----------------------------------------------------------------------------

    def on_call(self, call: ast.Call, callee: tuple[Binding, ...], scope: Scope, *, launch: bool, through_instance: bool) -> None:
        """A call; ``callee`` holds every binding its function may have there."""

    def on_reference(self, node: ast.expr, values: tuple[Binding, ...], reads: int) -> None:
        """An attribute chain read (not called) whose root may be AITER; ``reads`` is how many
        of its attributes are read here, off the name's binding."""

    def on_import(self, stmt: ast.stmt, ref: str, guarded: bool) -> None:
        """An import of an AITER module or name."""

    def imported(self, module: str, level: int, name: str) -> tuple[Binding, ...]:
        """What ``from module import name`` binds where ``module`` is one of the walked code's own
        modules that binds ``name`` to AITER (empty: nothing known)."""
        return ()

    def on_opaque(self, node: ast.expr, dotted: str) -> None:
        """A use that cannot be checked from files (``torch.ops.aiter.*``)."""

    # --- the walk -------------------------------------------------------------------------

    def words(self) -> set[str]:
        """The names that hold AITER somewhere in this module (bound, or stored on self)."""
        return set(self._words)

    def exports(self) -> dict[str, tuple[Binding, ...]]:
        """The module's names that may hold AITER once it has run: what another module gets
        from ``from this import name``."""
        return {name: values for name, values in self.module.names.items() if any(v.ref is not None for v in values)}

    def classes_seed(self) -> dict[int, dict[str, tuple[Binding, ...]]]:
        return {c.line: dict(c.instance) for c in self.classes}

    def run(self, tree: ast.Module) -> None:
        self._block(tree.body, self.module)
        # A function that sets a module name through ``global`` goes first, so that every other
        # function reads the module's bindings with what it may set.
        self._deferred.sort(key=lambda d: not _GLOBAL.search(self._segment(d.node)))
        skipped: list[_Deferred] = []
        while True:
            while self._deferred:
                d = self._deferred.pop(0)
                if self._mentions(d.node):
                    self._function(d)
                else:
                    skipped.append(d)
            again = [d for d in skipped if self._mentions(d.node)]  # names found since it was skipped
            if not again:
                break
            skipped = [d for d in skipped if d not in again]
            self._deferred.extend(again)
        for call, scope, attr, conds, launch, handles in self.pending:
            owner = scope.owner
            assert owner is not None
            values = owner.through_self(attr)
            if any(v.ref is not None for v in values):
                saved, self.conds, saved_handles, self.handles = self.conds, conds, self.handles, handles
                self.on_call(call, values, scope, launch=launch, through_instance=True)
                self.conds, self.handles = saved, saved_handles

    def _segment(self, node: ast.AST) -> str:
        if self._source is None:
            return ""
        if not self._starts:
            self._starts = [0, *(m.end() for m in re.finditer("\n", self._source)), len(self._source)]
        first = getattr(node, "lineno", 1) - 1
        last = getattr(node, "end_lineno", None) or len(self._starts) - 1
        return self._source[self._starts[first]: self._starts[min(last, len(self._starts) - 1)]]

    def _mentions(self, node: ast.AST) -> bool:
        if self._source is None or self.module.stars:
            return True
        if self._pattern is None or self._pattern[0] != len(self._words):
            self._pattern = (len(self._words), re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(self._words))) + r")\b"))
        return self._pattern[1].search(self._segment(node)) is not None

    def _function(self, d: _Deferred) -> None:
        node = d.node
        local, glob, nonloc = function_locals(node)
        scope = Scope("function", {}, d.parent, local, glob, nonloc, owner=d.owner)
        args = node.args
        positional = [*args.posonlyargs, *args.args]
        if d.owner is not None and positional and not isinstance(node, ast.Lambda):
            decorators = {(chain(x) or [""])[-1] for x in node.decorator_list}
            if "staticmethod" not in decorators and "classmethod" not in decorators:
                scope.self_name = positional[0].arg
        for a in (*positional, *args.kwonlyargs, args.vararg, args.kwarg):
            if a is None:
                continue
            own = Binding(f"the parameter '{a.arg}' (line {a.lineno})", a.lineno)
            scope.names[a.arg] = (own, *d.defaults.get(a.arg, ()))
        saved, saved_handles = self.conds, self.handles
        self.conds, self.handles = d.conds, ()  # a body runs when called, outside any try around the def
        body = node.body if isinstance(node.body, list) else [ast.copy_location(ast.Expr(node.body), node.body)]
        self._block(body, scope)
        self.conds, self.handles = saved, saved_handles

    def _defaults(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, scope: Scope) -> dict[str, tuple[Binding, ...]]:
        """Each default value, read where the def stands: what a parameter holds when the caller
        leaves it out."""
        args = node.args
        out: dict[str, tuple[Binding, ...]] = {}
        positional = [*args.posonlyargs, *args.args]
        pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
        pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
        for a, default in pairs:
            values = self.expr(default, scope)
            name = getattr(node, "name", "lambda")
            cond = Cond("default", f"when a call of {name}() leaves out '{a.arg}'")
            aiter_values = tuple(v.under((cond,)) for v in values if v.ref is not None)
            if aiter_values:
                out[a.arg] = aiter_values
        return out

    def _block(self, stmts: Sequence[ast.stmt], scope: Scope) -> None:
        for stmt in stmts:
            self._stmt(stmt, scope)

    def _branch(self, body: Sequence[ast.stmt], scope: Scope, cond: Cond | None) -> dict[str, tuple[Binding, ...]]:
        """Walk ``body`` from the current state under ``cond``; return its end state, leaving
        ``scope`` as it was."""
        before = scope.names
        scope.names = dict(before)
        saved = self.conds
        if cond is not None:
            self.conds = (*saved, cond)
        self._depth += 1
        self._block(body, scope)
        self._depth -= 1
        self.conds = saved
        out = scope.names
        scope.names = before
        return out

    def _merge(self, scope: Scope, states: Sequence[dict[str, tuple[Binding, ...]]]) -> None:
        merged: dict[str, tuple[Binding, ...]] = {}
        for state in states:
            for name, values in state.items():
                merged[name] = union(merged.get(name, ()), values) if name in merged else values
        scope.names = merged

    def bind(self, scope: Scope, name: str, values: tuple[Binding, ...]) -> None:
        values = tuple(v.under(self.conds) if self.conds else v for v in values)
        if any(v.ref is not None for v in values):
            self._words.add(name)
        if name in scope.globals and scope.kind == "function":
            self.module.names[name] = union(self.module.names.get(name, ()), values)
            return
        if name in scope.nonlocals:
            outer = scope.parent
            while outer is not None and not (outer.kind == "function" and name in outer.local):
                outer = outer.parent
            if outer is not None:
                outer.names[name] = union(outer.names.get(name, ()), values)
            return
        scope.names[name] = values
        scope.dicts.pop(name, None)

    def _other(self, label: Text, line: int) -> tuple[Binding, ...]:
        return (Binding(label, line),)

    def _stmt(self, stmt: ast.stmt, scope: Scope) -> None:
        line = stmt.lineno
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for dec in stmt.decorator_list:
                self.expr(dec, scope)
            defaults = self._defaults(stmt, scope)
            owner = scope.owner if scope.kind == "class" else None
            parent = scope
            while parent.kind == "class" and parent.parent is not None:  # class scopes are invisible in methods
                parent = parent.parent
            self._deferred.append(_Deferred(stmt, parent, self.conds, owner, defaults))
            own = Binding(f"a local def at line {line}", line, node=stmt)
            self._decorated(stmt, scope, own)
            return
        if isinstance(stmt, ast.ClassDef):
            for dec in stmt.decorator_list:
                self.expr(dec, scope)
            for base in (*stmt.bases, *(k.value for k in stmt.keywords)):
                self.expr(base, scope)
            parent = scope
            while parent.kind == "class" and parent.parent is not None:
                parent = parent.parent
            inner = Scope("class", {}, parent)
            inner.owner = ClassInfo(stmt.name, inner, line, dict(self.seed.get(line, {})))
            self._depth += 1
            self._block(stmt.body, inner)
            self._depth -= 1
            self.bind(scope, stmt.name, self._other(f"a local class at line {line}", line))
            self.classes.append(inner.owner)
            return
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                guarded = bool(self._try_stack)
                if is_aiter(alias.name):
                    self._import(stmt, f"{alias.name}:", guarded)
                    ref = f"{alias.name}:" if alias.asname else "aiter:"
                    label = f"import {alias.name}{' as ' + alias.asname if alias.asname else ''} (line {line})"
                    b = Binding(label, line, ref=ref, guard_import=f"{alias.name}:" if guarded else None)
                    self.bind(scope, alias.asname or TOP, (b,))
                else:
                    self._foreign()
                    name = alias.asname or alias.name.split(".")[0]
                    self.bind(scope, name, self._other(f"import {alias.name} (line {line})", line))
            return
        if isinstance(stmt, ast.ImportFrom):
            source = stmt.module or ""
            guarded = bool(self._try_stack)
            if stmt.level == 0 and is_aiter(source):
                for alias in stmt.names:
                    if alias.name == "*":
                        self._import(stmt, f"{source}:", guarded)
                        star = Binding(f"from {source} import * (line {line})", line, ref=f"{source}:", star=True)
                        scope.stars = (*scope.stars, star.under(self.conds))
                        continue
                    target = f"{source}:{alias.name}"
                    self._import(stmt, target, guarded)
                    label = f"from {source} import {alias.name}{' as ' + alias.asname if alias.asname else ''} (line {line})"
                    self.bind(scope, alias.asname or alias.name, (Binding(label, line, ref=target, guard_import=target if guarded else None),))
            else:
                self._foreign()
                dots = "." * stmt.level
                for alias in stmt.names:
                    if alias.name == "*":
                        self._foreign_star(scope, f"from {dots}{source} import * (line {line})", line)
                        continue
                    label = f"{dots}{source}.{alias.name} (line {line})"
                    passed = self.imported(source, stmt.level, alias.name)  # another module of the code re-exports AITER's
                    values = tuple(replace(v, label=f"{label}, which is {v.label}", conds=()) for v in passed) if passed else self._other(label, line)
                    self.bind(scope, alias.asname or alias.name, values)
            return
        if isinstance(stmt, _TRY):
            self._try(stmt, scope)  # type: ignore[arg-type]
            return
        if isinstance(stmt, ast.If):
            self._if(stmt, scope)
            return
        if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
            if isinstance(stmt, ast.While):
                self.expr(stmt.test, scope)
            else:
                self.expr(stmt.iter, scope)
            before = dict(scope.names)
            saved = scope.names
            scope.names = dict(saved)
            self._depth += 1
            if not isinstance(stmt, ast.While):
                self._assign(stmt.target, None, scope, line)
            self._block(stmt.body, scope)
            self._depth -= 1
            after = scope.names
            scope.names = saved
            states = [before, after]
            if stmt.orelse:
                scope.names = dict(self._joined([before, after]))
                states = [self._branch(stmt.orelse, scope, None), after]
            self._merge(scope, states)
            return
        if isinstance(stmt, ast.Match):
            self.expr(stmt.subject, scope)
            states = []
            for case in stmt.cases:
                cond = Cond("if", Lazy("when the case `{}` matches", case.pattern))
                saved = scope.names
                scope.names = dict(saved)
                for name in captures(case.pattern):
                    self.bind(scope, name, self._other(f"a match capture (line {line})", line))
                if case.guard is not None:
                    self.expr(case.guard, scope)
                states.append(self._branch(case.body, scope, cond))
                scope.names = saved
            states.append(dict(scope.names))
            self._merge(scope, states)
            return
        if isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                self.expr(item.context_expr, scope)
                if item.optional_vars is not None:
                    self._assign(item.optional_vars, None, scope, line)
            self._block(stmt.body, scope)
            return
        if isinstance(stmt, ast.Assign):
            self.expr(stmt.value, scope)
            for t in stmt.targets:
                self._assign(t, stmt.value, scope, line)
            return
        if isinstance(stmt, ast.AnnAssign):
            if stmt.value is not None:
                self.expr(stmt.value, scope)
                self._assign(stmt.target, stmt.value, scope, line)
            return
        if isinstance(stmt, ast.AugAssign):
            self.expr(stmt.value, scope)
            aug = stmt.target
            if isinstance(aug, ast.Name):
                if aug.id in scope.dicts:
                    scope.dicts[aug.id] = scope.dicts[aug.id].add(None, self._depth)
                    return
                self.bind(scope, aug.id, self._other(Lazy(f"{{}} (line {line})", stmt), line))
            else:
                self._assign(aug, None, scope, line)
            return
        if isinstance(stmt, ast.Delete):
            for t in stmt.targets:
                if isinstance(t, ast.Name):
                    self.bind(scope, t.id, ())
                else:
                    self.expr(t, scope)
            return
        if isinstance(stmt, (ast.Global, ast.Nonlocal)):
            return
        for child in ast.iter_child_nodes(stmt):  # Expr, Return, Raise, Assert, ...
            if isinstance(child, ast.expr):
                self.expr(child, scope)

    def _decorated(self, stmt: ast.FunctionDef | ast.AsyncFunctionDef, scope: Scope, own: Binding) -> None:
        """``@dec`` over a def is the call ``dec(f)``: an AITER decorator is a call of it with one
        argument, and the name then holds what it returns."""
        values: tuple[Binding, ...] = (own,)
        for dec in reversed(stmt.decorator_list):
            callee = self.expr(dec, scope, record=False)
            if any(v.ref is not None for v in callee):
                fake = ast.Call(func=dec, args=[ast.Name(id=stmt.name, ctx=ast.Load())], keywords=[])
                ast.copy_location(fake, dec)
                fake.end_lineno, fake.end_col_offset = dec.end_lineno, dec.end_col_offset
                self.on_call(fake, callee, scope, launch=False, through_instance=False)
            values = self._other(Lazy(f"a def at line {stmt.lineno} decorated with {{}}", dec), stmt.lineno)
        self.bind(scope, stmt.name, values if stmt.decorator_list else (own,))

    def _foreign(self) -> None:
        if self._try_stack:
            self.tries[self._try_stack[-1]].foreign[0] = True

    def _foreign_star(self, scope: Scope, label: str, line: int) -> None:
        """``from elsewhere import *`` may rebind any name already bound."""
        other = Binding(f"whatever {label} binds", line)
        for name, values in list(scope.names.items()):
            if any(v.ref is not None for v in values):
                scope.names[name] = union(values, (other.under(self.conds),))

    def _import(self, stmt: ast.stmt, ref: str, guarded: bool) -> None:
        if guarded:
            self.tries[self._try_stack[-1]].imports.append(ref)
        self.on_import(stmt, ref, guarded)

    def _if(self, stmt: ast.If, scope: Scope) -> None:
        test = stmt.test
        self.expr(test, scope)
        if _is_type_checking(test):
            yes = Cond("type_checking", "under TYPE_CHECKING")
            no: Cond | None = None
        else:
            truth = _constant_truth(test)
            guard = self._asks_aiter(test, scope)
            if truth is not None:
                yes = Cond("if" if truth else "never", Lazy("when `{}`" + ("" if truth else " (never: a constant)"), test))
                no = Cond("never" if truth else "if", Lazy("when not `{}`" + (" (never: a constant)" if truth else ""), test))
            elif guard:
                yes = Cond("guard", Lazy("when the AITER test `{}` holds", test))
                no = Cond("guard", Lazy("when the AITER test `{}` does not hold", test))
            else:
                named = test.id if isinstance(test, ast.Name) else ""
                yes = Cond("if", Lazy("when `{}`", test), test=named)
                no = Cond("if", Lazy("when not `{}`", test), test=named, yes=False)
        states = [self._branch(stmt.body, scope, yes)]
        if stmt.orelse:
            states.append(self._branch(stmt.orelse, scope, no))
        else:
            states.append(scope.names)
        self._merge(scope, states)

    def _try(self, stmt: ast.Try, scope: Scope) -> None:
        key = next(_TRY_KEYS)  # unique across files (an id() is reused once a tree is freed)
        guarded = any(catches_import_error(h) for h in stmt.handlers)
        self.tries[key] = TryInfo()
        before = dict(scope.names)
        if guarded:
            self._try_stack.append(key)
        saved_handles = self.handles
        self.handles = (*saved_handles, tuple((name, h.lineno) for h in stmt.handlers for name in caught(h)))
        body = self._branch(stmt.body, scope, Cond("try", f"when the try at line {stmt.lineno} succeeds", key) if guarded else None)
        self.handles = saved_handles
        if guarded:
            self._try_stack.pop()
        states = []
        for handler in stmt.handlers:
            if handler.type is not None:
                self.expr(handler.type, scope)
            catches = catches_import_error(handler)
            what: Text = Lazy(f"in the except {{}} handler (line {handler.lineno})", handler.type) if handler.type is not None else f"in the bare except handler (line {handler.lineno})"
            cond = Cond("handler", what, key) if catches else Cond("if", what)
            scope.names = self._joined([before, body])
            if handler.name:
                self.bind(scope, handler.name, self._other(f"the exception (line {handler.lineno})", handler.lineno))
            end = self._branch(handler.body, scope, cond)
            if handler.name:
                end[handler.name] = ()
            states.append(end)
        scope.names = body
        if stmt.orelse:
            scope.names = self._branch(stmt.orelse, scope, None)
        self._merge(scope, [scope.names, *states])  # the try's own bindings first
        self._block(stmt.finalbody, scope)

    def _joined(self, states: Sequence[dict[str, tuple[Binding, ...]]]) -> dict[str, tuple[Binding, ...]]:
        merged: dict[str, tuple[Binding, ...]] = {}
        for state in states:
            for name, values in state.items():
                merged[name] = union(merged.get(name, ()), values)
        return merged

    def _assign(self, target: ast.expr, value: ast.expr | None, scope: Scope, line: int) -> None:
        if isinstance(target, ast.Name):
            if value is None:
                self.bind(scope, target.id, self._other(f"a value set at line {line}", line))
                return
            values = self.expr(value, scope, record=False)
            length = len(value.elts) if isinstance(value, (ast.Tuple, ast.List)) and not any(isinstance(e, ast.Starred) for e in value.elts) else None
            labelled = tuple(
                replace(v, label=Lazy(f"{target.id} = {{}} (line {line})", value)) if v.ref is not None and not v.star else v
                for v in values
            )
            if not any(v.ref is not None for v in values):
                labelled = (Binding(Lazy(f"{{}} (line {line})", value), line, length=length),)
            self.bind(scope, target.id, labelled)
            keys = dict_keys(value)
            if keys is not None:
                scope.dicts[target.id] = replace(keys, depth=self._depth, conds=len(self.conds))
        elif isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                self._assign(elt.value if isinstance(elt, ast.Starred) else elt, None, scope, line)
        elif isinstance(target, ast.Subscript):
            self.expr(target.value, scope)
            self.expr(target.slice, scope)
            if isinstance(target.value, ast.Name) and target.value.id in scope.dicts:
                key = target.slice
                text = key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else None
                keys = scope.dicts[target.value.id]
                scope.dicts[target.value.id] = keys.add(text, self._depth, self._guard(keys))
        elif isinstance(target, ast.Attribute):
            self.expr(target.value, scope)
            owner = scope.owner
            if (
                value is not None and owner is not None and scope.self_name is not None
                and isinstance(target.value, ast.Name) and target.value.id == scope.self_name
            ):  # fmt: skip
                values = tuple(v.under(self.conds) for v in self.expr(value, scope, record=False))
                if any(v.ref is not None for v in values):
                    self._words.add(target.attr)
                have = {(v.line, v.ref) for v in owner.instance.get(target.attr, ())}
                values = tuple(v for v in values if (v.line, v.ref) not in have)  # a seeded walk stores it again
                if target.attr in owner.read and any(v.ref is not None for v in values):
                    self.stale = True  # a method already read it without this value: walk again, seeded
                owner.instance[target.attr] = union(owner.instance.get(target.attr, ()), values)
            elif value is None and owner is not None and isinstance(target.value, ast.Name) and target.value.id == scope.self_name:
                owner.instance[target.attr] = union(owner.instance.get(target.attr, ()), self._other(f"a value set at line {line}", line))

    # --- tests that ask AITER about itself ----------------------------------------------------

    def _asks_aiter(self, test: ast.expr, scope: Scope) -> bool:
        """Whether ``test`` examines AITER itself (``hasattr(aiter, "x")``, its version,
        ``inspect.signature`` of an AITER function), directly or through a local helper that does."""
        for node in ast.walk(test):
            if isinstance(node, ast.Attribute) and node.attr == "__version__":
                if any(v.ref is not None for v in self.expr(node.value, scope, record=False)):
                    return True
            if not isinstance(node, ast.Call):
                continue
            if self._examines(node, lambda e: self.expr(e, scope, record=False)):
                return True
            if isinstance(node.func, ast.Name):
                helpers = [b.node for b in self.lookup(node.func.id, scope) if b.node is not None]
                if any(self._helper_asks(h) for h in helpers):
                    return True
        return False

    def _examines(self, call: ast.Call, values: Callable[[ast.expr], tuple[Binding, ...]]) -> bool:
        last = (chain(call.func) or [""])[-1]
        if last not in _SELF_TESTS or not call.args:
            return False
        if any(isinstance(a, ast.Constant) and isinstance(a.value, str) and TOP in a.value.replace("-", "_").split("_") for a in call.args):
            return last in ("find_spec", "version")
        return last != "find_spec" and any(v.ref is not None for v in values(call.args[0]))

    def _helper_asks(self, helper: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
        imported: dict[str, bool] = {}
        for node in ast.walk(helper):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and is_aiter(node.module or ""):
                imported.update({a.asname or a.name: True for a in node.names})
            elif isinstance(node, ast.Import):
                imported.update({(a.asname or a.name.split(".")[0]): True for a in node.names if is_aiter(a.name)})

        def values(e: ast.expr) -> tuple[Binding, ...]:
            names = chain(e)
            if names is None:
                return ()
            if names[0] in imported:
                return (Binding("", 0, ref="aiter:"),)
            return tuple(b.attr(names[1:]) for b in self.module.names.get(names[0], ()))

        for node in ast.walk(helper):
            if isinstance(node, ast.Call) and self._examines(node, values):
                return True
            if isinstance(node, ast.Attribute) and node.attr == "__version__" and any(v.ref is not None for v in values(node.value)):
                return True
        return False

    # --- names and expressions ------------------------------------------------------------

    def lookup(self, name: str, scope: Scope) -> tuple[Binding, ...]:
        """Every binding ``name`` may have when read in ``scope`` now."""
        s: Scope | None = scope
        first = True
        while s is not None:
            if s.kind == "function" and not first and name not in s.local:
                s = s.parent
                continue
            if s.kind == "function" and name in s.globals:
                s = self.module
                first = False
                continue
            if s.kind == "function" and first and name in s.nonlocals:
                s = s.parent
                first = False
                continue
            if name in s.names:
                return s.names[name]
            if s.kind == "function" and name in s.local:
                return ()  # a local not bound yet: UnboundLocalError, never an enclosing binding
            if s.stars:
                found = tuple(b.attr([name]) for b in s.stars)
                if name not in _BUILTINS:
                    return found
                return union(found, self._other(f"the builtin {name}", 0))
            s = s.parent
            first = False
        return ()

    def expr(self, node: ast.expr, scope: Scope, record: bool = True) -> tuple[Binding, ...]:
        """The bindings an expression's value may be (AITER objects, or others named); with
        ``record``, the calls and references inside it go to the hooks."""
        if isinstance(node, ast.Name):
            return self.lookup(node.id, scope)
        if isinstance(node, ast.Attribute):
            names = chain(node)
            if names is not None:
                if names[:3] == ["torch", "ops", "aiter"]:
                    if record:
                        self.on_opaque(node, ".".join(names))
                    return ()
                if scope.owner is not None and names[0] == scope.self_name:
                    values = tuple(b.attr(names[2:]) for b in scope.owner.through_self(names[1]))
                    if record and len(names) > 2 and any(v.ref is not None for v in values):
                        self.on_reference(node, values, len(names) - 2)
                    return values
                root = self.lookup(names[0], scope)
                values = tuple(b.attr(names[1:]) for b in root)
                if record and any(v.ref is not None for v in values):
                    self.on_reference(node, values, len(names) - 1)
                return values
            base = self.expr(node.value, scope, record)
            return tuple(b.attr([node.attr]) for b in base if b.ref is not None)
        if isinstance(node, ast.Call):
            return self._call(node, scope, record)
        if isinstance(node, ast.IfExp):
            self.expr(node.test, scope, record)
            a = tuple(v.under((Cond("if", Lazy("when `{}`", node.test)),)) for v in self.expr(node.body, scope, record))
            b = tuple(v.under((Cond("if", Lazy("when not `{}`", node.test)),)) for v in self.expr(node.orelse, scope, record))
            return union(a, b)
        if isinstance(node, ast.NamedExpr):
            values = self.expr(node.value, scope, record)
            target = scope
            while target.kind == "comprehension" and target.parent is not None:
                target = target.parent
            self.bind(target, node.target.id, values or self._other(Lazy(f"{{}} (line {node.lineno})", node.value), node.lineno))
            return values
        if isinstance(node, ast.Lambda):
            if record:
                defaults = self._defaults(node, scope)
                parent = scope
                while parent.kind == "class" and parent.parent is not None:
                    parent = parent.parent
                self._deferred.append(_Deferred(node, parent, self.conds, None, defaults))
            return ()
        if isinstance(node, _COMPREHENSIONS):
            self._comprehension(node, scope, record)
            return ()
        if isinstance(node, ast.BoolOp):
            return union(*(self.expr(v, scope, record) for v in node.values))
        if record:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.expr(child, scope, record)
                elif isinstance(child, ast.keyword):
                    self.expr(child.value, scope, record)
        return ()

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp, scope: Scope, record: bool) -> None:
        parent = scope
        while parent.kind == "class" and parent.parent is not None:  # a comprehension in a class body skips it
            parent = parent.parent
        inner = Scope("comprehension", {}, parent)
        saved = self.handles
        for i, gen in enumerate(node.generators):
            self.expr(gen.iter, scope if i == 0 else inner, record)  # the first iterable is read outside
            if isinstance(node, ast.GeneratorExp):  # the rest runs when it is consumed, maybe outside the try
                self.handles = ()
            for name in _target_names(gen.target):
                inner.names[name] = self._other(f"a comprehension variable (line {node.lineno})", node.lineno)
            for cond in gen.ifs:
                self.expr(cond, inner, record)
        parts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        for part in parts:
            self.expr(part, inner, record)
        self.handles = saved

    def _call(self, call: ast.Call, scope: Scope, record: bool) -> tuple[Binding, ...]:
        func = call.func
        launch = False
        if isinstance(func, ast.Subscript):  # a Triton kernel launched as kernel[grid](...)
            if record:
                self.expr(func.slice, scope)
            func = func.value
            launch = True
        through_instance = False
        names = chain(func)
        callee: tuple[Binding, ...]
        if names is not None and names[:3] == ["torch", "ops", "aiter"]:
            if record:
                self.on_opaque(call, ".".join(names))
            callee = ()
        elif names is not None and len(names) == 2 and scope.self_name == names[0] and scope.owner is not None:
            callee = ()
            if record:
                self.pending.append((call, scope, names[1], self.conds, launch, self.handles))
        elif names is not None:
            root = self.lookup(names[0], scope)
            callee = tuple(b.attr(names[1:]) for b in root)
        else:
            callee = self.expr(func, scope, record)
        result: tuple[Binding, ...] = ()
        last = (names or [""])[-1]
        if last == "partial" and call.args and not any(v.ref is not None for v in callee):
            inner = self.expr(call.args[0], scope, False)
            kws = tuple(k.arg for k in call.keywords if k.arg)
            star = any(isinstance(a, ast.Starred) for a in call.args[1:]) or any(k.arg is None for k in call.keywords)
            if not star:
                result = tuple(
                    replace(v, pre_args=v.pre_args + len(call.args) - 1, pre_keywords=(*v.pre_keywords, *kws), label=Lazy(f"{{}} (line {call.lineno})", call))
                    for v in inner if v.ref is not None
                )
        elif last == "getattr" and len(call.args) >= 2 and isinstance(call.args[1], ast.Constant) and isinstance(call.args[1].value, str):
            inner = self.expr(call.args[0], scope, False)
            attr = call.args[1].value
            result = tuple(v.attr([attr]) for v in inner if v.ref is not None)
            if result and len(call.args) == 3:
                default = Lazy(f"the default {{}} (line {call.lineno})", call.args[2])
                result = union(tuple(replace(v, default=default) for v in result), self._other(default, call.lineno))
        elif last == "import_module" and call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str) and not call.keywords:
            module = call.args[0].value
            if len(call.args) == 1 and is_aiter(module):
                result = (Binding(Lazy(f"{{}} (line {call.lineno})", call), call.lineno, ref=f"{module}:"),)
        if record:
            if any(v.ref is not None for v in callee):
                self.on_call(call, callee, scope, launch=launch, through_instance=through_instance)
            for arg in call.args:
                self.expr(arg.value if isinstance(arg, ast.Starred) else arg, scope)
            for kw in call.keywords:
                self.expr(kw.value, scope)
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in scope.dicts:
                self._mutation(func.value.id, func.attr, call, scope)
        return result

    def _mutation(self, name: str, method: str, call: ast.Call, scope: Scope) -> None:
        keys = scope.dicts[name]
        if method in ("get", "keys", "items", "values", "copy", "__contains__"):
            return
        added: list[str | None] = []
        if method == "update":
            for arg in call.args:
                literal = dict_keys(arg)
                added += list(literal.certain) + list(literal.maybe) + ([] if literal.known else [None]) if literal is not None else [None]
            added += [k.arg for k in call.keywords]
        elif method == "setdefault" and call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
            added.append(call.args[0].value)
        else:
            added.append(None)  # pop, clear, anything else: what remains cannot be told
        guard = self._guard(keys)
        for key in added:
            keys = keys.add(key, self._depth, guard)
        scope.dicts[name] = keys

    def _guard(self, keys: Keys) -> str | None:
        """The AITER self-test among the conditions met since ``keys``' dict was made, if any."""
        return next((str(c.text) for c in self.conds[keys.conds:] if c.kind == "guard"), None)



def _target_names(target: ast.expr) -> Iterator[str]:
    for n in ast.walk(target):
        if isinstance(n, ast.Name):
            yield n.id


def captures(pattern: ast.AST) -> list[str]:
    """The names a ``match`` case's pattern binds (captures, ``*rest``, ``**rest``)."""
    out: list[str] = []
    for n in ast.walk(pattern):
        if isinstance(n, (ast.MatchAs, ast.MatchStar)) and n.name:
            out.append(n.name)
        elif isinstance(n, ast.MatchMapping) and n.rest:
            out.append(n.rest)
    return out
