"""Each cross-check catches its planted fault, naming the city, file or register row."""

from __future__ import annotations

import hashlib
import json

import pytest
from aggregate_fixture import CITIES, NOW, REGISTER_ROWS
from sqlalchemy import insert, update

from pipeline.aggregate.checks import cross_checks
from pipeline.aggregate.tables import study_tables
from pipeline.ingest.register import write_register
from pipeline.store.schema import initiatives, interviews, partnerships


def run_checks(agg, tables=None, **options):
    store = agg.store()
    try:
        with store.read() as conn:
            tables = tables or study_tables(conn, agg.study, **options)
            return cross_checks(conn, agg.study, tables, **options)
    finally:
        store.close()


@pytest.mark.parametrize("round_", [None, "1", "2"])
def test_checks_cross_pass_on_a_consistent_study(agg, round_):
    assert run_checks(agg, round=round_) == []


def _register_says_declined(agg):
    rows = [dict(r) for r in REGISTER_ROWS]
    rows[1]["outcome"] = "declined"  # LIS-BU-01 was interviewed all the same
    write_register(agg.study.path("register"), rows, CITIES, agg.study.vocabularies)


def _transcript_without_register_row(agg):
    agg.write(lambda conn: conn.execute(insert(interviews).values(
        file="LIS-PR-07.docx", path="transcripts/LIS-PR-07.docx",
        sha256=hashlib.sha256(b"x").hexdigest(), status="active", plain_text="x",
        metadata=json.dumps({"city": {"value": "Lisbon"},
                             "stakeholder_category": {"value": "practitioner"}}),
        ingested_at=NOW)))


def _interviewed_row_without_transcript(agg):
    rows = [*REGISTER_ROWS, {"round": "2", "city": "Nairobi", "category": "business",
                             "outcome": "interviewed", "transcript_file": "NAI-BU-01.docx"}]
    write_register(agg.study.path("register"), rows, CITIES, agg.study.vocabularies)


def _initiative_with_a_foreign_dimension(agg):
    agg.write(lambda conn: conn.execute(
        update(initiatives).where(initiatives.c.id == agg.initiatives["I2"])
        .values(dimensions=json.dumps(["economic", "culture"]))))


def _initiative_with_a_repeated_dimension(agg):
    agg.write(lambda conn: conn.execute(
        update(initiatives).where(initiatives.c.id == agg.initiatives["I7"])
        .values(dimensions=json.dumps(["legal", "legal"]))))


def _partnership_with_an_unknown_type(agg):
    agg.write(lambda conn: conn.execute(
        update(partnerships).where(partnerships.c.id == agg.partnerships["P1"])
        .values(type="public-private")))


# fault -> (code, what the problem must name)
FAULTS = {
    "register outcome contradicts an interview": (
        _register_says_declined, "CQ702", {"city": "Lisbon"}, "LIS-BU-01.docx"),
    "transcript without a register row": (
        _transcript_without_register_row, "CQ705", {"file": "LIS-PR-07.docx"},
        "transcripts/LIS-PR-07.docx"),
    "interviewed register row without a transcript": (
        _interviewed_row_without_transcript, "CQ706", {"value": "NAI-BU-01.docx"},
        "row 13"),
    "initiative with a dimension outside the study's": (
        _initiative_with_a_foreign_dimension, "CQ703", {"city": "Lisbon"}, "culture"),
    "initiative listing a dimension twice": (
        _initiative_with_a_repeated_dimension, "CQ703", {"city": "São Paulo"},
        "Legal Clinic"),
    "partnership with a type outside the study's": (
        _partnership_with_an_unknown_type, "CQ704", {"city": "Lisbon"}, "public-private"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_checks_cross_catch_each_planted_fault(agg, fault):
    plant, code, fields, named = FAULTS[fault]
    plant(agg)
    problems = run_checks(agg)
    found = [p for p in problems if p.code == code]
    assert found, [p.render() for p in problems]
    assert all(p.spec.level == "error" for p in found)
    problem = found[0]
    for key, value in fields.items():
        assert problem.fields[key] == value
    assert named in problem.render()


def test_checks_cross_catch_a_table_that_miscounts_interviewees(agg):
    """The interviewee check compares the table with the store, so a table computed
    wrongly (here: tampered with) cannot go out."""
    store = agg.store()
    try:
        with store.read() as conn:
            tables = study_tables(conn, agg.study)
    finally:
        store.close()
    tables["interviewees"].rows[0][-1] += 1  # Lisbon total 3 instead of 2
    problems = run_checks(agg, tables)
    codes = {(p.code, p.fields.get("city")) for p in problems}
    assert ("CQ701", "Lisbon") in codes
    assert ("CQ701", "all cities") in codes


def test_checks_cross_without_register_rows_warn_instead(agg):
    write_register(agg.study.path("register"), [], CITIES, agg.study.vocabularies)
    problems = run_checks(agg)
    assert [p.code for p in problems] == ["CQ730"]
    assert problems[0].spec.level == "warning"
