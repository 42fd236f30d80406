"""Step 2a: read a function's signature and AITER's enums from source, never running it.

Where the source does not pin the signature down (conditional definitions, a
decorator, a rebinding, a namespace rewritten at run time), the answer is
"unknown" with the reason: a guess here would become a false ``supported``.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

from ._model import Parameter, ParameterKind, SignatureReading

# Attributes through which inspect.signature can be told another story.
_SIGNATURE_ATTRS = frozenset({"__signature__", "__wrapped__", "__code__", "__defaults__", "__kwdefaults__"})
# Calls that can rebind any module name at run time.
_DYNAMIC_CALLS = frozenset({"globals", "vars", "exec", "eval", "setattr"})
# A cheap textual pre-check: without one of these the full walk cannot find anything.
_DYNAMIC_CALL_TEXT = r"\b(?:globals|vars|exec|eval|setattr)\s*\(|\bsys\s*\.\s*modules\b"


def _dynamic_text(function: str) -> re.Pattern[str]:
    name = re.escape(function)
    return re.compile(rf"{_DYNAMIC_CALL_TEXT}|\bglobal\b[^\n]*\b{name}\b|\b{name}\s*\.\s*__\w+__\s*=")
# The tokenizer's line breaks: \f and \u2028 are not among them (str.splitlines thinks otherwise).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_PARSE_ERRORS = (SyntaxError, ValueError, UnicodeDecodeError, RecursionError, MemoryError, LookupError)


@dataclass(frozen=True)
class StaticResult:
    reading: SignatureReading
    unreadable: str | None  # set when the file exists but cannot be read or parsed
    tree: ast.Module | None = None  # the parsed module, for readers of its other tables


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
        params = _parameters(node, source)
    except (RecursionError, MemoryError) as exc:  # pathological nesting: the walk gives up, so do we
        why = f"{path.name} is too deeply nested to analyse: {type(exc).__name__}"
        return StaticResult(SignatureReading(parameters=None, error=why), unreadable=None)
    return StaticResult(SignatureReading(parameters=params, error=None, note=note), unreadable=None, tree=tree)


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


def _dynamic(tree: ast.Module, source: str, function: str) -> list[str]:
    """Constructs anywhere in the module that can rebind ``function`` or its signature."""
    if not _dynamic_text(function).search(source):
        return []
    found = []
    for sub in ast.walk(tree):
        if isinstance(sub, ast.Global) and function in sub.names:
            found.append(f"a 'global {function}' at line {sub.lineno}")
        elif (
            isinstance(sub, ast.Attribute)
            and isinstance(sub.ctx, ast.Store)
            and sub.attr in _SIGNATURE_ATTRS
            and isinstance(sub.value, ast.Name)
            and sub.value.id == function
        ):
            found.append(f"an assignment to {function}.{sub.attr} at line {sub.lineno}")
        elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id in _DYNAMIC_CALLS:
            if sub.func.id != "vars" or not sub.args:  # vars(obj) reads obj; vars() is the namespace
                found.append(f"a call to {sub.func.id}() at line {sub.lineno}")
        elif isinstance(sub, ast.Attribute) and sub.attr == "modules" and isinstance(sub.value, ast.Name) and sub.value.id == "sys":
            found.append(f"a use of sys.modules at line {sub.lineno}")
    return found


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


def _header(node: ast.FunctionDef, source: str) -> str:
    """The source with only the def's own lines kept, positions unchanged, so that
    ``ast.get_source_segment`` (which re-splits its input on each call) stays cheap."""
    lines = _LINE_BREAK.split(source)
    last = max((getattr(n, "end_lineno", None) or node.lineno) for n in ast.walk(node.args))
    return "\n" * (node.lineno - 1) + "\n".join(lines[node.lineno - 1 : last])


def _default_text(node: ast.expr, header: str) -> str:
    """The default's source text; ``ast.unparse`` only where the source has none to give."""
    return ast.get_source_segment(header, node) or ast.unparse(node)


def _parameters(node: ast.FunctionDef, source: str) -> tuple[Parameter, ...]:
    args = node.args
    header = _header(node, source) if args.defaults or any(args.kw_defaults) else ""
    positional = [*args.posonlyargs, *args.args]
    pad: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    out: list[Parameter] = []
    for i, (arg, default) in enumerate(zip(positional, [*pad, *args.defaults])):
        kind = ParameterKind.POSITIONAL_ONLY if i < len(args.posonlyargs) else ParameterKind.POSITIONAL_OR_KEYWORD
        text = None if default is None else _default_text(default, header)
        out.append(Parameter(name=arg.arg, kind=kind, default=text))
    if args.vararg is not None:
        out.append(Parameter(name=args.vararg.arg, kind=ParameterKind.VAR_POSITIONAL, default=None))
    for arg, kwdefault in zip(args.kwonlyargs, args.kw_defaults):
        text = None if kwdefault is None else _default_text(kwdefault, header)
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
