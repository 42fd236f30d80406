"""The runner: checks once when made and per quant info, then dispatches from a plan."""

from __future__ import annotations

import dataclasses
import logging
import operator
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from operator import is_
from typing import Any, Literal, cast

import torch
from torch import Tensor

import capabilities
from capabilities import CapabilityReport, Support, UsageError

from ._config import AiterQuantType, MoeRunnerConfig
from ._errors import InvalidConfigError, InvalidInputError, KwargCollisionError
from ._kernel import Kernel, aiter_kernel, reference_kernel, require_aiter
from . import _no_combine
from ._plan import PER_CALL, Plan, Recipe, bind, build_recipe, check_config, config_kwargs, gate_per_call, recipe_key, same_value
from ._types import AiterMoeQuantInfo, AiterRunnerInput, AiterRunnerOutput, check_quant_info

# Every option of a quant info but fused_moe_kwargs (compared item by item), read in one go.
_OPTIONS = operator.attrgetter(*(f.name for f in dataclasses.fields(AiterMoeQuantInfo) if f.init and f.name != "fused_moe_kwargs"))

_log = logging.getLogger("runners")
_INT32 = torch.int32
_NOTHING = object()  # no caller can pass it: a fresh runner's run() always plans first
_MAX_RECIPES = 256


class AiterRunnerCore:
    """Dispatches MoE requests to ``fused_moe`` after checking them against the feature set.

    Made once per layer (or model): resolves the kernel (``backend="aiter"``
    imports ``aiter.fused_moe``; it never falls back to the reference), and
    checks the config (``no_combine``, activation, gate mode) against
    ``report`` (default ``capabilities.probe(runtime=True)``). The first
    ``run`` with a quant info checks its options and ``fused_moe_kwargs`` and
    keeps the result as a plan; later calls only merge tensors into it.
    """

    __slots__ = (
        "config", "_kernel", "_base", "_token", "_strategies", "_recipes", "_last", "_seen", "_per_call_ok", "_logged", "__weakref__",
    )  # fmt: skip

    def __init__(self, config: MoeRunnerConfig, *, report: CapabilityReport | None = None) -> None:
        if not isinstance(config, MoeRunnerConfig):
            raise UsageError(f"config must be a MoeRunnerConfig, not {type(config).__name__}")
        if report is not None and not isinstance(report, CapabilityReport):
            raise UsageError(
                f"report= must be a CapabilityReport (capabilities.probe() or capabilities.agree().report), not {type(report).__name__}"
            )
        if config.backend == "reference":
            if report is not None:
                raise InvalidConfigError(
                    "report= describes an AITER build and applies to backend='aiter'; the reference backend "
                    "checks requests against its own signature. Fix: drop report= or use backend='aiter'.",
                    field="backend",
                )
            kernel = reference_kernel()
            check_config(kernel.report, config)
        else:
            report = capabilities.probe(runtime=True) if report is None else report
            require_aiter(report)
            check_config(report, config)
            kernel = aiter_kernel(report)
        self.config = config
        self._kernel: Kernel = kernel
        self._base = config_kwargs(kernel, config)
        # The last (quant info, plan, and the plan's function, weights and kwargs) that run() used
        # for a quant info's own quant type: the call path reads them without a lookup.
        self._last: tuple[object, Plan, Any, Any, Any, Mapping[str, Any]] = (_NOTHING, cast(Plan, None), None, None, None, {})
        # The last validated own-quant-type quant info's options, its kwargs' keys and values (by
        # identity), and the plan they gave: one tuple, so a thread never pairs one with another's.
        self._seen: tuple[tuple[Any, ...], tuple[str, ...] | None, tuple[Any, ...], Plan] | None = None
        # Per-call options the kernel takes without a word; the others go through gate_per_call.
        self._per_call_ok = frozenset(n for _, n in PER_CALL if kernel.report.support(n) is Support.SUPPORTED)
        self._token = object()  # this runner, in a quant info's plans (not the runner: no cycle)
        self._strategies: set[str] = set()  # what the plans so far do with no_combine
        # Recipes by the values they were validated from: a quant info made afresh per forward
        # with the same options finds its recipe here (bounded: a server has a few per layer).
        self._recipes: dict[Hashable, Recipe] = {}
        self._logged: set[tuple[str, str]] = set()  # (strategy, why) said once at INFO

    @property
    def report(self) -> CapabilityReport:
        """The feature set requests are checked against."""
        return self._kernel.report

    def plan(self, quant_info: AiterMoeQuantInfo, quant_type: AiterQuantType | None = None) -> Plan:
        """The validated plan for ``quant_info``: built (and checked) on first use, then cached."""
        if not isinstance(quant_info, AiterMoeQuantInfo):
            raise UsageError(
                f"quant_info must be an AiterMoeQuantInfo, not {type(quant_info).__name__}; "
                "build one per layer with the weights and options"
            )
        if quant_type is not None and not isinstance(quant_type, AiterQuantType):
            raise InvalidInputError(
                f"quant_type must be an AiterQuantType or None, not {type(quant_type).__name__} {quant_type!r}"
            )
        if quant_type is quant_info.quant_type:
            quant_type = None  # one plan for "the quant info's own", however it is asked for
        # Bound plans live on the quant info (as long as it, no longer), by runner and quant type.
        key = (self._token, quant_type)
        plan = quant_info._plans.get(key)
        if plan is None:
            check_quant_info(quant_info)  # once per quant info: it is frozen
            plan = quant_info._plans[key] = bind(self._recipe(quant_info, quant_type), quant_info)
        return plan

    def _recipe(self, quant_info: AiterMoeQuantInfo, quant_type: AiterQuantType | None) -> Recipe:
        key: Hashable | None = recipe_key(quant_info, quant_info.quant_type if quant_type is None else quant_type, self.config.no_combine)
        try:
            recipe = self._recipes.get(key)
        except TypeError:  # a kwarg value that cannot be hashed
            key = recipe = None
        if recipe is None:
            recipe = build_recipe(self._kernel, self.config, self._base, quant_info, quant_type)
            self._strategies.add(recipe.strategy)
            if key is not None:
                if len(self._recipes) >= _MAX_RECIPES:
                    self._recipes.clear()  # options that change every call: validate afresh, never grow
                self._recipes[key] = recipe
            if recipe.strategy != "combined" and (recipe.strategy, recipe.why) not in self._logged:
                # logging, not warnings: servers run with warnings as errors
                self._logged.add((recipe.strategy, recipe.why))
                _log.info("no_combine is %s: %s", recipe.strategy, recipe.why)
        return recipe

    def run(self, runner_input: AiterRunnerInput, quant_info: AiterMoeQuantInfo) -> AiterRunnerOutput:
        # The hot path: no report, no introspection; every tensor attribute read costs
        # ~70-130 ns on CPU, so only the required checks read any. A try costs nothing
        # until it catches.
        last, plan, fn, w1, w2, kwargs = self._last
        try:
            qt = runner_input.quant_type
            hs = runner_input.hidden_states
            ids = runner_input.topk_ids
            tw = runner_input.topk_weights
            per_call = runner_input.a1_scale is not None or runner_input.num_local_tokens is not None or runner_input.output_dtype is not None
        except AttributeError:
            raise UsageError(
                f"runner_input must be an AiterRunnerInput, not {type(runner_input).__name__}; "
                "build one per forward with hidden_states, topk_ids and topk_weights"
            ) from None
        if quant_info is not last or (qt is not None and qt is not quant_info.quant_type):
            plan = self._plan_for(quant_info, qt)
            fn, w1, w2, kwargs = plan.fn, plan.w1, plan.w2, plan.kwargs
        try:
            hshape = hs.shape
            ishape = ids.shape
            m = hshape[0]
            if (
                ids.dtype is not _INT32 or len(hshape) != 2 or len(ishape) != 2 or m != ishape[0]
                or not isinstance(hs, Tensor) or not isinstance(ids, Tensor) or not isinstance(tw, Tensor)
            ):  # fmt: skip
                raise _input_error(hs, ids, tw)
        except (AttributeError, TypeError, IndexError):  # not tensors at all, or of rank 0
            raise _input_error(hs, ids, tw) from None
        if per_call:
            kwargs = self._per_call(plan, runner_input)
        if not m:  # no kernel for no tokens; keep the rank no_combine promises
            shape = (0, ishape[1], hshape[1]) if plan.no_combine else (0, hshape[1])
            return AiterRunnerOutput(hs.new_empty(shape, dtype=runner_input.output_dtype or hs.dtype))
        return AiterRunnerOutput(fn(hs, w1, w2, tw, ids, **kwargs))

    def _plan_for(self, quant_info: AiterMoeQuantInfo, qt: AiterQuantType | None) -> Plan:
        """The plan for a quant info other than the last one run (or for another quant type).

        A quant info built afresh for every forward, as servers do, holds the same objects as
        the last one: every field the very same object, and the same ``fused_moe_kwargs`` keys
        in the same order with the very same values. Then the last plan is its plan (it binds
        those same objects), found by identity alone: no hashing, no tensor read."""
        own = qt is None or qt is getattr(quant_info, "quant_type", None)
        if own and type(quant_info) is AiterMoeQuantInfo:
            seen = self._seen  # read once: the options and the plan they gave stay together across threads
            if seen is not None and all(map(is_, _OPTIONS(quant_info), seen[0])):
                kw = quant_info.fused_moe_kwargs
                keys = seen[1]
                if kw is None if keys is None else (kw is not None and tuple(kw) == keys and all(map(is_, kw.values(), seen[2]))):
                    return self._remember(quant_info, seen[3])
        plan = self.plan(quant_info, qt)
        if own:
            self._remember(quant_info, plan)
            kw = quant_info.fused_moe_kwargs
            options = _OPTIONS(quant_info)
            self._seen = (options, None, (), plan) if kw is None else (options, tuple(kw), tuple(kw.values()), plan)
        return plan

    def _remember(self, quant_info: AiterMoeQuantInfo, plan: Plan) -> Plan:
        """The last quant info run and what the call path reads of its plan, in one tuple."""
        self._last = (quant_info, plan, plan.fn, plan.w1, plan.w2, plan.kwargs)
        return plan

    def _per_call(self, plan: Plan, runner_input: AiterRunnerInput) -> dict[str, Any]:
        dtype = runner_input.output_dtype
        if dtype is not None and not isinstance(dtype, torch.dtype):
            raise InvalidInputError(
                f"AiterRunnerInput.output_dtype must be a torch.dtype such as torch.bfloat16, not {dtype!r}"
            )
        merged = dict(plan.kwargs)
        for field, name in PER_CALL:
            value = getattr(runner_input, field)
            if value is not None:
                if field != "output_dtype" and not isinstance(value, Tensor):
                    raise InvalidInputError(
                        f"AiterRunnerInput.{field} must be a torch.Tensor or None, not {type(value).__name__}. "
                        "Fix: pass it as a tensor (torch.as_tensor(...)) on the device the kernel runs on."
                    )
                if name in plan.from_kwargs and not same_value(merged[name], value):
                    raise KwargCollisionError(
                        f"fused_moe_kwargs [{name!r}] is set twice, to different values: fused_moe_kwargs[{name!r}] "
                        f"and AiterRunnerInput.{field} (per call). Fix: set it in one place.",
                        kwargs=(name,),
                    )
                if name not in self._per_call_ok:
                    gate_per_call(self._kernel, name)
                merged[name] = value
        return merged

    def offers(self) -> dict[str, Offer]:
        """For each runner option, how this build serves it: ``native``, ``emulated``,
        ``unsupported`` or ``unknown``, with why (checked for the report's archs).
        ``no_combine`` is ``native`` only where the build honours it; even then a request
        outside its limits (e.g. fp32 weights) is emulated, which each plan's ``strategy``
        says."""
        report = self._kernel.report
        out: dict[str, Offer] = {}
        why_not = _no_combine.native_reason(report)
        limits = self._kernel.no_combine_limits
        if why_not is None and limits is None:
            nc = Offer("native", "for every request the kernel computes")
        elif why_not is None:
            nc = Offer("native", f"inside the limits; emulated outside them ({limits})")
        elif self.config.fallback == "emulate":
            nc = Offer("emulated", f"{why_not}; each route goes through the same fused kernel as its own row")
        else:
            nc = Offer("unsupported", f"{why_not}, and fallback='refuse'")
        out["no_combine"] = nc
        features = {f"activation={m.lower()}": f"ActivationType.{m}" for m in report.enums.get("ActivationType", ()) if m != "No"}
        features |= {f"quant_type={q.name}": f"QuantType.{q.value}" for q in AiterQuantType}
        features |= {
            "gate_mode": "gate_mode", "swiglu_limit": "swiglu_limit", "b13": "bias1", "b2": "bias2",
            "hidden_pad": "hidden_pad", "intermediate_pad": "intermediate_pad", "expert_mask": "expert_mask",
            "doweight_stage1": "doweight_stage1", "a1_scale": "a1_scale", "num_local_tokens": "num_local_tokens",
            "output_dtype": "dtype",
        }  # fmt: skip
        how = {Support.SUPPORTED: "native", Support.UNSUPPORTED: "unsupported", Support.UNKNOWN: "unknown"}
        for option, name in features.items():
            f = report.feature(name)
            out[option] = Offer(how[f.support], f.detail)  # type: ignore[arg-type]
        return out

    def __repr__(self) -> str:
        nc = ""
        if self.config.no_combine:
            seen = sorted(self._strategies)
            nc = f", no_combine={'/'.join(seen)} (the plans so far)" if seen else f", no_combine={self.offers()['no_combine'].how} (no plan yet)"
        return f"AiterRunnerCore({self.config!r}, kernel={self._kernel.report.aiter.describe()}{nc})"


