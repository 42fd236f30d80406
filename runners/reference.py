"""A plain-torch ``fused_moe`` with AITER's argument names and weight layout.

The correctness oracle for tests, and the ``reference`` backend of the runner
on any device. Every path has static shapes and reads no tensor values (no
``nonzero``, boolean indexing or ``.item()``), so it can be captured in a
CUDA graph and compiled with ``fullgraph=True``.

Three paths, chosen from shapes and the device, never from tensor values:
grouped (CUDA, bf16, a GPU where ``torch._grouped_mm`` runs: routes sorted by
expert, one grouped GEMM per stage, each routed expert's weights read once);
few routes (gather the routed experts' weights); many routes (every local
expert on every token, then pick). Whether the grouped GEMM runs is detected
once per device, by a trial call.

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
    No = 0
    per_Tensor = 1  # one scale for the activations, one per expert for the weights
    per_Token = 2  # one scale per token (row), one per output channel of each expert


class GateMode(str, enum.Enum):
    SEPARATED = "separated"  # w1 rows: all gate rows, then all up rows
    INTERLEAVE = "interleave"  # w1 rows: gate, up, gate, up, ...


_GROUPED_MM: Any = getattr(torch, "_grouped_mm", None)  # private in torch: used only where a trial call ran
_grouped_by_device: dict[tuple[str, int | None], bool] = {}
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


def _trial_grouped_mm(device: torch.device) -> bool:
    """Whether ``torch._grouped_mm`` runs on ``device``: asked once, by trying it."""
    if _GROUPED_MM is None:
        return False
    try:
        a = torch.zeros(32, 32, dtype=torch.bfloat16, device=device)
        b = torch.zeros(2, 32, 32, dtype=torch.bfloat16, device=device).transpose(1, 2)
        _GROUPED_MM(a, b, offs=torch.tensor([16, 32], dtype=torch.int32, device=device))
    except (RuntimeError, NotImplementedError, TypeError, ValueError):
        return False  # no kernel for this GPU or build: the other paths serve
    return True


def _can_group(x: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor) -> bool:
    if not x.is_cuda or x.dtype is not torch.bfloat16 or w1.dtype is not torch.bfloat16 or w2.dtype is not torch.bfloat16:
        return False
    if x.shape[1] % 16 or w1.shape[1] % 16 or w2.shape[2] % 16:  # the grouped GEMM's alignment
        return False
    key = (x.device.type, x.device.index)
    ok = _grouped_by_device.get(key)
    if ok is None:
        ok = _grouped_by_device[key] = _trial_grouped_mm(x.device)
    return ok


def _grouped_routes(
    x: torch.Tensor,
    w1: torch.Tensor,
    w2: torch.Tensor,
    ids: torch.Tensor,
    weight: torch.Tensor,
    bias1: torch.Tensor | None,
    bias2: torch.Tensor | None,
    act: str,
    mode: str,
    swiglu_limit: float | None,
    doweight_stage1: bool,
) -> torch.Tensor:
    """``[M, topk, hidden]`` float32: routes sorted by expert, one grouped GEMM per stage.

    Static shapes, no host sync: the group sizes stay on the device as offsets.
    The weights go in as transposed views (the layout ``_grouped_mm`` takes), so
    an expert with no routes is an empty group and its weights are not read.
    """
    m, topk = ids.shape
    hidden = x.shape[1]
    inter = w2.shape[2]
    flat = ids.reshape(-1)
    order = torch.argsort(flat, stable=True)
    # Group ends; bincount would ask the host for its size, which breaks graph capture.
    counts = torch.zeros(w1.shape[0], dtype=torch.int32, device=x.device)
    offs = counts.index_add_(0, flat, torch.ones_like(flat, dtype=torch.int32)).cumsum(0, dtype=torch.int32)
    tokens = order if topk == 1 else order // topk  # the token of each sorted route
    h = _GROUPED_MM(x.index_select(0, tokens), w1.transpose(1, 2), offs=offs).float()
    sorted_ids = flat.index_select(0, order)
    if bias1 is not None:
        h = h + bias1.float().index_select(0, sorted_ids)
    a = _activate(h, inter, act, mode, swiglu_limit)
    if doweight_stage1:
        a = a * weight.reshape(-1).index_select(0, order).unsqueeze(1)
    y = _GROUPED_MM(a.to(x.dtype), w2.transpose(1, 2), offs=offs).float()
    if bias2 is not None:
        y = y + bias2.float().index_select(0, sorted_ids)
    return torch.empty_like(y).index_copy_(0, order, y).view(m, topk, hidden)


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
    num_local_tokens: torch.Tensor | None = None,
    moe_sorting_dispatch_policy: int = 0,
    dtype: torch.dtype | None = None,
    bias1: torch.Tensor | None = None,
    bias2: torch.Tensor | None = None,
    splitk: int = 0,
    swiglu_limit: float | None = None,
    gate_mode: Any = GateMode.SEPARATED.value,
    no_combine: bool = False,
) -> torch.Tensor:
    """Combined ``[M, hidden]`` output, or per-route ``[M, topk, hidden]`` with ``no_combine``:
    unweighted, or weighted inside stage 1 with ``doweight_stage1`` (AITER's own
    no_combine refuses that combination; the reference defines it, as the runner's
    emulation delivers it).

    Matmuls run in the inputs' dtype, activation and combine in float32; the
    result is ``dtype`` (default: the input's dtype, or bf16 for quantised input).
    ``block_size_M``, ``moe_sorting_dispatch_policy`` and ``splitk`` are AITER's tuning
    hints (tile size, sorting dispatch, split-K): they do not change the result, and are
    taken and ignored here (the runner says so once). ``num_local_tokens`` (a
    one-element tensor ``n``) says only the first ``n`` rows are tokens: the
    others come back as zeros, as AITER's sorting leaves them.

    ``QuantType.per_Tensor`` and ``per_Token`` are computed by dequantising:
    ``hidden_states * a1_scale`` (``[1]``, or ``[M, 1]`` per token) and each
    weight times its scale (``[E, 1, 1]``, or ``[E, N, 1]`` per channel), in
    float32. ``a2_scale`` (the stage-2 input's static scale) is not modelled.
    """
    qt = _name(quant_type)
    if qt not in ("No", "per_Tensor", "per_Token"):
        raise NotImplementedError(f"the reference fused_moe computes QuantType.No, per_Tensor and per_Token, not {qt}")
    scales = (w1_scale, w2_scale, a1_scale)
    if qt == "No" and any(s is not None for s in scales):
        raise NotImplementedError("QuantType.No takes no quantisation scales")
    if qt != "No" and any(s is None for s in scales):
        raise NotImplementedError(f"the reference computes QuantType.{qt} from given scales: pass w1_scale, w2_scale and a1_scale")
    if a2_scale is not None:
        raise NotImplementedError("the reference fused_moe does not model a2_scale")
    act = _name(activation)
    mode = str(getattr(gate_mode, "value", gate_mode))
    out_dtype = (hidden_states.dtype if qt == "No" else torch.bfloat16) if dtype is None else dtype
    if qt != "No" and a1_scale is not None and w1_scale is not None and w2_scale is not None:
        # Dequantise once; everything after runs in float32.
        hidden_states = hidden_states.float() * a1_scale.float()
        w1 = w1.float() * w1_scale.float()
        w2 = w2.float() * w2_scale.float()
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
    if _can_group(x, w1, w2):
        routes = _grouped_routes(x, w1, w2, ids, weight, bias1, bias2, act, mode, swiglu_limit, doweight_stage1)
    elif m * topk < n_local:
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
    if num_local_tokens is not None:  # rows past the local tokens are padding: zeros, no host sync
        tokens_valid = torch.arange(m, device=routes.device) < num_local_tokens.reshape(-1)[:1].to(routes.device)
        routes = routes * tokens_valid.view(m, 1, 1)
    if no_combine:
        return routes.to(out_dtype)
    if topk == 1:  # one route a row (as the runner's no_combine emulation sends): no sum to take
        return (routes[:, 0] if doweight_stage1 else routes[:, 0] * weight).to(out_dtype)
    if doweight_stage1:
        return routes.sum(1).to(out_dtype)
    return (routes * weight.unsqueeze(-1)).sum(1).to(out_dtype)
