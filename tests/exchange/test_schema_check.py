"""`check_file`: schema errors explained (part, line, element, expectation), semantic problems
the schema cannot see, any REFI-QDA file type recognised by content."""

from __future__ import annotations

import pytest
from exchange_projects import SCHEMA_DIR, minimal_qde, sample_project, zip_bytes

from pipeline.errors import CityQDAError
from pipeline.exchange.model import Codebook
from pipeline.exchange.qdc import write_qdc
from pipeline.exchange.qdpx_writer import project_xml, write_qdpx
from pipeline.exchange.validate import SCHEMA_ENV, check_file, explain, find_schema_dir

GUID = "0f8fad5b-d9cb-469f-a165-70867728950e"

INVALID = minimal_qde(f"""
  <CodeBook><Codes><Code guid="{GUID.replace('0f', '1f')}" name="c" isCodable="true"
     color="blue"/></Codes></CodeBook>
  <Sources>
    <TextSource guid="not-a-guid" name="doc"><PlainTextContent>x</PlainTextContent>
    </TextSource>
  </Sources>
  <Users><User guid="{GUID}"/></Users>""")


def test_validate_accepts_our_exports_of_every_kind(tmp_path):
    project = sample_project()
    qdpx = write_qdpx(project, tmp_path / "study.qdpx")
    qde = tmp_path / "project.qde"
    qde.write_bytes(project_xml(project))
    qdc = tmp_path / "codes.qdc"
    write_qdc(Codebook(project.codes), qdc)
    for path, kind in ((qdpx, "qdpx"), (qde, "qde"), (qdc, "qdc")):
        report = check_file(path, schema_dir=SCHEMA_DIR)
        assert report.kind == kind
        assert report.valid, [p.render() for p in report.problems]
    # a bare .qde cannot include its source files: said as warnings, still valid
    assert {p.code for p in check_file(qde, schema_dir=SCHEMA_DIR).problems} == {"CQ850"}


def test_validate_explains_each_schema_error(tmp_path):
    path = tmp_path / "bad.qdpx"
    path.write_bytes(zip_bytes({"project.qde": INVALID}))
    report = check_file(path, schema_dir=SCHEMA_DIR)
    assert not report.valid and report.kind == "qdpx"
    assert {p.code for p in report.problems} == {"CQ811"}
    rendered = [p.render() for p in report.problems]
    text = "\n".join(rendered)
    # what is wrong, where (part, line, element path), what was expected
    assert "project.qde, line 6, /Project/Sources/TextSource (name 'doc')" in text
    assert "'not-a-guid' is not a GUID" in text
    assert "/Project/Users: Element 'Users': This element is not expected. Expected is" in text
    assert "'blue' is not a colour" in text
    assert "{urn:" not in text
    assert all(str(path) in line for line in rendered)


def test_validate_finds_what_the_schema_cannot_see(tmp_path):
    qde = minimal_qde(f'<Sources><TextSource guid="{GUID}" name="s" '
                      f'plainTextPath="internal://{GUID}.txt"/></Sources>')
    path = tmp_path / "missing-source.qdpx"
    path.write_bytes(zip_bytes({"project.qde": qde}))
    report = check_file(path, schema_dir=SCHEMA_DIR)
    assert not report.valid
    assert [p.code for p in report.problems] == ["CQ808"]
    assert "not in the archive's sources/ folder" in report.problems[0].render()


@pytest.mark.parametrize(("name", "data", "code", "said"), [
    ("file.bin", b"just text", "CQ806", "file.bin: the document, line 1: "),
    ("file.bin", b"<html><body/></html>", "CQ807", "the root element is html"),
    ("file.bin", zip_bytes({"../x": b""}), "CQ804", "'../x'"),
    ("file.qdpx", b"<Project/>", "CQ801", "ends in .qdpx but is not a zip archive"),
], ids=["text", "html", "traversal", "qdpx-not-zip"])
def test_validate_reports_unreadable_files_as_problems(tmp_path, name, data, code, said):
    path = tmp_path / name
    path.write_bytes(data)
    report = check_file(path, schema_dir=SCHEMA_DIR)
    assert not report.valid
    assert [p.code for p in report.problems] == [code]
    assert said in report.problems[0].render()


def test_validate_finds_the_schemas_or_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.delenv(SCHEMA_ENV, raising=False)
    assert find_schema_dir().resolve() == SCHEMA_DIR.resolve()  # beside the repository
    monkeypatch.setenv(SCHEMA_ENV, str(SCHEMA_DIR))
    assert find_schema_dir() == SCHEMA_DIR
    with pytest.raises(CityQDAError) as caught:
        find_schema_dir(tmp_path)
    assert caught.value.code == "CQ812" and caught.value.exit_code == 2
    assert "Project.xsd" in caught.value.render()


def test_validate_explain_leaves_other_messages_readable():
    message = ("Element '{urn:QDA-XML:project:1.0}Project': The attribute 'name' is "
               "required but missing.")
    assert explain(message) == "Element 'Project': The attribute 'name' is required but missing."
