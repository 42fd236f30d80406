"""What a caller configures once: the runner config and the quant type names."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal, get_args

from ._errors import InvalidConfigError

Backend = Literal["aiter", "reference"]
GateModeName = Literal["separated", "interleave"]
Fallback = Literal["emulate", "refuse"]

# An activation is named by its AITER ActivationType member, in lower case ("silu", "swiglu",
# "situv2"); which exist is the installed build's header's answer, checked when a runner is made.
DEFAULT_ACTIVATION = "silu"
BACKENDS: tuple[str, ...] = get_args(Backend)
GATE_MODES: tuple[str, ...] = get_args(GateModeName)
FALLBACKS: tuple[str, ...] = get_args(Fallback)


class AiterQuantType(str, enum.Enum):
    """AITER's ``QuantType``, by member name; mapped onto the installed enum by name."""

    NONE = "No"
    PER_TENSOR = "per_Tensor"
    PER_TOKEN = "per_Token"
    PER_1X32 = "per_1x32"
    PER_1X128 = "per_1x128"
    PER_128X128 = "per_128x128"
    PER_256X128 = "per_256x128"
    PER_1024X128 = "per_1024x128"


def _choice(field: str, value: object, choices: tuple[str, ...] | list[str]) -> None:
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise InvalidConfigError(f"MoeRunnerConfig.{field} must be one of {options}, not {value!r}", field=field)


@dataclass(frozen=True, slots=True)
class MoeRunnerConfig:
    """How a runner dispatches; checked against the installed AITER when the runner is made.

    ``gate_mode`` is forwarded to ``fused_moe`` only when set (AITER's default
    layout is "separated"). ``fallback`` says what ``no_combine`` does where the
    build cannot serve it natively: ``"emulate"`` (the default) sends each route
    through the same fused kernel as its own row; ``"refuse"`` raises instead.
    """

    activation: str = DEFAULT_ACTIVATION
    no_combine: bool = False
    backend: Backend = "aiter"
    gate_mode: GateModeName | None = None
    fallback: Fallback = "emulate"

    def __post_init__(self) -> None:
        if not isinstance(self.activation, str) or not self.activation.isidentifier():
            raise InvalidConfigError(
                "MoeRunnerConfig.activation must be the name of an AITER ActivationType member in lower case, "
                f"such as 'silu' or 'swiglu', not {self.activation!r}",
                field="activation",
            )
        if not isinstance(self.no_combine, bool):
            raise InvalidConfigError(
                f"MoeRunnerConfig.no_combine must be a bool, not {type(self.no_combine).__name__} {self.no_combine!r}",
                field="no_combine",
            )
        _choice("backend", self.backend, BACKENDS)
        if self.gate_mode is not None:
            _choice("gate_mode", self.gate_mode, GATE_MODES)
        _choice("fallback", self.fallback, FALLBACKS)
