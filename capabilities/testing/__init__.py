"""Fake installed AITERs as real files, for our tests and for integrators' tests.

A fake is a folder holding an ``aiter/`` package (``__init__.py`` with the
enums, ``fused_moe.py`` with the signature and body you give), optionally an
``amd_aiter-X.dist-info`` and AITER's enum header, so the metadata, static and
runtime probes all see the same thing. The writers here need nothing but the
standard library (a benchmark or a script can use them); the pytest fixtures are
in :mod:`capabilities.testing.fixtures`::

    pytest_plugins = ["capabilities.testing.fixtures"]

    def test_x(fake_aiter):
        fake_aiter(params=[("hidden_states", None), ("no_combine", "False")])
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .._registry import clear_cache

__all__ = [
    "DEFAULT_ENUMS",
    "FakeAiter",
    "fake_aiter",
    "fake_sysfs",
    "forget_aiter",
    "write_async_iterator_aiter",
    "write_fake_aiter",
    "write_fake_entry_points",
    "write_fake_sysfs",
    "write_package",
]

DEFAULT_ENUMS: Mapping[str, Sequence[str]] = {
    "ActivationType": ("No", "Silu", "Gelu", "Swiglu"),
    "QuantType": ("No", "per_Tensor", "per_Token", "per_1x32", "per_1x128", "per_128x128"),
}
# Records every call, so that tests can see exactly what reached the kernel: each parameter
# by name, so that the body reads every one (as AITER's own bodies read theirs).
_RECORDING_BODY = "CALLS.append({recorded})\nreturn None"


def _recording_body(signature: str) -> str:
    import ast

    args = ast.parse(f"def f({signature}): pass").body[0].args  # type: ignore[attr-defined]
    names = [a.arg for a in (*args.posonlyargs, *args.args, *([args.vararg] if args.vararg else []), *args.kwonlyargs)]
    items = [f"{n!r}: {n}" for n in names]
    record = "{" + ", ".join(items) + "}"
    return _RECORDING_BODY.format(recorded=f"{{**{record}, **{args.kwarg.arg}}}" if args.kwarg else record)


@dataclass(frozen=True)
class FakeAiter:
    root: Path  # put this folder on sys.path
    package: Path  # root / "aiter"
    dist_info: Path | None


def _signature(params: Sequence[tuple[str, str | None]] | str) -> str:
    if isinstance(params, str):
        return params
    return ", ".join(name if default is None else f"{name}={default}" for name, default in params)


def write_fake_aiter(
    root: Path,
    *,
    params: Sequence[tuple[str, str | None]] | str = (
        ("hidden_states", None),
        ("w1", None),
        ("w2", None),
        ("topk_weight", None),
        ("topk_ids", None),
    ),
    body: str = _RECORDING_BODY,
    prelude: str = "",
    fused_moe_source: str | None = None,
    import_error: str | None = None,
    version: str = "0.1.20",
    distribution: str | None = "amd-aiter",
    enums: Mapping[str, Sequence[str]] | None = DEFAULT_ENUMS,
    header: Literal["wheel", "source"] | None = "wheel",
    kernels: Mapping[str, Sequence[str]] | None = None,
    jit_modules: Sequence[str] = (),
    built: Mapping[str, Sequence[str]] | None = None,
) -> FakeAiter:
    """Write a fake AITER under ``root`` and return where its parts are.

    ``params`` is a list of ``(name, default source text)`` pairs as in AITER's
    release history, or a raw parameter list such as ``"x, /, *, y=1, **kw"``.
    ``body`` is the body of ``fused_moe`` (by default it records each call in
    ``aiter.fused_moe.CALLS``); ``prelude`` goes above the ``def``.
    ``import_error`` is an expression that ``aiter/__init__.py`` raises, e.g.
    ``'RuntimeError("ROCm version file not found")'`` as on a host without ROCm.
    ``distribution=None`` writes no dist-info (a source checkout).
    ``kernels`` maps an arch to kernel files under its hsa folder, e.g.
    ``{"gfx950": ["fmoe/silu/fmoe_bf16_pertokenMXfp4_g1u1_silu_1tg_32x512.co"]}``
    (a ``.csv`` path gets a header and one row). ``jit_modules`` are listed in
    ``aiter/jit/optCompilerConfig.json``; ``built`` maps a module to the archs of
    a ``<module>.so`` written in ``aiter/jit/``.
    """
    package = root / "aiter"
    package.mkdir(parents=True, exist_ok=True)
    init = ["import enum"]
    if import_error is not None:
        init.append(f"raise {import_error}")
    for name, members in (enums or {}).items():
        init.append(f"{name} = enum.IntEnum({name!r}, {list(members)!r}, start=0)")
    (package / "__init__.py").write_text("\n".join(init) + "\n", encoding="utf-8")
    if body == _RECORDING_BODY:
        body = _recording_body(_signature(params))
    if fused_moe_source is None:
        fused_moe_source = (
            "import enum\n"
            "from aiter import *\n"
            "\n"
            "class GateMode(str, enum.Enum):\n"
            "    SEPARATED = 'separated'\n"
            "    INTERLEAVE = 'interleave'\n"
            "\n"
            "CALLS = []\n"
            f"{textwrap.dedent(prelude)}\n"
            f"def fused_moe({_signature(params)}):\n"
            f"{textwrap.indent(textwrap.dedent(body), '    ')}\n"
        )
    (package / "fused_moe.py").write_text(fused_moe_source, encoding="utf-8")
    # aiter/jit/ is in every AITER release: with aiter/fused_moe it identifies AMD's package.
    (package / "jit").mkdir(exist_ok=True)
    (package / "jit" / "__init__.py").write_text("", encoding="utf-8")

    if header is not None and enums:
        rel = "aiter_meta/csrc/include" if header == "wheel" else "csrc/include"
        (root / rel).mkdir(parents=True, exist_ok=True)
        blocks = [
            f"enum class {name} : int\n{{\n" + "".join(f"    {m},\n" for m in members) + "};\n"
            for name, members in enums.items()
        ]
        (root / rel / "aiter_enum.h").write_text("#pragma once\n" + "".join(blocks), encoding="utf-8")

    hsa = root / ("aiter_meta/hsa" if header == "wheel" else "hsa")
    for arch, files in (kernels or {}).items():
        for rel_file in files:
            path = hsa / arch / rel_file
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("knl_name,co_name\nk,x.co\n" if rel_file.endswith(".csv") else "", encoding="utf-8")
    if jit_modules or built:
        names = list(dict.fromkeys([*jit_modules, *(built or {})]))
        (package / "jit" / "optCompilerConfig.json").write_text(json.dumps({n: {} for n in names}), encoding="utf-8")
    for module, archs in (built or {}).items():
        blob = b"\x7fELF" + b"".join(b"\x00amdhsa--" + a.encode() + b"\x00" for a in archs)
        (package / "jit" / f"{module}.so").write_bytes(blob)

    dist_info = None
    if distribution is not None:
        top = ["aiter", "aiter_meta"] if header == "wheel" else ["aiter"]
        dist_info = _dist_info(root, distribution, version, top)
    return FakeAiter(root=root, package=package, dist_info=dist_info)


def _dist_info(root: Path, distribution: str, version: str, top: Sequence[str]) -> Path:
    dist_info = root / f"{distribution.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir(exist_ok=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n", encoding="utf-8")
    (dist_info / "top_level.txt").write_text("\n".join(top) + "\n", encoding="utf-8")
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and dist_info not in p.parents)
    (dist_info / "RECORD").write_text("".join(f"{f},,\n" for f in files), encoding="utf-8")
    return dist_info


def write_package(root: Path, files: Mapping[str, str], **fake: object) -> Path:
    """A fake AITER (as :func:`write_fake_aiter` writes it, with ``fake`` passed on) with
    ``files`` written over it: ``{"aiter/ops/x.py": "def f(a): ..."}``. Returns ``root``,
    to pass as ``aiter_path`` (or to scan code against)."""
    write_fake_aiter(root, **{"distribution": None, **fake})  # type: ignore[arg-type]
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def write_async_iterator_aiter(root: Path, *, version: str = "0.13.20191203") -> FakeAiter:
    """PyPI's unrelated ``aiter`` (an asyncio iterator library) as pip installs it:
    a module ``aiter`` with no ``fused_moe`` and no ``jit/``."""
    package = root / "aiter"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("from .azip import azip\n", encoding="utf-8")
    (package / "azip.py").write_text("async def azip(*aiters):\n    yield ()\n", encoding="utf-8")
    return FakeAiter(root=root, package=package, dist_info=_dist_info(root, "aiter", version, ["aiter"]))


def write_fake_entry_points(root: Path, entry_points: Mapping[str, Mapping[str, object] | None]) -> Path:
    """An AITER package shaped like a release: each entry point in its real file, with its
    decorators (source text) and parameters ``[name, kind, default source text]``, as in
    AITER's entry-point history. ``aiter/__init__.py`` star-imports the ``aiter/ops``
    modules; ``aiter/jit/core.py`` defines ``compile_ops`` and ``torch_compile_guard``
    and then raises RuntimeError, as an import on a host without ROCm does. ``None``
    leaves an entry point out. Returns ``root`` (pass it as ``aiter_path``)."""
    package = root / "aiter"
    (package / "jit").mkdir(parents=True, exist_ok=True)
    (package / "jit" / "__init__.py").write_text("", encoding="utf-8")
    (package / "jit" / "core.py").write_text(
        "def compile_ops(*args, **kwargs):\n    return lambda f: f\n\n"
        "def torch_compile_guard(*args, **kwargs):\n    return lambda f: f\n\n"
        "raise RuntimeError('ROCm version file not found')\n",
        encoding="utf-8",
    )
    files: dict[str, list[str]] = {}
    for dotted, entry in entry_points.items():
        if entry is None:
            continue
        name = dotted.rsplit(".", 1)[1]
        params = ", ".join(p[0] if p[2] is None else f"{p[0]}={p[2]}" for p in entry["params"])  # type: ignore[attr-defined]
        decorators = "".join(f"@{d}\n" for d in entry["decorators"])  # type: ignore[attr-defined]
        names = ", ".join(str(p[0]) for p in entry["params"])  # type: ignore[attr-defined]
        files.setdefault(str(entry["file"]), []).append(f"{decorators}def {name}({params}):\n    return ({names},)\n")
    init = ["from .jit.core import compile_ops, torch_compile_guard"]
    for rel, defs in sorted(files.items()):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        for folder in path.relative_to(root).parents:
            if str(folder) != "." and not (root / folder / "__init__.py").exists():
                (root / folder / "__init__.py").write_text("", encoding="utf-8")
        header = "from aiter.jit.core import compile_ops, torch_compile_guard\n\n"
        path.write_text(header + "\n\n".join(defs), encoding="utf-8")
        if rel.startswith("aiter/ops/"):
            init.append(f"from .ops.{Path(rel).stem} import *")
    (package / "__init__.py").write_text("\n".join(init) + "\n", encoding="utf-8")
    return root


def write_fake_sysfs(root: Path, gpus: Sequence[tuple[int, ...]], *, cpu_nodes: int = 1) -> Path:
    """A KFD topology under ``root`` (use it as CAPABILITIES_SYSFS_ROOT): ``cpu_nodes``
    CPU nodes (no SIMDs, gfx_target_version 0), then one node per ``(gfx_target_version,
    compute_units)`` or ``(gfx_target_version, compute_units, unique_id)``, e.g.
    ``(90402, 304)`` for an MI300X. Without a ``unique_id`` each GPU gets a distinct one,
    ``0x1d6e...`` plus its node number (0: the device reports none)."""
    nodes = root / "sys/class/kfd/kfd/topology/nodes"
    entries: list[tuple[int, ...]] = [(0, 0)] * cpu_nodes + [tuple(g) for g in gpus]
    for number, entry in enumerate(entries):
        version, cus = entry[0], entry[1]
        unique = entry[2] if len(entry) > 2 else (0x1D6E3A5B00000000 + number if version else 0)
        (nodes / str(number)).mkdir(parents=True, exist_ok=True)
        if version:
            props = f"cpu_cores_count 0\nsimd_count {cus * 4}\nsimd_per_cu 4\n"
        else:
            props = "cpu_cores_count 8\nsimd_count 0\n"
        props += f"gfx_target_version {version}\nvendor_id {0x1002 if version else 0}\nunique_id {unique}\n"
        (nodes / str(number) / "properties").write_text(props, encoding="utf-8")
    return root


def forget_aiter() -> None:
    """Drop every imported ``aiter`` module and every cached report."""
    for name in [m for m in sys.modules if m == "aiter" or m.startswith("aiter.")]:
        del sys.modules[name]
    clear_cache()
