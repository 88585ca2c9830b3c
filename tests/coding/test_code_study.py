"""A study taken through code, review, transcript edits and a new codebook version, with
every decision checked against hand-worked expectations; crashes and refusals."""

from __future__ import annotations

import pytest
from coding_helpers import (
    all_codings,
    check_offsets,
    codebook_yaml,
    decisions_of,
    query,
    table_dump,
    write_codebook,
    write_transcript,
)
from sqlalchemy import select

from pipeline.coding.decisions import coding_statuses, set_decision
from pipeline.coding.reconcile import InterviewWriter
from pipeline.errors import CityQDAError
from pipeline.ingest.status import status_report
from pipeline.store import open_study_store
from pipeline.store.schema import (
    codebook_changes,
    codebook_versions,
    codings,
    decisions,
    events,
    runs,
    segment_coding,
    segments,
)

V1_CODES = {
    "social.housing": ["night shelter"],
    "social.health_care": ["health clinic"],
    "cultural_religious.language": ["language course"],
    "cultural_religious.sports": ["football club"],
    "economic.employment": ["job fair"],
    "economic.jobs_events": ["job fair"],
    "economic.training": ["vocational training"],
    "legal.legal_aid": ["legal aid"],
    "political.voting": ["voter registration"],
}
V2_CODES = {
    "social.shelter": ["night shelter"],
    "social.health_physical": ["health clinic"],
    "social.health_mental": ["counselling"],
    "cultural_religious.language": ["language course"],
    "cultural_religious.sports": [],
    "economic.work": ["job fair", "vocational training"],
    "legal.legal_aid": ["legal aid"],
    "political.voting": ["voter registration"],
}
V2_CHANGES = [
    {"version": "2.0.0", "kind": "renamed", "from": ["social.housing"],
     "to": ["social.shelter"]},
    {"version": "2.0.0", "kind": "merged",
     "from": ["economic.employment", "economic.jobs_events", "economic.training"],
     "to": ["economic.work"], "note": "one code for work"},
    {"version": "2.0.0", "kind": "split", "from": ["social.health_care"],
     "to": ["social.health_physical", "social.health_mental"]},
    {"version": "2.0.0", "kind": "retired", "codes": ["cultural_religious.sports"]},
]

A1 = "I lead the office; the citty runs a night shelter and a health clinic."
A1_FIXED = "I lead the office; the city runs a night shelter and a health clinic."
A2 = "We offer a language course and a football club for youth."
A3 = "There is a job fair every spring and vocational training for adults."
A4 = ("Volunteers at the community centre give legal aid on Mondays, and the law faculty "
      "clinic offers legal aid by phone to anyone who asks.")
A4_EDITED = ("Volunteers at the community centre give free advice on Mondays, and the law "
             "faculty clinic offers legal aid by phone to anyone who asks.")
A5 = "Voter registration drives happen before elections."
NEW = "A job fair for founders is held yearly."
T2 = "The council runs a night shelter and a health clinic."


def first_version(folder):
    write_transcript(folder / "LIS-PM-01.docx", {
        "Introduction": [("Please introduce yourself.", A1)],
        "Policies and programmes": [("Which programmes exist?", A2),
                                    ("What about work?", A3),
                                    ("And legal help?", A4)],
        "Closure": [("Anything else?", A5)],
    })
    write_transcript(folder / "LIS-PM-02.docx", {
        "Policies and programmes": [("Which programmes exist?", T2)]}, city="Porto")


def second_version(folder):
    """Typo fixed in A1, a paragraph inserted before A2, A4 edited, Closure deleted."""
    write_transcript(folder / "LIS-PM-01.docx", {
        "Introduction": [("Please introduce yourself.", A1_FIXED)],
        "Policies and programmes": [("Is there support for founders?", NEW),
                                    ("Which programmes exist?", A2),
                                    ("What about work?", A3),
                                    ("And legal help?", A4_EDITED)],
    })


