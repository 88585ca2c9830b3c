"""The study coder's context rules: table rows, list lead-ins and references back to an
initiative, as a pure function and through `code` on a transcript with a table and a list."""

from __future__ import annotations

import json

import docx
import pytest
from coding_helpers import all_codings, check_offsets, codebook_yaml, query, write_codebook
from sqlalchemy import select

from pipeline.coding.decisions import set_decision
from pipeline.coding.section_context import (
    RULE_LIST_LEAD_IN,
    RULE_REFERENCE,
    RULE_TABLE_ROW,
    CueMatcher,
    Part,
    context_codings,
    context_fingerprint,
    is_value_cell,
    load_context_words,
    parts_from_layout,
)
from pipeline.store.schema import segments

MATCHER = CueMatcher.from_phrases([
    ("negation", "no"), ("negation", "not"), ("negation", "never"), ("negation", "close"),
    ("hypothetical", "should"), ("hypothetical", "{would|could} like"), ("problem", "lack"),
    ("pseudo", "not only"), ("planned", "will")])


def code(text: str, phrase: str, code_id: str, **flags) -> dict:
    """A counting tagger coding of `phrase` in `text`."""
    start = text.index(phrase)
    values = {"code": code_id, "dimension": code_id.split(".")[0], "start": start,
              "end": start + len(phrase), "text": phrase, "rule": f"{code_id}.rule",
              "kind": "dimension", "counts": True, "negated": False, "hypothetical": False,
              "planned": False, "problem": False, "codebook_version": "1.0.0"}
    values.update(flags)
    if values["negated"] or values["hypothetical"]:
        values["counts"] = False
    return values


def part(segment_id: int, text: str, codes=(), kind="paragraph", section="Programmes",
         initiatives=(), **place) -> Part:
    return Part(segment_id, segment_id, kind, section, text,
                {"codes": list(codes), "initiatives": list(initiatives)}, **place)


def cell(segment_id: int, text: str, row: int, column: int, label: str, codes=()) -> Part:
    return part(segment_id, text, codes, kind="table_cell", table=1, row=row, column=column,
                column_label=label)


DESCRIPTION = "A vocational training course for refugees in hotel kitchens."
TRAINING = code(DESCRIPTION, "vocational training", "economic.training")


def inherited(parts) -> dict[int, list[tuple[str, str, str]]]:
    """segment id -> [(rule, code, evidence)] of what the segments inherit."""
    return {segment_id: [(c["rule"], c["code"], c["text"]) for c in found]
            for segment_id, found in context_codings(parts, MATCHER).items()}


# --- cells that only hold a value ----------------------------------------------------------

@pytest.mark.parametrize(("text", "value"), [
    ("2009", True), ("1,650 euros", True), ("1,100 euros per couple", True),
    ("Every Sunday", True), ("Weekday afternoons", True), ("Since 2011", True),
    ("Twice a month", True), ("R$ 40", True), ("Running since April 2013", False),
    ("Kitchen Pathways", False), ("Unpaid volunteers", False),
    ("Planned to open in 2014", False)])
def test_section_context_value_cells(text, value):
    assert is_value_cell(text, load_context_words()) is value


# --- table rows ----------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "middle", "label", "expected"), [
    # the name cell and a status cell with words inherit; a year does not
    ("Kitchen Pathways", "Running since 2011", "Status",
     {1: [(RULE_TABLE_ROW, "economic.training", "Kitchen Pathways")],
      2: [(RULE_TABLE_ROW, "economic.training", "Running since 2011")]}),
    ("Kitchen Pathways", "2011", "Since",
     {1: [(RULE_TABLE_ROW, "economic.training", "Kitchen Pathways")]}),
    # a short label in a category column neither inherits nor gives
    ("Kitchen Pathways", "Private", "Sector",
     {1: [(RULE_TABLE_ROW, "economic.training", "Kitchen Pathways")]}),
    # a status cell that ends the initiative stops the whole row
    ("Kitchen Pathways", "Closed in 2012", "Status", {}),
    # a negated cell never inherits
    ("No longer Kitchen Pathways", "2011", "Since", {}),
])
def test_section_context_table_row(name, middle, label, expected):
    parts = [cell(1, name, 1, 1, "Service"), cell(2, middle, 1, 2, label),
             cell(3, DESCRIPTION, 1, 3, "Description", [TRAINING])]
    assert inherited(parts) == expected


