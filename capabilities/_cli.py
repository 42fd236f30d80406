"""``python -m capabilities``: the report, for people and machines, and a deployment gate.

``python -m capabilities scan PATH ...`` checks every AITER call in a code base
(see ``_scan``). Exit codes are listed in ``EXIT_CODES`` and in ``--help``.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn, TextIO

from . import _render
from .errors import NotPrebuiltError, UsageError, did_you_mean, unsupported_error
from ._gate import require_prebuilt
from .model import INSTALL, AiterStatus, Support
from ._registry import DEFAULT_TIMEOUT, check_aiter_path, check_archs, no_aiter_in, probe
from ._report import CapabilityReport

EXIT_OK, EXIT_UNSUPPORTED, EXIT_USAGE, EXIT_OUTPUT = 0, 1, 2, 3
EXIT_CODES = (
    (EXIT_OK, "a report was produced (whatever state AITER is in); --compare: every answer is the same"),
    (EXIT_UNSUPPORTED, "a --require'd feature is not supported or a --require-prebuilt module is not built; "
     "--compare: a gate can answer differently; scan: a call fails"),
    (EXIT_USAGE, "usage error, or a saved report that cannot be read"),
    (EXIT_OUTPUT, "the output could not be written (a full disk, a closed stream)"),
)  # fmt: skip
DOCS = "docs/report.md (the report, every field and exit code) and docs/scan.md (scan)"


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


def _epilog(prog: str) -> str:
    codes = "\n".join(f"  {code}  {what}" for code, what in EXIT_CODES)
    return f"exit codes:\n{codes}\n\nscan a code base: {prog.removesuffix(' report')} scan --help\nmore: {DOCS}"


def _parser(prog: str) -> _Parser:
    from . import __version__

    p = _Parser(
        prog=prog,
        description="What the installed AITER (amd-aiter) offers, read from its files: the answer first, details with -v.",
        epilog=_epilog(prog),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"aiter-capabilities {__version__}")
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--json", action="store_true", help="print the whole report as JSON")
    shown.add_argument("-v", "--all", dest="verbose", action="store_true", help="print every detail: features, parameters, entry points, hardware")
    shown.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors: the exit code answers")
    p.add_argument(
        "--require",
        metavar="A,B",
        action="append",
        default=[],
        help="exit 1 unless every named feature is supported (e.g. no_combine,QuantType.per_1x32); repeatable",
    )
    p.add_argument(
        "--require-prebuilt",
        metavar="MOD[,MOD]",
        action="append",
        default=[],
        help="exit 1 unless these JIT modules are built already for the live or --arch architectures",
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
    p.add_argument("--aiter-path", metavar="DIR", help="probe the AITER in DIR (a folder holding aiter/, taken as a site folder)")
    p.add_argument(
        "--arch",
        metavar="GFX[,GFX]",
        action="append",
        default=[],
        help="decide the hardware features for these GPU architectures (e.g. gfx942) instead of the live GPUs",
    )
    p.add_argument(
        "--compare",
        nargs=2,
        metavar=("A.json", "B.json"),
        help="compare two saved --json reports; exit 1 when a gate could answer differently",
    )
    return p


def _names(option: str, raw: list[str]) -> list[str]:
    names = [n.strip() for value in raw for n in value.split(",")]
    if not all(names):
        raise _UsageError(f"{option} takes comma-separated names, got {','.join(raw)!r}")
    return list(dict.fromkeys(names))  # each once, in the order given


def _parse(parser: _Parser, argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    args = parser.parse_args(argv)
    required = _names("--require", args.require)
    args.require_prebuilt = _names("--require-prebuilt", args.require_prebuilt)
    try:
        args.arch = check_archs(_names("--arch", args.arch), "--arch")
        if args.aiter_path is not None:
            args.aiter_path = check_aiter_path(args.aiter_path, "--aiter-path")
    except UsageError as exc:
        raise _UsageError(str(exc)) from None
    if math.isnan(args.timeout) or args.timeout <= 0:
        raise _UsageError(f"--timeout must be a positive number of seconds, not {args.timeout:g}")
    if args.compare and (args.runtime or args.aiter_path or required or args.arch or args.require_prebuilt):
        raise _UsageError("--compare reads two saved reports; it takes no --import, --aiter-path, --arch or --require*")
    return args, required


def feature_names(report: CapabilityReport) -> set[str]:
    """Every name ``--require`` takes as a feature: the report's own, and every parameter,
    entry point and enum member of this build or of any AITER release catalogued."""
    from ._catalog import FUSED_MOE
    from ._entry_catalog import ENTRY_POINTS, ENUM_MEMBERS

    names = set(report.features).union(*(set(f) for f in report.arch_features.values()))
    for dotted, (_, params) in ENTRY_POINTS.items():
        short = dotted.rsplit(".", 1)[1]
        ep = report.entry_points.get(dotted)
        own = set(params) | {p.name for p in ((ep.parameters if ep is not None else None) or ())}
        if dotted == FUSED_MOE and report.fused_moe is not None:
            own |= {p.name for p in report.fused_moe.parameters}
        names |= {dotted, short, *(f"{short}.{p}" for p in own), *(own if dotted == FUSED_MOE else ())}
    for enum, members in (*ENUM_MEMBERS.items(), *report.enums.items()):
        names |= {f"{enum}.{m}" for m in members}
    return names


class Output:
    """Writes to a stream whatever its encoding and whatever happens to it: text that the
    stream cannot encode is escaped, and a stream that fails (a full disk, a reader that
    went away) ends the output with a message on stderr instead of a traceback."""

    def __init__(self, out: TextIO | None, err: TextIO | None) -> None:
        self.out = out
        self.err = err  # None: stderr is closed, and errors go nowhere (never to stdout)
        for stream in (out, err):
            reconfigure = getattr(stream, "reconfigure", None)
            if stream is not None and reconfigure is not None:
                try:
                    reconfigure(errors="backslashreplace")
                except (ValueError, io.UnsupportedOperation):
                    pass  # a stream that cannot be reconfigured keeps its own error handler

    def write(self, text: str) -> int | None:
        """Write ``text`` to stdout; None where it went, else the exit code to return."""
        if self.out is None or not text:
            return None
        try:
            self.out.write(text)
            self.out.flush()
        except BrokenPipeError:
            self._silence(self.out)
            return EXIT_OK  # `| head`: the reader has what it wanted
        except OSError as exc:
            self._silence(self.out)
            self.error(f"cannot write the output: {exc.strerror or exc}")
            return EXIT_OUTPUT
        return None

    def error(self, text: str) -> None:
        if self.err is None:
            return
        try:
            print(text, file=self.err)
            self.err.flush()
        except OSError:
            self._silence(self.err)

    @staticmethod
    def _silence(stream: TextIO) -> None:
        """Point a failed standard stream at /dev/null, so that Python's own flush at exit
        neither fails again nor changes the exit code."""
        for std in (sys.stdout, sys.stderr):
            if stream is std:
                try:
                    fd = std.fileno()
                except (OSError, ValueError, io.UnsupportedOperation):
                    return
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, fd)
                os.close(devnull)


def report_json(report: CapabilityReport) -> str:
    """``--json``: ASCII, so any terminal encoding takes it; paths that are not UTF-8 survive."""
    try:
        return report.model_dump_json(indent=2, ensure_ascii=True) + "\n"
    except (TypeError, ValueError):  # an older pydantic, or lone surrogates in a path
        return json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=True) + "\n"


def main(
    argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None, prog: str = "python -m capabilities"
) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    io_ = Output(sys.stdout if stdout is None else stdout, sys.stderr if stderr is None else stderr)
    if args_list[:1] == ["scan"]:
        return _scan_main(args_list[1:], io_, prog)
    if args_list[:1] == ["report"]:  # the report is also the default command
        args_list = args_list[1:]
        prog = f"{prog} report"
    parser = _parser(prog)
    try:
        args, required = _parse(parser, args_list)
    except _UsageError as exc:
        usage = io.StringIO()
        parser.print_usage(usage)
        io_.error(f"{usage.getvalue().rstrip()}\n{parser.prog}: error: {exc}")
        return EXIT_USAGE
    except SystemExit as exc:  # --help, --version: argparse printed them
        return int(exc.code or 0)

    if args.compare:
        from ._compare import compare_files

        text, err = io.StringIO(), io.StringIO()
        code = compare_files(args.compare[0], args.compare[1], out=text, err=err, as_json=args.json)
        if err.getvalue():
            io_.error(err.getvalue().rstrip())
        failed = None if args.quiet else io_.write(text.getvalue())
        return code if failed is None else failed

    report = probe(runtime=args.runtime, isolated=True, timeout=args.timeout, aiter_path=args.aiter_path, arch=args.arch)
    if args.aiter_path is not None and report.aiter.status is AiterStatus.ABSENT:  # a mistyped path, not a missing install
        io_.error(f"{parser.prog}: error: {no_aiter_in(args.aiter_path)}")
        return EXIT_USAGE
    known = feature_names(report)
    unknown = [n for n in required if n not in known and not n.startswith("aiter.")]
    if unknown:  # a typo, not a feature this build lacks
        hints = "".join(did_you_mean(n, known) for n in unknown)
        io_.error(
            f"{parser.prog}: error: --require: no feature is named {', '.join(map(repr, unknown))}{hints}; a feature is a "
            "parameter of fused_moe or of an entry point (topk_softmax.need_renorm), an enum member (QuantType.per_1x32) "
            "of some AITER release, or a dotted aiter.* name; -v lists this build's features"
        )
        return EXIT_USAGE
    return _report(io_, report, args, required)


def _report(io_: Output, report: CapabilityReport, args: argparse.Namespace, required: list[str]) -> int:
    missing = [n for n in required if report.support(n) is not Support.SUPPORTED]
    messages = []
    if missing:
        messages.append(str(unsupported_error(report, missing, requested_by="--require")))
    unbuilt: list[str] = []
    if args.require_prebuilt:
        try:
            require_prebuilt(*args.require_prebuilt, report=report)
        except NotPrebuiltError as exc:
            messages.append(str(exc))
            unbuilt = list(exc.modules)
    render: Callable[[], str]
    if args.json:
        render = lambda: report_json(report)  # noqa: E731
    elif args.verbose:
        render = lambda: _render.detail(report)  # noqa: E731
    elif required or args.require_prebuilt:
        render = lambda: _render.summary(report, _render.verdict_rows(report, required, missing, unbuilt))  # noqa: E731
    else:
        render = lambda: _render.summary(report)  # noqa: E731
    failed = None if args.quiet else io_.write(render())
    for message in messages:
        io_.error(message)
    if messages:
        return EXIT_UNSUPPORTED  # the gate's answer, whatever became of the output
    return EXIT_OK if failed is None else failed


# --- scan ------------------------------------------------------------------------------------


def _scan_parser(prog: str) -> _Parser:
    from ._config import FORMATS

    p = _Parser(
        prog=f"{prog} scan",
        description="Check every AITER call in a code base (read as files, never imported) against an AITER tree. "
        "Prints what needs attention (fails, unknown) by file, then a summary.",
        epilog="exit codes: 0 no call fails; 1 a call fails (fallback and guarded imports aside); "
        "2 usage error, or no AITER to check against.\n"
        "settings: [tool.aiter-capabilities] in the scanned project's pyproject.toml (paths, aiter-paths, exclude, format);"
        " the command line overrides them.\nmore: docs/scan.md",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders to scan (default: paths in pyproject.toml)")
    p.add_argument("--aiter-path", action="append", default=[], metavar="DIR", help="an AITER tree (a folder holding aiter/); repeatable; default: the installed one")
    p.add_argument("--exclude", action="append", default=[], metavar="GLOB", help="leave out files and folders matching GLOB (relative to PATH, e.g. test or '*/benchmark/*'); repeatable")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--format", choices=FORMATS, help="text (default), json, github (workflow commands that annotate the diff) or sarif (SARIF 2.1.0)")
    out.add_argument("--json", dest="format", action="store_const", const="json", help="the same as --format json")
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("-v", "--verbose", action="store_true", help="text: list every site, ok ones too")
    shown.add_argument("-q", "--quiet", action="store_true", help="text: the summary line only, and nothing when no call fails")
    return p


def _scan_settings(args: argparse.Namespace) -> tuple[list[str], list[str], list[str], str]:
    """Paths, trees, excludes and format: the command line's, else pyproject.toml's."""
    from pathlib import Path

    from ._config import find

    config = find(Path(args.paths[0]) if args.paths else Path.cwd())
    paths = args.paths or list(config.paths)
    if not paths:
        where = f"{config.file} has no paths" if config.file else "no pyproject.toml with [tool.aiter-capabilities] was found from here upwards"
        raise _UsageError(f"name a file or folder to scan (PATH), or set paths in [tool.aiter-capabilities]; {where}")
    return paths, args.aiter_path or list(config.aiter_paths), args.exclude or list(config.exclude), args.format or config.format or "text"


def _scan_main(argv: Sequence[str], io_: Output, prog: str) -> int:
    from pathlib import Path

    from . import __version__
    from ._sarif import Sources, github, sarif
    from ._scan import scan, trees

    parser = _scan_parser(prog)
    try:
        args = parser.parse_args(list(argv))
        paths, folders, exclude, fmt = _scan_settings(args)
        missing = [p for p in paths if not Path(p).exists()]
        if missing:
            raise _UsageError(f"no such file or folder: {', '.join(missing)}")
        folders = [check_aiter_path(f, "--aiter-path") for f in folders]
    except (_UsageError, UsageError) as exc:
        io_.error(f"{parser.format_usage().rstrip()}\n{parser.prog}: error: {exc}")
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    against = trees(folders)
    absent = [t for t in against if t.resolver is None]
    if absent:  # nothing to check against: one line, not a failure on every site
        if folders:
            io_.error(f"{parser.prog}: error: {no_aiter_in(absent[0].label)}")
        else:
            io_.error(
                f"{parser.prog}: error: no AITER to check against: {absent[0].located.found_by} finds no module 'aiter'; "
                f"install AMD's AITER ({INSTALL}) or name a tree with --aiter-path DIR (a folder holding aiter/)"
            )
        return EXIT_USAGE
    result = scan([Path(p) for p in paths], against, exclude)
    if fmt == "json":
        text = json.dumps(result, indent=2, ensure_ascii=True) + "\n"
    elif fmt == "sarif":
        text = json.dumps(sarif(result, Sources([Path(p) for p in paths]), __version__), indent=2, ensure_ascii=True) + "\n"
    elif fmt == "github":
        text = github(result, Sources([Path(p) for p in paths]), _render.scan_text(result, quiet=True) or _render.scan_text(result).splitlines()[-1])
    else:
        text = _render.scan_text(result, verbose=args.verbose, quiet=args.quiet)
    failed = io_.write(text)
    if any(t["fails"] for t in result["summary"]["trees"]):
        return EXIT_UNSUPPORTED
    return EXIT_OK if failed is None else int(failed)


def console() -> int:
    """The ``aiter-capabilities`` command: ``aiter-capabilities report|scan ...``."""
    return main(prog="aiter-capabilities")
