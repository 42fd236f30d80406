"""Turn a config and quant info into a validated dispatch plan, once.

Everything that consults the capability report happens here; the call path
only merges per-call tensors into the prepared kwargs.
"""

from __future__ import annotations

import importlib
import sys
import threading
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import torch

import capabilities
from capabilities import (
    AiterIdentity,
    AiterStatus,
    CapabilityError,
    CapabilityReport,
    InvalidKwargsError,
    KwargCollisionError,
    Support,
)
from capabilities._errors import did_you_mean

from . import reference
from ._config import ACTIVATIONS, AiterQuantType, MoeRunnerConfig
from ._types import AiterMoeQuantInfo

# fused_moe arguments the runner sets itself -> where a caller sets them instead.
OWNED: dict[str, str] = {
    "hidden_states": "AiterRunnerInput.hidden_states",
    "w1": "AiterMoeQuantInfo.w13_weight",
    "w2": "AiterMoeQuantInfo.w2_weight",
    "topk_weight": "AiterRunnerInput.topk_weights",
    "topk_ids": "AiterRunnerInput.topk_ids",
    "expert_mask": "AiterMoeQuantInfo.expert_mask",
    "activation": "MoeRunnerConfig.activation",
    "quant_type": "AiterMoeQuantInfo.quant_type or AiterRunnerInput.quant_type",
    "doweight_stage1": "AiterMoeQuantInfo.doweight_stage1",
    "w1_scale": "AiterMoeQuantInfo.w13_scale",
    "w2_scale": "AiterMoeQuantInfo.w2_scale",
    "a1_scale": "AiterMoeQuantInfo.a13_scale or AiterRunnerInput.a1_scale",
    "a2_scale": "AiterMoeQuantInfo.a2_scale",
    "bias1": "AiterMoeQuantInfo.b13",
    "bias2": "AiterMoeQuantInfo.b2",
    "hidden_pad": "AiterMoeQuantInfo.hidden_pad",
    "intermediate_pad": "AiterMoeQuantInfo.intermediate_pad",
    "swiglu_limit": "AiterMoeQuantInfo.swiglu_limit",
    "gate_mode": "MoeRunnerConfig.gate_mode",
    "num_local_tokens": "AiterRunnerInput.num_local_tokens",
    "dtype": "AiterRunnerInput.output_dtype",
    "no_combine": "MoeRunnerConfig.no_combine",
}
REFERENCE_DISTRIBUTION = "aiter-capabilities reference"


class AiterUnavailableError(CapabilityError, RuntimeError):
    """``backend="aiter"`` was asked for, and no usable AITER kernel can be had."""


class UnverifiedFeatureWarning(UserWarning):
    """A name forwarded to a ``fused_moe`` that takes ``**kwargs``: accepted, not proven honoured."""


@dataclass(frozen=True)
class Kernel:
    fn: Callable[..., torch.Tensor]
    report: CapabilityReport
    activation_type: Any  # the installed ActivationType enum
    quant_type: Any  # the installed QuantType enum


_warned: set[tuple[str | None, str | None, str]] = set()
_warned_lock = threading.Lock()


def _warn_unknown(report: CapabilityReport, name: str, requested_by: str) -> None:
    key = (report.aiter.distribution, report.aiter.version, name)
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    warnings.warn(
        f"{requested_by}: forwarding '{name}' to fused_moe in {report.aiter.describe()}, which takes it only "
        f"through a **kwargs catch-all: {capabilities.explain(report, name)}",
        UnverifiedFeatureWarning,
        stacklevel=4,
    )


def gate(report: CapabilityReport, name: str, *, requested_by: str, fix: str | None = None) -> None:
    """Supported: pass. Unknown: warn once, pass. Unsupported: raise UnsupportedFeatureError."""
    support = report.support(name)
    if support is Support.UNKNOWN:
        _warn_unknown(report, name, requested_by)
    elif support is not Support.SUPPORTED:
        capabilities.require(name, report=report, requested_by=requested_by, fix=fix)


