"""The text report: the answer on the first screen (:func:`summary`), every detail with ``-v``
(:func:`detail`). Aligned ``key : value`` lines a person can paste into a bug report."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._calls import plural
from ._catalog import Known
from .errors import did_you_mean
from ._entry_catalog import ENTRY_POINTS
from .model import AiterStatus, Feature, Support
from ._report import CapabilityReport
from ._sarif import counts as counted
from ._sarif import context, per_tree, site
from ._sarif import several as shared_sites

_MORE = "-v for every feature, parameter and entry point; --json for machines; --require NAME[,NAME] to gate"
_MORE_ABSENT = "-v for the environment (no feature to list without AITER); --json for machines; --aiter-path DIR for a tree"


def kv(rows: Sequence[tuple[str, str]]) -> str:
    width = max((len(k) for k, _ in rows), default=0)
    return "".join(f"{k.ljust(width)} : {v}\n" for k, v in rows)


def _short(detail: str, limit: int = 150) -> str:
    return detail if len(detail) <= limit else detail[: limit - 3].rstrip() + "..."


def identity_row(report: CapabilityReport) -> tuple[str, str]:
    a = report.aiter
    where = f" at {a.location}" if a.location else ""
    return "aiter", f"{a.describe()} ({a.status.value}){where}"


def counts(report: CapabilityReport) -> dict[Support, int]:
    """How many features are each answer, as ``report.feature()`` answers them for its archs."""
    out = {s: 0 for s in Support}
    for name in report.features:
        out[report.support(name)] += 1
    return out


def _headline(report: CapabilityReport) -> list[tuple[str, str]]:
    a, fm = report.aiter, report.fused_moe
    if not a.is_aiter:
        what = "AITER is not installed" if a.status is AiterStatus.ABSENT else f"no AMD AITER: {a.describe()} is an impostor"
        why = "; ".join(c for c in a.detail.split("; ") if a.install_hint not in c) or a.detail  # the fix has its own row
        return [("answer", f"{what}; no feature is supported"), ("why", _short(why, 300)), ("fix", a.install_hint)]
    c = counts(report)
    sig = "signature unknown" if fm is None else f"{len(fm.parameters)} parameters ({fm.source.replace('_', ' ')})"
    archs = report.archs.names
    scope = f"for {', '.join(archs)}" if archs else "for the build, no architecture checked"
    eps = report.entry_points
    present = sum(1 for ep in eps.values() if ep.status == "resolved")
    rows = [("answer", f"{present} of {len(eps)} entry points present; fused_moe: {sig}; features ({scope}): " + ", ".join(f"{c[s]} {s.value}" for s in Support))]
    if a.status is AiterStatus.IMPORT_FAILED:
        rows.append(("import", _short(f"failed: {a.import_error}; the answers come from the source")))
    elif a.status is AiterStatus.UNREADABLE:
        rows.append(("unreadable", _short(a.detail)))
    rows.append(("no_combine", _no_combine(report)))
    return rows


def _no_combine(report: CapabilityReport) -> str:
    """How no_combine is served: natively, or emulated by the runner and why."""
    nc = report.feature("no_combine")
    runner = "runners.AiterRunnerCore emulates it through the same fused kernel"
    if nc.support is Support.SUPPORTED and nc.used is not False:
        return "native (fused_moe takes it and reads it)" if nc.used else "native (fused_moe takes it)"
    if nc.support is Support.SUPPORTED:
        return f"emulated (fused_moe takes it, never reads it); {runner}"
    lacks = "fused_moe lacks it" if nc.support is Support.UNSUPPORTED else "whether fused_moe serves it is unknown"
    return f"emulated ({lacks}): {nc.support.value} natively; {runner}"


def _arch_rows(report: CapabilityReport) -> list[tuple[str, str]]:
    """One line per architecture considered: what is unsupported there and why, in short."""
    rows: list[tuple[str, str]] = []
    archs = report.archs
    considered = archs.names or tuple(report.arch_features)
    if archs.source in ("undecided", "hidden"):
        rows.append(("gpus", _short(f"{archs.source}: {archs.detail}", 220)))
    for arch in considered:
        answers = report.arch_features.get(arch, {})
        bad = [(n, f) for n, f in answers.items() if f.support is Support.UNSUPPORTED and report.features.get(n, f).support is Support.SUPPORTED]
        unknown = sum(1 for f in answers.values() if f.support is Support.UNKNOWN)
        parts = [f"{_FAMILY.get(n, n.split('.', 1)[1])}: unsupported on {arch} ({_cause(f)})" for n, f in bad]
        if unknown:
            parts.append(f"{unknown} unknown (no 1-stage kernel ships; the CK path compiles at first use)")
        rows.append((arch, "; ".join(parts) if parts else "every member the build has is served by shipped kernels"))
    return rows


# What a person calls a quant type's MoE (the per-arch line names it so).
_FAMILY = {"QuantType.per_1x32": "MXFP4 MoE (per_1x32)"}


def _cause(f: Feature) -> str:
    if f.source == "upstream_rule":
        return "no kernels ship, and an upstream rule says none can: it needs gfx950"
    return _short(f.detail.split(": ", 1)[-1], 80)


def _jit_row(report: CapabilityReport) -> tuple[str, str]:
    jit = report.jit
    n, built = len(jit.modules), len(jit.prebuilt)
    if jit.error:
        return "jit", _short(jit.error)
    if not n:
        return "jit", "no JIT modules are listed"
    if built == 0:
        return "jit", f"0 of {n} modules prebuilt: the first call of each kernel compiles it (minutes)"
    return "jit", f"{built} of {n} modules prebuilt; the others compile on their first call"


def _where_rows(report: CapabilityReport) -> list[tuple[str, str]]:
    archs = report.archs
    gpus = ", ".join(f"{g.index}: {g.arch}{'' if g.visible else ' (hidden)'}" for g in report.gpus) or "none found"
    if archs.source == "none":
        checked = f"no GPU here: answers are for the build; per-arch answers are listed for {', '.join(report.arch_features) or 'no arch'} (name one with --arch)"
    else:
        checked = f"{', '.join(archs.names) or 'none'} ({archs.source})"
    return [("gpus", gpus), ("checked for", _short(checked, 200))]


def summary(report: CapabilityReport, verdict: Sequence[tuple[str, str]] = ()) -> str:
    """The first screen: who, then the verdict on what was asked (and the archs it holds for),
    or else the headline, each arch in a line and JIT readiness; and how to see more. At
    most 25 lines for any AITER."""
    rows = [identity_row(report)]
    rows += list(verdict) if verdict else _headline(report)
    if report.aiter.is_aiter and verdict:
        rows += [r for r in _where_rows(report) if r[0] == "checked for"]  # what the verdict holds for
    elif report.aiter.is_aiter:
        rows += _where_rows(report)
        rows += _arch_rows(report)[:8]
        rows.append(_jit_row(report))
        problems = report.evidence.problems
        if problems:
            rows.append(("problems", f"{len(problems)} file(s) could not be read, e.g. {_short(problems[0], 120)} (-v lists them)"))
    rows.append(("more", _MORE if report.aiter.is_aiter else _MORE_ABSENT))
    return kv(rows[:25])


def verdict_rows(report: CapabilityReport, required: Sequence[str], missing: Sequence[str], unbuilt: Sequence[str]) -> list[tuple[str, str]]:
    """What ``--require`` / ``--require-prebuilt`` asked and the answer, with each reason in short."""
    rows: list[tuple[str, str]] = []
    if required:
        ok = len(required) - len(missing)
        rows.append(("require", f"{ok} of {len(required)} supported" + (f"; not: {', '.join(missing)}" if missing else "")))
        for name in list(missing)[:6]:
            f = report.feature(name)
            rows.append((f"  {name}", _short(f"{f.support.value}: {f.detail}", 160)))
    jit = report.jit.modules
    listed = [m for m in unbuilt if m in jit]
    if listed:
        rows.append(("prebuilt", f"not prebuilt: {', '.join(listed)} (the first call compiles them)"))
    for name in (m for m in unbuilt if m not in jit):
        offer = did_you_mean(name, jit) or f" ({len(jit)} modules are listed)"
        rows.append(("prebuilt", _short(f"{name}: not a JIT module of {report.aiter.describe()}{offer}", 160)))
    rows.append(("verdict", "fail (exit 1): see the error below" if (missing or unbuilt) else "pass (exit 0)"))
    return rows


# --- -v: every detail ------------------------------------------------------------------


def detail(report: CapabilityReport) -> str:
    """Every detail: identity, evidence, the parameters, one line per feature, the entry
    points and the hardware (left out when there is no AITER to describe)."""
    a, ev, env = report.aiter, report.evidence, report.environment
    rows = [identity_row(report), *_headline(report)]
    rows += [
        ("aiter status", a.status.value),
        ("distribution", a.distribution or "-"),
        ("version", (a.version or "-") + ("" if a.version_valid else " (not PEP 440)")),
        ("location", a.location or "-"),
        ("decided by", a.rule),
    ]
    if not a.is_aiter:
        rows += [("python", env.python), ("torch", env.torch or "not installed"), ("platform", env.platform)]
        rows.append(("features", "none listed: there is no AITER to read them from"))
        return kv(rows)
    rows += [
        ("import error", a.import_error or "-"),
        ("detail", a.detail),
        ("fused_moe module", ev.module or "-"),
        ("static probe", "ok" if ev.static.error is None else ev.static.error),
        ("runtime probe", "not run" if ev.runtime is None else (ev.runtime.error or "ok")),
    ]
    if ev.static.note:
        rows.append(("note", ev.static.note))
    if ev.disagreement:
        rows.append(("disagreement", ev.disagreement))
    if ev.unknown_reason:
        rows.append(("signature unknown", ev.unknown_reason))
    rows.append(("enum header", ev.enum_header or (ev.enum_error or "-")))
    rows += [(name, ", ".join(members)) for name, members in report.enums.items()]
    rows += [(f"problem {i}", p) for i, p in enumerate(ev.problems, 1)]
    rows += [("python", env.python), ("torch", env.torch or "not installed"), ("platform", env.platform)]
    text = kv(rows)
    fm = report.fused_moe
    if fm is not None:
        text += "\nfused_moe parameters:\n"
        width = max((len(p.name) for p in fm.parameters), default=0)
        for p in fm.parameters:
            default = "" if p.default is None else f" = {p.default}"
            ignored = "  (accepted, never read)" if p.used is False else ""
            text += f"  {p.name.ljust(width)}  {p.kind.value}{default}{ignored}\n"
    text += "\nfeatures (as checked for the archs above):\n"
    width = max(len(n) for n in report.features)
    for name in report.features:
        f = report.feature(name)
        text += f"  {f.support.value.ljust(11)}  {name.ljust(width)}  {f.detail}\n"
    return text + _entry_points(report) + _hardware(report)


def _entry_points(report: CapabilityReport) -> str:
    """One line per entry point: status, parameter count, the catalogued features it lacks."""
    if not report.entry_points:
        return ""
    text = "\nentry points (--json has every parameter):\n"
    width = max(len(n) for n in report.entry_points)
    for dotted, ep in report.entry_points.items():
        short = dotted.rsplit(".", 1)[1]
        if ep.status != "resolved":
            text += f"  {dotted.ljust(width)}  {ep.status}: {ep.detail}\n"
            continue
        prefix = "" if short == "fused_moe" else f"{short}."
        catalogued = [p for p, span in ENTRY_POINTS.get(dotted, (("", ""), {}))[1].items() if not Known(p, *span).removed]
        lacking = [p for p in catalogued if report.support(prefix + p) is Support.UNSUPPORTED]
        ignored = [p.name for p in ep.parameters or () if p.used is False]
        extra = f"; lacks {', '.join(lacking)}" if lacking else ""
        extra += f"; ignores {', '.join(ignored)}" if ignored else ""
        text += f"  {dotted.ljust(width)}  resolved, {len(ep.parameters or ())} parameters in {ep.file}{extra}\n"
    return text


def _hardware(report: CapabilityReport) -> str:
    """GPUs, the archs requests are checked for, kernels per arch, and JIT readiness."""
    archs, jit, kernels = report.archs, report.jit, report.kernels
    rows = [
        *_where_rows(report),
        ("visibility", archs.detail),
        ("kernels", kernels.hsa_dir or (kernels.dispatch_error or "no assembly kernels shipped")),
    ]
    for g in report.gpus:
        rows.append((f"  gpu {g.index}", f"node {g.node}, {g.arch}, {g.compute_units or '?'} CUs, {g.uuid or 'no UUID'}{'' if g.visible else ', hidden'}"))
    for arch, inv in kernels.inventory.items():
        moe = ", ".join(f"{f} {x.co_files}" for f, x in inv.families.items() if f.startswith("fmoe"))
        total = sum(x.co_files for x in inv.families.values())
        rows.append((f"  {arch}", f"{total} .co files in {len(inv.families)} families; MoE: {moe or 'none'}; {inv.unparsed} MoE names unparsed"))
    for e in kernels.dispatch_table:
        if e.kernels == "declared_without_kernels":
            rows.append(("declared only", f"{e.arch}: ({e.activation}, {e.quant_type}, {e.dtype}, {e.q_dtype_a}, {e.q_dtype_w}, g1u1={e.g1u1}) -> {e.api}: no kernel ships"))
    rows.append(_jit_row(report))
    if jit.prebuilt:
        rows.append(("prebuilt", ", ".join(jit.prebuilt)))
    text = "\nhardware:\n" + "".join("  " + line for line in kv(rows).splitlines(keepends=True))
    if report.arch_features:
        members = ", ".join(sorted({n.split(".")[0] for fs in report.arch_features.values() for n in fs}))
        text += f"\nfeatures per architecture ({members}):\n"
        for arch, features in report.arch_features.items():
            for name, f in features.items():
                text += f"  {arch}  {f.support.value.ljust(11)}  {name.ljust(24)}  {f.detail}\n"
    return text


_LINE = 160  # a scan line's width at most; the whole reason stays in --json


def _once(why: str) -> str:
    """``why`` with each ``; ``-separated clause said once."""
    return "; ".join(dict.fromkeys(why.split("; ")))


def _fit(line: str) -> str:
    return line if len(line) <= _LINE else line[: _LINE - 3].rstrip() + "..."


def _reason(entry: dict[str, Any]) -> str:
    if entry["verdict"] == "ok":
        return ""
    why = _once(entry["why"])
    if entry["verdict"] == "fails" and entry.get("signature"):
        why += f"; it is {entry['signature']}" + (f" ({entry['defined_at']})" if entry.get("defined_at") else "")
    if entry["verdict"] == "fails" and not counted(entry):
        # guarded: the code tests AITER or handles the error; fallback: a handler that cannot run;
        # otherwise a branch that cannot run (its tests contradict each other). The reason says which.
        label = "guarded" if entry.get("guarded") else ("fallback" if entry.get("fallback") else "not counted")
        why = f"({label}) {why}"
    return why


def _rank(entry: dict[str, Any]) -> int:
    """0 a counted failure, 1 a failure the code expects or an unknown, 2 ok."""
    return 2 if entry["verdict"] == "ok" else (0 if counted(entry) else 1)


def scan_text(result: dict[str, Any], *, verbose: bool = False, quiet: bool = False) -> str:
    """The scan for people, as ruff and mypy print: the sites that need attention (``fails``
    and ``unknown``; every site with ``verbose``) grouped by file, files with a counted
    failure first, then the summary. ``quiet``: the summary only, and nothing when no call
    fails. With several trees each tree's verdict is a column, and each tree's own reason
    has its own line where the reasons differ."""
    calls, summary = result["calls"], result["summary"]
    trees = summary["trees"]
    several = len(trees) > 1
    failing = any(t["fails"] for t in trees)
    if quiet and not failing:
        return ""
    lines: list[str] = []
    by_file: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    shared = shared_sites(result)
    for c in calls:
        rank = min(_rank(per_tree(c, i)) for i in range(len(trees)))
        if verbose or rank < 2:
            by_file.setdefault(c["file"], []).append((rank, c))
    if not quiet:
        if several and by_file:
            lines.append(_fit("verdicts, one column per tree: " + " | ".join(f"[{i}] {t['tree']}" for i, t in enumerate(trees, 1))))
            lines.append("")
        for file in sorted(by_file, key=lambda f: (min(r for r, _ in by_file[f]), f)):
            lines.append(file)
            for _, c in sorted(by_file[file], key=lambda rc: (rc[0], rc[1]["line"], rc[1]["col"])):
                lines += _site_lines(c, len(trees), site(c) in shared)
            lines.append("")
        lines += [_fit(f"error: {e}") for e in summary["errors"]]
    parts = [f"{summary['files_read']} files read, {summary['files_parsed']} parsed, {plural(summary['sites'], 'AITER site')} ({plural(summary['calls'], 'call')})"]
    if summary["errors"]:
        parts.append(f"{plural(len(summary['errors']), 'file')} not read")
    tallies = []
    for i, t in enumerate(trees, 1):
        extra = f" (+{t['fails_not_counted']} fallback or guarded)" if t["fails_not_counted"] else ""
        tally = f"{t['fails']} fail{extra}, {t['unknown']} unknown, {t['ok']} ok"
        tallies.append(f"[{i}] {t['tree']} [{t['aiter']}]: {tally}" if several else f"{tally} on {t['aiter']}")
    if several:
        lines += [_fit(t) for t in tallies]
        parts.append(f"oldest tree on which every call binds: {summary['oldest_binding_tree'] or 'none'}")
        return "\n".join(lines + ["; ".join(parts)]) + "\n"  # the tree's name in full: it is the answer
    return "\n".join(lines + ["; ".join(parts) + ": " + tallies[0]]) + "\n"  # never cut: it is the answer


def _site_lines(c: dict[str, Any], n: int, several: bool) -> list[str]:
    entries = [per_tree(c, i) for i in range(n)]
    label = " | ".join(f"{e['verdict']:<7}" for e in entries)
    head = f"  {c['line']:>5}:{c['col'] + 1:<3} {label}  {c['kind']:<9} {c['target']}{context(c, several)}"
    reasons = list(dict.fromkeys(r for r in map(_reason, entries) if r))
    if len(reasons) <= 1:
        return [_fit(head + (f": {reasons[0]}" if reasons else ""))]
    return [_fit(head)] + [_fit(f"{' ' * 14}[{i}] {e['verdict']}: {_reason(e)}") for i, e in enumerate(entries, 1) if e["verdict"] != "ok"]
