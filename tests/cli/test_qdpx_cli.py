"""`cityqda qdpx check` through the real CLI: valid, invalid, JSON, and missing schemas."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.exchange.model import Code, Project, Selection, TextSource, User
from pipeline.exchange.qdpx_writer import write_qdpx

SCHEMA_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "refi-qda"
PROJECT_NS = "urn:QDA-XML:project:1.0"


def qdpx_with(document: str, head: str = "") -> bytes:
    """A .qdpx holding only a project document with `document` inside Project."""
    xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n{head}'
           f'<Project xmlns="{PROJECT_NS}" name="t">{document}</Project>\n')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("project.qde", xml.encode())
    return buffer.getvalue()


def invoke(runner, *args):
    return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def valid_file(tmp_path) -> Path:
    text = "São Paulo 👋\r\nsecond line"
    project = Project(name="study", users=(User("ana", "Ana"),), codes=(Code("c", "C"),),
                      sources=(TextSource("i1", "SAO-PM-01", text),),
                      selections=(Selection("k1", "i1", 0, 9, "c", coder="ana"),))
    return write_qdpx(project, tmp_path / "study.qdpx")


@pytest.fixture
def invalid_file(tmp_path) -> Path:
    path = tmp_path / "other-tool.qdpx"
    body = '<Sources><TextSource guid="nope" name="doc"><PlainTextContent>x</PlainTextContent>' \
           '</TextSource></Sources>'
    path.write_bytes(qdpx_with(body))
    return path


def test_qdpx_cli_check_valid_file(runner, valid_file):
    result = invoke(runner, "qdpx", "check", valid_file, "--schemas", SCHEMA_DIR)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "valid REFI-QDA qdpx, 0 error(s), 0 warning(s)" in result.stderr


def test_qdpx_cli_check_invalid_file_explains_and_exits_1(runner, invalid_file):
    result = invoke(runner, "qdpx", "check", invalid_file, "--schemas", SCHEMA_DIR)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "error CQ811" in result.stderr
    assert "line 2, /Project/Sources/TextSource (name 'doc')" in result.stderr
    assert "'nope' is not a GUID" in result.stderr
    assert "NOT valid REFI-QDA qdpx, 1 error(s)" in result.stderr


def test_qdpx_cli_check_json_on_stdout(runner, invalid_file):
    result = invoke(runner, "qdpx", "check", invalid_file, "--schemas", SCHEMA_DIR, "--json")
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["valid"] is False and payload["kind"] == "qdpx" and payload["errors"] == 1
    assert payload["problems"][0]["code"] == "CQ811"


def test_qdpx_cli_check_finds_the_schemas_beside_the_repository(runner, valid_file,
                                                                monkeypatch):
    monkeypatch.delenv("CITYQDA_REFI_QDA_SCHEMAS", raising=False)
    result = invoke(runner, "qdpx", "check", valid_file)
    assert result.exit_code == 0, result.stderr


def test_qdpx_cli_check_without_schemas_is_a_usage_error(runner, valid_file, tmp_path):
    result = invoke(runner, "qdpx", "check", valid_file, "--schemas", tmp_path)
    assert result.exit_code == 2
    assert "CQ812" in result.stderr and "--schemas DIR" in result.stderr


def test_qdpx_cli_check_hostile_file_exits_1(runner, tmp_path):
    path = tmp_path / "xxe.qdpx"
    head = '<!DOCTYPE Project [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n'
    path.write_bytes(qdpx_with("<Description>&e;</Description>", head=head))
    result = invoke(runner, "qdpx", "check", path, "--schemas", SCHEMA_DIR)
    assert result.exit_code == 1
    assert "CQ805" in result.stderr and "/etc/passwd" not in result.stdout


def test_qdpx_cli_help_lists_check(runner):
    result = invoke(runner, "qdpx", "--help")
    assert result.exit_code == 0 and "check" in result.stdout
