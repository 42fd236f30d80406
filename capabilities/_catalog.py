"""The features the report lists by default, with the releases that had each.

Derived from the generated catalog (``_entry_catalog``, built from AITER's release
history by ``tools/aiter_history.py``): ``fused_moe``'s parameters and the members of
the enums it takes. Only what no release tag holds is written here. A release is only
a hint for a reader (where to upgrade to, or that a name is gone); it never decides
``supported``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from ._entry_catalog import ENTRY_POINTS, ENUM_MEMBERS, FUSED_MOE_DEFAULTS, LATEST_RELEASE

FUSED_MOE = "aiter.fused_moe.fused_moe"
# fused_moe parameters in no release tag and not on AITER main either.
_UNRELEASED = {"no_combine": "in no release; pull-request builds only, ROCm/aiter#3361"}
# The enums fused_moe takes, whose members the report lists.
_FUSED_MOE_ENUMS = ("ActivationType", "QuantType")


@dataclass(frozen=True)
class Known:
    name: str
    first: str  # first release tag; "HEAD" (AITER main only); or a phrase where no release has it
    last: str | None = None  # last release that has it (HEAD: main still has it)

    @property
    def removed(self) -> bool:
        """Gone from the latest release and from main: only older releases (or a stub) had it."""
        return self.last is not None and self.last not in ("HEAD", LATEST_RELEASE)

    def _releases(self) -> str:
        return f"{self.first}…{self.last}" if self.first != self.last else f"{self.first} only"

    def hint(self) -> str:
        """Where the name stands in AITER's history, to follow a detail's first clause."""
        if self.removed:
            return f": removed after {self.last} (present in {self._releases()})"
        if self.first == "HEAD":
            return " (first in AITER main, after the last release)"
        return f" (first released in {self.first})" if self.first.startswith("v") else f" ({self.first})"

    def fix(self) -> str:
        """What to do about a build that lacks it."""
        if self.removed:
            return f"later releases dropped it: stop passing it, or pin AITER {self._releases()}"
        if self.first == "HEAD":
            return "install AITER built from main"
        return "install an AITER build that has it"


PARAMETERS: tuple[Known, ...] = tuple(Known(n, *span) for n, span in ENTRY_POINTS[FUSED_MOE][1].items()) + tuple(
    Known(n, why) for n, why in _UNRELEASED.items()
)

# Enum members are features named "Enum.member".
ENUMS: dict[str, tuple[Known, ...]] = {e: tuple(Known(m, *span) for m, span in ENUM_MEMBERS[e].items()) for e in _FUSED_MOE_ENUMS}

KNOWN: dict[str, Known] = {k.name: k for k in PARAMETERS} | {f"{e}.{k.name}": k for e, ks in ENUMS.items() for k in ks}
FIRST_RELEASE: dict[str, str] = {name: k.first for name, k in KNOWN.items()}


def _literals(texts: tuple[str, ...]) -> tuple[object, ...]:
    out = []
    for text in texts:
        try:
            out.append(ast.literal_eval(text))
        except (ValueError, SyntaxError):
            continue  # GateMode.SEPARATED.value and the like: no value to compare with
    return tuple(out)


# fused_moe's "off" values: every literal default a parameter has had in some release.
OFF_VALUES: dict[str, tuple[object, ...]] = {name: _literals(texts) for name, texts in FUSED_MOE_DEFAULTS.items()}


def literals(texts: tuple[str, ...]) -> tuple[object, ...]:
    """The values of those default texts that are literals."""
    return _literals(texts)


def among(value: object, offs: tuple[object, ...]) -> bool:
    """Whether ``value`` is one of ``offs``: None by identity, numbers and bools by value,
    anything else (a tensor) never."""
    if value is None:
        return None in offs
    if not isinstance(value, (bool, int, float)):
        return False
    return any(v is not None and isinstance(v, (bool, int, float)) and v == value for v in offs)


def is_off(name: str, value: object) -> bool:
    """Whether ``value`` for fused_moe's ``name`` equals a default that parameter has had in
    some release (``swiglu_limit``: 0.0 or None; ``splitk``: 0)."""
    return among(value, OFF_VALUES.get(name, ()))


def is_stub_name(name: str) -> bool:
    """A parameter name of a stub release (v0.1.5 shipped functions as ``arg0, arg1, ...``)."""
    return name.startswith("arg") and name[3:].isdigit()


def entry_known(dotted: str, parameter: str | None = None) -> Known | None:
    """An entry point (or one of its parameters) as the catalog knows it; None: unknown to it."""
    found = ENTRY_POINTS.get(dotted)
    if found is None:
        return None
    span, params = found
    if parameter is None:
        return Known(dotted, *span)
    pspan = params.get(parameter)
    return None if pspan is None else Known(parameter, *pspan)
