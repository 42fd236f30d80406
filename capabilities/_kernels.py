"""Collect: which kernels AITER ships per GPU architecture, what its 1-stage dispatch
table declares, and which JIT modules are already built. From files only.

- Assembly kernels: ``aiter_meta/hsa/<arch>/`` (wheel) or ``hsa/<arch>/``
  (checkout), ``.co`` files grouped in family folders, with CSVs listing them.
- ``fused_moe_1stage_dict`` in ``aiter/fused_moe.py``: arch -> (activation,
  quant_type, dtype, q_dtype_a, q_dtype_w, g1u1[, doweight_stage1]) -> API,
  read with ``ast``.
- JIT modules: ``aiter/jit/optCompilerConfig.json``; built ones are ``.so``
  files in ``aiter/jit/``, ``$AITER_JIT_DIR`` or ``~/.aiter/jit``, naming the
  archs they target in ``amdhsa--gfxNNN`` strings.
"""

from __future__ import annotations

import ast
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from collections.abc import Mapping
from pathlib import Path

from .model import KernelKind

HSA_CANDIDATES = (Path("aiter_meta/hsa"), Path("hsa"))
ARCH_DIR = re.compile(r"gfx[0-9a-f]+")
# fmoe_<dtype>_<quant><qdtype>_<g1u0|g1u1>_..._<activation>_...: the 1-stage assembly MoE kernels.
KERNEL_NAME = re.compile(
    r"^fmoe_(?P<dtype>bf16|fp16)_(?P<quant>noquant|pertoken|blockscale|pertensor)(?P<qdtype>[A-Za-z0-9]*)"
    r"_(?P<gating>g1u[01])_(?:[A-Za-z0-9]+_)*?(?P<activation>silu|gelu|swiglu)(?:_|$)"
)
# Kernel name quantisation -> AITER QuantType member (for the qdtype that name carries).
QUANT_OF = {"noquant": "No", "pertoken": "per_Token", "blockscale": "per_1x128", "pertensor": "per_Tensor"}
ARCH_STRING = re.compile(rb"amdhsa--(gfx[0-9a-f]+)")
# The variables the JIT folders depend on: the registry keys its cache on them.
ENVIRONMENT = ("AITER_JIT_DIR", "HOME")


@dataclass(frozen=True)
class FamilyFacts:
    co_files: int
    csv_rows: int


@dataclass(frozen=True)
class ArchFacts:
    families: dict[str, FamilyFacts]
    kinds: tuple[KernelKind, ...]  # parsed 1-stage MoE kernel names, grouped
    unparsed: int  # fmoe kernel files whose names do not follow the grammar
    unparsed_names: tuple[str, ...]  # those names, for cross-checks


@dataclass(frozen=True)
class DispatchFact:
    arch: str
    activation: str | None
    quant_type: str | None
    dtype: str | None
    q_dtype_a: str | None
    q_dtype_w: str | None
    g1u1: bool | None
    api: str


@dataclass(frozen=True)
class JitModuleFact:
    path: str | None
    archs: tuple[str, ...]


@dataclass(frozen=True)
class KernelFacts:
    hsa_dir: str | None
    archs: dict[str, ArchFacts]
    dispatch: tuple[DispatchFact, ...]
    dispatch_error: str | None
    jit_dirs: tuple[str, ...]
    jit_modules: dict[str, JitModuleFact]  # every module the config lists
    jit_error: str | None
    problems: tuple[str, ...] = field(default=())


def _quant(quant: str, qdtype: str) -> str:
    if qdtype.lower() == "mxfp4":
        return "per_1x32"  # MXFP4: one scale per 32 values
    return QUANT_OF[quant]


def parse_kernel_name(name: str) -> tuple[str, str, str, str, str] | None:
    """(dtype, QuantType member, quant dtype, gating, activation) or None when the name
    does not follow the 1-stage MoE grammar (then it is counted, never guessed)."""
    m = KERNEL_NAME.match(name.removesuffix(".co"))
    if m is None:
        return None
    return m["dtype"], _quant(m["quant"], m["qdtype"]), m["qdtype"], m["gating"], m["activation"].capitalize()


def _arch_facts(arch_dir: Path, problems: list[str]) -> ArchFacts:
    families: dict[str, list[int]] = {}
    kinds: Counter[tuple[str, str, str, str, str, str]] = Counter()
    unparsed: list[str] = []
    top = os.fspath(arch_dir)
    # Folder names as strings, not Path objects: an arch holds thousands of kernel files.
    for dirpath, dirnames, filenames in os.walk(top, onerror=lambda e: problems.append(f"{e.filename}: {e.strerror}")):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        rel = os.path.relpath(dirpath, top)
        family = rel.split(os.sep, 1)[0] if rel != os.curdir else "(top level)"
        counts = families.setdefault(family, [0, 0])
        fmoe_family = family.startswith("fmoe")
        for name in filenames:
            if name.endswith(".co"):
                counts[0] += 1
                if not (fmoe_family or name.startswith("fmoe")):
                    continue
                parsed = parse_kernel_name(name)
                if parsed is not None:
                    kinds[(family, *parsed)] += 1
                else:
                    unparsed.append(name)
            elif name.endswith(".csv"):
                path = os.path.join(dirpath, name)
                try:
                    with open(path, "rb") as f:
                        lines = f.read().decode("utf-8", "replace").splitlines()
                except OSError as exc:
                    problems.append(f"{path}: {type(exc).__name__}: {exc.strerror or exc}")
                    continue
                counts[1] += max(0, sum(1 for line in lines if line.strip()) - 1)  # less the header
    return ArchFacts(
        families={k: FamilyFacts(*v) for k, v in sorted(families.items())},
        kinds=tuple(
            KernelKind(family=f, dtype=d, quant=q, quant_dtype=qd, gating=g, activation=a, count=n)
            for (f, d, q, qd, g, a), n in sorted(kinds.items())
        ),
        unparsed=len(unparsed),
        unparsed_names=tuple(sorted(set(unparsed))),
    )


