"""The project's errors and warnings, and the one builder of the report's error.

Each error subclasses :class:`CapabilityError` and the builtin a caller would
catch (``NotImplementedError`` for an unsupported feature, ``TypeError`` for a
call Python would refuse, ``ValueError``/``TypeError`` for misuse, ``KeyError``
for an enum member the build lacks, ``RuntimeError`` for the rest).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from .model import AiterStatus, Support

if TYPE_CHECKING:
    from ._report import CapabilityReport


class CapabilityError(Exception):
    """Base of every error this project raises about what AITER can do."""


class UnsupportedFeatureError(CapabilityError, NotImplementedError):
    """A requested feature is not ``supported`` by the installed AITER."""

    def __init__(
        self,
        message: str,
        *,
        features: tuple[str, ...],
        distribution: str | None,
        version: str | None,
    ) -> None:
        super().__init__(message)
        self.features = features
        self.feature = features[0] if features else None
        self.distribution = distribution
        self.version = version


class InvalidCallError(CapabilityError, TypeError):
    """A call that Python would refuse to bind against the installed build's signature
    (what it would raise, said before the call): ``.function``, ``.version``."""

    def __init__(self, message: str, *, function: str | None = None, version: str | None = None) -> None:
        super().__init__(message)
        self.function = function
        self.version = version


class InvalidKwargsError(InvalidCallError):
    """A keyword argument that the installed build's function does not take: ``.kwargs``."""

    def __init__(self, message: str, *, kwargs: tuple[str, ...], version: str | None, function: str | None = None) -> None:
        super().__init__(message, function=function, version=version)
        self.kwargs = kwargs
        self.kwarg = kwargs[0] if kwargs else None


class NotPrebuiltError(CapabilityError, RuntimeError):
    """A JIT module that must be built already is not: its first call would compile it."""

    def __init__(self, message: str, *, modules: tuple[str, ...]) -> None:
        super().__init__(message)
        self.modules = modules


class UnknownMemberError(CapabilityError, KeyError):
    """An enum member the installed build does not declare: ``.member``."""

    def __init__(self, message: str, *, member: str) -> None:
        super().__init__(message)
        self.member = member

    def __str__(self) -> str:  # KeyError would print the message quoted
        return str(self.args[0])


class UsageError(CapabilityError, TypeError, ValueError):
    """An argument of the wrong type or value was passed to this project's API; the message
    names the argument and what it must be. Catch it as TypeError or ValueError."""


class AgreementError(CapabilityError, RuntimeError):
    """Ranks could not exchange their reports."""


class UnverifiedFeatureWarning(UserWarning):
    """A feature whose support is ``unknown`` was passed on: accepted, not proven honoured."""


class IgnoredOptionWarning(UserWarning):
    """An option the function accepts but whose body never reads it: passing it does nothing."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for a close match, else ''."""
    close = difflib.get_close_matches(name, sorted(choices), n=3, cutoff=0.6)
    if not close:
        return ""
    return " (did you mean " + " or ".join(repr(c) for c in close) + "?)"


def explain(report: CapabilityReport, name: str) -> str:
    """One line on why ``name`` is what it is in ``report``."""
    feature = report.feature(name)
    hint = "" if name in report.features else did_you_mean(name, report.features)
    return f"{name}: {feature.support.value}: {feature.detail}{hint}"


def _refused(report: CapabilityReport, name: str) -> str:
    """A refused feature's line. One the build takes and is refused all the same is taken but
    not honoured (its body never reads it, or may not): never called supported."""
    feature = report.feature(name)
    if feature.support is Support.SUPPORTED and feature.used is not True:
        why = "" if feature.used is False else "; whether its body reads it cannot be told from its source"
        return f"{name}: accepted, not honoured: {feature.detail}{why}"
    return explain(report, name)


def unsupported_error(
    report: CapabilityReport,
    names: Iterable[str],
    *,
    requested_by: str | None = None,
    fix: str | None = None,
    details: Mapping[str, str] | None = None,
) -> UnsupportedFeatureError:
    """The error for features of ``report`` that are not supported: who asked, which
    build, each feature and why, then the fix. ``details`` replaces a feature's line."""
    ident = report.aiter
    ordered = tuple(sorted(names))
    lines = "\n".join("  " + ((details or {}).get(n) or _refused(report, n)) for n in ordered)
    where = f"{ident.describe()} ({ident.status.value}{', ' + ident.location if ident.location else ''})"
    if ident.status is AiterStatus.IMPOSTOR:
        fix = f"AMD's AITER is the distribution 'amd-aiter', and the 'aiter' installed here is another library: {ident.install_hint}"
    elif ident.status is AiterStatus.ABSENT:
        fix = f"install AMD's AITER: {ident.install_hint}"
    elif fix is None and all(report.feature(n).source in ("kernel_inventory", "upstream_rule") for n in ordered):
        fix = "run on a GPU architecture whose kernels cover them (or name it with --arch / probe(arch=...)), or stop requesting them"
    elif fix is None:
        fix = "install an AITER build that has them, or stop requesting them"
    asked = f"{requested_by} needs " if requested_by else ""
    message = f"{asked}{len(ordered)} feature(s) not supported by {where}:\n{lines}\nFix: {fix}."
    return UnsupportedFeatureError(message, features=ordered, distribution=ident.distribution, version=ident.version)
