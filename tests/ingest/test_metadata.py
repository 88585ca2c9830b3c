"""Metadata from the table, the lines, the properties and the register, ranked and checked."""

from __future__ import annotations

import datetime as dt

import pytest
from docx_builders import new_document, to_bytes, transcript

from pipeline.ingest.guides import default_guides_dir, load_guides
from pipeline.ingest.metadata import command_argument, parse_date, parse_pairs
from pipeline.ingest.register import load_register, write_register
from pipeline.ingest.transcript import IngestSettings, analyse

SECTIONS = {"Introduction": [("Please introduce yourself.", "I coordinate the welcome desk.")]}


@pytest.fixture(scope="module")
def guides():
    return load_guides(default_guides_dir())


@pytest.fixture
def register(tmp_path):
    path = tmp_path / "register.xlsx"
    write_register(path, rows=[
        {"round": 1, "city": "Malaga", "country": "Spain", "organisation": "Ayuntamiento",
         "category": "Local policy maker", "outcome": "interviewed",
         "transcript_file": "MAL-PM-01.docx", "interview_date": dt.date(2021, 5, 4),
         "mode": "Zoom", "interviewer": "Ana"},
    ], cities=[{"city": "Málaga", "country": "Spain", "code": "MAL", "aliases": ["Malaga"]},
               {"city": "Lisbon", "country": "Portugal", "code": "LIS",
                "aliases": ["Lisboa"]}])
    return load_register(path)


def run(document, guides, register=None, name="MAL-PM-01.docx", overrides=None):
    return analyse(to_bytes(document), file_name=name, display=name,
                   settings=IngestSettings(guides=guides, register=register),
                   overrides=overrides)


def codes(result):
    return [w.code for w in result.warnings]


def field(result, name):
    state = result.metadata.fields.get(name) or {}
    return state.get("value"), state.get("raw"), state.get("source")


@pytest.mark.parametrize("written, iso, ambiguous", [
    ("2021-03-14", "2021-03-14", False),
    ("14/03/2021", "2021-03-14", False),
    ("3/14/2021", "2021-03-14", False),
    ("03/04/2021", "2021-04-03", True),
    ("04.04.2021", "2021-04-04", False),
    ("14.03.21", "2021-03-14", False),
    ("14 March 2021", "2021-03-14", False),
    ("14th of March, 2021", "2021-03-14", False),
    ("March 14, 2021", "2021-03-14", False),
    ("Sept 3 2020", "2020-09-03", False),
    ("March 2021", "2021-03", False),
    ("14-Mar-21", "2021-03-14", False),
    ("14/Mar/2021", "2021-03-14", False),
    ("Mar-21", None, False),
    ("31/02/2021", None, False),
    ("sometime last spring", None, False),
    (dt.date(2020, 1, 2), "2020-01-02", False),
])
def test_metadata_parse_date(written, iso, ambiguous):
    parsed = parse_date(written)
    assert (parsed.iso, parsed.ambiguous) == (iso, ambiguous)


def test_metadata_parse_pairs_reads_known_labels_only():
    assert parse_pairs("City: Lisbon; Organization: Câmara | Date of interview: 2021-01-02") == [
        ("city", "Lisbon"), ("organisation", "Câmara"), ("interview_date", "2021-01-02")]
    assert parse_pairs("Note: this is not metadata") is None
    assert parse_pairs("Position: head of unit; deputy mayor") == [
        ("position", "head of unit; deputy mayor")]


def test_metadata_table_at_the_top(guides):
    document = transcript(title="Interview summary", metadata_table={
        "City": "Lisboa", "Stakeholder type": "NGO / civil society",
        "Organization": "Refugee Aid", "Interview date": "2021-02-03",
        "Format": "Skype"}, sections=SECTIONS)
    result = run(document, guides, name="LIS-CS-01.docx")
    assert field(result, "stakeholder_category") == ("civil_society", "NGO / civil society",
                                                     "table")
    assert field(result, "mode") == ("video", "Skype", "table")
    assert field(result, "organisation") == ("Refugee Aid", "Refugee Aid", "table")
    assert field(result, "interview_guide") == ("third_actors", None, "derived")
    roles = {p.text: p.role for p in result.structure.paragraphs}
    assert roles["Interview summary"] == "title"
    assert roles["City"] == roles["Lisboa"] == "metadata"
    assert [s.text for s in result.structure.segments] == ["I coordinate the welcome desk."]


def test_metadata_lines_at_the_top_only(guides):
    document = transcript(metadata_lines={
        "City": "Lisbon", "Category": "Third actor – faith-based organisation",
        "Date of interview": "3 May 2021", "Interview mode": "face-to-face"},
        sections=SECTIONS)
    document.add_paragraph("City: this line is inside an answer and stays an answer.")
    result = run(document, guides, name="LIS-CS-02.docx")
    assert field(result, "city") == ("Lisbon", "Lisbon", "lines")
    assert field(result, "stakeholder_category")[0] == "civil_society"
    assert field(result, "interview_date") == ("2021-05-03", "3 May 2021", "lines")
    assert field(result, "mode")[0] == "face_to_face"
    segments = [s.text for s in result.structure.segments]
    assert "City: this line is inside an answer and stays an answer." in segments
    assert not any(s.startswith("Category") for s in segments)


