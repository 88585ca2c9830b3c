"""Reading .qdpx back: exact round trips on hard texts, leniency towards other tools, and
refusal of hostile files, each with its own code."""

from __future__ import annotations

import zipfile

import pytest
from exchange_projects import TEXTS, minimal_qde, sample_project, zip_bytes
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import CityQDAError
from pipeline.exchange.model import Code, Project, Selection, TextSource, User, walk_codes
from pipeline.exchange.qdpx_reader import read_qde, read_qdpx
from pipeline.exchange.qdpx_writer import project_xml, qdpx_parts, write_qdpx
from pipeline.exchange.untrusted import Limits

GUID_A = "0f8fad5b-d9cb-469f-a165-70867728950e"
GUID_B = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
GUID_C = "{A1B2C3D4-0000-4000-8000-000000000001}"


def write(tmp_path, data: bytes, name="in.qdpx"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def refused(path, code, **options):
    with pytest.raises(CityQDAError) as caught:
        read_qdpx(path, **options)
    assert caught.value.code == code, caught.value.render()
    return caught.value


# --- round trips ---------------------------------------------------------------------------

def test_qdpx_reader_round_trip_keeps_every_selection_slice(tmp_path):
    original = sample_project()
    result = read_qdpx(write_qdpx(original, tmp_path / "study.qdpx"))
    assert result.problems == []
    back = result.project
    texts = {s.name: s.text for s in back.sources}
    for source in original.sources:
        assert texts[source.name] == source.text  # not a single newline normalised
    by_name = {s.key: s.name for s in back.sources}
    originals = {s.key: s for s in original.sources}
    expected = sorted((originals[s.source].name, s.start, s.end,
                       originals[s.source].text[s.start:s.end]) for s in original.selections)
    got = sorted((by_name[s.source], s.start, s.end, texts[by_name[s.source]][s.start:s.end])
                 for s in back.selections)
    assert got == expected
    assert len(back.selections) == len(original.selections)


def test_qdpx_reader_round_trip_keeps_codes_users_cases_sets_and_notes(tmp_path):
    original = sample_project()
    back = read_qdpx(write_qdpx(original, tmp_path / "study.qdpx")).project
    def tree(codes):
        return [(c.name, c.description, (c.color or "").lower(), c.codable,
                 tree(c.children)) for c in codes]
    assert tree(back.codes) == tree(original.codes)
    assert sorted(u.name for u in back.users) == sorted(u.name for u in original.users)
    assert sorted(c.name for c in back.cases) == sorted(c.name for c in original.cases)
    case = next(c for c in back.cases if c.name == "LIS-PM-00")
    assert case.variables == {"city": "Lisbon", "stakeholder_category": "policy_maker"}
    assert [s.name for s in back.sets] == sorted(s.name for s in original.sets)
    notes = {n.text for s in back.selections for n in s.notes}
    assert notes == {n.text for s in original.selections for n in s.notes}
    assert all("\r\nline 2" in text for text in notes)  # CR LF survives inside XML text
    social = next(c for c in walk_codes(back.codes) if c.name == "Social")
    assert [n.text for n in social.notes] == ["Rules: 12 patterns"]
    users = {u.key: u.name for u in back.users}
    coders = {(users[s.coder], users[s.created_by]) for s in back.selections}
    assert ("cityqda (unreviewed)", "cityqda (unreviewed)") in coders
    assert ("Ana Sousa", "Ana Sousa") in coders
    source = next(s for s in back.sources if s.name.endswith("accents"))
    assert source.variables["segments"] == 10 and source.variables["reviewed"] is True
    assert str(source.variables["interview_date"]) == "2021-03-01"


def test_qdpx_reader_written_again_reaches_a_fixed_point(tmp_path):
    once = read_qdpx(write_qdpx(sample_project(), tmp_path / "1.qdpx")).project
    twice = read_qdpx(write_qdpx(once, tmp_path / "2.qdpx")).project
    assert project_xml(once) == project_xml(twice)
    assert qdpx_parts(once) == qdpx_parts(twice)


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=0, max_size=60), st.lists(st.tuples(st.integers(0, 60),
                                                              st.integers(0, 60)), max_size=8))
def test_qdpx_reader_round_trip_property(tmp_path_factory, text, raw_spans):
    spans = sorted({(min(a, b), max(a, b)) for a, b in raw_spans
                    if max(a, b) <= len(text)})
    project = Project(name="p", users=(User("u", "U"),), codes=(Code("c", "C"),),
                      sources=(TextSource("s", "S", text),),
                      selections=tuple(Selection(f"x{i}", "s", a, b, "c", coder="u")
                                       for i, (a, b) in enumerate(spans)))
    folder = tmp_path_factory.mktemp("rt")
    back = read_qdpx(write_qdpx(project, folder / "p.qdpx")).project
    assert back.sources[0].text == text
    assert sorted((s.start, s.end) for s in back.selections) == spans


