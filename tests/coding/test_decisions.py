"""Decisions, manual codings and the derived status."""

from __future__ import annotations

import json

import pytest
from coding_helpers import (
    all_codings,
    check_offsets,
    codebook_yaml,
    query,
    write_codebook,
    write_transcript,
)
from sqlalchemy import select

from pipeline.coding.decisions import (
    add_manual_coding,
    coding_status,
    coding_statuses,
    derive_status,
    set_decision,
)
from pipeline.errors import CityQDAError
from pipeline.store.schema import codings, decisions, events, segments

CODES = {"social.housing": ["night shelter"], "legal.legal_aid": ["legal aid"]}
ANSWER = ("The city runs a night shelter and gives legal aid to families who arrive in the "
          "city without papers.")


@pytest.mark.parametrize("produced, decided, expected", [
    (True, [], "suggested"),
    (False, [], "superseded"),
    (True, [("coder", "accept")], "accepted"),
    (False, [("coder", "accept")], "accepted"),  # rule gone: still accepted
    (True, [("coder", "reject"), ("coder", "change")], "rejected"),
    (True, [("coder", "accept"), ("coder", "reject")], "disputed"),
    (True, [("coder", "discuss")], "disputed"),
    (True, [("coder", "accept"), ("coder", "discuss")], "disputed"),
    (True, [("coder", "accept"), ("coder", "reject"), ("adjudicator", "reject")], "rejected"),
    (True, [("coder", "reject"), ("adjudicator", "accept")], "accepted"),
    (True, [("coder", "reject"), ("adjudicator", "change")], "rejected"),
    (True, [("coder", "accept"), ("coder", "reject"), ("adjudicator", "discuss")], "disputed"),
    (True, [("adjudicator", "reject"), ("adjudicator", "accept")], "accepted"),  # latest
])
def test_decisions_derive_status(produced, decided, expected):
    assert derive_status(produced, decided) == expected


def test_decisions_derive_status_merged_wins():
    assert derive_status(True, [("coder", "accept")], merged=True) == "merged"


@pytest.fixture
def coded(study, run_code, run_ingest):
    write_codebook(study, codebook_yaml("1.0.0", CODES))
    write_transcript(study.path("transcripts") / "LIS-PM-01.docx",
                     {"Policies": [("What exists?", ANSWER)]})
    run_ingest()
    run_code()
    return {r.code: r.id for r in all_codings(study)}


def test_decisions_set_decision_records_one_current_decision_and_events(
        study, coded, in_store):
    coding_id = coded["social.housing"]

    def decide(decision, comment=None):
        return in_store(lambda conn: set_decision(conn, coding_id, "ana", decision, comment,
                                                  source="workbook 7"))

    assert decide("accept") is True
    assert decide("accept") is False  # the same again changes nothing
    assert decide("reject", "not an initiative") is True
    rows = query(study, select(decisions))
    assert [(r.coder, r.decision, r.comment, r.source) for r in rows] == [
        ("ana", "reject", "not an initiative", "workbook 7")]
    logged = query(study, select(events).where(events.c.kind == "decision.set")
                   .order_by(events.c.id))
    assert len(logged) == 2
    last = json.loads(logged[-1].new)
    assert json.loads(logged[-1].old)["decision"] == "accept"
    assert last["decision"] == "reject"
    assert last["coding"]["code"] == "social.housing"
    assert last["coding"]["evidence_text"] == "night shelter"
    assert last["coding"]["interview_path"] == "transcripts/LIS-PM-01.docx"
    assert logged[-1].actor == "ana" and logged[-1].source == "workbook 7"
    assert in_store(lambda conn: coding_status(conn, coding_id)) == "rejected"
    assert in_store(lambda conn: coding_status(conn, 9999)) is None


