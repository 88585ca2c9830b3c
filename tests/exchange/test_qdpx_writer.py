"""The .qdpx writer: schema-valid, byte-identical, stable GUIDs, sources stored exactly."""

from __future__ import annotations

import datetime as dt
import re
import uuid
import zipfile
from dataclasses import replace
from decimal import Decimal

import pytest
import xmlschema
from exchange_projects import PROJECT_XSD, TEXTS, sample_project, schema
from lxml import etree

from pipeline.exchange.model import (
    CITYQDA_NAMESPACE,
    Code,
    Note,
    Project,
    Selection,
    TextSource,
    User,
    guid_for,
)
from pipeline.exchange.qdpx_writer import (
    SourceGroup,
    project_xml,
    qdpx_parts,
    write_qdpx,
    write_qdpx_stream,
)

NS = {"q": "urn:QDA-XML:project:1.0"}


def test_qdpx_writer_output_validates_against_the_official_schema(tmp_path):
    path = write_qdpx(sample_project(), tmp_path / "study.qdpx")
    with zipfile.ZipFile(path) as archive:
        document = archive.read("project.qde")
    project_schema = schema(PROJECT_XSD)
    assert project_schema.validate(etree.fromstring(document)), project_schema.error_log
    # a second, independent validator agrees
    xmlschema.XMLSchema(str(PROJECT_XSD)).validate(document.decode("utf-8"))


@pytest.mark.parametrize("project", [
    Project(name="empty"),
    Project(name="codes only", codes=(Code("a", "A"),)),
    Project(name="one source", sources=(TextSource("s", "S", ""),)),
], ids=["empty", "codes-only", "empty-source"])
def test_qdpx_writer_sparse_projects_are_valid_too(project):
    assert schema(PROJECT_XSD).validate(etree.fromstring(project_xml(project)))


def test_qdpx_writer_is_byte_identical_across_exports_and_input_orders(tmp_path):
    first = write_qdpx(sample_project(), tmp_path / "a.qdpx").read_bytes()
    second = write_qdpx(sample_project(), tmp_path / "b.qdpx").read_bytes()
    shuffled = write_qdpx(sample_project(reverse=True), tmp_path / "c.qdpx").read_bytes()
    assert first == second == shuffled


def test_qdpx_writer_archive_layout_and_fixed_entry_dates(tmp_path):
    project = sample_project()
    path = write_qdpx(project, tmp_path / "study.qdpx")
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        names = [i.filename for i in infos]
        assert names[0] == "project.qde"
        assert names == ["project.qde"] + sorted(names[1:])
        assert all(re.fullmatch(r"sources/[0-9a-f-]{36}\.txt", n) for n in names[1:])
        assert len(names) == 1 + len(project.sources)
        assert {i.date_time for i in infos} == {(2000, 1, 1, 0, 0, 0)}


def test_qdpx_writer_sources_are_the_stored_text_in_utf8_without_bom(tmp_path):
    project = sample_project()
    path = write_qdpx(project, tmp_path / "study.qdpx")
    with zipfile.ZipFile(path) as archive:
        root = etree.fromstring(archive.read("project.qde"))
        for node in root.iterfind(".//q:TextSource", NS):
            path_attr = node.get("plainTextPath")
            assert path_attr == f"internal://{node.get('guid')}.txt"
            raw = archive.read("sources/" + path_attr.removeprefix("internal://"))
            source = next(s for s in project.sources if s.name == node.get("name"))
            assert not raw.startswith(b"\xef\xbb\xbf")
            assert raw == source.text.encode("utf-8")  # CR LF and lone CR kept as stored
    assert b"\r\n" in qdpx_parts(project)[
        f"sources/{guid_for('source', 'interview:crlf')}.txt"]


def test_qdpx_writer_positions_are_code_points_end_exclusive():
    text = TEXTS["emoji"]
    start = text.index("👩🏽‍💼")
    end = start + len("👩🏽‍💼")  # four code points: woman, skin tone, ZWJ, briefcase
    project = Project(name="p", users=(User("u", "U"),), codes=(Code("c", "C"),),
                      sources=(TextSource("s", "S", text),),
                      selections=(Selection("x", "s", start, end, "c", coder="u"),))
    root = etree.fromstring(project_xml(project))
    node = root.find(".//q:PlainTextSelection", NS)
    assert (int(node.get("startPosition")), int(node.get("endPosition"))) == (start, end)
    assert end - start == 4
    assert node.get("name") == "👩🏽‍💼"


