"""Collect: every fact about the installed AITER, gathered once, judged nowhere.

Location and distribution (``_distribution``), the static reading of
``fused_moe`` and of the enum header (``_static``), and the runtime reading
(``_runtime``) when asked for. Nothing here raises or decides a feature; the
rules in ``_features`` do that from these facts.
"""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

from . import _distribution, _gpu, _kernels, _resolve, _runtime, _static
from ._entry_catalog import ENTRY_POINTS
from ._model import Environment, SignatureReading


@dataclass(frozen=True)
class Facts:
    located: _distribution.Located
    static: _static.StaticResult
    enums: _static.EnumResult
    runtime: _runtime.RuntimeResult | None  # None: not asked for, or nothing to import
    environment: Environment
    gpus: _gpu.GpuFacts
    kernels: _kernels.KernelFacts | None  # None: no aiter package to read
    named_archs: tuple[str, ...] = ()  # --arch / probe(arch=...): decide for these, not the live GPUs
    entry_points: dict[str, _resolve.Resolution] | None = None  # None: no aiter package to read


def environment() -> Environment:
    try:
        torch = md.version("torch")  # metadata only: the report never imports torch
    except (md.PackageNotFoundError, OSError, UnicodeDecodeError, ValueError):
        torch = None
    return Environment(python=platform.python_version(), torch=torch, platform=platform.platform())


def _not_read(why: str) -> _static.StaticResult:
    return _static.StaticResult(SignatureReading(parameters=None, error=why), unreadable=None)


_NOT_SOURCE = {
    "extension": "a compiled extension module",
    "bytecode": "bytecode without source",
    "namespace": "a namespace package (a folder without __init__.py)",
}


def _read_static(loc: _distribution.Located) -> _static.StaticResult:
    sub = loc.fused_moe
    if loc.package_dir is None or sub.path is None:
        return _not_read("not read: no aiter.fused_moe module to read")
    if sub.kind in _NOT_SOURCE:
        return _not_read(
            f"aiter.fused_moe is {_NOT_SOURCE[sub.kind]} ({sub.path.name}), which Python loads instead of any "
            "fused_moe.py beside it: its signature cannot be read from source"
        )
    return _static.read_signature(sub.path)


def _would_import(package_dir: Path) -> bool:
    """Whether ``import aiter`` in this process loads the package in ``package_dir``."""
    try:
        spec = importlib.util.find_spec("aiter")
    except (ImportError, ValueError, AttributeError):
        return False
    found = next(iter(spec.submodule_search_locations or ()), None) if spec is not None else None
    return found is not None and Path(found).resolve() == package_dir.resolve()


def _read_runtime(
    loc: _distribution.Located, runtime: bool, isolated: bool, timeout: float
) -> _runtime.RuntimeResult | None:
    package_dir = loc.package_dir
    if package_dir is None or loc.fused_moe.kind == "missing":
        return None  # nothing that 'import aiter.fused_moe' could load: no foreign code is run
    loaded = sys.modules.get("aiter.fused_moe")
    if loaded is not None:  # already imported: reading it costs nothing
        result = _runtime.read_loaded(loaded, package_dir)
        if not result.foreign:
            return result
    if not runtime:
        return None
    if isolated:
        search = [os.fsdecode(os.fspath(p)) for p in sys.path if isinstance(p, (str, os.PathLike))]
        return _runtime.import_isolated(package_dir, search, timeout)
    if not _would_import(package_dir):
        why = f"not run: 'import aiter' in this process would not load the AITER at {package_dir}"
        return _runtime.RuntimeResult(SignatureReading(parameters=None, error=why), None, foreign=True)
    return _runtime.import_and_read(package_dir)


def collect(
    *, runtime: bool, isolated: bool, aiter_path: str | None, timeout: float, arch: tuple[str, ...] = ()
) -> Facts:
    """Every fact the report needs; failures are facts too."""
    loc = _distribution.locate(None if aiter_path is None else [aiter_path])
    static = _read_static(loc)
    kernels = None
    entry_points = None
    if loc.package_dir is None:
        enums = _static.EnumResult(None, {}, "not read: no aiter package")
    else:
        enums = _static.read_enums(loc.package_dir.parent)
        if loc.fused_moe.kind != "missing" or loc.has_jit:
            kernels = _kernels.read_kernels(loc.package_dir, static.tree)
            resolver = _resolve.Resolver(loc.package_dir)
            if static.tree is not None and static.source is not None and loc.fused_moe.path is not None:
                resolver.seed(f"{loc.package_dir.name}.fused_moe", static.source, static.tree, loc.fused_moe.path)
            entry_points = {name: resolver.resolve(name) for name in ENTRY_POINTS}
    return Facts(
        loc,
        static,
        enums,
        _read_runtime(loc, runtime, isolated, timeout),
        environment(),
        _gpu.read_gpus(),
        kernels,
        arch,
        entry_points,
    )
