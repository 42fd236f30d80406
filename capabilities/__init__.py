"""Call ``probe()``: what the installed AITER can do, learned once from its files, truthfully.

    import capabilities

    report = capabilities.probe()                # a frozen CapabilityReport, cached per process
    report.support("no_combine")                 # Support.SUPPORTED, UNSUPPORTED or UNKNOWN
    report.feature("QuantType.per_1x32").detail  # why, from the evidence
    capabilities.require("no_combine")           # UnsupportedFeatureError unless supported
    capabilities.check_call("topk_softmax", ["need_renorm"], args=4)  # Python's binding rules

The public API:

- ask once: ``probe(runtime=, aiter_path=, arch=)``, ``clear_cache()``,
  ``report_for()``, ``CapabilityReport`` (``.feature``, ``.support``, ``.resolve``);
- gate a request: ``require(*names)``, ``gate(name)`` (``unknown`` warns once),
  ``require_prebuilt(*jit_modules)``;
- any AITER name or call: ``check_call()``, ``bind()``, ``enum_value()``;
- many ranks: ``agree()`` -> ``Agreement``;
- the answers: ``Support``, ``Feature``, ``AiterStatus`` (every value type is in
  :mod:`capabilities.model`);
- errors (:mod:`capabilities.errors`): ``CapabilityError``, ``UnsupportedFeatureError``,
  ``InvalidCallError``, ``InvalidKwargsError``, ``UnknownMemberError``,
  ``NotPrebuiltError``, ``AgreementError``, ``UsageError``; warnings
  ``UnverifiedFeatureWarning``, ``IgnoredOptionWarning``;
- fake AITERs for your tests: :mod:`capabilities.testing`;
- the runner that checks fused_moe calls before dispatch: the package ``runners``.

From a shell: ``python -m capabilities`` (or ``aiter-capabilities report``) prints the
report; ``aiter-capabilities scan PATH`` checks every AITER call in a code base.

Docs: README.md, docs/report.md (every field and exit code), docs/scan.md,
docs/integration.md (the runner, SGLang, every error), docs/testing.md.

Names load on first use, so ``import capabilities`` costs no pydantic.
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
    return sorted({*__all__, *_MODULES, "__version__"})  # the public names only


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
