"""Turn a config and quant info into a validated dispatch plan, once.

Everything that consults the capability report happens here; the call path
only merges per-call tensors into the prepared kwargs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

import capabilities
from capabilities import CapabilityReport, InvalidKwargsError, Support
from capabilities.errors import did_you_mean, unsupported_error

from . import _no_combine
from ._errors import InvalidInputError, KwargCollisionError
from ._config import ACTIVATIONS, AiterQuantType, MoeRunnerConfig
from ._kernel import INTERNAL, Kernel, enum_member
from ._no_combine import Strategy
from ._types import AiterMoeQuantInfo


@dataclass(frozen=True)
class Owned:
    """A ``fused_moe`` argument the runner sets itself: where a caller sets it instead, and,
    for a quant-info option, the attribute it comes from and when it differs from AITER's
    default (only then is it passed: an old build is not asked for an option left alone)."""

    owner: str
    attr: str | None = None
    used: Callable[[Any], bool] | None = None


def _set(value: Any) -> bool:
    return value is not None


def _qi(attr: str, used: Callable[[Any], bool] = _set) -> Owned:
    return Owned(f"AiterMoeQuantInfo.{attr}", attr, used)


OWNED: dict[str, Owned] = {
    "hidden_states": Owned("AiterRunnerInput.hidden_states"),
    "w1": Owned("AiterMoeQuantInfo.w13_weight"),
    "w2": Owned("AiterMoeQuantInfo.w2_weight"),
    "topk_weight": Owned("AiterRunnerInput.topk_weights"),
    "topk_ids": Owned("AiterRunnerInput.topk_ids"),
    "activation": Owned("MoeRunnerConfig.activation"),
    "quant_type": Owned("AiterMoeQuantInfo.quant_type or AiterRunnerInput.quant_type"),
    "gate_mode": Owned("MoeRunnerConfig.gate_mode"),
    "no_combine": Owned("MoeRunnerConfig.no_combine"),
    "num_local_tokens": Owned("AiterRunnerInput.num_local_tokens"),
    "dtype": Owned("AiterRunnerInput.output_dtype"),
    "expert_mask": _qi("expert_mask"),
    "doweight_stage1": _qi("doweight_stage1", bool),
    "w1_scale": Owned("AiterMoeQuantInfo.w13_scale", "w13_scale", _set),
    "w2_scale": _qi("w2_scale"),
    "a1_scale": Owned("AiterMoeQuantInfo.a13_scale or AiterRunnerInput.a1_scale", "a13_scale", _set),
    "a2_scale": _qi("a2_scale"),
    "bias1": Owned("AiterMoeQuantInfo.b13", "b13", _set),
    "bias2": Owned("AiterMoeQuantInfo.b2", "b2", _set),
    "hidden_pad": _qi("hidden_pad", bool),
    "intermediate_pad": _qi("intermediate_pad", bool),
    "swiglu_limit": _qi("swiglu_limit"),
}
# Per-call options (AiterRunnerInput field -> fused_moe keyword), merged on the call path.
PER_CALL = (("a1_scale", "a1_scale"), ("num_local_tokens", "num_local_tokens"), ("output_dtype", "dtype"))


def gate(report: CapabilityReport, name: str, *, requested_by: str, fix: str | None = None) -> None:
    capabilities.gate(name, report=report, requested_by=requested_by, fix=fix, internal=INTERNAL)


# --- config -------------------------------------------------------------------


def check_config(report: CapabilityReport, config: MoeRunnerConfig) -> None:
    """Check a config against the report alone, so that an agreed report rejects it on every
    rank alike, before any rank imports its kernel."""
    if config.no_combine and config.fallback == "refuse":  # emulation needs nothing but fused_moe itself
        requested_by = "MoeRunnerConfig(no_combine=True, fallback='refuse')"
        feature = report.feature("no_combine")
        if feature.support is Support.SUPPORTED and feature.used is not True:
            told = "never reads it" if feature.used is False else "may not read it (that cannot be told from its source)"
            raise unsupported_error(
                report,
                ("no_combine",),
                requested_by=requested_by,
                fix="set fallback='emulate' to run it through the same fused kernel, or set no_combine=False",
                details={"no_combine": f"no_combine: accepted, not honoured: the build's fused_moe takes it but its body {told}"},
            )
        gate(
            report,
            "no_combine",
            requested_by=requested_by,
            fix="install an AITER build whose fused_moe takes no_combine (ROCm/aiter#3361), "
            "set fallback='emulate' to run it through the same fused kernel, or set no_combine=False",
        )
    activation = f"ActivationType.{ACTIVATIONS[config.activation]}"
    gate(report, activation, requested_by=f"MoeRunnerConfig(activation={config.activation!r})")
    if config.gate_mode is not None:
        gate(report, "gate_mode", requested_by=f"MoeRunnerConfig(gate_mode={config.gate_mode!r})")


def config_kwargs(kernel: Kernel, config: MoeRunnerConfig) -> dict[str, Any]:
    """The kwargs a checked config implies."""
    kw: dict[str, Any] = {}
    kw["activation"] = enum_member(
        kernel, "ActivationType", ACTIVATIONS[config.activation], requested_by=f"MoeRunnerConfig(activation={config.activation!r})"
    )
    if config.gate_mode is not None:
        kw["gate_mode"] = config.gate_mode
    return kw


# --- fused_moe_kwargs ---------------------------------------------------------


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
        lines = "; ".join(f"'{k}' is set by the runner from {OWNED[k].owner}" for k in clashes)
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
        gate(report, k, requested_by=f"fused_moe_kwargs[{k!r}]")  # unknown ones warn once
    return {k: kwargs[k] for k in keys}


# --- plans ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Plan:
    """What one quant info (and quant type) dispatches to, validated once."""

    fn: Callable[..., torch.Tensor]
    w1: torch.Tensor
    w2: torch.Tensor
    kwargs: Mapping[str, Any]  # everything but the five per-call positional tensors
    no_combine: bool  # the output is [M, topk, hidden]
    strategy: Strategy  # "combined", or how no_combine is served: "native" or "emulated"
    why: str  # why that strategy


def _short(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"<tensor {tuple(value.shape)}>"
    return repr(value)


def build_plan(
    kernel: Kernel, config: MoeRunnerConfig, base: Mapping[str, Any], qi: AiterMoeQuantInfo, quant_type: AiterQuantType | None
) -> Plan:
    report = kernel.report
    qt = qi.quant_type if quant_type is None else quant_type
    strategy, why = _no_combine.choose(report, config, qi, qt)
    if strategy == "emulated" and config.fallback == "refuse":
        name = "no_combine"
        raise unsupported_error(
            report,
            (name,),
            requested_by="MoeRunnerConfig(no_combine=True, fallback='refuse')",
            fix="set fallback='emulate' to run it through the same fused kernel, or change the request",
            details={name: f"{name}: not served natively: {why}"},
        )
    kw = dict(base)
    fn = kernel.fn
    if strategy == "native":
        kw["no_combine"] = True
    kw["quant_type"] = enum_member(kernel, "QuantType", qt.value, requested_by=f"quant_type=AiterQuantType.{qt.name}")
    for name, owned in OWNED.items():
        if owned.attr is None or owned.used is None:
            continue
        value = getattr(qi, owned.attr)
        if owned.used(value):
            gate(report, name, requested_by=f"{owned.owner}={_short(value)}")
            kw[name] = value
    if qi.fused_moe_kwargs:
        kw.update(_check_kwargs(report, qi.fused_moe_kwargs))
    if strategy == "emulated":
        refused = _no_combine.refusals(kw, qt)
        if refused:
            raise InvalidInputError(
                "MoeRunnerConfig(no_combine=True) is emulated here, and the emulation cannot serve "
                f"{'; '.join(refused)}. Fix: drop those options, or run with no_combine=False."
            )
        per_token = qt is not AiterQuantType.PER_TENSOR and qt is not AiterQuantType.NONE
        fn = _no_combine.emulating(kernel.fn, weighted=qi.doweight_stage1, per_token_scale=per_token)
        why += "; each route is sent through the same fused_moe as its own row (topk=1)"
    return Plan(fn, qi.w13_weight, qi.w2_weight, kw, strategy != "combined", strategy, why)


def gate_per_call(kernel: Kernel, name: str) -> None:
    """The slow path for a per-call option the kernel may not take (raises or warns once)."""
    gate(kernel.report, name, requested_by=f"{OWNED[name].owner} (per call)")
