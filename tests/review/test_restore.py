"""The audit log (`review log`) and `restore`: a study rebuilt from transcripts, codebook and
log gets identical decisions."""

from __future__ import annotations

import json
import shutil

import pytest
from review_helpers import build_study, edit_workbook, query, recode
from sqlalchemy import select

from pipeline.cli import main
from pipeline.coding.decisions import coding_identity
from pipeline.store import open_study_store
from pipeline.store.schema import codings, decisions, interviews, memos, segments
from pipeline.study import load_study


def cli(runner, study, *args):
    return runner.invoke(main, ["--project", str(study.root), *args])


def export(runner, study, coder):
    out = study.root / f"{coder}.xlsx"
    result = cli(runner, study, "review", "export", "--coder", coder, "--out", str(out))
    assert result.exit_code == 0, result.stderr
    return out


def rule_ids(study) -> list[int]:
    return [r.id for r in query(study, select(codings.c.id).where(codings.c.coder == "")
                                .order_by(codings.c.id))]


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory):
    """A study with decisions of two coders and an adjudicator, changes, additions, memos."""
    from click.testing import CliRunner

    runner = CliRunner()
    study = build_study(tmp_path_factory.mktemp("restore") / "study")
    ids = rule_ids(study)
    path = export(runner, study, "ana")
    with edit_workbook(path) as sheets:
        sheets["Codings"].set(f"C{ids[0]}", decision="accept", comment="fine")
        sheets["Codings"].set(f"C{ids[1]}", decision="change", corrected_code="legal")
        sheets["Codings"].set(f"C{ids[2]}", corrected_flags="planned")
        segment = sheets["Segments"].ids()[-1]
        sheets["Segments"].set(segment, add_code="political", add_evidence="two districts",
                               add_flags="hypothetical", comment="added by ana")
        sheets["Interviews"].set(sheets["Interviews"].ids()[0], memo="ana's memo")
    assert cli(runner, study, "review", "import", str(path)).exit_code == 0
    path = export(runner, study, "ben")
    with edit_workbook(path) as sheets:
        sheets["Codings"].set(f"C{ids[0]}", decision="reject", comment="not an initiative")
        sheets["Codings"].set(f"C{ids[3]}", decision="discuss", comment="ask the PI")
    assert cli(runner, study, "review", "import", str(path)).exit_code == 0
    path = export(runner, study, "pi")
    with edit_workbook(path) as sheets:
        sheets["Codings"].set(f"C{ids[0]}", decision="accept", comment="ruled")
    assert cli(runner, study, "review", "import", str(path)).exit_code == 0
    # ana changes her mind in a second workbook: the log keeps both states
    path = export(runner, study, "ana")
    with edit_workbook(path) as sheets:
        sheets["Codings"].set(f"C{ids[1]}", decision="accept", corrected_code=None,
                              comment="on second thought")
    assert cli(runner, study, "review", "import", str(path)).exit_code == 0
    return study


def human_record(study) -> tuple[list, list]:
    """Decisions and memos by stable identity (no row ids, no times)."""
    store = open_study_store(study)
    try:
        with store.read() as conn:
            def ident(coding_id):
                if coding_id is None:
                    return None
                found = coding_identity(conn, coding_id)
                row = conn.execute(select(codings.c.negated, codings.c.hypothetical,
                                          codings.c.planned, codings.c.origin)
                                   .where(codings.c.id == coding_id)).first()
                return (found["interview_path"], found["segment_sha256"], found["code"],
                        found["evidence_text"], found["occurrence"], found["coder"],
                        tuple(row))
            rows = conn.execute(select(decisions)).all()
            record = sorted(((ident(r.coding_id), r.coder, r.role, r.decision,
                              r.corrected_code, r.corrected_flags, r.comment,
                              ident(r.linked_coding_id), r.source) for r in rows), key=repr)
            memo_rows = conn.execute(select(memos.c.entity, memos.c.coder, memos.c.text,
                                            memos.c.source)).all()
            memo_record = sorted(tuple(r) for r in memo_rows)
    finally:
        store.close()
    return record, memo_record


def test_review_log_text_and_jsonl(runner, reviewed):
    text = cli(runner, reviewed, "review", "log")
    assert text.exit_code == 0, text.stderr
    lines = text.stdout.splitlines()
    assert any(" ana decision.set " in line and "-> accept" in line for line in lines)
    assert any("ben decision.set" in line and 'comment "not an initiative"' in line
               for line in lines)
    assert any("memo.set" in line and "ana's memo" in line for line in lines)
    assert all("[workbook " in line for line in lines)
    jsonl = cli(runner, reviewed, "review", "log", "--format", "jsonl", "--coder", "ben")
    events = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert events and {e["actor"] for e in events} == {"ben"}
    decided = [e for e in events if e["kind"] == "decision.set"]
    assert decided[0]["old"] is None and decided[0]["new"]["decision"] == "reject"
    assert decided[0]["source"].startswith("workbook ben.xlsx export ")
    assert decided[0]["new"]["coding"]["evidence_text"] == "night shelter"


def test_restore_rebuilds_identical_decisions(runner, reviewed, tmp_path):
    log = tmp_path / "log.jsonl"
    result = cli(runner, reviewed, "review", "log", "--format", "jsonl", "--out", str(log))
    assert result.exit_code == 0 and result.stdout == ""
    rebuilt_root = tmp_path / "rebuilt"
    shutil.copytree(reviewed.root, rebuilt_root,
                    ignore=shutil.ignore_patterns("cityqda.sqlite*", "*.xlsx"))
    rebuilt = load_study(rebuilt_root)
    recode(rebuilt)
    assert query(rebuilt, select(decisions)) == []
    restored = cli(runner, rebuilt, "restore", str(log))
    assert restored.exit_code == 0, restored.stderr
    assert "replayed" in restored.stderr
    assert human_record(rebuilt) == human_record(reviewed)
    # a second replay into a store that has decisions needs --force, and changes nothing
    again = cli(runner, rebuilt, "restore", str(log))
    assert again.exit_code == 2 and "CQ522" in again.stderr
    forced = cli(runner, rebuilt, "restore", "--force", str(log))
    assert forced.exit_code == 0, forced.stderr
    assert human_record(rebuilt) == human_record(reviewed)


