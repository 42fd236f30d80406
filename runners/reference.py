"""A plain-torch ``fused_moe`` with AITER's argument names and weight layout.

The correctness oracle for tests, and the ``reference`` backend of the runner
on any device. Every path has static shapes and reads no tensor values (no
``nonzero``, boolean indexing or ``.item()``), so it can be captured in a
CUDA graph and compiled with ``fullgraph=True``.

Layout (as AITER's): ``w1`` is ``[E, 2*inter, hidden]`` (gate and up stacked)
or ``[E, inter, hidden]``; ``w2`` is ``[E, hidden, inter]``; ``topk_ids`` int32
``[M, topk]``; ``topk_weight`` float32 ``[M, topk]``; ``expert_mask`` a mask
over the global experts whose ones are the local experts, in order.
"""

from __future__ import annotations

import enum
from typing import Any

import torch
import torch.nn.functional as F

__all__ = ["ActivationType", "GateMode", "QuantType", "fused_moe"]


class ActivationType(enum.IntEnum):
    No = -1
    Silu = 0
    Gelu = 1
    Swiglu = 2


class QuantType(enum.IntEnum):
    No = 0  # the only one the reference computes


class GateMode(str, enum.Enum):
    SEPARATED = "separated"  # w1 rows: all gate rows, then all up rows
    INTERLEAVE = "interleave"  # w1 rows: gate, up, gate, up, ...


_SWIGLU_ALPHA = 1.702
_SWIGLU_LIMIT = 7.0


def _name(value: Any) -> str:
    return str(getattr(value, "name", value))


def _activate(h: torch.Tensor, inter: int, activation: str, gate_mode: str, swiglu_limit: float | None) -> torch.Tensor:
    """Stage-1 output ``[..., 2*inter]`` or ``[..., inter]`` to ``[..., inter]``."""
    if h.shape[-1] == inter:  # no up projection
        gate, up = h, None
    elif gate_mode == GateMode.INTERLEAVE.value:
        gate, up = h[..., 0::2], h[..., 1::2]
    else:
        gate, up = h[..., :inter], h[..., inter:]
    if activation == "Swiglu":
        limit = _SWIGLU_LIMIT if swiglu_limit is None else swiglu_limit
        gate = gate.clamp(max=limit)
        out = gate * torch.sigmoid(_SWIGLU_ALPHA * gate)
        return out if up is None else out * (up.clamp(min=-limit, max=limit) + 1)
    if activation == "Silu":
        out = F.silu(gate)
    elif activation == "Gelu":
        out = F.gelu(gate)
    else:
        raise NotImplementedError(f"the reference fused_moe has no activation {activation!r}; use Silu, Gelu or Swiglu")
    return out if up is None else out * up


def fused_moe(
    hidden_states: torch.Tensor,
    w1: torch.Tensor,
    w2: torch.Tensor,
    topk_weight: torch.Tensor,
    topk_ids: torch.Tensor,
    expert_mask: torch.Tensor | None = None,
    activation: Any = ActivationType.Silu,
    quant_type: Any = QuantType.No,
    doweight_stage1: bool = False,
    w1_scale: torch.Tensor | None = None,
    w2_scale: torch.Tensor | None = None,
    a1_scale: torch.Tensor | None = None,
    a2_scale: torch.Tensor | None = None,
    block_size_M: int | None = None,
    dtype: torch.dtype | None = None,
    bias1: torch.Tensor | None = None,
    bias2: torch.Tensor | None = None,
    swiglu_limit: float | None = None,
    gate_mode: Any = GateMode.SEPARATED.value,
    no_combine: bool = False,
) -> torch.Tensor:
    """Combined ``[M, hidden]`` output, or per-route unweighted ``[M, topk, hidden]`` with ``no_combine``.

    Matmuls run in the inputs' dtype, activation and combine in float32; the
    result is ``dtype`` (default: the input's dtype).
    ``block_size_M`` is a tuning hint and is ignored.
    """
    if _name(quant_type) != "No":
        raise NotImplementedError(f"the reference fused_moe computes QuantType.No only, not {_name(quant_type)}")
    if any(s is not None for s in (w1_scale, w2_scale, a1_scale, a2_scale)):
        raise NotImplementedError("the reference fused_moe takes no quantisation scales (QuantType.No only)")
    if no_combine and doweight_stage1:
        raise NotImplementedError("no_combine returns unweighted routes, so doweight_stage1 must be False (as in AITER)")
    act = _name(activation)
    mode = str(getattr(gate_mode, "value", gate_mode))
    out_dtype = hidden_states.dtype if dtype is None else dtype
    m, hidden = hidden_states.shape
    topk = topk_ids.shape[1]
    inter = w2.shape[2]

    ids = topk_ids.long()
    weight = topk_weight.float()
    valid = None
    if expert_mask is not None:
        # Global expert id -> local index; routes to other ranks' experts count zero.
        valid = (expert_mask[ids] != 0).unsqueeze(-1)
        ids = (expert_mask.long().cumsum(0) - 1)[ids].clamp(min=0)

    # Matmuls in the inputs' dtype (bf16 GEMMs accumulate in fp32), everything else in fp32.
    cdt = torch.promote_types(hidden_states.dtype, w1.dtype)
    x = hidden_states.to(cdt)
    n_local = w1.shape[0]
    if m * topk < n_local:
        # Few routes: gather the routed experts' weights, [M*topk, ...].
        flat = ids.reshape(-1)
        h = torch.bmm(w1.index_select(0, flat).to(cdt), x.repeat_interleave(topk, 0).unsqueeze(-1)).squeeze(-1).float()
        if bias1 is not None:
            h = h + bias1.float().index_select(0, flat)
        a = _activate(h, inter, act, mode, swiglu_limit)
        if doweight_stage1:
            a = a * weight.reshape(-1, 1)
        y = torch.bmm(w2.index_select(0, flat).to(cdt), a.to(cdt).unsqueeze(-1)).squeeze(-1).float()
        if bias2 is not None:
            y = y + bias2.float().index_select(0, flat)
        routes = y.reshape(m, topk, hidden)
    else:
        # Many routes: every local expert on every token, then pick the routed ones.
        h = torch.einsum("mh,eih->emi", x, w1.to(cdt)).float()
        if bias1 is not None:
            h = h + bias1.float().unsqueeze(1)
        a = _activate(h, inter, act, mode, swiglu_limit)  # [E, M, inter]
        if doweight_stage1:
            dense = torch.zeros(n_local, m, device=x.device, dtype=torch.float32)
            tokens = torch.arange(m, device=x.device).repeat_interleave(topk)
            routed = weight if valid is None else weight * valid.squeeze(-1)  # masked routes add nothing
            dense = dense.index_put((ids.reshape(-1), tokens), routed.reshape(-1), accumulate=True)
            a = a * dense.unsqueeze(-1)
        y = torch.einsum("emi,ehi->emh", a.to(cdt), w2.to(cdt)).float()
        if bias2 is not None:
            y = y + bias2.float().unsqueeze(1)
        routes = y[ids, torch.arange(m, device=x.device).unsqueeze(1)]  # [M, topk, hidden]
    if valid is not None:
        routes = routes * valid
    if no_combine:
        return routes.to(out_dtype)
    if doweight_stage1:
        return routes.sum(1).to(out_dtype)
    return (routes * weight.unsqueeze(-1)).sum(1).to(out_dtype)