# --- kernels ----------------------------------------------------------------


@lru_cache(maxsize=1)
def reference_kernel() -> Kernel:
    report = capabilities.report_for(
        reference.fused_moe,
        distribution=REFERENCE_DISTRIBUTION,
        version="1",
        enums={e.__name__: [m.name for m in e] for e in (reference.ActivationType, reference.QuantType)},
    )
    return Kernel(reference.fused_moe, report, reference.ActivationType, reference.QuantType)


_FALLBACK = "use MoeRunnerConfig(backend='reference') to run the plain-torch implementation"


def require_aiter(report: CapabilityReport) -> None:
    """No AMD AITER at all is said as such, before any feature is checked."""
    ident = report.aiter
    if ident.status in (AiterStatus.ABSENT, AiterStatus.IMPOSTOR):
        raise AiterUnavailableError(f"backend='aiter' needs AMD's AITER: {ident.detail}. Fix: install 'amd-aiter', or {_FALLBACK}.")


def _import_failed(ident: AiterIdentity, error: str | None) -> AiterUnavailableError:
    return AiterUnavailableError(
        f"backend='aiter' cannot import aiter.fused_moe from {ident.describe()} at {ident.location}: "
        f"{error}. Fix: run on a ROCm host with a working AITER, or {_FALLBACK}."
    )


def aiter_kernel(report: CapabilityReport) -> Kernel:
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
            f"an AITER this runner can drive. Fix: install 'amd-aiter', or {_FALLBACK}."
        )
    return Kernel(fn, report, enums[0], enums[1])


def enum_member(kernel: Kernel, enum: str, member: str, *, requested_by: str) -> Any:
    """The installed enum's member, after the same check as any feature."""
    gate(kernel.report, f"{enum}.{member}", requested_by=requested_by)
    holder = kernel.activation_type if enum == "ActivationType" else kernel.quant_type
    try:
        return getattr(holder, member)
    except AttributeError:
        raise capabilities.UnsupportedFeatureError(
            f"{requested_by} needs {enum}.{member}, which the imported {enum} of "
            f"{kernel.report.aiter.describe()} does not have. Fix: install an AITER build that has it.",
            features=(f"{enum}.{member}",),
            distribution=kernel.report.aiter.distribution,
            version=kernel.report.aiter.version,
        ) from None


# --- plans ------------------------------------------------------------------


def check_config(report: CapabilityReport, config: MoeRunnerConfig) -> None:
    """Check a config against the report alone, so that an agreed report rejects it on every
    rank alike, before any rank imports its kernel."""
    if config.no_combine:
        gate(
            report,
            "no_combine",
            requested_by="MoeRunnerConfig(no_combine=True)",
            fix="install an AITER build whose fused_moe takes no_combine (ROCm/aiter#3361), or set no_combine=False",
        )
    activation = f"ActivationType.{ACTIVATIONS[config.activation]}"
    gate(report, activation, requested_by=f"MoeRunnerConfig(activation={config.activation!r})")
    if config.gate_mode is not None:
        gate(report, "gate_mode", requested_by=f"MoeRunnerConfig(gate_mode={config.gate_mode!r})")


def config_kwargs(kernel: Kernel, config: MoeRunnerConfig) -> dict[str, Any]:
    """The kwargs a checked config implies."""
    kw: dict[str, Any] = {}
    if config.no_combine:
        kw["no_combine"] = True
    kw["activation"] = enum_member(
        kernel, "ActivationType", ACTIVATIONS[config.activation], requested_by=f"MoeRunnerConfig(activation={config.activation!r})"
    )
    if config.gate_mode is not None:
        kw["gate_mode"] = config.gate_mode
    return kw


