"""The runner's inputs and output."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import torch

from ._config import AiterQuantType
from ._errors import InvalidInputError

_set = object.__setattr__  # the frozen dataclass's own way in


# eq=False: identity equality (tensors do not compare to a bool), and the default __hash__.
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
    # The runners' bound plans for this quant info, by (runner, quant type): kept here so a
    # plan lives exactly as long as its quant info (its layer's tensors).
    _plans: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Built for every forward by some servers: the common cases take the short way.
        kwargs = self.fused_moe_kwargs
        if kwargs is not None:
            if type(kwargs) is not dict and not isinstance(kwargs, Mapping):
                raise InvalidInputError(
                    "AiterMoeQuantInfo.fused_moe_kwargs must be a mapping of keyword arguments, "
                    f"not {type(kwargs).__name__}"
                )
            _set(self, "fused_moe_kwargs", MappingProxyType(dict(kwargs)))
        if type(self.quant_type) is not AiterQuantType:
            try:
                _set(self, "quant_type", AiterQuantType(self.quant_type))
            except ValueError:
                names = ", ".join(f"AiterQuantType.{q.name}" for q in AiterQuantType)
                raise InvalidInputError(f"AiterMoeQuantInfo.quant_type must be one of {names}, not {self.quant_type!r}") from None


# What each quant info field must be, checked once per quant info when a runner plans it.
_WEIGHTS = ("w13_weight", "w2_weight")
_OPTIONAL_TENSORS = ("w13_scale", "w2_scale", "a13_scale", "a2_scale", "b13", "b2", "expert_mask")


def _kind(value: object) -> str:
    return "None" if value is None else type(value).__name__


def quant_info_problems(qi: AiterMoeQuantInfo) -> list[str]:
    """What is wrong with a quant info's fields (empty: nothing), each naming the field and
    what it must be. A frozen quant info cannot change after this check."""
    out = []
    for name in _WEIGHTS:
        value = getattr(qi, name)
        if not isinstance(value, torch.Tensor):
            out.append(f"{name} must be a torch.Tensor, not {_kind(value)}")
    for name in _OPTIONAL_TENSORS:
        value = getattr(qi, name)
        if value is not None and not isinstance(value, torch.Tensor):
            out.append(f"{name} must be a torch.Tensor or None, not {_kind(value)}")
    if not isinstance(qi.doweight_stage1, bool):
        out.append(f"doweight_stage1 must be a bool, not {_kind(qi.doweight_stage1)}")
    for name in ("hidden_pad", "intermediate_pad"):
        value = getattr(qi, name)
        if not isinstance(value, int) or isinstance(value, bool):
            out.append(f"{name} must be an int, not {_kind(value)}")
    limit = qi.swiglu_limit
    if limit is not None and (not isinstance(limit, (int, float)) or isinstance(limit, bool)):
        out.append(f"swiglu_limit must be a float or None, not {_kind(limit)}")
    return out


def check_quant_info(qi: AiterMoeQuantInfo) -> None:
    problems = quant_info_problems(qi)
    if problems:
        raise InvalidInputError(
            "AiterMoeQuantInfo: " + "; ".join(problems) + ". Fix: pass the layer's weights and scales as tensors "
            "(torch.as_tensor(...) for arrays and lists), on the device the kernel runs on."
        )


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
