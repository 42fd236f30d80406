"""The scan's findings for CI tools: SARIF 2.1.0 (code-scanning UIs) and GitHub workflow commands.

A finding is a site whose verdict on a tree is not ``ok``. Its level says whether it
fails the scan: ``error`` for a counted failure, ``note`` for a failure the code expects
(a guarded import, a fallback), ``warning`` for ``unknown``. SARIF gets one run per AITER
tree; each result carries a fingerprint made of the file, the target, the call's text
with its whitespace removed and its occurrence among equal ones in the file, so it stays
the same when unrelated lines move.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

DOCS = "aiter-capabilities' docs/scan.md says what each verdict means and what the scan follows"
FINGERPRINT = "aiterCapabilities/v1"

# One rule per kind of finding: (id, name, what it means, default level).
RULES = (
    ("AC001", "call-does-not-bind", "A call of an AITER function that Python would reject with this AITER (a TypeError), or of a name that cannot be called.", "error"),
    ("AC002", "import-absent", "An import of an AITER name that this AITER does not have (an ImportError).", "error"),
    ("AC003", "reference-absent", "A reference to an AITER name that this AITER does not have (an AttributeError).", "error"),
    ("AC004", "not-checkable", "A use of AITER whose verdict cannot be told from files; the message says what stood in the way.", "warning"),
)  # fmt: skip
_RULE_OF = {"call": 0, "import": 1, "reference": 2}


@dataclass(frozen=True)
class Finding:
    call: dict[str, Any]  # the scan's entry for the site
    tree: int  # index into summary["trees"]
    verdict: str  # fails | unknown
    why: str
    counts: bool  # fails the scan
    signature: str | None
    defined_at: str | None
    several: bool = False  # the site has an entry per binding: say which one this is

    @property
    def level(self) -> str:
        if self.verdict == "unknown":
            return "warning"
        return "error" if self.counts else "note"

    @property
    def rule(self) -> int:
        return 3 if self.verdict == "unknown" else _RULE_OF.get(self.call["kind"], 0)

    def message(self) -> str:
        c = self.call
        text = f"{c['target']}{context(c, self.several)}: {self.why}"
        if self.verdict == "fails" and self.signature:
            text += f"; it is {self.signature}" + (f" ({self.defined_at})" if self.defined_at else "")
        if not self.counts and self.verdict == "fails":
            text += " (guarded import: the code expects this)" if c.get("guarded") else " (fallback: this branch cannot run)"
        return text


def context(call: dict[str, Any], binding: bool = True) -> str:
    """When the judged binding is the one that runs and what else the name may be, where the
    scan says; with ``binding``, which binding of the name is judged."""
    parts = []
    if binding and call.get("binding") and call["binding"] != call["target"]:
        parts.append(f"as {call['binding']}")
    if call.get("condition"):
        parts.append(str(call["condition"]))
    if call.get("others"):
        parts.append(f"else {', '.join(call['others'])}, not AITER, not judged")
    return f" ({'; '.join(parts)})" if parts else ""


def per_tree(call: dict[str, Any], i: int) -> dict[str, Any]:
    """The verdict fields of ``call`` for tree ``i`` (the entry itself holds the first tree's)."""
    return call["trees"][i] if "trees" in call else call


def counts(entry: dict[str, Any]) -> bool:
    if "counts" in entry:
        return bool(entry["counts"])
    return entry["verdict"] == "fails" and not entry.get("fallback") and not entry.get("guarded")


def findings(result: dict[str, Any]) -> Iterator[Finding]:
    """Every non-``ok`` verdict, tree by tree, in the scan's order."""
    shared = several(result)
    for i in range(len(result["summary"]["trees"])):
        for c in result["calls"]:
            e = per_tree(c, i)
            if e["verdict"] != "ok":
                yield Finding(c, i, e["verdict"], e["why"], counts(e), e.get("signature"), e.get("defined_at"), site(c) in shared)


def site(call: dict[str, Any]) -> tuple[str, int, int, str]:
    return call["file"], call["line"], call["col"], call["kind"]


def several(result: dict[str, Any]) -> set[tuple[str, int, int, str]]:
    """The sites with more than one entry (one per binding the name may have there)."""
    seen: set[tuple[str, int, int, str]] = set()
    twice: set[tuple[str, int, int, str]] = set()
    for c in result["calls"]:
        key = site(c)
        (twice if key in seen else seen).add(key)
    return twice


class Sources:
    """Where each scanned file is (the scan gives paths relative to the PATH it came from),
    and the text of its calls, read once per file."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.roots = [(p if p.is_dir() else p.parent).resolve() for p in paths]
        self._root: dict[str, int] = {}
        self._lines: dict[str, list[str]] = {}

    def root(self, rel: str) -> int:
        """The index of the PATH ``rel`` was found under."""
        if rel not in self._root:
            self._root[rel] = next((i for i, r in enumerate(self.roots) if (r / rel).is_file()), 0)
        return self._root[rel]

    def path(self, rel: str) -> Path:
        return self.roots[self.root(rel)] / rel if self.roots else Path(rel)

    def text(self, call: dict[str, Any]) -> str:
        """The call's source text without whitespace ('' where the file cannot be read again)."""
        rel = call["file"]
        if rel not in self._lines:
            try:
                self._lines[rel] = self.path(rel).read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                self._lines[rel] = []
        lines = self._lines[rel]
        start, end = call["line"], call.get("end_line") or call["line"]  # 0: not known
        if not lines or end > len(lines):
            return ""
        chunk = lines[start - 1 : end]
        if call.get("end_line") and call.get("end_col"):  # cut the end first: end_col counts from the last line's start
            chunk[-1] = chunk[-1][: call["end_col"]]
        chunk[0] = chunk[0][call["col"] :]
        return re.sub(r"\s+", "", "".join(chunk))


def fingerprints(result: dict[str, Any], sources: Sources) -> dict[int, str]:
    """id(call) -> its fingerprint: file, kind, target, the binding judged, the normalised text and
    the occurrence index among equal ones (one site may give an entry per AITER alternative)."""
    seen: dict[tuple[str, str, str, str, str], int] = {}
    out: dict[int, str] = {}
    for c in result["calls"]:
        binding = re.sub(r"\bline \d+", "line", c.get("binding") or "")  # where it is bound moves with the lines
        key = (c["file"], c["kind"], c["target"], binding, sources.text(c))
        n = seen[key] = seen.get(key, -1) + 1
        out[id(c)] = hashlib.sha256("\0".join((*key, str(n))).encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return out


def _region(c: dict[str, Any]) -> dict[str, int]:
    region = {"startLine": c["line"], "startColumn": c["col"] + 1}
    if c.get("end_line") and c.get("end_col"):  # 0: not known
        region |= {"endLine": c["end_line"], "endColumn": c["end_col"] + 1}
    return region


def sarif(result: dict[str, Any], sources: Sources, version: str) -> dict[str, Any]:
    """The scan as a SARIF 2.1.0 log: one run per AITER tree."""
    prints = fingerprints(result, sources)
    rules = [
        {"id": rid, "name": name, "shortDescription": {"text": name.replace("-", " ")}, "fullDescription": {"text": text},
         "help": {"text": DOCS}, "defaultConfiguration": {"level": level}}
        for rid, name, text, level in RULES
    ]  # fmt: skip
    bases = {f"ROOT{i}": {"uri": r.as_uri() + "/"} for i, r in enumerate(sources.roots)}
    trees = result["summary"]["trees"]
    runs: list[dict[str, Any]] = []
    for i, tree in enumerate(trees):
        results = []
        for f in (f for f in findings(result) if f.tree == i):
            c = f.call
            results.append(
                {
                    "ruleId": RULES[f.rule][0],
                    "ruleIndex": f.rule,
                    "level": f.level,
                    "message": {"text": f.message()},
                    "locations": [
                        {"physicalLocation": {
                            "artifactLocation": {"uri": quote(c["file"]), "uriBaseId": f"ROOT{sources.root(c['file'])}"},
                            "region": _region(c)}}
                    ],
                    "partialFingerprints": {FINGERPRINT: prints[id(c)]},
                    "properties": {"verdict": f.verdict, "counts": f.counts, "kind": c["kind"], "target": c["target"],
                                   "fallback": bool(c.get("fallback")), "guarded": bool(c.get("guarded"))},
                }
            )  # fmt: skip
        run: dict[str, Any] = {
            "tool": {"driver": {"name": "aiter-capabilities", "version": version, "rules": rules}},
            "originalUriBaseIds": bases,
            "results": results,
            "invocations": [
                {"executionSuccessful": True,
                 "toolExecutionNotifications": [{"level": "warning", "message": {"text": e}} for e in result["summary"]["errors"]]}
            ],
            "properties": {"tree": tree["tree"], "aiter": tree["aiter"]},
        }  # fmt: skip
        if len(trees) > 1:  # code scanning keeps one category per run
            run["automationDetails"] = {"id": f"aiter-capabilities/{tree['tree']}/"}
        runs.append(run)
    return {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0", "runs": runs}


def _escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


_COMMAND = {"error": "error", "note": "notice", "warning": "warning"}


def github(result: dict[str, Any], sources: Sources, summary: str) -> str:
    """GitHub workflow commands: one annotation per finding on the file's line, paths relative
    to the current folder (the workspace in a workflow), and the summary as a notice."""
    trees = result["summary"]["trees"]
    lines = []
    for f in findings(result):
        c = f.call
        path = sources.path(c["file"])
        try:
            shown = os.path.relpath(path)
        except ValueError:  # another drive on Windows
            shown = str(path)
        if shown.startswith(".."):
            shown = str(path)
        where = f"file={_escape(shown.replace(os.sep, '/'), True)},line={c['line']},col={c['col'] + 1}"
        if c.get("end_line") and c.get("end_col"):
            where += f",endLine={c['end_line']},endColumn={c['end_col'] + 1}"
        title = f"aiter-capabilities {RULES[f.rule][1]}" + (f" on {trees[f.tree]['tree']}" if len(trees) > 1 else "")
        lines.append(f"::{_COMMAND[f.level]} {where},title={_escape(title, True)}::{_escape(f.message())}")
    lines.append(f"::notice title=aiter-capabilities::{_escape(summary.strip())}")
    return "\n".join(lines) + "\n"
