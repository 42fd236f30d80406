"""Which ``fused_moe`` a runner calls: AITER's, imported once, or the plain-torch reference."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import torch

import capabilities
from capabilities import CapabilityReport
from capabilities.errors import unsupported_error
from capabilities.model import AiterIdentity, AiterStatus

from . import reference
from ._no_combine import NATIVE_LIMITS
from ._errors import AiterUnavailableError

REFERENCE_DISTRIBUTION = "aiter-capabilities reference"
# Frames in this package are skipped when a warning names the caller's line.
INTERNAL = (os.path.dirname(os.path.abspath(__file__)) + os.sep,)
_FALLBACK = "use MoeRunnerConfig(backend='reference') to run the plain-torch implementation"


@dataclass(frozen=True)
class Kernel:
    """A ``fused_moe`` with the report it is checked against and the enums it takes."""

    fn: Callable[..., torch.Tensor]
    report: CapabilityReport
    activation_type: Any  # the installed ActivationType enum
    quant_type: Any  # the installed QuantType enum
    # The requests its no_combine serves, where it has limits (AITER's); None: every request
    # it computes (the reference defines no_combine for all of them).
    no_combine_limits: str | None
    # What to do about a keyword it lacks, where the report's own advice (install an AITER
    # build that has it) is not the fix; None: the report's advice.
    lacks_fix: str | None = None


@lru_cache(maxsize=1)
def reference_kernel() -> Kernel:
    report = capabilities.report_for(
        reference.fused_moe,
        distribution=REFERENCE_DISTRIBUTION,
        version="1",
        enums={e.__name__: [m.name for m in e] for e in (reference.ActivationType, reference.QuantType)},
    )
    lacks = (
        "the reference computes only the keywords it names (AITER's tuning hints it takes and ignores); "
        "correct the name, drop it, or run backend='aiter' on an AITER build that has it"
    )
    return Kernel(reference.fused_moe, report, reference.ActivationType, reference.QuantType, None, lacks)


def require_aiter(report: CapabilityReport) -> None:
    """No AMD AITER at all is said as such, before any feature is checked."""
    ident = report.aiter
    if not ident.is_aiter:
        raise AiterUnavailableError(f"backend='aiter' needs AMD's AITER: {ident.detail}. Fix: {ident.install_hint}, or {_FALLBACK}.")
    if report.fused_moe is None and ident.status is not AiterStatus.IMPORT_FAILED:
        # Nothing to check requests against: a call would be a guess, which is what we exist to prevent.
        raise AiterUnavailableError(
            f"backend='aiter' cannot check requests against {ident.describe()}: the signature of fused_moe is "
            f"unknown: {report.evidence.unknown_reason}. Fix: install an AITER build whose fused_moe can be read, "
            f"pass report= with a signature you trust, or {_FALLBACK}."
        )


def _import_failed(ident: AiterIdentity, error: str | None) -> AiterUnavailableError:
    return AiterUnavailableError(
        f"backend='aiter' cannot import aiter.fused_moe from {ident.describe()} at {ident.location}: "
        f"{error}. Fix: run on a ROCm host with a working AITER, or {_FALLBACK}."
    )


def aiter_kernel(report: CapabilityReport) -> Kernel:
    """Import AITER's ``fused_moe`` and enums once (the import may JIT-compile)."""
    ident = report.aiter
    if ident.status is AiterStatus.IMPORT_FAILED:  # the probe tried already: don't pay for it twice
        raise _import_failed(ident, ident.import_error)
    try:
        module = importlib.import_module("aiter.fused_moe")
    except (Exception, SystemExit) as exc:  # AITER's import runs foreign code (RuntimeError without ROCm)
        raise _import_failed(ident, f"{type(exc).__name__}: {exc}") from None
    fn = getattr(module, "fused_moe", None)
    aiter = sys.modules.get("aiter")
    enums = [getattr(aiter, name, None) for name in ("ActivationType", "QuantType")]
    if not callable(fn) or None in enums:
        raise AiterUnavailableError(
            f"the imported aiter at {ident.location} lacks fused_moe, ActivationType or QuantType, so it is not "
            f"an AITER this runner can drive. Fix: {ident.install_hint}, or {_FALLBACK}."
        )
    return Kernel(fn, report, enums[0], enums[1], NATIVE_LIMITS)


def enum_member(kernel: Kernel, enum: str, member: str, *, requested_by: str) -> Any:
    """The installed enum's member, after the same check as any feature."""
    name = f"{enum}.{member}"
    capabilities.gate(name, report=kernel.report, requested_by=requested_by, internal=INTERNAL)
    holder = kernel.activation_type if enum == "ActivationType" else kernel.quant_type
    try:
        return getattr(holder, member)
    except AttributeError:
        detail = f"{name}: unsupported: the imported {enum} of {kernel.report.aiter.describe()} has no member {member}"
        raise unsupported_error(
            kernel.report, (name,), requested_by=requested_by, details={name: detail}
        ) from None
