"""Collect: AITER's modules as the import system would find them, each read and parsed once.

:class:`Tree` answers "what would ``import aiter.x.y`` load?" from files only,
with the import system's own rules: in each folder of the parent's search
path, a package folder first, then an extension module, then source, then
bytecode (``FileFinder``'s order); a folder without ``__init__.py`` is a
namespace portion, which a regular module or package anywhere on the path
beats; a namespace gathers the portions of every path entry. The top-level
package may be a folder of any name (an editable install maps ``aiter`` onto
it), several namespace portions, or a folder inside a zip archive on
``sys.path`` (``zipimport``'s order: bytecode, then source).

A module's source is decoded as Python decodes it (a BOM, a PEP 263 cookie),
parsed with ``ast`` and then compiled, so source that parses but would not
import (a module-level ``return``, duplicate parameters, a late ``from
__future__``) is known as such. Nothing is executed.
"""

from __future__ import annotations

import ast
import bisect
import gc
import importlib.machinery
import importlib.util
import itertools
import os
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union

TOP = "aiter"
Location = Union[Path, zipfile.Path]
Kind = Literal["source", "package", "namespace", "extension", "bytecode", "missing"]

# FileFinder's loaders, in its order.
_LOADERS = (
    (importlib.machinery.ExtensionFileLoader, importlib.machinery.EXTENSION_SUFFIXES),
    (importlib.machinery.SourceFileLoader, importlib.machinery.SOURCE_SUFFIXES),
    (importlib.machinery.SourcelessFileLoader, importlib.machinery.BYTECODE_SUFFIXES),
)
PARSE_ERRORS = (SyntaxError, ValueError, UnicodeDecodeError, RecursionError, MemoryError, LookupError, OverflowError)


@dataclass(frozen=True)
class Found:
    """What ``import <name>`` would load: a file, or the search path of a package."""

    name: str
    kind: Kind
    path: Location | None  # the file (a package's __init__.py); None for a namespace or nothing
    locations: tuple[Location, ...] = ()  # where its submodules are looked for (packages, namespaces)

    @property
    def is_package(self) -> bool:
        return self.kind in ("package", "namespace")


# A line that starts a top-level statement: column 0, a name or a decorator (not else/elif/
# except/finally, which continue the statement above).
_STATEMENT_START = re.compile(r"^(?!(?:else|elif|except|finally)\b)[A-Za-z_@]", re.M)
_WORD = re.compile(r"\w+")
# The head of a top-level def or class, after its decorators: the name it binds.
_DEF_HEAD = re.compile(r"(?:@[^\n]*\n(?:[ \t]+[^\n]*\n)*)*(?:async[ \t]+)?(?:def|class)[ \t]+(\w+)")
# A member of a class indented by four spaces: a decorator, a def or a nested class.
_MEMBER = re.compile(r"^    (?:@|(?:async[ \t]+)?def\b|class\b)", re.M)


_PAD_PER_CHAR = 8  # blank lines of padding per character of a piece, at most (see Parsed._parse_at)
# ASCII text: every character that is not a word character (\w) becomes a space.
_NOT_WORD = {c: " " for c in range(128) if not (chr(c).isalnum() or chr(c) == "_")}


def _word_set(text: str) -> frozenset[str]:
    """The identifier-like words (``\\w+``) of ``text``: for ASCII text by translating the rest
    to spaces and splitting (in C, several times faster than a regular expression)."""
    if text.isascii():
        return frozenset(text.translate(_NOT_WORD).split())
    return frozenset(_WORD.findall(text))


_QUOTE_OR_COMMENT = re.compile(r'#|"""|\'\'\'|"|\'')


def _string_spans(source: str) -> list[tuple[int, int]] | None:
    """Where the multi-line (triple-quoted) strings are; None where the text does not scan."""
    spans: list[tuple[int, int]] = []
    i, n = 0, len(source)
    while True:
        m = _QUOTE_OR_COMMENT.search(source, i)
        if m is None:
            return spans
        token, start = m.group(), m.start()
        if token == "#":
            end = source.find("\n", start)
            i = n if end < 0 else end
            continue
        j = m.end()
        while True:
            k = source.find(token, j)
            stop = source.find("\n", j) if len(token) == 1 else -1
            if k < 0 or (0 <= stop < k):
                return None  # unterminated, or a one-line string running onto the next line
            backslashes = len(source[j:k]) - len(source[j:k].rstrip("\\"))
            if backslashes % 2 == 0:
                break
            j = k + 1  # an escaped quote
        if len(token) == 3:
            spans.append((start, k + 3))
        i = k + len(token)