def test_section_context_table_rows_stay_apart():
    other = "Portuguese lessons for staff."
    parts = [cell(1, "Kitchen Pathways", 1, 1, "Service"),
             cell(2, DESCRIPTION, 1, 2, "Description", [TRAINING]),
             cell(3, "Welcome Aboard", 2, 1, "Service"),
             cell(4, other, 2, 2, "Description",
                  [code(other, "Portuguese lessons", "cultural_religious.language")])]
    assert inherited(parts) == {
        1: [(RULE_TABLE_ROW, "economic.training", "Kitchen Pathways")],
        3: [(RULE_TABLE_ROW, "cultural_religious.language", "Welcome Aboard")]}


def test_section_context_inherited_coding_explains_itself():
    parts = [cell(7, "  Kitchen Pathways ", 1, 1, "Service"),
             cell(8, DESCRIPTION, 1, 2, "Description", [TRAINING])]
    [found] = context_codings(parts, MATCHER)[7]
    assert found["rule"] == RULE_TABLE_ROW and found["counts"] and not found["negated"]
    assert parts[0].text[found["start"]:found["end"]] == found["text"] == "Kitchen Pathways"
    assert found["inherited"] == {"segment_id": 8, "order": 8, "rule": TRAINING["rule"],
                                  "evidence": "vocational training", "text": DESCRIPTION}
    assert "the same table row" in found["reason"] and "¶8" in found["reason"]


def test_section_context_planned_source_stays_planned():
    text = "The city will open a vocational training centre."
    planned = code(text, "vocational training", "economic.training", planned=True)
    parts = [cell(1, "Skills Centre", 1, 1, "Programme"),
             cell(2, text, 1, 2, "Description", [planned])]
    [found] = context_codings(parts, MATCHER)[1]
    assert found["planned"] is True


# --- list lead-ins -------------------------------------------------------------------------

LEAD = "The centre runs a language course at three levels:"
LANGUAGE = code(LEAD, "language course", "cultural_religious.language")


@pytest.mark.parametrize(("lead", "lead_codes", "item", "expected"), [
    (LEAD, [LANGUAGE], "Beginners, twice a week.",
     [(RULE_LIST_LEAD_IN, "cultural_religious.language", "Beginners, twice a week.")]),
    ("Its activities include a language course for", [code(
        "Its activities include a language course for", "language course",
        "cultural_religious.language")], "mothers of young children.",
     [(RULE_LIST_LEAD_IN, "cultural_religious.language", "mothers of young children.")]),
    # a paragraph that does not introduce the list
    ("The centre runs a language course.", [code(
        "The centre runs a language course.", "language course",
        "cultural_religious.language")], "Beginners, twice a week.", None),
    # a lead-in without an initiative of its own gives nothing
    ("Its activities are:", [], "Beginners, twice a week.", None),
    # negated and hypothetical items never inherit
    (LEAD, [LANGUAGE], "Not for beginners.", None),
    (LEAD, [LANGUAGE], "Advanced, which should be longer.", None),
])
def test_section_context_list_lead_in(lead, lead_codes, item, expected):
    parts = [part(1, lead, lead_codes), part(2, item, kind="list_item", lead_in=1)]
    assert inherited(parts).get(2) == expected


# --- references back to an initiative ------------------------------------------------------

def named(text: str, name: str, phrase: str, code_id: str, section="Programmes",
          segment_id=1) -> Part:
    start = text.index(name)
    return part(segment_id, text, [code(text, phrase, code_id)], section=section,
                initiatives=[{"name": name, "start": start, "end": start + len(name),
                              "dimensions": [code_id.split(".")[0]], "status": "existing",
                              "negated": False, "hypothetical": False, "counts": True}])


NAMING = "Kitchen Pathways is a vocational training course run by the hotels."


@pytest.mark.parametrize(("later", "section", "expected"), [
    # the name, in any later section
    ("Kitchen Pathways was copied from a hotel in Amsterdam.", "Future",
     [(RULE_REFERENCE, "economic.training", "Kitchen Pathways")]),
    # "the <noun>" opening a sentence: the one initiative named in the section
    ("The programme is evaluated every year.", "Programmes",
     [(RULE_REFERENCE, "economic.training", "The programme")]),
    ("The traineeship was adapted from a Dutch scheme.", "Programmes",
     [(RULE_REFERENCE, "economic.training", "The traineeship")]),
    # ... but not in another section, and not a name of its own
    ("The programme is evaluated every year.", "Future", None),
    ("The Dual Career Network helps partners.", "Programmes", None),
    # elsewhere in the sentence, only a phrase whose words all belong to the name
    ("She praised the Kitchen course highly.", "Future", None),
    # negated, hypothetical and problem sentences never inherit
    ("Kitchen Pathways was never evaluated.", "Future", None),
    ("Kitchen Pathways should be extended.", "Future", None),
    ("Kitchen Pathways suffers from a lack of money.", "Future", None),
    # a name is matched as written
    ("Kitchen pathways in general are hard to find.", "Future", None),
])
def test_section_context_reference(later, section, expected):
    parts = [named(NAMING, "Kitchen Pathways", "vocational training", "economic.training"),
             part(2, later, section=section)]
    assert inherited(parts).get(2) == expected


