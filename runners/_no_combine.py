"""``no_combine``: native where the build has it and the request is inside its limits,
emulated through the same fused kernel everywhere else, refused only when asked to.

Emulation expands each token into its ``topk`` routes and calls ``fused_moe``
once with ``topk == 1``: hidden states ``[M*topk, hidden]`` (row ``m*topk+k``
is token ``m``), ``topk_ids`` ``[M*topk, 1]`` and route weights of one. The
kernel runs the same expert GEMM rows as for the combined call, and its
"combined" output of one route per row is that route's unweighted output,
``(M, topk, hidden)`` after a view. With ``doweight_stage1`` the real route
weights go in instead of ones, and AITER applies each inside stage 1, so the
routes come back weighted the way ``doweight_stage1`` weights them.

AITER's sorting and 1-stage/2-stage MoE kernels take ``topk == 1`` (top-1
routing is what its own tests and Llama-4-style models run through
``fused_moe``); expansion changes only how many rows there are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import torch

from capabilities import CapabilityReport, Support

from ._config import AiterQuantType, MoeRunnerConfig
from ._errors import InvalidInputError
from ._types import AiterMoeQuantInfo

Strategy = Literal["combined", "native", "emulated"]
# A rule from upstream, not from files: the limits AITER's own no_combine checks.
NATIVE_LIMITS = (
    "AITER's no_combine (ROCm/aiter#3361) serves only QuantType.No, bf16 weights, hidden states and output, "
    "no doweight_stage1, no expert_mask, and the CK 2-stage path (g1u1 weights)"
)


def outside_native_limits(qi: AiterMoeQuantInfo, quant_type: AiterQuantType) -> list[str]:
    """Why a request is outside the native limits (empty: inside them, as far as a plan can tell)."""
    out = []
    if quant_type is not AiterQuantType.NONE:
        out.append(f"QuantType.{quant_type.value}")
    if qi.doweight_stage1:
        out.append("doweight_stage1=True")
    if qi.expert_mask is not None:
        out.append("an expert_mask")
    dtypes = {str(t.dtype).removeprefix("torch.") for t in (qi.w13_weight, qi.w2_weight)}
    if dtypes != {"bfloat16"}:
        out.append(f"{'/'.join(sorted(dtypes))} weights")
    if qi.w13_weight.dim() == 3 and qi.w2_weight.dim() == 3 and qi.w13_weight.shape[1] != 2 * qi.w2_weight.shape[2]:
        out.append("g1u0 weights (which may take the 1-stage path)")
    return out


def native_reason(report: CapabilityReport) -> str | None:
    """None where the build serves no_combine natively (inside its limits); else why not."""
    feature = report.feature("no_combine")
    if feature.support is not Support.SUPPORTED:
        return f"{report.aiter.describe()}'s fused_moe has no no_combine ({feature.support.value})"
    if feature.used is not True:
        # Accepted is not honoured: a body that never reads it returns [M, hidden].
        told = "never reads it" if feature.used is False else "may not read it (that cannot be told from its source)"
        return f"{report.aiter.describe()}'s fused_moe accepts no_combine but its body {told}"
    return None


def choose(
    report: CapabilityReport, config: MoeRunnerConfig, qi: AiterMoeQuantInfo, quant_type: AiterQuantType, limits: str | None
) -> tuple[Strategy, str]:
    """The strategy for one plan, and why; raises nothing (refusals are the caller's).
    ``limits``: the kernel's own limits on no_combine (None: it has none)."""
    if not config.no_combine:
        return "combined", "no_combine is not asked for"
    why_not = native_reason(report)
    if why_not is not None:
        return "emulated", why_not
    if limits is None:
        return "native", f"{report.aiter.describe()}'s fused_moe reads no_combine and computes it for every request it takes"
    outside = outside_native_limits(qi, quant_type)
    if not outside:
        return "native", f"{report.aiter.describe()}'s fused_moe takes no_combine and the request is inside {limits}"
    return "emulated", f"outside the native limits ({', '.join(outside)}): {limits}"


# fused_moe keywords that say nothing per token, so the expanded call takes them as they are.
ROW_FREE = frozenset({
    "expert_mask", "activation", "quant_type", "doweight_stage1", "w1_scale", "w2_scale", "block_size_M",
    "moe_sorting_dispatch_policy", "dtype", "hidden_pad", "intermediate_pad", "bias1", "bias2", "splitk",
    "swiglu_limit", "gate_mode", "beta", "linear_beta",
})  # fmt: skip


def refusals(kwargs: dict[str, Any], quant_type: AiterQuantType) -> list[str]:
    """Why an emulated plan cannot serve these fused_moe keywords (empty: it can)."""
    out = []
    for name in sorted(kwargs):
        value = kwargs[name]
        if name in ROW_FREE or name in ("a1_scale", "num_local_tokens"):
            continue
        if name == "a2_scale":
            if quant_type is not AiterQuantType.PER_TENSOR and isinstance(value, torch.Tensor) and value.numel() > 1:
                out.append(f"a2_scale of shape {tuple(value.shape)}: how its rows map to routes cannot be told")
            continue
        out.append(f"{name}: whether it holds a value per token (which would need expanding to the routes) cannot be told")
    return out


def emulating(fn: Callable[..., torch.Tensor], *, weighted: bool, per_token_scale: bool) -> Callable[..., torch.Tensor]:
    """``fn`` with per-route outputs: one allocation for the expanded rows, no host sync.

    Every per-token input goes with its token to each of its routes: row
    ``m*topk+k`` is token ``m``, so ``num_local_tokens`` ``n`` becomes ``n*topk``
    (the first ``n`` tokens' routes) and, where the quantisation is per token
    (``per_token_scale``), an ``a1_scale`` with a row per token is expanded like
    the hidden states. The unit route weights come from a contiguous buffer of ones kept per device
    (kernels read ``topk_weight`` as dense memory, so a stride-0 view will not
    do), grown when a larger M comes, and never while a CUDA graph is being
    captured: a buffer filled inside a capture holds ones only on replay.
    """
    ones: dict[torch.device, torch.Tensor] = {}

    def unit_weights(n: int, like: torch.Tensor) -> torch.Tensor:
        buf = ones.get(like.device)
        if buf is not None and buf.shape[0] >= n:
            return buf[:n]
        grown = torch.ones(max(n, 2 * (0 if buf is None else buf.shape[0])), 1, dtype=torch.float32, device=like.device)
        if not (like.is_cuda and torch.cuda.is_current_stream_capturing()):
            ones[like.device] = grown
        return grown[:n]

    def fused_moe_per_route(
        hidden_states: torch.Tensor,
        w1: torch.Tensor,
        w2: torch.Tensor,
        topk_weight: torch.Tensor,
        topk_ids: torch.Tensor,
        **kwargs: Any,
    ) -> torch.Tensor:
        m, hidden = hidden_states.shape
        topk = topk_ids.shape[1]
        n = m * topk
        rows = hidden_states.unsqueeze(1).expand(m, topk, hidden).reshape(n, hidden)
        weights = topk_weight.reshape(n, 1) if weighted else unit_weights(n, topk_weight)
        local = kwargs.get("num_local_tokens")
        if local is not None:
            kwargs["num_local_tokens"] = local * topk
        scale = kwargs.get("a1_scale")
        if per_token_scale and scale is not None:
            if scale.dim() == 0 or scale.shape[0] != m:
                raise InvalidInputError(
                    f"a1_scale of shape {tuple(scale.shape)} has no row per token for M={m}, so emulated no_combine "
                    "cannot give each route its token's scale. Fix: pass a [M, ...] per-token a1_scale."
                )
            kwargs["a1_scale"] = scale.unsqueeze(1).expand(m, topk, *scale.shape[1:]).reshape(n, *scale.shape[1:])
        return fn(rows, w1, w2, weights, topk_ids.reshape(n, 1), **kwargs).view(m, topk, -1)

    return fused_moe_per_route