def test_qdpx_reader_accepts_what_other_tools_write(tmp_path):
    # Capitalised Sources/ folder, braces and upper case in GUIDs, a BOM, two codes on one
    # selection, inline PlainTextContent, and things cityqda does not carry.
    qde = minimal_qde(f"""
      <Users><User guid="{GUID_A}" name="Maria"/></Users>
      <CodeBook><Codes><Code guid="{GUID_C}" name="Housing" isCodable="true">
        <Code guid="11111111-1111-4111-8111-111111111111" name="Rent" isCodable="true"/>
      </Code></Codes></CodeBook>
      <Sources>
        <TextSource guid="{GUID_B.upper()}" name="doc" plainTextPath="internal://{GUID_B}.txt">
          <PlainTextSelection guid="22222222-2222-4222-8222-222222222222" startPosition="0"
              endPosition="4" creatingUser="{{{GUID_A.upper()}}}">
            <Coding guid="33333333-3333-4333-8333-333333333333" creatingUser="{GUID_A}">
              <CodeRef targetGUID="{GUID_C.strip('{}').lower()}"/></Coding>
            <Coding guid="44444444-4444-4444-8444-444444444444">
              <CodeRef targetGUID="11111111-1111-4111-8111-111111111111"/></Coding>
          </PlainTextSelection>
          <PlainTextSelection guid="55555555-5555-4555-8555-555555555555" startPosition="2"
              endPosition="99"><Coding guid="66666666-6666-4666-8666-666666666666">
              <CodeRef targetGUID="{GUID_C}"/></Coding></PlainTextSelection>
          <PlainTextSelection guid="77777777-7777-4777-8777-777777777777" startPosition="0"
              endPosition="1"><Coding guid="88888888-8888-4888-8888-888888888888">
              <CodeRef targetGUID="99999999-9999-4999-8999-999999999999"/></Coding>
          </PlainTextSelection>
        </TextSource>
        <TextSource guid="aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa" name="inline">
          <PlainTextContent>inline text</PlainTextContent></TextSource>
        <PDFSource guid="bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb" name="scan.pdf"
            path="internal://scan.pdf"/>
        <TextSource guid="cccccccc-cccc-4ccc-8ccc-cccccccccccc" name="far"
            plainTextPath="absolute:///home/maria/far.txt"/>
      </Sources>
      <Graphs><Graph guid="dddddddd-dddd-4ddd-8ddd-dddddddddddd"/></Graphs>""")
    path = write(tmp_path, zip_bytes({"project.qde": qde,
                                      f"Sources/{GUID_B}.txt": "\ufeffCasa nova".encode()}))
    result = read_qdpx(path)
    project = result.project
    assert {s.name: s.text for s in project.sources} == {"doc": "Casa nova",
                                                          "inline": "inline text"}
    assert sorted((s.start, s.end, s.code) for s in project.selections) == [
        (0, 4, "11111111-1111-4111-8111-111111111111"), (0, 4, GUID_C)]
    maria = project.users[0].key
    assert {s.created_by for s in project.selections} == {maria}
    assert {s.coder for s in project.selections} == {maria, None}
    messages = "\n".join(p.render() for p in result.problems)
    assert {p.code for p in result.problems} == {"CQ850", "CQ851"}
    for expected in ("PDFSource scan.pdf", "absolute:///home/maria/far.txt", "graphs",
                     "[2, 99) does not lie", "not in the codebook"):
        assert expected in messages
    assert project_xml(project)  # what was read can be written again


def test_qdpx_reader_bare_qde_reads_inline_sources_and_reports_files(tmp_path):
    qde = minimal_qde(f"""<Sources>
        <TextSource guid="{GUID_A}" name="in"><PlainTextContent>hi</PlainTextContent>
        </TextSource>
        <TextSource guid="{GUID_B}" name="out" plainTextPath="internal://{GUID_B}.txt"/>
      </Sources>""")
    result = read_qde(write(tmp_path, qde, "project.qde"))
    assert [s.name for s in result.project.sources] == ["in"]
    assert "does not include" in result.problems[0].render()


def test_qdpx_reader_other_namespace_is_read_with_a_warning(tmp_path):
    qde = b'<?xml version="1.0"?><Project name="x"><Users><User guid="' + \
        GUID_A.encode() + b'" name="U"/></Users></Project>'
    result = read_qdpx(write(tmp_path, zip_bytes({"project.qde": qde})))
    assert [u.name for u in result.project.users] == ["U"]
    assert "namespace none" in result.problems[0].render()


# --- refusals ------------------------------------------------------------------------------

XXE = """<!DOCTYPE Project [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
"""
LAUGHS = "<!DOCTYPE lolz [<!ENTITY lol \"lol\">" + "".join(
    f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
    for i in range(1, 10)) + "]>\n"


