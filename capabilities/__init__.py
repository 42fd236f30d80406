"""What the installed AITER can do, learned once and truthfully.

The pipeline, one private module a step: find the distribution
(``_distribution``) -> read the signature (``_static``, ``_runtime``) ->
decide the features (``_features``, from ``_catalog``) -> cache and report
(``_registry``, ``_cli``).
"""

from ._agree import Agreement, FeatureDifference, RankAnswer, agree
from ._errors import (
    AgreementError,
    CapabilityError,
    InvalidInputError,
    InvalidKwargsError,
    KwargCollisionError,
    UnsupportedFeatureError,
)
from ._model import (
    SCHEMA_VERSION,
    AiterIdentity,
    AiterStatus,
    CapabilityReport,
    Environment,
    Evidence,
    Feature,
    FusedMoe,
    Parameter,
    ParameterKind,
    SignatureReading,
    Support,
)
from ._registry import clear_cache, explain, probe, report_for, require

__all__ = [
    "SCHEMA_VERSION",
    "Agreement",
    "AgreementError",
    "AiterIdentity",
    "AiterStatus",
    "CapabilityError",
    "CapabilityReport",
    "Environment",
    "Evidence",
    "Feature",
    "FeatureDifference",
    "FusedMoe",
    "InvalidInputError",
    "InvalidKwargsError",
    "KwargCollisionError",
    "Parameter",
    "ParameterKind",
    "RankAnswer",
    "SignatureReading",
    "Support",
    "UnsupportedFeatureError",
    "agree",
    "clear_cache",
    "explain",
    "probe",
    "report_for",
    "require",
]
