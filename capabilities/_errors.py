"""Errors of the project. Each subclasses the builtin a caller would catch."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


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


class KwargCollisionError(CapabilityError, ValueError):
    """A pass-through kwarg names an argument that the runner sets itself."""

    def __init__(self, message: str, *, kwargs: tuple[str, ...]) -> None:
        super().__init__(message)
        self.kwargs = kwargs
        self.kwarg = kwargs[0] if kwargs else None


class InvalidInputError(CapabilityError, ValueError):
    """A value handed to the runner has the wrong type, rank, size or dtype, or options clash."""


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
