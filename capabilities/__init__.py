"""What the installed AITER can do, learned once and truthfully.

The pipeline, one private module a step: collect the facts (``_facts``: where
``aiter`` is and who installed it, ``_distribution``; its source, ``_static``;
its import, ``_runtime``) -> decide (``_features``, from ``_catalog``) ->
the report (``_report``) -> cache it (``_registry``) -> gate requests
(``_gate``) and print it (``_cli``).
"""

from ._agree import Agreement, FeatureDifference, RankAnswer, agree
from ._errors import (
    AgreementError,
    CapabilityError,
    InvalidInputError,
    InvalidKwargsError,
    KwargCollisionError,
    NotPrebuiltError,
    UnsupportedFeatureError,
    UnverifiedFeatureWarning,
    did_you_mean,
)
from ._gate import explain, gate, require, require_prebuilt, unsupported_error
from ._model import (
    AiterIdentity,
    AiterStatus,
    ArchInventory,
    Archs,
    DispatchEntry,
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
    "Environment",
    "Evidence",
    "Feature",
    "FeatureDifference",
    "FusedMoe",
    "Gpu",
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
    "UnverifiedFeatureWarning",
    "agree",
    "clear_cache",
    "did_you_mean",
    "explain",
    "gate",
    "probe",
    "report_for",
    "require",
    "require_prebuilt",
    "unsupported_error",
]
