"""The report: the decided feature set, above the value types and the rules that fill it."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import field_validator

from . import _facts, _features, _runtime, _static
from ._distribution import Located, Submodule
from ._model import (
    AiterIdentity,
    AiterStatus,
    Environment,
    Evidence,
    Feature,
    Frozen,
    FrozenMap,
    FusedMoe,
    SignatureReading,
    Support,
)

SCHEMA_VERSION = 2


class CapabilityReport(Frozen):
    """What one AITER build offers: its identity, the signature that decided, every
    feature with its evidence. Frozen and hashable; ``--json`` is ``model_dump(mode="json")``."""

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
        return _features.decide_unlisted(self.aiter, self.fused_moe, self.enums, self.evidence, name)

    def support(self, name: str) -> Support:
        return self.feature(name).support


def from_facts(facts: _facts.Facts, identity: AiterIdentity | None = None) -> CapabilityReport:
    """Decide every feature from the collected facts (``identity``: who it is, when the
    caller knows better than the files, as :func:`report_for` does)."""
    ident = _features.identity(facts) if identity is None else identity
    fused, ev = _features.evidence(facts, ident)
    enums, _, _ = _features.enums(facts)
    return CapabilityReport(
        aiter=ident,
        fused_moe=fused,
        features=_features.decide_all(ident, fused, enums, ev),
        enums=enums,
        evidence=ev,
        environment=facts.environment,
    )


def report_for(
    fn: Callable[..., Any],
    *,
    distribution: str,
    version: str,
    enums: Mapping[str, Sequence[str]],
) -> CapabilityReport:
    """A report on any ``fused_moe``-compatible callable, read with ``inspect.signature``.

    For kernels that are not an installed AITER (a reference implementation, a
    wrapper of your own), so that the same checks apply to them.
    """
    reading = SignatureReading(parameters=_runtime.signature_of(fn), error=None)
    module = sys.modules.get(getattr(fn, "__module__", ""), None)
    origin = getattr(module, "__file__", None)
    facts = _facts.Facts(
        located=Located(
            package_dir=None,
            module_file=None,
            found_by="report_for",
            distribution=distribution,
            version=version,
            version_valid=True,
            owner_evidence="given by the caller",
            conflicts=(),
            problems=(),
            fused_moe=Submodule(None, "missing"),
            has_jit=False,
            native_tree=None,
        ),
        static=_static.StaticResult(reading, unreadable=None),
        enums=_static.EnumResult(None, {k: tuple(v) for k, v in enums.items()}, None),
        runtime=_runtime.RuntimeResult(reading, None, {k: tuple(v) for k, v in enums.items()}),
        environment=_facts.environment(),
    )
    ident = AiterIdentity(
        status=AiterStatus.AVAILABLE,
        distribution=distribution,
        version=version,
        version_valid=True,
        location=origin if isinstance(origin, str) else None,
        import_error=None,
        rule="given by the caller (report_for)",
        conflicts=(),
        detail=f"{distribution} {version}: {getattr(fn, '__qualname__', fn)!s}",
    )
    return from_facts(facts, ident)


__all__ = ["SCHEMA_VERSION", "CapabilityReport", "Evidence", "from_facts", "report_for"]
