"""The report: the decided feature set, above the value types and the rules that fill it."""

from __future__ import annotations

import sys
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import field_validator

from . import _arch, _facts, _features, _gpu, _header, _resolve, _runtime, _static
from ._distribution import Located
from ._entry_catalog import ENTRY_POINTS
from ._source import Found
from .errors import UsageError
from .model import (
    AiterIdentity,
    AiterStatus,
    Archs,
    EntryPoint,
    Environment,
    Evidence,
    Feature,
    Frozen,
    FrozenMap,
    FusedMoe,
    Gpu,
    Jit,
    Kernels,
    Resolution,
    SignatureReading,
    Support,
)

_ENTRY = frozenset(ENTRY_POINTS)

SCHEMA_VERSION = 4

# The resolver that read a report's files, to resolve further names against the same files;
# keyed by identity (hashing a whole report costs more than the lookup is worth). The report
# owns this table, so that asking a report about a name needs nothing above this module.
_resolvers: dict[int, _resolve.Resolver] = {}


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
    gpus: tuple[Gpu, ...]
    archs: Archs
    kernels: Kernels
    arch_features: FrozenMap[FrozenMap[Feature]]
    jit: Jit
    entry_points: FrozenMap[EntryPoint]
    enum_values: FrozenMap[FrozenMap[int | None]]

    @field_validator("schema_version")
    @classmethod
    def _known_schema(cls, value: int) -> int:
        if value != SCHEMA_VERSION:
            raise ValueError(f"schema version {value}; this version of the project reads schema {SCHEMA_VERSION}")
        return value

    def feature(self, name: str) -> Feature:
        """The answer for ``name`` on the architectures requests are checked for (``archs``).

        Listed or not: any keyword of ``fused_moe`` is a feature, so an unlisted one
        is decided by the same rules (``unknown`` behind ``**kwargs``). Where the
        build supports it, each target arch's answer in ``arch_features`` may
        lower it: the weakest answer stands, and its detail names the arch.
        """
        if not isinstance(name, str) or not name:
            raise UsageError(f"a feature name is a str such as 'no_combine' or 'QuantType.per_1x32', not {name!r}")
        listed = self.features.get(name)
        build = listed
        if build is None and name.startswith("aiter.") and name not in _ENTRY:
            build = _features.decide_name(self.aiter, name, _resolved(self, name))
        if build is None:
            build = _features.decide_unlisted(self.aiter, self.fused_moe, self.enums, self.evidence, name, self.entry_points)
        if build.support is not Support.SUPPORTED:
            return build
        if _arch.checked_per_arch(name):
            blocked = _arch.without_archs(self.archs, name, build)
            if blocked is not None:
                return blocked
        answers = [self.arch_features[a][name] for a in self.archs.names if name in self.arch_features.get(a, {})]
        return min([build, *answers], key=lambda f: f.support.strength)

    def support(self, name: str) -> Support:
        return self.feature(name).support

    def is_off(self, name: str, value: object) -> bool:
        """Whether ``value`` for ``fused_moe``'s ``name`` asks for nothing: it equals a literal
        default the parameter has in this build or had in some AITER release (``swiglu_limit``
        0.0 or None, ``splitk`` 0, ``hidden_pad`` 0). Such a value need not be sent, and a
        build without the parameter serves it as it is. Tensors are never off."""
        from . import _catalog

        p = self.fused_moe.get(name) if self.fused_moe is not None else None
        own = _catalog.literals((p.default,)) if p is not None and p.default is not None else ()
        return _catalog.is_off(name, value) or _catalog.among(value, own)

    def resolve(self, name: str) -> Resolution:
        """What the dotted AITER name ``name`` is in the files this report was read from:
        a function's signature, or the kind of a class, enum member, module or constant;
        ``unknown`` with why where the files cannot tell. Any name, not only the catalogue."""
        dotted = dotted_name(name)
        resolver = resolver_for(self)
        if resolver is None and not self.aiter.is_aiter:  # no AITER: every name is missing, for that one reason
            return Resolution("missing", None, None, None, (), None, f"{dotted}: {self.aiter.detail}")
        if resolver is None:
            ep = self.entry_points.get(dotted)
            if ep is not None:
                return Resolution(ep.status, "function" if ep.status == "resolved" else None, ep.file, ep.line, ep.decorators, ep.parameters, ep.detail)
            return Resolution("unknown", None, None, None, (), None, f"{dotted}: this report was not made by probe() in this process, so its files are not read")
        return resolver.resolve(dotted)