def split(source: str) -> list[tuple[int, int]] | None:
    """The source's top-level statements as (start, end) offsets, found from the text alone;
    None where the text may fool that (it does not scan, or a line continues onto a
    column-0 line): then the module is parsed whole. A wrong split can only make a piece
    fail to parse, which also falls back to the whole module."""
    spans = _string_spans(source)
    if spans is None:
        return None
    starts = [m.start() for m in _STATEMENT_START.finditer(source)]
    if spans:
        inside = [a for a, _ in spans]
        starts = [p for p in starts if not (bisect.bisect_right(inside, p) and p < spans[bisect.bisect_right(inside, p) - 1][1])]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    merged: list[tuple[int, int]] = []
    glue = False  # the piece before is decorators only: what follows is their def or class
    for i, a in enumerate(starts):
        b = starts[i + 1] if i + 1 < len(starts) else len(source)
        if a and source[max(0, a - 2) : a] == "\\\n":
            return None  # a backslash continuation onto a column-0 line
        if glue and merged:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
        glue = source.startswith("@", a)
    return merged


def _parse(text: str, filename: str) -> ast.Module:
    """``ast.parse``, with the cyclic garbage collector paused: the nodes it makes hold no
    cycles, yet each thousand of them would start a collection that walks the young ones
    (on a long module, about 40% of the parse)."""
    if not gc.isenabled():
        return ast.parse(text, filename=filename)
    gc.disable()
    try:
        return ast.parse(text, filename=filename)
    finally:
        gc.enable()


