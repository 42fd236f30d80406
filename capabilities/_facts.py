"""Collect: every fact about the installed AITER, gathered once, judged nowhere.

Location and distribution (``_distribution``), the package's modules
(``_source``), every name resolved by one engine (``_resolve``: ``fused_moe``
and the catalogued entry points), the enum header (``_header``), the runtime
reading (``_runtime``) when asked for, the GPUs (``_gpu``) and the kernels
(``_kernels``). Nothing here raises or decides a feature; ``_features`` and
``_arch`` do that from these facts. Every collector's problems are gathered
in ``Facts.problems``.
"""

from __future__ import annotations

import ast
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

from . import _distribution, _gpu, _header, _kernels, _resolve, _runtime
from ._entry_catalog import ENTRY_POINTS
from .model import Environment, Resolution, SignatureReading
from ._source import PARSE_ERRORS, Parsed, words

FUSED_MOE = "aiter.fused_moe.fused_moe"
# The variables the facts depend on, besides the files: the registry keys its cache on them.
ENVIRONMENT = (*_gpu.ENVIRONMENT, *_kernels.ENVIRONMENT)


@dataclass(frozen=True)
class Inputs:
    """What a probe reads besides files: the environment variables the collectors use, the
    import path, and an ``aiter.fused_moe`` already imported. Taken once, in ``probe``."""

    environ: tuple[tuple[str, str], ...]
    sys_path: tuple[str, ...]
    meta_path: tuple[int, ...]  # the finders' identities: an editable install adds one
    loaded: int  # id() of the imported aiter.fused_moe; 0: not imported

    @classmethod
    def now(cls) -> Inputs:
        return cls(
            environ=tuple((k, os.environ[k]) for k in ENVIRONMENT if k in os.environ),
            sys_path=tuple(os.fsdecode(os.fspath(p)) for p in sys.path if isinstance(p, (str, os.PathLike))),
            meta_path=tuple(id(f) for f in sys.meta_path),
            loaded=id(sys.modules["aiter.fused_moe"]) if "aiter.fused_moe" in sys.modules else 0,
        )

    @property
    def env(self) -> dict[str, str]:
        return dict(self.environ)


@dataclass(frozen=True)
class Facts:
    located: _distribution.Located
    static: SignatureReading  # fused_moe as its source gives it
    unreadable: str | None  # aiter.fused_moe exists but its source cannot be read or parsed
    enums: _header.EnumResult
    runtime: _runtime.RuntimeResult | None  # None: not asked for, or nothing to import
    environment: Environment
    gpus: _gpu.GpuFacts
    kernels: _kernels.KernelFacts | None  # None: no aiter package to read
    named_archs: tuple[str, ...] = ()  # --arch / probe(arch=...): decide for these, not the live GPUs
    entry_points: dict[str, Resolution] | None = None  # None: no aiter package to read
    resolver: _resolve.Resolver | None = None  # resolves further names against the same files
    problems: tuple[str, ...] = ()  # what every collector could not read, each with the error


def environment(torch: str | None) -> Environment:
    if torch is None and "torch" in sys.modules:  # report_for: the caller has torch imported
        version = getattr(sys.modules["torch"], "__version__", None)
        torch = str(version) if version is not None else None
    # platform.platform() reads the interpreter binary to find libc: too slow for a report.
    system = f"{platform.system()}-{platform.release()}-{platform.machine()}"
    return Environment(python=platform.python_version(), torch=torch, platform=system)


def reading(resolution: Resolution) -> SignatureReading:
    """A resolution of ``fused_moe`` as a signature reading: its parameters, or why none."""
    if resolution.asynchronous:
        return SignatureReading(parameters=None, error=f"{resolution.detail}: a call returns a coroutine, not a result")
    if resolution.status == "resolved" and resolution.kind == "function" and resolution.parameters is not None:
        return SignatureReading(parameters=resolution.parameters, error=None, note=resolution.note)
    if resolution.status == "resolved":
        return SignatureReading(parameters=None, error=f"{resolution.detail}: not a function whose signature can be read")
    return SignatureReading(parameters=None, error=resolution.detail)


