"""Build the release-history data and the entry-point catalog from an AITER git checkout.

    python tools/aiter_history.py --aiter-git PATH [--check]

PATH is a clone of https://github.com/ROCm/aiter (its ``.git`` folder or a bare repository
will do). For every release tag (``v*``) and ``HEAD`` the script extracts ``aiter/`` and
``csrc/include/aiter_enum.h`` with ``git archive`` and reads them with this project's own
probe (as files, never imported), then writes:

- ``tests/data/aiter-fused-moe-history.json``: per release tag, in commit-date order,
  ``fused_moe``'s parameters and defaults, whether it takes ``**kwargs``, the enum members
  the header declares, and whether ``aiter/ops/flydsl/moe_common.py`` defines ``GateMode``;
- ``tests/data/aiter-entry-points-history.json``: per tag (in tag-creation order) and
  ``HEAD``, each catalogued entry point's file, decorators and parameters, or null;
- ``capabilities/_entry_catalog.py``: from those two files alone (:func:`catalog_source`),
  the first and last release of each entry point, parameter and enum member.

``--check`` writes nothing and exits 1 where a file would change. The test suite
regenerates the catalog from the data (no checkout needed) and compares it byte for byte.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
FUSED_MOE_HISTORY = DATA / "aiter-fused-moe-history.json"
ENTRY_POINTS_HISTORY = DATA / "aiter-entry-points-history.json"
CATALOG = ROOT / "capabilities" / "_entry_catalog.py"

# The public names inference servers call (the report's default list), grouped by what they do.
ENTRY_POINTS = (
    "aiter.fused_moe.fused_moe", "aiter.topk_softmax", "aiter.topk_sigmoid", "aiter.biased_grouped_topk",
    "aiter.grouped_topk", "aiter.moe_sum", "aiter.mla.mla_decode_fwd", "aiter.mla.mla_prefill_fwd",
    "aiter.flash_attn_varlen_func", "aiter.mha_batch_prefill_func", "aiter.get_mla_metadata_v1",
    "aiter.paged_attention_ragged", "aiter.pa_fwd_asm", "aiter.rmsnorm2d_fwd_with_add", "aiter.rms_norm",
    "aiter.gemm_a8w8_blockscale", "aiter.gemm_a8w8_bpreshuffle", "aiter.gemm_a8w8_CK",
    "aiter.dynamic_per_token_scaled_quant", "aiter.fused_moe_bf16_asm.asm_moe_tkw1", "aiter.fused_moe.fused_topk",
)  # fmt: skip
FUSED_MOE = "aiter.fused_moe.fused_moe"
HEADER = "csrc/include/aiter_enum.h"
GATE_MODE = "aiter.ops.flydsl.moe_common.GateMode"

FUSED_MOE_SOURCE = (
    "ROCm/aiter public git history, release tags; extracted with Python's ast from aiter/fused_moe.py "
    "and the enum blocks of csrc/include/aiter_enum.h. Facts only."
)
FUSED_MOE_NOTE = (
    "Tags are listed in commit-date order, which is NOT PEP 440 order: e.g. v0.1.13.post1 (2026-05-15) lacks "
    "swiglu_limit/gate_mode that v0.1.14-rc0 (2026-05-12) has, and swiglu_limit's default flips between 0.0 and "
    "None across v0.1.16.post4..v0.1.19. A version number alone does not decide a feature."
)
ENTRY_POINTS_ABOUT = (
    "Public AITER entry points as inference servers call them (aiter.X resolves through aiter/__init__.py's "
    "imports, star imports honouring __all__), resolved statically in every release tag of ROCm/aiter and in "
    "main (ref HEAD, {head_date}). For each: the defining file, its decorators (source text) and parameters "
    "[name, kind, default source text or null]. null entry = the name does not resolve in that release."
)


def release_key(ref: str) -> Version:
    """A release in PEP 440 order: v0.1.14-rc0 -> 0.1.14rc0, v0.1.17-longctx -> 0.1.17+longctx;
    HEAD (main after the last tag) after every release."""
    if ref == "HEAD":
        return Version("99999")
    base, _, suffix = ref.removeprefix("v").partition("-")
    if not suffix:
        return Version(base)
    return Version(base + suffix) if re.fullmatch(r"rc\d+", suffix) else Version(f"{base}+{suffix}")


# --- reading a checkout ------------------------------------------------------------------------


def _git(git_dir: Path, *args: str) -> str:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], check=True, capture_output=True, text=True).stdout


def _git_dir(path: Path) -> Path:
    return path / ".git" if (path / ".git").exists() else path


def _tags(git_dir: Path) -> list[str]:
    """Release tags in the order they were made (tag objects' dates; a lightweight tag's commit)."""
    out = _git(git_dir, "for-each-ref", "--sort=creatordate", "--format=%(refname:short)", "refs/tags")
    return [t for t in out.split() if re.match(r"v\d", t)]


def _commit_time(git_dir: Path, ref: str) -> int:
    return int(_git(git_dir, "log", "-1", "--format=%ct", f"{ref}^{{commit}}"))


def _extract(git_dir: Path, ref: str, into: Path) -> None:
    have = set(_git(git_dir, "ls-tree", "--name-only", ref, "csrc/include/").split())
    paths = ["aiter", *([HEADER] if HEADER in have else [])]
    archive = subprocess.run(["git", f"--git-dir={git_dir}", "archive", ref, *paths], check=True, capture_output=True).stdout
    with tempfile.TemporaryFile() as f:
        f.write(archive)
        f.seek(0)
        with tarfile.open(fileobj=f) as tar:
            tar.extractall(into, filter="data")


def _read(git_dir: Path, ref: str, work: Path) -> tuple[Any, dict[str, tuple[str, ...]]]:
    """The report for ``ref``'s files, and every enum its header declares."""
    import capabilities
    from capabilities import _header

    tree = work / ref.replace("/", "_")
    tree.mkdir()
    _extract(git_dir, ref, tree)
    header = tree / HEADER
    enums = _header.parse(header.read_text(encoding="utf-8"))[0] if header.is_file() else {}
    capabilities.clear_cache()
    return capabilities.probe(aiter_path=tree), enums