class Parsed:
    """A module's source, parsed piece by piece on demand: :meth:`statements` parses only the
    top-level statements whose text can matter to a question, :attr:`tree` the whole module,
    and :attr:`compile_error` says whether Python would compile it at all."""

    def __init__(self, name: str, path: Location, rel: str, source: str) -> None:
        self.name = name
        self.path = path
        self.rel = rel
        self.source = source
        self._pieces: list[tuple[int, int]] | None = split(source)
        self._parsed: dict[int, list[ast.stmt]] = {}
        self._sub: dict[tuple[int, tuple[int, ...]], list[ast.stmt]] = {}  # classes with some members
        self._starts = [a for a, _ in self._pieces] if self._pieces is not None else []
        self._full: ast.Module | None = None
        self._compile: tuple[str | None] | None = None
        self._lines: list[int] | None = None  # the offset each line starts at
        self.parsed_bytes = 0  # how much source has been parsed so far

    def line_of(self, offset: int) -> int:
        """The 1-based line number of a character offset."""
        if self._lines is None:
            # Each line's length plus its newline, summed: no match object per line.
            self._lines = [0, *itertools.accumulate(len(line) + 1 for line in self.source.split("\n"))][:-1]
        return bisect.bisect_right(self._lines, offset)

    @property
    def tree(self) -> ast.Module:
        """The whole module (parsed once; raises SyntaxError as ast.parse does)."""
        if self._full is None:
            self.parsed_bytes += len(self.source)
            self._full = _parse(self.source, self.rel)
        return self._full

    def statements(
        self, pattern: re.Pattern[str] | Words | Offsets | None = None, *, members: bool = False, binding: str | None = None
    ) -> list[ast.stmt]:
        """The top-level statements whose text matches ``pattern`` (None: all), in order,
        with their real line numbers. With ``members``, a class is parsed with only the
        members whose text matches (its head always): enough for what they say, and no
        more. With ``binding``, only statements that can bind that name at module level are
        wanted: a ``def`` or ``class`` of another name binds nothing else (short of a walrus
        in its header) and is not parsed. Raises SyntaxError where the module does not parse."""
        if self._pieces is None or pattern is None:
            body = self.tree.body
            if pattern is None:
                return body
            lines = sorted({self.line_of(m.start()) for m in _matches(pattern, self.source)})
            chosen = []
            for st in body:
                k = bisect.bisect_left(lines, st.lineno)
                if k < len(lines) and lines[k] <= (st.end_lineno or st.lineno):
                    chosen.append(st)
            return chosen
        hits: dict[int, list[int]] = {}
        for m in _matches(pattern, self.source):
            hits.setdefault(bisect.bisect_right(self._starts, m.start()) - 1, []).append(m.start())
        wanted: list[tuple[int, list[ast.stmt] | None]] = []
        for i in sorted(hits):
            if binding is not None and self._binds_other(i, binding):
                continue
            wanted.append((i, self._members(i, hits[i]) if members else None))
        self._parse_runs([i for i, sub in wanted if sub is None and i not in self._parsed])
        out: list[ast.stmt] = []
        for i, sub in wanted:
            piece = sub if sub is not None else self._piece(i)
            if piece is None:
                return self.statements(pattern)  # the split failed: the whole module answers
            out += piece
        return out

    def _parse_runs(self, wanted: list[int]) -> None:
        """Parse runs of adjacent wanted pieces as one text each (a file whose every line
        holds a hit is then one parse, not one per line), and keep each piece's statements.
        A run is the source itself from one statement start to another; its statements are
        kept only where each lies inside one piece and each piece has some (else the pieces
        are parsed one by one, and a split that misled is found there)."""
        assert self._pieces is not None
        runs: list[list[int]] = []
        for i in wanted:
            if runs and runs[-1][-1] == i - 1:
                runs[-1].append(i)
            else:
                runs.append([i])
        for run in runs:
            if len(run) < 2:
                continue
            a, b = self._pieces[run[0]][0], self._pieces[run[-1]][1]
            try:
                body = self._parse_at(self.source[a:b], a)
            except SyntaxError:
                continue
            firsts = [self.line_of(self._pieces[i][0]) for i in run]
            parts: dict[int, list[ast.stmt]] = {i: [] for i in run}
            for node in body:
                start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ()))])
                k = bisect.bisect_right(firsts, start) - 1
                last = firsts[k + 1] - 1 if k + 1 < len(firsts) else None
                if k < 0 or (last is not None and (node.end_lineno or node.lineno) > last):
                    break  # a statement over a piece's end: the split does not hold here
                parts[run[k]].append(node)
            else:
                if all(parts.values()):
                    self.parsed_bytes += b - a
                    self._parsed.update(parts)

    def defined(self) -> dict[str, list[int]] | None:
        """The top-level defs and classes by name, with their lines, read from the pieces'
        heads (None where the module could not be split: ask its tree)."""
        if self._pieces is None:
            return None
        out: dict[str, list[int]] = {}
        for a, _ in self._pieces:
            head = _DEF_HEAD.match(self.source, a)
            if head is not None:
                out.setdefault(head.group(1), []).append(self.line_of(head.start(1)))
        return out

    def _binds_other(self, i: int, name: str) -> bool:
        """Whether piece ``i`` is a def or class of another name (it then binds only that)."""
        assert self._pieces is not None
        a, b = self._pieces[i]
        head = _DEF_HEAD.match(self.source, a)
        return head is not None and head.group(1) != name and self.source.find(":=", a, b) < 0

    def _members(self, i: int, hits: list[int]) -> list[ast.stmt] | None:
        """A class piece parsed with its head and only the members holding a hit; None where
        the piece is no plain class with members at four spaces (then it is parsed whole)."""
        assert self._pieces is not None
        a, b = self._pieces[i]
        if not self.source.startswith("class ", a):
            return None
        starts = [m.start() for m in _MEMBER.finditer(self.source, a, b)]
        if not starts:
            return None
        members: list[tuple[int, int]] = []
        glue = False
        for k, ma in enumerate(starts):
            mb = starts[k + 1] if k + 1 < len(starts) else b
            if glue and members:
                members[-1] = (members[-1][0], mb)
            else:
                members.append((ma, mb))
            glue = self.source.startswith("    @", ma)
        keep = [(ma, mb) for ma, mb in members if any(ma <= h < mb for h in hits)]
        if len(keep) == len(members):
            return None  # every member is wanted: the piece as it is
        key = (i, tuple(ma for ma, _ in keep))
        cached = self._sub.get(key)
        if cached is not None:
            return cached
        parts = [self.source[a : members[0][0]]]
        line = self.line_of(members[0][0])
        for ma, mb in keep:
            start = self.line_of(ma)
            parts.append("\n" * (start - line))
            parts.append(self.source[ma:mb])
            line = self.line_of(mb) if mb < len(self.source) else start + self.source.count("\n", ma, mb)
        text = "".join(parts)
        if not keep:
            text += "\n    pass\n"  # a head alone may have no body
        try:
            body = self._parse_at(text, a)
        except SyntaxError:
            return None  # members split where they should not be: parse the piece whole
        self.parsed_bytes += len(text)
        self._sub[key] = body
        return body

    def _piece(self, i: int) -> list[ast.stmt] | None:
        cached = self._parsed.get(i)
        if cached is not None:
            return cached
        assert self._pieces is not None
        a, b = self._pieces[i]
        text = self.source[a:b]
        try:
            body = self._parse_at(text, a)
        except SyntaxError:
            self._pieces = None  # the split misled: from now on the whole module answers
            self.tree  # noqa: B018  # raises if the module itself does not parse
            return None
        self.parsed_bytes += len(text)
        self._parsed[i] = body
        return body

    def _parse_at(self, text: str, offset: int) -> list[ast.stmt]:
        """``text``, which starts a line at ``offset`` of the source, parsed at its real lines
        (columns need no shift: a piece starts a line). Blank lines in front cost the
        tokenizer little each, but the lines above the piece in number, which summed over a
        long file's pieces is its length squared; shifting the parsed nodes costs the piece's
        own nodes, about ten blank lines' worth per character in Python. So a piece is padded
        while the padding is within that bound, and shifted beyond it: linear either way."""
        shift = self.line_of(offset) - 1
        if shift <= _PAD_PER_CHAR * len(text):
            return _parse("\n" * shift + text, self.rel).body
        body = _parse(text, self.rel).body
        for node in body:
            ast.increment_lineno(node, shift)
        return body

    @property
    def compile_error(self) -> str | None:
        """Why Python would not compile this module (so its import fails); None: it compiles."""
        if self._compile is None:
            if _valid_bytecode(self.path):
                self._compile = (None,)  # Python loads that bytecode: the source compiled, and is not compiled again
                return None
            try:
                compile(self.source, self.rel, "exec", dont_inherit=True)
                error = None
            except PARSE_ERRORS as exc:
                try:
                    self.tree  # noqa: B018  # does it parse at all? (only on this failing path)
                    what = "parses but does not compile"
                except PARSE_ERRORS:
                    what = "cannot be parsed"
                error = f"{self.rel} {what}, so importing it fails: {type(exc).__name__}: {exc}"
            self._compile = (error,)
        return self._compile[0]