def find(study, code, evidence, segment_text, occurrence=None):
    rows = [r for r in all_codings(study) if r.code == code and r.evidence_text == evidence
            and r.merged_into is None
            and (occurrence is None or r.occurrence == occurrence)]
    texts = dict(query(study, select(segments.c.id, segments.c.text)))
    rows = [r for r in rows if texts[r.segment_id] == segment_text]
    assert len(rows) == 1, (code, evidence, rows)
    return rows[0].id


def statuses(study):
    store = open_study_store(study)
    try:
        with store.read() as conn:
            return coding_statuses(conn)
    finally:
        store.close()


def decide(in_store, coding_id, coder, decision, role="coder"):
    in_store(lambda conn: set_decision(conn, coding_id, coder, decision, source="test",
                                       role=role))


def test_code_study_keeps_every_decision_through_edits_and_codebook_versions(
        study, run_code, run_ingest, in_store):
    folder = study.path("transcripts")
    write_codebook(study, codebook_yaml("1.0.0", V1_CODES))
    first_version(folder)
    run_ingest()

    # 1. code: every phrase instance becomes a suggestion
    report = run_code()
    assert report.tally.segments_coded == 6 and report.tally.codings_new == 12
    assert set(statuses(study).values()) == {"suggested"}
    ids = {
        "shelter": find(study, "social.housing", "night shelter", A1),
        "clinic": find(study, "social.health_care", "health clinic", A1),
        "language": find(study, "cultural_religious.language", "language course", A2),
        "football": find(study, "cultural_religious.sports", "football club", A2),
        "jobfair_emp": find(study, "economic.employment", "job fair", A3),
        "jobfair_events": find(study, "economic.jobs_events", "job fair", A3),
        "training": find(study, "economic.training", "vocational training", A3),
        "legal0": find(study, "legal.legal_aid", "legal aid", A4, occurrence=0),
        "legal1": find(study, "legal.legal_aid", "legal aid", A4, occurrence=1),
        "voter": find(study, "political.voting", "Voter registration", A5),
        "t2_shelter": find(study, "social.housing", "night shelter", T2),
        "t2_clinic": find(study, "social.health_care", "health clinic", T2),
    }
    check_offsets(study)

    # 2. decisions made directly in the store
    for name, coder, decision, role in [
            ("shelter", "ana", "accept", "coder"), ("clinic", "ana", "reject", "coder"),
            ("language", "ana", "accept", "coder"), ("language", "ben", "accept", "coder"),
            ("football", "ana", "accept", "coder"), ("football", "ben", "reject", "coder"),
            ("football", "pi", "accept", "adjudicator"),
            ("jobfair_emp", "ana", "accept", "coder"),
            ("jobfair_events", "ana", "reject", "coder"),
            ("jobfair_events", "ben", "accept", "coder"),
            ("training", "ben", "reject", "coder"), ("legal0", "ana", "accept", "coder"),
            ("voter", "ben", "accept", "coder")]:
        decide(in_store, ids[name], coder, decision, role)
    expected = {"shelter": "accepted", "clinic": "rejected", "language": "accepted",
                "football": "accepted", "jobfair_emp": "accepted",
                "jobfair_events": "disputed", "training": "rejected", "legal0": "accepted",
                "legal1": "suggested", "voter": "accepted", "t2_shelter": "suggested",
                "t2_clinic": "suggested"}
    now = statuses(study)
    assert {name: now[i] for name, i in ids.items()} == expected

    # 3. the transcript is edited and ingested again; same codebook
    second_version(folder)
    run_ingest()
    report = run_code()
    # A1 (typo), A4 (edited) and the new paragraph are coded; A2 and A3 only moved
    assert report.tally.segments_coded == 3
    assert report.tally.segments_moved == 2
    assert report.tally.codings_new == 2  # job fair twice in the new paragraph
    assert report.orphaned == 1  # the voter registration coding, on the deleted paragraph
    check_offsets(study)
    rows = {r.id: r for r in all_codings(study)}
    # decisions followed their evidence through the typo fix and the inserted paragraph
    assert rows[ids["shelter"]].produced == 1 and rows[ids["shelter"]].version == 2
    # ana's accept stayed on the instance she accepted, whose text is gone
    legal0 = rows[ids["legal0"]]
    assert (legal0.produced, legal0.rule_gone, legal0.needs_review) == (0, 1, 1)
    assert legal0.version == 1 and legal0.occurrence < 0
    assert "no longer in the segment" in legal0.review_reason
    # the remaining instance is the other coding, now the first occurrence, undecided
    legal1 = rows[ids["legal1"]]
    assert (legal1.produced, legal1.occurrence, legal1.version) == (1, 0, 2)
    assert decisions_of(study, ids["legal1"]) == {}
    # the deleted paragraph's coding is kept, orphaned, and still accepted
    voter_segment = rows[ids["voter"]].segment_id
    assert query(study, select(segments.c.status).where(
        segments.c.id == voter_segment))[0].status == "retired"
    now = statuses(study)
    assert {name: now[i] for name, i in ids.items()} == expected

    # 4. codebook 2.0.0: rename, merge, split, retire
    write_codebook(study, codebook_yaml("2.0.0", V2_CODES, V2_CHANGES,
                                        retired=("cultural_religious.sports",),
                                        pattern_ids={"cultural_religious.language":
                                                     "cultural_religious.language.course"}))
    report = run_code()
    assert [(c.kind, c.codings, c.folded) for c in report.changes] == [
        ("renamed", 2, 0), ("merged", 5, 2), ("split", 1, 0), ("retired", 1, 0)]
    assert report.tally.segments_coded == 6  # every current segment: the rules changed
    check_offsets(study)
    rows = {r.id: r for r in all_codings(study)}
    now = statuses(study)

    def state(name):
        row = rows[ids[name]]
        return (row.code, now[row.id], row.produced, row.rule_gone, row.needs_review)

    # renamed: same coding, new code and rule, decision kept
    assert state("shelter") == ("social.shelter", "accepted", 1, 0, 0)
    assert rows[ids["shelter"]].rule_id == "social.shelter.p0"
    assert state("t2_shelter") == ("social.shelter", "suggested", 1, 0, 0)
    # same code, new rule id: same coding, decisions kept
    assert state("language") == ("cultural_religious.language", "accepted", 1, 0, 0)
    assert rows[ids["language"]].rule_id == "cultural_religious.language.course"
    # split: the decided coding stays rejected but must be reviewed; undecided superseded
    assert state("clinic") == ("social.health_care", "rejected", 0, 1, 1)
    assert "split" in rows[ids["clinic"]].review_reason
    assert state("t2_clinic") == ("social.health_care", "superseded", 0, 0, 0)
    physical = [r for r in rows.values() if r.code == "social.health_physical"]
    assert len(physical) == 2 and all(now[r.id] == "suggested" for r in physical)
    # retired: the adjudicated coding stays accepted, flagged
    assert state("football") == ("cultural_religious.sports", "accepted", 0, 1, 1)
    # merged: job fair under two codes became one coding; ana's accept and reject clash
    assert state("jobfair_emp") == ("economic.work", "accepted", 1, 0, 1)
    assert decisions_of(study, ids["jobfair_emp"]) == {"ana": "accept", "ben": "accept"}
    assert rows[ids["jobfair_events"]].merged_into == ids["jobfair_emp"]
    assert now[ids["jobfair_events"]] == "merged"
    assert decisions_of(study, ids["jobfair_events"]) == {"ana": "reject", "ben": "accept"}
    assert state("training") == ("economic.work", "rejected", 1, 0, 0)
    # untouched by the codebook change
    assert state("legal0") == ("legal.legal_aid", "accepted", 0, 1, 1)
    assert state("legal1") == ("legal.legal_aid", "suggested", 1, 0, 0)
    assert state("voter") == ("political.voting", "accepted", 1, 0, 0)
    # nothing was ever deleted, and every move of a decided coding says why
    assert len(rows) == 12 + 2 + 2
    kinds = {(e.kind, e.entity_key) for e in query(study, select(events))}
    assert ("coding.code_renamed", str(ids["shelter"])) in kinds
    assert ("coding.code_merged", str(ids["training"])) in kinds
    assert ("coding.folded", str(ids["jobfair_events"])) in kinds
    assert ("coding.needs_review", str(ids["football"])) in kinds
    assert ("coding.rule_gone", str(ids["legal0"])) in kinds
    assert ("coding.reanchored", str(ids["shelter"])) in kinds
    merge_reason = [e.reason for e in query(study, select(events).where(
        events.c.kind == "coding.code_merged"))]
    assert all("2.0.0: merged" in r and "one code for work" in r for r in merge_reason)
    assert len(query(study, select(codebook_versions))) == 2
    assert len(query(study, select(codebook_changes))) == 4

    # 5. nothing changed: no coding work, and not a row touched
    tables = (codings, decisions, segment_coding, codebook_versions, codebook_changes)
    before = table_dump(study, *tables)
    report = run_code()
    assert (report.interviews, report.tally.segments_coded, report.tally.segments_moved) == \
        (0, 0, 0)
    assert table_dump(study, *tables) == before

    # status lists the orphaned coding per interview and in the totals
    store = open_study_store(study)
    try:
        shown = status_report(study, store)
    finally:
        store.close()
    assert shown["totals"]["orphaned_codings"] == 1
    assert {e["file"]: e["orphaned_codings"] for e in shown["interviews"]} == {
        "LIS-PM-01.docx": 1, "LIS-PM-02.docx": 0}