def _check_kwargs(report: CapabilityReport, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    non_str = [k for k in kwargs if not isinstance(k, str)]
    if non_str:
        raise InvalidKwargsError(
            f"fused_moe_kwargs keys must be parameter names (str), got {sorted(map(repr, non_str))}",
            kwargs=tuple(map(repr, non_str)),
            version=report.aiter.version,
        )
    keys = sorted(kwargs)
    clashes = [k for k in keys if k in OWNED]
    if clashes:
        lines = "; ".join(f"'{k}' is set by the runner from {OWNED[k]}" for k in clashes)
        raise KwargCollisionError(
            f"fused_moe_kwargs {clashes} collide with arguments the runner sets itself: {lines}. "
            "Fix: set them there and drop them from fused_moe_kwargs; the runner never overrides either side.",
            kwargs=tuple(clashes),
        )
    bad = [k for k in keys if report.support(k) is Support.UNSUPPORTED]
    if bad:
        fm = report.fused_moe
        accepted = [p.name for p in fm.parameters if p.kind.by_keyword and p.name not in OWNED] if fm else []
        lines = "\n".join(f"  {k}: {report.feature(k).detail}{did_you_mean(k, accepted)}" for k in bad)
        offer = ", ".join(accepted) if accepted else "none besides the runner's own"
        raise InvalidKwargsError(
            f"fused_moe in {report.aiter.describe()} does not accept fused_moe_kwargs {bad}:\n{lines}\n"
            f"It accepts by keyword (beyond the runner's own): {offer}. "
            "Fix: correct the name, or install an AITER build that has it.",
            kwargs=tuple(bad),
            version=report.aiter.version,
        )
    for k in keys:
        if report.support(k) is Support.UNKNOWN:
            _warn_unknown(report, k, f"fused_moe_kwargs[{k!r}]")
    return {k: kwargs[k] for k in keys}


@dataclass(frozen=True)
class Plan:
    fn: Callable[..., torch.Tensor]
    w1: torch.Tensor
    w2: torch.Tensor
    kwargs: Mapping[str, Any]  # everything but the five per-call positional tensors


def build_plan(
    kernel: Kernel, base: Mapping[str, Any], qi: AiterMoeQuantInfo, quant_type: AiterQuantType | None
) -> Plan:
    report = kernel.report
    if not isinstance(qi, AiterMoeQuantInfo):
        raise TypeError(f"quant_info must be an AiterMoeQuantInfo, not {type(qi).__name__}")
    qt = qi.quant_type if quant_type is None else AiterQuantType(quant_type)
    kw = dict(base)
    kw["quant_type"] = enum_member(kernel, "QuantType", qt.value, requested_by=f"quant_type=AiterQuantType.{qt.name}")
    # Only values that differ from AITER's defaults are passed: an old build is not
    # asked for an option the caller does not use.
    optional = {
        "expert_mask": (qi.expert_mask, qi.expert_mask is not None),
        "doweight_stage1": (True, qi.doweight_stage1),
        "w1_scale": (qi.w13_scale, qi.w13_scale is not None),
        "w2_scale": (qi.w2_scale, qi.w2_scale is not None),
        "a1_scale": (qi.a13_scale, qi.a13_scale is not None),
        "a2_scale": (qi.a2_scale, qi.a2_scale is not None),
        "bias1": (qi.b13, qi.b13 is not None),
        "bias2": (qi.b2, qi.b2 is not None),
        "hidden_pad": (qi.hidden_pad, qi.hidden_pad != 0),
        "intermediate_pad": (qi.intermediate_pad, qi.intermediate_pad != 0),
        "swiglu_limit": (qi.swiglu_limit, qi.swiglu_limit is not None),
    }
    for name, (value, used) in optional.items():
        if used:
            gate(report, name, requested_by=f"{OWNED[name]}={_short(value)}")
            kw[name] = value
    if qi.fused_moe_kwargs:
        kw.update(_check_kwargs(report, qi.fused_moe_kwargs))
    return Plan(kernel.fn, qi.w13_weight, qi.w2_weight, kw)


def _short(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"<tensor {tuple(value.shape)}>"
    return repr(value)


def gate_per_call(kernel: Kernel, name: str) -> None:
    """The slow path for a per-call option the kernel may not take (raises or warns once)."""
    gate(kernel.report, name, requested_by=f"{OWNED[name]} (per call)")
