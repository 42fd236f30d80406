"""The registry: probe once per key, freeze, hand out the same report. Only the cache lives here."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path

from . import _facts
from ._report import CapabilityReport, from_facts

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
    holding ``aiter/``) instead of the installed one. ``refresh=True`` probes
    again and replaces the cached answer. ``arch`` ("gfx942" or several) decides
    the hardware features for those architectures instead of the live GPUs, e.g.
    to check a deployment from a build host. A probe never raises on what it
    finds; only a malformed ``arch`` name is a ``ValueError``.
    """
    archs = check_archs(arch)
    path = None if aiter_path is None else str(Path(aiter_path).resolve())
    isolated = bool(runtime and isolated)  # without the runtime probe there is nothing to isolate
    key = (bool(runtime), isolated, path, timeout if isolated else None, archs)
    if not refresh:
        cached = _cache.get(key)
        if cached is not None:
            return cached
    with _locks_lock:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:  # one probe per key at a time; other keys are not held up by a slow one
        if not refresh and key in _cache:
            return _cache[key]
        facts = _facts.collect(runtime=runtime, isolated=isolated, aiter_path=path, timeout=timeout, arch=archs)
        report = _cache[key] = from_facts(facts)
        return report


def check_archs(arch: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"gfx942"`` or ``["gfx942", "gfx950"]`` as a sorted tuple; a malformed name is a ValueError."""
    names = [] if arch is None else [arch] if isinstance(arch, str) else list(arch)
    bad = [n for n in names if not isinstance(n, str) or not re.fullmatch(r"gfx[0-9a-f]{3,4}", n)]
    if bad:
        raise ValueError(f"arch names look like 'gfx942' or 'gfx90a', not {', '.join(map(repr, bad))}")
    return tuple(sorted(set(names)))


def clear_cache() -> None:
    """Forget every cached report (tests, hot reload)."""
    with _locks_lock:
        _cache.clear()
