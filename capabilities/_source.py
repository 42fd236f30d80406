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
import importlib.machinery
import importlib.util
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Union

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


@dataclass(frozen=True)
class Parsed:
    """A module's source, its tree, and whether Python would compile it."""

    name: str
    path: Location
    rel: str  # the file relative to the folder holding the package, for messages
    source: str
    tree: ast.Module
    compile_error: str | None  # why compile() rejects it; None: it compiles


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
    _found: dict[str, Found] = field(default_factory=dict)
    _parsed: dict[str, Parsed | str] = field(default_factory=dict)
    _texts: dict[str, str | None] = field(default_factory=dict)
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
                return f"{TOP}/{inner}" if inner else TOP
        return str(path)

    # --- finding ---------------------------------------------------------------------

    def find(self, dotted: str) -> Found:
        """What ``import dotted`` would load, for ``aiter`` and its submodules."""
        cached = self._found.get(dotted)
        if cached is not None:
            return cached
        parts = dotted.split(".")
        if parts[0] != TOP:
            found = _MISSING
        elif len(parts) == 1:
            init = [loc / "__init__.py" for loc in self.locations[:1]]
            if init and _is_file(init[0]):
                found = Found(TOP, "package", init[0], self.locations[:1])
            else:
                found = Found(TOP, "namespace", None, self.locations)
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
            tree = ast.parse(source, filename=rel)
        except PARSE_ERRORS as exc:
            return f"{rel} cannot be parsed: {type(exc).__name__}: {exc}"
        try:
            compile(tree, rel, "exec", dont_inherit=True)
            error = None
        except PARSE_ERRORS as exc:  # parses, but Python would refuse to import it
            error = f"{rel} parses but does not compile, so importing it fails: {type(exc).__name__}: {exc}"
        return Parsed(dotted, path, rel, source, tree, error)


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