def _default(text: str | None) -> str | None:
    """A default as the history records it: normalised by ``ast.unparse`` (one quote style)."""
    return None if text is None else ast.unparse(ast.parse(text, mode="eval").body)


def _params(ep: Any) -> list[list[Any]]:
    return [[p.name, p.kind.value, _default(p.default)] for p in ep.parameters]


def collect(git_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(fused_moe history, entry-point history) as the JSON files hold them."""
    by_creation = _tags(git_dir)
    by_date = sorted(by_creation, key=lambda t: _commit_time(git_dir, t))
    fused: dict[str, Any] = {}
    entries: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="aiter-history-") as tmp:
        for ref in [*by_creation, "HEAD"]:
            report, enums = _read(git_dir, ref, Path(tmp))
            eps: dict[str, Any] = {}
            for name in ENTRY_POINTS:
                ep = report.entry_points[name]
                if ep.status == "unknown":
                    raise SystemExit(f"{ref}: {name} cannot be resolved from files: {ep.detail}")
                eps[name] = None if ep.status == "missing" else {"file": ep.file, "decorators": list(ep.decorators), "params": _params(ep)}
            commit = _git(git_dir, "rev-parse", f"{ref}^{{commit}}").strip()
            entries[ref] = {"ref": ref, "commit": commit, "entry_points": eps}
            if ref == "HEAD":
                continue
            fm = report.fused_moe
            if fm is None:
                raise SystemExit(f"{ref}: fused_moe cannot be read: {report.feature('no_combine').detail}")
            fused[ref] = {
                "tag": ref,
                "date": _git(git_dir, "log", "-1", "--format=%cs", f"{ref}^{{commit}}").strip(),
                "fused_moe_params": [[p.name, _default(p.default)] for p in fm.parameters if p.kind.value != "var_keyword"],
                "fused_moe_has_var_keyword": fm.var_keyword is not None,
                "enums": {k: list(v) for k, v in enums.items()},
                "gate_mode_in_aiter_ops_flydsl_moe_common": report.resolve(GATE_MODE).status == "resolved",
            }
    head_date = _git(git_dir, "log", "-1", "--format=%cs", "HEAD").strip()
    fused_history = {"source": FUSED_MOE_SOURCE, "note": FUSED_MOE_NOTE, "releases": [fused[t] for t in by_date]}
    entry_history = {
        "about": ENTRY_POINTS_ABOUT.format(head_date=head_date),
        "entry_points": sorted(ENTRY_POINTS),
        "releases": [entries[r] for r in [*by_creation, "HEAD"]],
    }
    return fused_history, entry_history


def dump(data: dict[str, Any], indent: int) -> str:
    return json.dumps(data, indent=indent, ensure_ascii=False)


# --- the catalog, from the data alone ----------------------------------------------------------


def _span(refs: list[str]) -> tuple[str, str]:
    return min(refs, key=release_key), max(refs, key=release_key)


def catalog(fused_history: dict[str, Any], entry_history: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(entry points, enum members): each with the (first, last) release that has it, in
    version order; ``HEAD`` is AITER main after the last tag."""
    releases = entry_history["releases"]
    entry_points: dict[str, Any] = {}
    for name in entry_history["entry_points"]:
        have = [r["ref"] for r in releases if r["entry_points"].get(name)]
        params: dict[str, list[str]] = {}
        for r in releases:
            for p in (r["entry_points"].get(name) or {}).get("params", []):
                params.setdefault(p[0], []).append(r["ref"])
        entry_points[name] = (_span(have), {p: _span(refs) for p, refs in params.items()})
    tagged = fused_history["releases"]
    latest = max(tagged, key=lambda r: release_key(r["tag"]))
    members: dict[str, dict[str, list[str]]] = {}
    # The latest release's members in header order first, then any it no longer has.
    for r in [latest, *tagged]:
        for enum, names in r["enums"].items():
            for m in names:
                members.setdefault(enum, {}).setdefault(m, [])
    for r in tagged:
        for enum, names in r["enums"].items():
            for m in names:
                members[enum][m].append(r["tag"])
    enums = {enum: {m: _span(tags) for m, tags in found.items()} for enum, found in members.items()}
    return entry_points, enums


def fused_moe_defaults(fused_history: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """Every default (source text) each fused_moe parameter has had, in release-date order."""
    out: dict[str, list[str]] = {}
    for r in fused_history["releases"]:
        for name, default in r["fused_moe_params"]:
            if default is not None and default not in out.setdefault(name, []):
                out[name].append(default)
    return {name: tuple(texts) for name, texts in out.items() if texts}


def catalog_source(fused_history: dict[str, Any], entry_history: dict[str, Any]) -> str:
    """The text of ``capabilities/_entry_catalog.py``."""
    entry_points, enums = catalog(fused_history, entry_history)
    latest = max((r["tag"] for r in fused_history["releases"]), key=release_key)
    lines = [
        '"""Generated by tools/aiter_history.py from tests/data/*-history.json: do not edit.',
        "",
        "The first and last AITER release (PEP 440 order) of each entry point servers call, of each",
        "of its parameters, and of each enum member in aiter_enum.h. \"HEAD\" is AITER main after the",
        "last release tag. A release only tells a reader where to upgrade (or that a name is gone);",
        'it never decides an answer."""',
        "",
        "from __future__ import annotations",
        "",
        "Span = tuple[str, str]  # (first release that has it, last release that has it)",
        "",
        f"LATEST_RELEASE = {latest!r}  # the highest release tag in the data; HEAD is after it",
        "",
        "ENTRY_POINTS: dict[str, tuple[Span, dict[str, Span]]] = {",
    ]
    for name, (span, params) in sorted(entry_points.items()):
        lines.append(f"    {name!r}: (")
        lines.append(f"        {span!r},")
        lines.append("        {")
        lines += [f"            {p!r}: {s!r}," for p, s in params.items()]
        lines.append("        },")
        lines.append("    ),")
    lines.append("}")
    lines.append("")
    lines.append("# Every default each fused_moe parameter has had (source text): its 'off' values.")
    lines.append("FUSED_MOE_DEFAULTS: dict[str, tuple[str, ...]] = {")
    lines += [f"    {n!r}: {d!r}," for n, d in fused_moe_defaults(fused_history).items()]
    lines.append("}")
    lines.append("")
    lines.append("ENUM_MEMBERS: dict[str, dict[str, Span]] = {")
    for enum, found in enums.items():
        lines.append(f"    {enum!r}: {{")
        lines += [f"        {m!r}: {s!r}," for m, s in found.items()]
        lines.append("    },")
    lines.append("}")
    return "\n".join(lines) + "\n"


def load() -> tuple[dict[str, Any], dict[str, Any]]:
    return json.loads(FUSED_MOE_HISTORY.read_text(encoding="utf-8")), json.loads(ENTRY_POINTS_HISTORY.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aiter-git", type=Path, help="an AITER clone (or its .git); without it, only the catalog is rebuilt from the data")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 where a file would change")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    if args.aiter_git is not None:
        fused, entries = collect(_git_dir(args.aiter_git))
    else:
        fused, entries = load()
    outputs = {
        FUSED_MOE_HISTORY: dump(fused, 1),
        ENTRY_POINTS_HISTORY: dump(entries, 0),
        CATALOG: catalog_source(fused, entries),
    }
    changed = []
    for path, text in outputs.items():
        if path.read_text(encoding="utf-8") != text:
            changed.append(path)
            if not args.check:
                path.write_text(text, encoding="utf-8")
    for path in changed:
        print(f"{'differs' if args.check else 'rewrote'}: {path.relative_to(ROOT)}")
    if not changed:
        print("every file is as generated")
    return 1 if changed and args.check else 0


if __name__ == "__main__":
    raise SystemExit(main())