@dataclass(frozen=True)
class Offer:
    """How the runner serves one option on this build."""

    how: Literal["native", "emulated", "unsupported", "unknown"]
    detail: str


def _describe(x: object) -> str:
    if isinstance(x, torch.Tensor):
        return f"{tuple(x.shape)} {x.dtype}"
    return f"{type(x).__name__} (not a tensor)"


def _input_error(hs: Any, ids: Any, tw: Any) -> InvalidInputError:
    """The slow path: say everything that is wrong with the three routing tensors."""
    problems = []
    for name, value, what in (
        ("hidden_states", hs, "[M, hidden]"),
        ("topk_ids", ids, "int32 [M, topk]"),
        ("topk_weights", tw, "float32 [M, topk]"),
    ):
        if not isinstance(value, torch.Tensor):
            problems.append(f"AiterRunnerInput.{name} must be a torch.Tensor {what}, not {type(value).__name__}")
    if isinstance(hs, torch.Tensor) and isinstance(ids, torch.Tensor):
        if hs.dim() != 2:
            problems.append(f"hidden_states must be [M, hidden] (rank 2), got rank {hs.dim()}")
        if ids.dim() != 2:
            problems.append(f"topk_ids must be [M, topk] (rank 2), got rank {ids.dim()}")
        if hs.dim() >= 1 and ids.dim() >= 1 and hs.shape[0] != ids.shape[0]:
            problems.append(f"M differs: hidden_states has {hs.shape[0]} rows, topk_ids {ids.shape[0]}")
    if isinstance(ids, torch.Tensor) and ids.dtype != _INT32:
        problems.append(f"topk_ids must be int32, got {ids.dtype} (convert once, where the router runs)")
    shapes = f"hidden_states {_describe(hs)}, topk_ids {_describe(ids)}, topk_weights {_describe(tw)}"
    return InvalidInputError("malformed MoE input: " + "; ".join(problems) + f" ({shapes})")
