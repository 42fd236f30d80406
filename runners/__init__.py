"""MoE runners that check every request against the AITER feature set before dispatch.

Modules: ``_config`` (what a caller configures), ``_types`` (inputs, output),
``_kernel`` (which fused_moe is called), ``_plan`` (validation, once, into a
dispatch plan), ``_no_combine`` (native or emulated per-route outputs), ``_core`` (the runner and its call path), ``reference`` (a
plain-torch fused_moe).
"""

from capabilities import (
    InvalidInputError,
    InvalidKwargsError,
    KwargCollisionError,
    UnsupportedFeatureError,
    UnverifiedFeatureWarning,
)

from ._config import AiterQuantType, InvalidConfigError, MoeRunnerConfig
from ._core import AiterRunnerCore, Offer
from ._kernel import AiterUnavailableError
from ._plan import Plan
from ._types import AiterMoeQuantInfo, AiterRunnerInput, AiterRunnerOutput

__all__ = [
    "AiterMoeQuantInfo",
    "AiterQuantType",
    "AiterRunnerCore",
    "AiterRunnerInput",
    "AiterRunnerOutput",
    "AiterUnavailableError",
    "InvalidConfigError",
    "InvalidInputError",
    "InvalidKwargsError",
    "KwargCollisionError",
    "MoeRunnerConfig",
    "Offer",
    "Plan",
    "UnsupportedFeatureError",
    "UnverifiedFeatureWarning",
]
