"""The errors a runner raises on top of the capability errors it re-exports."""

from __future__ import annotations

from capabilities import CapabilityError


class InvalidConfigError(CapabilityError, ValueError):
    """A runner config field has a value outside its choices."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class InvalidInputError(CapabilityError, ValueError):
    """A value handed to the runner has the wrong type, rank, size or dtype, or options clash."""


class KwargCollisionError(CapabilityError, ValueError):
    """A pass-through kwarg names an argument that the runner sets itself."""

    def __init__(self, message: str, *, kwargs: tuple[str, ...]) -> None:
        super().__init__(message)
        self.kwargs = kwargs
        self.kwarg = kwargs[0] if kwargs else None


class AiterUnavailableError(CapabilityError, RuntimeError):
    """``backend="aiter"`` was asked for, and no usable AITER kernel can be had."""
