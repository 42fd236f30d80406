"""A report serialises whatever the bytes of its paths: ``model_dump_json`` writes a path that
is not UTF-8 as ``--json`` does (lone surrogate escapes), and every reader takes it back."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import capabilities
from capabilities.model import AiterIdentity
from capabilities.testing import write_fake_aiter
from tests.conftest import cli

RAW = b"/caf\xe9-\xff"  # Latin-1 and a byte no encoding maps: not UTF-8


@pytest.fixture
def odd_report(tmp_path: Path) -> tuple[capabilities.CapabilityReport, Path]:
    root = Path(os.fsdecode(bytes(tmp_path) + RAW))
    write_fake_aiter(root)
    return capabilities.probe(aiter_path=root, refresh=True), root


def test_model_dump_json_writes_a_non_utf8_path_as_the_cli_does(odd_report: Any) -> None:
    report, root = odd_report
    assert os.fsdecode(bytes(root)) in report.aiter.location  # the report does hold the odd path
    for options in ({}, {"indent": 2}, {"ensure_ascii": True}, {"indent": 2, "ensure_ascii": True}):
        text = report.model_dump_json(**options)
        text.encode("utf-8")  # writable as UTF-8: no lone surrogate left in the text
        assert "\\udcff" in text and "\\udce9" in text
        data = json.loads(text)
        assert os.fsencode(data["aiter"]["location"]).startswith(bytes(root))
        assert data == report.model_dump(mode="json")
    # --json prints the same document, byte for byte.
    code, out, err = cli("--json", "--aiter-path", os.fsdecode(bytes(root)))
    assert code == 0, err
    assert out == report.model_dump_json(indent=2, ensure_ascii=True) + "\n"


def test_the_json_reads_back_into_an_equal_report(odd_report: Any) -> None:
    report, _ = odd_report
    assert report.model_dump()["aiter"]["location"] == report.aiter.location
    for text in (report.model_dump_json(), report.model_dump_json(ensure_ascii=True).encode("ascii")):
        again = capabilities.CapabilityReport.model_validate_json(text)
        assert again == report and again.aiter.location == report.aiter.location


def test_valid_paths_keep_pydantic_s_own_output(tmp_path: Path) -> None:
    fake = write_fake_aiter(tmp_path / "café")
    report = capabilities.probe(aiter_path=fake.root, refresh=True)
    text = report.model_dump_json()
    assert "café" in text and json.loads(text) == report.model_dump(mode="json")
    # Other failures still raise as pydantic raises them.
    with pytest.raises(ValueError, match="Invalid JSON"):
        capabilities.CapabilityReport.model_validate_json('{"schema_version": 4')
    with pytest.raises(ValueError, match="schema version 99"):
        capabilities.CapabilityReport.model_validate_json(text.replace('"schema_version":4', '"schema_version":99'))


def test_every_value_type_serialises_such_a_path() -> None:
    ident = AiterIdentity(
        status="absent", distribution=None, version=None, version_valid=True, location="/x/\udcff",
        import_error=None, rule="r", conflicts=(), detail="d",
    )  # fmt: skip
    assert json.loads(ident.model_dump_json())["location"] == "/x/\udcff"
    assert ident.model_dump_json().count("\\udcff") == 1
    assert AiterIdentity.model_validate_json(ident.model_dump_json()) == ident