def test_code_study_broken_codebook_codes_nothing(study, run_code, run_ingest):
    write_codebook(study, codebook_yaml("1.0.0", V1_CODES).replace("kind: subcode",
                                                                   "kind: subcodes", 1))
    first_version(study.path("transcripts"))
    run_ingest()
    with pytest.raises(CityQDAError) as info:
        run_code()
    assert info.value.code == "CQ202"
    assert query(study, select(codings)) == []
    assert query(study, select(runs)) == []
    assert query(study, select(codebook_versions)) == []


@pytest.mark.parametrize("registry_there", [True, False])
def test_code_study_says_when_the_study_registry_is_missing(study, run_code, run_ingest,
                                                            registry_there):
    """A moved or deleted actors.yaml was replaced by the package's registry in silence:
    the study's own organisations went unrecognised."""
    write_codebook(study, codebook_yaml("1.0.0", V1_CODES))
    first_version(study.path("transcripts"))
    run_ingest()
    if not registry_there:
        study.path("actors").unlink()
    report = run_code()
    warned = [p for p in report.problems if p.code == "CQ421"]
    assert [p.file for p in warned] == ([] if registry_there else [str(study.path("actors"))])
    assert not report.failed and query(study, select(codings))


def _coded_study(study, run_code, run_ingest):
    write_codebook(study, codebook_yaml("1.0.0", V1_CODES))
    first_version(study.path("transcripts"))
    run_ingest()
    run_code()


