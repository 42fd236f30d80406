"""Step 2a: read a function's signature and AITER's enums from source, never running it.

Where the source does not pin the signature down (conditional definitions, a
decorator, a rebinding, a namespace rewritten at run time), the answer is
"unknown" with the reason: a guess here would become a false ``supported``.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import re
import types
from dataclasses import dataclass, field
from typing import cast
from pathlib import Path

from ._model import Parameter, ParameterKind, SignatureReading

# Attributes through which inspect.signature can be told another story.
_SIGNATURE_ATTRS = frozenset({"__signature__", "__wrapped__", "__code__", "__defaults__", "__kwdefaults__"})
# Calls that can rebind any module name at run time.
_DYNAMIC_CALLS = frozenset({"globals", "vars", "exec", "eval", "setattr"})
_DYNAMIC_TEXT = re.compile(r"\b(?:globals|vars|exec|eval|setattr)\s*\(|\bsys\s*\.\s*modules\b|\bglobal\s|\.\s*__\w+__\s*=")
# The tokenizer's line breaks: \f and \u2028 are not among them (str.splitlines thinks otherwise).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_PARSE_ERRORS = (SyntaxError, ValueError, UnicodeDecodeError, RecursionError, MemoryError, LookupError)


@dataclass(frozen=True)
class StaticResult:
    reading: SignatureReading
    unreadable: str | None  # set when the file exists but cannot be read or parsed
    tree: ast.Module | None = None  # the parsed module, for readers of its other tables
    source: str | None = None


def parse_file(path: Path) -> tuple[str, ast.Module] | str:
    """``(source, tree)``, or why the file cannot be read: bytes are decoded as Python
    does (a BOM, a PEP 263 coding cookie), so any file Python can import is read."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return f"{path.name} cannot be read: {type(exc).__name__}: {exc}"
    try:
        source = importlib.util.decode_source(raw)
        return source, ast.parse(source, filename=str(path))
    except _PARSE_ERRORS as exc:
        return f"{path.name} cannot be parsed: {type(exc).__name__}: {exc}"


def read_signature(path: Path, function: str = "fused_moe") -> StaticResult:
    """The parameters of the module-level ``function`` in the file at ``path``."""
    parsed = parse_file(path)
    if isinstance(parsed, str):
        return StaticResult(SignatureReading(parameters=None, error=parsed), unreadable=parsed)
    source, tree = parsed
    try:
        node, why, note = _find_definition(tree, source, function, path.name)
        if node is None:
            return StaticResult(SignatureReading(parameters=None, error=why), unreadable=None, tree=tree)
        params = with_usage(node, _parameters(node, source))
    except (RecursionError, MemoryError) as exc:  # pathological nesting: the walk gives up, so do we
        why = f"{path.name} is too deeply nested to analyse: {type(exc).__name__}"
        return StaticResult(SignatureReading(parameters=None, error=why), unreadable=None)
    return StaticResult(SignatureReading(parameters=params, error=None, note=note), unreadable=None, tree=tree, source=source)