def test_qdpx_writer_guids_are_uuid5_over_stable_keys():
    project = sample_project()
    root = etree.fromstring(project_xml(project))
    code = root.find(".//q:Code[@name='Social']", NS)
    assert code.get("guid") == str(uuid.uuid5(CITYQDA_NAMESPACE, "code\x1fsocial"))
    assert uuid.UUID(code.get("guid")).version == 5
    # The namespace is fixed once: a change would re-identify every exported item.
    assert guid_for("code", "social") == "f823a00e-0dd1-511a-b010-028ea19fe2da"
    # Same key, different kinds: different GUIDs; an explicit GUID wins.
    assert guid_for("user", "x") != guid_for("code", "x")
    assert guid_for("code", "x", "{0F8FAD5B-D9CB-469F-A165-70867728950E}").startswith("{0F8")
    guids = [n.get("guid") for n in root.iter() if n.get("guid")]
    assert len(guids) == len(set(guids))


def test_qdpx_writer_guids_do_not_depend_on_other_content():
    base = sample_project()
    changed = sample_project({"accents": TEXTS["accents"] + " More text."})
    def guid_of(project, name):
        root = etree.fromstring(project_xml(project))
        return {n.get("name"): n.get("guid") for n in root.iterfind(f".//q:{name}", NS)}
    assert guid_of(base, "Code") == guid_of(changed, "Code")
    assert guid_of(base, "User") == guid_of(changed, "User")
    source = next(s for s in changed.sources if s.key == "interview:accents")
    assert guid_of(changed, "TextSource")[source.name] == guid_for("source", "interview:accents")


def test_qdpx_writer_writes_no_timestamps():
    root = etree.fromstring(project_xml(sample_project()))
    attributes = {name for node in root.iter() for name in node.attrib}
    assert not {name for name in attributes if name.endswith("DateTime")}
    assert "creationDateTime" not in etree.tostring(root).decode()


def test_qdpx_writer_variables_are_typed_and_mixed_types_fall_back_to_text():
    project = Project(name="p", sources=(
        TextSource("a", "A", "x", variables={"date": dt.date(2021, 3, 14), "n": 3,
                                             "score": 1.25, "exact": Decimal("0.1"),
                                             "ok": False, "when": dt.datetime(2021, 3, 14, 9)}),
        TextSource("b", "B", "y", variables={"date": "spring 2021", "n": 4}),
    ))
    root = etree.fromstring(project_xml(project))
    assert schema(PROJECT_XSD).validate(root)
    kinds = {v.get("name"): v.get("typeOfVariable")
             for v in root.iterfind(".//q:Variable", NS)}
    assert kinds == {"date": "Text", "n": "Integer", "score": "Float", "exact": "Float",
                     "ok": "Boolean", "when": "DateTime"}
    values = [e.text for e in root.iterfind(".//q:TextValue", NS)]
    assert values == ["2021-03-14", "spring 2021"]


def test_qdpx_writer_control_characters_in_labels_become_replacement_characters():
    text = "form\x0bfeed\x0cand\x00nul"
    project = Project(name="p\x01", users=(User("u", "U"),), codes=(Code("c", "C\x02"),),
                      sources=(TextSource("s", "S", text),),
                      selections=(Selection("x", "s", 0, len(text), "c"),),
                      notes=(Note("n", "memo\x1b"),))
    document = project_xml(project)
    root = etree.fromstring(document)
    assert schema(PROJECT_XSD).validate(root)
    assert root.get("name") == "p\ufffd"
    label = root.find(".//q:PlainTextSelection", NS).get("name")
    assert label == "form\ufffdfeed\ufffdand\ufffdnul"
    # the source file keeps the text exactly, so offsets do not move
    assert qdpx_parts(project)[f"sources/{guid_for('source', 's')}.txt"] == text.encode()


def _plus(field, *items):
    return lambda p: replace(p, **{field: getattr(p, field) + items})


