"""A workbook re-saved by LibreOffice imports exactly like the one it was made from.

The fixtures in tests/data/review/ were made by make_resaved.py there (see its README):
an exported workbook edited with openpyxl (edited.xlsx) and the same file opened and saved
again by LibreOffice Calc 7.4 (libreoffice.xlsx), plus the export record the store held.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from review_helpers import build_study, query
from sqlalchemy import insert, select

from pipeline.review.importer import import_reviews
from pipeline.store import open_study_store
from pipeline.store.schema import codings, decisions, memos, review_export_rows, review_exports

DATA = Path(__file__).resolve().parents[1] / "data" / "review"


def human_work(study) -> tuple:
    made = sorted((r.code, r.evidence_text, r.coder, r.negated, r.hypothetical, r.planned)
                  for r in query(study, select(codings).where(codings.c.coder != "")))
    decided = sorted((r.coding_id, r.coder, r.decision, r.corrected_code, r.corrected_flags,
                      r.comment) for r in query(study, select(decisions)))
    memo = sorted((r.entity, r.entity_id, r.text) for r in query(study, select(memos)))
    return made, decided, memo


def imported(tmp_path, name: str):
    study = build_study(tmp_path / name.replace(".", "_") / "study")
    record = json.loads((DATA / "export_record.json").read_text(encoding="utf-8"))
    store = open_study_store(study)
    try:
        with store.write() as conn:
            conn.execute(insert(review_exports).values(**record["export"]))
            conn.execute(insert(review_export_rows), record["rows"])
        report = import_reviews(study, store, [DATA / name])
    finally:
        store.close()
    return study, report


def test_review_resaved_fixture_is_really_from_libreoffice():
    with zipfile.ZipFile(DATA / "libreoffice.xlsx") as package:
        assert b"LibreOffice" in package.read("docProps/app.xml")
    assert (DATA / "libreoffice.xlsx").read_bytes() != (DATA / "edited.xlsx").read_bytes()


@pytest.mark.parametrize("name", ["libreoffice.xlsx"])
def test_review_resaved_workbook_imports_the_same(tmp_path, name):
    original, original_report = imported(tmp_path, "edited.xlsx")
    resaved, resaved_report = imported(tmp_path, name)
    work = human_work(original)
    assert work[0] and work[1] and work[2]
    assert human_work(resaved) == work
    counts = [(c.decisions, c.added, c.memos, c.deleted) for c in original_report.changes]
    assert [(c.decisions, c.added, c.memos, c.deleted)
            for c in resaved_report.changes] == counts
    comments = {r[5] for r in work[1]}
    assert "Clear: ü ☃ — =not a formula" in comments and "line one\nline two" in comments
