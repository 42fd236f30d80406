"""Read a ``def`` from source: its parameters, their defaults as source text, and which
ones its body reads. Nothing here decides what a name is bound to (``_resolve`` does)."""

from __future__ import annotations

import ast
import functools
import re
import types
from typing import cast

from .model import Parameter, ParameterKind

# The tokenizer's line breaks: \f and \u2028 are not among them (str.splitlines thinks otherwise).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


@functools.lru_cache(maxsize=32)
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


def parameters(node: FunctionNode | ast.Lambda, source: str) -> tuple[Parameter, ...]:
    """The parameters of a ``def`` in order, with kinds and defaults as source text."""
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


def with_usage(node: FunctionNode, params: tuple[Parameter, ...], *, replaced: bool = False) -> tuple[Parameter, ...]:
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


def bound(params: tuple[Parameter, ...]) -> tuple[Parameter, ...]:
    """A method's parameters as called through an instance (or a classmethod through its
    class): the first positional parameter is bound. A method with none has none to bind."""
    for i, p in enumerate(params):
        if p.kind in (ParameterKind.POSITIONAL_ONLY, ParameterKind.POSITIONAL_OR_KEYWORD):
            return params[:i] + params[i + 1 :]
        if p.kind is ParameterKind.VAR_POSITIONAL:
            return params  # (*args): the instance is absorbed by *args
        break
    return params
