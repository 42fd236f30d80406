"""Turn a config and quant info into a validated dispatch plan, once per set of options.

Everything that consults the capability report happens here. A :class:`Recipe` is what
validation decides, with no tensor in it; it is keyed by the values it was decided from
(:func:`recipe_key`), so a quant info built afresh for every forward with the same
options reuses it. :func:`bind` takes one quant info's tensors into a :class:`Plan`,
which is all the call path reads.
"""

from __future__ import annotations

import re

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from torch import Tensor

import capabilities
from capabilities import CapabilityReport, InvalidKwargsError, Support
from capabilities.errors import did_you_mean, unsupported_error

from . import _no_combine
from ._config import DEFAULT_ACTIVATION, AiterQuantType, MoeRunnerConfig
from ._errors import InvalidInputError, KwargCollisionError
from ._kernel import INTERNAL, Kernel, enum_member
from ._no_combine import Strategy
from ._types import AiterMoeQuantInfo


@dataclass(frozen=True)
class Owned:
    """A ``fused_moe`` argument the runner sets itself, and where from. ``attr``: the quant
    info's attribute that holds it; ``config``: the config field; ``fixed``: the runner
    computes it around the kernel, so a pass-through kwarg may never set it."""

    owner: str
    attr: str | None = None
    config: str | None = None
    fixed: bool = False


def _qi(attr: str) -> Owned:
    return Owned(f"AiterMoeQuantInfo.{attr}", attr)


OWNED: dict[str, Owned] = {
    "hidden_states": Owned("AiterRunnerInput.hidden_states", fixed=True),
    "w1": Owned("AiterMoeQuantInfo.w13_weight", fixed=True),
    "w2": Owned("AiterMoeQuantInfo.w2_weight", fixed=True),
    "topk_weight": Owned("AiterRunnerInput.topk_weights", fixed=True),
    "topk_ids": Owned("AiterRunnerInput.topk_ids", fixed=True),
    "no_combine": Owned("MoeRunnerConfig.no_combine", fixed=True),  # it decides the output's shape
    "quant_type": Owned("AiterMoeQuantInfo.quant_type or AiterRunnerInput.quant_type", fixed=True),
    "activation": Owned("MoeRunnerConfig.activation", config="activation"),
    "gate_mode": Owned("MoeRunnerConfig.gate_mode", config="gate_mode"),
    "num_local_tokens": Owned("AiterRunnerInput.num_local_tokens"),
    "dtype": Owned("AiterRunnerInput.output_dtype"),
    "expert_mask": _qi("expert_mask"),
    "doweight_stage1": _qi("doweight_stage1"),
    "w1_scale": Owned("AiterMoeQuantInfo.w13_scale", "w13_scale"),
    "w2_scale": _qi("w2_scale"),
    "a1_scale": Owned("AiterMoeQuantInfo.a13_scale or AiterRunnerInput.a1_scale", "a13_scale"),
    "a2_scale": _qi("a2_scale"),
    "bias1": Owned("AiterMoeQuantInfo.b13", "b13"),
    "bias2": Owned("AiterMoeQuantInfo.b2", "b2"),
    "hidden_pad": _qi("hidden_pad"),
    "intermediate_pad": _qi("intermediate_pad"),
    "swiglu_limit": _qi("swiglu_limit"),
}
# The quant info's options, as (fused_moe keyword, attribute).
QI_OPTIONS = tuple((name, o.attr) for name, o in OWNED.items() if o.attr is not None)
# Per-call options (AiterRunnerInput field -> fused_moe keyword), merged on the call path.
PER_CALL = (("a1_scale", "a1_scale"), ("num_local_tokens", "num_local_tokens"), ("output_dtype", "dtype"))
_CONFIG_DEFAULTS = {"activation": DEFAULT_ACTIVATION, "gate_mode": None}


def gate(report: CapabilityReport, name: str, *, requested_by: str, fix: str | None = None) -> None:
    capabilities.gate(name, report=report, requested_by=requested_by, fix=fix, internal=INTERNAL)


# --- config -------------------------------------------------------------------