@pytest.mark.parametrize("decision, role, coding, message", [
    ("maybe", "coder", "social.housing", "not one of"),
    ("accept", "boss", "social.housing", "role"),
    ("accept", "coder", None, "no such coding"),
])
def test_decisions_set_decision_refuses_what_it_cannot_record(
        study, coded, in_store, decision, role, coding, message):
    coding_id = coded[coding] if coding else 9999
    with pytest.raises(CityQDAError) as info:
        in_store(lambda conn: set_decision(conn, coding_id, "ana", decision, source="t",
                                           role=role))
    assert info.value.code == "CQ404" and message in info.value.render()
    assert query(study, select(decisions)) == []


def test_decisions_a_decision_clears_the_review_flag(study, coded, in_store):
    coding_id = coded["legal.legal_aid"]
    in_store(lambda conn: conn.execute(
        codings.update().where(codings.c.id == coding_id)
        .values(needs_review=1, review_reason="code split")))
    in_store(lambda conn: set_decision(conn, coding_id, "ben", "accept", source="t"))
    (row,) = query(study, select(codings).where(codings.c.id == coding_id))
    assert (row.needs_review, row.review_reason) == (0, None)
    (event,) = query(study, select(events).where(events.c.kind == "decision.set"))
    assert json.loads(event.new)["review_cleared"] == "code split"


def test_decisions_manual_coding_follows_its_text_and_is_flagged_when_it_goes(
        study, coded, in_store, run_code, run_ingest):
    (seg,) = query(study, select(segments))
    start = seg.start + ANSWER.index("families")
    manual = in_store(lambda conn: add_manual_coding(
        conn, seg.id, "social.housing", "ana", start, start + len("families"),
        source="workbook 1"))
    assert in_store(lambda conn: coding_statuses(conn, coding_ids=[manual])) == {
        manual: "accepted"}
    path = study.path("transcripts") / "LIS-PM-01.docx"
    write_transcript(path, {"Policies": [("What exists?", "Today " + ANSWER)]})
    run_ingest()
    run_code()
    check_offsets(study)
    (row,) = query(study, select(codings).where(codings.c.id == manual))
    assert (row.version, row.needs_review, row.origin) == (2, 0, "coder:ana")
    write_transcript(path, {"Policies": [("What exists?", "Today " + ANSWER.replace(
        "families", "households"))]})
    run_ingest()
    run_code()
    (row,) = query(study, select(codings).where(codings.c.id == manual))
    assert query(study, select(segments.c.id, segments.c.status)) == [(seg.id, "current")]
    assert (row.version, row.needs_review) == (2, 1)  # kept where it was last found
    assert in_store(lambda conn: coding_statuses(conn, interview_id=row.interview_id))[
        manual] == "accepted"
    check_offsets(study)


def test_decisions_manual_coding_outside_its_segment_is_refused(study, coded, in_store):
    (seg,) = query(study, select(segments))
    with pytest.raises(CityQDAError) as info:
        in_store(lambda conn: add_manual_coding(conn, seg.id, "social.housing", "ana",
                                                seg.end - 2, seg.end + 5, source="t"))
    assert info.value.code == "CQ404"


def test_decisions_purge_removes_the_interviews_words_and_keeps_the_facts(
        study, coded, in_store):
    from pipeline.coding.decisions import purge_interview_codings

    shelter = coded["social.housing"]
    in_store(lambda conn: set_decision(conn, shelter, "ana", "reject", "shelter is fine",
                                       source="t"))
    (seg,) = query(study, select(segments))
    purged = in_store(lambda conn: purge_interview_codings(conn, seg.interview_id))
    assert purged == 2
    words = ("night shelter", "legal aid", "families", "shelter is fine")
    for row in all_codings(study):
        assert not any(w in repr(tuple(row)) for w in words)
    for row in query(study, select(decisions)) + query(study, select(events).where(
            events.c.entity == "codings")):
        assert not any(w in repr(tuple(row)) for w in words)
    assert in_store(lambda conn: coding_statuses(conn))[shelter] == "rejected"
