"""Step 4: the registry. Probe once per process, freeze, hand out the same report."""

from __future__ import annotations

import importlib.machinery
import importlib.metadata as md
import os
import platform
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from . import _distribution, _features, _runtime, _static
from ._errors import UnsupportedFeatureError, did_you_mean
from ._model import (
    AiterIdentity,
    AiterStatus,
    CapabilityReport,
    Environment,
    Evidence,
    FeatureSource,
    FusedMoe,
    Parameter,
    SignatureReading,
    Support,
)

_lock = threading.Lock()
_cache: dict[tuple[object, ...], CapabilityReport] = {}
DEFAULT_TIMEOUT = 120.0


def probe(
    *,
    runtime: bool = False,
    refresh: bool = False,
    aiter_path: str | os.PathLike[str] | None = None,
    isolated: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
) -> CapabilityReport:
    """What the installed AITER offers, probed once per process and cached.

    ``runtime=True`` also imports ``aiter.fused_moe`` and reads its signature
    (in this process, or in a child process with ``timeout`` when
    ``isolated=True``); import failures are recorded in the report, not
    raised. The runtime probe also runs by itself when ``aiter.fused_moe`` is
    already imported. ``aiter_path`` probes the AITER in that folder (one
    holding ``aiter/``) instead of the installed one. ``refresh=True`` probes
    again and replaces the cached answer.
    """
    path = None if aiter_path is None else str(Path(aiter_path).resolve())
    isolated = bool(runtime and isolated)  # without the runtime probe there is nothing to isolate
    key = (bool(runtime), isolated, path, timeout if isolated else None)
    if not refresh:
        cached = _cache.get(key)
        if cached is not None:
            return cached
    with _lock:
        if not refresh and key in _cache:
            return _cache[key]
        report = _build(runtime=runtime, isolated=isolated, aiter_path=path, timeout=timeout)
        _cache[key] = report
        return report


def clear_cache() -> None:
    """Forget every cached report (tests, hot reload)."""
    with _lock:
        _cache.clear()


def require(
    *names: str,
    report: CapabilityReport | None = None,
    requested_by: str | None = None,
    fix: str | None = None,
) -> CapabilityReport:
    """Raise :class:`UnsupportedFeatureError` unless every named feature is ``supported``.

    ``requested_by`` names what asked for the features and ``fix`` replaces the
    default advice, both for the message.
    """
    report = probe() if report is None else report
    missing = tuple(sorted(n for n in names if report.support(n) is not Support.SUPPORTED))
    if missing:
        raise unsupported_error(report, missing, requested_by=requested_by, fix=fix) from None
    return report


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
    params, _ = _runtime.signature_of(fn)
    reading = SignatureReading(parameters=params, error=None)
    module = sys.modules.get(getattr(fn, "__module__", ""), None)
    identity = AiterIdentity(
        status=AiterStatus.AVAILABLE,
        distribution=distribution,
        version=version,
        version_valid=True,
        location=getattr(module, "__file__", None),
        import_error=None,
        detail=f"{distribution} {version}: {getattr(fn, '__qualname__', fn)!s}",
    )
    fused = FusedMoe(source="runtime_signature", parameters=params)
    frozen_enums = {k: tuple(v) for k, v in enums.items()}
    features = _features.decide_parameters(identity, fused, "", "runtime_signature")
    features |= _features.decide_enums(identity, frozen_enums, "runtime_enum", "")
    evidence = Evidence(static=reading, runtime=reading, disagreement=None, enum_header=None, enum_error=None)
    return CapabilityReport(
        aiter=identity, fused_moe=fused, features=features, enums=frozen_enums, evidence=evidence, environment=_environment()
    )


def explain(report: CapabilityReport, name: str) -> str:
    """One line on why ``name`` is what it is in ``report``."""
    feature = report.feature(name)
    hint = "" if name in report.features else did_you_mean(name, report.features)
    return f"{name}: {feature.support.value}: {feature.detail}{hint}"


def unsupported_error(
    report: CapabilityReport,
    names: tuple[str, ...],
    *,
    requested_by: str | None = None,
    fix: str | None = None,
) -> UnsupportedFeatureError:
    ident = report.aiter
    lines = "\n".join("  " + explain(report, n) for n in names)
    where = f"{ident.describe()} ({ident.status.value}{', ' + ident.location if ident.location else ''})"
    if ident.status is AiterStatus.IMPOSTOR:
        fix = "AMD's AITER is the distribution 'amd-aiter', not 'aiter'"
    elif fix is None:
        fix = "install an AITER build whose fused_moe has them, or stop requesting them"
    asked = f"{requested_by} needs " if requested_by else ""
    message = f"{asked}{len(names)} feature(s) not supported by {where}:\n{lines}\nFix: {fix}."
    return UnsupportedFeatureError(message, features=names, distribution=ident.distribution, version=ident.version)


# --- building a report ------------------------------------------------------


def _environment() -> Environment:
    try:
        torch = md.version("torch")  # metadata only: the report never imports torch
    except md.PackageNotFoundError:
        torch = None
    return Environment(python=platform.python_version(), torch=torch, platform=platform.platform())


def _identity(loc: _distribution.Located, status: AiterStatus, detail: str, import_error: str | None = None) -> AiterIdentity:
    return AiterIdentity(
        status=status,
        distribution=loc.distribution,
        version=loc.version,
        version_valid=loc.version_valid,
        location=None if loc.location is None else str(loc.location),
        import_error=import_error,
        detail=detail,
    )