@pytest.mark.parametrize(("change", "message"), [
    (_plus("selections", Selection("bad", "interview:emoji", 0, 10_000, "social")),
     "does not lie"),
    (_plus("selections", Selection("bad", "interview:nope", 0, 1, "social")),
     "unknown source"),
    (_plus("selections", Selection("bad", "interview:emoji", 0, 1, "nope")), "unknown code"),
    (_plus("selections", Selection("bad", "interview:emoji", 0, 1, "social", coder="nobody")),
     "unknown user"),
    (_plus("users", User("coder:ana", "A")), "used twice"),
    (_plus("codes", Code("x", "X", color="red")), "colour"),
    (_plus("notes", Note("note:rule:social", "other")), "two different notes"),
], ids=["offsets", "source", "code", "user", "duplicate-user", "colour", "note-clash"])
def test_qdpx_writer_refuses_an_inconsistent_model(change, message, tmp_path):
    target = tmp_path / "out.qdpx"
    with pytest.raises(ValueError, match=message):
        write_qdpx(change(sample_project()), target)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind, key", [("code", "social"), ("selection", "São|👩🏽‍💼|0"),
                                       ("note", ""), ("source", "x" * 5000)])
def test_qdpx_writer_guid_for_is_exactly_uuid5(kind, key):
    assert guid_for(kind, key) == str(uuid.uuid5(CITYQDA_NAMESPACE, f"{kind}\x1f{key}"))
    assert guid_for(kind, key, "given") == "given"


def _streamed(project: Project) -> tuple[Project, list[SourceGroup], dict[str, str]]:
    """The project as a head, its sources one group each in key order, and its variables."""
    groups = [SourceGroup(source, [s for s in project.selections if s.source == source.key])
              for source in sorted(project.sources, key=lambda s: s.key)]
    types = {"city": "Text", "interview_date": "Date", "segments": "Integer",
             "reviewed": "Boolean", "stakeholder_category": "Text"}
    return replace(project, sources=(), selections=()), groups, types


def test_qdpx_writer_streamed_sources_give_the_same_bytes(tmp_path):
    project = sample_project()
    head, groups, types = _streamed(project)
    streamed = write_qdpx_stream(head, iter(groups), tmp_path / "streamed.qdpx",
                                 variable_types=types)
    assert streamed.read_bytes() == write_qdpx(project, tmp_path / "whole.qdpx").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["streamed.qdpx", "whole.qdpx"]


def test_qdpx_writer_streamed_head_completed_with_the_users_and_codes_sources_named(tmp_path):
    project = sample_project()
    head, groups, types = _streamed(project)
    early = replace(head, users=(User("coder:ana", "Ana Sousa"),), codes=head.codes[:1])
    streamed = write_qdpx_stream(early, iter(groups), tmp_path / "late.qdpx",
                                 variable_types=types, complete_head=lambda: head)
    assert streamed.read_bytes() == write_qdpx(project, tmp_path / "whole.qdpx").read_bytes()


@pytest.mark.parametrize("completed", [
    lambda head: replace(head, users=head.users[:1]),
    lambda head: replace(head, users=tuple(replace(u, guid="given") for u in head.users)),
], ids=["user-missing", "own-guid"])
def test_qdpx_writer_streamed_head_must_hold_what_the_sources_named(completed, tmp_path):
    head, groups, types = _streamed(sample_project())
    early = replace(head, users=(), codes=head.codes)
    with pytest.raises(ValueError, match="completed project has no user"):
        write_qdpx_stream(replace(early, created_by=None), iter(groups),
                          tmp_path / "out.qdpx", variable_types=types,
                          complete_head=lambda: completed(head))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("change", "message"), [
    (lambda groups: groups[::-1], "key order"),
    (lambda groups: groups + groups[-1:], "used twice"),
    (lambda groups: [replace(groups[0], selections=[
        replace(s, notes=(Note("note:clash", "one"),)) for s in groups[0].selections[:1]]),
                     replace(groups[1], selections=[
        replace(s, notes=(Note("note:clash", "two"),)) for s in groups[1].selections[:1]])],
     "two different notes"),
], ids=["order", "source-twice", "note-clash-across-sources"])
def test_qdpx_writer_streamed_sources_refused_when_inconsistent(change, message, tmp_path):
    head, groups, types = _streamed(sample_project())
    head = replace(head, cases=(), sets=())
    with pytest.raises(ValueError, match=message):
        write_qdpx_stream(head, iter(change(groups)), tmp_path / "out.qdpx",
                          variable_types=types)
    assert list(tmp_path.iterdir()) == []
