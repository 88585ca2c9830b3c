"""Ingest into a real store: outcomes per file, versions, identity, life cycle, failures."""

from __future__ import annotations

import json
import shutil

import pytest
from docx_builders import save, transcript
from failing_files import FAILURES
from sqlalchemy import select

from pipeline.ingest.export_segments import segment_records
from pipeline.ingest.ingest import ingest_study
from pipeline.ingest.interviews import retire, set_override
from pipeline.ingest.register import write_register
from pipeline.store import open_study_store
from pipeline.store.schema import events, interview_notes, interviews, segments
from pipeline.study import load_study

ANSWERS = [
    ("Please introduce yourself.", "I lead the migrant integration office of the city."),
    ("Which trends do you see?", "Arrivals from Brazil and Ukraine have grown since 2019."),
]
POLICIES = [("Which programmes exist?", "A welcome desk gives legal advice to newcomers.")]


def make(path, answers=ANSWERS, city="Lisbon", extra=None):
    sections = {"Introduction": list(answers), "Policies and programmes": list(POLICIES)}
    if extra:
        sections["Closure"] = [("Anything else?", extra)]
    document = transcript(metadata_lines={"City": city, "Category": "policy maker"},
                          sections=sections)
    return save(document, path)


@pytest.fixture
def study(study_dir):
    return load_study(study_dir)


@pytest.fixture
def folder(study):
    return study.path("transcripts")


def ingest(study, paths=None):
    store = open_study_store(study)
    try:
        return ingest_study(study, store, paths)
    finally:
        store.close()


def outcomes(report):
    return [(o.path.split("/")[-1], o.outcome) for o in report.outcomes]


def query(study, statement):
    store = open_study_store(study)
    try:
        with store.read() as conn:
            return conn.execute(statement).all()
    finally:
        store.close()


def current_segments(study):
    return query(study, select(segments.c.id, segments.c.text, segments.c.status)
                 .order_by(segments.c.id))


def store_bytes(study):
    path = study.store_path
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes(), wal.read_bytes() if wal.exists() else b""


def test_ingest_new_then_same_file_changes_nothing(study, folder):
    make(folder / "LIS-PM-01.docx")
    report = ingest(study)
    assert outcomes(report) == [("LIS-PM-01.docx", "ingested")]
    assert report.outcomes[0].segments == 3
    before = store_bytes(study)
    again = ingest(study)
    assert outcomes(again) == [("LIS-PM-01.docx", "unchanged")]
    assert store_bytes(study) == before


def test_ingest_typo_fix_keeps_segment_ids(study, folder):
    make(folder / "LIS-PM-01.docx")
    ingest(study)
    before = current_segments(study)
    fixed = [ANSWERS[0], ("Which trends do you see?",
                          "Arrivals from Brazil and Ukraine have grown since 2018.")]
    make(folder / "LIS-PM-01.docx", answers=fixed)
    report = ingest(study)
    assert outcomes(report) == [("LIS-PM-01.docx", "new_version")]
    assert report.outcomes[0].changes == {"kept": 2, "changed": 1, "new": 0, "retired": 0}
    after = current_segments(study)
    assert [r.id for r in after] == [r.id for r in before]
    assert "since 2018." in after[1].text
    (row,) = query(study, select(interviews.c.version))
    assert row.version == 2


def test_ingest_inserted_and_removed_paragraphs(study, folder):
    make(folder / "LIS-PM-01.docx", extra="Nothing more to add.")
    ingest(study)
    before = {r.text: r.id for r in current_segments(study)}
    inserted = [ANSWERS[0], ("Your budget?", "The budget doubled in 2020."), ANSWERS[1]]
    make(folder / "LIS-PM-01.docx", answers=inserted)
    report = ingest(study)
    assert report.outcomes[0].changes == {"kept": 3, "changed": 0, "new": 1, "retired": 1}
    after = {r.text: (r.id, r.status) for r in current_segments(study)}
    for text, old_id in before.items():
        if text == "Nothing more to add.":
            assert after[text] == (old_id, "retired")  # kept, never deleted
        else:
            assert after[text] == (old_id, "current")
    assert after["The budget doubled in 2020."][0] > max(before.values())


def test_ingest_duplicate_is_not_ingested_twice(study, folder):
    make(folder / "LIS-PM-01.docx")
    ingest(study)
    shutil.copyfile(folder / "LIS-PM-01.docx", folder / "LIS-PM-01 copy.docx")
    report = ingest(study)
    assert outcomes(report) == [("LIS-PM-01 copy.docx", "duplicate"),
                                ("LIS-PM-01.docx", "unchanged")]
    assert report.outcomes[0].other == "transcripts/LIS-PM-01.docx"
    assert len(query(study, select(interviews.c.id))) == 1


def test_ingest_duplicates_within_one_batch(study, folder):
    make(folder / "A.docx")
    shutil.copyfile(folder / "A.docx", folder / "B.docx")
    assert outcomes(ingest(study)) == [("A.docx", "ingested"), ("B.docx", "duplicate")]


