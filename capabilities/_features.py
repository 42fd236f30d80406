"""Decide: who AITER is, which signature stands, and every feature, from the facts.

Identity, in order: no module is ``absent``; a package that is AMD's by its
distribution name (``amd-aiter``) or by its content (``aiter/fused_moe`` and
``aiter/jit/``, as in every AITER release, whatever the distribution is named:
AMD's own source builds were named ``aiter`` up to v0.1.7.post2) is AITER;
anything else is an ``impostor``.

Features, in order: no AITER means unsupported; no trusted signature means
unknown; a keyword-capable parameter is supported; a positional-only one is
not; a missing name is unknown behind ``**kwargs`` and unsupported otherwise.
A release number only says where to upgrade to.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from . import _catalog
from ._distribution import Located
from ._entry_catalog import ENTRY_POINTS
from ._facts import Facts
from .model import (
    INSTALL,
    AiterIdentity,
    AiterStatus,
    EntryPoint,
    Evidence,
    Feature,
    FeatureSource,
    FusedMoe,
    Parameter,
    SignatureReading,
    Support,
    named_parameter,
    var_keyword,
)

_AMD = "AMD's AITER is the distribution 'amd-aiter'"


def _history(known: _catalog.Known | None) -> tuple[str, str]:
    """(where the name stands in AITER's history, what to do) for a name a build lacks."""
    if known is None:
        return "", "install an AITER build that has it"
    return known.hint(), known.fix()


# --- identity -------------------------------------------------------------------


def _judge(loc: Located) -> tuple[AiterStatus, str, str]:
    """(status, the rule that decided it, one sentence) from the location facts alone."""
    if not loc.found:
        return AiterStatus.ABSENT, "no module 'aiter' is found", (
            f"no module 'aiter' is found by {loc.found_by}; install AMD's AITER: {INSTALL}"
        )
    where = str(loc.location)
    named = f"the distribution '{loc.distribution}' {loc.version}" if loc.distribution else "no installed distribution"
    if loc.tree is None:
        return AiterStatus.IMPOSTOR, "content: a single-file module aiter.py, not AITER's package", (
            f"module 'aiter' at {where} ({named}) is a single file, not AMD's AITER package; {_AMD}"
        )
    has_module = loc.fused_moe.kind != "missing"
    if loc.is_amd_name:
        if not has_module:
            return AiterStatus.IMPOSTOR, "content: no aiter/fused_moe", (
                f"module 'aiter' at {where} comes from {named} but has no aiter/fused_moe, so it is not a usable AITER"
            )
        rule = "distribution name 'amd-aiter'"
    elif has_module and loc.has_jit:
        rule = "content: aiter/fused_moe and aiter/jit/" + (f", with {loc.native_tree} beside it" if loc.native_tree else "")
    else:
        lacks = " and ".join(x for x, ok in (("aiter/fused_moe", has_module), ("aiter/jit/", loc.has_jit)) if not ok)
        return AiterStatus.IMPOSTOR, f"content: no {lacks}", (
            f"module 'aiter' at {where} comes from {named} and has no {lacks}, so it is not AMD's AITER "
            f"(PyPI's 'aiter' is an unrelated async-iterator library); {_AMD}"
        )
    if loc.distribution is None:
        detail = f"AITER at {where} has no installed distribution that owns it"
    else:
        note = "" if loc.version_valid else " (the version is not a valid PEP 440 version)"
        detail = f"{loc.distribution} {loc.version} provides module 'aiter' at {where}{note}: {loc.owner_evidence}"
        if not loc.is_amd_name:
            detail += f" (AMD's source builds up to v0.1.7.post2 were named '{loc.distribution}')"
    if loc.conflicts:
        detail += "; conflicting install(s): " + "; ".join(loc.conflicts)
    return AiterStatus.AVAILABLE, rule, detail


def identity(facts: Facts) -> AiterIdentity:
    loc = facts.located
    status, rule, detail = _judge(loc)
    import_error = None
    if status is AiterStatus.AVAILABLE and facts.unreadable is not None:
        status, detail = AiterStatus.UNREADABLE, f"{detail}; {facts.unreadable}"
    rev = loc.revision
    if rev is not None:
        said = [f"version {rev.version} from {rev.version_file}"] if rev.version else []
        said += [f"commit {rev.commit}" + (f" ({rev.ref})" if rev.ref else " (detached HEAD)") + f" from {rev.commit_file}"] if rev.commit else []
        detail = f"{detail}; the source tree is at " + " and ".join(said)
    rt = facts.runtime
    if status is not AiterStatus.IMPOSTOR and rt is not None and rt.import_error is not None:
        status, import_error = AiterStatus.IMPORT_FAILED, rt.import_error
        detail = f"{detail}; import aiter.fused_moe raised {rt.import_error}, so the features come from the source"
    return AiterIdentity(
        status=status,
        distribution=loc.distribution,
        version=loc.version,
        version_valid=loc.version_valid,
        location=None if loc.location is None else str(loc.location),
        import_error=import_error,
        rule=rule,
        conflicts=loc.conflicts,
        detail=detail,
        revision=loc.revision,
    )


# --- the signature that stands ----------------------------------------------------


def _shape(params: tuple[Parameter, ...] | None) -> list[tuple[str, str, bool]]:
    return [(p.name, p.kind.value, p.default is not None) for p in params or ()]


def _disagreement(static: SignatureReading, runtime: SignatureReading) -> str | None:
    if static.parameters is None or runtime.parameters is None:
        return None
    s, r = _shape(static.parameters), _shape(runtime.parameters)
    if s == r:
        return None
    only_s = sorted({x[0] for x in s} - {x[0] for x in r})
    only_r = sorted({x[0] for x in r} - {x[0] for x in s})
    parts = [f"only in the source: {', '.join(only_s)}"] if only_s else []
    parts += [f"only at runtime: {', '.join(only_r)}"] if only_r else []
    if not parts:
        parts = ["the same names with other kinds, defaults or order"]
    return "static and runtime signatures differ (" + "; ".join(parts) + "); the runtime one decides"


def _merge_defaults(static: SignatureReading, runtime: tuple[Parameter, ...]) -> tuple[Parameter, ...]:
    """Runtime parameters, with the default's source text where the source agrees."""
    by_name = {p.name: p for p in static.parameters or ()}
    out = []
    for p in runtime:
        s = by_name.get(p.name)
        if s is not None and s.kind is p.kind and (s.default is None) == (p.default is None):
            p = Parameter(name=p.name, kind=p.kind, default=s.default, used=s.used)
        out.append(p)
    return tuple(out)


def enums(facts: Facts) -> tuple[dict[str, tuple[str, ...]], Literal["enum_header", "runtime_enum"], str | None]:
    """(members by enum, where they were read, why none were): the imported enums win."""
    rt = facts.runtime
    if rt is not None and rt.enums and not rt.foreign:
        return {**facts.enums.enums, **rt.enums}, "runtime_enum", None
    return dict(facts.enums.enums), "enum_header", facts.enums.error


def evidence(facts: Facts, ident: AiterIdentity) -> tuple[FusedMoe | None, Evidence]:
    """The signature that decides (or None) and the evidence, with why none decides."""
    static = facts.static
    rt = facts.runtime
    fused: FusedMoe | None = None
    reason: str | None = None
    if not ident.is_aiter:
        reason = ident.detail
    elif rt is not None and not rt.foreign and rt.import_error is None:
        # The import worked: the imported function is the truth, and a failure to read it
        # leaves nothing standing (the source may describe a function that is not called).
        if rt.reading.parameters is not None:
            fused = FusedMoe(source="runtime_signature", parameters=_merge_defaults(static, rt.reading.parameters))
        else:
            read = "" if static.parameters is None else f"; the source's {len(static.parameters)} parameters are not trusted"
            reason = f"runtime probe: {rt.reading.error}{read}"
    elif static.parameters is not None:
        fused = FusedMoe(source="static_signature", parameters=static.parameters)
    else:
        reason = static.error or "no signature of fused_moe could be read"
        if rt is not None:
            reason = f"{reason}; runtime probe: {rt.reading.error}"
    _, enum_source, enum_error = enums(facts)
    header = facts.enums.header
    sub = facts.located.fused_moe
    return fused, Evidence(
        module=None if sub.path is None else str(sub.path),
        static=static,
        runtime=None if rt is None else rt.reading,
        disagreement=None if rt is None else _disagreement(static, rt.reading),
        unknown_reason=reason,
        enum_header=None if header is None else str(header),
        enum_source=enum_source,
        enum_error=enum_error,
        problems=facts.problems,
    )


# --- features ----------------------------------------------------------------------


def _no_aiter(ident: AiterIdentity) -> Feature | None:
    if not ident.is_aiter:
        return Feature(support=Support.UNSUPPORTED, source="distribution", detail=ident.detail)
    return None


def _tried(ev: Evidence) -> FeatureSource:
    return "static_signature" if ev.runtime is None else "runtime_signature"


def _keyword(
    params: tuple[Parameter, ...], source: FeatureSource, who: str, name: str, history: tuple[str, str]
) -> Feature:
    """Whether a function with ``params`` takes ``name`` by keyword, and whether it reads it."""
    p = named_parameter(params, name)
    if p is not None and p.kind.by_keyword:
        default = "" if p.default is None else f", default {p.default}"
        ignored = "; accepted and ignored: its body never reads it" if p.used is False else ""
        return Feature(
            support=Support.SUPPORTED,
            source=source,
            detail=f"{who} takes '{name}' by keyword ({p.kind.value}{default}){ignored}",
            used=p.used,
        )
    if p is not None:
        return Feature(
            support=Support.UNSUPPORTED,
            source=source,
            detail=f"'{name}' is {p.kind.value.replace('_', '-')} in {who}, so it cannot be passed by keyword",
        )
    var_kw = var_keyword(params)
    if var_kw is not None:
        return Feature(
            support=Support.UNKNOWN,
            source=source,
            detail=f"'{name}' is not a named parameter of {who}, which takes **{var_kw}: "
            "whether it honours the name cannot be known without running it",
        )
    return Feature(
        support=Support.UNSUPPORTED,
        source=source,
        detail=f"not a parameter of {who}{history[0]}; {history[1]}",
    )


def decide_parameter(ident: AiterIdentity, fused: FusedMoe | None, ev: Evidence, name: str) -> Feature:
    """The answer for one keyword ``name`` of ``fused_moe``, catalogued or not."""
    blocked = _no_aiter(ident)
    if blocked is not None:
        return blocked
    if fused is None:
        return Feature(support=Support.UNKNOWN, source=_tried(ev), detail=ev.unknown_reason or "no signature was read")
    return _keyword(fused.parameters, fused.source, f"fused_moe in {ident.describe()}", name, _history(_catalog.KNOWN.get(name)))


# --- entry points besides fused_moe: "<function>" and "<function>.<parameter>" ----------

SHORT: dict[str, str] = {dotted.rsplit(".", 1)[1]: dotted for dotted in ENTRY_POINTS}


def decide_entry(ident: AiterIdentity, dotted: str, ep: EntryPoint | None, parameter: str | None = None) -> Feature:
    """``topk_softmax`` (it resolves) or ``topk_softmax.need_renorm`` (it takes the keyword)."""
    blocked = _no_aiter(ident)
    if blocked is not None:
        return blocked
    short = dotted.rsplit(".", 1)[1]
    if ep is None or ep.status == "unknown":
        why = "no aiter package was read" if ep is None else ep.detail
        return Feature(support=Support.UNKNOWN, source="static_signature", detail=why)
    if ep.status == "missing":
        hint, fix = _history(_catalog.entry_known(dotted))
        return Feature(
            support=Support.UNSUPPORTED,
            source="static_signature",
            detail=f"{dotted} does not resolve in {ident.describe()} ({ep.detail}){hint}; {fix}",
        )
    if parameter is None:
        return Feature(support=Support.SUPPORTED, source="static_signature", detail=ep.detail)
    who = f"{short} in {ident.describe()}"
    return _keyword(ep.parameters or (), "static_signature", who, parameter, _history(_catalog.entry_known(dotted, parameter)))


def decide_entries(ident: AiterIdentity, entry_points: Mapping[str, EntryPoint]) -> dict[str, Feature]:
    out: dict[str, Feature] = {}
    for dotted, (_, catalogued) in ENTRY_POINTS.items():
        if dotted == "aiter.fused_moe.fused_moe":
            continue  # its features are the bare names; "fused_moe.<p>" is an alias of them
        short = dotted.rsplit(".", 1)[1]
        ep = entry_points.get(dotted)
        out[short] = decide_entry(ident, dotted, ep)
        found = () if ep is None else ep.parameters or ()
        names = list(catalogued) + [p.name for p in found if p.name not in catalogued]
        for name in names:
            out[f"{short}.{name}"] = decide_entry(ident, dotted, ep, name)
    return out


def decide_member(
    ident: AiterIdentity, enums: Mapping[str, tuple[str, ...]], ev: Evidence, enum: str, member: str
) -> Feature:
    """The answer for ``Enum.member``."""
    blocked = _no_aiter(ident)
    if blocked is not None:
        return blocked
    source: FeatureSource = ev.enum_source
    found = enums.get(enum)
    if found is None:
        why = ev.enum_error or f"{enum} is not declared where AITER's enums were read"
        return Feature(support=Support.UNKNOWN, source=source, detail=why)
    name = f"{enum}.{member}"
    if member in found:
        return Feature(support=Support.SUPPORTED, source=source, detail=f"{enum} in {ident.describe()} has the member {member}")
    hint, fix = _history(_catalog.KNOWN.get(name))
    return Feature(
        support=Support.UNSUPPORTED,
        source=source,
        detail=f"{enum} in {ident.describe()} has no member {member}{hint}; {fix}",
    )


def decide_all(
    ident: AiterIdentity, fused: FusedMoe | None, enums: Mapping[str, tuple[str, ...]], ev: Evidence
) -> dict[str, Feature]:
    """Every catalogued feature, and every parameter and enum member the build has besides."""
    names = [k.name for k in _catalog.PARAMETERS]
    if fused is not None:
        names += [n for n in fused.names if fused.get(n) is not None and n not in names]
    out = {n: decide_parameter(ident, fused, ev, n) for n in names}
    for enum, known in _catalog.ENUMS.items():
        members = [k.name for k in known]
        members += [m for m in enums.get(enum, ()) if m not in members]
        for member in members:
            out[f"{enum}.{member}"] = decide_member(ident, enums, ev, enum, member)
    return out


def decide_name(ident: AiterIdentity, dotted: str, resolution: Any) -> Feature:
    """``aiter.x.y`` as a feature: supported where it resolves, unsupported where it is missing."""
    blocked = _no_aiter(ident)
    if blocked is not None:
        return blocked
    if resolution is None:
        return Feature(support=Support.UNKNOWN, source="static_signature", detail=f"{dotted}: this report's files are not at hand to resolve it")
    support = {"resolved": Support.SUPPORTED, "missing": Support.UNSUPPORTED}.get(resolution.status, Support.UNKNOWN)
    return Feature(support=support, source="static_signature", detail=resolution.detail)


def decide_unlisted(
    ident: AiterIdentity,
    fused: FusedMoe | None,
    enums: Mapping[str, tuple[str, ...]],
    ev: Evidence,
    name: str,
    entry_points: Mapping[str, EntryPoint] | None = None,
) -> Feature:
    """A name the report does not list: an enum member it lacks, a keyword it may take, or
    ``<function>.<keyword>`` of an entry point."""
    enum, dot, member = name.partition(".")
    if dot and enum == "aiter":
        dotted = name if name in ENTRY_POINTS else None
        if dotted is not None:
            return decide_entry(ident, dotted, (entry_points or {}).get(dotted))
    if dot and enum == "fused_moe":
        return decide_parameter(ident, fused, ev, member)
    if dot and enum in SHORT:
        dotted = SHORT[enum]
        return decide_entry(ident, dotted, (entry_points or {}).get(dotted), member)
    if not dot and name in SHORT:
        return decide_entry(ident, SHORT[name], (entry_points or {}).get(SHORT[name]))
    if dot:
        if enum not in _catalog.ENUMS and enum not in enums:
            blocked = _no_aiter(ident)
            if blocked is not None:
                return blocked
            return Feature(support=Support.UNKNOWN, source="enum_header", detail=f"no enum {enum} was read")
        return decide_member(ident, enums, ev, enum, member)
    return decide_parameter(ident, fused, ev, name)
