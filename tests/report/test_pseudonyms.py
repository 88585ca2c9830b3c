"""Pseudonyms: the register's wins; otherwise CITYCODE-CAT-NN, stable as interviews come."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine

from pipeline.ingest.register import City, Register, RegisterRow
from pipeline.report.pseudonyms import assign_pseudonyms, category_code
from pipeline.store.schema import interviews, metadata


def store_with(rows):
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as conn:
        for interview_id, file, city, category in rows:
            conn.execute(interviews.insert().values(
                id=interview_id, file=file, path=f"t/{file}", sha256="x", ingested_at="x",
                metadata=json.dumps({"city": {"value": city},
                                     "stakeholder_category": {"value": category}})))
    return engine


def register(*rows):
    return Register(path=None, cities=[City("Lisbon", "Portugal", "LSB")],
                    rows=[RegisterRow(row=i + 2, round="1", city=city, category=category,
                                      outcome="interviewed", transcript_file=file,
                                      pseudonym=pseudonym)
                          for i, (file, city, category, pseudonym) in enumerate(rows)])


def test_pseudonyms_register_wins_and_numbers_skip_taken_ones():
    engine = store_with([(1, "maria silva.docx", "Lisbon", "policy_maker"),
                         (2, "joao.docx", "Lisbon", "policy_maker"),
                         (3, "chief.docx", "Lisbon", "business"),
                         (4, "x.docx", "Porto", None)])
    given = register(("joao.docx", "Lisbon", "policy_maker", "LSB-PM-01"))
    with engine.connect() as conn:
        names = assign_pseudonyms(conn, given)
    assert names == {1: "LSB-PM-02", 2: "LSB-PM-01", 3: "LSB-BU-01", 4: "POR-XX-01"}


def test_pseudonyms_do_not_move_when_an_interview_is_added():
    rows = [(1, "a.docx", "Lisbon", "business"), (2, "b.docx", "Lisbon", "business")]
    with store_with(rows).connect() as conn:
        before = assign_pseudonyms(conn, register())
    with store_with([*rows, (3, "0-first-by-name.docx", "Lisbon", "business")]).connect() \
            as conn:
        after = assign_pseudonyms(conn, register())
    assert {k: after[k] for k in before} == before
    assert after[3] == "LSB-BU-03"


@pytest.mark.parametrize("category, code", [("policy_maker", "PM"), ("civil_society", "CS"),
                                            ("international_organization", "IO"),
                                            ("trade union", "TR"), (None, "XX")])
def test_pseudonyms_category_codes(category, code):
    assert category_code(category) == code
