"""Parsing piece by piece gives the nodes a whole-module parse gives, at a cost linear in the file."""

from __future__ import annotations

import ast
import bisect
import re
import textwrap
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capabilities import _source
from capabilities._source import Parsed, words

MODULE = textwrap.dedent(
    '''\
    """A module docstring
    over two lines, with def inside: def g(): pass
    """
    import os  # type: ignore[import]
    from aiter import topk_softmax as ts

    x = ts(1, 2,
           3)  # a continuation
    café = "é" ; y = ts(café, "ü", 3)

    @decorator(
        arg=1,
    )
    def f(a, b=ts):
        return ts(a, b)

    class K:
        """Doc."""

        attr = 1

        @staticmethod
        def keep(q):
            return ts(q)

        def drop(self):
            return 0

    if x:
        z = ts(x)
    else:
        z = None
    '''
)


def _dump(nodes: list[ast.stmt]) -> list[str]:
    return [ast.dump(n, include_attributes=True) for n in nodes]


def _whole(names: tuple[str, ...]) -> list[ast.stmt]:
    body = ast.parse(MODULE).body
    lines = {i + 1 for i, line in enumerate(MODULE.splitlines()) if any(n in line for n in names)}
    def first(s: ast.stmt) -> int:  # a decorated def starts at its first decorator
        return min([s.lineno, *(d.lineno for d in getattr(s, "decorator_list", ()))])

    return [s for s in body if any(first(s) <= n <= (s.end_lineno or s.lineno) for n in lines)]


@pytest.fixture(params=["padded", "shifted"])
def placing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both ways a piece is put at its lines: blank lines in front, or its nodes shifted."""
    if request.param == "shifted":
        monkeypatch.setattr(_source, "_PAD_PER_CHAR", 0)


@pytest.mark.parametrize("names", [("ts",), ("café",), ("decorator",), ("z",), ("os",)], ids=lambda n: n[0])
def test_pieces_carry_the_lines_and_columns_of_the_whole_module(names: tuple[str, ...], placing: None) -> None:
    parsed = Parsed("m", None, "m.py", MODULE)  # type: ignore[arg-type]
    assert parsed._pieces is not None  # the split answered: pieces were parsed, not the module
    got = parsed.statements(words(*names))
    assert got and _dump(got) == _dump(_whole(names))


def test_a_class_parsed_with_some_members_keeps_their_positions(placing: None) -> None:
    parsed = Parsed("m", None, "m.py", MODULE)  # type: ignore[arg-type]
    (cls,) = [s for s in parsed.statements(words("keep"), members=True) if isinstance(s, ast.ClassDef)]
    whole = next(s for s in ast.parse(MODULE).body if isinstance(s, ast.ClassDef))
    kept = {m.name: m for m in cls.body if isinstance(m, ast.FunctionDef)}
    assert list(kept) == ["keep"]  # only the member that holds a hit
    (want,) = [m for m in whole.body if isinstance(m, ast.FunctionDef) and m.name == "keep"]
    assert ast.dump(kept["keep"], include_attributes=True) == ast.dump(want, include_attributes=True)
    assert (cls.lineno, cls.col_offset) == (whole.lineno, whole.col_offset)


def test_parsing_costs_the_length_of_the_file_not_its_square(monkeypatch: pytest.MonkeyPatch) -> None:
    source = "from aiter import f\n" + "".join(f"y{i} = f({i})\n" for i in range(3000))
    fed: list[int] = []
    real = ast.parse

    def counting(text: Any, *args: Any, **kwargs: Any) -> Any:
        fed.append(len(text))
        return real(text, *args, **kwargs)

    monkeypatch.setattr(_source.ast, "parse", counting)
    parsed = Parsed("m", None, "m.py", source)  # type: ignore[arg-type]
    body = parsed.statements(words("f"))
    assert len(body) == 3001 and body[-1].lineno == 3001 and body[-1].end_lineno == 3001
    # Every piece is handed to the parser once, with at most a bounded padding per character:
    # a small multiple of the file in all (padding each piece with every line above it would
    # hand the parser about 4.5 million characters here).
    assert sum(fed) <= (1 + _source._PAD_PER_CHAR) * len(source) < 500_000


@settings(max_examples=60)
@given(st.text(alphabet=st.sampled_from(list("aZ_9 \n\r\t.(),:=é—\x1c\u00a0ß")), max_size=120))
def test_words_and_line_starts_are_the_regular_expressions_answers(text: str) -> None:
    assert _source._word_set(text) == frozenset(re.findall(r"\w+", text))
    parsed = Parsed("m", None, "m.py", text)  # type: ignore[arg-type]
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    assert [parsed.line_of(i) for i in range(len(text) + 1)] == [bisect.bisect_right(starts, i) for i in range(len(text) + 1)]


@pytest.mark.parametrize("selected", [("foo",), ("foo", "bar")], ids=["some-pieces", "a-run-over-a-false-split"])
def test_a_split_inside_brackets_falls_back_to_the_whole_module(selected: tuple[str, ...], placing: None) -> None:
    # 'bar, b)' starts a line at column 0 inside the call's brackets: a false statement start.
    source = "x = foo(\nbar, b)\ny = foo(1)\nz = 2\n"
    parsed = Parsed("m", None, "m.py", source)  # type: ignore[arg-type]
    got = parsed.statements(words(*selected))
    whole = ast.parse(source).body[:2]
    assert _dump(got) == _dump(whole)


def test_a_run_of_adjacent_pieces_is_one_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    source = "from aiter import f\n" + "".join(f"y{i} = f({i})\n" for i in range(50)) + "def g():\n    return 1\n"
    calls: list[int] = []
    real = ast.parse
    monkeypatch.setattr(_source.ast, "parse", lambda text, *a, **k: calls.append(len(text)) or real(text, *a, **k))
    parsed = Parsed("m", None, "m.py", source)  # type: ignore[arg-type]
    body = parsed.statements(words("f"))
    assert len(calls) == 1 and len(body) == 51
    assert _dump(body) == _dump(real(source).body[:51])
    assert parsed.statements(words("y7")) == [body[8]]  # each piece's own statements are kept
    assert len(calls) == 1
