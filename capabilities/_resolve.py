"""Collect: resolve any dotted AITER name the way Python would bind it, importing nothing.

One engine answers every name (``fused_moe`` and every entry point included):
``aiter.a.b`` is the attribute ``b`` of whatever ``aiter.a`` is, attribute by
attribute, starting from the package.

- **In a module**, a name's binding is the last top-level statement that binds
  it: a ``def`` (or ``async def``), a ``class``, ``from .m import name``,
  ``from .m import *`` (when ``m`` exports it: its ``__all__``, or every public
  name it binds), ``import m``, or an assignment, whose value gives a constant,
  an instance of a class the package defines, an enum declared in AITER's C++
  header (``QuantType = type(_QuantType(0))``), or a value computed at import.
  Inside ``if``/``try``/``with``/``for``/``while``/``match`` a binding stands
  when the branches that bind it agree; when they bind it differently it
  depends on execution and is unknown. ``if TYPE_CHECKING:`` runs nothing.
  A name the module never binds is its submodule where one exists (``from
  aiter import fused_moe`` gives the module), or a module that a
  backward-compatibility map redirects to (``aiter.ops.triton``'s import hook),
  or unknown where the module has a ``__getattr__``; else it is missing.
- **In a class**, the same rules over the class body, then its bases; an
  ``Enum``'s assignments are its members; through an instance
  (``tgemm = TunedGemm()``) a method's first parameter is bound.
- Re-exports are followed across modules; a chain that comes back to a name
  being resolved means the value that name had before (``aiter.dtypes`` is
  re-exported by modules that import it from ``aiter``).

Never a false answer from the source. These make the name they touch unknown:
a rebinding in a statement header (``for``, ``with ... as``, a walrus,
``except ... as``, a ``match`` capture) or by ``del``; a module that rewrites
its namespace at run time (``globals()`` or ``vars()`` written to, ``exec``,
``sys.modules[__name__]``, ``setattr`` on itself, ``global`` in a function);
an assignment to the function's ``__code__``, ``__globals__``,
``__signature__``, ``__wrapped__``, ``__defaults__`` or ``__kwdefaults__``;
another module that the import surely runs (the packages' ``__init__``, what
they star-import, the re-export chain) patching the attribute
(``_m.fused_moe = ...``, ``setattr(_m, ...)``, ``sys.modules['aiter.fused_moe'] = ...``);
source that parses but does not compile; and a decorator not known to keep
the signature. Known to keep it: AITER's ``compile_ops`` and
``torch_compile_guard``, ``functools.lru_cache``/``cache``/``wraps``,
``contextlib.contextmanager``, ``torch.inference_mode``/``no_grad``,
``torch.library.custom_op``, Triton's ``jit``/``autotune``/``heuristics``
(a kernel, launched as ``kernel[grid](...)``), and any decorator in the
package that returns the function itself or a wrapper passing ``*args,
**kwargs`` on to it. Every answer says why.
"""

from __future__ import annotations

import ast
import bisect
import builtins
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Union

from . import _static
from ._bindings import captures
from .model import Parameter, Resolution
from .model import ResolutionKind as Kind
from .model import ResolutionStatus as Status
from ._source import PARSE_ERRORS, TOP, Location, Offsets, Parsed, Tree, Words, words


_MAX_DEPTH = 24
_STAR_TEXT = re.compile(r"^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+\*", re.M)
_TRY: tuple[type, ...] = (ast.Try, getattr(ast, "TryStar", ast.Try))  # TryStar: Python 3.11+
_SIGNATURE_ATTRS = frozenset({"__signature__", "__wrapped__", "__code__", "__globals__", "__defaults__", "__kwdefaults__"})
# Decorators from outside AITER that keep what a call binds to (qualified by their import).
KEEPS_SIGNATURE = frozenset({
    "functools.lru_cache", "functools.cache", "functools.wraps", "contextlib.contextmanager",
    "torch.inference_mode", "torch.no_grad", "torch.library.custom_op",
})  # fmt: skip
# Triton's kernels: called as kernel[grid](...), binding the function's own parameters.
KERNEL_DECORATORS = frozenset({"triton.jit", "triton.autotune", "triton.heuristics", "triton.experimental.gluon.jit"})
# Decorators from packages AITER depends on, known (from their source, not from files here)
# to return a wrapper that passes *args, **kwargs on: a rule, named as such where it decides.
PASS_THROUGH_RULES = {
    "flydsl.expr.meta.dsl_loc_tracing": "rule (from FlyDSL's source, flydsl/expr/meta.py, not from files here): "
    "dsl_loc_tracing returns a functools.wraps wrapper that passes *args, **kwargs on",
}
# AITER's own, by name wherever the package defines them: they keep the Python signature.
AITER_DECORATORS = frozenset({"compile_ops", "torch_compile_guard"})
# The body of a compile_ops stub is replaced by the compiled module's function.
REPLACES_BODY = frozenset({"compile_ops"})
_BUILTINS = frozenset(dir(builtins))
_METHOD_KINDS = frozenset({"staticmethod", "classmethod"})
# Attributes the import system gives every module (packages also have __path__).
_MODULE_DUNDERS = frozenset({"__name__", "__file__", "__doc__", "__package__", "__loader__", "__spec__", "__path__", "__dict__", "__builtins__", "__cached__"})
_ENUM_BASES = frozenset({"enum.Enum", "enum.IntEnum", "enum.StrEnum", "enum.Flag", "enum.IntFlag"})


# --- what a statement binds a name to ------------------------------------------------


@dataclass(frozen=True, eq=False)
class Def:
    module: str
    node: ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True, eq=False)
class Klass:
    module: str
    node: ast.ClassDef


@dataclass(frozen=True, eq=False)
class Ref:
    """``from module import name`` (or a star import) in ``where`` at ``line``."""

    module: str
    name: str
    where: str
    line: int
    prior: Candidate | None  # what the name was bound to before this statement
    star: bool = False


@dataclass(frozen=True, eq=False)
class Module:
    module: str  # absolute, maybe outside the package


@dataclass(frozen=True, eq=False)
class Value:
    module: str
    node: ast.expr
    line: int


@dataclass(frozen=True, eq=False)
class Opaque:
    reason: str


Candidate = Union[Def, Klass, Ref, Module, Value, Opaque]


def _key(c: Candidate | None) -> object:
    if c is None:
        return None
    if isinstance(c, (Def, Klass)):
        return (type(c).__name__, c.module, c.node.lineno)
    if isinstance(c, Ref):
        return ("ref", c.module, c.name, c.star)
    if isinstance(c, Module):
        return ("module", c.module)
    if isinstance(c, Value):
        return ("value", c.module, c.line)
    return ("opaque", c.reason)


# --- what a dotted prefix evaluates to -------------------------------------------------


@dataclass(frozen=True, eq=False)
class Target:
    kind: Kind
    label: str  # the dotted name it was reached by
    module: str | None = None  # a module's name, or where a def/class is
    node: ast.AST | None = None
    owner: Target | None = None  # a method's class, a member's enum, an instance's class
    bound: bool = False  # a method reached through an instance, or a classmethod
    note: str = ""


@dataclass(frozen=True)
class Stop:
    status: Literal["missing", "unknown"]
    detail: str


Step = Union[Target, Stop]


# --- the per-module analyses, once each -------------------------------------------------


@dataclass
class _Dynamic:
    """Where a module can rebind its own names at run time."""

    any: list[str] = field(default_factory=list)  # rebinds any name: why
    names: dict[str, list[str]] = field(default_factory=dict)  # rebinds these names
    prefixes: list[tuple[str, str]] = field(default_factory=list)  # rebinds names starting so

    def about(self, name: str) -> list[str]:
        return self.any + self.names.get(name, []) + [w for p, w in self.prefixes if name.startswith(p)]


