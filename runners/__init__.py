"""MoE runners that check every request against the AITER feature set before dispatch.

Modules: ``_config`` (what a caller configures), ``_errors`` (the runner's own errors), ``_types`` (inputs, output),
``_kernel`` (which fused_moe is called), ``_plan`` (validation, once, into a
dispatch plan), ``_no_combine`` (native or emulated per-route outputs), ``_core`` (the runner and its call path), ``reference`` (a
plain-torch fused_moe).
"""

from capabilities import InvalidKwargsError, UnsupportedFeatureError, UnverifiedFeatureWarning

from ._config import AiterQuantType, MoeRunnerConfig
from ._core import AiterRunnerCore, Offer
from ._errors import AiterUnavailableError, InvalidConfigError, InvalidInputError, KwargCollisionError
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
