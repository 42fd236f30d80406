"""``python -m capabilities``: the report, for people and machines, and a deployment gate.

Exit codes: 0 a report was produced (whatever state AITER is in); 1 a
``--require``d feature is not supported, or ``--compare``d reports differ;
2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from ._model import CapabilityReport, Support
from ._registry import DEFAULT_TIMEOUT, explain, probe

EXIT_OK, EXIT_UNSUPPORTED, EXIT_USAGE = 0, 1, 2


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
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
        help="exit 1 unless every named feature is supported (e.g. no_combine,QuantType.per_1x32)",
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
        help=f"time limit of --import in seconds (default {DEFAULT_TIMEOUT:g})",
    )
    p.add_argument("--aiter-path", metavar="DIR", help="probe the AITER in DIR (a folder holding aiter/)")
    p.add_argument(
        "--compare",
        nargs=2,
        metavar=("A.json", "B.json"),
        help="compare two saved --json reports; exit 1 when any feature differs",
    )
    return p


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out = sys.stdout if stdout is None else stdout
    err = sys.stderr if stderr is None else stderr
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        required = _parse_require(args.require)
        if not args.timeout > 0:
            raise _UsageError(f"--timeout must be a positive number of seconds, not {args.timeout:g}")
        if args.aiter_path is not None and not Path(args.aiter_path).is_dir():
            raise _UsageError(f"--aiter-path {args.aiter_path!r} is not a folder")
        if args.compare and (args.runtime or args.aiter_path or args.require):
            raise _UsageError("--compare reads two saved reports; it takes no --import, --aiter-path or --require")
    except _UsageError as exc:
        parser.print_usage(err)
        print(f"{parser.prog}: error: {exc}", file=err)
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return int(exc.code or 0)

    if args.compare:
        from ._compare import compare_files

        return compare_files(args.compare[0], args.compare[1], out=out, err=err, as_json=args.json)

    report = probe(runtime=args.runtime, isolated=True, timeout=args.timeout, aiter_path=args.aiter_path)
    if args.json:
        json.dump(report.model_dump(mode="json"), out, indent=2)
        out.write("\n")
    else:
        out.write(render(report))
    missing = [n for n in required if report.support(n) is not Support.SUPPORTED]
    if missing:
        print(f"required feature(s) not supported by {report.aiter.describe()}:", file=err)
        for name in missing:
            print("  " + explain(report, name), file=err)
        if report.aiter.status.value == "impostor":
            print("  AMD's AITER is the distribution 'amd-aiter'; the distribution 'aiter' is unrelated.", file=err)
        return EXIT_UNSUPPORTED
    return EXIT_OK


def _parse_require(raw: str | None) -> list[str]:
    if raw is None:
        return []
    names = [n.strip() for n in raw.split(",")]
    if not all(names):
        raise _UsageError(f"--require takes comma-separated feature names, got {raw!r}")
    return names


def _kv(rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "".join(f"{k.ljust(width)} : {v}\n" for k, v in rows)


def render(report: CapabilityReport) -> str:
    """The text report: aligned ``key : value`` lines, then one line per feature."""
    a, ev, env = report.aiter, report.evidence, report.environment
    fm = report.fused_moe
    rows = [
        ("schema version", str(report.schema_version)),
        ("aiter status", a.status.value),
        ("distribution", a.distribution or "-"),
        ("version", (a.version or "-") + ("" if a.version_valid else " (not PEP 440)")),
        ("location", a.location or "-"),
        ("import error", a.import_error or "-"),
        ("detail", a.detail),
        ("fused_moe", "unknown" if fm is None else f"{len(fm.parameters)} parameters, from the {fm.source.replace('_', ' ')}"),
        ("static probe", "ok" if ev.static.error is None else ev.static.error),
        ("runtime probe", "not run" if ev.runtime is None else (ev.runtime.error or "ok")),
    ]
    if ev.disagreement:
        rows.append(("disagreement", ev.disagreement))
    rows.append(("enum header", ev.enum_header or (ev.enum_error or "-")))
    rows += [(name, ", ".join(members)) for name, members in report.enums.items()]
    rows += [("python", env.python), ("torch", env.torch or "not installed"), ("platform", env.platform)]
    text = _kv(rows)
    if fm is not None:
        text += "\nfused_moe parameters:\n"
        width = max((len(p.name) for p in fm.parameters), default=0)
        for p in fm.parameters:
            default = "" if p.default is None else f" = {p.default}"
            text += f"  {p.name.ljust(width)}  {p.kind.value}{default}\n"
    text += "\nfeatures:\n"
    width = max(len(n) for n in report.features)
    for name, f in report.features.items():
        text += f"  {f.support.value.ljust(11)}  {name.ljust(width)}  {f.detail}\n"
    return text