def _const_str(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _prefix(node: ast.expr) -> str | None:
    """The constant text that a key expression surely starts with: a string or an f-string."""
    text = _const_str(node)
    if text is not None:
        return text
    if isinstance(node, ast.JoinedStr) and node.values:
        return _const_str(node.values[0]) if isinstance(node.values[0], ast.Constant) else ""
    return None


def _chain(node: ast.expr) -> tuple[str, ...] | None:
    """``a.b.c`` as ('a', 'b', 'c'); ``sys.modules['x']`` as ('sys.modules', 'x')."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return (node.id, *reversed(parts))
    if isinstance(node, ast.Subscript) and _chain(node.value) == ("sys", "modules") and _const_str(node.slice):
        return ("sys.modules", _const_str(node.slice) or "", *reversed(parts))
    return None


def _is_globals_call(node: ast.AST | None, module_scope: bool) -> bool:
    if not isinstance(node, ast.Call) or node.args or node.keywords:
        return False
    if isinstance(node.func, ast.Attribute):  # builtins.globals(), or any alias of it: the caller's globals
        return node.func.attr == "globals"
    if not isinstance(node.func, ast.Name):
        return False
    return node.func.id == "globals" or (module_scope and node.func.id in ("vars", "locals"))


_DICT_ASSIGN = re.compile(r"(?m)^\w+\s*(?::[^=\n]*)?=\s*\{")
_GETATTR = words("__getattr__")
_IMPORT_TEXT = re.compile(r"(?m)^(?:from[ \t]+\S+[ \t]+)?import[ \t]")
_ALL = words("__all__")
# A top-level assignment or import binding a name, read from the text (for "did you mean").
_TOP_BINDING = re.compile(r"(?m)^(?:(\w+)\s*(?::[^=\n]*)?=[^=]|(?:from\s+\S+\s+)?import\s+(?:\S+\s+as\s+)?(\w+))")
# Tokens without which a module cannot rewrite its own names at run time (a cheap test first).
_REBIND_TOKENS = (
    "globals(", "vars(", "locals(", "exec(", "eval(", "setattr(", "sys.modules", "global", "__code__",
    "__globals__", "__signature__", "__wrapped__", "__defaults__", "__kwdefaults__", "modules[__name__", "import_module(__name__",
)  # fmt: skip
# Where those can rebind a name (words, not text in a comment that mentions global memory).
_REBIND_TEXT = re.compile(
    r"\b(?:globals|vars|locals|exec|eval|setattr)\s*\(|\bimport_module\s*\(\s*__name__|\bsys\.modules\b|\bmodules\s*\[\s*__name__|^[ \t]*global[ \t]+\w"
    r"|\.\s*__(?:code|globals|signature|wrapped|defaults|kwdefaults)__\b",
    re.M,
)
# Where a match of _REBIND_TEXT can start: at one of these words, at the start of a line holding
# 'global', or at a dot before one of these attributes (see _guided).
_REBIND_WORDS = ("globals", "vars", "locals", "exec", "eval", "setattr", "import_module", "sys.modules", "modules")
_REBIND_ATTRS = tuple(f"__{a}__" for a in ("code", "globals", "signature", "wrapped", "defaults", "kwdefaults"))


def _guided(
    pattern: re.Pattern[str], source: str, at: Sequence[str] = (), lines_with: Sequence[str] = (), dot_before: Sequence[str] = ()
) -> Offsets:
    """The starts of ``pattern.finditer(source)``, found by trying the pattern only where a
    match can start: at an occurrence of a word of ``at``, at the start of a line holding one of
    ``lines_with``, or at a dot that only whitespace parts from one of ``dot_before`` (the words
    are found with ``str.find``, far faster than the pattern's own search over a long module,
    which has no literal prefix to skip by). Matches are taken left to right and never
    overlap, as ``finditer`` takes them, so the offsets are the same."""
    starts: set[int] = set()
    for word in (*at, *lines_with, *dot_before):
        i = source.find(word)
        while i >= 0:
            if word in at:
                starts.add(i)
            if word in lines_with:
                starts.add(source.rfind("\n", 0, i) + 1)
            if word in dot_before:
                j = i - 1
                while j >= 0 and source[j].isspace():  # what \s matches in a str pattern
                    j -= 1
                if j >= 0 and source[j] == ".":
                    starts.add(j)
            i = source.find(word, i + 1)
    out: list[int] = []
    end = 0
    for i in sorted(starts):
        if i < end:
            continue  # inside the match before: finditer goes on after it
        m = pattern.match(source, i)
        if m is not None:
            out.append(i)
            end = max(m.end(), i + 1)
    return Offsets(out)


def _statements_at(parsed: Parsed, pattern: re.Pattern[str] | Words | Offsets) -> list[ast.stmt]:
    """The top-level statements whose text holds a match of ``pattern``: only these are
    parsed and walked (a module that does not parse has none)."""
    try:
        return parsed.statements(pattern)
    except PARSE_ERRORS:
        return []


def _near(parsed: Parsed, pattern: re.Pattern[str] | Offsets) -> tuple[list[ast.AST], dict[int, ast.AST], dict[int, bool]]:
    """The nodes on lines where ``pattern`` matches (and their ancestors), each node's parent,
    and whether it runs at module scope; subtrees away from those lines are not walked."""
    lines = sorted({parsed.line_of(m.start()) for m in pattern.finditer(parsed.source)})
    nodes: list[ast.AST] = []
    parents: dict[int, ast.AST] = {}
    module_scope: dict[int, bool] = {}
    stack: list[tuple[ast.AST, ast.AST | None, bool]] = [(s, None, True) for s in _statements_at(parsed, pattern)]
    while stack:
        cur, par, mod = stack.pop()
        first, last = getattr(cur, "lineno", None), getattr(cur, "end_lineno", None)
        if first is not None:
            k = bisect.bisect_left(lines, first)
            if k == len(lines) or lines[k] > (last or first):
                continue  # no line of interest inside: skip the subtree
        nodes.append(cur)
        if par is not None:
            parents[id(cur)] = par
        module_scope[id(cur)] = mod
        inner = mod and not isinstance(cur, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef))
        stack.extend((child, cur, inner) for child in ast.iter_child_nodes(cur))
    return nodes, parents, module_scope




def _dynamic(parsed: Parsed) -> _Dynamic:
    """Every construct in the module that can rebind its own names at run time."""
    out = _Dynamic()
    if not any(token in parsed.source for token in _REBIND_TOKENS):
        return out
    where = _guided(_REBIND_TEXT, parsed.source, at=_REBIND_WORDS, lines_with=("global",), dot_before=_REBIND_ATTRS)
    nodes, parents, module_scope = _near(parsed, where)
    defs = {n.name for n in _statements_at(parsed, where) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    for node in nodes:
        at = f"line {getattr(node, 'lineno', 0)} of {parsed.rel}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr" and len(node.args) >= 2:
            attr = _const_str(node.args[1])
            if attr is None or attr in _SIGNATURE_ATTRS:
                target = node.args[0]
                if isinstance(target, ast.Name) and target.id in defs and attr is not None:
                    out.names.setdefault(target.id, []).append(f"setattr({target.id}, {attr!r}, ...) at {at}")
                else:
                    what = repr(attr) if attr else "a computed name"
                    out.any.append(f"setattr(..., {what}, ...) at {at} (it may change any function of the module)")
        if isinstance(node, ast.Global):
            for n in node.names:
                out.names.setdefault(n, []).append(f"a 'global {n}' in a function at {at}")
        elif isinstance(node, ast.Call):
            func = node.func
            if _is_globals_call(node, module_scope.get(id(node), False)):
                _globals_use(out, node, parents.get(id(node)), parents, at)
            elif isinstance(func, ast.Name) and func.id == "exec":
                if not _exec_keeps_module(node, module_scope.get(id(node), False)):
                    out.any.append(f"exec() at {at}")
            elif isinstance(func, ast.Name) and func.id == "eval":
                # Inside a function, eval's text is an expression: a walrus there binds in the
                # function's locals, never a module name.
                text = _const_str(node.args[0]) if node.args else None
                if module_scope.get(id(node), False) and (text is None or ":=" in text) and not _own_namespace(node.args[1:2]):
                    out.any.append(f"eval() of text that may bind names at {at}")
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store, ast.Del)) and node.attr in _SIGNATURE_ATTRS:
            chain = _chain(node)
            if chain is not None and len(chain) == 2 and chain[0] in defs:
                out.names.setdefault(chain[0], []).append(f"an assignment to {chain[0]}.{node.attr} at {at}")
            else:  # through an alias or an expression: it may be any function here
                out.any.append(f"an assignment to {ast.unparse(node)} at {at} (it may be any function of the module)")
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, (ast.Store, ast.Del)) and isinstance(node.value, ast.Attribute) and node.value.attr == "__globals__":
            out.any.append(f"a function's __globals__ written at {at} (the module's own namespace)")
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "modules" and _is_name(node.slice, "__name__"):
            out.any.append(f"{ast.unparse(node)} used at {at} (the module can be rewritten through it)")
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store, ast.Del)) and isinstance(node.value, ast.Call):
            # importlib.import_module(__name__).x = ...: whose attribute it sets cannot be told from here
            out.names.setdefault(node.attr, []).append(f"{ast.unparse(node)} assigned at {at}")
        elif isinstance(node, ast.Subscript) and _chain(node.value) == ("sys", "modules"):
            key = node.slice
            if isinstance(key, ast.Name) and key.id == "__name__":
                out.any.append(f"sys.modules[__name__] used at {at} (the module can be rewritten through it)")
    for chain, at in _patch_sites(parsed, None):
        if chain[0] == "sys.modules" and chain[1] == "*":
            continue
        if len(chain) >= 2 and chain[0] == "sys.modules" and chain[1] == parsed.name:
            out.any.append(f"sys.modules[{parsed.name!r}] replaced at {at}")
    return out


def _patch_sites(parsed: Parsed, name: str | None) -> list[tuple[tuple[str, ...], str]]:
    """Assignments (and ``setattr``, ``del``) to ``root.attr...`` that may patch another
    object's attribute ``name`` (None: only ``sys.modules`` and ``setattr``), as chains."""
    parts = [r"setattr\(", r"sys\.modules"] + ([rf"\.\s*{re.escape(name)}\s*=(?!=)", rf"del\b[^\n]*\.{re.escape(name)}\b"] if name else [])
    out: list[tuple[tuple[str, ...], str]] = []
    where = _guided(re.compile("|".join(parts)), parsed.source, at=("setattr(", "sys.modules", "del"), dot_before=(name,) if name else ())
    for node in _near(parsed, where)[0]:
        at = f"line {getattr(node, 'lineno', 0)} of {parsed.rel}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr" and len(node.args) >= 2:
            target = _chain(node.args[0])
            attr = _const_str(node.args[1])
            if target is not None:
                out.append(((*target, attr if attr is not None else "*"), at))
        elif isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(getattr(node, "ctx", None), (ast.Store, ast.Del)):
            if isinstance(node, ast.Subscript) and _chain(node.value) == ("sys", "modules"):
                key = _const_str(node.slice)
                out.append((("sys.modules", key if key is not None else "*"), at))
                continue
            chain = _chain(node)
            if chain is not None and chain[0] not in ("self", "cls"):
                out.append((chain, at))
    return out


def _own_namespace(args: Sequence[ast.expr]) -> bool:
    """Whether exec/eval's globals argument is a namespace of its own: a dict display or
    ``dict(...)`` made there (then the text binds into that dict, not the module)."""
    if not args:
        return False
    ns = args[0]
    return isinstance(ns, (ast.Dict, ast.DictComp)) or (isinstance(ns, ast.Call) and isinstance(ns.func, ast.Name) and ns.func.id == "dict")


def _exec_keeps_module(call: ast.Call, module_scope: bool) -> bool:
    """Whether ``exec(...)`` surely leaves the module's names alone: it runs in a dict of its
    own, or inside a function with a constant text that declares no ``global`` (its
    assignments then go to the function's locals)."""
    if _own_namespace(call.args[1:2]) or any(k.arg == "globals" and _own_namespace([k.value]) for k in call.keywords):
        return True
    text = _const_str(call.args[0]) if call.args else None
    return not module_scope and text is not None and "global" not in text and len(call.args) == 1 and not call.keywords


# Builtins that only read a mapping handed to them: list(globals()) copies the names.
_READS_MAPPING = frozenset({"list", "sorted", "set", "frozenset", "tuple", "len", "iter", "dict", "any", "all", "filter", "map"})


def _globals_use(out: _Dynamic, call: ast.Call, parent: ast.AST | None, parents: dict[int, ast.AST], at: str) -> None:
    """What a ``globals()`` (or module-level ``vars()``/``locals()``) call does to the names."""
    if (
        isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and parent.func.id in _READS_MAPPING
        and call in parent.args and not parent.keywords
    ):  # fmt: skip
        return
    if isinstance(parent, ast.Subscript) and parent.value is call:
        ctx = parent.ctx
        if isinstance(ctx, ast.Load):
            return  # globals()[k]: a read
        prefix = _prefix(parent.slice)
        if prefix is not None and _const_str(parent.slice) is not None:
            out.names.setdefault(prefix, []).append(f"globals()[{prefix!r}] written at {at}")
        elif prefix:
            out.prefixes.append((prefix, f"globals()[f'{prefix}...'] written at {at}"))
        else:
            out.any.append(f"globals()[...] written with a computed name at {at}")
        return
    if isinstance(parent, ast.Compare) and call in parent.comparators and all(isinstance(o, (ast.In, ast.NotIn)) for o in parent.ops):
        return  # 'name' in globals(): a read
    if isinstance(parent, ast.Attribute) and parent.value is call:
        if parent.attr in ("get", "keys", "items", "values", "copy", "__contains__", "__getitem__"):
            return
        grand = parents.get(id(parent))
        if parent.attr == "update" and isinstance(grand, ast.Call):
            keys: list[ast.expr | None] = []
            for arg in grand.args:
                if isinstance(arg, ast.Dict):
                    keys += arg.keys
                elif isinstance(arg, ast.DictComp):
                    keys.append(arg.key)
                else:
                    keys.append(None)
            for kw in grand.keywords:
                keys.append(ast.Constant(kw.arg) if kw.arg else None)
            for key in keys:
                prefix = None if key is None else _prefix(key)
                if prefix is not None and key is not None and _const_str(key) is not None:
                    out.names.setdefault(prefix, []).append(f"globals().update() at {at}")
                elif prefix:
                    out.prefixes.append((prefix, f"globals().update() of names starting {prefix!r} at {at}"))
                else:
                    out.any.append(f"globals().update() with computed names at {at}")
            return
    out.any.append(f"globals() handed on at {at}")


def _compat_map(parsed: Parsed) -> dict[str, str]:
    """A backward-compatibility map: a module-level dict literal of old -> new submodule names,
    in a module that serves it to the import system (a ``sys.meta_path`` finder). A dict read by a
    module ``__getattr__`` alone is no such map: that hook may return anything (a lazy package's
    ``getattr(import_module(sub), name)`` returns a class), so its names are unknown."""
    if "meta_path" not in parsed.source:
        return {}
    for stmt in _statements_at(parsed, _DICT_ASSIGN):
        if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Dict) and len(stmt.value.keys) > 0:
            keys = [_const_str(k) for k in stmt.value.keys]
            values = [_const_str(v) for v in stmt.value.values]
            if all(keys) and all(values):
                name = stmt.targets[0].id if isinstance(stmt.targets[0], ast.Name) else ""
                if name and len(re.findall(rf"\b{re.escape(name)}\b", parsed.source)) > 1:  # read by the hook
                    return {k: v for k, v in zip(keys, values) if k and v}
    return {}