def test_section_context_reference_by_the_words_of_a_name():
    text = "The Reference and Welcome Centre gives legal aid to newcomers."
    later = "The design of the reference centre came from Lisbon."
    parts = [named(text, "Reference and Welcome Centre", "legal aid", "legal.aid"),
             part(2, later, section="Future")]
    assert inherited(parts) == {2: [(RULE_REFERENCE, "legal.aid", "the reference centre")]}


def test_section_context_reference_needs_one_initiative_in_the_section():
    other = "Welcome Aboard is a language course for staff."
    parts = [named(NAMING, "Kitchen Pathways", "vocational training", "economic.training"),
             named(other, "Welcome Aboard", "language course", "cultural_religious.language",
                   segment_id=2),
             part(3, "The programme is evaluated every year.")]
    assert inherited(parts) == {}


def test_section_context_reference_to_a_list_item_name():
    item = "Conta Nova, a basic account for migrants, offers vocational training."
    parts = [part(1, item, [code(item, "vocational training", "economic.training")],
                  kind="list_item"),
             part(2, "Conta Nova was modelled on accounts in Chicago.", section="Future")]
    assert inherited(parts) == {
        2: [(RULE_REFERENCE, "economic.training", "Conta Nova")]}


def test_section_context_reference_to_a_table_name_cell():
    parts = [cell(1, "Kitchen Pathways", 1, 1, "Service"),
             cell(2, DESCRIPTION, 1, 2, "Description", [TRAINING]),
             part(3, "Kitchen Pathways was copied from Amsterdam.", section="Future")]
    found = inherited(parts)
    assert found[3] == [(RULE_REFERENCE, "economic.training", "Kitchen Pathways")]
    [coding] = context_codings(parts, MATCHER)[3]
    assert coding["inherited"]["segment_id"] == 2  # the cell that holds the evidence


def test_section_context_keeps_dimensions_it_has():
    later = "Kitchen Pathways also offers vocational training online."
    parts = [named(NAMING, "Kitchen Pathways", "vocational training", "economic.training"),
             part(2, later, [code(later, "vocational training", "economic.training")])]
    assert inherited(parts) == {}


# --- where the store puts segments ---------------------------------------------------------

def test_section_context_parts_from_layout():
    plain = "Service\nSince\nKitchen Pathways\n2011\nIt runs:\nBeginners\nAdvanced\n"
    offsets, start = [], 0
    for line in plain.splitlines():
        offsets.append((start, start + len(line)))
        start += len(line) + 1
    layout = [
        [1, 0, "table_header", "table_cell", *offsets[0], "S", "Q", False, "S"],
        [2, 0, "table_header", "table_cell", *offsets[1], "S", "Q", False, "S"],
        [3, 0, "answer", "table_cell", *offsets[2], "S", "Q", True, "S"],
        [4, 0, "answer", "table_cell", *offsets[3], "S", "Q", True, "S"],
        [5, 0, "answer", "paragraph", *offsets[4], "S", "Q", True, "S"],
        [6, 0, "answer", "list_item", *offsets[5], "S", "Q", True, "S"],
        [7, 0, "answer", "list_item", *offsets[6], "S", "Q", True, "S"]]
    segs = [{"id": 10 + order, "ord": order, "kind": layout[order - 1][3], "section": "S",
             "text": plain[slice(*offsets[order - 1])], "result": None}
            for order in range(3, 8)]
    parts = parts_from_layout(layout, plain, segs)
    assert [(p.segment_id, p.table, p.row, p.column, p.column_label, p.lead_in)
            for p in parts] == [
        (13, 1, 1, 1, "Service", None), (14, 1, 1, 2, "Since", None),
        (15, None, None, None, "", None), (16, None, None, None, "", 15),
        (17, None, None, None, "", 15)]


def test_section_context_parts_placed_by_stored_positions():
    """Without a header row, blocks that carry [table, row, column] are still placed."""
    plain = "Kitchen Pathways\n2011\nWelcome Aboard\n2009\n"
    layout, start = [], 0
    for order, line in enumerate(plain.splitlines(), start=1):
        row, column = (order + 1) // 2, 2 - order % 2
        layout.append([order, 0, "answer", "table_cell", start, start + len(line), "S", "Q",
                       True, "S", 4, row, column])
        start += len(line) + 1
    segs = [{"id": order, "ord": order, "kind": "table_cell", "section": "S",
             "text": plain.splitlines()[order - 1], "result": None} for order in range(1, 5)]
    parts = parts_from_layout(layout, plain, segs)
    assert [(p.table, p.row, p.column) for p in parts] == [
        (4, 1, 1), (4, 1, 2), (4, 2, 1), (4, 2, 2)]


