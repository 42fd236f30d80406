"""Collect: the GPUs this process will run on, from the KFD topology in sysfs.

Neither torch nor aiter is imported. Each node under
``/sys/class/kfd/kfd/topology/nodes/N/properties`` with compute cores
(``simd_count`` > 0) is a GPU, in the order ROCm enumerates them, and its
``gfx_target_version`` (major*10000 + minor*100 + stepping) names its arch.

Visibility follows ROCm's own two filters, in its order:

- ``ROCR_VISIBLE_DEVICES`` (the ROCr runtime): comma-separated device indices
  (C ``strtol``: ``0x1`` is hex, ``010`` octal) or UUIDs (``GPU-`` and a
  unique prefix of the node's ``unique_id`` as 16 hex digits, any case). Set
  but empty: no GPU. The list ends at the first token that is not a device, is
  out of range, matches no or several UUIDs, or repeats one.
- then ``HIP_VISIBLE_DEVICES``, or ``CUDA_VISIBLE_DEVICES`` where that is unset
  or empty (HIP honours both), over what ROCr left: exact decimal indices, or a
  token containing ``GPU-`` that is a substring of a device's lowercase UUID.
  The list ends at the first invalid token; repeats are skipped. Empty: no
  filter.

Where the topology cannot be read whole (a node whose properties cannot be
read or parsed, gaps in the node numbers), which GPUs are visible cannot be
decided: the facts say so and why, and the report answers ``unknown`` for
every per-architecture feature rather than checking nothing.
``CAPABILITIES_SYSFS_ROOT`` stands in for ``/`` (tests, or a copied sysfs).
No KFD at all is an answer (no AMD GPU driver), not an error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

SYSFS_ROOT_ENV = "CAPABILITIES_SYSFS_ROOT"
VISIBILITY_ENV = ("ROCR_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "CUDA_VISIBLE_DEVICES")
# Every variable the GPU facts depend on: the registry keys its cache on their values.
ENVIRONMENT = (SYSFS_ROOT_ENV, *VISIBILITY_ENV)
TOPOLOGY = Path("sys/class/kfd/kfd/topology/nodes")
AMD_VENDOR_ID = 0x1002
_NUMBER = re.compile(r"[0-9]+")
_INTEGER = re.compile(r"-?[0-9]+")
_LONG_MAX = 2**63 - 1


@dataclass(frozen=True)
class GpuFact:
    index: int  # position among the GPU nodes, as ROCm numbers devices
    node: int  # the KFD node number
    arch: str  # e.g. "gfx942"
    compute_units: int | None
    vendor_id: int | None
    unique_id: int  # 0: the device reports none
    visible: bool

    @property
    def uuid(self) -> str | None:
        """The UUID ROCm reports, ``GPU-`` and 16 lowercase hex digits; None without one."""
        return f"GPU-{self.unique_id:016x}" if self.unique_id else None


@dataclass(frozen=True)
class GpuFacts:
    gpus: tuple[GpuFact, ...]
    source: str  # the topology folder read
    problems: tuple[str, ...]
    visibility: str  # what the visibility variables did, in words
    undecided: str | None = None  # why the visible GPUs cannot be told; None: they can

    @property
    def visible(self) -> tuple[GpuFact, ...]:
        return tuple(g for g in self.gpus if g.visible)


def arch_name(version: int) -> str:
    """90402 -> 'gfx942', 90010 -> 'gfx90a', 110000 -> 'gfx1100' (minor and stepping in hex)."""
    return f"gfx{version // 10000}{(version // 100) % 100:x}{version % 100:x}"


def _properties(text: str) -> tuple[dict[str, int], list[str]]:
    """``key value`` lines as integers, and the lines that are not that."""
    out: dict[str, int] = {}
    bad: list[str] = []
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if len(parts) == 2 and _INTEGER.fullmatch(parts[1]):
            out[parts[0]] = int(parts[1])
        else:
            bad.append(line.strip()[:60])
    return out, bad


# --- ROCm's filters ----------------------------------------------------------------


def _strtol(token: str) -> int | None:
    """C ``strtol(token, &end, 0)`` where the whole token must be consumed (ROCr's test);
    None where it is not. An empty token is 0, as strtol makes it."""
    m = re.fullmatch(r"([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)?", token)
    if m is None:
        return None
    sign, digits = m.group(1), m.group(2)
    if digits is None:
        return None if sign else 0  # "+" alone leaves the sign unconsumed
    if digits[:2] in ("0x", "0X"):
        value = int(digits, 16)
    elif digits.startswith("0") and len(digits) > 1:
        value = int(digits, 8)
    else:
        value = int(digits)
    return min(value, _LONG_MAX) * (-1 if sign == "-" else 1)


def rocr_filter(raw: str, uuids: list[str | None]) -> tuple[list[int], str]:
    """The device indices ``ROCR_VISIBLE_DEVICES=raw`` leaves, in its order, and why it stopped."""
    if not raw:
        return [], "set but empty: no GPU"
    tokens = [t.upper().strip() for t in raw.split(",")]
    upper = [u.upper() if u else "INVALID-UUID" for u in uuids]
    kept: list[int] = []
    for token in tokens[: len(uuids)]:  # ROCr reads no more tokens than there are GPUs
        if token.startswith("G"):
            matches = [i for i, u in enumerate(upper) if 5 <= len(token) <= 20 and u.startswith(token)]
            if len(matches) != 1:
                return kept, f"{token!r} matches {'no' if not matches else 'more than one'} GPU's unique_id: the list ends there"
            index = matches[0]
        else:
            parsed = _strtol(token)
            if parsed is None:
                return kept, f"{token!r} is not a device index or UUID: the list ends there"
            index = parsed
        if not 0 <= index < len(uuids):
            return kept, f"{token!r} is not one of the {len(uuids)} GPU(s): the list ends there"
        if index in kept:
            return kept, f"{token!r} repeats a device: the list ends there"
        kept.append(index)
    return kept, ""


def hip_filter(raw: str, uuids: list[str | None]) -> tuple[list[int], str]:
    """The positions among ``uuids`` (what ROCr left) that a HIP list keeps, and why it stopped."""
    kept: list[int] = []
    for token in raw.split(","):
        index: int | None = None
        if "GPU-" in token:
            agent = [u or "GPU-XX" for u in uuids]
            index = next((i for i, u in enumerate(agent) if token in u), None)
        elif re.fullmatch(r"-?[0-9]+", token) and str(int(token)) == token:
            index = int(token)
        if index is None or not 0 <= index < len(uuids):
            return kept, f"{token!r} is not a visible device: the list ends there"
        if index not in kept:
            kept.append(index)
    return kept, ""


def _visibility(env: Mapping[str, str], uuids: list[str | None]) -> tuple[list[int], str]:
    """(visible positions in ROCm's order, what each variable did)."""
    positions = list(range(len(uuids)))
    said: list[str] = []
    rocr = env.get("ROCR_VISIBLE_DEVICES")
    if rocr is not None:
        positions, why = rocr_filter(rocr, uuids)
        said.append(f"ROCR_VISIBLE_DEVICES={rocr!r} keeps {_which(positions)}" + (f" ({why})" if why else ""))
    name = "HIP_VISIBLE_DEVICES" if env.get("HIP_VISIBLE_DEVICES") else "CUDA_VISIBLE_DEVICES"
    hip = env.get(name) or None
    if name == "HIP_VISIBLE_DEVICES" and env.get("CUDA_VISIBLE_DEVICES") is not None:
        said.append(f"CUDA_VISIBLE_DEVICES={env['CUDA_VISIBLE_DEVICES']!r} is ignored: HIP_VISIBLE_DEVICES is set")
    if hip is not None:
        kept, why = hip_filter(hip, [uuids[p] for p in positions])
        positions = [positions[k] for k in kept]
        said.append(f"{name}={hip!r} keeps {_which(positions)}" + (f" ({why})" if why else ""))
    return positions, "; ".join(said) or "no visibility variable is set: every GPU is visible"


def _which(positions: list[int]) -> str:
    return "no GPU" if not positions else "GPU " + ", ".join(map(str, positions))


# --- reading the topology -------------------------------------------------------


def read_gpus(environ: Mapping[str, str]) -> GpuFacts:
    """The GPUs under ``environ``'s sysfs root and which of them ``environ`` makes visible."""
    root = Path(environ.get(SYSFS_ROOT_ENV) or "/")
    folder = root / TOPOLOGY
    problems: list[str] = []
    try:
        entries = sorted(os.listdir(folder))
    except FileNotFoundError:
        return GpuFacts((), str(folder), (), "no KFD topology: no AMD GPU driver on this host")
    except OSError as exc:
        why = f"{folder} cannot be listed: {type(exc).__name__}: {exc.strerror or exc}"
        return GpuFacts((), str(folder), (why,), "the GPUs cannot be read", undecided=why)
    numbers = sorted(int(e) for e in entries if _NUMBER.fullmatch(e))
    for odd in (e for e in entries if not _NUMBER.fullmatch(e)):
        problems.append(f"{folder}/{odd!r} is not a node number: ignored, as ROCm ignores it")
    undecided: list[str] = []
    if numbers != list(range(len(numbers))):
        undecided.append(f"the node numbers {numbers} are not 0..{len(numbers) - 1}: ROCm's enumeration cannot be told")
    found: list[tuple[int, str, int | None, int | None, int]] = []
    for number in numbers:
        path = folder / str(number) / "properties"
        try:
            props, bad = _properties(path.read_bytes().decode("utf-8", "replace"))
        except OSError as exc:
            undecided.append(f"node {number}: properties cannot be read: {type(exc).__name__}: {exc.strerror or exc}")
            continue
        if bad:
            problems.append(f"node {number}: {len(bad)} properties line(s) that are not 'key integer', e.g. {bad[0]!r}")
        simds, version = props.get("simd_count"), props.get("gfx_target_version")
        if simds is None or version is None:
            missing = " and ".join(k for k, v in (("simd_count", simds), ("gfx_target_version", version)) if v is None)
            undecided.append(f"node {number}: properties has no {missing}, so whether it is a GPU cannot be told")
            continue
        if simds <= 0:
            continue  # a CPU node: ROCm counts only nodes with compute cores
        if version <= 0:
            undecided.append(f"node {number}: {simds} SIMDs but gfx_target_version {version}: its arch cannot be told")
            continue
        per_cu = props.get("simd_per_cu")
        found.append((number, arch_name(version), simds // per_cu if per_cu else None, props.get("vendor_id"), props.get("unique_id", 0)))
    problems += undecided
    uuids = [f"GPU-{uid:016x}" if uid else None for *_, uid in found]
    visible, said = _visibility(environ, uuids)
    gpus = tuple(
        GpuFact(index=i, node=n, arch=arch, compute_units=cus, vendor_id=vendor, unique_id=uid, visible=i in visible)
        for i, (n, arch, cus, vendor, uid) in enumerate(found)
    )
    cause: str | None = None
    if undecided:
        cause = "the KFD topology cannot be read whole, so which GPUs this process sees cannot be told: " + "; ".join(undecided)
    return GpuFacts(gpus, str(folder), tuple(problems), said, cause)
