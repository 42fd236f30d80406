"""The typed, frozen result of a probe: what the report says, field by field."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, WrapSerializer, field_validator

SCHEMA_VERSION = 1


def _freeze(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


def _thaw(value: Mapping[str, Any], handler: Any) -> Any:
    return handler(dict(value))


V = TypeVar("V")
# A read-only mapping that still serialises as a JSON object.
FrozenMap = Annotated[Mapping[str, V], AfterValidator(_freeze), WrapSerializer(_thaw)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Support(str, enum.Enum):
    SUPPORTED = "supported"
    UNSUPPORTED = "unsupported"
    UNKNOWN = "unknown"


class AiterStatus(str, enum.Enum):
    AVAILABLE = "available"
    ABSENT = "absent"
    IMPOSTOR = "impostor"
    IMPORT_FAILED = "import_failed"
    UNREADABLE = "unreadable"


class ParameterKind(str, enum.Enum):
    POSITIONAL_ONLY = "positional_only"
    POSITIONAL_OR_KEYWORD = "positional_or_keyword"
    VAR_POSITIONAL = "var_positional"
    KEYWORD_ONLY = "keyword_only"
    VAR_KEYWORD = "var_keyword"

    @property
    def by_keyword(self) -> bool:
        return self in (ParameterKind.POSITIONAL_OR_KEYWORD, ParameterKind.KEYWORD_ONLY)


FeatureSource = Literal[
    "static_signature",  # ast reading of aiter/fused_moe.py
    "runtime_signature",  # inspect.signature of the imported function
    "enum_header",  # aiter_enum.h shipped with AITER
    "runtime_enum",  # members of the imported enum
    "distribution",  # no usable AITER: absent, impostor, unreadable, failed import
]


class AiterIdentity(_Frozen):
    """Which installed code answers to ``import aiter``."""

    status: AiterStatus
    distribution: str | None
    version: str | None
    version_valid: bool
    location: str | None
    import_error: str | None
    detail: str

    def describe(self) -> str:
        """'amd-aiter 0.1.9', or a phrase naming what is there instead."""
        if self.distribution is None:
            return "AITER (no installed distribution)" if self.location else "no AITER"
        return f"{self.distribution} {self.version or '(no version)'}"


class Parameter(_Frozen):
    name: str
    kind: ParameterKind
    default: str | None  # source text of the default; None when there is none


class FusedMoe(_Frozen):
    """The signature of ``aiter.fused_moe`` that decided the features."""

    source: Literal["static_signature", "runtime_signature"]
    parameters: tuple[Parameter, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    @property
    def var_keyword(self) -> bool:
        return any(p.kind is ParameterKind.VAR_KEYWORD for p in self.parameters)

    def get(self, name: str) -> Parameter | None:
        for p in self.parameters:
            if p.name == name and p.kind not in (
                ParameterKind.VAR_POSITIONAL,
                ParameterKind.VAR_KEYWORD,
            ):
                return p
        return None


class SignatureReading(_Frozen):
    """One probe's reading of the signature: parameters, or why there are none."""

    parameters: tuple[Parameter, ...] | None
    error: str | None


class Evidence(_Frozen):
    """What each probe saw, kept so that a reader can check the decision."""

    static: SignatureReading
    runtime: SignatureReading | None  # None: the runtime probe did not run
    disagreement: str | None
    enum_header: str | None  # path of the header read, if any
    enum_error: str | None


class Feature(_Frozen):
    support: Support
    source: FeatureSource
    detail: str


class Environment(_Frozen):
    python: str
    torch: str | None
    platform: str


class CapabilityReport(_Frozen):
    schema_version: int = SCHEMA_VERSION
    aiter: AiterIdentity
    fused_moe: FusedMoe | None
    features: FrozenMap[Feature]
    enums: FrozenMap[tuple[str, ...]]
    evidence: Evidence
    environment: Environment

    @field_validator("schema_version")
    @classmethod
    def _known_schema(cls, value: int) -> int:
        if value != SCHEMA_VERSION:
            raise ValueError(f"schema version {value}; this version of the project reads schema {SCHEMA_VERSION}")
        return value

    def feature(self, name: str) -> Feature:
        """The answer for ``name``, listed or not: any keyword of ``fused_moe`` is a feature,
        so an unlisted one is decided by the same rules (``unknown`` behind ``**kwargs``)."""
        listed = self.features.get(name)
        if listed is not None:
            return listed
        from ._features import decide_unlisted  # the rules live there; they need this class

        return decide_unlisted(self, name)

    def support(self, name: str) -> Support:
        return self.feature(name).support
