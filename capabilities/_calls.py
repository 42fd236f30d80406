"""Negotiated calls for any entry point: check the keywords a call site passes, once.

``check_call("topk_softmax", ["num_shared_experts"])`` raises what the runner
raises for ``fused_moe_kwargs``; ``bind("mla_decode_fwd", causal=True)``
returns a callable that checked ``causal`` once and imports the function on
its first call. Only keyword *names* are checked, never values, nor the
positional arguments passed beside them.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable
from typing import Any

from ._entry_catalog import ENTRY_POINTS
from ._errors import InvalidKwargsError, did_you_mean
from ._features import SHORT
from ._gate import gate, unsupported_error
from ._model import ParameterKind, Support
from ._registry import probe
from ._report import CapabilityReport

_STUB = re.compile(r"arg\d+")


def entry_point(name: str) -> tuple[str, str]:
    """``(dotted, short)`` for ``"topk_softmax"``, ``"aiter.topk_softmax"`` or ``"fused_moe"``."""
    if name in ENTRY_POINTS:
        return name, name.rsplit(".", 1)[1]
    if name in SHORT:
        return SHORT[name], name
    known = sorted(SHORT)
    raise ValueError(f"{name!r} is not an entry point this project knows{did_you_mean(name, known)}; known: {', '.join(known)}")


def _feature(short: str, keyword: str) -> str:
    return keyword if short == "fused_moe" else f"{short}.{keyword}"


def check_call(name: str, kwargs: Iterable[str], report: CapabilityReport | None = None) -> CapabilityReport:
    """Check the keyword names a call of entry point ``name`` passes against the build.

    Raises :class:`UnsupportedFeatureError` when the build lacks the entry point,
    :class:`InvalidKwargsError` for a keyword it does not take (with "did you
    mean"), and warns once, then passes, where the answer is ``unknown``.
    """
    dotted, short = entry_point(name)
    report = probe() if report is None else report
    requested_by = f"a call of {dotted}"
    if gate(short, report=report, requested_by=requested_by) is not Support.SUPPORTED:
        return report  # unknown: warned once, passed
    keys = sorted(kwargs)
    bad = [k for k in keys if report.support(_feature(short, k)) is Support.UNSUPPORTED]
    if bad:
        ep = report.entry_points.get(dotted)
        params = () if ep is None else ep.parameters or ()
        accepted = [p.name for p in params if p.kind.by_keyword]
        lines = "\n".join(f"  {k}: {report.feature(_feature(short, k)).detail}{did_you_mean(k, accepted)}" for k in bad)
        stub = params and all(_STUB.fullmatch(p.name) for p in params if p.kind is not ParameterKind.VAR_KEYWORD)
        hint = (
            f"This release names its parameters {', '.join(p.name for p in params)}: a stub, so pass them by position."
            if stub
            else f"It accepts by keyword: {', '.join(accepted) or 'nothing'}."
        )
        raise InvalidKwargsError(
            f"{short} in {report.aiter.describe()} does not accept the keyword(s) {bad}:\n{lines}\n{hint} "
            "Fix: correct the name, call it positionally, or install an AITER build that has it.",
            kwargs=tuple(bad),
            version=report.aiter.version,
        )
    for k in keys:
        gate(_feature(short, k), report=report, requested_by=f"{requested_by} with {k}=")  # unknown, or ignored: warn once
    return report


def bind(name: str, /, *, report: CapabilityReport | None = None, **fixed: Any) -> Callable[..., Any]:
    """``name`` with the keywords ``fixed``, checked now; the function is imported on the first call.

    The returned callable passes its own arguments and ``fixed`` on; it does no
    introspection per call (its own keywords are not checked: check them once
    with :func:`check_call` where they are decided).
    """
    dotted, short = entry_point(name)
    report = check_call(dotted, fixed, report=report)
    module, _, attr = dotted.rpartition(".")
    target: list[Callable[..., Any]] = []

    def call(*args: Any, **kwargs: Any) -> Any:
        if not target:
            try:
                target.append(getattr(importlib.import_module(module), attr))
            except (Exception, SystemExit) as exc:  # AITER's import runs foreign code (RuntimeError without ROCm)
                why = f"import {module} raised {type(exc).__name__}: {exc}"
                raise unsupported_error(
                    report,
                    (short,),
                    requested_by=f"bind({name!r})",
                    fix=f"run where 'import {module}' works (a ROCm host with a working AITER)",
                    details={short: f"{short}: cannot be imported here: {why}"},
                ) from None
        return target[0](*args, **fixed, **kwargs)

    call.__name__ = short
    call.__qualname__ = f"bind({name!r})"
    return call


def enum_value(name: str, report: CapabilityReport | None = None) -> int | None:
    """The integer value of ``"QuantType.per_1x128"`` in the installed build's header:
    None where the header gives an expression; ``KeyError`` where there is no such member."""
    report = probe() if report is None else report
    enum, _, member = name.partition(".")
    values = report.enum_values.get(enum)
    if values is None or member not in values:
        have = sorted(f"{e}.{m}" for e, ms in report.enum_values.items() for m in ms)
        raise KeyError(f"{name} is not an enum member of {report.aiter.describe()}{did_you_mean(name, have)}")
    return values[member]
