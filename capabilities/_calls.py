"""Negotiated calls for any AITER name: check a call the way Python binds it, once.

``check_call("topk_softmax", kwargs, args=3)`` applies Python's own binding
rules to the installed build's signature (too many positional arguments, a
missing required one, an unknown keyword, a value given twice, a
positional-only parameter by keyword) and raises what Python would, before the
call, with the build, the signature's file and line, and the fix.
``bind("mla_decode_fwd", causal=True)`` checks its keywords once and imports
the function on its first call. :func:`resolve` says what any dotted name is.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
import inspect
import threading
import types
import warnings
from types import MappingProxyType
from typing import Any, Literal, overload

from ._catalog import is_stub_name
from ._entry_catalog import ENTRY_POINTS
from .errors import (
    IgnoredOptionWarning,
    InvalidCallError,
    InvalidKwargsError,
    UnknownMemberError,
    UnverifiedFeatureWarning,
    UsageError,
    did_you_mean,
    unsupported_error,
)
from ._gate import _checked_report, gate, warn_once
from .model import Parameter, ParameterKind, Resolution, Support
from ._runtime import signature_of
from ._report import CapabilityReport, dotted_name, resolver_for

Answer = Literal["ok", "fails", "unknown"]


@dataclass(frozen=True)
class CallShape:
    """How a call passes its arguments: ``args`` positional ones (a lower bound with
    ``star_args``, a ``*iterable``), ``keywords`` by name, ``maybe`` keywords that a
    ``**dict`` holds only on some paths, ``star_kwargs`` for a ``**mapping`` whose keys
    cannot be read, and ``partial`` where the call passes more than this (only what is
    described is checked: nothing counts as missing)."""

    args: int = 0
    keywords: tuple[str, ...] = ()
    star_args: bool = False
    star_kwargs: bool = False
    maybe: tuple[str, ...] = ()
    partial: bool = False
    repeated: tuple[str, ...] = ()  # keywords the call gives twice (``b=2, **{"b": 3}``)


@dataclass(frozen=True)
class Verdict:
    """``ok``: Python binds it; ``fails``: Python raises TypeError (``why`` says it as Python
    would); ``unknown``: it depends on what cannot be read (``why`` says what)."""

    answer: Answer
    why: str
    unexpected: tuple[str, ...] = ()  # keywords the function does not take


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _names(names: list[str]) -> str:
    quoted = [f"'{n}'" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + f" and {quoted[-1]}"


def judge(short: str, params: tuple[Parameter, ...], shape: CallShape) -> Verdict:
    """What Python does when ``short(<shape>)`` meets ``params``: the binding rules of
    ``inspect.Signature.bind`` and of the interpreter, in their order."""
    K = ParameterKind
    if shape.repeated:  # raised by the call itself, whatever the function takes
        return Verdict("fails", f"{short}() got multiple values for keyword argument '{shape.repeated[0]}'")
    positional = [p for p in params if p.kind in (K.POSITIONAL_ONLY, K.POSITIONAL_OR_KEYWORD)]
    var_args = any(p.kind is K.VAR_POSITIONAL for p in params)
    var_kwargs = any(p.kind is K.VAR_KEYWORD for p in params)
    n = shape.args
    if n > len(positional) and not var_args:
        least = sum(1 for p in positional if p.default is None)
        takes = f"from {least} to {len(positional)}" if least != len(positional) else str(len(positional))
        given = "was" if n == 1 else "were"
        return Verdict("fails", f"{short}() takes {takes} positional argument{'s' if takes != '1' else ''} but {n} {given} given")
    by_position = {p.name for p in positional[:n]}
    by_name = {p.name: p for p in params if p.kind not in (K.VAR_POSITIONAL, K.VAR_KEYWORD)}
    unexpected: list[str] = []
    posonly: list[str] = []
    for k in shape.keywords:
        p = by_name.get(k)
        if p is not None and p.kind is K.POSITIONAL_ONLY:
            if not var_kwargs:
                posonly.append(k)
        elif p is not None and k in by_position:
            return Verdict("fails", f"{short}() got multiple values for argument '{k}'")
        elif p is None and not var_kwargs:
            unexpected.append(k)
    if posonly:
        return Verdict("fails", f"{short}() got some positional-only arguments passed as keyword arguments: '{', '.join(posonly)}'")
    if unexpected:
        return Verdict("fails", f"{short}() got an unexpected keyword argument '{unexpected[0]}'", tuple(unexpected))
    if shape.partial:  # the rest of the call is not described: nothing can be missing
        if shape.star_kwargs:
            return Verdict("unknown", "the keys of its **mapping cannot be read, so what they bind cannot be told")
        return Verdict("ok", "Python takes these arguments (the rest of the call is not checked)")
    bound = by_position | {k for k in (*shape.keywords, *shape.maybe) if k in by_name and by_name[k].kind is not K.POSITIONAL_ONLY}
    missing_pos = [p.name for p in positional if p.default is None and p.name not in bound]
    missing_kw = [p.name for p in params if p.kind is K.KEYWORD_ONLY and p.default is None and p.name not in bound]
    only_maybe = [p.name for p in params if p.default is None and p.name in shape.maybe and p.name not in by_position and p.name not in shape.keywords]
    open_ended = shape.star_args or shape.star_kwargs
    if missing_pos and not open_ended:
        return Verdict("fails", f"{short}() missing {plural(len(missing_pos), 'required positional argument')}: {_names(missing_pos)}")
    if missing_kw and not shape.star_kwargs:
        return Verdict("fails", f"{short}() missing {plural(len(missing_kw), 'required keyword-only argument')}: {_names(missing_kw)}")
    if shape.star_kwargs:
        return Verdict("unknown", "the keys of its **mapping cannot be read, so what they bind cannot be told")
    if only_maybe:
        return Verdict("unknown", f"{_names(only_maybe)} come only from its **dict, which holds them on some paths only")
    maybe = [k for k in shape.maybe if k not in shape.keywords]
    if maybe:
        refused = [k for k in maybe if (k not in by_name and not var_kwargs) or k in by_position or (k in by_name and by_name[k].kind is K.POSITIONAL_ONLY and not var_kwargs)]
        if refused:
            return Verdict("unknown", f"its **dict holds {_names(refused)} on some paths only, which {short}() would refuse there")
    if shape.star_args:
        later = [k for k in shape.keywords if k in by_name and k not in by_position and by_name[k].kind is not K.KEYWORD_ONLY]
        if not var_args and (len(positional) > n or missing_pos) or later:
            return Verdict("unknown", "its *iterable's length cannot be read, so which parameters it fills cannot be told")
        if not var_args and n == len(positional):
            return Verdict("unknown", f"{short}() takes {len(positional)} positional arguments, all given before the *iterable, which must then be empty")
    return Verdict("ok", "Python binds it")


def signature_text(short: str, params: tuple[Parameter, ...]) -> str:
    """``f(a, b=1, *, c)`` as the source writes it."""
    out: list[str] = []
    star = False
    for i, p in enumerate(params):
        if p.kind is ParameterKind.VAR_POSITIONAL:
            out.append(f"*{p.name}")
            star = True
        elif p.kind is ParameterKind.VAR_KEYWORD:
            out.append(f"**{p.name}")
        else:
            if p.kind is ParameterKind.KEYWORD_ONLY and not star:
                out.append("*")
                star = True
            out.append(p.name if p.default is None else f"{p.name}={p.default}")
        nxt = params[i + 1] if i + 1 < len(params) else None
        if p.kind is ParameterKind.POSITIONAL_ONLY and (nxt is None or nxt.kind is not ParameterKind.POSITIONAL_ONLY):
            out.append("/")
    return f"{short}({', '.join(out)})"


_NOT_CALLABLE = frozenset({"module", "enum_member", "constant"})  # calling one raises TypeError


def call_verdict(short: str, r: Resolution, shape: CallShape, *, through_instance: bool = False) -> Verdict:
    """The one verdict for a call of a resolved name, for check_call and the scan alike: a
    module, enum member or constant cannot be called; a function or class binds by its
    signature (``through_instance``: a class attribute read through an instance, so a
    function receives self); anything else, or a signature that cannot be read, is unknown.
    A Triton kernel's launch takes launch options as keywords, and autotune or heuristics
    configs may fill parameters in: those failures are unknown."""
    if r.status == "missing":
        return Verdict("fails", f"absent from this AITER: {r.detail}")
    if r.status == "unknown":
        return Verdict("unknown", r.detail)
    if r.kind in _NOT_CALLABLE:
        return Verdict("fails", f"{short} is a {r.kind.replace('_', ' ')}, which cannot be called ({r.detail})")
    if r.kind not in ("function", "class"):
        return Verdict("unknown", f"{r.detail}: how a call of it binds cannot be read")
    if r.parameters is None:
        return Verdict("unknown", f"{r.detail}: its signature cannot be read")
    if through_instance:
        if r.kind != "function" or r.kernel is not None:
            return Verdict("unknown", f"{r.detail}: read through an instance, whether it receives self cannot be told")
        shape = replace(shape, args=shape.args + 1)
    verdict = judge(short, r.parameters, shape)
    if r.kernel is not None and verdict.answer == "fails" and verdict.unexpected:
        return Verdict("unknown", f"{verdict.why}; a Triton kernel launch takes launch options (num_warps, ...) as keywords too")
    if r.kernel == "tuned" and verdict.answer == "fails" and "missing" in verdict.why:
        return Verdict("unknown", f"{verdict.why}; its autotune or heuristics configs may give those")
    return verdict


# --- names -------------------------------------------------------------------------------


def _resolver(report: CapabilityReport) -> Any:
    return resolver_for(report)


def resolve(name: str, *, report: CapabilityReport | None = None) -> Resolution:
    """What any dotted AITER name is in ``report``'s build (default: :func:`probe`): a
    function with its signature; a class, module, enum, enum member, constant, instance
    or value by kind; ``missing``; or ``unknown`` with why. Read from the same files as
    the report, parsing each module at most once."""
    dotted = dotted_name(name)
    return _report(report).resolve(dotted)


def _report(report: object) -> CapabilityReport:
    return _checked_report(report)


def _keywords(kwargs: object) -> tuple[str, ...]:
    if isinstance(kwargs, (str, bytes)):
        raise UsageError(f"kwargs must be a collection of keyword names, not the string {kwargs!r} (did you mean [{kwargs!r}]?)")
    if isinstance(kwargs, Mapping):
        kwargs = list(kwargs)
    if not isinstance(kwargs, Iterable):
        raise UsageError(f"kwargs must be a collection of keyword names (a list, or a dict's keys), not {type(kwargs).__name__}")
    names = list(kwargs)
    bad = [k for k in names if not isinstance(k, str)]
    if bad:
        raise UsageError(f"keyword names are str, not {', '.join(repr(b) for b in bad)}")
    return tuple(dict.fromkeys(names))


# --- checking a call -------------------------------------------------------------------------


@overload
def check_call(
    name: str,
    kwargs: Iterable[str] = (),
    *,
    args: int = 0,
    star_args: bool = False,
    star_kwargs: bool = False,
    partial: bool = False,
    report: CapabilityReport | None = None,
) -> CapabilityReport: ...


@overload
def check_call(
    name: Callable[..., Any],
    kwargs: Iterable[str] = (),
    *,
    args: int = 0,
    star_args: bool = False,
    star_kwargs: bool = False,
    partial: bool = False,
    report: None = None,
) -> None: ...


def check_call(
    name: str | Callable[..., Any],
    kwargs: Iterable[str] = (),
    *,
    args: int = 0,
    star_args: bool = False,
    star_kwargs: bool = False,
    partial: bool = False,
    report: CapabilityReport | None = None,
) -> CapabilityReport | None:
    """Check a call of any AITER function against the installed build, as Python binds it.

    ``args`` positional arguments and the keyword names ``kwargs``; ``star_args``:
    the call also passes ``*iterable`` (``args`` is then a lower bound);
    ``star_kwargs``: it passes a ``**mapping`` whose keys cannot be read; ``partial``:
    the call passes more than these (a pass-through dict checked on its own), so
    nothing counts as missing. Raises :class:`UnsupportedFeatureError` where the name does not resolve in this
    build, :class:`InvalidKwargsError` for keywords it does not take (with "did you
    mean"), :class:`InvalidCallError` (a TypeError) for any other binding error;
    warns once and passes where the answer is ``unknown``. Returns the report.

    ``name`` may also be the function itself, already imported (``from aiter.fused_moe
    import fused_moe``): the call is then checked against what that object binds, which
    is what the call will meet (a test's fake, a server's patch). Its signature is read
    once per function and each call shape is checked once; it returns None.
    """
    if not isinstance(name, str) and report is None and type(kwargs) in _PLAIN and type(args) is int and type(star_args) is type(star_kwargs) is type(partial) is bool:
        # The hot path: a shape checked before costs one lookup (no validation, no CallShape).
        try:
            if (name, tuple(kwargs), args, star_args, star_kwargs, partial) in _checked_callables:
                return None
        except TypeError:  # an unhashable callable: checked every time
            pass
    keywords = _keywords(kwargs)
    if isinstance(args, bool) or not isinstance(args, int) or args < 0:
        raise UsageError(f"args= is how many positional arguments the call passes (an int >= 0), not {args!r}")
    for flag, value in (("star_args", star_args), ("star_kwargs", star_kwargs), ("partial", partial)):
        if not isinstance(value, bool):
            raise UsageError(f"{flag}= must be True or False, not {value!r}")
    if callable(name) and not isinstance(name, str):
        if report is not None:
            raise UsageError("report= goes with an AITER name; a function is checked against its own signature")
        _check_callable(name, CallShape(args, keywords, star_args, star_kwargs, partial=partial))
        return None
    dotted = dotted_name(name)
    report = _report(report)
    short = dotted.rsplit(".", 1)[1]
    requested_by = f"a call of {dotted}"
    if not report.aiter.is_aiter:  # no AITER: every name gets the same answer, for that one reason
        why = "; ".join(c for c in report.aiter.detail.split("; ") if report.aiter.install_hint not in c) or report.aiter.detail
        raise unsupported_error(report, (short,), requested_by=requested_by, details={short: f"{short}: unsupported: {why}"})
    target = _target(report, dotted, requested_by)
    if target is None:
        return report  # unknown: warned once, passed
    params = target.parameters or ()
    verdict = call_verdict(short, target, CallShape(args, keywords, star_args, star_kwargs, partial=partial))
    if verdict.answer == "fails":
        raise _call_error(report, dotted, short, params, target.where, verdict)
    if verdict.answer == "unknown":
        warn_once(report, f"{dotted}:call", (), UnverifiedFeatureWarning, f"{requested_by}: {verdict.why}")
        return report
    catalogued = dotted in ENTRY_POINTS
    for k in keywords:
        if catalogued:
            gate(_feature(short, k), report=report, requested_by=f"{requested_by} with {k}=")  # ignored or unknown: warn once
        else:
            p = next((p for p in params if p.name == k), None)
            if p is not None and p.used is False:
                warn_once(report, f"{dotted}.{k}", (), IgnoredOptionWarning,
                          f"{requested_by} with {k}=: '{k}' is accepted and ignored by {report.aiter.describe()} (its body never reads it)")  # fmt: skip
    return report


def _feature(short: str, keyword: str) -> str:
    return keyword if short == "fused_moe" else f"{short}.{keyword}"


def _target(report: CapabilityReport, dotted: str, requested_by: str) -> Resolution | None:
    """What the call meets, with its signature; None where that is unknown (warned); raises
    where the name is not a callable of this build."""
    short = dotted.rsplit(".", 1)[1]
    if dotted in ENTRY_POINTS:
        if gate(short, report=report, requested_by=requested_by) is not Support.SUPPORTED:
            return None
        ep = report.entry_points[dotted]
        return Resolution("resolved", "function", ep.file, ep.line, ep.decorators, ep.parameters or (), ep.detail)
    r = resolve(dotted, report=report)
    if r.status == "missing":
        moved = _moved(report, short)
        hint = did_you_mean(short, _siblings(report, dotted)) or (f"; it lives at {', '.join(moved)}" if moved else "")
        raise unsupported_error(
            report, (dotted,), requested_by=requested_by,
            fix="call it where this build defines it, or install an AITER build that has it",
            details={dotted: f"{dotted}: missing: {r.detail}{hint}"},
        ) from None  # fmt: skip
    if r.status == "unknown" or r.parameters is None:
        verdict = call_verdict(short, r, CallShape(partial=True))
        if verdict.answer == "fails":
            raise InvalidCallError(f"{verdict.why.replace(short, f'{short} in {report.aiter.describe()}', 1)}.", function=dotted, version=report.aiter.version)
        warn_once(report, f"{dotted}:resolve", (), UnverifiedFeatureWarning, f"{requested_by}: passed unverified: {verdict.why}")
        return None
    return r


def _siblings(report: CapabilityReport, dotted: str) -> list[str]:
    resolver = _resolver(report)
    module = dotted.rsplit(".", 1)[0]
    return [] if resolver is None else list(resolver.names(module))


def _moved(report: CapabilityReport, short: str) -> list[str]:
    resolver = _resolver(report)
    return [] if resolver is None else list(resolver.defined(short))


# (function, keyword names, args, star_args, star_kwargs, partial) of each call checked and
# passed: the check is paid once per shape.
_Key = tuple[Callable[..., Any], tuple[str, ...], int, bool, bool, bool]
_checked_callables: dict[_Key, None] = {}
_checked_lock = threading.Lock()
_MAX_CHECKED = 4096  # shapes are few in a server; a bound keeps a test run's fakes from piling up
_PLAIN = (dict, list, tuple, MappingProxyType)  # kwargs whose keys can be read twice (no iterator)


def _callable_name(fn: Callable[..., Any]) -> tuple[str, str]:
    short = getattr(fn, "__name__", None)
    short = short if isinstance(short, str) else type(fn).__name__
    module = getattr(fn, "__module__", None)
    qual = getattr(fn, "__qualname__", None)
    qual = qual if isinstance(qual, str) else short
    return (f"{module}.{qual}" if isinstance(module, str) else qual), short


def _definition(fn: Callable[..., Any]) -> str:
    try:
        code = getattr(inspect.unwrap(fn), "__code__", None)
    except ValueError:  # a __wrapped__ cycle
        code = None
    if not isinstance(code, types.CodeType):
        return ""
    return f"{code.co_filename}:{code.co_firstlineno}"


def _check_callable(fn: Callable[..., Any], shape: CallShape) -> None:
    dotted, short = _callable_name(fn)
    try:
        params = signature_of(fn)
    except (TypeError, ValueError) as exc:
        verdict = Verdict("unknown", f"its signature cannot be read: {exc}")
    else:
        verdict = judge(short, params, shape)
    key: _Key | None = (fn, shape.keywords, shape.args, shape.star_args, shape.star_kwargs, shape.partial)
    try:
        hash(key)
    except TypeError:  # an unhashable callable: checked on every call
        key = None
    if verdict.answer == "fails":
        raise _call_error(None, dotted, short, params, _definition(fn), verdict)
    if verdict.answer == "unknown":
        warnings.warn(f"a call of {dotted} is not checked: {verdict.why}", UnverifiedFeatureWarning, stacklevel=3)
    if key is not None:
        with _checked_lock:
            if len(_checked_callables) >= _MAX_CHECKED:
                _checked_callables.clear()
            _checked_callables[key] = None


def _call_error(
    report: CapabilityReport | None, dotted: str, short: str, params: tuple[Parameter, ...], where: str, verdict: Verdict
) -> InvalidCallError:
    """The error for a call that Python would not bind; ``report`` None: a function checked
    against its own signature."""
    # A function checked on its own is named in full: no build stands behind it.
    build = f"in {report.aiter.describe()}" if report is not None else "as imported"
    subject = short if report is not None else dotted
    version = report.aiter.version if report is not None else None
    sig = signature_text(short, params)
    at = f" ({where})" if where else ""
    accepted = [p.name for p in params if p.kind.by_keyword]
    if verdict.unexpected:
        lines = []
        for k in verdict.unexpected:
            f = report.feature(_feature(short, k)) if report is not None and dotted in ENTRY_POINTS else None
            detail = f.detail if f is not None and f.support is Support.UNSUPPORTED else f"not a parameter of {short} {build}"
            lines.append(f"  {k}: {detail}{did_you_mean(k, accepted)}")
        stub = params and all(is_stub_name(p.name) for p in params if p.kind is not ParameterKind.VAR_KEYWORD)
        hint = (
            f"This release names its parameters {', '.join(p.name for p in params)}: a stub, so pass them by position."
            if stub
            else f"It accepts by keyword: {', '.join(accepted) or 'nothing'}."
        )
        return InvalidKwargsError(
            f"{subject} {build} does not accept the keyword(s) {list(verdict.unexpected)}: {verdict.why}\n"
            + "\n".join(lines)
            + f"\nThe signature: {sig}{at}. {hint} "
            "Fix: correct the name, call it positionally, or install an AITER build that has it.",
            kwargs=verdict.unexpected,
            version=version,
            function=dotted,
        )
    return InvalidCallError(
        f"{verdict.why}: {build} it is {sig}{at}. Fix: call it as that signature binds, or install the AITER build "
        "your call was written for.",
        function=dotted,
        version=version,
    )


def bind(name: str, /, *, report: CapabilityReport | None = None, **fixed: Any) -> Callable[..., Any]:
    """``name`` with the keywords ``fixed``, checked now; the function is imported on the first call.

    The returned callable passes its own arguments and ``fixed`` on; it does no
    introspection per call (check the positional arguments it will get once, with
    :func:`check_call`, where they are decided).
    """
    dotted = dotted_name(name)
    checked = _report(report)
    short = dotted.rsplit(".", 1)[1]
    target = _target(checked, dotted, f"bind({name!r})")
    if target is not None:  # the positional arguments come per call: only the keywords are known now
        verdict = call_verdict(short, target, CallShape(keywords=tuple(fixed), partial=True))
        if verdict.answer == "fails":
            raise _call_error(checked, dotted, short, target.parameters or (), target.where, verdict)
    module, _, attr = dotted.rpartition(".")
    loaded: list[Callable[..., Any]] = []

    def call(*args: Any, **kwargs: Any) -> Any:
        if not loaded:
            try:
                loaded.append(getattr(importlib.import_module(module), attr))
            except (Exception, SystemExit) as exc:  # AITER's import runs foreign code (RuntimeError without ROCm)
                why = f"import {module} raised {type(exc).__name__}: {exc}"
                raise unsupported_error(
                    checked,
                    (short,),
                    requested_by=f"bind({name!r})",
                    fix=f"run where 'import {module}' works (a ROCm host with a working AITER)",
                    details={short: f"{short}: cannot be imported here: {why}"},
                ) from None
        return loaded[0](*args, **fixed, **kwargs)

    call.__name__ = short
    call.__qualname__ = f"bind({name!r})"
    return call


def enum_value(name: str, report: CapabilityReport | None = None) -> int | None:
    """The integer value of ``"QuantType.per_1x128"`` in the installed build's header:
    None where the header gives an expression; ``KeyError`` where there is no such member."""
    if not isinstance(name, str) or "." not in name:
        raise UsageError(f"enum_value takes 'Enum.member', such as 'QuantType.per_1x128', not {name!r}")
    report = _report(report)
    enum, _, member = name.partition(".")
    values = report.enum_values.get(enum)
    if values is None or member not in values:
        have = sorted(f"{e}.{m}" for e, ms in report.enum_values.items() for m in ms)
        raise UnknownMemberError(f"{name} is not an enum member of {report.aiter.describe()}{did_you_mean(name, have)}", member=name)
    return values[member]

