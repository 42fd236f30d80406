"""Collect: the GPUs this process will run on, from the KFD topology in sysfs.

Neither torch nor aiter is imported. Each node under
``/sys/class/kfd/kfd/topology/nodes/N/properties`` that reports a non-zero
``gfx_target_version`` (major*10000 + minor*100 + stepping) is a GPU, in the
order ROCm enumerates them; ``ROCR_VISIBLE_DEVICES`` selects among those, and
``HIP_VISIBLE_DEVICES`` among what ROCR leaves. ``CAPABILITIES_SYSFS_ROOT``
stands in for ``/`` (tests, or a copied sysfs). No GPU is an answer, not an error.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

SYSFS_ROOT_ENV = "CAPABILITIES_SYSFS_ROOT"
TOPOLOGY = Path("sys/class/kfd/kfd/topology/nodes")
AMD_VENDOR_ID = 0x1002


@dataclass(frozen=True)
class GpuFact:
    index: int  # position among the GPU nodes, as ROCm numbers devices
    node: int  # the KFD node number
    arch: str  # e.g. "gfx942"
    compute_units: int | None
    vendor_id: int | None
    visible: bool


@dataclass(frozen=True)
class GpuFacts:
    gpus: tuple[GpuFact, ...]
    source: str  # the topology folder read
    problems: tuple[str, ...]


def arch_name(version: int) -> str:
    """90402 -> 'gfx942', 90010 -> 'gfx90a', 110000 -> 'gfx1100' (minor and stepping in hex)."""
    return f"gfx{version // 10000}{(version // 100) % 100:x}{version % 100:x}"


def _properties(text: str) -> dict[str, int]:
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and re.fullmatch(r"-?\d+", parts[1]):
            out[parts[0]] = int(parts[1])
    return out


def _select(indices: list[int], raw: str | None, name: str, problems: list[str]) -> list[int]:
    """The entries of ``indices`` that a *_VISIBLE_DEVICES value keeps, in its order."""
    if raw is None:
        return indices
    kept: list[int] = []
    for token in (t.strip() for t in raw.split(",")):
        if not token:
            continue
        if not re.fullmatch(r"\d+", token):
            problems.append(f"{name}={raw!r}: {token!r} is not a device index (UUIDs are not matched); the rest is kept as written")
            continue
        position = int(token)
        if position < len(indices):
            kept.append(indices[position])
    return kept


def read_gpus(environ: dict[str, str] | None = None) -> GpuFacts:
    env = dict(os.environ) if environ is None else environ
    root = Path(env.get(SYSFS_ROOT_ENV) or "/")
    folder = root / TOPOLOGY
    problems: list[str] = []
    try:
        nodes = sorted((int(p.name), p) for p in folder.iterdir() if p.name.isdigit())
    except FileNotFoundError:
        return GpuFacts((), str(folder), ())  # no KFD: no AMD GPU driver on this host
    except OSError as exc:
        return GpuFacts((), str(folder), (f"{folder} cannot be listed: {type(exc).__name__}: {exc.strerror or exc}",))
    found: list[tuple[int, str, int | None, int | None]] = []
    for number, path in nodes:
        try:
            props = _properties((path / "properties").read_bytes().decode("utf-8", "replace"))
        except OSError as exc:
            problems.append(f"node {number}: properties cannot be read: {type(exc).__name__}: {exc.strerror or exc}")
            continue
        version = props.get("gfx_target_version")
        if version is None:
            problems.append(f"node {number}: properties has no gfx_target_version")
            continue
        if version <= 0:
            continue  # a CPU node
        simds, per_cu = props.get("simd_count"), props.get("simd_per_cu")
        cus = simds // per_cu if simds and per_cu else None
        found.append((number, arch_name(version), cus, props.get("vendor_id")))
    positions = list(range(len(found)))
    visible = _select(positions, env.get("ROCR_VISIBLE_DEVICES"), "ROCR_VISIBLE_DEVICES", problems)
    visible = _select(visible, env.get("HIP_VISIBLE_DEVICES"), "HIP_VISIBLE_DEVICES", problems)
    gpus = tuple(
        GpuFact(index=i, node=n, arch=arch, compute_units=cus, vendor_id=vendor, visible=i in visible)
        for i, (n, arch, cus, vendor) in enumerate(found)
    )
    return GpuFacts(gpus, str(folder), tuple(problems))
