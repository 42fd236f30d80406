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


def choose(
    report: CapabilityReport, config: MoeRunnerConfig, qi: AiterMoeQuantInfo, quant_type: AiterQuantType
) -> tuple[Strategy, str]:
    """The strategy for one plan, and why; raises nothing (refusals are the caller's)."""
    if not config.no_combine:
        return "combined", "no_combine is not asked for"
    outside = outside_native_limits(qi, quant_type)
    if report.support("no_combine") is Support.SUPPORTED:
        if not outside:
            return "native", f"{report.aiter.describe()}'s fused_moe takes no_combine and the request is inside {NATIVE_LIMITS}"
        why = f"outside the native limits ({', '.join(outside)}): {NATIVE_LIMITS}"
    else:
        why = f"{report.aiter.describe()}'s fused_moe has no no_combine ({report.feature('no_combine').support.value})"
    return "emulated", why


def emulating(fn: Callable[..., torch.Tensor], *, weighted: bool) -> Callable[..., torch.Tensor]:
    """``fn`` with per-route outputs: one allocation for the expanded rows, no host sync.

    The unit route weights come from a contiguous buffer of ones kept per device
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
        return fn(rows, w1, w2, weights, topk_ids.reshape(n, 1), **kwargs).view(m, topk, -1)

    return fused_moe_per_route
