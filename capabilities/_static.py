"""Read a ``def`` from source: its parameters, their defaults as source text, and which
ones its body reads. Nothing here decides what a name is bound to (``_resolve`` does)."""

from __future__ import annotations

import ast
import functools
import re
import tokenize
import types
from collections.abc import Sequence
from typing import cast

from ._bindings import captures
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
    """Each parameter with ``used``: True where the body (nested functions too) may read the
    argument it was called with; False where no path reads it before rebinding it (an inner
    function's own parameter of that name is another name); None where that cannot be told
    (``locals()``, ``vars()``, frame objects, ``eval``/``exec`` of text that sees the locals,
    or a body replaced by a decorator)."""
    if replaced:
        return params
    names = frozenset(p.name for p in params if p.kind not in (ParameterKind.VAR_POSITIONAL, ParameterKind.VAR_KEYWORD))
    usage = _Usage(names)
    usage.block(node.body, names)
    first = next((p.name for p in params if p.kind in (ParameterKind.POSITIONAL_ONLY, ParameterKind.POSITIONAL_OR_KEYWORD)), None)
    if usage.zero_arg_super and first is not None:
        usage.read.add(first)  # super() reads the first argument
    out = []
    for p in params:
        if p.name not in names:
            out.append(p)
        else:
            out.append(p.model_copy(update={"used": True if p.name in usage.read else (None if usage.opaque else False)}))
    return tuple(out)


# Frame access that reaches a function's locals: an attribute or a name with one of these
# names (on any object: frame objects are passed around), and inspect's frame lists.
_FRAME_NAMES = frozenset({"f_locals", "_getframe", "currentframe", "getargvalues", "getouterframes", "getinnerframes"})
_INSPECT_FRAMES = frozenset({"stack", "trace"})
_BUILTINS = frozenset({"builtins", "__builtins__"})
_TRY = (ast.Try, getattr(ast, "TryStar", ast.Try))
_Live = frozenset[str]
_NOTHING: _Live = frozenset()


def _opaque_call(func: ast.expr, call: ast.Call | None) -> str | None:
    """Why a reference to ``func`` (called as ``call``, or handed on uncalled) may read the
    caller's locals; None where it cannot."""
    name = func.id if isinstance(func, ast.Name) else None
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in _BUILTINS:
        name = func.attr
    if name == "locals":
        return "locals()"
    if name == "vars" and (call is None or not call.args and not call.keywords):
        return "vars()"
    if name in ("eval", "exec"):
        if call is None:
            return f"{name} handed on"
        if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
            return f"{name}() with arguments that cannot be counted"
        # Text run with globals of its own (and no locals) sees no local; explicit locals are
        # read where they are built (locals() there is caught as such).
        given = len(call.args) - 1 + sum(1 for k in call.keywords if k.arg in ("globals", "locals"))
        return f"{name}() of text that sees the locals" if given < 1 else None
    return None


