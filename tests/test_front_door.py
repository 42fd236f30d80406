"""The Python API's front door: help() starts with probe(), dir() shows the public names, and a
report with no AITER answers every name the same way, with the true reason."""

from __future__ import annotations

import pydoc
from pathlib import Path

import pytest

import capabilities
from capabilities import UnsupportedFeatureError


def test_help_starts_with_probe_and_names_the_api_before_any_class() -> None:
    page = pydoc.render_doc(capabilities, renderer=pydoc.plaintext).splitlines()
    assert any("probe()" in line for line in page[:15])
    description = page[: page.index("PACKAGE CONTENTS")]
    assert len(description) <= 45 and not any(line.startswith("CLASSES") for line in description)
    text = "\n".join(description)
    for name in capabilities.__all__:  # every public name is on the first page
        assert name in text, name
    assert "docs/report.md" in text and "docs/scan.md" in text


def test_dir_lists_only_public_names() -> None:
    assert set(dir(capabilities)) == {*capabilities.__all__, "errors", "model", "testing", "__version__"}


@pytest.mark.parametrize("name", ["aiter.qr_get_handle", "topk_softmax", "fused_moe", "aiter.mla.mla_decode_fwd", "aiter.no.such.thing"])
def test_with_no_aiter_every_name_gets_the_same_true_answer(tmp_path: Path, name: str) -> None:
    report = capabilities.probe(aiter_path=tmp_path)  # a folder with no aiter in it
    resolution = report.resolve(name)
    assert resolution.status == "missing" and "no module 'aiter' is found" in resolution.detail
    assert "not made by probe()" not in resolution.detail
    with pytest.raises(UnsupportedFeatureError) as caught:
        capabilities.check_call(name, args=1, report=report)
    short = name.rsplit(".", 1)[-1]
    text = str(caught.value)
    assert f"  {short}: unsupported: no module 'aiter' is found by the path finder over {tmp_path}\n" in text
    assert text.endswith("Fix: install AMD's AITER: pip install amd-aiter.") and text.count("pip install") == 1
