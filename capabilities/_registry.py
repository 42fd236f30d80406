"""The registry: probe once per key, freeze, hand out the same report. Only the cache lives here."""

from __future__ import annotations

import os
import threading
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
) -> CapabilityReport:
    """What the installed AITER offers, probed once per process and cached.

    ``runtime=True`` also imports ``aiter.fused_moe`` and reads its signature
    (in this process, or in a child process with ``timeout`` seconds when
    ``isolated=True``); import failures are recorded in the report, not
    raised. The runtime reading is also taken by itself when ``aiter.fused_moe``
    is already imported. ``aiter_path`` probes the AITER in that folder (one
    holding ``aiter/``) instead of the installed one. ``refresh=True`` probes
    again and replaces the cached answer. A probe never raises.
    """
    path = None if aiter_path is None else str(Path(aiter_path).resolve())
    isolated = bool(runtime and isolated)  # without the runtime probe there is nothing to isolate
    key = (bool(runtime), isolated, path, timeout if isolated else None)
    if not refresh:
        cached = _cache.get(key)
        if cached is not None:
            return cached
    with _locks_lock:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:  # one probe per key at a time; other keys are not held up by a slow one
        if not refresh and key in _cache:
            return _cache[key]
        facts = _facts.collect(runtime=runtime, isolated=isolated, aiter_path=path, timeout=timeout)
        report = _cache[key] = from_facts(facts)
        return report


def clear_cache() -> None:
    """Forget every cached report (tests, hot reload)."""
    with _locks_lock:
        _cache.clear()