def _binds(node: ast.AST, name: str) -> bool:
    """Whether ``node`` (a statement, not descending into scopes) binds ``name``."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name == name
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return any((a.asname or a.name.split(".")[0]) == name or a.name == "*" for a in node.names)
    for sub in _walk_scope(node):
        if isinstance(sub, ast.Name) and sub.id == name and isinstance(sub.ctx, (ast.Store, ast.Del)):
            return True
        if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and sub.name == name:
            return True
        if isinstance(sub, (ast.Import, ast.ImportFrom)) and _binds(sub, name):
            return True
    return False


def _walk_scope(node: ast.AST) -> list[ast.AST]:
    """Every node under ``node`` in the same scope (function and class bodies left out)."""
    out: list[ast.AST] = []
    stack = [node]
    while stack:
        cur = stack.pop()
        out.append(cur)
        if cur is not node and isinstance(cur, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        stack.extend(ast.iter_child_nodes(cur))
    return out


@functools.lru_cache(maxsize=64)
def _dynamic_sites(tree: ast.Module, source: str) -> tuple[tuple[str, str | None], ...]:
    """Every construct in the module that can rebind a name at run time, once per module:
    ``(description, the one name it rebinds, or None for any name)``. Only the top-level
    statements whose lines hold one of the tokens are walked (a big module has few)."""
    lines = {source.count("\n", 0, m.start()) + 1 for m in _DYNAMIC_TEXT.finditer(source)}
    stmts = [s for s in tree.body if any(s.lineno <= n <= (s.end_lineno or s.lineno) for n in lines)]
    sites: list[tuple[str, str | None]] = []
    named: dict[int, str] = {}  # id of a globals()/setattr() call -> the constant name it targets
    calls: list[ast.Call] = []
    for sub in (node for stmt in stmts for node in ast.walk(stmt)):
        if isinstance(sub, ast.Global):
            sites += [(f"a 'global {n}' at line {sub.lineno}", n) for n in sub.names]
        elif isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Store) and sub.attr in _SIGNATURE_ATTRS and isinstance(sub.value, ast.Name):
            sites.append((f"an assignment to {sub.value.id}.{sub.attr} at line {sub.lineno}", sub.value.id))
        elif isinstance(sub, ast.Attribute) and sub.attr == "modules" and isinstance(sub.value, ast.Name) and sub.value.id == "sys":
            sites.append((f"a use of sys.modules at line {sub.lineno}", None))
        elif isinstance(sub, ast.Subscript) and isinstance(sub.value, ast.Call) and _constant_str(sub.slice):
            named[id(sub.value)] = _constant_str(sub.slice) or ""
        elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id in _DYNAMIC_CALLS:
            if sub.func.id == "vars" and sub.args:
                continue  # vars(obj) reads obj; vars() is the namespace
            if sub.func.id == "setattr" and len(sub.args) >= 2 and _constant_str(sub.args[1]):
                named[id(sub)] = _constant_str(sub.args[1]) or ""
            calls.append(sub)
    for call in calls:
        name = call.func.id  # type: ignore[attr-defined]
        sites.append((f"a call to {name}() at line {call.lineno}", named.get(id(call))))
    return tuple(sites)


def _constant_str(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _dynamic(tree: ast.Module, source: str, function: str) -> list[str]:
    """Constructs anywhere in the module that can rebind ``function`` or its signature."""
    if not _may_be_dynamic(source):
        return []
    return [what for what, target in _dynamic_sites(tree, source) if target is None or target == function]


@functools.lru_cache(maxsize=64)
def _may_be_dynamic(source: str) -> bool:
    """A cheap textual pre-check, once per module: without these tokens the walk finds nothing."""
    return _DYNAMIC_TEXT.search(source) is not None


def _find_definition(
    tree: ast.Module, source: str, function: str, filename: str
) -> tuple[ast.FunctionDef | None, str, str | None]:
    """(the def that binds ``function`` last, why there is none, a note)."""
    defs: list[ast.FunctionDef] = []
    others: list[str] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef) and stmt.name == function:
            defs.append(stmt)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)) and any(a.name == "*" for a in stmt.names):
            # A star import before the def is overridden by it; after it, it may rebind.
            if defs:
                others.append(f"a star import at line {stmt.lineno}")
        elif _binds(stmt, function):
            others.append(f"{_describe(stmt)} at line {stmt.lineno}")
    others += _dynamic(tree, source, function)
    if not defs and not others:
        return None, f"{filename} has no top-level 'def {function}'", None
    if others:
        where = ", ".join(others)
        return None, f"{function} is bound by {where}; its signature cannot be read without running the module", None
    node = defs[-1]
    note = None
    if len(defs) > 1:
        lines = ", ".join(str(d.lineno) for d in defs)
        note = f"{function} is defined {len(defs)} times at the top level (lines {lines}); the last definition wins"
    if node.decorator_list:
        names = ", ".join("@" + ast.unparse(d) for d in node.decorator_list)
        return None, f"{function} is decorated ({names}), which may change its signature; only the runtime probe can read it", None
    return node, "", note


def _describe(stmt: ast.stmt) -> str:
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return "an import"
    if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        return "an assignment"
    if isinstance(stmt, ast.ClassDef):
        return "a class"
    if isinstance(stmt, ast.AsyncFunctionDef):
        return "an async def"
    if isinstance(stmt, ast.Delete):
        return "a del statement"
    return f"a conditional binding ({type(stmt).__name__.lower()} block)"


@functools.lru_cache(maxsize=16)
def _lines(source: str) -> list[str]:
    """The source split at the tokenizer's line breaks, once per source (its hash is cached)."""
    return _LINE_BREAK.split(source)


def _default_text(node: ast.expr, lines: list[str]) -> str:
    """The default's source text, by ``ast.get_source_segment`` over the default's own lines
    (it re-splits its input on every call, so it is not given the whole file);
    ``ast.unparse`` only where the source has none to give."""
    if node.end_lineno is None:
        return ast.unparse(node)
    local = "\n".join(lines[node.lineno - 1 : node.end_lineno])
    shifted = types.SimpleNamespace(
        lineno=1, end_lineno=node.end_lineno - node.lineno + 1, col_offset=node.col_offset, end_col_offset=node.end_col_offset
    )
    return ast.get_source_segment(local, cast(ast.AST, shifted)) or ast.unparse(node)


