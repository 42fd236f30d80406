"""What the installed AITER can do, learned once and truthfully.

The pipeline, one private module a step: collect the facts (``_facts``: where
``aiter`` is and who installed it, ``_distribution``; its source, ``_static``;
every entry point, ``_resolve``; its import, ``_runtime``; the GPUs, ``_gpu``;
the kernels it ships, ``_kernels``) -> decide (``_features`` from ``_catalog``
and ``_entry_catalog``; per architecture, ``_arch``) -> the report
(``_report``) -> cache it (``_registry``) -> gate requests (``_gate``,
``_calls``), agree across ranks (``_agree``) and print it (``_cli``).
"""

__version__ = "0.2.0"

from ._agree import Agreement, FeatureDifference, RankAnswer, agree
from ._calls import bind, check_call, enum_value, resolve
from ._errors import (
    AgreementError,
    CapabilityError,
    IgnoredOptionWarning,
    InvalidCallError,
    InvalidInputError,
    InvalidKwargsError,
    KwargCollisionError,
    NotPrebuiltError,
    UnsupportedFeatureError,
    UnknownMemberError,
    UnverifiedFeatureWarning,
    UsageError,
    did_you_mean,
)
from ._gate import explain, gate, require, require_prebuilt, unsupported_error
from ._model import (
    AiterIdentity,
    AiterStatus,
    ArchInventory,
    Archs,
    DispatchEntry,
    EntryPoint,
    Environment,
    Evidence,
    Feature,
    FusedMoe,
    Gpu,
    Jit,
    JitModule,
    KernelFamily,
    KernelKind,
    Kernels,
    Parameter,
    ParameterKind,
    SignatureReading,
    Support,
)
from ._registry import clear_cache, probe
from ._report import SCHEMA_VERSION, CapabilityReport, report_for

__all__ = [
    "__version__",
    "SCHEMA_VERSION",
    "Agreement",
    "AgreementError",
    "AiterIdentity",
    "AiterStatus",
    "ArchInventory",
    "Archs",
    "CapabilityError",
    "CapabilityReport",
    "DispatchEntry",
    "EntryPoint",
    "Environment",
    "Evidence",
    "Feature",
    "FeatureDifference",
    "FusedMoe",
    "Gpu",
    "IgnoredOptionWarning",
    "InvalidCallError",
    "InvalidInputError",
    "InvalidKwargsError",
    "Jit",
    "JitModule",
    "KernelFamily",
    "KernelKind",
    "Kernels",
    "KwargCollisionError",
    "NotPrebuiltError",
    "Parameter",
    "ParameterKind",
    "RankAnswer",
    "SignatureReading",
    "Support",
    "UnsupportedFeatureError",
    "UnknownMemberError",
    "UnverifiedFeatureWarning",
    "UsageError",
    "agree",
    "bind",
    "check_call",
    "clear_cache",
    "did_you_mean",
    "enum_value",
    "explain",
    "gate",
    "probe",
    "report_for",
    "require",
    "require_prebuilt",
    "resolve",
    "unsupported_error",
]
