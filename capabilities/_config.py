"""The scan's settings in the scanned project's ``pyproject.toml``, as ruff and mypy keep theirs.

::

    [tool.aiter-capabilities]
    paths = ["python/sglang"]          # what to scan when no PATH is given
    aiter-paths = ["../aiter"]         # AITER trees (default: the installed one)
    exclude = ["test", "*/benchmark/*"]
    format = "github"                  # text | json | github | sarif

The file is the first ``pyproject.toml`` found from the scanned path upwards (from the
current folder when no PATH is given); one without the table is passed over, as ruff
passes it over. Relative paths in it are relative to its folder. The command line
overrides each setting it gives. Python 3.10 reads it with ``tomli`` (a dependency there).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UsageError, did_you_mean

TABLE = "tool.aiter-capabilities"
FORMATS = ("text", "json", "github", "sarif")
_KEYS = ("paths", "aiter-paths", "exclude", "format")


@dataclass(frozen=True)
class Config:
    file: Path | None = None  # the pyproject.toml read; None: no table was found
    paths: tuple[str, ...] = ()
    aiter_paths: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    format: str | None = None


def _load(file: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        with open(file, "rb") as f:
            return tomllib.load(f)
    except OSError as exc:
        raise UsageError(f"{file} cannot be read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{file} is not valid TOML: {exc}") from None


def find(start: Path) -> Config:
    """The settings of the first ``pyproject.toml`` with the table, from ``start`` upwards."""
    here = start.resolve()
    if not here.is_dir():
        here = here.parent
    for folder in (here, *here.parents):
        file = folder / "pyproject.toml"
        if file.is_file():
            table = _load(file).get("tool", {}).get("aiter-capabilities")
            if table is not None:
                return _parse(file, table)
    return Config()


def _strings(file: Path, key: str, value: object, relative: bool) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise UsageError(f"{file}: [{TABLE}] {key} must be a list of non-empty strings, not {value!r}")
    if relative:  # relative to the file's folder, wherever the command runs from
        return tuple(str(file.parent / v) for v in value)
    return tuple(value)


def _parse(file: Path, table: object) -> Config:
    if not isinstance(table, dict):
        raise UsageError(f"{file}: [{TABLE}] must be a table")
    unknown = sorted(set(table) - set(_KEYS))
    if unknown:
        hints = "".join(did_you_mean(k, _KEYS) for k in unknown)
        raise UsageError(f"{file}: [{TABLE}] has no setting {', '.join(map(repr, unknown))}{hints}; it takes {', '.join(_KEYS)}")
    fmt = table.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise UsageError(f"{file}: [{TABLE}] format must be one of {', '.join(FORMATS)}, not {fmt!r}{did_you_mean(str(fmt), FORMATS)}")
    return Config(
        file=file,
        paths=_strings(file, "paths", table.get("paths", []), relative=True),
        aiter_paths=_strings(file, "aiter-paths", table.get("aiter-paths", []), relative=True),
        exclude=_strings(file, "exclude", table.get("exclude", []), relative=False),
        format=fmt,
    )
