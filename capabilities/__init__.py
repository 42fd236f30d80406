"""What the installed AITER can do, learned once and truthfully.

The public API is the names below; value types of the report also live in
:mod:`capabilities.model` and every error in :mod:`capabilities.errors`. Names
load on first use (PEP 562), so ``import capabilities`` costs no pydantic.

The pipeline, one private module a step: collect the facts (``_facts``: where
``aiter`` is and who installed it, ``_distribution``; its source, ``_static``;
every entry point, ``_resolve``; its import, ``_runtime``; the GPUs, ``_gpu``;
the kernels it ships, ``_kernels``) -> decide (``_features`` from ``_catalog``
and ``_entry_catalog``; per architecture, ``_arch``) -> the report
(``_report``) -> cache it (``_registry``) -> gate requests (``_gate``,
``_calls``), agree across ranks (``_agree``), scan a code base (``_scan``) and
print it (``_cli``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

# Public name -> the module that defines it.
_HOME = {
    # ask once
    "probe": "_registry",
    "clear_cache": "_registry",
    "report_for": "_report",
    "CapabilityReport": "_report",
    # gate a request
    "require": "_gate",
    "gate": "_gate",
    "require_prebuilt": "_gate",
    # any AITER name and call
    "check_call": "_calls",
    "bind": "_calls",
    "enum_value": "_calls",
    # many ranks
    "agree": "_agree",
    "Agreement": "_agree",
    # the answers
    "Feature": "model",
    "Support": "model",
    "AiterStatus": "model",
    # errors and warnings
    "CapabilityError": "errors",
    "UnsupportedFeatureError": "errors",
    "InvalidCallError": "errors",
    "InvalidKwargsError": "errors",
    "UnknownMemberError": "errors",
    "NotPrebuiltError": "errors",
    "AgreementError": "errors",
    "UsageError": "errors",
    "UnverifiedFeatureWarning": "errors",
    "IgnoredOptionWarning": "errors",
}

__all__ = list(_HOME)  # and __version__, which is no API to import


# Public modules, reachable as attributes after a plain ``import capabilities``.
_MODULES = ("errors", "model", "testing")


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)  # the import binds it here
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'capabilities' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_MODULES})


if TYPE_CHECKING:  # what mypy sees: the same names, imported eagerly
    from ._agree import Agreement as Agreement
    from ._agree import agree as agree
    from ._calls import bind as bind
    from ._calls import check_call as check_call
    from ._calls import enum_value as enum_value
    from ._gate import gate as gate
    from ._gate import require as require
    from ._gate import require_prebuilt as require_prebuilt
    from ._registry import clear_cache as clear_cache
    from ._registry import probe as probe
    from ._report import CapabilityReport as CapabilityReport
    from ._report import report_for as report_for
    from .errors import AgreementError as AgreementError
    from .errors import CapabilityError as CapabilityError
    from .errors import IgnoredOptionWarning as IgnoredOptionWarning
    from .errors import InvalidCallError as InvalidCallError
    from .errors import InvalidKwargsError as InvalidKwargsError
    from .errors import NotPrebuiltError as NotPrebuiltError
    from .errors import UnknownMemberError as UnknownMemberError
    from .errors import UnsupportedFeatureError as UnsupportedFeatureError
    from .errors import UnverifiedFeatureWarning as UnverifiedFeatureWarning
    from .errors import UsageError as UsageError
    from .model import AiterStatus as AiterStatus
    from .model import Feature as Feature
    from .model import Support as Support
