"""``--compare A.json B.json``: a readable diff of two saved reports."""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Any, TextIO

import pydantic

from ._report import CapabilityReport


class ReportFileError(Exception):
    """A saved report that cannot be read back."""


def load(path: str) -> CapabilityReport:
    """A saved ``--json`` report. Parsed by ``json`` first: a report holds paths, and a
    path that is not UTF-8 is written as lone surrogate escapes, which pydantic's JSON
    parser rejects but Python strings carry."""
    try:
        data = json.loads(Path(path).read_bytes())
    except OSError as exc:
        raise ReportFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ReportFileError(f"{path} is not JSON (write it with 'python -m capabilities --json'): {exc}") from None
    try:
        return CapabilityReport.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ReportFileError(
            f"{path} is not a report of this version (write it with 'python -m capabilities --json'): "
            f"{exc.error_count()} problem(s), first: {exc.errors()[0]['msg']} at "
            f"{'.'.join(str(p) for p in exc.errors()[0]['loc']) or 'top level'}"
        ) from None


def _params(report: CapabilityReport) -> dict[str, tuple[str, str | None]]:
    fm = report.fused_moe
    return {} if fm is None else {p.name: (p.kind.value, p.default) for p in fm.parameters}


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def diff(a: CapabilityReport, b: CapabilityReport) -> tuple[list[str], list[str], list[str]]:
    """Lines of identity, parameter and feature differences (features: one line each)."""
    identity = [
        f"{field}: {_plain(getattr(a.aiter, field))} | {_plain(getattr(b.aiter, field))}"
        for field in ("status", "distribution", "version", "location", "import_error")
        if getattr(a.aiter, field) != getattr(b.aiter, field)
    ]
    pa, pb = _params(a), _params(b)
    if (a.fused_moe is None) != (b.fused_moe is None):
        params = [f"signature: {'unknown' if a.fused_moe is None else 'read'} | {'unknown' if b.fused_moe is None else 'read'}"]
    else:
        params = [f"only in A: {n}" for n in pa if n not in pb] + [f"only in B: {n}" for n in pb if n not in pa]
        params += [
            f"{n}: {pa[n][0]} = {pa[n][1]} | {pb[n][0]} = {pb[n][1]}" for n in pa if n in pb and pa[n] != pb[n]
        ]
        if not params and list(pa) != list(pb):
            params.append("the same parameters in another order")
    # Enum ordinals: code that hard-codes them breaks when a member is inserted mid-enum.
    for enum in sorted(set(a.enum_values) & set(b.enum_values)):
        va, vb = a.enum_values[enum], b.enum_values[enum]
        params += [f"{enum}.{m}: {va[m]} | {vb[m]}" for m in va if m in vb and va[m] != vb[m]]
    features = []
    for name in sorted(set(a.features) | set(b.features)):
        fa, fb = a.features.get(name), b.features.get(name)
        sa = "absent" if fa is None else fa.support.value
        sb = "absent" if fb is None else fb.support.value
        if sa != sb:
            features.append(f"{name}: {sa} | {sb}")
    return identity, params, features


def compare_files(path_a: str, path_b: str, *, out: TextIO, err: TextIO, as_json: bool = False) -> int:
    try:
        a, b = load(path_a), load(path_b)
    except ReportFileError as exc:
        print(f"python -m capabilities: error: {exc}", file=err)
        return 2
    identity, params, features = diff(a, b)
    if as_json:
        json.dump({"a": path_a, "b": path_b, "identity": identity, "parameters": params, "features": features}, out, indent=2)
        out.write("\n")
    else:
        out.write(f"A: {path_a}: {a.aiter.describe()} ({a.aiter.status.value})\n")
        out.write(f"B: {path_b}: {b.aiter.describe()} ({b.aiter.status.value})\n")
        for title, lines in (("identity", identity), ("fused_moe parameters and enum values", params), ("features", features)):
            out.write(f"\n{title}: {'same' if not lines else f'{len(lines)} difference(s), A | B'}\n")
            out.writelines(f"  {line}\n" for line in lines)
    return 1 if features else 0