class _Usage:
    """Which parameters a body may read while they still hold their arguments.

    ``live`` is the set of parameters that may still hold their argument at a point; a
    binding of the name takes it out, a join of paths is a union. Reads by nested scopes
    (functions, lambdas, comprehensions, class bodies) count where the name is theirs only
    by closure."""

    def __init__(self, names: _Live) -> None:
        self.names = names
        self.read: set[str] = set()
        self.opaque: list[str] = []
        self.zero_arg_super = False
        self._called: set[int] = set()  # names judged with their call's arguments

    # --- expressions -----------------------------------------------------------------

    def expr(self, node: ast.AST | None, live: _Live) -> _Live:
        """Record the reads of ``node`` (evaluated where ``live`` holds); the names its walrus
        operators bind in this scope are returned, to be taken out after the statement."""
        if node is None:
            return _NOTHING
        stored: set[str] = set()
        todo: list[ast.AST] = [node]
        while todo:
            sub = todo.pop()
            if isinstance(sub, ast.Name):
                if isinstance(sub.ctx, ast.Load):
                    if sub.id in live:
                        self.read.add(sub.id)
                    why = _opaque_call(sub, None) if sub.id in ("locals", "vars", "eval", "exec") else None
                    if why and id(sub) not in self._called:
                        self.opaque.append(why)
                    elif sub.id in _FRAME_NAMES:
                        self.opaque.append(f"{sub.id} (a frame)")
                continue
            if isinstance(sub, ast.NamedExpr):
                if isinstance(sub.target, ast.Name):
                    stored.add(sub.target.id)
                todo.append(sub.value)
                continue
            if isinstance(sub, ast.Lambda):
                self.defaults(sub.args, live)
                self.nested(sub.args, [sub.body], live)
                continue
            if isinstance(sub, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
                self.comprehension(sub, live)
                continue
            if isinstance(sub, ast.Call):
                why = _opaque_call(sub.func, sub)
                if why and not self.literal_text(sub, live):
                    self.opaque.append(why)
                if isinstance(sub.func, ast.Name):
                    self._called.add(id(sub.func))  # judged with its arguments here
                if isinstance(sub.func, ast.Name) and sub.func.id == "super" and not sub.args and not sub.keywords:
                    self.zero_arg_super = True
            elif isinstance(sub, ast.Attribute):
                if sub.attr in _FRAME_NAMES:
                    self.opaque.append(f".{sub.attr} (a frame)")
                elif isinstance(sub.value, ast.Name) and sub.value.id == "inspect" and sub.attr in _INSPECT_FRAMES:
                    self.opaque.append(f"inspect.{sub.attr}")
            todo.extend(ast.iter_child_nodes(sub))
        return frozenset(stored)

    def literal_text(self, call: ast.Call, live: _Live) -> bool:
        """``eval``/``exec`` of a string literal that sees the locals: its names are read here
        (what exec binds goes to a snapshot of the locals, not to them). False where the text
        is not a literal, or not Python."""
        text = call.args[0] if call.args else None
        if not (isinstance(text, ast.Constant) and isinstance(text.value, str)):
            return False
        func = call.func
        mode = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        try:
            tree = ast.parse(text.value, mode="eval" if mode == "eval" else "exec")
        except (SyntaxError, ValueError):
            return False
        if isinstance(tree, ast.Expression):
            self.expr(tree.body, live)
        elif isinstance(tree, ast.Module):
            self.block(tree.body, live)
        return True

    def defaults(self, args: ast.arguments, live: _Live) -> None:
        for d in [*args.defaults, *(k for k in args.kw_defaults if k is not None)]:
            self.expr(d, live)

    def comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp, live: _Live) -> None:
        # The first iterable runs here; the rest in the comprehension's own scope, where its
        # targets are its own names.
        self.expr(node.generators[0].iter, live)
        own = {n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}
        inner = live - own
        for i, g in enumerate(node.generators):
            if i:
                self.expr(g.iter, inner)
            for cond in g.ifs:
                self.expr(cond, inner)
        for part in (node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,):
            self.expr(part, inner)

    def nested(self, args: ast.arguments | None, body: Sequence[ast.AST], live: _Live) -> None:
        """A nested function's (or lambda's) body: it reads our parameters that it does not bind."""
        own = set(_bound_here(body))
        if args is not None:
            own |= {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg] if a is not None}
        inner = live - own
        stmts = [b for b in body if isinstance(b, ast.stmt)]
        if stmts:
            self.block(stmts, inner)
        for b in body:
            if not isinstance(b, ast.stmt):
                self.expr(b, inner)

    # --- statements --------------------------------------------------------------------

    def block(self, stmts: list[ast.stmt], live: _Live) -> _Live:
        """``live`` after ``stmts``; empty where no path goes on (return, raise, break, continue)."""
        for stmt in stmts:
            live = self.stmt(stmt, live)
        return live

    def stmt(self, s: ast.stmt, live: _Live) -> _Live:
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for d in s.decorator_list:
                self.expr(d, live)
            self.defaults(s.args, live)
            self.nested(s.args, list(s.body), live)
            return live - {s.name}
        if isinstance(s, ast.ClassDef):
            for e in [*s.decorator_list, *s.bases, *(k.value for k in s.keywords)]:
                self.expr(e, live)
            self.class_body(s.body, live)
            return live - {s.name}
        if isinstance(s, ast.Assign):
            walrus = self.expr(s.value, live)
            stored: set[str] = set()
            for t in s.targets:
                stored |= self.target(t, live)
            return live - walrus - stored
        if isinstance(s, ast.AugAssign):
            walrus = self.expr(s.value, live)
            if isinstance(s.target, ast.Name):
                if s.target.id in live:
                    self.read.add(s.target.id)  # x += 1 reads x first
                return live - walrus - {s.target.id}
            return live - walrus - self.target(s.target, live)
        if isinstance(s, ast.AnnAssign):
            if s.value is None:
                return live  # a local annotation binds nothing and is not evaluated
            walrus = self.expr(s.value, live)
            return live - walrus - self.target(s.target, live)
        if isinstance(s, (ast.For, ast.AsyncFor)):
            walrus = self.expr(s.iter, live)
            head = live - walrus
            # Bindings only leave: the first pass, from the state before the loop, reads the
            # most. The loop may run no time at all.
            end = self.block(s.body, head - self.target(s.target, head))
            return self.block(s.orelse, head | end) | head
        if isinstance(s, ast.While):
            head = live - self.expr(s.test, live)
            end = self.block(s.body, head)
            return self.block(s.orelse, head | end) | head
        if isinstance(s, ast.If):
            head = live - self.expr(s.test, live)
            return self.block(s.body, head) | self.block(s.orelse, head)
        if isinstance(s, (ast.With, ast.AsyncWith)):
            for item in s.items:
                live = live - self.expr(item.context_expr, live)
                if item.optional_vars is not None:
                    live = live - self.target(item.optional_vars, live)
            end = self.block(s.body, live)
            return live | end  # a context manager may swallow an exception before any binding
        if isinstance(s, _TRY):
            # A handler may start anywhere in the body: bindings only leave, so from its start.
            end = self.block(s.orelse, self.block(s.body, live))
            for h in s.handlers:
                self.expr(h.type, live)
                inner = live - {h.name} if h.name else live
                handled = self.block(h.body, inner)
                end |= handled - {h.name} if h.name else handled  # the name is deleted after
            return self.block(s.finalbody, end | live) if s.finalbody else end
        if isinstance(s, ast.Match):
            head = live - self.expr(s.subject, live)
            out = head  # no case may match
            for case in s.cases:
                captured = set(captures(case.pattern))
                self.expr(case.pattern, head)  # value patterns read names
                inner = head - captured
                inner = inner - self.expr(case.guard, inner)
                out |= self.block(case.body, inner)
            return out
        if isinstance(s, (ast.Import, ast.ImportFrom)):
            return live - {(a.asname or a.name).split(".")[0] for a in s.names}
        if isinstance(s, ast.Delete):
            gone: set[str] = set()
            for t in s.targets:
                gone |= self.target(t, live)
            return live - gone
        if isinstance(s, (ast.Return, ast.Raise)):
            for part in ast.iter_child_nodes(s):
                self.expr(part, live)
            return _NOTHING
        if isinstance(s, (ast.Break, ast.Continue)):
            return _NOTHING
        if isinstance(s, (ast.Global, ast.Nonlocal)):
            return live
        walrus = _NOTHING
        for part in ast.iter_child_nodes(s):
            walrus |= self.expr(part, live)
        return live - walrus

    def target(self, t: ast.expr, live: _Live) -> set[str]:
        """The names a store (or del) target binds; reads in it (``x[i] = ``, ``x.a = ``) recorded."""
        names: set[str] = set()
        if isinstance(t, ast.Name):
            names.add(t.id)
        elif isinstance(t, (ast.Tuple, ast.List)):
            for e in t.elts:
                names |= self.target(e, live)
        elif isinstance(t, ast.Starred):
            names |= self.target(t.value, live)
        else:  # an attribute or subscript: the object is read
            self.expr(t, live)
        return names

    def class_body(self, body: list[ast.stmt], live: _Live) -> None:
        """A class body sees our names unless it binds them; its methods see ours, not its."""
        own = set(_bound_here(body))
        inner = live - own
        for s in body:
            if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for d in s.decorator_list:
                    self.expr(d, inner)
                self.defaults(s.args, inner)
                self.nested(s.args, list(s.body), live)  # the class scope is skipped
            else:
                self.stmt(s, inner)