def activation_member(report: CapabilityReport, activation: str) -> str:
    """The ``ActivationType`` member a config's activation names, from the build's own enum
    (case-insensitively: "silu" -> Silu, "situv2" -> Situv2), else the one member that is the
    name plus a version suffix ("situ" -> Situv2, as servers name it). A name the build lacks
    comes back capitalised, for the gate to refuse with what the catalog knows of it."""
    members = [m for m in report.enums.get("ActivationType", ()) if m != "No"]
    wanted = activation.lower()
    for m in members:
        if m.lower() == wanted:
            return m
    versioned = [m for m in members if _VERSIONED.fullmatch(m) and _VERSIONED.sub(r"\1", m).lower() == wanted]
    if len(versioned) == 1:  # two versions of one activation would be a guess
        return versioned[0]
    return activation[:1].upper() + activation[1:]


_VERSIONED = re.compile(r"(.+?)v\d+")


def check_config(report: CapabilityReport, config: MoeRunnerConfig) -> None:
    """Check a config against the report alone, so that an agreed report rejects it on every
    rank alike, before any rank imports its kernel."""
    if config.no_combine and config.fallback == "refuse":  # emulation needs nothing but fused_moe itself
        requested_by = "MoeRunnerConfig(no_combine=True, fallback='refuse')"
        feature = report.feature("no_combine")
        if feature.support is Support.SUPPORTED and feature.used is not True:
            raise unsupported_error(  # says "accepted, not honoured", and why
                report,
                ("no_combine",),
                requested_by=requested_by,
                fix="set fallback='emulate' to run it through the same fused kernel, or set no_combine=False",
            )
        gate(
            report,
            "no_combine",
            requested_by=requested_by,
            fix="install an AITER build whose fused_moe takes no_combine (ROCm/aiter#3361), "
            "set fallback='emulate' to run it through the same fused kernel, or set no_combine=False",
        )
    member = activation_member(report, config.activation)
    gate(report, f"ActivationType.{member}", requested_by=f"MoeRunnerConfig(activation={config.activation!r})")
    if config.gate_mode is not None:
        gate(report, "gate_mode", requested_by=f"MoeRunnerConfig(gate_mode={config.gate_mode!r})")


def config_kwargs(kernel: Kernel, config: MoeRunnerConfig) -> dict[str, Any]:
    """The kwargs a checked config implies."""
    member = activation_member(kernel.report, config.activation)
    kw: dict[str, Any] = {}
    kw["activation"] = enum_member(kernel, "ActivationType", member, requested_by=f"MoeRunnerConfig(activation={config.activation!r})")
    if config.gate_mode is not None:
        kw["gate_mode"] = config.gate_mode
    return kw


# --- fused_moe_kwargs ---------------------------------------------------------


def same_value(a: Any, b: Any) -> bool:
    """One value given twice: the same object, or equal plain values (never tensor ==)."""
    if a is b:
        return True
    plain = (bool, int, float, str, type(None))
    return isinstance(a, plain) and isinstance(b, plain) and type(a) is type(b) and a == b


def _overlaps(report: CapabilityReport, config: MoeRunnerConfig, qi: AiterMoeQuantInfo, kwargs: Mapping[str, Any]) -> None:
    """The one rule for a kwarg the runner also sets: the kwarg wins where the runner's side
    is at its default; both set, to different values, is an error naming both. The
    arguments the runner computes around the kernel are never a kwarg's to set."""
    fixed = sorted(k for k in kwargs if k in OWNED and OWNED[k].fixed)
    if fixed:
        lines = "; ".join(f"'{k}' is set by the runner from {OWNED[k].owner}" for k in fixed)
        raise KwargCollisionError(
            f"fused_moe_kwargs {fixed} name arguments the runner computes itself: {lines}. "
            "Fix: set them there and drop them from fused_moe_kwargs.",
            kwargs=tuple(fixed),
        )
    both = []
    for k in sorted(kwargs):
        owned = OWNED.get(k)
        if owned is None:
            continue
        if owned.config is not None:
            mine = getattr(config, owned.config)
            if mine != _CONFIG_DEFAULTS[owned.config]:
                both.append(f"'{k}': fused_moe_kwargs[{k!r}] and {owned.owner}={mine!r}")
        elif owned.attr is not None:
            mine = getattr(qi, owned.attr)
            if not report.is_off(k, mine) and not same_value(mine, kwargs[k]):
                both.append(f"'{k}': fused_moe_kwargs[{k!r}] and {owned.owner}")
    if both:
        names = tuple(b.split("'")[1] for b in both)
        raise KwargCollisionError(
            f"fused_moe_kwargs {list(names)} are set twice, to different values: {'; '.join(both)}. "
            "A kwarg wins only where the runner's own option is left at its default. "
            "Fix: set each in one place.",
            kwargs=names,
        )


