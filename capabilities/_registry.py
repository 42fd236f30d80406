"""The registry: probe once per key, freeze, hand out the same report. Only the cache lives here."""

from __future__ import annotations

import math
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path

from . import _facts
from .errors import UsageError, did_you_mean
from ._report import CapabilityReport, attach_resolver, from_facts

DEFAULT_TIMEOUT = 120.0

_cache: dict[tuple[object, ...], CapabilityReport] = {}
_locks: dict[tuple[object, ...], threading.Lock] = {}
_locks_lock = threading.Lock()  # held only to find a key's lock, never while probing


def probe(
    *,
    runtime: bool = False,
    refresh: bool = False,
    aiter_path: str | os.PathLike[str] | None = None,
    isolated: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    arch: str | Sequence[str] | None = None,
) -> CapabilityReport:
    """What the installed AITER offers, probed once per process and cached.

    ``runtime=True`` also imports ``aiter.fused_moe`` and reads its signature
    (in this process, or in a child process with ``timeout`` seconds when
    ``isolated=True``); import failures are recorded in the report, not
    raised. The runtime reading is also taken by itself when ``aiter.fused_moe``
    is already imported. ``aiter_path`` probes the AITER in that folder (one
    holding ``aiter/``, taken as a site folder) instead of the installed one.
    ``arch`` ("gfx942" or several) decides the hardware features for those
    architectures instead of the live GPUs, e.g. to check a deployment from a
    build host.

    The cache is keyed on the arguments and on everything else the probe reads
    besides files: ``sys.path``, the meta-path finders, whether (and which)
    ``aiter.fused_moe`` is imported, and the variables ``ROCR_VISIBLE_DEVICES``,
    ``HIP_VISIBLE_DEVICES``, ``CUDA_VISIBLE_DEVICES``, ``CAPABILITIES_SYSFS_ROOT``,
    ``AITER_JIT_DIR`` and ``HOME``. A change to any of them probes again; only a
    change to the files themselves needs ``refresh=True`` (or :func:`clear_cache`).

    A probe never raises on what it finds; arguments of the wrong type or value
    raise :class:`UsageError` naming the argument.
    """
    archs = check_archs(arch)
    for name, value in (("runtime", runtime), ("refresh", refresh), ("isolated", isolated)):
        if not isinstance(value, bool):
            raise UsageError(f"probe({name}=...) must be True or False, not {type(value).__name__} {value!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or math.isnan(timeout) or timeout <= 0:
        raise UsageError(f"probe(timeout=...) must be a positive number of seconds (math.inf for none), not {timeout!r}")
    path = None if aiter_path is None else check_aiter_path(aiter_path)
    isolated = bool(runtime and isolated)  # without the runtime probe there is nothing to isolate
    inputs = _facts.Inputs.now()
    key = (runtime, isolated, path, float(timeout) if isolated else None, archs, inputs)
    if not refresh:
        cached = _cache.get(key)
        if cached is not None:
            return cached
    with _locks_lock:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:  # one probe per key at a time; other keys are not held up by a slow one
        if not refresh and key in _cache:
            return _cache[key]
        facts = _facts.collect(runtime=runtime, isolated=isolated, aiter_path=path, timeout=float(timeout), arch=archs, inputs=inputs)
        report = _cache[key] = from_facts(facts)
        if facts.resolver is not None:
            attach_resolver(report, facts.resolver)
        return report


def check_aiter_path(raw: object, option: str = "aiter_path") -> str:
    """``aiter_path`` as an absolute folder name; a non-folder is a :class:`UsageError`
    (``option`` names the argument in the message, e.g. ``--aiter-path``)."""
    if not isinstance(raw, (str, os.PathLike)):
        raise UsageError(f"{option} must be a folder name (str or os.PathLike), not {type(raw).__name__}")
    text = os.fspath(raw)
    if not isinstance(text, str) or not text:
        raise UsageError(f"{option} must name a folder (one holding aiter/), not an empty string")
    folder = Path(text)
    try:
        os.listdir(folder)
    except NotADirectoryError:
        raise UsageError(f"{option} {text!r} is not a folder") from None
    except FileNotFoundError:
        raise UsageError(f"{option} {text!r} does not exist") from None
    except OSError as exc:
        raise UsageError(f"{option} {text!r} cannot be read: {exc.strerror or exc}") from None
    if folder.name == "aiter" and (folder / "__init__.py").exists() and not (folder / "aiter").exists():
        raise UsageError(f"{option} {text!r} is the aiter package itself; pass the folder that holds it: {str(folder.parent)!r}")
    return str(folder.resolve())


# The architectures AITER builds for: the values of GFX_MAP in aiter/jit/utils/build_targets.py
# (chip_info.py before), every release from v0.1.5 to v0.1.20.post1 and HEAD, "native" aside.
AITER_ARCHS = (
    "gfx908", "gfx90a", "gfx940", "gfx941", "gfx942", "gfx945", "gfx950",
    "gfx1100", "gfx1101", "gfx1102", "gfx1103", "gfx1150", "gfx1151", "gfx1152", "gfx1153",
    "gfx1200", "gfx1201", "gfx1250",
)  # fmt: skip


def no_aiter_in(folder: str, option: str = "--aiter-path") -> str:
    """What to say of a folder named as an AITER in which the import system finds no ``aiter``:
    most likely a mistyped path, so the fix is the path, not an install."""
    near = sorted(str(p.parent.parent) for p in Path(folder).glob("*/aiter/__init__.py"))[:3]
    hint = f"; the folder that holds it may be {' or '.join(map(repr, near))}" if near else ""
    return f"{option} {folder!r} holds no aiter package (no aiter/ in it, nor a .pth or editable install naming one){hint}; pass the folder that holds aiter/"


def check_archs(arch: object, option: str = "arch") -> tuple[str, ...]:
    """``"gfx942"`` or ``["gfx942", "gfx950"]`` as a sorted tuple; anything else is a UsageError."""
    if arch is None:
        names: list[object] = []
    elif isinstance(arch, str):
        names = [arch]
    elif isinstance(arch, (list, tuple, set, frozenset)):
        names = list(arch)
    else:
        raise UsageError(f"{option} must be an arch name such as 'gfx942', or a list of them, not {type(arch).__name__} {arch!r}")
    bad = [n for n in names if not isinstance(n, str) or not re.fullmatch(r"gfx[0-9a-f]{3,4}", n)]
    if bad:
        raise UsageError(f"{option} names look like 'gfx942' or 'gfx90a', not {', '.join(map(repr, bad))}")
    unknown = [n for n in names if n not in AITER_ARCHS]
    if unknown:
        hints = "".join(did_you_mean(str(n), AITER_ARCHS) for n in unknown)
        raise UsageError(
            f"{option}: AITER knows no architecture {', '.join(map(repr, unknown))}{hints}; it knows {', '.join(AITER_ARCHS)}"
        )
    return tuple(sorted(set(names)))  # type: ignore[arg-type]


def clear_cache() -> None:
    """Forget every cached report (tests, hot reload)."""
    with _locks_lock:
        _cache.clear()
