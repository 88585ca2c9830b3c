"""Adopting workbooks exported from another copy of the study: the sample study's committed
demo workbooks (reviews/inbox/) import into a store built by the run itself."""

from __future__ import annotations

import csv
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from pipeline.cli import main
from pipeline.coding.decisions import set_decision
from pipeline.store import open_study_store
from pipeline.study import load_study
from tests.sample_copy import REPO_ROOT, copy_sample
from tests.sample_copy import STUDY_PARTS as SAMPLE_PARTS

STUDY_PARTS = (*SAMPLE_PARTS, "reviews/inbox")
DEMO = ("sample-ana-demo.xlsx", "sample-ben-demo.xlsx")


def query(root: Path, sql: str, *args):
    conn = sqlite3.connect(root / "cityqda.sqlite")
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    """The sample study with its demo workbooks, run twice through the real CLI."""
    root = copy_sample(tmp_path_factory.mktemp("adopt") / "sample", STUDY_PARTS)
    runner = CliRunner()
    first = runner.invoke(main, ["--project", str(root), "run"])
    counts = {
        "imports": query(root, "SELECT COUNT(*) FROM review_imports")[0][0],
        "decisions": query(root, "SELECT COUNT(*) FROM decisions")[0][0],
        "entity_decisions": query(root, "SELECT COUNT(*) FROM entity_decisions")[0][0]}
    second = runner.invoke(main, ["--project", str(root), "run"])
    return root, first, second, counts


def test_review_adopt_sample_run_imports_the_demo_workbooks(sample_run):
    root, first, _second, counts = sample_run
    assert first.exit_code == 0, first.stderr
    assert "import_reviews: " + str(root / "reviews" / "inbox") + ": 2 imported, 0 already " \
        "imported, 0 refused" in first.stderr
    assert counts["imports"] == 2
    by_coder = dict(query(root, "SELECT coder, COUNT(*) FROM decisions GROUP BY coder"))
    assert set(by_coder) == {"ana", "ben"} and min(by_coder.values()) > 100
    assert dict(query(root, "SELECT coder, COUNT(*) FROM entity_decisions GROUP BY coder")) \
        .keys() == {"ana", "ben"}
    exports = query(root, "SELECT id, coder, scope FROM review_exports ORDER BY id")
    assert [(e[0], e[1]) for e in exports] == [("demo-ana", "ana"), ("demo-ben", "ben")]
    assert all('"adopted"' in e[2] for e in exports)
    # every kind of sheet was adopted: codings, segments, interviews and the entity sheets
    sheets = {row[0] for row in query(root, "SELECT DISTINCT sheet FROM review_export_rows")}
    assert {"Codings", "Segments", "Interviews", "Initiatives", "Actors",
            "Partnerships"} <= sheets


def test_review_adopt_sample_run_writes_tables_with_content(sample_run):
    root = sample_run[0]
    outputs = root / "outputs"
    agreement = load_workbook(outputs / "agreement.xlsx", read_only=True)
    assert any(sheet.max_row > 1 for sheet in agreement.worksheets)
    with open(outputs / "coded_long-accepted.csv", encoding="utf-8-sig") as handle:
        assert len(list(csv.DictReader(handle))) > 50
    tables = outputs / "tables-accepted-all-rounds"
    with open(tables / "initiatives_by_dimension.csv", encoding="utf-8-sig") as handle:
        assert sum(int(r["total_initiatives"]) for r in csv.DictReader(handle)) > 0
    assert (outputs / "tables-accepted-all-rounds.xlsx").stat().st_size > 0


def test_review_adopt_second_run_imports_nothing_new(sample_run):
    root, _first, second, counts = sample_run
    assert second.exit_code == 0, second.stderr
    assert ": 0 imported, 2 already imported, 0 refused" in second.stderr
    assert query(root, "SELECT COUNT(*) FROM review_imports")[0][0] == counts["imports"]
    assert query(root, "SELECT COUNT(*) FROM decisions")[0][0] == counts["decisions"]
    assert query(root, "SELECT COUNT(*) FROM entity_decisions")[0][0] == \
        counts["entity_decisions"]


def _first_coding_row(path: Path) -> tuple[int, str]:
    sheet = load_workbook(path, read_only=True)["Codings"]
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    for number, row in enumerate(sheet.iter_rows(min_row=2, values_only=True), start=2):
        values = dict(zip(header, row, strict=False))
        if values["row_id"]:
            return number, values["row_id"]
    raise AssertionError("no Codings row")


