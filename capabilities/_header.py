"""Collect: AITER's enums (``ActivationType``, ``QuantType``, ...) from the C++ header it ships.

``aiter_meta/csrc/include/aiter_enum.h`` in the wheel, ``csrc/include/aiter_enum.h``
in a checkout, written as ``enum class NAME : int { member [= value], ... }``.
Members keep C++'s numbering (one more than the previous, from 0); an
attribute such as ``[[deprecated]]`` or ``__attribute__((deprecated))`` on a
member is dropped with its text, never the member; a value that is an
expression rather than an integer is ``None`` (not read).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

# Wheel layout first, then a source checkout; both relative to the folder holding aiter/.
HEADER_CANDIDATES = (
    Path("aiter_meta/csrc/include/aiter_enum.h"),
    Path("csrc/include/aiter_enum.h"),
)
# Comments and string literals, so that neither can hide or fake a member or a brace.
_NOISE = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"', re.S)
_ATTRIBUTE = re.compile(r"\[\[.*?\]\]|__attribute__\s*\(\(.*?\)\)|__declspec\s*\(.*?\)", re.S)
_ENUM = re.compile(r"\benum\s+(?:class|struct)?\s*(\w+)\s*(?::\s*[\w:\s]+?)?\s*\{(.*?)\}", re.S)
_MEMBER = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?:=\s*(.*?))?\s*$", re.S)
_INT = re.compile(r"[+-]?(?:0[xX][0-9a-fA-F]+|\d+)[uUlL]*")


@dataclass(frozen=True)
class EnumResult:
    header: Path | None
    enums: dict[str, tuple[str, ...]]
    error: str | None
    values: dict[str, dict[str, int | None]] = field(default_factory=dict)  # None: not a plain integer


def _value(raw: str) -> int | None:
    if not _INT.fullmatch(raw):
        return None
    text = raw.rstrip("uUlL")
    sign = -1 if text.startswith("-") else 1
    text = text.lstrip("+-")
    if text[:2] in ("0x", "0X"):
        return sign * int(text, 16)
    if len(text) > 1 and text.startswith("0"):
        return sign * int(text, 8) if set(text) <= set("01234567") else None  # C++ octal
    return sign * int(text)


def parse(text: str) -> tuple[dict[str, tuple[str, ...]], dict[str, dict[str, int | None]]]:
    """Every enum the header text declares: members in order, and their values."""
    text = _ATTRIBUTE.sub(" ", _NOISE.sub(lambda m: " " if m.group().startswith("/") else '""', text))
    enums: dict[str, tuple[str, ...]] = {}
    values: dict[str, dict[str, int | None]] = {}
    for m in _ENUM.finditer(text):
        members: dict[str, int | None] = {}
        nxt: int | None = 0  # C++: one more than the previous, from 0
        for item in m.group(2).split(","):
            if not item.strip():
                continue
            mm = _MEMBER.match(item)
            if mm:
                raw = mm.group(2)
                if raw:
                    nxt = _value(raw.strip())
                members[mm.group(1)] = nxt
                nxt = None if nxt is None else nxt + 1
        enums[m.group(1)] = tuple(members)
        values[m.group(1)] = members
    return enums, values


def read_enums(root: Path) -> EnumResult:
    """Members of the enums declared in AITER's ``aiter_enum.h`` under ``root``."""
    header = None
    try:
        header = next((root / rel for rel in HEADER_CANDIDATES if (root / rel).is_file()), None)
        if header is None:
            tried = " or ".join(str(c) for c in HEADER_CANDIDATES)
            return EnumResult(None, {}, f"no enum header ({tried}) beside the aiter package")
        text = header.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        where = "the enum header" if header is None else header.name
        return EnumResult(header, {}, f"{where} cannot be read: {type(exc).__name__}: {exc}")
    enums, values = parse(text)
    if not enums:
        return EnumResult(header, {}, f"{header.name} declares no enum that could be read")
    return EnumResult(header, enums, None, values)