def _check_kwargs(kernel: Kernel, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The kwargs to send: validated, and without those at an 'off' value that the build
    lacks (they ask for nothing)."""
    report = kernel.report
    non_str = [k for k in kwargs if not isinstance(k, str)]
    if non_str:
        raise InvalidKwargsError(
            f"fused_moe_kwargs keys must be parameter names (str), got {sorted(map(repr, non_str))}",
            kwargs=tuple(map(repr, non_str)),
            version=report.aiter.version,
        )
    keys = [k for k in sorted(kwargs) if not (report.is_off(k, kwargs[k]) and report.support(k) is not Support.SUPPORTED)]
    bad = [k for k in keys if report.support(k) is Support.UNSUPPORTED]
    if bad:
        fm = report.fused_moe
        accepted = [p.name for p in fm.parameters if p.kind.by_keyword and p.name not in OWNED] if fm else []
        fix = kernel.lacks_fix or "correct the name, or install an AITER build that has it"
        if kernel.lacks_fix is None:
            lines = "\n".join(f"  {k}: {report.feature(k).detail}{did_you_mean(k, accepted)}" for k in bad)
        else:
            lines = "\n".join(f"  {k}: not a parameter of fused_moe in {report.aiter.describe()}{did_you_mean(k, accepted)}" for k in bad)
        offer = ", ".join(accepted) if accepted else "none besides the runner's own"
        raise InvalidKwargsError(
            f"fused_moe in {report.aiter.describe()} does not accept fused_moe_kwargs {bad}:\n{lines}\n"
            f"It accepts by keyword (beyond the runner's own): {offer}. "
            f"Fix: {fix}.",
            kwargs=tuple(bad),
            version=report.aiter.version,
        )
    for k in keys:
        gate(report, k, requested_by=f"fused_moe_kwargs[{k!r}]")  # unknown ones warn once
    return {k: kwargs[k] for k in keys}


# --- recipes and plans ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recipe:
    """What validation decided for one set of options, with no tensor in it: the function,
    the runner's own kwargs, and which keywords each quant info fills in."""

    fn: Callable[..., torch.Tensor]
    static: Mapping[str, Any]  # the config's and the runner's own kwargs
    taken: tuple[tuple[str, str], ...]  # (fused_moe keyword, AiterMoeQuantInfo attribute)
    passed: frozenset[str]  # fused_moe_kwargs keys sent on
    no_combine: bool
    strategy: Strategy
    why: str


class Plan(NamedTuple):
    """What one quant info (and quant type) dispatches to, validated once. A tuple: made
    for every fresh quant info, so it must cost little to build."""

    fn: Callable[..., torch.Tensor]
    w1: torch.Tensor
    w2: torch.Tensor
    kwargs: Mapping[str, Any]  # everything but the five per-call positional tensors
    no_combine: bool  # the output is [M, topk, hidden]
    strategy: Strategy  # "combined", or how no_combine is served: "native" or "emulated"
    why: str  # why that strategy
    from_kwargs: frozenset[str] = frozenset()  # the kwargs that fused_moe_kwargs set


def recipe_key(qi: AiterMoeQuantInfo, qt: AiterQuantType, no_combine: bool) -> Hashable:
    """Everything a recipe is decided from, as values (the weights' dtypes and shapes only
    where ``no_combine`` asks for the native limits; a kwarg's tensor by dtype and shape,
    never by identity, so the cache keeps no tensor alive). Hashing it raises TypeError
    where a kwarg's value cannot be hashed (that quant info is then validated on its own)."""
    kw = qi.fused_moe_kwargs
    weights = (qi.w13_weight.dtype, qi.w13_weight.shape, qi.w2_weight.dtype, qi.w2_weight.shape) if no_combine else None
    return (
        qt, weights,
        qi.w13_scale is None, qi.w2_scale is None, qi.a13_scale is None, qi.a2_scale is None,
        qi.b13 is None, qi.b2 is None, qi.expert_mask is None,
        qi.doweight_stage1, qi.hidden_pad, qi.intermediate_pad, qi.swiglu_limit,
        tuple([(k, v.dtype, v.shape) if isinstance(v, Tensor) else (k, v) for k, v in kw.items()]) if kw else None,
    )  # fmt: skip


def _short(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"<tensor {tuple(value.shape)}>"
    return repr(value)


def build_recipe(
    kernel: Kernel, config: MoeRunnerConfig, base: Mapping[str, Any], qi: AiterMoeQuantInfo, quant_type: AiterQuantType | None
) -> Recipe:
    report = kernel.report
    qt = qi.quant_type if quant_type is None else quant_type
    strategy, why = _no_combine.choose(report, config, qi, qt, kernel.no_combine_limits)
    if strategy == "emulated" and config.fallback == "refuse":
        name = "no_combine"
        raise unsupported_error(
            report,
            (name,),
            requested_by="MoeRunnerConfig(no_combine=True, fallback='refuse')",
            fix="set fallback='emulate' to run it through the same fused kernel, or change the request",
            details={name: f"{name}: not served natively: {why}"},
        )
    static = dict(base)
    if strategy == "native":
        static["no_combine"] = True
    static["quant_type"] = enum_member(kernel, "QuantType", qt.value, requested_by=f"quant_type=AiterQuantType.{qt.name}")
    kwargs = qi.fused_moe_kwargs or {}
    if kwargs:
        _overlaps(report, config, qi, kwargs)
    taken = []
    sent: dict[str, Any] = {}  # what the call will get, for the emulation's checks
    for name, attr in QI_OPTIONS:
        value = getattr(qi, attr)
        if name not in kwargs and not report.is_off(name, value):  # an option left off is not sent
            gate(report, name, requested_by=f"{OWNED[name].owner}={_short(value)}")
            taken.append((name, attr))
            sent[name] = value
    passed: dict[str, Any] = _check_kwargs(kernel, kwargs) if kwargs else {}
    for k in passed:
        static.pop(k, None)  # a kwarg that won over the config's default
    sent |= static | passed
    fn = kernel.fn
    if strategy == "emulated":
        refused = _no_combine.refusals(sent, qt)
        if refused:
            raise InvalidInputError(
                "MoeRunnerConfig(no_combine=True) is emulated here, and the emulation cannot serve "
                f"{'; '.join(refused)}. Fix: drop those options, or run with no_combine=False."
            )
        per_token = qt is not AiterQuantType.PER_TENSOR and qt is not AiterQuantType.NONE
        fn = _no_combine.emulating(kernel.fn, weighted=qi.doweight_stage1, per_token_scale=per_token)
        why += "; each route is sent through the same fused_moe as its own row (topk=1)"
    return Recipe(fn, static, tuple(taken), frozenset(passed), strategy != "combined", strategy, why)


def bind(recipe: Recipe, qi: AiterMoeQuantInfo) -> Plan:
    """``recipe`` with ``qi``'s own tensors and values."""
    kw = dict(recipe.static)
    for name, attr in recipe.taken:
        kw[name] = getattr(qi, attr)
    if recipe.passed:
        given = qi.fused_moe_kwargs
        assert given is not None  # a recipe that passes kwargs was built from a quant info that has them
        for k in recipe.passed:
            kw[k] = given[k]
    return Plan(recipe.fn, qi.w13_weight, qi.w2_weight, kw, recipe.no_combine, recipe.strategy, recipe.why, recipe.passed)


def gate_per_call(kernel: Kernel, name: str) -> None:
    """The slow path for a per-call option the kernel may not take (raises or warns once)."""
    gate(kernel.report, name, requested_by=f"{OWNED[name].owner} (per call)")
