"""The three-valued gate: supported passes, unknown warns once and passes, unsupported raises.

Every :class:`UnsupportedFeatureError` comes from :func:`capabilities.errors.unsupported_error`,
so the registry, the runner and the CLI say it alike.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings

from .errors import (
    IgnoredOptionWarning,
    NotPrebuiltError,
    UnverifiedFeatureWarning,
    UsageError,
    did_you_mean,
    explain,
    unsupported_error,
)
from .model import Support
from ._registry import probe
from ._report import CapabilityReport

_HERE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _checked_report(report: object) -> CapabilityReport:
    if report is None:
        return probe()
    if not isinstance(report, CapabilityReport):
        raise UsageError(f"report= must be a CapabilityReport (from capabilities.probe()), not {type(report).__name__}")
    return report


def require(
    *names: str,
    report: CapabilityReport | None = None,
    requested_by: str | None = None,
    fix: str | None = None,
) -> CapabilityReport:
    """Raise :class:`UnsupportedFeatureError` unless every named feature is ``supported``.

    ``requested_by`` names what asked for the features and ``fix`` replaces the
    default advice, both for the message. Returns the report checked against.
    """
    report = _checked_report(report)
    bad = [n for n in names if not isinstance(n, str) or not n]
    if bad:
        raise UsageError(f"require() takes feature names as separate str arguments, require('a', 'b') (or require(*names)), not {bad[0]!r}")
    missing = [n for n in dict.fromkeys(names) if report.support(n) is not Support.SUPPORTED]
    if missing:
        raise unsupported_error(report, missing, requested_by=requested_by, fix=fix) from None
    return report


def require_prebuilt(*modules: str, report: CapabilityReport | None = None) -> CapabilityReport:
    """Raise :class:`NotPrebuiltError` unless every named JIT module is built already, for
    each architecture requests are checked for (``report.archs``): a server can then fail
    at deploy time instead of compiling for minutes on its first request."""
    report = _checked_report(report)
    bad = [m for m in modules if not isinstance(m, str) or not m]
    if bad:
        raise UsageError(f"require_prebuilt() takes JIT module names as str arguments, such as 'module_moe_asm', not {bad[0]!r}")
    jit, archs = report.jit, report.archs.names
    lines = []
    for name in sorted(set(modules)):
        module = jit.modules.get(name)
        if module is None:
            offer = did_you_mean(name, jit.modules) or f" ({len(jit.modules)} modules are listed)"
            lines.append(f"  {name}: not a JIT module of {report.aiter.describe()}{offer}")
        elif not module.prebuilt:
            searched = ", ".join(jit.dirs) or "no JIT folder"
            lines.append(f"  {name}: not prebuilt (no {name}.so in {searched}): the first call of its kernels will compile it")
        elif archs and not set(archs) <= set(module.archs):
            missing = ", ".join(sorted(set(archs) - set(module.archs)))
            built = ", ".join(module.archs) or "no arch it names"
            lines.append(f"  {name}: built at {module.path} for {built}, not for {missing}: the first call will compile it again")
    if lines:
        unbuilt = tuple(line.split(":")[0].strip() for line in lines)
        target = f" for {', '.join(archs)}" if archs else ""
        raise NotPrebuiltError(
            f"{len(lines)} JIT module(s) not prebuilt{target} in {report.aiter.describe()}:\n" + "\n".join(lines)
            + "\nFix: build them ahead of serving (import and call each kernel once on this GPU, or set AITER_JIT_DIR "
            "to a folder of built modules), or accept a first call that compiles for minutes.",
            modules=unbuilt,
        )
    return report


_warned: set[tuple[str | None, str | None, str]] = set()
_warned_lock = threading.Lock()


def _caller_stacklevel(internal: tuple[str, ...]) -> int:
    """The stacklevel of the first frame outside this package and ``internal`` folders."""
    prefixes = (_HERE, *internal)
    frame = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(prefixes):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def warn_once(report: CapabilityReport, name: str, internal: tuple[str, ...], category: type[Warning], message: str) -> None:
    key = (report.aiter.distribution, report.aiter.version, f"{category.__name__}:{name}")
    with _warned_lock:
        first = key not in _warned
        _warned.add(key)
    if first:
        warnings.warn(message, category, stacklevel=_caller_stacklevel(internal))


def gate(
    name: str,
    *,
    report: CapabilityReport | None = None,
    requested_by: str,
    fix: str | None = None,
    internal: tuple[str, ...] = (),
) -> Support:
    """Supported: pass (warn once if the function accepts it but never reads it).
    Unknown: warn once per build and feature, then pass. Unsupported: raise
    :class:`UnsupportedFeatureError`.

    The warning points at the first frame outside this package and the folders
    in ``internal`` (a library that gates on behalf of its callers names itself).
    """
    report = _checked_report(report)
    if not isinstance(name, str) or not name:
        raise UsageError(f"gate() takes a feature name (a str such as 'no_combine'), not {name!r}")
    if not isinstance(requested_by, str):
        raise UsageError(f"gate(requested_by=...) names what asks for the feature, as a str, not {requested_by!r}")
    feature = report.feature(name)
    support = feature.support
    if support is Support.UNKNOWN:
        warn_once(
            report, name, internal, UnverifiedFeatureWarning,
            f"{requested_by}: forwarding '{name}' unverified to {report.aiter.describe()}: {explain(report, name)}",
        )  # fmt: skip
    elif support is Support.SUPPORTED and feature.used is False:
        warn_once(
            report, name, internal, IgnoredOptionWarning,
            f"{requested_by}: '{name}' is accepted and ignored by {report.aiter.describe()} (its body never reads it), "
            "so passing it changes nothing",
        )  # fmt: skip
    elif support is Support.UNSUPPORTED:
        raise unsupported_error(report, (name,), requested_by=requested_by, fix=fix) from None
    return support
