"""Re-coding one segment: identity by evidence instance, rule_gone, superseded, flags."""

from __future__ import annotations

import pytest
from coding_helpers import (
    PhraseTagger,
    all_codings,
    codebook_yaml,
    decisions_of,
    query,
    write_codebook,
    write_transcript,
)
from sqlalchemy import select

from pipeline.coding.decisions import coding_statuses, set_decision
from pipeline.store.schema import events

ANSWER = ("Volunteers give legal aid on Mondays and the clinic gives legal aid by phone; "
          "there is also a night shelter.")


def tagger_without(predicate, **changes):
    """A phrase tagger that drops codes matching `predicate` and edits the others."""
    class Edited(PhraseTagger):
        def tag_records(self, records):
            for result in super().tag_records(records):
                result["codes"] = [dict(c, **changes) for c in result["codes"]
                                   if not predicate(c)]
                yield result
    return Edited


@pytest.fixture
def coded(study, run_code, run_ingest, in_store):
    write_codebook(study, codebook_yaml("1.0.0", {"social.housing": ["night shelter"],
                                                  "legal.legal_aid": ["legal aid"]}))
    write_transcript(study.path("transcripts") / "LIS-PM-01.docx",
                     {"Policies": [("What exists?", ANSWER)]})
    run_ingest()
    run_code()
    rows = all_codings(study)
    ids = {(r.code, r.occurrence): r.id for r in rows}
    return ids


def statuses(in_store):
    return in_store(lambda conn: coding_statuses(conn))


def test_reconcile_rule_gone_superseded_and_back(study, coded, run_code, in_store):
    aid0, aid1 = coded[("legal.legal_aid", 0)], coded[("legal.legal_aid", 1)]
    in_store(lambda conn: set_decision(conn, aid0, "ana", "accept", source="t"))
    run_code(recode_all=True, tagger_factory=tagger_without(lambda c: c["code"] ==
                                                            "legal.legal_aid"))
    rows = {r.id: r for r in all_codings(study)}
    assert (rows[aid0].produced, rows[aid0].rule_gone) == (0, 1)
    assert (rows[aid1].produced, rows[aid1].rule_gone) == (0, 0)
    now = statuses(in_store)
    assert (now[aid0], now[aid1]) == ("accepted", "superseded")

    report = run_code(recode_all=True)
    assert report.tally.codings_back == 2 and report.tally.codings_new == 0
    rows = {r.id: r for r in all_codings(study)}
    assert (rows[aid0].produced, rows[aid0].rule_gone) == (1, 0)
    now = statuses(in_store)
    assert (now[aid0], now[aid1]) == ("accepted", "suggested")
    kinds = [e.kind for e in query(study, select(events).where(
        events.c.entity == "codings", events.c.entity_key == str(aid0))
        .order_by(events.c.id))]
    assert kinds == ["decision.set", "coding.rule_gone", "coding.rule_back"]


def test_reconcile_identity_is_the_evidence_instance_not_the_count(
        study, coded, run_code, in_store):
    """A rule change that drops the first 'legal aid' leaves the decision on the second."""
    aid0, aid1 = coded[("legal.legal_aid", 0)], coded[("legal.legal_aid", 1)]
    in_store(lambda conn: set_decision(conn, aid1, "ana", "accept", source="t"))
    first = ANSWER.index("legal aid")
    run_code(recode_all=True, tagger_factory=tagger_without(
        lambda c: c["code"] == "legal.legal_aid" and c["start"] == first))
    rows = {r.id: r for r in all_codings(study)}
    assert (rows[aid1].produced, rows[aid1].occurrence) == (1, 1)
    assert rows[aid0].produced == 0
    assert decisions_of(study, aid1) == {"ana": "accept"}
    assert decisions_of(study, aid0) == {}


def test_reconcile_new_rule_same_identity_keeps_the_coding(study, coded, run_code, in_store):
    shelter = coded[("social.housing", 0)]
    in_store(lambda conn: set_decision(conn, shelter, "ben", "reject", source="t"))
    run_code(recode_all=True, tagger_factory=tagger_without(lambda c: False,
                                                            rule="other.rule"))
    rows = {r.id: r for r in all_codings(study)}
    assert len(rows) == 3
    assert (rows[shelter].rule_id, rows[shelter].origin) == ("other.rule", "rule:other.rule")
    assert statuses(in_store)[shelter] == "rejected"


def test_reconcile_changed_flags_on_a_decided_coding_ask_for_review(
        study, coded, run_code, in_store):
    shelter, aid0 = coded[("social.housing", 0)], coded[("legal.legal_aid", 0)]
    in_store(lambda conn: set_decision(conn, shelter, "ben", "accept", source="t"))
    run_code(recode_all=True, tagger_factory=tagger_without(lambda c: False, negated=True))
    rows = {r.id: r for r in all_codings(study)}
    assert (rows[shelter].negated, rows[shelter].needs_review) == (1, 1)
    assert "negated False -> True" in rows[shelter].review_reason
    assert (rows[aid0].negated, rows[aid0].needs_review) == (1, 0)  # nobody decided it