@pytest.fixture
def built_store(tmp_path):
    """A fresh copy of the sample, run without importing, and ana's demo workbook."""
    root = copy_sample(tmp_path / "sample", STUDY_PARTS[:-1])
    result = CliRunner().invoke(main, ["--project", str(root), "run", "--no-import"])
    assert result.exit_code == 0, result.stderr
    workbook = tmp_path / DEMO[0]
    shutil.copyfile(REPO_ROOT / "reviews" / "inbox" / DEMO[0], workbook)
    return root, workbook


def _store_bytes(root: Path) -> dict:
    return {table: query(root, f"SELECT * FROM {table} ORDER BY 1")
            for table in ("decisions", "entity_decisions", "review_exports",
                          "review_export_rows", "review_imports", "memos")}


def test_review_adopt_refuses_a_row_showing_another_coding(built_store):
    root, workbook = built_store
    row, row_id = _first_coding_row(workbook)
    conn = sqlite3.connect(root / "cityqda.sqlite")
    conn.execute("UPDATE codings SET rule_id = 'edited.rule' WHERE id = ?", (int(row_id[1:]),))
    conn.commit()
    conn.close()
    before = _store_bytes(root)
    result = CliRunner().invoke(main, ["--project", str(root), "review", "import",
                                       str(workbook)])
    assert result.exit_code == 1
    assert "CQ535" in result.stderr
    assert f"row {row} shows a different coding than {row_id} here" in result.stderr
    assert "column rule" in result.stderr
    assert _store_bytes(root) == before  # all or nothing: nothing adopted or decided
    problems = workbook.with_name(workbook.stem + ".problems.csv")
    assert "CQ535" in problems.read_text(encoding="utf-8-sig")


def test_review_adopt_refuses_an_undeclared_coder(built_store):
    root, workbook = built_store
    config = root / "cityqda.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('id = "ana"', 'id = "anna"'), encoding="utf-8")
    result = CliRunner().invoke(main, ["--project", str(root), "review", "import",
                                       str(workbook)])
    assert result.exit_code == 1
    assert "CQ537" in result.stderr
    assert query(root, "SELECT COUNT(*) FROM review_exports")[0][0] == 0


def test_review_adopt_same_coder_deciding_otherwise_here_is_stale(built_store):
    root, workbook = built_store
    _row, row_id = _first_coding_row(workbook)
    sheet = load_workbook(workbook, read_only=True)["Codings"]
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    decided = next(dict(zip(header, r, strict=False)) for r in
                   sheet.iter_rows(min_row=2, values_only=True)
                   if r[header.index("row_id")] == row_id)["decision"]
    other = "reject" if decided == "accept" else "accept"
    study = load_study(root)
    store = open_study_store(study)
    try:
        with store.write() as conn:
            set_decision(conn, int(row_id[1:]), "ana", other, source="test")
    finally:
        store.close()
    refused = CliRunner().invoke(main, ["--project", str(root), "review", "import",
                                        str(workbook)])
    assert refused.exit_code == 1 and "CQ514" in refused.stderr
    assert "which is newer cannot be told" in refused.stderr
    skipped = CliRunner().invoke(main, ["--project", str(root), "review", "import",
                                        "--skip-stale", str(workbook)])
    assert skipped.exit_code == 0, skipped.stderr
    assert "1 stale row(s) skipped" in skipped.stderr


def test_review_adopt_matches_a_renumbered_coding_by_what_it_shows(built_store):
    """A coding whose id differs here (another history) is found by its cells."""
    root, workbook = built_store
    _row, row_id = _first_coding_row(workbook)
    old = int(row_id[1:])
    new = query(root, "SELECT MAX(id) FROM codings")[0][0] + 1000
    conn = sqlite3.connect(root / "cityqda.sqlite")
    conn.execute("UPDATE codings SET id = ? WHERE id = ?", (new, old))
    conn.commit()
    conn.close()
    result = CliRunner().invoke(main, ["--project", str(root), "review", "import",
                                       str(workbook)])
    assert result.exit_code == 0, result.stderr
    assert query(root, "SELECT entity_id FROM review_export_rows WHERE sheet = 'Codings' "
                       "AND row_key = ?", row_id) == [(new,)]
    assert query(root, "SELECT COUNT(*) FROM decisions WHERE coding_id = ? AND coder = "
                       "'ana'", new) == [(1,)]