def test_restore_refuses_a_damaged_log_and_writes_nothing(runner, reviewed, tmp_path):
    log = tmp_path / "log.jsonl"
    cli(runner, reviewed, "review", "log", "--format", "jsonl", "--out", str(log))
    lines = log.read_text(encoding="utf-8").splitlines()
    rebuilt_root = tmp_path / "rebuilt"
    shutil.copytree(reviewed.root, rebuilt_root,
                    ignore=shutil.ignore_patterns("cityqda.sqlite*", "*.xlsx"))
    rebuilt = load_study(rebuilt_root)
    recode(rebuilt)
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join(lines[:2] + ["{not json"] + lines[2:]) + "\n",
                      encoding="utf-8")
    before = rebuilt.store_path.read_bytes()
    result = cli(runner, rebuilt, "restore", str(broken))
    assert result.exit_code == 1 and "CQ520" in result.stderr and "line 3" in result.stderr
    # a log re-saved by an editor in another encoding: named by line, not a traceback
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes("\n".join(lines[:3] + ['{"kind": "memo.set", "new": "Caf\u00e9"}'])
                      .encode("latin-1", "replace") + b"\n")
    result = cli(runner, rebuilt, "restore", str(latin))
    assert result.exit_code == 1 and "CQ520" in result.stderr, result.stderr
    assert "line 4: not UTF-8 text" in result.stderr
    # an event naming a transcript this study does not have
    event = json.loads(next(line for line in lines if '"decision.set"' in line))
    event["new"]["coding"]["interview_path"] = "transcripts/XXX-PM-09.docx"
    missing = tmp_path / "missing.jsonl"
    missing.write_text(json.dumps(event) + "\n", encoding="utf-8")
    result = cli(runner, rebuilt, "restore", str(missing))
    assert result.exit_code == 1 and "CQ521" in result.stderr
    # an empty log (the wrong file, or a log of nothing): said, not "replayed nothing"
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    result = cli(runner, rebuilt, "restore", str(empty))
    assert result.exit_code == 1 and "CQ527" in result.stderr and "empty.jsonl" in result.stderr
    assert rebuilt.store_path.read_bytes() == before


def test_restore_finds_segments_by_hash_after_a_paragraph_is_inserted(runner, reviewed,
                                                                     tmp_path):
    from review_helpers import ANSWERS, write_transcript

    log = tmp_path / "log.jsonl"
    cli(runner, reviewed, "review", "log", "--format", "jsonl", "--out", str(log))
    rebuilt_root = tmp_path / "rebuilt"
    shutil.copytree(reviewed.root, rebuilt_root,
                    ignore=shutil.ignore_patterns("cityqda.sqlite*", "*.xlsx"))
    rebuilt = load_study(rebuilt_root)
    city, texts = ANSWERS["LIS-PM-01.docx"]
    write_transcript(rebuilt.path("transcripts") / "LIS-PM-01.docx", city,
                     ["An opening remark."] + texts)
    recode(rebuilt)
    result = cli(runner, rebuilt, "restore", str(log))
    assert result.exit_code == 0, result.stderr
    assert len(human_record(rebuilt)[0]) == len(human_record(reviewed)[0])
    moved = query(rebuilt, select(segments.c.ord).join(
        codings, codings.c.segment_id == segments.c.id).join(
        decisions, decisions.c.coding_id == codings.c.id).join(
        interviews, interviews.c.id == segments.c.interview_id).where(
        decisions.c.comment == "fine"))
    original = query(reviewed, select(segments.c.ord).join(
        codings, codings.c.segment_id == segments.c.id).join(
        decisions, decisions.c.coding_id == codings.c.id).where(
        decisions.c.comment == "fine"))
    assert moved[0].ord > original[0].ord


def _add_actor(study) -> int:
    from pipeline.store.schema import actors

    store = open_study_store(study)
    try:
        with store.write() as conn:
            return conn.execute(actors.insert().values(
                city="Lisbon", name="Tejo Group", norm_name="tejo group",
                origin="rule")).inserted_primary_key[0]
    finally:
        store.close()


def test_restore_replays_entity_decisions(runner, tmp_path):
    from pipeline.review.entity_decisions import set_entity_decision
    from pipeline.store.schema import entity_decisions

    study = build_study(tmp_path / "one" / "study")
    actor = _add_actor(study)
    store = open_study_store(study)
    try:
        with store.write() as conn:
            set_entity_decision(conn, "actors", actor, "ana", "confirm", comment="known",
                                source="test")
    finally:
        store.close()
    log = tmp_path / "log.jsonl"
    assert cli(runner, study, "review", "log", "--format", "jsonl", "--out",
               str(log)).exit_code == 0
    rebuilt_root = tmp_path / "two" / "study"
    shutil.copytree(study.root, rebuilt_root, ignore=shutil.ignore_patterns("cityqda.sqlite*"))
    rebuilt = load_study(rebuilt_root)
    recode(rebuilt)
    _add_actor(rebuilt)
    result = cli(runner, rebuilt, "restore", str(log))
    assert result.exit_code == 0, result.stderr
    rows = query(rebuilt, select(entity_decisions.c.coder, entity_decisions.c.decision,
                                 entity_decisions.c.comment))
    assert rows == [("ana", "confirm", "known")]
