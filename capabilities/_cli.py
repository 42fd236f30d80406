"""``python -m capabilities``: the report, for people and machines, and a deployment gate.

Exit codes: 0 a report was produced (whatever state AITER is in); 1 a
``--require``d feature is not supported, a ``--require-prebuilt`` module is not
built, or ``--compare``d reports differ in a feature; 2 usage error (or a saved
report that cannot be read).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from ._errors import NotPrebuiltError
from ._gate import require_prebuilt, unsupported_error
from ._model import AiterStatus, Support
from ._registry import DEFAULT_TIMEOUT, check_archs, probe
from ._report import CapabilityReport

EXIT_OK, EXIT_UNSUPPORTED, EXIT_USAGE = 0, 1, 2
INSTALL = "pip install amd-aiter"


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


def _parser() -> _Parser:
    p = _Parser(
        prog="python -m capabilities",
        description="Report what the installed AITER (amd-aiter) offers to fused_moe callers.",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument(
        "--require",
        metavar="A,B",
        action="append",
        default=[],
        help="exit 1 unless every named feature is supported (e.g. no_combine,QuantType.per_1x32); repeatable",
    )
    p.add_argument(
        "--import",
        dest="runtime",
        action="store_true",
        help="also import aiter.fused_moe (in a child process) and read its signature",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"time limit of --import in seconds (default {DEFAULT_TIMEOUT:g}; 'inf' for none)",
    )
    p.add_argument("--aiter-path", metavar="DIR", help="probe the AITER in DIR (a folder holding aiter/)")
    p.add_argument(
        "--arch",
        metavar="GFX[,GFX]",
        action="append",
        default=[],
        help="decide the hardware features for these GPU architectures (e.g. gfx942) instead of the live GPUs",
    )
    p.add_argument(
        "--require-prebuilt",
        metavar="MOD[,MOD]",
        action="append",
        default=[],
        help="exit 1 unless these JIT modules are built already for the live or --arch architectures",
    )
    p.add_argument(
        "--compare",
        nargs=2,
        metavar=("A.json", "B.json"),
        help="compare two saved --json reports; exit 1 when any feature differs",
    )
    return p


def _check_aiter_path(raw: str | None) -> None:
    if raw is None:
        return
    if not raw:
        raise _UsageError("--aiter-path needs a folder (one holding aiter/), not an empty string")
    path = Path(raw)
    if not path.is_dir():
        raise _UsageError(f"--aiter-path {raw!r} is not a folder")
    if not (path / "aiter").exists() and path.name == "aiter" and (path / "__init__.py").exists():
        raise _UsageError(f"--aiter-path {raw!r} is the aiter package itself; pass the folder that holds it: {str(path.parent)!r}")


def _names(option: str, raw: list[str]) -> list[str]:
    names = [n.strip() for value in raw for n in value.split(",")]
    if not all(names):
        raise _UsageError(f"{option} takes comma-separated names, got {','.join(raw)!r}")
    return names


def _parse(parser: _Parser, argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    args = parser.parse_args(argv)
    required = _names("--require", args.require)
    args.require_prebuilt = _names("--require-prebuilt", args.require_prebuilt)
    try:
        args.arch = check_archs(_names("--arch", args.arch))
    except ValueError as exc:
        raise _UsageError(f"--arch: {exc}") from None
    if math.isnan(args.timeout) or args.timeout <= 0:
        raise _UsageError(f"--timeout must be a positive number of seconds, not {args.timeout:g}")
    _check_aiter_path(args.aiter_path)
    if args.compare and (args.runtime or args.aiter_path or args.require or args.arch or args.require_prebuilt):
        raise _UsageError("--compare reads two saved reports; it takes no --import, --aiter-path, --arch or --require*")
    return args, required


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out = sys.stdout if stdout is None else stdout
    err = sys.stderr if stderr is None else stderr
    parser = _parser()
    try:
        args, required = _parse(parser, argv)
    except _UsageError as exc:
        parser.print_usage(err)
        print(f"{parser.prog}: error: {exc}", file=err)
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return int(exc.code or 0)

    if args.compare:
        from ._compare import compare_files

        return _quiet_on_closed_pipe(lambda: compare_files(args.compare[0], args.compare[1], out=out, err=err, as_json=args.json))

    report = probe(runtime=args.runtime, isolated=True, timeout=args.timeout, aiter_path=args.aiter_path, arch=args.arch)
    text = json.dumps(report.model_dump(mode="json"), indent=2) + "\n" if args.json else render(report)
    messages = []
    missing = [n for n in required if report.support(n) is not Support.SUPPORTED]
    if missing:
        messages.append(str(unsupported_error(report, missing, requested_by="--require")))
    if args.require_prebuilt:
        try:
            require_prebuilt(*args.require_prebuilt, report=report)
        except NotPrebuiltError as exc:
            messages.append(str(exc))

    def write() -> int:
        out.write(text)
        out.flush()
        for message in messages:
            print(message, file=err)
        return EXIT_UNSUPPORTED if messages else EXIT_OK

    return _quiet_on_closed_pipe(write)


def _quiet_on_closed_pipe(write: Callable[[], int]) -> int:
    """Run ``write``; a reader that went away (``| head``) ends the output quietly."""
    try:
        return write()
    except BrokenPipeError:
        # Python would complain again when it flushes stdout at exit: point it at /dev/null.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


def _kv(rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "".join(f"{k.ljust(width)} : {v}\n" for k, v in rows)


def _answer(report: CapabilityReport) -> list[tuple[str, str]]:
    """The first lines: what is there and what it offers, before any detail."""
    a, fm = report.aiter, report.fused_moe
    if a.status in (AiterStatus.ABSENT, AiterStatus.IMPOSTOR):
        what = "AITER is not installed" if a.status is AiterStatus.ABSENT else f"no AMD AITER: {a.describe()} is an impostor"
        return [("answer", f"{what}; no feature is supported"), ("why", a.detail), ("install", INSTALL)]
    counts = {s: 0 for s in Support}
    for f in report.features.values():
        counts[f.support] += 1
    sig = "unknown" if fm is None else f"{len(fm.parameters)} parameters, from the {fm.source.replace('_', ' ')}"
    summary = ", ".join(f"{counts[s]} {s.value}" for s in Support)
    return [("answer", f"{a.describe()} ({a.status.value}); fused_moe: {sig}; features: {summary}")]


def render(report: CapabilityReport) -> str:
    """The text report, like ``collect_env``: the answer, then aligned ``key : value`` details,
    then the parameters and one line per feature (left out when there is no AITER to describe)."""
    a, ev, env = report.aiter, report.evidence, report.environment
    rows = _answer(report)
    rows += [
        ("aiter status", a.status.value),
        ("distribution", a.distribution or "-"),
        ("version", (a.version or "-") + ("" if a.version_valid else " (not PEP 440)")),
        ("location", a.location or "-"),
        ("decided by", a.rule),
    ]
    if a.status in (AiterStatus.ABSENT, AiterStatus.IMPOSTOR):
        rows += [("python", env.python), ("torch", env.torch or "not installed"), ("platform", env.platform)]
        return _kv(rows) + "\nRun with --json for every feature's answer.\n"
    rows += [
        ("import error", a.import_error or "-"),
        ("detail", a.detail),
        ("fused_moe module", ev.module or "-"),
        ("static probe", "ok" if ev.static.error is None else ev.static.error),
        ("runtime probe", "not run" if ev.runtime is None else (ev.runtime.error or "ok")),
    ]
    if ev.disagreement:
        rows.append(("disagreement", ev.disagreement))
    if ev.unknown_reason:
        rows.append(("signature unknown", ev.unknown_reason))
    rows.append(("enum header", ev.enum_header or (ev.enum_error or "-")))
    rows += [(name, ", ".join(members)) for name, members in report.enums.items()]
    rows += [(f"problem {i}", p) for i, p in enumerate(ev.problems, 1)]
    rows += [("python", env.python), ("torch", env.torch or "not installed"), ("platform", env.platform)]
    text = _kv(rows)
    fm = report.fused_moe
    if fm is not None:
        text += "\nfused_moe parameters:\n"
        width = max((len(p.name) for p in fm.parameters), default=0)
        for p in fm.parameters:
            default = "" if p.default is None else f" = {p.default}"
            text += f"  {p.name.ljust(width)}  {p.kind.value}{default}\n"
    text += "\nfeatures (of the build):\n"
    width = max(len(n) for n in report.features)
    for name, f in report.features.items():
        note = _NOTES.get(name, "") if f.support is not Support.SUPPORTED else ""
        text += f"  {f.support.value.ljust(11)}  {name.ljust(width)}  {f.detail}{note}\n"
    return text + _entry_points(report) + _hardware(report)


def _entry_points(report: CapabilityReport) -> str:
    """One line per entry point: status, parameter count, the catalogued features it lacks."""
    if not report.entry_points:
        return ""
    from ._entry_catalog import ENTRY_POINTS

    text = "\nentry points (--json has every parameter):\n"
    width = max(len(n) for n in report.entry_points)
    for dotted, ep in report.entry_points.items():
        short = dotted.rsplit(".", 1)[1]
        if ep.status != "resolved":
            text += f"  {dotted.ljust(width)}  {ep.status}: {ep.detail}\n"
            continue
        prefix = "" if short == "fused_moe" else f"{short}."
        catalogued = [p for p in ENTRY_POINTS.get(dotted, ("", {}))[1] if not re.fullmatch(r"arg\d+", p)]  # a stub release's names
        lacking = [p for p in catalogued if report.support(prefix + p) is not Support.SUPPORTED]
        ignored = [p.name for p in ep.parameters or () if p.used is False]
        extra = f"; lacks {', '.join(lacking)}" if lacking else ""
        extra += f"; ignores {', '.join(ignored)}" if ignored else ""
        text += f"  {dotted.ljust(width)}  resolved, {len(ep.parameters or ())} parameters in {ep.file}{extra}\n"
    return text


_NOTES = {
    "no_combine": " (runners.AiterRunnerCore emulates it through the same fused kernel: MoeRunnerConfig(no_combine=True))",
}


def _hardware(report: CapabilityReport) -> str:
    """GPUs, the archs requests are checked for, kernels per arch, and JIT readiness."""
    archs, jit, kernels = report.archs, report.jit, report.kernels
    gpus = ", ".join(f"{g.index}: {g.arch}{'' if g.visible else ' (hidden)'}" for g in report.gpus) or "none found"
    rows = [
        ("gpus", gpus),
        ("checked for", (", ".join(archs.names) + " " if archs.names else "") + f"({archs.source}: {archs.detail})"),
        ("kernels", kernels.hsa_dir or (kernels.dispatch_error or "no assembly kernels shipped")),
    ]
    for arch, inv in report.kernels.inventory.items():
        moe = ", ".join(f"{f} {x.co_files}" for f, x in inv.families.items() if f.startswith("fmoe"))
        rows.append((f"  {arch}", f"{sum(x.co_files for x in inv.families.values())} .co files in {len(inv.families)} families; MoE: {moe or 'none'}; {inv.unparsed} MoE names unparsed"))
    declared = [e for e in kernels.dispatch_table if e.kernels == "declared_without_kernels"]
    for e in declared:
        rows.append(("declared only", f"{e.arch}: ({e.activation}, {e.quant_type}, {e.dtype}, {e.q_dtype_a}, {e.q_dtype_w}, g1u1={e.g1u1}) -> {e.api}: no kernel ships"))
    n = len(jit.modules)
    prebuilt = len(jit.prebuilt)
    if jit.error:
        rows.append(("jit", jit.error))
    elif prebuilt == 0:
        rows.append(("jit", f"0 of {n} modules prebuilt: the first call of each kernel compiles it"))
    else:
        rows.append(("jit", f"{prebuilt} of {n} modules prebuilt ({', '.join(jit.prebuilt)}); the others compile on first call"))
    text = "\nhardware:\n" + "".join("  " + line for line in _kv(rows).splitlines(keepends=True))
    if report.arch_features:
        text += "\nfeatures per architecture (QuantType, ActivationType):\n"
        for arch, features in report.arch_features.items():
            for name, f in features.items():
                text += f"  {arch}  {f.support.value.ljust(11)}  {name.ljust(24)}  {f.detail}\n"
    return text