def dotted_name(name: object) -> str:
    """``topk_softmax``, ``fused_moe`` or any ``aiter.x.y`` as a dotted AITER name."""
    if not isinstance(name, str) or not name:
        raise UsageError(f"an AITER name is a str such as 'topk_softmax' or 'aiter.mla.mla_decode_fwd', not {name!r}")
    if name in _ENTRY:
        return name
    if name in _features.SHORT:
        return _features.SHORT[name]
    dotted = name if name == "aiter" or name.startswith("aiter.") else f"aiter.{name}"
    if not all(part.isidentifier() for part in dotted.split(".")):
        raise UsageError(f"{name!r} is not a dotted Python name")
    return dotted


def attach_resolver(report: CapabilityReport, resolver: _resolve.Resolver) -> None:
    """Keep the resolver that read ``report``'s files for as long as the report lives."""
    _resolvers[id(report)] = resolver
    weakref.finalize(report, _resolvers.pop, id(report), None)


def resolver_for(report: CapabilityReport) -> _resolve.Resolver | None:
    """The resolver that read ``report``'s files; None for a report made elsewhere."""
    return _resolvers.get(id(report))


def _resolved(report: CapabilityReport, name: str) -> Resolution | None:
    """``name`` resolved against the files the report was made from (None: not at hand)."""
    resolver = resolver_for(report)
    return None if resolver is None else resolver.resolve(name)


def _entry(r: Resolution) -> EntryPoint:
    """An entry point is callable with a signature that was read, or its answer is unknown."""
    if r.status == "resolved" and (r.kind != "function" or r.parameters is None or r.asynchronous):
        why = "a call returns a coroutine" if r.asynchronous else "not a function whose signature can be read"
        return EntryPoint(status="unknown", file=r.file, line=r.line, decorators=r.decorators, parameters=None, detail=f"{r.detail}: {why}")
    return EntryPoint(status=r.status, file=r.file, line=r.line, decorators=r.decorators, parameters=r.parameters, detail=r.detail)


def from_facts(facts: _facts.Facts, identity: AiterIdentity | None = None) -> CapabilityReport:
    """Decide every feature from the collected facts (``identity``: who it is, when the
    caller knows better than the files, as :func:`report_for` does)."""
    ident = _features.identity(facts) if identity is None else identity
    fused, ev = _features.evidence(facts, ident)
    enums, _, _ = _features.enums(facts)
    entry_points = {name: _entry(r) for name, r in (facts.entry_points or {}).items()}
    features = _features.decide_all(ident, fused, enums, ev) | _features.decide_entries(ident, entry_points)
    archs = _arch.select_archs(facts)
    shipped = tuple(facts.kernels.archs) if facts.kernels is not None else ()
    # Decided for the target archs; with none (no GPU, no --arch), for every arch the build ships.
    considered = archs.names or shipped
    return CapabilityReport(
        aiter=ident,
        fused_moe=fused,
        features=features,
        enums=enums,
        evidence=ev,
        environment=facts.environment,
        gpus=_arch.gpus(facts),
        archs=archs,
        kernels=_arch.kernels_section(facts.kernels),
        arch_features=_arch.arch_features(ident, features, facts.kernels, considered),
        jit=_arch.jit_section(facts.kernels),
        entry_points=entry_points,
        enum_values=facts.enums.values if ident.is_aiter else {},
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
    # Which parameters its body reads comes from its own def, where its source can be read.
    try:
        reading = SignatureReading(parameters=_static.usage_of(fn, _runtime.signature_of(fn)), error=None)
    except (TypeError, ValueError) as exc:  # no signature, or one its own code does not bind: every answer unknown
        reading = SignatureReading(parameters=None, error=f"inspect.signature({getattr(fn, '__qualname__', fn)!s}): {exc}")
    module = sys.modules.get(getattr(fn, "__module__", ""), None)
    origin = getattr(module, "__file__", None)
    facts = _facts.Facts(
        located=Located(
            tree=None,
            module_file=None,
            found_by="report_for",
            distribution=distribution,
            version=version,
            version_valid=True,
            owner_evidence="given by the caller",
            conflicts=(),
            problems=(),
            fused_moe=Found("aiter.fused_moe", "missing", None),
            has_jit=False,
            native_tree=None,
        ),
        static=reading,
        unreadable=None,
        enums=_header.EnumResult(None, {k: tuple(v) for k, v in enums.items()}, None),
        runtime=_runtime.RuntimeResult(reading, None, {k: tuple(v) for k, v in enums.items()}),
        environment=_facts.environment(None),
        gpus=_gpu.GpuFacts((), "not read", (), "not read: report_for describes a callable"),
        kernels=None,
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


__all__ = ["SCHEMA_VERSION", "CapabilityReport", "Evidence", "attach_resolver", "dotted_name", "from_facts", "report_for", "resolver_for"]