def _last_part(node: ast.expr) -> str | None:
    """'ActivationType.Silu' -> 'Silu', 'dtypes.bf16' -> 'bf16'."""
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


def read_dispatch(tree: ast.Module | None) -> tuple[tuple[DispatchFact, ...], str | None]:
    """``fused_moe_1stage_dict``: every entry, or why it cannot be read as a literal table."""
    if tree is None:
        return (), "aiter/fused_moe.py was not parsed"
    tables = [
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "fused_moe_1stage_dict" for t in node.targets)
    ]
    if not tables:
        return (), "aiter/fused_moe.py has no top-level fused_moe_1stage_dict"
    table = tables[-1]
    if not isinstance(table, ast.Dict):
        return (), "fused_moe_1stage_dict is not a literal dict"
    out: list[DispatchFact] = []
    for arch_key, entries in zip(table.keys, table.values):
        if not (isinstance(arch_key, ast.Constant) and isinstance(arch_key.value, str) and isinstance(entries, ast.Dict)):
            return (), "fused_moe_1stage_dict has a key or value that is not a literal"
        for key, api in zip(entries.keys, entries.values):
            if not isinstance(key, ast.Tuple) or len(key.elts) < 6:
                return (), f"fused_moe_1stage_dict[{arch_key.value!r}] has a key that is not a 6-tuple"
            act, quant, dtype, qa, qw, g1u1 = key.elts[:6]
            out.append(
                DispatchFact(
                    arch=arch_key.value,
                    activation=_last_part(act),
                    quant_type=_last_part(quant),
                    dtype=_last_part(dtype),
                    q_dtype_a=_last_part(qa),
                    q_dtype_w=_last_part(qw),
                    g1u1=g1u1.value if isinstance(g1u1, ast.Constant) and isinstance(g1u1.value, bool) else None,
                    api=ast.unparse(api),
                )
            )
    return tuple(out), None


def _jit_dirs(package_dir: Path, environ: Mapping[str, str]) -> list[Path]:
    dirs = [package_dir / "jit"]
    if environ.get("AITER_JIT_DIR"):
        dirs.append(Path(environ["AITER_JIT_DIR"]))
    home = environ.get("HOME")
    if home:
        dirs.append(Path(home) / ".aiter" / "jit")
    return dirs


def _so_archs(path: Path) -> tuple[str, ...]:
    found: set[str] = set()
    tail = b""
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            found.update(m.decode() for m in ARCH_STRING.findall(tail + chunk))
            tail = chunk[-64:]
    return tuple(sorted(found))


def _module_names(config: Path) -> tuple[list[str], str | None]:
    """The module names ``optCompilerConfig.json`` lists (its top-level keys), or why none."""
    try:
        data = json.loads(config.read_bytes())
    except (OSError, ValueError, RecursionError) as exc:
        return [], f"{config} cannot be read: {type(exc).__name__}: {getattr(exc, 'strerror', None) or exc}"
    if not isinstance(data, dict):
        return [], f"{config} is a JSON {type(data).__name__}, not an object of module names"
    names = [k for k in data if isinstance(k, str) and re.fullmatch(r"[A-Za-z_][\w.-]*", k)]
    if len(names) != len(data):
        return names, f"{config}: {len(data) - len(names)} key(s) that are not module names were skipped"
    return names, None


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def read_kernels(package_dir: Path, tree: ast.Module | None, environ: Mapping[str, str]) -> KernelFacts:
    env = environ
    problems: list[str] = []
    root = package_dir.parent
    hsa = next((root / c for c in HSA_CANDIDATES if (root / c).is_dir()), None)
    archs: dict[str, ArchFacts] = {}
    if hsa is not None:
        try:
            arch_dirs = sorted(p for p in hsa.iterdir() if p.is_dir() and ARCH_DIR.fullmatch(p.name))
        except OSError as exc:
            problems.append(f"{hsa}: {type(exc).__name__}: {exc.strerror or exc}")
            arch_dirs = []
        archs = {p.name: _arch_facts(p, problems) for p in arch_dirs}
    dispatch, dispatch_error = read_dispatch(tree)

    dirs = _jit_dirs(package_dir, env)
    modules: dict[str, JitModuleFact] = {}
    names, jit_error = _module_names(package_dir / "jit" / "optCompilerConfig.json")
    for name in names:
        built = next((d / f"{name}.so" for d in dirs if _is_file(d / f"{name}.so")), None)
        archs_built: tuple[str, ...] = ()
        if built is not None:
            try:
                archs_built = _so_archs(built)
            except OSError as exc:
                problems.append(f"{built}: {type(exc).__name__}: {exc.strerror or exc}")
        modules[name] = JitModuleFact(path=None if built is None else str(built), archs=archs_built)
    return KernelFacts(
        hsa_dir=None if hsa is None else str(hsa),
        archs=archs,
        dispatch=dispatch,
        dispatch_error=dispatch_error,
        jit_dirs=tuple(str(d) for d in dirs),
        jit_modules=modules,
        jit_error=jit_error,
        problems=tuple(problems),
    )
