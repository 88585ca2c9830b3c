"""The run stage import_reviews (reviews/inbox) and sheet plugins inside the import."""

from __future__ import annotations

from pathlib import Path

import pytest
from review_helpers import build_study, edit_workbook, query
from sqlalchemy import select

from pipeline.errors import Problem
from pipeline.review import sheets as sheet_registry
from pipeline.review.export import export_review
from pipeline.review.importer import import_reviews
from pipeline.review.inbox import inbox_workbooks, stage_import_reviews
from pipeline.review.sheets import ExportRow
from pipeline.review.workbook import content_hash, write_header, write_row
from pipeline.run import RunContext, RunOptions
from pipeline.store import open_study_store
from pipeline.store.schema import codings, decisions, events, review_imports


@pytest.fixture
def study(tmp_path):
    return build_study(tmp_path / "study")


def rule_ids(study) -> list[int]:
    return [r.id for r in query(study, select(codings.c.id).where(codings.c.coder == "")
                                .order_by(codings.c.id))]


def export(study, coder: str, out: Path):
    store = open_study_store(study)
    try:
        return export_review(study, store, coder, out=out)
    finally:
        store.close()


def run_stage(study, import_reviews_option: bool = True) -> RunContext:
    store = open_study_store(study)
    try:
        ctx = RunContext(study, store, RunOptions(import_reviews=import_reviews_option), None)
        stage_import_reviews(ctx)
        return ctx
    finally:
        store.close()


def test_inbox_imports_new_workbooks_once_and_reports_bad_ones(study):
    inbox = study.path("reviews_inbox")
    inbox.mkdir(parents=True, exist_ok=True)
    ids = rule_ids(study)
    good, bad = inbox / "ana.xlsx", inbox / "ben.xlsx"
    export(study, "ana", good)
    export(study, "ben", bad)
    with edit_workbook(good) as sheets:
        sheets["Codings"].set(f"C{ids[0]}", decision="accept")
    with edit_workbook(bad) as sheets:
        sheets["Codings"].set(f"C{ids[0]}", decision="perhaps")
    (inbox / "~$ana.xlsx").write_bytes(b"lock file")
    assert inbox_workbooks(inbox) == [good, bad]

    skipped = run_stage(study, import_reviews_option=False)
    assert "skipped (--no-import)" in skipped.stage_lines[0]
    assert query(study, select(decisions)) == []

    first = run_stage(study)
    assert [(r.coder, r.decision) for r in query(study, select(decisions))] == [
        ("ana", "accept")]
    assert any(p.code == "CQ509" for p in first.problems)
    assert (inbox / "ben.problems.csv").is_file()
    assert first.stage_lines[-1].endswith("1 imported, 0 already imported, 1 refused")

    second = run_stage(study)
    assert second.stage_lines[-1].endswith("0 imported, 1 already imported, 1 refused")
    assert len(query(study, select(review_imports))) == 1


class _NotesPlugin:
    """A plugin sheet listing segments with a free `note`; notes become events."""

    sheet = "Notes"

    def write(self, wb, ctx):
        ws = wb.create_sheet(self.sheet)
        write_header(ws, ["row_id", "text", "note"])
        rows = []
        for segment_id in sorted(ctx.segment_ids):
            write_row(ws, [f"N{segment_id}", f"segment {segment_id}", ""])
            rows.append(ExportRow(self.sheet, f"N{segment_id}", "segments", segment_id,
                                  content_hash([f"N{segment_id}", f"segment {segment_id}"])))
        return rows

    def read(self, rows, ctx):
        changes, problems = [], []
        for row in rows:
            note = row.get("note")
            if note == "bad":
                problems.append(Problem("CQ509", {"value": note, "known": "anything else"},
                                        ctx.file, row["_row"], "note", self.sheet))
            elif note:
                changes.append((ctx.export_rows[(self.sheet, row["row_id"])]["entity_id"],
                                note))
        return changes, problems

    def apply(self, changes, ctx):
        from pipeline.store import record_event

        for segment_id, note in changes:
            record_event(ctx.conn, actor=ctx.coder, kind="note.set", entity="segments",
                         entity_key=segment_id, new={"note": note}, source=ctx.source)
        return len(changes)


PLUGIN = _NotesPlugin()


@pytest.mark.parametrize("note, accepted", [("worth a look", True), ("bad", False)])
def test_inbox_plugin_sheets_are_written_validated_and_applied_in_one_transaction(
        study, tmp_path, monkeypatch, note, accepted):
    monkeypatch.setattr(sheet_registry, "SHEET_PLUGINS", [f"{__name__}:PLUGIN"])
    path = tmp_path / "ana.xlsx"
    result = export(study, "ana", path)
    ids = rule_ids(study)
    with edit_workbook(path) as sheets:
        assert "Notes" in sheets
        sheets["Codings"].set(f"C{ids[0]}", decision="accept")
        sheets["Notes"].set(sheets["Notes"].ids()[0], note=note)
    store = open_study_store(study)
    try:
        if accepted:
            report = import_reviews(study, store, [path])
            assert report.changes[0].plugin_rows == 1
            assert "1 other row(s)" in report.lines()[0]
        else:
            with pytest.raises(Exception) as error:
                import_reviews(study, store, [path])
            assert "sheet Notes" in str(error.value)
    finally:
        store.close()
    noted = query(study, select(events).where(events.c.kind == "note.set"))
    decided = query(study, select(decisions))
    assert (len(noted), len(decided)) == ((1, 1) if accepted else (0, 0))
    assert result.export_id