@pytest.mark.parametrize(("qde", "code"), [
    (minimal_qde("<Description>&secret;</Description>", head=XXE), "CQ805"),
    (minimal_qde("<Description>&lol9;</Description>", head=LAUGHS), "CQ805"),
    (minimal_qde("<Description>&secret;</Description>", head=XXE).decode().replace(
        'encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"), "CQ805"),
    (b'<?xml version="1.0"?><Project name="x"><Users>', "CQ806"),
    (b'<?xml version="1.0"?><CodeBook xmlns="urn:QDA-XML:codebook:1.0"/>', "CQ807"),
    (minimal_qde(f'<Users><User guid="{GUID_A}"/><User guid="{GUID_A.upper()}"/></Users>'),
     "CQ808"),
    (minimal_qde('<Users><User name="no guid"/></Users>'), "CQ808"),
    (minimal_qde(f'<Sources><TextSource guid="{GUID_A}" name="s" '
                 f'plainTextPath="internal://missing.txt"/></Sources>'), "CQ808"),
    (minimal_qde(f'<Sources><TextSource guid="{GUID_A}" name="s" '
                 f'plainTextPath="internal://../../etc/passwd"/></Sources>'), "CQ804"),
], ids=["xxe", "billion-laughs", "xxe-utf16", "truncated", "codebook-not-project",
        "guid-twice", "guid-missing", "source-file-missing", "source-path-traversal"])
def test_qdpx_reader_refuses_hostile_or_broken_documents(tmp_path, qde, code):
    error = refused(write(tmp_path, zip_bytes({"project.qde": qde})), code)
    assert str(tmp_path) in error.render()


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/passwd", "sources/../../x.txt",
                                  "C:/Windows/x.txt", "sources\\..\\..\\x.txt"])
def test_qdpx_reader_refuses_path_traversal_in_member_names(tmp_path, name):
    data = zip_bytes({"project.qde": minimal_qde(), name: b"x"})
    error = refused(write(tmp_path, data), "CQ804")
    assert repr(name) in error.render()


@pytest.mark.parametrize(("data", "code", "fragment"), [
    (b"", "CQ801", "empty"),
    (b"%PDF-1.7 not a project", "CQ801", "not a zip"),
    (minimal_qde(), "CQ801", "plain XML"),
    (zip_bytes({"readme.txt": b"hello"}), "CQ801", "no project document"),
    (zip_bytes({"a.qde": minimal_qde(), "b.qde": minimal_qde()}), "CQ808", "several"),
    (zip_bytes({"project.qde": minimal_qde()})[:60], "CQ802", "damaged"),
], ids=["empty", "pdf", "xml", "no-qde", "two-qde", "truncated-zip"])
def test_qdpx_reader_refuses_what_is_not_a_project_archive(tmp_path, data, code, fragment):
    error = refused(write(tmp_path, data), code)
    assert fragment in error.render()


def test_qdpx_reader_refuses_non_utf8_sources(tmp_path):
    qde = minimal_qde(f'<Sources><TextSource guid="{GUID_A}" name="latin" '
                      f'plainTextPath="internal://{GUID_A}.txt"/></Sources>')
    data = zip_bytes({"project.qde": qde, f"sources/{GUID_A}.txt": "Caf\xe9".encode("cp1252")})
    error = refused(write(tmp_path, data), "CQ809")
    assert "latin" in error.render()


def test_qdpx_reader_refuses_oversized_files(tmp_path):
    path = write_qdpx(sample_project(), tmp_path / "study.qdpx")
    error = refused(path, "CQ803", limits=Limits(max_file_bytes=1000))
    assert "limit" in error.render()
    refused(path, "CQ803", limits=Limits(max_member_bytes=100))
    refused(path, "CQ803", limits=Limits(max_total_bytes=2000))
    refused(path, "CQ803", limits=Limits(max_members=2))
    refused(path, "CQ803", limits=Limits(max_xml_bytes=100))


def test_qdpx_reader_refuses_a_zip_bomb_by_its_declared_sizes(tmp_path):
    # 300 MiB of zeros packs into well under 1 MiB; the default limits refuse it before a
    # single byte is inflated.
    path = tmp_path / "bomb.qdpx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.qde", minimal_qde())
        with archive.open("sources/zeros.txt", "w") as member:
            chunk = bytes(1024 * 1024)
            for _ in range(300):
                member.write(chunk)
    assert path.stat().st_size < 2 * 1024 * 1024
    error = refused(path, "CQ803")
    assert "zeros.txt" in error.render()


def test_qdpx_reader_refuses_a_high_compression_ratio(tmp_path):
    data = zip_bytes({"project.qde": minimal_qde(), "sources/z.txt": bytes(2 * 1024 * 1024)})
    error = refused(write(tmp_path, data), "CQ803",
                    limits=Limits(ratio_floor=1024 * 1024, max_ratio=50))
    assert "times its packed size" in error.render()


def test_qdpx_reader_refuses_unreadable_paths(tmp_path):
    refused(tmp_path / "missing.qdpx", "CQ810")


def test_qdpx_reader_does_not_normalise_newlines_in_sources(tmp_path):
    text = TEXTS["crlf"]
    project = sample_project({"crlf": text})
    back = read_qdpx(write_qdpx(project, tmp_path / "p.qdpx")).project
    assert back.sources[0].text.count("\r\n") == text.count("\r\n")
    assert back.sources[0].text == text