def _parameters(node: ast.FunctionDef, source: str) -> tuple[Parameter, ...]:
    args = node.args
    lines = _lines(source) if args.defaults or any(args.kw_defaults) else []
    positional = [*args.posonlyargs, *args.args]
    pad: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    out: list[Parameter] = []
    for i, (arg, default) in enumerate(zip(positional, [*pad, *args.defaults])):
        kind = ParameterKind.POSITIONAL_ONLY if i < len(args.posonlyargs) else ParameterKind.POSITIONAL_OR_KEYWORD
        text = None if default is None else _default_text(default, lines)
        out.append(Parameter(name=arg.arg, kind=kind, default=text))
    if args.vararg is not None:
        out.append(Parameter(name=args.vararg.arg, kind=ParameterKind.VAR_POSITIONAL, default=None))
    for arg, kwdefault in zip(args.kwonlyargs, args.kw_defaults):
        text = None if kwdefault is None else _default_text(kwdefault, lines)
        out.append(Parameter(name=arg.arg, kind=ParameterKind.KEYWORD_ONLY, default=text))
    if args.kwarg is not None:
        out.append(Parameter(name=args.kwarg.arg, kind=ParameterKind.VAR_KEYWORD, default=None))
    return tuple(out)


# --- enums ---------------------------------------------------------------

# Wheel layout first, then a source checkout; both relative to the folder holding aiter/.
HEADER_CANDIDATES = (
    Path("aiter_meta/csrc/include/aiter_enum.h"),
    Path("csrc/include/aiter_enum.h"),
)
_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_ENUM = re.compile(r"\benum\s+(?:class|struct)?\s*(\w+)\s*(?::\s*[\w:\s]+?)?\s*\{(.*?)\}", re.S)
_MEMBER = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?:=\s*(.*?))?\s*$", re.S)
_INT = re.compile(r"[+-]?(?:0[xX][0-9a-fA-F]+|\d+)[uUlL]*")


@dataclass(frozen=True)
class EnumResult:
    header: Path | None
    enums: dict[str, tuple[str, ...]]
    error: str | None
    values: dict[str, dict[str, int | None]] = field(default_factory=dict)  # None: not a plain integer


def read_enums(root: Path) -> EnumResult:
    """Members of the enums declared in AITER's ``aiter_enum.h`` under ``root``."""
    header = None
    try:
        header = next((root / rel for rel in HEADER_CANDIDATES if (root / rel).is_file()), None)
        if header is None:
            tried = " or ".join(str(c) for c in HEADER_CANDIDATES)
            return EnumResult(None, {}, f"no enum header ({tried}) beside the aiter package")
        text = header.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        where = "the enum header" if header is None else header.name
        return EnumResult(header, {}, f"{where} cannot be read: {type(exc).__name__}: {exc}")
    text = _COMMENT.sub("", text)
    enums: dict[str, tuple[str, ...]] = {}
    values: dict[str, dict[str, int | None]] = {}
    for m in _ENUM.finditer(text):
        members: dict[str, int | None] = {}
        nxt: int | None = 0  # C++: one more than the previous, from 0
        for item in m.group(2).split(","):
            if not item.strip():
                continue
            mm = _MEMBER.match(item)
            if mm:
                raw = mm.group(2)
                if raw:
                    nxt = int(raw.rstrip("uUlL"), 0) if _INT.fullmatch(raw) else None  # an expression: not read
                members[mm.group(1)] = nxt
                nxt = None if nxt is None else nxt + 1
        enums[m.group(1)] = tuple(members)
        values[m.group(1)] = members
    if not enums:
        return EnumResult(header, {}, f"{header.name} declares no enum that could be read")
    return EnumResult(header, enums, None, values)


def with_usage(node: ast.FunctionDef, params: tuple[Parameter, ...], *, replaced: bool = False) -> tuple[Parameter, ...]:
    """Each parameter with ``used``: read anywhere in the body (nested functions too);
    None where that cannot be told (``locals()``/``vars()``, a body replaced by a decorator)."""
    if replaced:
        return params
    loads: set[str] = set()
    opaque = False
    for stmt in node.body:
        for sub in ast.walk(stmt):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
                loads.add(sub.id)
            elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id in ("locals", "vars") and not sub.args:
                opaque = True
    out = []
    for p in params:
        if p.kind in (ParameterKind.VAR_POSITIONAL, ParameterKind.VAR_KEYWORD):
            out.append(p)
        else:
            out.append(p.model_copy(update={"used": None if opaque and p.name not in loads else p.name in loads}))
    return tuple(out)
