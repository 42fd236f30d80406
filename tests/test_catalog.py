"""Every first-release hint in the catalog agrees with the recorded release history,
read in version order (tags are cut from several branches, so date order misleads)."""

from __future__ import annotations


import pytest

from capabilities._catalog import ENUMS, FIRST_RELEASE, PARAMETERS
from runners import AiterQuantType
from tests.conftest import HISTORY
from tools.aiter_history import release_key


def _first(predicate) -> str | None:  # type: ignore[no-untyped-def]
    tags = [r["tag"] for r in HISTORY if predicate(r)]
    return min(tags, key=release_key) if tags else None


def _has(name: str):  # type: ignore[no-untyped-def]
    enum, dot, member = name.partition(".")
    if dot:
        return lambda r: member in r["enums"].get(enum, ())
    return lambda r: name in {p[0] for p in r["fused_moe_params"]}


@pytest.mark.parametrize(("name", "first"), sorted(FIRST_RELEASE.items()), ids=sorted(FIRST_RELEASE))
def test_every_hint_is_the_lowest_version_that_has_it(name: str, first: str) -> None:
    if first.startswith("v"):
        assert _first(_has(name)) == first
    else:  # a phrase: it is in no release at all
        assert _first(_has(name)) is None


def test_version_order_is_not_date_order() -> None:
    """The reason for the rule above: v0.1.12.post1 was tagged before v0.1.12."""
    tags = [r["tag"] for r in HISTORY]
    assert tags.index("v0.1.12.post1") < tags.index("v0.1.12")
    assert FIRST_RELEASE["QuantType.per_256x128"] == "v0.1.12"


def test_catalog_knows_every_released_parameter_and_member() -> None:
    released = {p[0] for r in HISTORY for p in r["fused_moe_params"]}
    assert released <= {k.name for k in PARAMETERS}
    for enum, members in ENUMS.items():
        assert {m for r in HISTORY for m in r["enums"].get(enum, ())} <= {k.name for k in members}


def test_runner_quant_types_are_the_catalog_members() -> None:
    assert [q.value for q in AiterQuantType] == [k.name for k in ENUMS["QuantType"]]
