"""Decide: the hardware half of the feature set, per GPU architecture.

``supported`` only with file evidence: 1-stage MoE kernels for it ship for
that arch. ``unsupported`` only where nothing ships for it on that arch *and*
an upstream rule says no other path exists (the rule is named as a rule, with
its sources). Everything else is ``unknown``: AITER's CK 2-stage path is
compiled for the arch on first use, and files cannot say whether it serves.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import _catalog
from ._facts import Facts
from ._kernels import ArchFacts, DispatchFact, KernelFacts
from .model import (
    AiterIdentity,
    AiterStatus,
    ArchInventory,
    Archs,
    DispatchEntry,
    Feature,
    Gpu,
    Jit,
    JitModule,
    KernelFamily,
    KernelKind,
    Kernels,
    Support,
)

# The rule, from upstream reports rather than files: MXFP4 MoE (QuantType.per_1x32) needs
# the MX-scaled matrix instructions of CDNA4 (gfx950); on gfx942 (MI300) it dies in the kernel.
MXFP4_ARCH_PREFIX = "gfx95"
MXFP4_RULE = (
    "rule (from upstream reports, not from files): MXFP4 MoE needs the MX-scaled matrix instructions of "
    "gfx950 (CDNA4), which {arch} lacks; AITER's dispatch lists it there anyway and runs die inside the "
    "kernel (ROCm/aiter#4640, ROCm/aiter#4492, vllm#34641, sglang#35525)"
)
# A dispatch entry's weight dtype -> how kernel names write it.
_NAME_DTYPE = {"fp8": "Fp8", "i8": "Int8", "fp4x2": "MXfp4", "bf16": "Bf16", "fp16": "Fp16", "i4x2": "Int4"}
# ... and tokens that an older-style (unparsed) kernel name would carry for it.
_NAME_TOKENS = {"fp8": ("fp8",), "i8": ("int8",), "fp4x2": ("fp4",), "bf16": ("b16", "bf16"), "fp16": ("f16",), "i4x2": ("int4",)}
ACTIVATIONS = ("Silu", "Gelu", "Swiglu")


def select_archs(facts: Facts) -> Archs:
    if facts.named_archs:
        return Archs(names=tuple(sorted(set(facts.named_archs))), source="named", detail="named by --arch / probe(arch=...)")
    g = facts.gpus
    present = sorted({x.arch for x in g.gpus})
    if g.undecided is not None:
        return Archs(names=tuple(present), source="undecided", detail=g.undecided)
    if not g.gpus:
        return Archs(names=(), source="none", detail=g.visibility)
    live = sorted({x.arch for x in g.visible})
    if not live:
        detail = f"{len(g.gpus)} GPU(s) ({', '.join(present)}) and none is visible to this process: {g.visibility}"
        return Archs(names=(), source="hidden", detail=detail)
    return Archs(names=tuple(live), source="live", detail=g.visibility)


def checked_per_arch(name: str) -> bool:
    """Whether ``name`` is answered per architecture (the members ``arch_features`` decides)."""
    enum, _, member = name.partition(".")
    return enum == "QuantType" or (enum == "ActivationType" and member in ACTIVATIONS)


def without_archs(archs: Archs, name: str, build: Feature) -> Feature | None:
    """The answer for a per-arch feature the build supports when no arch can be checked:
    unknown where the visible GPUs cannot be told, unsupported where none is visible."""
    if archs.source == "undecided":
        return Feature(
            support=Support.UNKNOWN,
            source="kernel_inventory",
            detail=f"{name} is in the build ({build.detail}), but which GPUs run it cannot be told: {archs.detail}",
        )
    if archs.source == "hidden":
        return Feature(support=Support.UNSUPPORTED, source="kernel_inventory", detail=f"no GPU can run it: {archs.detail}")
    return None


def _kinds(arch: ArchFacts | None, **match: str) -> list[KernelKind]:
    if arch is None:
        return []
    return [k for k in arch.kinds if all(getattr(k, f) == v for f, v in match.items())]


def _summary(kinds: list[KernelKind]) -> str:
    n = sum(k.count for k in kinds)
    families = sorted({k.family for k in kinds})
    gating = ", ".join(sorted({k.gating for k in kinds}))
    acts = ", ".join(sorted({k.activation for k in kinds}))
    return f"{n} 1-stage MoE kernel(s) ship in {', '.join(families)} ({gating}; {acts})"


def _quant_feature(arch: str, facts: ArchFacts | None, member: str) -> Feature:
    kinds = _kinds(facts, quant=member)
    if kinds:
        return Feature(support=Support.SUPPORTED, source="kernel_inventory", detail=f"on {arch}: {_summary(kinds)}")
    shipped = "the build ships no kernels for it" if facts is None else f"no {member} MoE kernel ships for {arch}"
    if member == "per_1x32" and not arch.startswith(MXFP4_ARCH_PREFIX):
        return Feature(
            support=Support.UNSUPPORTED,
            source="upstream_rule",
            detail=f"on {arch}: {shipped} (no pertokenMXfp4 fmoe kernel); {MXFP4_RULE.format(arch=arch)}",
        )
    return Feature(
        support=Support.UNKNOWN,
        source="kernel_inventory",
        detail=f"on {arch}: {shipped}; the CK 2-stage path is compiled for the arch at first use, and "
        "whether it serves this quantisation cannot be told from files",
    )


def _activation_feature(arch: str, facts: ArchFacts | None, member: str) -> Feature:
    kinds = _kinds(facts, activation=member)
    if kinds:
        return Feature(support=Support.SUPPORTED, source="kernel_inventory", detail=f"on {arch}: {_summary(kinds)}")
    return Feature(
        support=Support.UNKNOWN,
        source="kernel_inventory",
        detail=f"on {arch}: no 1-stage MoE kernel with {member} ships; other paths compile at first use, "
        "and whether they serve it cannot be told from files",
    )


def arch_features(
    ident: AiterIdentity, features: Mapping[str, Feature], kernels: KernelFacts | None, archs: tuple[str, ...]
) -> dict[str, dict[str, Feature]]:
    """Per arch, each QuantType and ActivationType member; the build's own answer stands
    where it is not ``supported`` (an enum member the build lacks is lacking on every arch)."""
    if not ident.is_aiter or kernels is None:
        return {}
    out: dict[str, dict[str, Feature]] = {}
    for arch in archs:
        facts = kernels.archs.get(arch)
        decided: dict[str, Feature] = {}
        for enum, decide in (("QuantType", _quant_feature), ("ActivationType", _activation_feature)):
            members = [k.name for k in _catalog.ENUMS[enum] if enum == "QuantType" or k.name in ACTIVATIONS]
            for member in members:
                name = f"{enum}.{member}"
                build = features.get(name)
                decided[name] = build if build is not None and build.support is not Support.SUPPORTED else decide(arch, facts, member)
        out[arch] = decided
    return out


def _dispatch_entry(entry: DispatchFact, facts: ArchFacts | None) -> DispatchEntry:
    where = f"{entry.arch}"
    name_dtype = _NAME_DTYPE.get(entry.q_dtype_w or "")
    gating = None if entry.g1u1 is None else ("g1u1" if entry.g1u1 else "g1u0")
    match = {"quant": entry.quant_type or "", "activation": entry.activation or ""}
    if gating:
        match["gating"] = gating
    if name_dtype:
        match["quant_dtype"] = name_dtype
    kinds = _kinds(facts, **match)
    fields = {k: v for k, v in vars(entry).items()}
    if kinds:
        return DispatchEntry(**fields, kernels="ship", detail=f"{where}: {_summary(kinds)}")
    tokens = _NAME_TOKENS.get(entry.q_dtype_w or "", ())
    names = () if facts is None else facts.unparsed_names
    unparsed = [n for n in names if any(t in n.lower() for t in tokens)]
    if unparsed:
        return DispatchEntry(
            **fields,
            kernels="unverified",
            detail=f"{where}: no kernel name that parses matches, but {len(unparsed)} other MoE kernel name(s) "
            f"mention {'/'.join(tokens)}; whether one serves this entry cannot be told from names",
        )
    return DispatchEntry(
        **fields,
        kernels="declared_without_kernels",
        detail=f"{where}: the dispatch table lists it, but no MoE kernel for {entry.quant_type} with "
        f"{entry.q_dtype_w} weights ships for {entry.arch} in this build",
    )


def kernels_section(kernels: KernelFacts | None) -> Kernels:
    if kernels is None:
        return Kernels(hsa_dir=None, inventory={}, dispatch_table=(), dispatch_error="not read: no aiter package")
    inventory = {
        arch: ArchInventory(
            families={f: KernelFamily(co_files=x.co_files, csv_rows=x.csv_rows) for f, x in a.families.items()},
            kernels=a.kinds,
            unparsed=a.unparsed,
        )
        for arch, a in kernels.archs.items()
    }
    table = tuple(_dispatch_entry(e, kernels.archs.get(e.arch)) for e in kernels.dispatch)
    return Kernels(hsa_dir=kernels.hsa_dir, inventory=inventory, dispatch_table=table, dispatch_error=kernels.dispatch_error)


def jit_section(kernels: KernelFacts | None) -> Jit:
    if kernels is None:
        return Jit(dir=None, dirs=(), modules={}, error="not read: no aiter package")
    modules = {
        name: JitModule(prebuilt=m.path is not None, archs=m.archs, path=m.path) for name, m in kernels.jit_modules.items()
    }
    return Jit(dir=kernels.jit_dirs[0] if kernels.jit_dirs else None, dirs=kernels.jit_dirs, modules=modules, error=kernels.jit_error)


def gpus(facts: Facts) -> tuple[Gpu, ...]:
    return tuple(
        Gpu(index=g.index, node=g.node, arch=g.arch, compute_units=g.compute_units, vendor_id=g.vendor_id, uuid=g.uuid, visible=g.visible)
        for g in facts.gpus.gpus
    )