def _getattr_line(parsed: Parsed) -> int | None:
    for stmt in _statements_at(parsed, _GETATTR):
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == "__getattr__":
            return stmt.lineno
    return None


# --- statements ---------------------------------------------------------------------


def _names_in(target: ast.AST) -> list[str]:
    """The names an assignment target (or a del) binds."""
    return [n.id for n in ast.walk(target) if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del))]


def _walrus(node: ast.AST | None) -> list[str]:
    """Names a walrus binds anywhere in an expression (comprehensions included: it leaks)."""
    if node is None:
        return []
    return [n.target.id for n in ast.walk(node) if isinstance(n, ast.NamedExpr) and isinstance(n.target, ast.Name)]




def _header(stmt: ast.stmt, name: str) -> str | None:
    """Why the header of a compound statement rebinds ``name`` (None: it does not)."""
    where = f"the {type(stmt).__name__.lower()} at line {stmt.lineno}"
    if isinstance(stmt, (ast.For, ast.AsyncFor)) and (name in _names_in(stmt.target) or name in _walrus(stmt.iter)):
        return f"the target of {where}"
    if isinstance(stmt, (ast.If, ast.While)) and name in _walrus(stmt.test):
        return f"a walrus in the test of {where}"
    if isinstance(stmt, (ast.With, ast.AsyncWith)):
        for item in stmt.items:
            if (item.optional_vars is not None and name in _names_in(item.optional_vars)) or name in _walrus(item.context_expr):
                return f"'as' in {where}"
    if isinstance(stmt, _TRY):
        for h in getattr(stmt, "handlers"):
            if h.name == name:
                return f"'except ... as {name}' in {where} (Python deletes the name after the handler)"
            if name in _walrus(h.type):
                return f"a walrus in an except clause of {where}"
    if isinstance(stmt, ast.Match):
        if name in _walrus(stmt.subject):
            return f"a walrus in {where}"
        for case in stmt.cases:
            if name in captures(case.pattern) or name in _walrus(case.guard):
                return f"a capture in a case of {where}"
    return None


def _unpacked(stmt: ast.stmt, name: str) -> ast.expr | None:
    """``a, name = f()``: the item the name takes (``f()[1]``, a value computed at import, whatever
    it is), where one flat tuple or list target unpacks a value that no walrus rebinds; else None."""
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], (ast.Tuple, ast.List))):
        return None
    elts = stmt.targets[0].elts
    if not all(isinstance(e, ast.Name) for e in elts) or name in _walrus(stmt.value):
        return None  # a starred or nested target, or attributes: not read here
    names = [e.id for e in elts if isinstance(e, ast.Name)]
    if names.count(name) != 1:
        return None
    return ast.copy_location(ast.Subscript(value=stmt.value, slice=ast.Constant(names.index(name)), ctx=ast.Load()), stmt.value)


