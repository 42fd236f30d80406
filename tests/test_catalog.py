"""The catalog's first releases agree with the recorded release history."""

from __future__ import annotations

import pytest

from capabilities._catalog import ENUMS, FIRST_RELEASE, PARAMETERS
from tests.conftest import HISTORY


def _first_tag_with(predicate) -> str | None:  # type: ignore[no-untyped-def]
    # The history is in date order, which is not version order.
    for release in HISTORY:
        if predicate(release):
            return str(release["tag"])
    return None


@pytest.mark.parametrize("known", [k for k in PARAMETERS if k.first.startswith("v")], ids=lambda k: k.name)
def test_parameter_first_release_matches_history(known) -> None:  # type: ignore[no-untyped-def]
    assert _first_tag_with(lambda r: known.name in {p[0] for p in r["fused_moe_params"]}) == known.first


@pytest.mark.parametrize("name", ["no_combine", "stage2_scatter"])
def test_unreleased_parameters_are_in_no_release(name: str) -> None:
    assert _first_tag_with(lambda r: name in {p[0] for p in r["fused_moe_params"]}) is None
    assert not FIRST_RELEASE[name].startswith("v")


@pytest.mark.parametrize(
    ("enum", "member"), [(e, k) for e, ks in ENUMS.items() for k in ks], ids=lambda x: getattr(x, "name", x)
)
def test_enum_first_release_matches_history(enum, member) -> None:  # type: ignore[no-untyped-def]
    assert _first_tag_with(lambda r: member.name in r["enums"].get(enum, ())) == member.first


def test_catalog_knows_every_released_parameter() -> None:
    released = {p[0] for r in HISTORY for p in r["fused_moe_params"]}
    assert released <= {k.name for k in PARAMETERS}