class Words:
    """Whole-word occurrences of ``names``, found with ``str.find`` (much faster than a
    regular expression with alternatives over a large module); ``stars`` also matches
    star imports. Quacks like the part of ``re.Pattern`` that :meth:`Parsed.statements` uses."""

    def __init__(self, *names: str, stars: bool = False) -> None:
        self.names = names
        self.stars = stars

    def finditer(self, source: str) -> Iterator[re.Match[str] | _Hit]:
        for name in self.names:
            i = source.find(name)
            while i >= 0:
                before = source[i - 1] if i else " "
                after = source[i + len(name)] if i + len(name) < len(source) else " "
                if not (before.isalnum() or before == "_") and not (after.isalnum() or after == "_"):
                    yield _Hit(i)
                i = source.find(name, i + 1)
        if self.stars and "*" in source:
            yield from _STAR_IMPORT.finditer(source)


class Offsets:
    """Matches found beforehand, as offsets: quacks like the part of ``re.Pattern`` that
    :meth:`Parsed.statements` uses, so a caller can find them once and ask many times."""

    def __init__(self, offsets: Iterable[int]) -> None:
        self.offsets = tuple(offsets)

    def finditer(self, source: str) -> Iterator[_Hit]:
        return (_Hit(i) for i in self.offsets)


class _Hit:
    """A match's start, as ``re.Match.start()`` gives it (a plain slotted class: one is made
    per occurrence of a name)."""

    __slots__ = ("at",)

    def __init__(self, at: int) -> None:
        self.at = at

    def start(self) -> int:
        return self.at