@pytest.mark.parametrize("version, codes, changes, code", [
    # a pattern changed without a new version
    ("1.0.0", {**V1_CODES, "social.housing": ["night shelter", "hostel"]}, [], "CQ401"),
    # a code with codings dropped without a changes entry
    ("1.1.0", {k: v for k, v in V1_CODES.items() if k != "legal.legal_aid"}, [], "CQ402"),
])
def test_code_study_refuses_a_codebook_that_contradicts_the_store(
        study, run_code, run_ingest, version, codes, changes, code):
    _coded_study(study, run_code, run_ingest)
    tables = (codings, decisions, segment_coding, codebook_versions, runs, events)
    before = table_dump(study, *tables)
    write_codebook(study, codebook_yaml(version, codes, changes))
    with pytest.raises(CityQDAError) as info:
        run_code()
    assert info.value.code == code
    assert table_dump(study, *tables) == before


def test_code_study_wording_edit_keeps_the_version_and_codes_nothing(
        study, run_code, run_ingest):
    _coded_study(study, run_code, run_ingest)
    write_codebook(study, codebook_yaml("1.0.0", V1_CODES,
                                        labels={"social.housing": "Housing and shelter"}))
    report = run_code()
    assert report.tally.segments_coded == 0 and report.new_codebook_version
    assert len(query(study, select(codebook_versions))) == 2


