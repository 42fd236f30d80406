"""``--compare A.json B.json``: what differs between two saved reports, as each host answers.

Features are compared as ``report.feature()`` answers them, that is with each
report's own architectures folded in: one build on a gfx942 host and on a
gfx950 host answers ``QuantType.per_1x32`` differently, and that is a
difference. The per-architecture answers, the architectures checked for and
the visible GPUs are compared too.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
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
    except (ValueError, RecursionError) as exc:
        why = "nested too deeply to be a report" if isinstance(exc, RecursionError) else str(exc)
        raise ReportFileError(f"{path} is not JSON (write it with 'python -m capabilities --json'): {why}") from None
    try:
        return CapabilityReport.model_validate(data)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "top level"
        raise ReportFileError(
            f"{path} is not a report of this version (write it with 'python -m capabilities --json'): "
            f"{exc.error_count()} problem(s), first: {first['msg']} at {where}"
        ) from None
    except RecursionError:
        raise ReportFileError(f"{path} is nested too deeply to be a report") from None


Pair = dict[str, Any]  # {"a": ..., "b": ...}


@dataclass
class Diff:
    """Every difference, as values (``--compare --json`` prints this)."""

    identity: dict[str, Pair] = field(default_factory=dict)
    parameters: dict[str, Pair] = field(default_factory=dict)  # fused_moe: {"kind", "default"}, None where absent
    enum_values: dict[str, Pair] = field(default_factory=dict)
    features: dict[str, Pair] = field(default_factory=dict)  # as each report answers: support, or "absent"
    arch_features: dict[str, dict[str, Pair]] = field(default_factory=dict)
    archs: Pair | None = None
    gpus: Pair | None = None

    @property
    def answers_differ(self) -> bool:
        """Whether a gate (``--require``) could answer differently on the two hosts."""
        return bool(self.features or self.arch_features or self.archs)

    def as_json(self) -> dict[str, Any]:
        return {
            "identity": self.identity,
            "parameters": self.parameters,
            "enum_values": self.enum_values,
            "features": self.features,
            "arch_features": self.arch_features,
            "archs": self.archs,
            "gpus": self.gpus,
            "answers_differ": self.answers_differ,
        }


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _params(report: CapabilityReport) -> dict[str, dict[str, str | None]]:
    fm = report.fused_moe
    if fm is None:
        return {}
    return {p.name: {"kind": p.kind.value, "default": p.default} for p in fm.parameters}


def _gpus(report: CapabilityReport) -> list[dict[str, Any]]:
    return [{"index": g.index, "arch": g.arch, "uuid": g.uuid} for g in report.gpus if g.visible]


def diff(a: CapabilityReport, b: CapabilityReport) -> Diff:
    out = Diff()
    for name in ("status", "distribution", "version", "location", "import_error"):
        va, vb = _plain(getattr(a.aiter, name)), _plain(getattr(b.aiter, name))
        if va != vb:
            out.identity[name] = {"a": va, "b": vb}
    if (a.fused_moe is None) != (b.fused_moe is None):
        out.parameters["(signature)"] = {"a": "unknown" if a.fused_moe is None else "read", "b": "unknown" if b.fused_moe is None else "read"}
    else:
        pa, pb = _params(a), _params(b)
        for name in [*pa, *(n for n in pb if n not in pa)]:
            if pa.get(name) != pb.get(name):
                out.parameters[name] = {"a": pa.get(name), "b": pb.get(name)}
        if not out.parameters and list(pa) != list(pb):
            out.parameters["(order)"] = {"a": list(pa), "b": list(pb)}
    # Enum ordinals: code that hard-codes them breaks when a member is inserted mid-enum.
    for enum_name in sorted(set(a.enum_values) & set(b.enum_values)):
        va, vb = a.enum_values[enum_name], b.enum_values[enum_name]
        for member in va:
            if member in vb and va[member] != vb[member]:
                out.enum_values[f"{enum_name}.{member}"] = {"a": va[member], "b": vb[member]}
    names = sorted({*a.features, *b.features, *(n for r in (a, b) for fs in r.arch_features.values() for n in fs)})
    for name in names:
        sa = a.support(name).value if name in a.features or _per_arch(a, name) else "absent"
        sb = b.support(name).value if name in b.features or _per_arch(b, name) else "absent"
        if sa != sb:
            out.features[name] = {"a": sa, "b": sb}
    for arch in sorted({*a.arch_features, *b.arch_features}):
        fa, fb = a.arch_features.get(arch, {}), b.arch_features.get(arch, {})
        changed = {}
        for name in sorted({*fa, *fb}):
            sa = fa[name].support.value if name in fa else "not decided"
            sb = fb[name].support.value if name in fb else "not decided"
            if sa != sb:
                changed[name] = {"a": sa, "b": sb}
        if changed:
            out.arch_features[arch] = changed
    if (a.archs.names, a.archs.source) != (b.archs.names, b.archs.source):
        out.archs = {"a": {"names": list(a.archs.names), "source": a.archs.source}, "b": {"names": list(b.archs.names), "source": b.archs.source}}
    if _gpus(a) != _gpus(b):
        out.gpus = {"a": _gpus(a), "b": _gpus(b)}
    return out


def _per_arch(report: CapabilityReport, name: str) -> bool:
    return any(name in fs for fs in report.arch_features.values())


def _show(value: Any) -> str:
    """A value of the diff as text (the diff itself holds values, for --json)."""
    if isinstance(value, dict) and "names" in value:
        return f"{', '.join(value['names']) or 'none'} ({value['source']})"
    if isinstance(value, dict) and "kind" in value:
        return str(value["kind"]) + ("" if value["default"] is None else f" = {value['default']}")
    if isinstance(value, dict) and "arch" in value:
        return f"{value['index']}: {value['arch']}" + (f" {value['uuid']}" if value["uuid"] else "")
    if isinstance(value, list):
        return "; ".join(_show(v) for v in value) or "none"
    return "absent" if value is None else str(value)


def render(d: Diff, a: CapabilityReport, b: CapabilityReport, path_a: str, path_b: str) -> str:
    lines = [
        f"A: {path_a}: {a.aiter.describe()} ({a.aiter.status.value}), checked for {_show({'names': a.archs.names, 'source': a.archs.source})}",
        f"B: {path_b}: {b.aiter.describe()} ({b.aiter.status.value}), checked for {_show({'names': b.archs.names, 'source': b.archs.source})}",
    ]
    sections: list[tuple[str, dict[str, Pair]]] = [
        ("features (as each host answers them)", d.features),
        ("identity", d.identity),
        ("fused_moe parameters", d.parameters),
        ("enum values", d.enum_values),
        ("architectures checked for", {"archs": d.archs} if d.archs else {}),
        ("visible GPUs", {"gpus": d.gpus} if d.gpus else {}),
    ]
    for arch, changed in d.arch_features.items():
        sections.append((f"answers for {arch}", changed))
    for title, rows in sections:
        lines.append("")
        lines.append(f"{title}: {'same' if not rows else f'{len(rows)} difference(s), A | B'}")
        lines += [f"  {name}: {_show(pair['a'])} | {_show(pair['b'])}" for name, pair in rows.items()]
    verdict = "a gate can answer differently on these two" if d.answers_differ else "every answer is the same"
    return "\n".join(lines) + f"\n\n{verdict}\n"


def compare_files(path_a: str, path_b: str, *, out: TextIO, err: TextIO, as_json: bool = False) -> int:
    try:
        a, b = load(path_a), load(path_b)
    except ReportFileError as exc:
        print(f"python -m capabilities: error: {exc}", file=err)
        return 2
    d = diff(a, b)
    if as_json:
        out.write(json.dumps({"a": path_a, "b": path_b, **d.as_json()}, indent=2, ensure_ascii=True) + "\n")
    else:
        out.write(render(d, a, b, path_a, path_b))
    return 1 if d.answers_differ else 0