def _bound_here(body: Sequence[ast.AST]) -> set[str]:
    """The names a scope binds itself (stores, defs, imports, handlers, captures), less those it
    declares ``nonlocal``; ``global`` names are not the enclosing function's either."""
    bound: set[str] = set()
    nonlocal_: set[str] = set()
    todo: list[ast.AST] = list(body)
    while todo:
        n = todo.pop()
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            bound.add(n.id)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(n.name)
            todo.extend(n.decorator_list)
            if not isinstance(n, ast.ClassDef):
                todo.extend([*n.args.defaults, *(k for k in n.args.kw_defaults if k is not None)])
            else:
                todo.extend([*n.bases, *(k.value for k in n.keywords)])
            continue  # its body is its own scope
        elif isinstance(n, ast.Lambda):
            todo.extend([*n.args.defaults, *(k for k in n.args.kw_defaults if k is not None)])
            continue
        elif isinstance(n, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            todo.append(n.generators[0].iter)
            todo.extend(x for x in ast.walk(n) if isinstance(x, ast.NamedExpr))  # a walrus binds out here
            continue
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            bound |= {(a.asname or a.name).split(".")[0] for a in n.names}
        elif isinstance(n, ast.ExceptHandler) and n.name:
            bound.add(n.name)
        elif isinstance(n, ast.Global):
            bound |= set(n.names)
        elif isinstance(n, ast.Nonlocal):
            nonlocal_ |= set(n.names)
        elif isinstance(n, ast.pattern):
            bound |= set(captures(n))
        todo.extend(ast.iter_child_nodes(n))
    return bound - nonlocal_


def usage_of(fn: object, params: tuple[Parameter, ...]) -> tuple[Parameter, ...]:
    """``params`` (read from ``fn`` at run time) with ``used`` read from ``fn``'s own ``def`` in
    its source file, where ``fn`` is a plain function whose code is that ``def``'s and whose
    parameters the ``def`` spells the same way. Anything else is left as it is: unknown."""
    code = getattr(fn, "__code__", None)
    if not isinstance(fn, types.FunctionType) or hasattr(fn, "__wrapped__") or not isinstance(code, types.CodeType):
        return params
    try:
        with tokenize.open(code.co_filename) as f:
            source = f.read()
        tree = ast.parse(source)
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return params
    for node in ast.walk(tree):
        if (
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == code.co_name
            and min([node.lineno, *(d.lineno for d in node.decorator_list)]) == code.co_firstlineno
        ):  # fmt: skip
            static = parameters(node, source)
            if [(p.name, p.kind) for p in static] != [(p.name, p.kind) for p in params]:
                return params  # the file is not what was imported
            used = {p.name: p.used for p in with_usage(node, static)}
            return tuple(p.model_copy(update={"used": used[p.name]}) for p in params)
    return params


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
