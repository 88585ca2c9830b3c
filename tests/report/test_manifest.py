"""`cityqda run` writes its manifest and says what changed since the previous run."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3

import docx
import pytest
import yaml
from openpyxl import load_workbook
from sqlalchemy import select

from pipeline.aggregate.tables import ResultTable
from pipeline.cli import main
from pipeline.report.manifest import change_report, table_cells
from pipeline.store import open_study_store
from pipeline.study import load_study


def run(runner, root):
    result = runner.invoke(main, ["--project", str(root), "run", "--no-import"])
    assert result.exit_code == 0, result.stderr
    result.run_id = int(re.search(r"^run (\d+): ok", result.stderr, re.M).group(1))
    return result


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def add_interview(root, name="LIS-PM-02.docx"):
    """A new transcript: a copy of LIS-PM-01 with one more answer (new bytes, new file)."""
    document = docx.Document(str(root / "transcripts_sample" / "LIS-PM-01.docx"))
    document.add_paragraph("The parish also runs a new homework club for refugee children.")
    document.save(str(root / "transcripts_sample" / name))
    workbook = load_workbook(root / "register.xlsx")
    sheet = workbook["register"]
    header = [cell.value for cell in sheet[1]]
    values = {"round": "1", "city": "Lisbon", "country": "Portugal",
              "category": "policy_maker", "outcome": "interviewed", "transcript_file": name}
    sheet.append([values.get(column) for column in header])
    workbook.save(root / "register.xlsx")
    return f"transcripts_sample/{name}"


def decide_challenge_in_lisbon(root, coder="ben") -> str:
    """Accept one Lisbon challenge coding; returns its code."""
    from pipeline.coding.decisions import set_decision
    from pipeline.store.schema import codings, interviews

    study = load_study(root)
    store = open_study_store(study)
    try:
        with store.write() as conn:
            coding_id, code = conn.execute(
                select(codings.c.id, codings.c.code)
                .join(interviews, interviews.c.id == codings.c.interview_id)
                .where(codings.c.kind == "challenge", codings.c.negated == 0,
                       interviews.c.file.like("LIS-%"))
                .order_by(codings.c.id)).first()
            set_decision(conn, coding_id, coder, "accept", source="test")
    finally:
        store.close()
    return code


def test_manifest_run_writes_hashes_versions_counts_and_outputs(runner, coded_sample, no_pdf):
    result = run(runner, coded_sample)
    path = coded_sample / "outputs" / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    assert manifest["run_id"] == result.run_id and manifest["status"] == "ok"
    assert manifest["started_at"] and manifest["finished_at"]
    inputs = manifest["inputs"]
    assert inputs["register"] == {"path": "register.xlsx",
                                  "sha256": sha256(coded_sample / "register.xlsx")}
    assert inputs["codebook"]["sha256"] == manifest["codebook"]["sha256"] == sha256(
        coded_sample / "codebooks" / "integration_policy.yaml")
    assert manifest["codebook"]["id"] == "integration_policy"
    codebook = (coded_sample / "codebooks" / "integration_policy.yaml").read_text("utf-8")
    assert manifest["codebook"]["version"] == yaml.safe_load(codebook)["version"]
    assert len(inputs["guides"]) == 4 and all(g["sha256"] for g in inputs["guides"])
    transcript = next(t for t in inputs["transcripts"] if t["file"] == "LIS-PM-01.docx")
    assert transcript["sha256"] == sha256(coded_sample / transcript["path"])
    assert inputs["actor_registry"]["sha256"]
    assert {"python", "cityqda", "spacy", "python-docx", "openpyxl", "SQLAlchemy"} <= set(
        manifest["packages"])
    assert manifest["counts"]["interviews_active"] == 20
    assert manifest["counts"]["codings_accepted"] > 0
    # every count says what it counts: a note of its own or of its family (<...>)
    notes = [re.compile(re.sub(r"<\w+>", "[a-z_]+", key) + "$")
             for key in manifest["count_notes"]]
    assert [key for key in manifest["counts"]
            if not any(note.match(key) for note in notes)] == []
    report = manifest["outputs"]["report_lisbon"]
    assert report["sha256"] == sha256(coded_sample / report["path"])
    assert "initiatives_by_dimension" in manifest["tables"]
    conn = sqlite3.connect(coded_sample / "cityqda.sqlite")
    stored = conn.execute("SELECT manifest FROM runs WHERE id = ?",
                          (result.run_id,)).fetchone()[0]
    conn.close()
    assert stored == path.read_text(encoding="utf-8")
    assert f"changes: run {result.run_id} is the first run with a manifest" in result.stderr
    assert (coded_sample / "outputs" / "changes.md").is_file()


def test_manifest_change_report_names_a_new_interview_and_a_decision(runner, coded_sample,
                                                                      no_pdf):
    first = run(runner, coded_sample).run_id
    new_path = add_interview(coded_sample)
    code = decide_challenge_in_lisbon(coded_sample)
    result = run(runner, coded_sample)
    lines = result.stderr.splitlines()
    assert f"changes since run {first} (run {result.run_id}):" in lines
    assert f"  new interview: {new_path}" in lines
    assert "  new decisions by ben: 1 coding decision(s)" in lines
    assert any(line.startswith(f"  cell moved: Common challenges per city [Lisbon, {code}]")
               for line in lines), result.stderr
    assert any(line.startswith("  cell moved: Stakeholders interviewed per city and category "
                               "[Lisbon] policy_maker: 1 -> 2") for line in lines)
    changes = (coded_sample / "outputs" / "changes.md").read_text(encoding="utf-8")
    assert changes.startswith(f"# changes since run {first} (run {result.run_id})\n")
    assert f"- new interview: {new_path}\n" in changes
    assert "- new decisions by ben: 1 coding decision(s)\n" in changes


def test_manifest_change_report_names_changed_and_retired_interviews(runner, coded_sample,
                                                                      no_pdf):
    run(runner, coded_sample)
    changed = coded_sample / "transcripts_sample" / "NAI-BU-01.docx"
    document = docx.Document(str(changed))
    document.add_paragraph("The bank now also offers free savings accounts to refugees.")
    document.save(str(changed))
    retired = runner.invoke(main, ["--project", str(coded_sample), "interview", "retire",
                                   "transcripts_sample/ROT-BU-01.docx", "--reason", "test"])
    assert retired.exit_code == 0, retired.stderr
    workbook = load_workbook(coded_sample / "register.xlsx")  # the register follows
    sheet = workbook["register"]
    header = [cell.value for cell in sheet[1]]
    column = header.index("transcript_file")
    row = next(r[0].row for r in sheet.iter_rows(min_row=2)
               if r[column].value == "ROT-BU-01.docx")
    sheet.delete_rows(row)
    workbook.save(coded_sample / "register.xlsx")
    lines = run(runner, coded_sample).stderr.splitlines()
    assert "  changed interview: transcripts_sample/NAI-BU-01.docx (version 1 -> 2)" in lines
    assert "  retired interview: transcripts_sample/ROT-BU-01.docx" in lines


def test_manifest_rerun_without_changes_says_nothing_changed(runner, coded_sample, no_pdf):
    first = run(runner, coded_sample).run_id
    second = run(runner, coded_sample)
    lines = second.stderr.splitlines()
    index = lines.index(f"changes since run {first} (run {second.run_id}):")
    assert lines[index + 1] == "  nothing changed"


@pytest.mark.parametrize("before, after, expected", [
    ([["Lisbon", 1, 0.5]], [["Lisbon", 2, 0.5]], ["[Lisbon] initiatives: 1 -> 2"]),
    ([["Lisbon", 1, None]], [["Lisbon", 1, 0.25]], ["[Lisbon] rate: blank -> 0.25"]),
    ([], [["Nairobi", 3, None]], ["[Nairobi] initiatives: blank -> 3"]),
    ([["Lisbon", 1, None]], [["Lisbon", 1, None]], []),
])
def test_manifest_table_cells_that_moved(coded_sample, before, after, expected):
    """Cell comparison on stored manifests: runs 1 and 2 written by hand."""
    def manifest(rows):
        table = ResultTable(name="t", title="T", columns=["city", "initiatives", "rate"],
                            rows=rows, notes=[])
        return json.dumps({"inputs": {"transcripts": []}, "last_event_id": 0,
                           "tables": table_cells({"t": table})})

    study = load_study(coded_sample)
    store = open_study_store(study)
    try:
        with store.write() as conn:
            conn.exec_driver_sql(
                "INSERT INTO runs (id, command, started_at, status, manifest) VALUES "
                "(101, 'run', 'x', 'ok', ?), (102, 'run', 'x', 'ok', ?)",
                (manifest(before), manifest(after)))
        with store.read() as conn:
            lines = change_report(conn, 101, 102)
    finally:
        store.close()
    assert lines[0] == "changes since run 101 (run 102):"
    moved = [line.removeprefix("cell moved: T ") for line in lines[1:]]
    assert moved == (expected or ["nothing changed"])


def test_manifest_failed_run_still_writes_its_manifest(runner, coded_sample, no_pdf):
    """A broken register fails the run: the report is skipped (its error printed once)
    and the manifest records the failure and the problems."""
    workbook = load_workbook(coded_sample / "register.xlsx")
    sheet = workbook["register"]
    header = [cell.value for cell in sheet[1]]
    sheet.cell(row=2, column=header.index("outcome") + 1, value="maybe")
    workbook.save(coded_sample / "register.xlsx")
    result = runner.invoke(main, ["--project", str(coded_sample), "run", "--no-import"])
    assert result.exit_code == 1
    assert "report: not written (see the errors)" in result.stderr
    assert result.stderr.count("error CQ925") == 1
    manifest = json.loads((coded_sample / "outputs" / "manifest.json").read_text("utf-8"))
    assert manifest["status"] == "failed"
    assert any(p["code"] == "CQ925" and p["row"] == 2 for p in manifest["problems"])
    conn = sqlite3.connect(coded_sample / "cityqda.sqlite")
    status = conn.execute("SELECT status FROM runs WHERE id = ?",
                          (manifest["run_id"],)).fetchone()[0]
    conn.close()
    assert status == "failed"


def test_manifest_many_moved_cells_are_summarised_on_stderr(tmp_path):
    from pipeline.report.manifest import STDERR_CELL_LINES, changes_markdown, stderr_lines

    lines = ["changes since run 1 (run 2):", "new interview: t/a.docx",
             *(f"cell moved: T [c{i}] n: 0 -> 1" for i in range(STDERR_CELL_LINES + 5))]
    shown = stderr_lines(lines, tmp_path / "changes.md")
    assert shown[:2] == ["changes since run 1 (run 2):", "  new interview: t/a.docx"]
    assert sum("cell moved" in line for line in shown) == STDERR_CELL_LINES
    assert shown[-1] == f"  ... and 5 more cell(s) (see {tmp_path / 'changes.md'})"
    markdown = changes_markdown(lines)
    assert markdown.count("\n- cell moved: ") == STDERR_CELL_LINES + 5


def give_every_status(store) -> set[int]:
    """Decide, supersede and merge a few codings so that every derived status occurs;
    returns the interviews whose codings changed."""
    from sqlalchemy import update

    from pipeline.coding.decisions import set_decision
    from pipeline.store.schema import codings, decisions

    with store.write() as conn:
        rows = conn.execute(select(codings.c.id, codings.c.interview_id)
                            .where(codings.c.id.not_in(select(decisions.c.coding_id)))
                            .order_by(codings.c.id.desc()).limit(8)).all()
        ids = [row.id for row in rows]
        set_decision(conn, ids[0], "ana", "reject", source="test")
        set_decision(conn, ids[1], "ana", "accept", source="test")
        set_decision(conn, ids[1], "ben", "reject", source="test")  # disputed
        set_decision(conn, ids[2], "ben", "reject", source="test")
        set_decision(conn, ids[2], "cleo", "accept", source="test", role="adjudicator")
        conn.execute(update(codings).where(codings.c.id == ids[3]).values(produced=0))
        conn.execute(update(codings).where(codings.c.id == ids[4])
                     .values(merged_into=ids[5]))
        set_decision(conn, ids[6], "ana", "discuss", source="test")
    return {row.interview_id for row in rows[:7]}


def test_manifest_coding_status_counts_equal_every_status_derived(coded_sample):
    """The store counts' statuses, counted mostly by SQLite, equal deriving every coding's
    status: accepted, rejected, disputed, adjudicated, superseded, merged and undecided."""
    from collections import Counter

    from pipeline.coding.decisions import coding_statuses
    from pipeline.report.manifest import coding_status_counts

    study = load_study(coded_sample)
    store = open_study_store(study)
    try:
        give_every_status(store)
        with store.read() as conn:
            derived = Counter(coding_statuses(conn).values())
            counted = coding_status_counts(conn)
    finally:
        store.close()
    assert {"accepted", "rejected", "disputed", "suggested", "superseded",
            "merged"} <= set(derived)
    assert dict(counted) == dict(derived)


@pytest.mark.parametrize("recorded_by_later_run", [False, True])
def test_manifest_coding_counts_recount_only_changed_interviews(coded_sample, monkeypatch,
                                                                 recorded_by_later_run):
    """A run counts statuses again only for interviews whose codings or decisions changed
    since the run that recorded the counts; a record the previous run cannot have seen
    (a later run's: the store was restored from a backup) is not used."""
    from types import SimpleNamespace

    from pipeline.report import manifest
    from pipeline.report.incremental import RunMemory, data_versions

    study = load_study(coded_sample)
    store = open_study_store(study)
    recounted: list[list[int] | None] = []
    count = manifest._status_counts_by_interview
    monkeypatch.setattr(manifest, "_status_counts_by_interview",
                        lambda conn, ids=None: recounted.append(ids) or count(conn, ids))

    def counts(run_id: int, previous: dict):
        ctx = SimpleNamespace(study=study, run_id=run_id, memory=RunMemory(study, previous))
        with store.read() as conn:
            versions = data_versions(conn)
            return versions, manifest._coding_counts(ctx, conn, versions)

    try:
        versions, _ = counts(7 if recorded_by_later_run else 3, {})
        changed = give_every_status(store)
        _, incremental = counts(4, {"run_id": 3, "data_versions": versions})
        with store.read() as conn:
            everything = manifest.coding_status_counts(conn)
    finally:
        store.close()
    assert dict(incremental) == dict(everything)
    every_interview = recounted[0]
    assert recounted[1] == (every_interview if recorded_by_later_run else sorted(changed))


@pytest.mark.parametrize("kinds, note", [
    (["decision.set", "decision.set"], False),
    (["decision.set", "coding.added", "decision.set"], True),
])
def test_manifest_change_lines_say_additions_record_an_accept(kinds, note):
    """A change or an addition records an accept of the coding it makes, so changes.md
    counts more decisions than the workbook rows `review import` reported: it says so."""
    from sqlalchemy import create_engine, insert

    from pipeline.report.manifest import _event_lines
    from pipeline.store.schema import events

    engine = create_engine("sqlite://")
    events.create(engine)
    with engine.begin() as conn:
        for kind in kinds:
            conn.execute(insert(events).values(time="t", actor="kl", kind=kind,
                                               entity="codings", entity_key="k"))
        lines = _event_lines(conn, {"last_event_id": 0}, {"last_event_id": len(kinds)})
    assert lines[0].startswith("new decisions by kl: 2 coding decision(s)")
    assert any(line.startswith("(an addition or a change also records") for line in lines) \
        == note


def test_manifest_codebook_refused_then_fixed_is_said_plainly(runner, coded_sample, no_pdf):
    """A code renamed without a `changes` entry: the code stage refuses the codebook
    (CQ402) and the codings stay those of the last version; changes.md said 'codebook:
    1.x -> blank', then 'blank -> 1.y' once fixed. It now says the file was not used, and
    then the versions from and to."""
    run(runner, coded_sample)
    path = coded_sample / "codebooks" / "integration_policy.yaml"
    text = path.read_text(encoding="utf-8")
    old = re.search(r"^version: (\S+)$", text, re.M).group(1)
    renamed = re.sub(r"^(  - id: |      - )legal\.legal_aid$", r"\1legal.legal_advice", text,
                     flags=re.M).replace(f"\nversion: {old}\n", "\nversion: 99.0.0\n", 1)
    path.write_text(renamed, encoding="utf-8")

    refused = runner.invoke(main, ["--project", str(coded_sample), "run", "--no-import"])
    manifest = json.loads((coded_sample / "outputs" / "manifest.json").read_text("utf-8"))
    path.write_text(renamed.replace(
        "\nchanges: []\n", "\nchanges:\n  - {version: 99.0.0, kind: renamed, from: "
        "[legal.legal_aid], to: [legal.legal_advice]}\n", 1), encoding="utf-8")
    fixed = run(runner, coded_sample)

    assert refused.exit_code == 1 and "error CQ402" in refused.stderr
    assert "`- {version: 1.2.0, kind: renamed, from: [OLD.ID]" in refused.stderr
    assert (manifest["codebook"]["version"], manifest["codebook"]["file_not_used"]) == (old,
                                                                                     True)
    assert ("codebook: the file changed but this run did not use it (see the run's errors); "
            f"the codings are still those of integration_policy {old}") in refused.stderr
    assert f"codebook: integration_policy {old} -> 99.0.0" in fixed.stderr
    assert "blank" not in refused.stderr + fixed.stderr