_STAR_IMPORT = re.compile(r"import[ \t(]*\*")


def _matches(pattern: re.Pattern[str] | Words | Offsets, source: str) -> Iterator[Any]:
    return pattern.finditer(source)


def _valid_bytecode(path: Location) -> bool:
    """Whether ``__pycache__`` holds bytecode that Python would load for this source instead
    of compiling it: the cache file the running interpreter names, whose header records the
    source's mtime and size (or its hash), as importlib checks them."""
    if not isinstance(path, Path):
        return False
    try:
        cached = Path(importlib.util.cache_from_source(str(path)))
        head = cached.read_bytes()[:16]
        stat = path.stat()
    except (OSError, NotImplementedError, ValueError):
        return False
    if len(head) < 16 or head[:4] != importlib.util.MAGIC_NUMBER:
        return False
    flags = int.from_bytes(head[4:8], "little")
    if flags & 1:  # hash-based bytecode: importlib checks the hash unless told not to (then it trusts it)
        source_hash = importlib.util.source_hash(path.read_bytes())
        return head[8:16] == source_hash
    mtime = int.from_bytes(head[8:12], "little")
    size = int.from_bytes(head[12:16], "little")
    return mtime == (int(stat.st_mtime) & 0xFFFFFFFF) and size == (stat.st_size & 0xFFFFFFFF)


def words(*names: str, stars: bool = False) -> Words:
    """Whole-word occurrences of any of ``names`` (and star imports, with ``stars``)."""
    return Words(*names, stars=stars)


_MISSING = Found("", "missing", None)


def _zip_find(location: zipfile.Path, name: str) -> tuple[Kind, Location | None]:
    """``zipimport``'s search in one folder of an archive: package, bytecode, source."""
    for candidate, kind in ((f"{name}/__init__.py", "package"), (f"{name}.pyc", "bytecode"), (f"{name}.py", "source")):
        path = location / candidate
        if path.exists():
            if kind == "package" and (location / f"{name}/__init__.pyc").exists():
                return "package", path  # its source beside the bytecode: the same module
            return kind, path  # type: ignore[return-value]
    folder = location / name
    if folder.is_dir():
        return "namespace", folder
    return "missing", None