def _would_import(loc: _distribution.Located) -> bool:
    """Whether ``import aiter`` in this process loads the located package."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("aiter")
    except (ImportError, ValueError, AttributeError):
        return False
    found = next(iter(spec.submodule_search_locations or ()), None) if spec is not None else None
    package = loc.package_dir
    return found is not None and package is not None and Path(found).resolve() == package.resolve()


def _read_runtime(
    loc: _distribution.Located, runtime: bool, isolated: bool, timeout: float, sys_path: tuple[str, ...]
) -> _runtime.RuntimeResult | None:
    package_dir = loc.package_dir
    fused = loc.fused_moe
    if package_dir is None or fused.kind == "missing":
        return None  # nothing that 'import aiter.fused_moe' could load: no foreign code is run
    loaded = sys.modules.get("aiter.fused_moe")
    if loaded is not None:  # already imported: reading it costs nothing
        result = _runtime.read_loaded(loaded, fused)
        if not result.foreign:
            return result
    if not runtime:
        return None
    if isolated:
        return _runtime.import_isolated(package_dir, fused, list(sys_path), timeout)
    if not _would_import(loc):
        why = f"not run: 'import aiter' in this process would not load the AITER at {package_dir}"
        return _runtime.RuntimeResult(SignatureReading(parameters=None, error=why), None, foreign=True)
    return _runtime.import_and_read(fused)


def package(aiter_path: str | None, *, usage: bool = True) -> tuple[_distribution.Located, _resolve.Resolver | None]:
    """Only what resolving names needs: where the package is, and a resolver over it
    (with the enum header's members); no kernels, GPUs or features (``scan`` uses this)."""
    loc = _distribution.locate(None if aiter_path is None else [aiter_path])
    if loc.tree is None:
        return loc, None
    root = loc.package_dir.parent if loc.package_dir is not None else None
    enums = _header.read_enums(root).enums if root is not None else {}
    return loc, _resolve.Resolver(loc.tree, enums, usage=usage)


def collect(
    *, runtime: bool, isolated: bool, aiter_path: str | None, timeout: float, arch: tuple[str, ...] = (), inputs: Inputs
) -> Facts:
    """Every fact the report needs; failures are facts too."""
    env = inputs.env
    loc = _distribution.locate(None if aiter_path is None else [aiter_path])
    problems = list(loc.problems)
    kernels = None
    entry_points = None
    resolver = None
    unreadable = None
    static = SignatureReading(parameters=None, error="not read: no aiter package")
    package_dir = loc.package_dir
    if loc.tree is None:
        enums = _header.EnumResult(None, {}, "not read: no aiter package")
    else:
        root = package_dir.parent if package_dir is not None else None
        enums = _header.read_enums(root) if root is not None else _header.EnumResult(None, {}, "not read: the package is not in a folder")
        resolver = _resolve.Resolver(loc.tree, enums.enums)
        if loc.fused_moe.kind == "missing":
            static = SignatureReading(parameters=None, error="not read: no aiter.fused_moe module to read")
        else:
            static = reading(resolver.resolve(FUSED_MOE))
            parsed = loc.tree.parse("aiter.fused_moe")
            if isinstance(parsed, str) and loc.fused_moe.kind in ("source", "package"):
                unreadable = parsed
            elif isinstance(parsed, Parsed) and parsed.compile_error and "cannot be parsed" in parsed.compile_error:
                unreadable = parsed.compile_error
        if loc.fused_moe.kind != "missing" or loc.has_jit:
            entry_points = {name: resolver.resolve(name) for name in ENTRY_POINTS}
            if package_dir is not None:
                parsed = loc.tree.parse("aiter.fused_moe")
                table = None
                if isinstance(parsed, Parsed):
                    try:
                        table = ast.Module(body=parsed.statements(words("fused_moe_1stage_dict")), type_ignores=[])
                    except PARSE_ERRORS:
                        table = None
                kernels = _kernels.read_kernels(package_dir, table, env)
                problems += kernels.problems
    gpus = _gpu.read_gpus(env)
    problems += gpus.problems
    return Facts(
        located=loc,
        static=static,
        unreadable=unreadable,
        enums=enums,
        runtime=_read_runtime(loc, runtime, isolated, timeout, inputs.sys_path),
        environment=environment(loc.torch),
        gpus=gpus,
        kernels=kernels,
        named_archs=arch,
        entry_points=entry_points,
        resolver=resolver,
        problems=tuple(dict.fromkeys(problems)),
    )
