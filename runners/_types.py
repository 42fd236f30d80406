"""The runner's inputs and output."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import torch

from ._config import AiterQuantType


# eq=False is load-bearing: identity equality keeps the default __hash__, so a quant info
# (holding tensors, which do not compare to a bool) can key the runner's weak plan cache.
@dataclass(frozen=True, eq=False)
class AiterMoeQuantInfo:
    """Weights and per-layer options. Frozen, and ``fused_moe_kwargs`` is copied into a
    read-only mapping, so a plan validated once cannot be changed behind its back."""

    w13_weight: torch.Tensor
    w2_weight: torch.Tensor
    quant_type: AiterQuantType = AiterQuantType.NONE
    w13_scale: torch.Tensor | None = None
    w2_scale: torch.Tensor | None = None
    a13_scale: torch.Tensor | None = None
    a2_scale: torch.Tensor | None = None
    b13: torch.Tensor | None = None
    b2: torch.Tensor | None = None
    expert_mask: torch.Tensor | None = None
    doweight_stage1: bool = False
    hidden_pad: int = 0
    intermediate_pad: int = 0
    swiglu_limit: float | None = None
    fused_moe_kwargs: Mapping[str, Any] | None = field(default=None)

    def __post_init__(self) -> None:
        if self.fused_moe_kwargs is not None:
            if not isinstance(self.fused_moe_kwargs, Mapping):
                raise TypeError(
                    "AiterMoeQuantInfo.fused_moe_kwargs must be a mapping of keyword arguments, "
                    f"not {type(self.fused_moe_kwargs).__name__}"
                )
            object.__setattr__(self, "fused_moe_kwargs", MappingProxyType(dict(self.fused_moe_kwargs)))
        object.__setattr__(self, "quant_type", AiterQuantType(self.quant_type))


@dataclass(slots=True)
class AiterRunnerInput:
    """One call's tensors and per-call options."""

    hidden_states: torch.Tensor  # [M, hidden]
    topk_ids: torch.Tensor  # [M, topk] int32
    topk_weights: torch.Tensor  # [M, topk] float32
    quant_type: AiterQuantType | None = None  # overrides AiterMoeQuantInfo.quant_type
    a1_scale: torch.Tensor | None = None  # overrides AiterMoeQuantInfo.a13_scale
    num_local_tokens: torch.Tensor | None = None
    output_dtype: torch.dtype | None = None


class AiterRunnerOutput:
    """``hidden_states``: ``[M, hidden]``, or ``[M, topk, hidden]`` with ``no_combine``."""

    __slots__ = ("hidden_states",)

    def __init__(self, hidden_states: torch.Tensor) -> None:
        self.hidden_states = hidden_states

    def __repr__(self) -> str:
        return f"AiterRunnerOutput(hidden_states=<{tuple(self.hidden_states.shape)} {self.hidden_states.dtype}>)"
