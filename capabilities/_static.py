"""Step 2a: read ``fused_moe``'s signature and AITER's enums from source, never running it.

Where the source does not pin the signature down (several or conditional
definitions, a decorator, a rebinding), the answer is "unknown" with the
reason: a guess here would become a false ``supported``.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from ._model import Parameter, ParameterKind, SignatureReading

FUNCTION = "fused_moe"
# Attributes through which inspect.signature can be told another story.
_SIGNATURE_ATTRS = frozenset({"__signature__", "__wrapped__", "__code__", "__defaults__", "__kwdefaults__"})


@dataclass(frozen=True)
class StaticResult:
    reading: SignatureReading
    unreadable: str | None  # set when the file exists but cannot be read or parsed


def read_signature(path: Path) -> StaticResult:
    try:
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=str(path))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError) as exc:
        why = f"{path.name} cannot be read or parsed: {type(exc).__name__}: {exc}"
        return StaticResult(SignatureReading(parameters=None, error=why), unreadable=why)
    node, why = _find_definition(tree, source)
    if node is None:
        return StaticResult(SignatureReading(parameters=None, error=why), unreadable=None)
    params = _parameters(node.args, source)
    return StaticResult(SignatureReading(parameters=params, error=None), unreadable=None)


def _binds(node: ast.AST) -> bool:
    """Whether ``node`` (a statement, not descending into scopes) binds FUNCTION."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name == FUNCTION
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return any((a.asname or a.name.split(".")[0]) == FUNCTION or a.name == "*" for a in node.names)
    for sub in _walk_scope(node):
        if isinstance(sub, ast.Name) and sub.id == FUNCTION and isinstance(sub.ctx, (ast.Store, ast.Del)):
            return True
        if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and sub.name == FUNCTION:
            return True
        if isinstance(sub, (ast.Import, ast.ImportFrom)) and _binds(sub):
            return True
    return False


def _walk_scope(node: ast.AST) -> list[ast.AST]:
    """Every node under ``node`` in the same scope (function and class bodies left out)."""
    out: list[ast.AST] = []
    stack = [node]
    while stack:
        cur = stack.pop()
        out.append(cur)
        for child in ast.iter_child_nodes(cur):
            if cur is not node and isinstance(cur, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                continue
            stack.append(child)
    return out


def _find_definition(tree: ast.Module, source: str) -> tuple[ast.FunctionDef | None, str]:
    defs: list[ast.FunctionDef] = []
    others: list[str] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef) and stmt.name == FUNCTION:
            defs.append(stmt)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)) and any(a.name == "*" for a in stmt.names):
            # A star import before the def is overridden by it; after it, it may rebind.
            if defs:
                others.append(f"a star import at line {stmt.lineno}")
        elif _binds(stmt):
            others.append(f"{_describe(stmt)} at line {stmt.lineno}")
    # Both checks below need the name in the text; most files let us skip the walk.
    rebinding = "global" in source or any(attr in source for attr in _SIGNATURE_ATTRS)
    for sub in ast.walk(tree) if rebinding else ():
        if isinstance(sub, ast.Global) and FUNCTION in sub.names:
            others.append(f"a 'global {FUNCTION}' at line {sub.lineno}")
        elif (
            isinstance(sub, ast.Attribute)
            and isinstance(sub.ctx, ast.Store)
            and sub.attr in _SIGNATURE_ATTRS
            and isinstance(sub.value, ast.Name)
            and sub.value.id == FUNCTION
        ):
            others.append(f"an assignment to {FUNCTION}.{sub.attr} at line {sub.lineno}")
    if not defs and not others:
        return None, f"aiter/fused_moe.py has no top-level 'def {FUNCTION}'"
    if others:
        where = ", ".join(others)
        return None, f"{FUNCTION} is bound by {where}; its signature cannot be read without running the module"
    if len(defs) > 1:
        lines = ", ".join(str(d.lineno) for d in defs)
        return None, f"{FUNCTION} is defined {len(defs)} times (lines {lines}); which one is used depends on execution"
    node = defs[0]
    if node.decorator_list:
        names = ", ".join("@" + ast.unparse(d) for d in node.decorator_list)
        return None, f"{FUNCTION} is decorated ({names}), which may change its signature; only the runtime probe can read it"
    return node, ""


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


def _default_text(node: ast.expr, lines: list[str]) -> str:
    # ast.get_source_segment re-splits the whole file on every call; offsets are UTF-8 bytes.
    if node.lineno != node.end_lineno or node.end_col_offset is None:
        return ast.unparse(node)
    return lines[node.lineno - 1].encode("utf-8")[node.col_offset : node.end_col_offset].decode("utf-8")


def _parameters(args: ast.arguments, source: str) -> tuple[Parameter, ...]:
    lines = source.splitlines()
    positional = [*args.posonlyargs, *args.args]
    pad: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults = [*pad, *args.defaults]
    out: list[Parameter] = []
    for i, (arg, default) in enumerate(zip(positional, defaults)):
        kind = ParameterKind.POSITIONAL_ONLY if i < len(args.posonlyargs) else ParameterKind.POSITIONAL_OR_KEYWORD
        out.append(Parameter(name=arg.arg, kind=kind, default=None if default is None else _default_text(default, lines)))
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
_MEMBER = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?:=.*)?$", re.S)


@dataclass(frozen=True)
class EnumResult:
    header: Path | None
    enums: dict[str, tuple[str, ...]]
    error: str | None


def find_header(root: Path) -> Path | None:
    for rel in HEADER_CANDIDATES:
        if (root / rel).is_file():
            return root / rel
    return None


def read_enums(root: Path) -> EnumResult:
    """Members of the enums declared in AITER's ``aiter_enum.h`` under ``root``."""
    header = find_header(root)
    if header is None:
        tried = " or ".join(str(c) for c in HEADER_CANDIDATES)
        return EnumResult(None, {}, f"no enum header ({tried}) beside the aiter package")
    try:
        text = header.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return EnumResult(header, {}, f"{header.name} cannot be read: {type(exc).__name__}: {exc}")
    text = _COMMENT.sub("", text)
    enums: dict[str, tuple[str, ...]] = {}
    for m in _ENUM.finditer(text):
        members = []
        for item in m.group(2).split(","):
            if not item.strip():
                continue
            mm = _MEMBER.match(item)
            if mm:
                members.append(mm.group(1))
        enums[m.group(1)] = tuple(members)
    if not enums:
        return EnumResult(header, {}, f"{header.name} declares no enum that could be read")
    return EnumResult(header, enums, None)