def test_section_context_word_lists_checked(tmp_path):
    assert context_fingerprint() == f"1:{load_context_words().sha256[:16]}"
    broken = tmp_path / "lists.yaml"
    broken.write_text("version: 1\nvalue_words: [2009]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="lists.yaml"):
        load_context_words(broken)


# --- through `code` ------------------------------------------------------------------------

CODES = {"economic.training": ["vocational training"],
         "cultural_religious.language": ["language course"]}
ROW_DESCRIPTION = "A three-month vocational training course in hotel kitchens."


def write_table_transcript(path, description: str = ROW_DESCRIPTION) -> None:
    document = docx.Document()
    document.add_paragraph("City: Lisbon")
    document.add_paragraph("Category: business")
    document.add_heading("Policies and programmes", level=1)
    document.add_paragraph().add_run("Which programmes does the company run?").bold = True
    table = document.add_table(rows=3, cols=3)
    for column, label in enumerate(("Service", "Since", "Description")):
        table.cell(0, column).paragraphs[0].add_run(label).bold = True
    for row, values in enumerate((("Kitchen Pathways", "2011", description),
                                  ("Welcome Aboard", "2009", "Lessons for staff.")), start=1):
        for column, value in enumerate(values):
            table.cell(row, column).text = value
    document.add_paragraph("The hotels also run a language course at three levels:")
    document.add_paragraph("Beginners, twice a week", style="List Bullet")
    document.add_paragraph("Advanced, on Saturdays", style="List Bullet")
    document.add_heading("Future perspectives", level=1)
    document.add_paragraph().add_run("What could other cities learn?").bold = True
    document.add_paragraph("Kitchen Pathways was copied from a hotel in Amsterdam. "
                           "Welcome Aboard is not offered any more.")
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(path)


def context_rows(study):
    texts = dict(query(study, select(segments.c.id, segments.c.text)))
    return sorted((texts[r.segment_id], r.rule_id, r.code, r.evidence_text, bool(r.produced))
                  for r in all_codings(study) if (r.rule_id or "").startswith("context."))


def test_section_context_through_code(study, run_code, run_ingest, in_store):
    write_codebook(study, codebook_yaml("1.0.0", CODES))
    path = study.path("transcripts") / "LIS-BU-01.docx"
    write_table_transcript(path)
    run_ingest()
    first = run_code()
    assert not first.failed
    reference = ("Kitchen Pathways was copied from a hotel in Amsterdam. "
                 "Welcome Aboard is not offered any more.")
    assert context_rows(study) == [
        ("Advanced, on Saturdays", RULE_LIST_LEAD_IN, "cultural_religious.language",
         "Advanced, on Saturdays", True),
        ("Beginners, twice a week", RULE_LIST_LEAD_IN, "cultural_religious.language",
         "Beginners, twice a week", True),
        ("Kitchen Pathways", RULE_TABLE_ROW, "economic.training", "Kitchen Pathways", True),
        (reference, RULE_REFERENCE, "economic.training", "Kitchen Pathways", True)]
    assert check_offsets(study) > 0
    [name_cell] = [r for r in all_codings(study) if r.rule_id == RULE_TABLE_ROW]
    source = json.loads(name_cell.context)["extra"]["inherited"]
    assert source["text"] == ROW_DESCRIPTION and source["evidence"] == "vocational training"
    assert name_cell.counts == 1 and name_cell.dimension == "economic"

    # nothing changed: nothing coded again
    again = run_code()
    assert again.tally.segments_coded == 0 and again.tally.codings_new == 0

    # a coder accepts the inherited coding; then the row's description loses its
    # dimension: only that cell is re-coded, the inheritors follow, the decision stays
    in_store(lambda conn: set_decision(conn, name_cell.id, "ana", "accept", source="test"))
    write_table_transcript(path, "A three-month course in hotel kitchens.")
    run_ingest()
    edited = run_code()
    assert edited.tally.segments_coded == 1
    rows = context_rows(study)
    assert ("Kitchen Pathways", RULE_TABLE_ROW, "economic.training", "Kitchen Pathways",
            False) in rows
    assert (reference, RULE_REFERENCE, "economic.training", "Kitchen Pathways", False) in rows
    [kept] = [r for r in all_codings(study) if r.id == name_cell.id]
    assert kept.rule_gone == 1 and kept.produced == 0
    assert check_offsets(study) > 0