def test_metadata_core_properties(guides):
    document = transcript(sections=SECTIONS,
                          comments="Mode: telephone; Organisation: Job Centre")
    document.core_properties.keywords = "practitioner, Lisbon"
    result = run(document, guides, name="LIS-PR-01.docx")
    assert field(result, "mode") == ("telephone", "telephone", "properties")
    assert field(result, "organisation")[2] == "properties"
    assert field(result, "stakeholder_category") == ("practitioner", "practitioner",
                                                     "properties")
    assert "CQ120" not in codes(result)


def test_metadata_register_row_and_city_alias(guides, register):
    result = run(transcript(sections=SECTIONS), guides, register)
    assert field(result, "city") == ("Málaga", "Malaga", "register")
    assert field(result, "stakeholder_category") == ("policy_maker", "Local policy maker",
                                                     "register")
    assert field(result, "interview_date") == ("2021-05-04", "2021-05-04", "register")
    assert field(result, "mode") == ("video", "Zoom", "register")
    assert codes(result) == []


def test_metadata_ranking_and_every_disagreement_named(guides, register):
    document = transcript(metadata_table={"City": "Lisbon"},
                          metadata_lines={"City": "Porto"}, sections=SECTIONS,
                          comments="City: Braga")
    result = run(document, guides, register)
    assert field(result, "city") == ("Lisbon", "Lisbon", "table")
    conflicts = [w for w in result.warnings if w.code == "CQ124"]
    assert {(w.fields["winner"], w.fields["other"]) for w in conflicts} == {
        ("Lisbon", "Porto"), ("Lisbon", "Braga"), ("Lisbon", "Malaga")}
    assert all("Lisbon" in w.message and w.fields["other"] in w.message for w in conflicts)
    overridden = run(document, guides, register, overrides={"city": "Málaga"})
    assert field(overridden, "city") == ("Málaga", "Málaga", "override")


def test_metadata_same_meaning_is_no_conflict(guides, register):
    document = transcript(metadata_lines={"Mode": "video call", "City": "MALAGA"},
                          sections=SECTIONS)
    result = run(document, guides, register)
    assert "CQ124" not in codes(result)
    assert field(result, "mode") == ("video", "video call", "lines")


@pytest.mark.parametrize("lines, code", [
    ({"Category": "astronaut"}, "CQ121"),
    ({"City": "Atlantis"}, "CQ122"),
    ({"Date": "05/06/2021"}, "CQ127"),
    ({"Date": "last spring"}, "CQ128"),
    ({"Mode": "carrier pigeon"}, "CQ129"),
])
def test_metadata_doubtful_values_are_warnings_and_keep_the_wording(guides, register, lines,
                                                                     code):
    result = run(transcript(metadata_lines=lines, sections=SECTIONS), guides, register,
                 name="OTHER.docx")
    assert code in codes(result)
    (label, written), = lines.items()
    assert written in {state["raw"] for state in result.metadata.fields.values()}


@pytest.mark.parametrize("name, expected", [
    ("MAL-PM-01.docx", "MAL-PM-01.docx"),
    ("transcripts/São Paulo/SAO_PM_01.docx", '"transcripts/São Paulo/SAO_PM_01.docx"'),
    ("Lisbon interview 2 (final).docx", '"Lisbon interview 2 (final).docx"'),
    ("Ärger.DOCX", "Ärger.DOCX"),
    ('say "hi".docx', '"say \\"hi\\".docx"'),
])
def test_metadata_command_argument_quotes_only_what_a_shell_would_split(name, expected):
    assert command_argument(name) == expected


def test_metadata_hint_commands_can_be_copied_for_a_file_name_with_spaces(guides, register):
    """The suggested `interview set` names the file as one shell argument."""
    name = "Lisbon interview 2.docx"
    result = run(transcript(metadata_lines={"City": "Porto", "Date": "05/06/2021"},
                            sections=SECTIONS), guides, register, name=name)
    hints = {w.code: w.hint for w in result.warnings}
    assert f'`cityqda interview set "{name}" interview_date YYYY-MM-DD`' in hints["CQ127"]
    assert all(w.file == name for w in result.warnings)


def test_metadata_none_at_all_and_not_in_register(guides, register):
    result = run(transcript(sections=SECTIONS), guides, register, name="UNKNOWN.docx")
    assert codes(result)[:2] == ["CQ120", "CQ125"]
    assert result.metadata.fields == {}


def test_metadata_empty_document(guides):
    result = run(new_document(), guides)
    assert "CQ126" in codes(result)
    assert result.structure.segments == []