def test_code_study_refuses_a_retired_id_coming_back(study, run_code, run_ingest):
    _coded_study(study, run_code, run_ingest)
    retire = [{"version": "1.1.0", "kind": "retired", "codes": ["political.voting"]}]
    codes = {k: v for k, v in V1_CODES.items() if k != "political.voting"}
    write_codebook(study, codebook_yaml("1.1.0", codes, retire))
    run_code()
    # the team drops the change entry and defines the id again for something else
    write_codebook(study, codebook_yaml("1.2.0", {**codes, "political.voting": ["ballot"]}))
    with pytest.raises(CityQDAError) as info:
        run_code()
    assert info.value.code == "CQ403"
    assert "1.1.0" in info.value.render()


@pytest.mark.parametrize("workers", [0, 2])
def test_code_study_crash_loses_only_the_interview_being_written(
        study, run_code, run_ingest, monkeypatch, workers):
    write_codebook(study, codebook_yaml("1.0.0", V1_CODES))
    first_version(study.path("transcripts"))
    run_ingest()
    real_flush = InterviewWriter._flush
    calls = []

    def crashing_flush(self, segment_ids):
        calls.append(self.interview_id)
        real_flush(self, segment_ids)
        if len(calls) == 2:
            raise RuntimeError("power cut")

    monkeypatch.setattr(InterviewWriter, "_flush", crashing_flush)
    with pytest.raises(RuntimeError):
        run_code(workers=workers)
    coded = {r.interview_id for r in all_codings(study)}
    assert coded == {calls[0]}  # the first interview committed, the second rolled back
    states = query(study, select(segment_coding.c.segment_id))
    first_segments = query(study, select(segments.c.id).where(
        segments.c.interview_id == calls[0]))
    assert {r.segment_id for r in states} == {r.id for r in first_segments}
    assert query(study, select(runs.c.status))[0].status == "failed"
    monkeypatch.setattr(InterviewWriter, "_flush", real_flush)
    report = run_code()
    assert report.interviews == 1 and report.tally.codings_new == 2
    assert len(all_codings(study)) == 12


def test_code_study_crash_during_a_recode_leaves_decisions_and_codings_as_they_were(
        study, run_code, run_ingest, in_store, monkeypatch):
    _coded_study(study, run_code, run_ingest)
    shelter = find(study, "social.housing", "night shelter", A1)
    decide(in_store, shelter, "ana", "accept")
    second_version(study.path("transcripts"))
    run_ingest()
    tables = (codings, decisions, segment_coding, events)
    before = table_dump(study, *tables)

    def crash(self, segment_ids):
        raise RuntimeError("disk full")

    monkeypatch.setattr(InterviewWriter, "_flush", crash)
    with pytest.raises(RuntimeError):
        run_code()
    assert table_dump(study, *tables) == before


def _coding_rows(study) -> list:
    """Codings and coding states without the clock columns."""
    dump = table_dump(study, codings, segment_coding)
    clock = {"created_at", "updated_at", "coded_at"}
    return [[{k: v for k, v in row._mapping.items() if k not in clock} for row in rows]
            for rows in dump]


def test_code_study_workers_write_what_one_process_writes(tmp_path, run_ingest, run_code,
                                                           study):
    from pipeline.init_study import init_study
    from pipeline.study import load_study

    write_codebook(study, codebook_yaml("1.0.0", V1_CODES))
    first_version(study.path("transcripts"))
    run_ingest()
    alone = run_code(workers=0)
    other = load_study(init_study(tmp_path / "other"))
    write_codebook(other, codebook_yaml("1.0.0", V1_CODES))
    first_version(other.path("transcripts"))
    store = open_study_store(other)
    try:
        from pipeline.code_study import code_study
        from pipeline.ingest.ingest import ingest_study

        ingest_study(other, store)
        from coding_helpers import PhraseTagger

        forked = code_study(other, store, tagger_factory=PhraseTagger, workers=2)
    finally:
        store.close()
    assert forked.tally.counts() == alone.tally.counts()
    assert alone.tally.codings_new == 12
    assert _coding_rows(other) == _coding_rows(study)
    again = run_code(workers=2, recode_all=True)  # the same codings: nothing to update
    assert (again.tally.segments_coded, again.tally.codings_new,
            again.tally.codings_updated) == (alone.tally.segments_coded, 0, 0)