def _simple_binds(stmt: ast.stmt, name: str) -> bool:
    """Whether a simple statement (not a def, class or import) binds or deletes ``name``."""
    if isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
        targets = stmt.targets if isinstance(stmt, (ast.Assign, ast.Delete)) else [stmt.target]
        if isinstance(stmt, ast.AnnAssign) and stmt.value is None:
            targets = []  # 'x: int' alone binds nothing
        return any(name in _names_in(t) for t in targets) or name in _walrus(getattr(stmt, "value", None))
    return name in _walrus(stmt)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _branches(stmt: ast.stmt) -> list[list[ast.stmt]] | None:
    """The bodies one of which runs (an empty one where none may), for compound statements."""
    if isinstance(stmt, ast.If):
        if _is_type_checking(stmt.test):
            return [stmt.orelse]  # typing.TYPE_CHECKING is False at run time
        if isinstance(stmt.test, ast.Constant):
            return [stmt.body] if stmt.test.value else [stmt.orelse]  # 'if True:', 'if 0:'
        return [stmt.body, stmt.orelse]
    if isinstance(stmt, _TRY):
        tail: list[ast.stmt] = getattr(stmt, "finalbody")
        body: list[ast.stmt] = getattr(stmt, "body") + getattr(stmt, "orelse")
        return [body + tail, *[h.body + tail for h in getattr(stmt, "handlers")]]
    if isinstance(stmt, ast.While) and isinstance(stmt.test, ast.Constant) and not stmt.test.value:
        return [stmt.orelse]  # 'while False:' never runs its body
    if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
        return [stmt.body + stmt.orelse, stmt.orelse]
    if isinstance(stmt, (ast.With, ast.AsyncWith)):
        return [stmt.body]
    if isinstance(stmt, ast.Match):
        taken = _constant_case(stmt)
        if taken is not None:
            return [taken]
        return [c.body for c in stmt.cases] + [[]]
    return None


def _constant_case(stmt: ast.Match) -> list[ast.stmt] | None:
    """The body that a ``match`` on a constant runs, where its cases are constants too."""
    if not isinstance(stmt.subject, ast.Constant):
        return None
    value = stmt.subject.value
    for case in stmt.cases:
        pattern = case.pattern
        if case.guard is not None:
            return None
        if isinstance(pattern, ast.MatchAs) and pattern.pattern is None and pattern.name is None:
            return case.body  # case _:
        if isinstance(pattern, ast.MatchValue) and isinstance(pattern.value, ast.Constant):
            if pattern.value.value == value and type(pattern.value.value) is type(value):
                return case.body
            continue
        if isinstance(pattern, ast.MatchSingleton):
            if pattern.value is value:
                return case.body
            continue
        return None
    return []


def _decorator_head(node: ast.expr) -> ast.expr:
    return node.func if isinstance(node, ast.Call) else node


def _literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


# --- the resolver -------------------------------------------------------------------------