def test_ingest_rename_keeps_the_interview(study, folder):
    make(folder / "old name.docx")
    ingest(study)
    ids = [r.id for r in current_segments(study)]
    (folder / "old name.docx").rename(folder / "LIS-PM-01.docx")
    report = ingest(study)
    assert outcomes(report) == [("LIS-PM-01.docx", "renamed")]
    assert report.outcomes[0].other == "transcripts/old name.docx"
    (row,) = query(study, select(interviews.c.id, interviews.c.path, interviews.c.file))
    assert (row.path, row.file) == ("transcripts/LIS-PM-01.docx", "LIS-PM-01.docx")
    assert [r.id for r in current_segments(study)] == ids


def test_ingest_missing_file_is_reported_and_stays_active(study, folder):
    make(folder / "LIS-PM-01.docx")
    ingest(study)
    (folder / "LIS-PM-01.docx").unlink()
    report = ingest(study)
    assert outcomes(report) == [("LIS-PM-01.docx", "missing")]
    assert report.outcomes[0].problems[0].code == "CQ132"
    assert query(study, select(interviews.c.status)) == [("active",)]


@pytest.mark.parametrize("new_answers, warned", [
    (ANSWERS + [("Anything else?", "The desk is open on Saturdays too.")], True),
    ([("Please introduce yourself.", "I run a football club for young newcomers.")], False),
])
def test_ingest_missing_file_renamed_and_edited_is_pointed_out(study, folder, new_answers,
                                                               warned):
    """Renamed and edited at once (no byte-identical rename): both interviews would be
    counted, the decisions staying with the missing one; CQ136 names the new file and the
    way back. An unrelated new interview is not named."""
    make(folder / "LIS-PM-01.docx")
    ingest(study)
    (folder / "LIS-PM-01.docx").unlink()
    make(folder / "LIS-PM-01 final.docx", answers=new_answers)
    report = ingest(study)
    assert outcomes(report) == [("LIS-PM-01 final.docx", "ingested"),
                                ("LIS-PM-01.docx", "missing")]
    hints = [p for p in report.outcomes[1].problems if p.code == "CQ136"]
    assert bool(hints) == warned
    if warned:
        assert hints[0].fields["new_id"] == report.outcomes[0].interview_id
        assert '"transcripts/LIS-PM-01 final.docx" back to LIS-PM-01.docx' in hints[0].hint


@pytest.mark.parametrize("retired", [True, False])
def test_ingest_new_version_of_a_retired_interview_says_it_stays_out(study, folder,
                                                                      retired):
    make(folder / "LIS-PM-01.docx")
    ingest(study)
    if retired:
        store = open_study_store(study)
        try:
            retire(study, store, "LIS-PM-01.docx", reason="withdrew")
        finally:
            store.close()
    make(folder / "LIS-PM-01.docx", extra="Edited after the interview was retired.")
    seen = []  # what `cityqda ingest` prints: the outcome as it happens
    store = open_study_store(study)
    try:
        report = ingest_study(study, store, on_file=seen.append, keep_all=False)
    finally:
        store.close()
    assert [(o.path, o.outcome) for o in seen] == [("transcripts/LIS-PM-01.docx",
                                                    "new_version")]
    assert ("CQ137" in [p.code for p in seen[0].problems]) == retired
    # what `cityqda run` shows (it keeps only outcomes with problems to act on)
    assert [p.code for o in report.outcomes for p in o.to_act_on()] == (
        ["CQ137"] if retired else [])
    assert query(study, select(interviews.c.status)) == [
        ("retired" if retired else "active",)]


def test_ingest_retire_undo_and_purge(study, folder):
    make(folder / "LIS-PM-01.docx")
    ingest(study)
    store = open_study_store(study)
    try:
        retire(study, store, "LIS-PM-01.docx", reason="duplicate interview")
        assert list(segment_records(store)) == []
        retire(study, store, "LIS-PM-01.docx", reason=None, undo=True)
        assert len(list(segment_records(store))) == 3
        set_override(study, store, "1", "Organization", "Câmara Municipal de Lisboa")
        retire(study, store, "1", reason="consent withdrawn", purge=True)
        with store.read() as conn:
            row = conn.execute(select(interviews)).one()
            texts = conn.execute(select(segments.c.text)).scalars().all()
            notes = conn.execute(select(interview_notes)).all()
            logged = conn.execute(select(events).order_by(events.c.id)).all()
    finally:
        store.close()
    assert row.purged == 1 and row.status == "retired"
    assert row.plain_text is None and row.metadata is None
    assert row.path == "(purged interview 1)"
    assert texts == ["", "", ""] and notes == []
    assert [e.kind for e in logged] == ["interview.ingested", "interview.retired",
                                        "interview.unretired", "interview.override",
                                        "interview.retired", "interview.purged"]
    assert all(e.old is None and e.new is None for e in logged)
    assert "Lisboa" not in json.dumps([tuple(e) for e in logged], ensure_ascii=False)
    # the same file dropped in again is refused; releasing lets it in as a new interview
    report = ingest(study)
    assert outcomes(report) == [("LIS-PM-01.docx", "skipped")]
    assert report.outcomes[0].problems[0].code == "CQ133"
    store = open_study_store(study)
    try:
        retire(study, store, "1", reason=None, undo=True)
    finally:
        store.close()
    assert outcomes(ingest(study)) == [("LIS-PM-01.docx", "ingested")]