def _judge(loc: _distribution.Located) -> tuple[AiterStatus, str]:
    """Status and one sentence from the distribution facts alone."""
    if not loc.found:
        return AiterStatus.ABSENT, "no module 'aiter' on the search path; install AMD's AITER ('amd-aiter')"
    where = str(loc.location)
    if loc.distribution is not None and not loc.is_amd:
        return AiterStatus.IMPOSTOR, (
            f"module 'aiter' at {where} comes from the distribution '{loc.distribution}' {loc.version}, "
            "an unrelated project; AMD's AITER is the distribution 'amd-aiter'"
        )
    if loc.package_dir is None or not (loc.package_dir / "fused_moe.py").is_file():
        return AiterStatus.IMPOSTOR, (
            f"module 'aiter' at {where} has no aiter/fused_moe.py, so it is not AMD's AITER; "
            "AMD's AITER is the distribution 'amd-aiter'"
        )
    if loc.distribution is None:
        claim = f"; claimed by {', '.join(loc.claimants)}" if loc.claimants else ""
        return AiterStatus.AVAILABLE, f"AITER at {where} has no distribution metadata beside it{claim}"
    note = "" if loc.version_valid else " (the version is not a valid PEP 440 version)"
    return AiterStatus.AVAILABLE, f"{loc.distribution} {loc.version} provides module 'aiter' at {where}{note}"


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
            p = Parameter(name=p.name, kind=p.kind, default=s.default)
        out.append(p)
    return tuple(out)


def _loaded_module(loc: _distribution.Located) -> object | None:
    """``aiter.fused_moe`` if this process already imported it from the located AITER."""
    module = sys.modules.get("aiter.fused_moe")
    origin = getattr(module, "__file__", None)
    if module is None or origin is None or loc.package_dir is None:
        return None
    return module if Path(origin).resolve().parent == loc.package_dir.resolve() else None


def _run_runtime(
    loc: _distribution.Located, runtime: bool, isolated: bool, aiter_path: str | None, timeout: float
) -> _runtime.RuntimeResult | None:
    loaded = _loaded_module(loc)
    if loaded is not None:
        return _runtime.read_loaded(loaded)
    if not runtime:
        return None
    search = list(sys.path) if aiter_path is None else [aiter_path, *sys.path]
    if isolated:
        return _runtime.import_isolated(search, timeout)
    importable = importlib.machinery.PathFinder.find_spec("aiter", sys.path)
    found = None if importable is None else next(iter(importable.submodule_search_locations or ()), None)
    if loc.package_dir is None or found is None or Path(found).resolve() != loc.package_dir.resolve():
        why = f"not run: 'import aiter' in this process would not load the AITER at {loc.location}"
        return _runtime.RuntimeResult(SignatureReading(parameters=None, error=why), None)
    return _runtime.import_and_read()


def _build(*, runtime: bool, isolated: bool, aiter_path: str | None, timeout: float) -> CapabilityReport:
    loc = _distribution.locate(None if aiter_path is None else [aiter_path])
    status, detail = _judge(loc)
    static = SignatureReading(parameters=None, error="not read: no AMD AITER package to read")
    if status is AiterStatus.AVAILABLE and loc.package_dir is not None:
        result = _static.read_signature(loc.package_dir / "fused_moe.py")
        static = result.reading
        if result.unreadable is not None:
            status, detail = AiterStatus.UNREADABLE, result.unreadable
    usable = status in (AiterStatus.AVAILABLE, AiterStatus.UNREADABLE)

    enums = _static.EnumResult(None, {}, "not read: no AMD AITER package")
    if usable and loc.package_dir is not None:
        enums = _static.read_enums(loc.package_dir.parent)
    enum_source: FeatureSource = "enum_header"
    enum_values, enum_error = enums.enums, enums.error

    rt = _run_runtime(loc, runtime, isolated, aiter_path, timeout) if usable else None
    import_error = None
    fused: FusedMoe | None = None
    tried: FeatureSource = "static_signature"
    unknown_because = static.error or ""
    if static.parameters is not None:
        fused = FusedMoe(source="static_signature", parameters=static.parameters)
    if rt is not None:
        tried = "runtime_signature"
        import_error = rt.import_error
        if import_error is not None:
            status = AiterStatus.IMPORT_FAILED
            detail = f"{detail}; import aiter.fused_moe raised {import_error}, so the features come from the source"
        if rt.reading.parameters is not None:
            fused = FusedMoe(source="runtime_signature", parameters=_merge_defaults(static, rt.reading.parameters))
        elif fused is None:
            unknown_because = f"{static.error}; runtime probe: {rt.reading.error}"
        if rt.enums:
            enum_values, enum_source, enum_error = {**enum_values, **rt.enums}, "runtime_enum", None
    if fused is None and not unknown_because:
        unknown_because = "no signature of fused_moe could be read"

    identity = _identity(loc, status, detail, import_error)
    features = _features.decide_parameters(identity, fused, unknown_because, tried)
    features |= _features.decide_enums(identity, enum_values, enum_source, enum_error or "")
    evidence = Evidence(
        static=static,
        runtime=None if rt is None else rt.reading,
        disagreement=None if rt is None else _disagreement(static, rt.reading),
        enum_header=None if enums.header is None else str(enums.header),
        enum_error=enum_error,
    )
    return CapabilityReport(
        aiter=identity,
        fused_moe=fused,
        features=features,
        enums=enum_values,
        evidence=evidence,
        environment=_environment(),
    )