@dataclass
class Resolver:
    """Resolves names in one AITER package; modules are parsed at most once, answers kept."""

    tree: Tree
    header_enums: Mapping[str, Sequence[str]] = field(default_factory=dict)
    _bindings: dict[tuple[str, str], Candidate | None] = field(default_factory=dict)
    _dynamics: dict[str, _Dynamic] = field(default_factory=dict)
    _answers: dict[str, Resolution] = field(default_factory=dict)
    _stars: dict[str, list[str | None]] = field(default_factory=dict)
    _defined: dict[str, list[str]] | None = None
    _external: dict[tuple[str, bool], bool] = field(default_factory=dict)
    _rules_used: dict[int, list[str]] = field(default_factory=dict)
    _doubts: dict[tuple[str, str], str | None] = field(default_factory=dict)
    _doubting: set[tuple[str, str]] = field(default_factory=set)  # being worked out (a patch that reads the patched module)
    _runs: dict[str, list[str]] = field(default_factory=dict)
    _patchy: dict[str, bool] = field(default_factory=dict)
    _patch_texts: dict[tuple[str, str], bool] = field(default_factory=dict)
    _indexed: set[str] = field(default_factory=set)  # modules whose words are in _word_index
    _patchy_modules: set[str] = field(default_factory=set)
    usage: bool = True  # read which parameters a body reads (False: callers that only bind, like scan)
    _cycles: int = 0

    # --- modules -----------------------------------------------------------------------

    def _inside(self, module: str | None) -> bool:
        return module is not None and (module == TOP or module.startswith(TOP + "."))

    def _absolute(self, module: str, level: int, target: str | None) -> str | None:
        """The absolute name of ``from <level dots><target> import ...`` in ``module``."""
        if level == 0:
            return target
        base = module.split(".")
        if not self.tree.find(module).is_package:
            base = base[:-1]
        if level > 1:
            base = base[: -(level - 1)] if level - 1 < len(base) else []
        if not base:
            return None
        return ".".join(base + ([target] if target else []))

    def _parsed(self, module: str) -> Parsed | str:
        return self.tree.parse(module)

    def _dynamic(self, module: str) -> _Dynamic:
        if module not in self._dynamics:
            parsed = self._parsed(module)
            self._dynamics[module] = _Dynamic() if isinstance(parsed, str) else _dynamic(parsed)
        return self._dynamics[module]

    def _star_sources(self, module: str) -> list[str | None]:
        if module not in self._stars:
            text = self.tree.text(module) or ""
            self._stars[module] = [self._absolute(module, len(m[1]), m[2] or None) for m in _STAR_TEXT.finditer(text)]
        return self._stars[module]

    def _mentions(self, module: str, name: str, seen: set[str]) -> bool:
        """Whether ``name`` occurs in ``module``'s text or in a module it star-imports: where it
        does not, nothing there can bind it, and no file needs parsing to say so."""
        seen.add(module)
        known = self.tree.words(module)
        if known is None or name in known:
            return True
        for target in self._star_sources(module):
            if not self._inside(target):
                return True  # a star import from outside: cannot be told from text
            if target is not None and target not in seen and self._mentions(target, name, seen):
                return True
        return False

    def _installed(self, module: str) -> bool:
        """Whether a module outside the package can be found on sys.path (never imported)."""
        import importlib.machinery
        import sys

        top = module.split(".")[0]
        base = self.tree.base
        paths = [str(base), *(p for p in sys.path if isinstance(p, str))]
        try:
            return importlib.machinery.PathFinder.find_spec(top, paths) is not None
        except (ImportError, ValueError, OSError):
            return True  # cannot tell: assume it may bind

    # --- bindings ------------------------------------------------------------------------

    def exports(self, module: str, name: str, stack: tuple[tuple[str, str], ...]) -> bool | None:
        """Whether ``from module import *`` binds ``name`` (None: cannot be told)."""
        if not self._mentions(module, name, set()):
            return False
        found = self._parsed(module)
        if isinstance(found, str):
            return None
        declared: set[str] | None = None
        computed = False
        for stmt in (n for st in _statements_at(found, _ALL) for n in ast.walk(st)):
            if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                    if stmt.value is not None and _literal(stmt.value):
                        declared = (declared or set()) | {str(x) for x in ast.literal_eval(stmt.value)}
                    else:
                        computed = True
            elif isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id == "__all__":
                if _literal(stmt.value):
                    declared = (declared or set()) | {str(x) for x in ast.literal_eval(stmt.value)}
                else:
                    computed = True
            elif isinstance(stmt, ast.Call) and isinstance(stmt.func, ast.Attribute) and _chain(stmt.func.value) == ("__all__",):
                values = [a for a in stmt.args if _literal(a)]
                if stmt.func.attr == "append" and values:
                    declared = (declared or set()) | {str(ast.literal_eval(values[0]))}
                elif stmt.func.attr == "extend" and values:
                    declared = (declared or set()) | {str(x) for x in ast.literal_eval(values[0])}
                else:
                    computed = True
        if declared is not None or computed:
            if name in (declared or set()):
                return True
            return None if computed else False
        if name.startswith("_"):
            return False
        outcome = self.binding(module, name, stack)
        if outcome is None:
            return False
        return None if isinstance(outcome, Opaque) and outcome.reason.startswith("unknown:") else True

    def binding(self, module: str, name: str, stack: tuple[tuple[str, str], ...] = ()) -> Candidate | None:
        """The candidate that binds ``name`` last in ``module`` (None: never bound)."""
        key = (module, name)
        if key in self._bindings:
            return self._bindings[key]
        if key in stack:
            self._cycles += 1
            return Opaque(f"unknown: circular star imports ({' -> '.join(m for m, _ in stack)} -> {module})")
        if len(stack) > _MAX_DEPTH:
            return Opaque("unknown: a re-export chain too long to follow")
        found = self._parsed(module)
        if isinstance(found, str):
            if self.tree.find(module).kind == "namespace":
                return None  # a namespace package binds nothing but its submodules
            return Opaque(f"unknown: {found}")
        before = self._cycles
        try:
            body = found.statements(words(name, stars=not name.startswith("_")), binding=name)
        except PARSE_ERRORS as exc:
            return Opaque(f"unknown: {found.rel} cannot be parsed: {type(exc).__name__}: {exc}")
        result = self._walk(body, None, module, name, (*stack, key))
        if self._cycles == before:  # an answer reached through a cycle depends on where it started
            self._bindings[key] = result
        return result

    def _walk(
        self, stmts: list[ast.stmt], current: Candidate | None, module: str, name: str, stack: tuple[tuple[str, str], ...]
    ) -> Candidate | None:
        for stmt in stmts:
            current = self._statement(stmt, current, module, name, stack)
        return current

    def _statement(
        self, stmt: ast.stmt, current: Candidate | None, module: str, name: str, stack: tuple[tuple[str, str], ...]
    ) -> Candidate | None:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return Def(module, stmt) if stmt.name == name else current
        if isinstance(stmt, ast.ClassDef):
            return Klass(module, stmt) if stmt.name == name else current
        if isinstance(stmt, ast.ImportFrom):
            source = self._absolute(module, stmt.level, stmt.module)
            for alias in stmt.names:
                if alias.name == "*":
                    current = self._star(stmt, source, current, module, name, stack)
                elif (alias.asname or alias.name) == name:
                    if source is None:
                        current = Opaque(f"unknown: a relative import beyond the package at line {stmt.lineno} of {module}")
                    else:
                        current = Ref(source, alias.name, module, stmt.lineno, current)
            return current
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.asname == name:
                    current = Module(alias.name)
                elif alias.asname is None and alias.name.split(".")[0] == name:
                    current = Module(name)
            return current
        header = _header(stmt, name)
        if header is not None:
            return Opaque(f"{name} is rebound by {header} of {module}")
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
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) and stmt.targets[0].id == name:
            if name in _walrus(stmt.value):
                return Opaque(f"{name} is rebound by a walrus at line {stmt.lineno} of {module}")
            return Value(module, stmt.value, stmt.lineno)
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id == name and stmt.value is not None:
            return Value(module, stmt.value, stmt.lineno)
        item = _unpacked(stmt, name)
        if item is not None:
            return Value(module, item, stmt.lineno)
        if _simple_binds(stmt, name):
            what = "a del statement" if isinstance(stmt, ast.Delete) else "an assignment"
            return Opaque(f"{name} is rebound by {what} at line {stmt.lineno} of {module}")
        return current

    def _star(
        self, stmt: ast.ImportFrom, source: str | None, current: Candidate | None, module: str, name: str, stack: tuple[tuple[str, str], ...]
    ) -> Candidate | None:
        if source is None or not self._inside(source):
            if name.startswith("_"):
                return current  # a star import binds no underscore name (short of an __all__ we cannot read)
            if source is not None and not self._installed(source):
                # Not installed here, but it may be where AITER runs: what it binds cannot be read,
                # short of a submodule of that name (importing it sets the package's attribute).
                if self.tree.find(f"{module}.{name}").kind != "missing":
                    return current
                return Opaque(
                    f"unknown: {name} may be bound by 'from {source} import *' at line {stmt.lineno} of {module}: "
                    f"{source.split('.')[0]} is not installed here, so its names cannot be read (it may be where AITER runs)"
                )
            return Opaque(
                f"unknown: {name} may be bound by 'from {source or '.'} import *' at line {stmt.lineno} of "
                f"{module}: a module outside the package, whose names are not read here"
            )
        exported = self.exports(source, name, stack)
        if exported:
            return Ref(source, name, module, stmt.lineno, current, star=True)
        if exported is None:
            return Opaque(f"unknown: whether 'from {source} import *' (line {stmt.lineno} of {module}) binds {name} cannot be told")
        return current

    # --- attributes, one step at a time --------------------------------------------------

    def _doubt(self, module: str, name: str) -> str | None:
        """Why ``module.name`` cannot be read from source, whatever binds it."""
        key = (module, name)
        if key not in self._doubts:
            if key in self._doubting:
                return None  # asked again while a patch of it is being evaluated: the outer question decides
            self._doubting.add(key)
            try:
                self._doubts[key] = self._doubt_of(module, name)
            finally:
                self._doubting.discard(key)
        return self._doubts[key]

    def _doubt_of(self, module: str, name: str) -> str | None:
        parsed = self._parsed(module)
        if isinstance(parsed, Parsed) and parsed.compile_error:
            return parsed.compile_error
        rebinds = self._dynamic(module).about(name)
        if rebinds:
            return f"{module} may rebind {name} at run time: {', '.join(rebinds)}"
        for patcher in self._suspects(module, name):
            if not self._may_patch(patcher, name):
                continue
            parsed_patcher = self._parsed(patcher)
            if isinstance(parsed_patcher, str):
                continue
            for chain, at in _patch_sites(parsed_patcher, name):
                if self._patches(patcher, chain, module, name):
                    return f"{module}.{name} may be replaced by another module: {'.'.join(chain)} is assigned at {at}"
        return None

    def _suspects(self, module: str, name: str) -> list[str]:
        """The modules that importing ``module`` runs and that could patch ``name``: those
        that touch ``sys.modules`` or call ``setattr``, and those whose text has the word."""
        out = []
        for patcher in self._runs_with(module):
            if patcher not in self._indexed:
                self._indexed.add(patcher)
                text = self.tree.text(patcher)
                if text is not None and ("sys.modules" in text or "setattr(" in text):
                    self._patchy_modules.add(patcher)
            known = self.tree.words(patcher)
            if patcher in self._patchy_modules or (known is not None and name in known):
                out.append(patcher)
        return out

    def _may_patch(self, patcher: str, name: str) -> bool:
        """A textual test before parsing a module to look for patches of ``name``."""
        key = (patcher, name)
        cached = self._patch_texts.get(key)
        if cached is None:
            text = self.tree.text(patcher)
            if text is None:
                cached = False
            elif patcher not in self._patchy:
                self._patchy[patcher] = "sys.modules" in text or "setattr(" in text
                cached = self._patchy[patcher]
            else:
                cached = self._patchy[patcher]
            known = self.tree.words(patcher)
            if not cached and text is not None and known is not None and name in known:
                cached = re.search(rf"\.\s*{re.escape(name)}\s*=(?!=)", text) is not None
            self._patch_texts[key] = cached
        return cached

    def _runs_with(self, module: str) -> list[str]:
        """Modules that importing ``module`` surely runs, and that can mention its names:
        its packages' ``__init__`` and what they star-import (inside the package)."""
        cached = self._runs.get(module)
        if cached is not None:
            return cached
        parts = module.split(".")
        out: list[str] = []
        todo = [".".join(parts[: i + 1]) for i in range(len(parts))] + self._own_imports(module)
        while todo:
            m = todo.pop(0)
            if m in out or not self._inside(m):
                continue
            out.append(m)
            todo += [s for s in self._star_sources(m) if s is not None]
        self._runs[module] = out
        return out

    def _own_imports(self, module: str) -> list[str]:
        """The package's modules that ``module`` imports at its top level (they run with it, and
        may patch it once it has run: ``from . import _patch`` on its last line)."""
        parsed = self._parsed(module)
        if isinstance(parsed, str):
            return []
        out: list[str] = []
        for stmt in _statements_at(parsed, _IMPORT_TEXT):
            if isinstance(stmt, ast.ImportFrom):
                base = self._absolute(module, stmt.level, stmt.module)
                if base is None:
                    continue
                out.append(base)
                out += [f"{base}.{a.name}" for a in stmt.names if a.name != "*" and self.tree.find(f"{base}.{a.name}").kind != "missing"]
            elif isinstance(stmt, ast.Import):
                out += [a.name for a in stmt.names]
        return [m for m in out if self._inside(m) and m != module]

    def _patches(self, patcher: str, chain: tuple[str, ...], module: str, name: str) -> bool:
        """Whether an assignment to ``chain`` in ``patcher`` can replace ``module.name``."""
        if chain[0] == "sys.modules":
            target = chain[1]
            if target == "*":
                return False  # a computed key: the compatibility hook's own aliases, or unknowable
            return target == module if len(chain) == 2 else (target == module and chain[2] == name)
        if chain[-1] not in (name, "*") or len(chain) < 2:
            return False
        head: Step = self._evaluate_name(patcher, chain[0])
        for part in chain[1:-1]:
            if isinstance(head, Stop) or head.kind != "module":
                return isinstance(head, Stop) and head.status == "unknown"  # what it is cannot be told: it may be the module
            head = self._member(head, part, ())
        if isinstance(head, Stop):
            return head.status == "unknown"
        return (head.kind == "module" and head.module == module) or head.kind == "value"  # a value computed at run time may be it

    def _evaluate_name(self, module: str, name: str) -> Step:
        """The module-level binding of ``name`` in ``module``, evaluated (no doubt checks)."""
        cand = self.binding(module, name)
        if cand is None:
            return Stop("missing", f"nothing binds {name} in {module}")
        return self._value(cand, module, name, f"{module}.{name}", ())

    def _member(self, target: Target, name: str, chain: tuple[tuple[str, str, Candidate | None], ...]) -> Step:
        label = f"{target.label}.{name}"
        if target.kind == "module":
            assert target.module is not None
            return self._module_attr(target.module, name, label, chain)
        if target.kind in ("class", "instance"):
            cls = target if target.kind == "class" else target.owner
            assert cls is not None
            return self._class_member(cls, name, label, through_instance=target.kind == "instance")
        if target.kind == "enum":
            members = self.header_enums.get(target.label.rsplit(".", 1)[-1], ())
            if name in members:
                return Target("enum_member", label, target.module, None, owner=target, note="declared in AITER's C++ enum header")
            return Stop("missing", f"{target.label} has no member {name} in the enum header")
        if target.kind == "enum_member" and name in ("value", "name"):
            return Target("constant", label, target.module, note=f"the {name} of an enum member")
        return Stop("unknown", f"{label}: an attribute of a {target.kind.replace('_', ' ')}, which is not read statically")

    def _module_attr(self, module: str, name: str, label: str, chain: tuple[tuple[str, str, Candidate | None], ...]) -> Step:
        if not self._inside(module):
            return Stop("unknown", f"{label}: {module} is outside AITER, whose names are not read here")
        doubt = self._doubt(module, name)
        if doubt is not None:
            return Stop("unknown", f"{label}: {doubt}")
        for m, n, cand in chain:
            if (m, n) == (module, name):
                # Back at a name being resolved: the re-export took the value it had before.
                earlier = cand.prior if isinstance(cand, Ref) else None
                if earlier is None and self.tree.find(f"{module}.{name}").kind != "missing":
                    return Target("module", label, f"{module}.{name}", note="a submodule")  # 'from . import sub'
                if earlier is None:
                    return Stop("unknown", f"{label}: circular imports ({' -> '.join(x for x, _, _ in chain)} -> {module})")
                return self._value(earlier, module, name, label, chain)
        if len(chain) > _MAX_DEPTH:
            return Stop("unknown", f"{label}: a re-export chain too long to follow")
        cand = self.binding(module, name)
        if cand is None and name in _MODULE_DUNDERS:
            return Target("value", label, module, note=f"an attribute every module has ({name})")
        if cand is None:
            sub = f"{module}.{name}"
            if self.tree.find(sub).kind != "missing":
                return Target("module", label, sub, note="a submodule")
            parsed = self._parsed(module)
            if isinstance(parsed, Parsed):
                moved = _compat_map(parsed).get(name)
                if moved is not None and self.tree.find(f"{module}.{moved}").kind != "missing":
                    return Target("module", label, f"{module}.{moved}", note=f"{module}'s backward-compatibility map sends {name} to {moved}")
                line = _getattr_line(parsed)
                if line is not None:
                    return Stop("unknown", f"{label}: {module} defines a module __getattr__ (line {line}) that may provide {name}")
            elif self.tree.find(module).kind == "namespace":
                return Stop("missing", f"{label}: namespace package {module} has no submodule {name}")
            else:
                return Stop("unknown", f"{label}: {parsed}")
            return Stop("missing", f"nothing binds {name} in {module}")
        return self._value(cand, module, name, label, (*chain, (module, name, cand)))

    def _value(
        self, cand: Candidate, module: str, name: str, label: str, chain: tuple[tuple[str, str, Candidate | None], ...]
    ) -> Step:
        if isinstance(cand, Def):
            return Target("function", label, cand.module, cand.node)
        if isinstance(cand, Klass):
            return Target("class", label, cand.module, cand.node)
        if isinstance(cand, Module):
            if self._inside(cand.module):
                if self.tree.find(cand.module).kind == "missing":
                    return Stop("missing", f"{label}: imports {cand.module}, which the package does not have")
                return Target("module", label, cand.module)
            return Stop("unknown", f"{label} is {cand.module}, a module outside AITER")
        if isinstance(cand, Ref):
            if not self._inside(cand.module):
                return Stop("unknown", f"{label} is {cand.module}.{cand.name}, from outside AITER")
            return self._module_attr(cand.module, cand.name, label, chain)
        if isinstance(cand, Value):
            return self._assigned(cand, name, label, chain)
        reason = cand.reason.removeprefix("unknown: ")
        return Stop("unknown", f"{label}: {reason}")

    def _assigned(self, cand: Value, name: str, label: str, chain: tuple[tuple[str, str, Candidate | None], ...]) -> Step:
        node = cand.node
        where = f"line {cand.line} of {cand.module}"
        if _literal(node):
            return Target("constant", label, cand.module, node, note=f"a constant at {where}")
        if isinstance(node, ast.Call) and name in self.header_enums:
            return Target("enum", label, cand.module, node, note=f"built at import ({where}); its members are read from AITER's C++ header")
        if isinstance(node, ast.Call):
            made = self._expression(cand.module, node.func, label, chain)
            if isinstance(made, Target) and made.kind == "class":
                return Target("instance", label, cand.module, node, owner=made, note=f"an instance of {made.label} made at {where}")
            return Target("value", label, cand.module, node, note=f"computed at import ({where})")
        if isinstance(node, (ast.Name, ast.Attribute)):
            ref = self._expression(cand.module, node, label, chain)
            if isinstance(ref, Target):
                return Target(ref.kind, label, ref.module, ref.node, ref.owner, ref.bound, ref.note or f"bound by an assignment at {where}")
            if ref.status == "missing":
                return Stop("unknown", f"{label}: bound by an assignment at {where} to {ast.unparse(node)}, which does not resolve: {ref.detail}")
            return Target("value", label, cand.module, node, note=f"bound by an assignment at {where} to {ast.unparse(node)}")
        if isinstance(node, ast.Lambda):
            return Target("function", label, cand.module, node, note=f"a lambda at {where}")
        return Target("value", label, cand.module, node, note=f"computed at import ({where})")

    def _expression(self, module: str, node: ast.expr, label: str, chain: tuple[tuple[str, str, Candidate | None], ...]) -> Step:
        """A name or attribute chain evaluated in ``module``'s namespace."""
        parts = _chain(node)
        if parts is None or parts[0] == "sys.modules":
            return Stop("unknown", f"{label}: bound to an expression that is not read statically")
        if self.binding(module, parts[0]) is None and parts[0] in _BUILTINS:
            return Stop("unknown", f"{label}: bound to {'.'.join(parts)}, a builtin, whose signature is not read here")
        head = self._module_attr(module, parts[0], f"{module}.{parts[0]}", chain)
        for part in parts[1:]:
            if isinstance(head, Stop):
                return head
            head = self._member(head, part, chain)
        return head

    def _qualified(self, module: str, node: ast.expr) -> str | None:
        """A decorator's qualified name: 'functools.lru_cache' for ``@lru_cache`` imported from
        functools, 'aiter.jit.core.compile_ops' for one of AITER's own."""
        parts = _chain(_decorator_head(node))
        if parts is None or parts[0] == "sys.modules":
            return None
        cand = self.binding(module, parts[0])
        if isinstance(cand, Module):
            return ".".join((cand.module, *parts[1:]))
        if isinstance(cand, Ref):
            base = f"{cand.module}.{cand.name}"
            while True:  # follow re-exports inside the package to the defining module
                if not self._inside(cand.module):
                    break
                nxt = self.binding(cand.module, cand.name)
                if not isinstance(nxt, Ref):
                    break
                cand = nxt
                base = f"{cand.module}.{cand.name}"
            return ".".join((base, *parts[1:]))
        if isinstance(cand, (Def, Klass)):
            return ".".join((f"{cand.module}.{cand.node.name}", *parts[1:]))
        return None

    def _class_member(self, cls: Target, name: str, label: str, *, through_instance: bool, depth: int = 0) -> Step:
        node = cls.node
        if not isinstance(node, ast.ClassDef) or cls.module is None:
            return Stop("unknown", f"{label}: {cls.label} is not read statically")
        module = cls.module
        parsed_module = self._parsed(module)
        rebinds = []
        if isinstance(parsed_module, Parsed) and f"{node.name}." in parsed_module.source:
            rebinds = [w for chain, w in _patch_sites(parsed_module, name) if chain[:2] == (node.name, name)]
        if rebinds:
            return Stop("unknown", f"{label}: {node.name}.{name} is assigned at {', '.join(rebinds)}")
        cand = self._walk(node.body, None, module, name, ())
        is_enum = self._is_enum(module, node)
        if cand is None:
            if depth > _MAX_DEPTH:
                return Stop("unknown", f"{label}: a class hierarchy too deep to follow")
            for base in node.bases:
                qual = self._qualified(module, base)
                if qual in _ENUM_BASES or qual in ("object", "builtins.object"):
                    continue
                made = self._expression(module, base, label, ())
                if isinstance(made, Target) and made.kind == "class":
                    found = self._class_member(made, name, label, through_instance=through_instance, depth=depth + 1)
                    if isinstance(found, Target) or found.status == "unknown":
                        return found
                    continue
                return Stop("unknown", f"{label}: {node.name} derives from {ast.unparse(base)}, whose members are not read here")
            if through_instance:
                return Stop("unknown", f"{label}: {node.name} does not define {name}; an instance may set it at run time")
            return Stop("missing", f"{node.name} in {module} has no member {name}")
        if isinstance(cand, Def):
            kinds = {self._qualified(module, d) or ast.unparse(d) for d in cand.node.decorator_list}
            if "staticmethod" in kinds:
                return Target("function", label, module, cand.node, owner=cls)
            if "classmethod" in kinds:
                return Target("function", label, module, cand.node, owner=cls, bound=True)
            if "property" in kinds or any(k.endswith(".setter") or k.endswith("cached_property") for k in kinds):
                return Target("value", label, module, cand.node, note="a property")
            return Target("function", label, module, cand.node, owner=cls, bound=through_instance)
        if isinstance(cand, Value) and is_enum and not name.startswith("_"):
            return Target("enum_member", label, module, cand.node, owner=cls, note=f"a member of the Enum {node.name}")
        return self._value(cand, module, name, label, ())

    def _is_enum(self, module: str, node: ast.ClassDef, depth: int = 0) -> bool:
        for base in node.bases:
            qual = self._qualified(module, base)
            if qual in _ENUM_BASES:
                return True
            if depth < 8:
                made = self._expression(module, base, node.name, ())
                if isinstance(made, Target) and made.kind == "class" and isinstance(made.node, ast.ClassDef) and made.module:
                    if self._is_enum(made.module, made.node, depth + 1):
                        return True
        return False

    # --- for messages: what a module binds, and where a name is defined -------------------

    def names(self, module: str) -> list[str]:
        """The public names ``module`` binds at its top level, its submodules, and what it
        star-imports (for "did you mean"); read from source, never guessed."""
        parsed = self._parsed(module)
        out: set[str] = set()
        if isinstance(parsed, Parsed):
            out |= set(parsed.defined() or {})
            out |= {g for pair in _TOP_BINDING.findall(parsed.source) for g in pair if g}
            for source in self._star_sources(module):
                if source is not None and self._inside(source) and source != module:
                    sub = self._parsed(source)
                    if isinstance(sub, Parsed):
                        out |= set(sub.defined() or {})
        found = self.tree.find(module)
        for loc in found.locations:
            try:
                out |= {c.name.removesuffix(".py") for c in loc.iterdir() if c.name.endswith(".py") or (c.is_dir() and (c / "__init__.py").exists())}
            except OSError:
                continue
        return sorted(n for n in out if not n.startswith("_"))

    def defined(self, name: str, limit: int = 5) -> list[str]:
        """Where in the package ``def name`` or ``class name`` stands at a module's top level,
        as dotted names that resolve to it: where a moved name lives now. Reads every
        module's text once (only on this path, for a name that is missing)."""
        if self._defined is None:
            self._defined = {}
            pattern = re.compile(r"^(?:async[ \t]+)?(?:def|class)[ \t]+(\w+)", re.M)
            for dotted in self._all_modules():
                for m in pattern.finditer(self.tree.text(dotted) or ""):
                    self._defined.setdefault(m.group(1), []).append(dotted)
        out = []
        for module in self._defined.get(name, []):
            r = self.resolve(f"{module}.{name}")
            if r.status == "resolved":
                out.append(f"{module}.{name}" + (f" ({r.where})" if r.where else ""))
            if len(out) >= limit:
                break
        return out

    def _all_modules(self) -> list[str]:
        out: list[str] = []
        todo = [TOP]
        while todo:
            module = todo.pop()
            out.append(module)
            found = self.tree.find(module)
            for loc in found.locations:
                try:
                    children: list[Location] = sorted(loc.iterdir(), key=lambda c: c.name)
                except OSError:
                    continue
                for child in children:
                    stem = child.name.removesuffix(".py")
                    if not stem.isidentifier():
                        continue
                    if child.name.endswith(".py") and stem != "__init__":
                        out.append(f"{module}.{stem}")
                    elif child.is_dir() and (child / "__init__.py").exists():
                        todo.append(f"{module}.{stem}")
        return out

    # --- the answer ------------------------------------------------------------------------

    def import_module(self, dotted: str) -> Step:
        """What ``import dotted`` loads: a module the package has, or one that a
        backward-compatibility hook (a map and a finder in its parent) sends elsewhere."""
        if not self._inside(dotted):
            return Stop("unknown", f"{dotted} is outside AITER, whose modules are not read here")
        if self.tree.find(dotted).kind != "missing":
            return Target("module", dotted, dotted)
        parent, _, last = dotted.rpartition(".")
        if parent:
            above = self.import_module(parent)
            if isinstance(above, Stop):
                return above
            real = f"{above.module}.{last}"
            if above.module != parent and self.tree.find(real).kind != "missing":
                return Target("module", dotted, real, note=f"a submodule of {above.module}, where the import hook sends {parent}")
            parsed = self._parsed(parent)
            moved = _compat_map(parsed).get(last) if isinstance(parsed, Parsed) else None
            if moved is not None and self.tree.find(f"{parent}.{moved}").kind != "missing":
                return Target("module", dotted, f"{parent}.{moved}", note=f"{parent}'s import hook sends {last} to {moved}")
        return Stop("missing", f"no module named '{dotted}'")

    def resolve_in(self, module: str, attrs: Sequence[str]) -> Resolution:
        """``from module import a`` then ``.b...``: the module found as ``import`` finds it
        (its file, not an attribute of its package), then each attribute in turn."""
        key = f"{module}:{'.'.join(attrs)}"
        cached = self._answers.get(key)
        if cached is None:
            dotted = ".".join((module, *attrs))
            step = self.import_module(module)
            for part in attrs:
                if isinstance(step, Stop):
                    break
                step = self._member(step, part, ())
            if isinstance(step, Stop):
                detail = step.detail if step.detail.startswith(dotted) else f"{dotted}: {step.detail}"
                cached = Resolution(step.status, None, None, None, (), None, detail)
            else:
                cached = self._answer(dotted, step)
            self._answers[key] = cached
        return cached

    def resolve(self, dotted: str) -> Resolution:
        """``aiter.topk_softmax``, ``aiter.QuantType.per_1x128``, ``aiter.tuned_gemm.tgemm.mm``:
        what it is, where it is defined, and how a call binds."""
        cached = self._answers.get(dotted)
        if cached is None:
            cached = self._answers[dotted] = self._resolve(dotted)
        return cached

    def _resolve(self, dotted: str) -> Resolution:
        parts = dotted.split(".")
        if parts[0] != TOP or not all(p.isidentifier() for p in parts):
            return Resolution("missing", None, None, None, (), None, f"{dotted!r} is not a dotted name inside the aiter package")
        root = self.tree.find(TOP)
        if root.kind == "missing":
            return Resolution("missing", None, None, None, (), None, "there is no aiter package")
        # A dotted name means what `from <all but the last part> import <last>` gives: the longest
        # leading part that is a module is found as import finds it (its file, whatever attributes
        # its package's __init__ may set, a star import from an absent module included).
        for i in range(len(parts) - 1, 1, -1):
            module = ".".join(parts[:i])
            if self.tree.find(module).kind != "missing":
                return self.resolve_in(module, parts[i:])
        step: Step = Target("module", TOP, TOP)
        for part in parts[1:]:
            assert isinstance(step, Target)
            step = self._member(step, part, ())
            if isinstance(step, Stop):
                return Resolution(step.status, None, None, None, (), None, step.detail if step.detail.startswith(dotted) else f"{dotted}: {step.detail}")
        assert isinstance(step, Target)
        return self._answer(dotted, step)

    def _file(self, module: str | None) -> tuple[str | None, Parsed | None]:
        if module is None:
            return None, None
        parsed = self._parsed(module)
        if isinstance(parsed, Parsed):
            return parsed.rel, parsed
        found = self.tree.find(module)
        return (None if found.path is None else self.tree.rel(found.path)), None

    def _answer(self, dotted: str, t: Target) -> Resolution:
        rel, parsed = self._file(t.module)
        line = getattr(t.node, "lineno", None)
        where = f" in {rel}" + (f" at line {line}" if line else "") if rel else ""
        note = f" ({t.note})" if t.note else ""
        if t.kind == "module":
            return Resolution("resolved", "module", rel, None, (), None, f"{dotted} is the module {t.module}{note}")
        if t.kind == "function":
            return self._function(dotted, t, rel, parsed)
        if t.kind == "class":
            return self._class(dotted, t, rel, parsed)
        detail = {
            "enum": f"{dotted} is an enum{where}{note}",
            "enum_member": f"{dotted} is a member of {t.owner.label if t.owner else 'an enum'}{note}",
            "constant": f"{dotted} is a constant{where}{note}",
            "instance": f"{dotted} is an instance{where}{note}",
            "value": f"{dotted} is a value{where}{note}",
        }[t.kind]
        return Resolution("resolved", t.kind, rel, line, (), None, detail)

    def _decorators(self, module: str, node: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[list[str], bool, Literal["jit", "tuned"] | None]:
        """(decorators not known to keep the signature, whether one replaces the body, whether a
        Triton kernel decorator is among them)."""
        foreign: list[str] = []
        replaced = False
        kernel: Literal["jit", "tuned"] | None = None
        rules = self._rules_used.setdefault(id(node), [])
        for dec in node.decorator_list:
            qual = self._qualified(module, dec) or ""
            short = qual.rsplit(".", 1)[-1] if qual else (_chain(_decorator_head(dec)) or ("",))[-1]
            if short in AITER_DECORATORS and (not qual or self._inside(qual.rsplit(".", 1)[0]) or qual == short):
                replaced = replaced or short in REPLACES_BODY
                continue
            if qual in KEEPS_SIGNATURE or (not qual and short in _METHOD_KINDS):
                continue  # staticmethod / classmethod: how the first parameter binds is decided by the lookup
            if qual in KERNEL_DECORATORS:
                kernel = "tuned" if qual.endswith(("autotune", "heuristics")) or kernel == "tuned" else "jit"
                continue
            if self._inside(qual) and self._passes_through(qual, isinstance(dec, ast.Call)):
                continue
            if qual and not self._inside(qual) and self._external_passes_through(qual, isinstance(dec, ast.Call)):
                continue
            if qual in PASS_THROUGH_RULES:
                rules.append(PASS_THROUGH_RULES[qual])
                continue
            foreign.append("@" + ast.unparse(dec))
        return foreign, replaced, kernel

    def _external_passes_through(self, qual: str, factory: bool) -> bool:
        """The same test on a decorator from an installed package outside AITER, read from its
        source where the path finder finds it (never imported)."""
        module, _, name = qual.rpartition(".")
        key = (qual, factory)
        if key in self._external:
            return self._external[key]
        answer = False
        top = module.split(".")[0]
        if top and top not in _BUILTINS:
            import importlib.machinery
            import sys

            try:
                spec = importlib.machinery.PathFinder.find_spec(top, [str(self.tree.base), *(p for p in sys.path if isinstance(p, str))])
            except (ImportError, ValueError, OSError):
                spec = None
            locations = list(spec.submodule_search_locations or ()) if spec is not None else []
            if locations:
                from ._source import Tree as _Tree

                other = _Tree((Path(locations[0]),), top=top)
                parsed = other.parse(module)
                if isinstance(parsed, Parsed):
                    for stmt in _statements_at(parsed, words(name)):
                        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == name:
                            node: ast.FunctionDef | ast.AsyncFunctionDef | None = stmt
                            if factory:
                                node = _returned_def(stmt)
                            answer = node is not None and _identity_or_wrapper(node)
        self._external[key] = answer
        return answer

    def _passes_through(self, qual: str, factory: bool) -> bool:
        """Whether an AITER decorator returns the function itself, or a wrapper that passes
        ``*args, **kwargs`` on to it (for a factory: whether what it returns does)."""
        module, _, name = qual.rpartition(".")
        cand = self.binding(module, name) if self._inside(module) else None
        if not isinstance(cand, Def):
            return False
        node: ast.FunctionDef | ast.AsyncFunctionDef = cand.node
        if factory:
            inner = _returned_def(node)
            if inner is None:
                return False
            node = inner
        return _identity_or_wrapper(node)

    def _function(self, dotted: str, t: Target, rel: str | None, parsed: Parsed | None) -> Resolution:
        node = t.node
        assert t.module is not None and parsed is not None
        if isinstance(node, ast.Lambda):
            params = _static.parameters(node, parsed.source)
            return Resolution("resolved", "function", rel, node.lineno, (), params, f"{dotted} is a lambda in {rel} at line {node.lineno}")
        assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        decorators = tuple(ast.unparse(d) for d in node.decorator_list)
        foreign, replaced, kernel = self._decorators(t.module, node)
        if foreign:
            why = f"decorated with {', '.join(foreign)}, which may change its signature"
            return Resolution("unknown", "function", rel, node.lineno, decorators, None, f"{dotted} in {rel}: {why}")
        params = _static.parameters(node, parsed.source)
        if self.usage:
            params = _static.with_usage(node, params, replaced=replaced)
        if t.bound:
            params = _static.bound(params)
        how = f" (decorated {', '.join('@' + d for d in decorators)}, which keeps the signature)" if decorators else ""
        if self._rules_used.get(id(node)):
            how += "; " + "; ".join(self._rules_used[id(node)])
        what = "a Triton kernel, launched as kernel[grid](...)" if kernel else ("a method" if t.owner is not None else "defined")
        if isinstance(node, ast.AsyncFunctionDef):
            what = f"an async def ({what})"
        note = None
        if t.owner is None:
            heads = parsed.defined()
            if heads is not None:
                defs = heads.get(node.name, [])
            else:
                defs = [s.lineno for s in _statements_at(parsed, words(node.name)) if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == node.name]
            if len(defs) > 1:
                lines = ", ".join(map(str, defs))
                note = f"{node.name} is defined {len(defs)} times at the top level (lines {lines}); the last definition wins"
        return Resolution(
            "resolved", "function", rel, node.lineno, decorators, params, f"{dotted} is {what} in {rel} at line {node.lineno}{how}",
            note=note, asynchronous=isinstance(node, ast.AsyncFunctionDef), kernel=kernel,
        )  # fmt: skip

    def _class(self, dotted: str, t: Target, rel: str | None, parsed: Parsed | None) -> Resolution:
        node = t.node
        assert isinstance(node, ast.ClassDef)
        init = self._class_member(t, "__init__", f"{dotted}.__init__", through_instance=True)
        params: tuple[Parameter, ...] | None = None
        if isinstance(init, Target) and init.kind == "function" and isinstance(init.node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            init_rel, init_parsed = self._file(init.module)
            if init_parsed is not None and init.module is not None and not self._decorators(init.module, init.node)[0]:
                params = _static.bound(_static.parameters(init.node, init_parsed.source))
        elif isinstance(init, Stop) and init.status == "missing":
            params = ()  # object.__init__: no arguments
        decorators = tuple(ast.unparse(d) for d in node.decorator_list)
        if decorators and params is not None and "__init__" not in {n.name for n in node.body if isinstance(n, ast.FunctionDef)}:
            params = None  # @dataclass and the like write __init__ themselves
        how = "" if params is not None else "; how a call binds is not read statically"
        return Resolution("resolved", "class", rel, node.lineno, decorators, params, f"{dotted} is a class in {rel} at line {node.lineno}{how}")


def _own_returns(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.Return]:
    """The return statements of ``node`` itself, not of the functions nested in it."""
    out: list[ast.Return] = []
    stack: list[ast.AST] = list(node.body)
    while stack:
        cur = stack.pop()
        if isinstance(cur, ast.Return):
            out.append(cur)
        if not isinstance(cur, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(cur))
    return out


def _returned_def(node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.FunctionDef | None:
    """The inner def a decorator factory returns, if it returns exactly one by name."""
    inner = {s.name: s for s in node.body if isinstance(s, ast.FunctionDef)}
    returns = _own_returns(node)
    names = {r.value.id for r in returns if isinstance(r.value, ast.Name)}
    if len(names) == 1 and len(returns) == 1 and next(iter(names)) in inner:
        return inner[next(iter(names))]
    return None


def _identity_or_wrapper(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """``def d(fn): return fn``, or ``def d(fn): def w(*a, **k): ... fn(*a, **k) ...; return w``."""
    args = node.args
    if len(args.posonlyargs) + len(args.args) != 1 or args.vararg or args.kwarg or args.kwonlyargs:
        return False
    fn = (args.posonlyargs + args.args)[0].arg
    returns = _own_returns(node)
    if len(returns) == 1 and isinstance(returns[0].value, ast.Name) and returns[0].value.id == fn:
        return True
    wrapper = _returned_def(node)
    if wrapper is None:
        return False
    wa = wrapper.args
    if wa.posonlyargs or wa.args or wa.kwonlyargs or wa.vararg is None or wa.kwarg is None:
        return False
    star, kw = wa.vararg.arg, wa.kwarg.arg
    if _changes_arguments(wrapper, star, kw):
        return False  # it adds, pops or fixes arguments: what a call binds is not fn's signature
    for call in (n for n in ast.walk(wrapper) if isinstance(n, ast.Call)):
        if isinstance(call.func, ast.Name) and call.func.id == fn:
            # Exactly fn(*args, **kwargs): anything more (fn(ctx, *args, **kwargs), stream=...) fixes an argument.
            passes_star = len(call.args) == 1 and isinstance(call.args[0], ast.Starred) and _is_name(call.args[0].value, star)
            passes_kw = len(call.keywords) == 1 and call.keywords[0].arg is None and _is_name(call.keywords[0].value, kw)
            if passes_star and passes_kw:
                return True
    return False


def _is_name(node: ast.expr, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


_READ_ONLY = frozenset({"get", "keys", "items", "values", "copy", "__contains__", "__getitem__"})


def _changes_arguments(wrapper: ast.FunctionDef | ast.AsyncFunctionDef, star: str, kw: str) -> bool:
    """Whether a wrapper's body rebinds or changes its ``*args``/``**kwargs`` before passing them on
    (``kwargs["stream"] = s``, ``kwargs.pop("stream")``, ``args = (ctx, *args)``, ``del kwargs[k]``), or
    hands them to ``partial``."""
    for node in ast.walk(wrapper):
        if isinstance(node, ast.Name) and node.id in (star, kw) and isinstance(node.ctx, (ast.Store, ast.Del)):
            return True
        if isinstance(node, ast.Subscript) and _is_name(node.value, kw) and isinstance(node.ctx, (ast.Store, ast.Del)):
            return True
        if isinstance(node, ast.Attribute) and _is_name(node.value, kw) and node.attr not in _READ_ONLY:
            return True
        if isinstance(node, ast.Call) and (_chain(node.func) or ("",))[-1] == "partial":
            return True
    return False