def test_ingest_override_survives_reingest(study, folder):
    make(folder / "LIS-PM-01.docx", city="Lisbon")
    ingest(study)
    store = open_study_store(study)
    try:
        state = set_override(study, store, "transcripts/LIS-PM-01.docx", "city", "Porto")
    finally:
        store.close()
    assert (state["value"], state["source"]) == ("Porto", "override")
    make(folder / "LIS-PM-01.docx", city="Lisbon", extra="A new closing remark.")
    report = ingest(study)
    assert outcomes(report) == [("LIS-PM-01.docx", "new_version")]
    (row,) = query(study, select(interviews.c.metadata, interviews.c.warnings))
    assert json.loads(row.metadata)["city"] == {"value": "Porto", "raw": "Porto",
                                                "source": "override"}
    assert any(w["code"] == "CQ124" and "Lisbon" in w["message"]
               for w in json.loads(row.warnings))


def test_ingest_register_change_updates_metadata(study, folder):
    make(folder / "LIS-PM-01.docx")
    ingest(study)
    write_register(study.path("register"), rows=[
        {"round": 1, "city": "Lisbon", "category": "policy maker", "outcome": "interviewed",
         "transcript_file": "LIS-PM-01.docx", "organisation": "Câmara Municipal"}])
    report = ingest(study)
    assert outcomes(report) == [("LIS-PM-01.docx", "updated")]
    (row,) = query(study, select(interviews.c.metadata, interviews.c.warnings))
    assert json.loads(row.metadata)["organisation"]["source"] == "register"
    assert all(w["code"] != "CQ125" for w in json.loads(row.warnings))
    assert outcomes(ingest(study)) == [("LIS-PM-01.docx", "unchanged")]


def test_ingest_lock_hidden_and_other_files(study, folder):
    make(folder / "LIS-PM-01.docx")
    (folder / "~$S-PM-01.docx").write_bytes(b"lock")
    (folder / ".hidden.docx").write_bytes(b"x")
    (folder / ".git").mkdir()
    (folder / "notes.txt").write_text("notes")
    report = ingest(study)
    assert outcomes(report) == [("LIS-PM-01.docx", "ingested"), ("notes.txt", "skipped")]
    assert report.outcomes[1].problems[0].code == "CQ110"
    assert report.ignored == 3
    assert not report.failed


@pytest.mark.parametrize("name", sorted(FAILURES))
def test_ingest_failure_leaves_the_store_unchanged(study, folder, name):
    make(folder / "LIS-PM-01.docx")
    ingest(study)
    file_name, build, code = FAILURES[name]
    (folder / file_name).write_bytes(build())
    before = store_bytes(study)
    report = ingest(study)
    failed = [o for o in report.outcomes if o.outcome == "failed"]
    assert [(o.path, o.problems[0].code) for o in failed] == [(f"transcripts/{file_name}",
                                                               code)]
    assert report.failed
    assert store_bytes(study) == before


def test_ingest_explicit_file_outside_the_folder(study, tmp_path):
    path = make(tmp_path / "elsewhere" / "X.docx")
    report = ingest(study, [path])
    assert report.outcomes[0].outcome == "ingested"
    assert report.outcomes[0].path == path.resolve().as_posix()


def test_ingest_lean_report_keeps_counts_and_problems_only(study, folder):
    make(folder / "A.docx")
    make(folder / "B.docx", city="Porto")
    (folder / "bad.docx").write_bytes(b"nope")
    seen = []
    store = open_study_store(study)
    try:
        report = ingest_study(study, store, keep_all=False, on_file=seen.append)
    finally:
        store.close()
    assert [o.outcome for o in seen] == ["ingested", "ingested", "failed"]
    assert [o.outcome for o in report.outcomes] == ["failed"]
    assert report.counts()["ingested"] == 2 and report.failed


PURGED_CALLS: list = []


def record_purge(conn, interview_id, segment_ids):
    PURGED_CALLS.append((interview_id, len(segment_ids)))


def test_ingest_purge_calls_the_hooks_of_other_stages(study, folder, monkeypatch):
    from pipeline.ingest import interviews as lifecycle

    make(folder / "LIS-PM-01.docx")
    ingest(study)
    monkeypatch.setattr(lifecycle, "PURGE_HOOKS", [f"{__name__}:record_purge"])
    PURGED_CALLS.clear()
    store = open_study_store(study)
    try:
        retire(study, store, "1", reason="consent withdrawn", purge=True)
    finally:
        store.close()
    assert PURGED_CALLS == [(1, 3)]
