"""Roles, guide sections and questions; what becomes a segment."""

from __future__ import annotations

import pytest
from docx_builders import append_xml, new_document, paragraph, run, to_bytes

from pipeline.ingest.guides import default_guides_dir, load_guides
from pipeline.ingest.transcript import IngestSettings, analyse


@pytest.fixture(scope="module")
def guides():
    return load_guides(default_guides_dir())


def structure(document, guides, lines=None):
    if lines:
        for label, value in lines.items():
            document.paragraphs[0].insert_paragraph_before(f"{label}: {value}")
    return analyse(to_bytes(document), file_name="x.docx", display="x.docx",
                   settings=IngestSettings(guides=guides))


def roles(result):
    return [(p.role, p.text, p.section, p.question) for p in result.structure.paragraphs
            if p.role != "empty"]


def test_structure_heading_styles_and_bold_headings_match_the_guide(guides):
    document = new_document()
    document.add_heading("1. Introduction", level=1)
    document.add_paragraph("Answer one.")
    document.add_paragraph().add_run("III. Policies & Programs:").bold = True
    document.add_paragraph("Answer two.")
    document.add_heading("Future perspective ", level=2)
    document.add_paragraph("Answer three.")
    result = structure(document, guides, {"Category": "policy maker"})
    assert [(r[0], r[2]) for r in roles(result)] == [
        ("metadata", None), ("heading", "Introduction"), ("answer", "Introduction"),
        ("heading", "Policies and programmes"), ("answer", "Policies and programmes"),
        ("heading", "Future perspectives"), ("answer", "Future perspectives")]
    assert [p.heading for p in result.structure.segments] == [
        "1. Introduction", "III. Policies & Programs:", "Future perspective"]
    assert result.structure.warnings == []


def test_structure_unknown_heading_warns_but_opens_a_section(guides):
    document = new_document()
    document.add_heading("Anecdotes from the field", level=1)
    document.add_paragraph("Answer.")
    result = structure(document, guides, {"Category": "practitioner"})
    assert ("heading", "Anecdotes from the field", "Anecdotes from the field", None) in \
        roles(result)
    (warning,) = result.structure.warnings
    assert warning.code == "CQ123"
    assert warning.fields["guide"] == "practitioners"


def test_structure_section_of_another_guide_is_flagged(guides):
    document = new_document()
    document.add_heading("Cities", level=1)  # in the businesses guide, not policy makers'
    document.add_paragraph("Answer.")
    result = structure(document, guides, {"Category": "policy maker"})
    assert [w.code for w in result.structure.warnings] == ["CQ123"]
    # the hint lists the guide's sections, so the writer can pick the right title
    assert "its sections: Introduction; " in result.structure.warnings[0].hint


def test_structure_questions_bold_italic_or_q_prefixed(guides):
    document = new_document()
    document.add_heading("Partnerships", level=1)
    document.add_paragraph().add_run("Do you work with NGOs?").bold = True
    document.add_paragraph("Yes, with three.")
    document.add_paragraph().add_run("With whom exactly?").italic = True
    document.add_paragraph("A: The Red Cross and two parishes.")
    document.add_paragraph("Q: How long? A: Since 2015.")
    document.add_paragraph("Q3. Any evaluation?")
    append_xml(document, paragraph(run("Partly ", bold=True), run("bold answer stays one.")))
    result = structure(document, guides)
    assert roles(result)[1:] == [
        ("question", "Do you work with NGOs?", "Partnerships", "Do you work with NGOs?"),
        ("answer", "Yes, with three.", "Partnerships", "Do you work with NGOs?"),
        ("question", "With whom exactly?", "Partnerships", "With whom exactly?"),
        ("answer", "The Red Cross and two parishes.", "Partnerships", "With whom exactly?"),
        ("question", "Q: How long?", "Partnerships", "How long?"),
        ("answer", "Since 2015.", "Partnerships", "How long?"),
        ("question", "Q3. Any evaluation?", "Partnerships", "Any evaluation?"),
        ("answer", "Partly bold answer stays one.", "Partnerships", "Any evaluation?"),
    ]


def test_structure_table_cells_and_list_items_are_segments(guides):
    document = new_document()
    document.add_heading("Policies and programmes", level=1)
    table = document.add_table(rows=2, cols=2)
    for column, text in enumerate(("Initiative", "Target group")):
        table.cell(0, column).paragraphs[0].add_run(text).bold = True
    table.cell(1, 0).text = "Welcome desk"
    table.cell(1, 1).text = "Newly arrived refugees"
    document.add_paragraph("Language courses", style="List Bullet")
    result = structure(document, guides)
    assert [(p.role, p.kind, p.text) for p in result.structure.paragraphs[1:]] == [
        ("table_header", "table_cell", "Initiative"),
        ("table_header", "table_cell", "Target group"),
        ("answer", "table_cell", "Welcome desk"),
        ("answer", "table_cell", "Newly arrived refugees"),
        ("answer", "list_item", "Language courses")]
    assert [s.text for s in result.structure.segments] == [
        "Welcome desk", "Newly arrived refugees", "Language courses"]


def test_structure_when_in_doubt_an_answer(guides):
    document = new_document()
    long_bold = " ".join(["word"] * 90)
    document.add_paragraph().add_run(long_bold).bold = True
    document.add_paragraph("Plain first paragraph without heading.")
    result = structure(document, guides)
    assert [p.role for p in result.structure.paragraphs] == ["answer", "answer"]
    assert all(p.section is None for p in result.structure.segments)


def test_structure_title_after_the_metadata_is_not_a_section(guides):
    document = new_document()
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "Stakeholder type"
    table.cell(0, 1).text = "Private sector / business"
    document.add_heading("Summary of the interview with Müller Construction", level=1)
    document.add_heading("Introduction", level=1)
    document.add_paragraph("Answer.")
    result = structure(document, guides)
    assert [(r[0], r[1]) for r in roles(result)][2:] == [
        ("title", "Summary of the interview with Müller Construction"),
        ("heading", "Introduction"), ("answer", "Answer.")]
    assert result.structure.warnings == []


@pytest.mark.parametrize("written, kept", [
    ("A1. Since 2015.", "Since 2015."),
    ("A 2: Since 2015.", "Since 2015."),
    ("Answer 3) Since 2015.", "Since 2015."),
    ("A1 level Dutch is required.", "A1 level Dutch is required."),
    ("A 1-year course.", "A 1-year course."),
])
def test_structure_numbered_answer_label_is_trimmed_like_the_question(guides, written, kept):
    """'Q1. ...' / 'A1. ...' summaries: the answer's label is no part of the coded text,
    as 'A:' already was not; a level or a number in a sentence stays."""
    document = new_document()
    document.add_heading("Partnerships", level=1)
    document.add_paragraph("Q1. How long?")
    document.add_paragraph(written)
    result = structure(document, guides)
    assert roles(result)[-1] == ("answer", kept, "Partnerships", "How long?")
