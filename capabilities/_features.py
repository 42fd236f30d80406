"""Step 3: decide every feature from the evidence.

Rules, in order: no AITER (absent, impostor) means unsupported; no readable
signature means unknown; a keyword-capable parameter is supported; a
positional-only one is not; a missing name is unknown behind ``**kwargs`` and
unsupported otherwise. A release number only says where to upgrade to.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import _catalog
from ._model import (
    AiterIdentity,
    AiterStatus,
    CapabilityReport,
    Feature,
    FeatureSource,
    FusedMoe,
    ParameterKind,
    Support,
)

ENUM_FEATURES = tuple(_catalog.ENUMS)


def _since(name: str) -> str:
    first = _catalog.first_release(name)
    if first is None:
        return ""
    return f" (first released in {first})" if first.startswith("v") else f" ({first})"


def _no_aiter(identity: AiterIdentity) -> Feature | None:
    if identity.status is AiterStatus.ABSENT:
        return Feature(
            support=Support.UNSUPPORTED,
            source="distribution",
            detail="AITER is not installed; install AMD's AITER (the distribution 'amd-aiter' or a ROCm build)",
        )
    if identity.status is AiterStatus.IMPOSTOR:
        return Feature(support=Support.UNSUPPORTED, source="distribution", detail=identity.detail)
    return None


def decide_parameters(
    identity: AiterIdentity,
    fused: FusedMoe | None,
    unknown_because: str,
    tried: FeatureSource,
) -> dict[str, Feature]:
    names = [k.name for k in _catalog.PARAMETERS]
    if fused is not None:
        names += [n for n in fused.names if fused.get(n) is not None and n not in names]
    return {n: decide_parameter(identity, fused, n, unknown_because, tried) for n in names}


def decide_parameter(
    identity: AiterIdentity,
    fused: FusedMoe | None,
    name: str,
    unknown_because: str,
    tried: FeatureSource,
) -> Feature:
    """The answer for one keyword ``name`` of ``fused_moe``, catalogued or not."""
    blocked = _no_aiter(identity)
    if blocked is not None:
        return blocked
    if fused is None:
        return Feature(support=Support.UNKNOWN, source=tried, detail=unknown_because)
    who = f"fused_moe in {identity.describe()}"
    p = fused.get(name)
    if p is not None and p.kind.by_keyword:
        default = "" if p.default is None else f", default {p.default}"
        return Feature(
            support=Support.SUPPORTED,
            source=fused.source,
            detail=f"{who} takes '{name}' by keyword ({p.kind.value}{default})",
        )
    if p is not None:
        return Feature(
            support=Support.UNSUPPORTED,
            source=fused.source,
            detail=f"'{name}' is positional-only in {who}, so it cannot be passed by keyword",
        )
    var_kw = next((q.name for q in fused.parameters if q.kind is ParameterKind.VAR_KEYWORD), None)
    if var_kw is not None:
        return Feature(
            support=Support.UNKNOWN,
            source=fused.source,
            detail=f"'{name}' is not a named parameter of {who}, which takes **{var_kw}: "
            "whether it honours the name cannot be known without running it",
        )
    return Feature(
        support=Support.UNSUPPORTED,
        source=fused.source,
        detail=f"not a parameter of {who}{_since(name)}; install an AITER build that has it",
    )


def decide_unlisted(report: CapabilityReport, name: str) -> Feature:
    """A name the report does not list: an enum member it lacks, or a keyword it may take."""
    enum, dot, member = name.partition(".")
    if dot:
        blocked = _no_aiter(report.aiter)
        if blocked is not None:
            return blocked
        members = report.enums.get(enum)
        if members is None:
            return Feature(support=Support.UNKNOWN, source="enum_header", detail=f"no enum {enum} was read")
        return Feature(
            support=Support.UNSUPPORTED,
            source="runtime_enum" if report.evidence.runtime is not None else "enum_header",
            detail=f"{enum} in {report.aiter.describe()} has no member {member}",
        )
    # Every parameter shares one "unknown" reason; hidden_states is always listed.
    shared = report.features["hidden_states"]
    return decide_parameter(report.aiter, report.fused_moe, name, shared.detail, shared.source)


def decide_enums(
    identity: AiterIdentity,
    enums: Mapping[str, tuple[str, ...]],
    source: FeatureSource,
    unknown_because: str,
) -> dict[str, Feature]:
    out: dict[str, Feature] = {}
    blocked = _no_aiter(identity)
    for enum in ENUM_FEATURES:
        known = [k.name for k in _catalog.ENUMS[enum]]
        found = enums.get(enum)
        members = known + [m for m in (found or ()) if m not in known]
        for member in members:
            name = f"{enum}.{member}"
            if blocked is not None:
                out[name] = blocked
            elif found is None:
                why = unknown_because or f"{enum} is not declared where AITER's enums were read"
                out[name] = Feature(support=Support.UNKNOWN, source=source, detail=why)
            elif member in found:
                out[name] = Feature(
                    support=Support.SUPPORTED,
                    source=source,
                    detail=f"{enum} in {identity.describe()} has the member {member}",
                )
            else:
                out[name] = Feature(
                    support=Support.UNSUPPORTED,
                    source=source,
                    detail=f"{enum} in {identity.describe()} has no member {member}{_since(name)}; "
                    "install an AITER build that has it",
                )
    return out
