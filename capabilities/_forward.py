"""Whether a wrapper passes every argument of its call on, unchanged, to one function.

SGLang's gfx95 patch wraps ``fused_moe`` as ``(hidden_states, w1, w2, topk_weight,
topk_ids, *args, **kwargs)`` and calls the original with exactly those. A call of such a
wrapper binds as a call of the original does, so the original's signature is the one
to check against. That is taken only where the wrapper's source shows it: it calls one
function with its named parameters in order, then ``*args`` and ``**kwargs``; it never
rebinds those names; it never changes ``kwargs`` (reading a key is fine) nor hands it to
anything else. Anything else is not verified, and the caller says ``unknown``.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import textwrap
import types
from typing import Any

_MUTATORS = frozenset({"pop", "popitem", "setdefault", "update", "clear", "__setitem__", "__delitem__"})
_READS = frozenset({"get", "keys", "items", "values", "copy", "__contains__", "__getitem__"})


def _definition(fn: types.FunctionType) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    try:
        source = textwrap.dedent(inspect.getsource(fn.__code__))  # the code's own: getsource(fn) follows __wrapped__
    except (OSError, TypeError):  # no source file (exec'd code, a REPL)
        return None
    try:
        tree = ast.parse(source)
    except SyntaxError:  # a lambda or a decorator line cut mid-expression
        return None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == fn.__code__.co_name:
            return node
    return None


def _is_forwarding(call: ast.Call, named: list[str], star: str, double: str) -> bool:
    args = call.args
    return (
        len(args) == len(named) + 1
        and all(isinstance(a, ast.Name) and a.id == n for a, n in zip(args, named))
        and isinstance(args[-1], ast.Starred) and isinstance(args[-1].value, ast.Name) and args[-1].value.id == star
        and len(call.keywords) == 1 and call.keywords[0].arg is None
        and isinstance(call.keywords[0].value, ast.Name) and call.keywords[0].value.id == double
    )  # fmt: skip


def _resolve(fn: types.FunctionType, node: ast.expr) -> Any:
    """The object an ``a.b.c`` callee names in ``fn``'s closure, globals or builtins; None where unsure."""
    attrs: list[str] = []
    while isinstance(node, ast.Attribute):
        attrs.insert(0, node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    code, name = fn.__code__, node.id
    if name in code.co_freevars and fn.__closure__ is not None:
        try:
            value = fn.__closure__[code.co_freevars.index(name)].cell_contents
        except ValueError:  # an empty cell
            return None
    elif name in fn.__globals__:
        value = fn.__globals__[name]
    elif hasattr(builtins, name):
        value = getattr(builtins, name)
    else:
        return None
    for attr in attrs:
        if not isinstance(value, types.ModuleType):  # only modules: an attribute of anything else may be computed
            return None
        value = getattr(value, attr, None)
    return value


def forwarded_to(fn: Any) -> tuple[Any, int] | None:
    """``(target, n)`` where ``fn`` is a plain function ``(p1..pn, *args, **kwargs)`` whose code
    passes every argument on unchanged to ``target`` as ``target(p1..pn, *args, **kwargs)``;
    None where that is not shown by its source."""
    if not isinstance(fn, types.FunctionType):
        return None
    code = fn.__code__
    flags = inspect.CO_VARARGS | inspect.CO_VARKEYWORDS
    if code.co_flags & flags != flags or code.co_kwonlyargcount or code.co_posonlyargcount:
        return None
    named = list(code.co_varnames[: code.co_argcount])
    star, double = code.co_varnames[code.co_argcount], code.co_varnames[code.co_argcount + 1]
    node = _definition(fn)
    if node is None or [a.arg for a in node.args.args] != named:
        return None
    guarded = {*named, star, double}
    forwards: list[ast.Call] = []
    for sub in ast.walk(ast.Module(body=node.body, type_ignores=[])):
        if isinstance(sub, (ast.Global, ast.Nonlocal)) and guarded & set(sub.names):
            return None
        if isinstance(sub, ast.Name) and sub.id in guarded and not isinstance(sub.ctx, ast.Load):
            return None  # rebound or deleted
        if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            params = sub.args
            if guarded & {a.arg for a in (*params.posonlyargs, *params.args, *params.kwonlyargs)}:
                return None  # a nested scope that shadows one of them: not followed
        if isinstance(sub, ast.Call) and _is_forwarding(sub, named, star, double):
            forwards.append(sub)
    uses = [n for n in ast.walk(ast.Module(body=node.body, type_ignores=[])) if isinstance(n, ast.Name) and n.id == double]
    allowed = {id(c.keywords[0].value) for c in forwards}
    for parent in ast.walk(ast.Module(body=node.body, type_ignores=[])):
        for child in ast.iter_child_nodes(parent):
            if isinstance(child, ast.Name) and child.id == double and id(child) not in allowed:
                read = (isinstance(parent, ast.Attribute) and parent.attr in _READS) or (
                    isinstance(parent, ast.Subscript) and isinstance(parent.ctx, ast.Load)
                ) or (isinstance(parent, ast.Compare) and child is not parent.left)
                if not read:
                    return None  # kwargs handed on or changed: what reaches the target is not shown
                allowed.add(id(child))
    if len(allowed) != len(uses) or not forwards:
        return None
    targets = {id(t): t for t in (_resolve(fn, c.func) for c in forwards)}
    if len(targets) != 1 or None in targets.values():
        return None
    (target,) = targets.values()
    if not callable(target):
        return None
    return target, len(named)