@dataclass
class Tree:
    """The package ``aiter`` at ``locations`` (its portions), read lazily and once."""

    locations: tuple[Location, ...]
    root: Location | None = None  # the folder that holds the package (for relative paths); None: the first location's parent
    top: str = TOP  # the package's import name
    _found: dict[str, Found] = field(default_factory=dict)
    _parsed: dict[str, Parsed | str] = field(default_factory=dict)
    _texts: dict[str, str | None] = field(default_factory=dict)
    _words: dict[str, frozenset[str] | None] = field(default_factory=dict)
    _finders: dict[str, importlib.machinery.FileFinder] = field(default_factory=dict)
    parses: int = 0  # how many modules were parsed (each at most once)

    @property
    def base(self) -> Location:
        return self.root if self.root is not None else self.locations[0].parent  # type: ignore[return-value]

    def rel(self, path: Location) -> str:
        """``path`` relative to the folder holding the package, with ``aiter`` as the top."""
        for loc in self.locations:
            text, top = str(path), str(loc)
            if text == top or text.startswith(top.rstrip("/") + "/") or text.startswith(top + os.sep):
                inner = text[len(top) :].lstrip("/" + os.sep).replace(os.sep, "/")
                return f"{self.top}/{inner}" if inner else self.top
        return str(path)

    # --- finding ---------------------------------------------------------------------

    def find(self, dotted: str) -> Found:
        """What ``import dotted`` would load, for ``aiter`` and its submodules."""
        cached = self._found.get(dotted)
        if cached is not None:
            return cached
        parts = dotted.split(".")
        if parts[0] != self.top:
            found = _MISSING
        elif len(parts) == 1:
            init = [loc / "__init__.py" for loc in self.locations[:1]]
            if init and _is_file(init[0]):
                found = Found(self.top, "package", init[0], self.locations[:1])
            else:
                found = Found(self.top, "namespace", None, self.locations)
        else:
            parent = self.find(".".join(parts[:-1]))
            found = self._search(dotted, parent.locations, parts[-1]) if parent.is_package else _MISSING
        self._found[dotted] = found
        return found

    def _search(self, dotted: str, locations: Sequence[Location], name: str) -> Found:
        portions: list[Location] = []
        for loc in locations:
            if isinstance(loc, zipfile.Path):
                kind, path = _zip_find(loc, name)
            else:
                kind, path = self._file_find(loc, dotted)
            if kind == "missing" or path is None:
                continue
            if kind == "namespace":
                portions.append(path)
                continue
            if kind == "package":
                return Found(dotted, "package", path, (path.parent,))  # type: ignore[arg-type]  # zipfile.Path.parent is a zipfile.Path
            return Found(dotted, kind, path)
        if portions:
            return Found(dotted, "namespace", None, tuple(portions))
        return Found(dotted, "missing", None)

    def _file_find(self, folder: Path, dotted: str) -> tuple[Kind, Location | None]:
        key = str(folder)
        finder = self._finders.get(key)
        if finder is None:
            finder = self._finders[key] = importlib.machinery.FileFinder(key, *_LOADERS)
        try:
            spec = finder.find_spec(dotted)
        except (OSError, ValueError):
            return "missing", None
        if spec is None:
            return "missing", None
        if spec.origin is None:
            locations = list(spec.submodule_search_locations or ())
            return "namespace", Path(locations[0]) if locations else folder / dotted.rsplit(".", 1)[1]
        origin = Path(spec.origin)
        if spec.submodule_search_locations is not None:
            return "package", origin
        if isinstance(spec.loader, importlib.machinery.ExtensionFileLoader):
            return "extension", origin
        if isinstance(spec.loader, importlib.machinery.SourcelessFileLoader):
            return "bytecode", origin
        return "source", origin

    # --- reading ---------------------------------------------------------------------

    def text(self, dotted: str) -> str | None:
        """The module's source text (undecoded bytes read as UTF-8 with replacement), for
        cheap textual checks; None where there is no source to read."""
        if dotted not in self._texts:
            found = self.find(dotted)
            text = None
            if found.kind in ("source", "package") and found.path is not None:
                try:
                    text = found.path.read_bytes().decode("utf-8", "replace")
                except OSError:
                    text = None
            self._texts[dotted] = text
        return self._texts[dotted]

    def words(self, dotted: str) -> frozenset[str] | None:
        """Every identifier-like word in the module's text (None: no source): whether a name
        can occur in a module at all is then a set lookup, not a search of its text."""
        if dotted not in self._words:
            text = self.text(dotted)
            self._words[dotted] = None if text is None else _word_set(text)
        return self._words[dotted]

    def parse(self, dotted: str) -> Parsed | str:
        """The parsed module, or why it cannot be read as source."""
        cached = self._parsed.get(dotted)
        if cached is not None:
            return cached
        found = self.find(dotted)
        result: Parsed | str
        if found.kind == "missing":
            result = f"module {dotted} does not exist in the package"
        elif found.kind == "namespace":
            result = f"module {dotted} is a namespace package (a folder without __init__.py): it has no source"
        elif found.kind in ("extension", "bytecode") or found.path is None:
            what = "a compiled extension module" if found.kind == "extension" else "bytecode without source"
            result = f"module {dotted} is {what} ({self.rel(found.path) if found.path else '?'}): its source cannot be read"
        else:
            result = self._read(dotted, found.path)
        self._parsed[dotted] = result
        return result

    def _read(self, dotted: str, path: Location) -> Parsed | str:
        rel = self.rel(path)
        try:
            raw = path.read_bytes()
        except (OSError, KeyError) as exc:
            return f"{rel} cannot be read: {type(exc).__name__}: {getattr(exc, 'strerror', None) or exc}"
        self.parses += 1
        try:
            source = importlib.util.decode_source(raw)
        except PARSE_ERRORS as exc:
            return f"{rel} cannot be decoded: {type(exc).__name__}: {exc}"
        return Parsed(dotted, path, rel, source)


def _is_file(path: Location) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def zip_location(archive: str, inner: str) -> zipfile.Path | None:
    """``archive``'s folder ``inner`` (``aiter``), or None where the archive cannot be read."""
    try:
        return zipfile.Path(archive, at=inner.rstrip("/") + "/")
    except (OSError, zipfile.BadZipFile, ValueError):
        return None
