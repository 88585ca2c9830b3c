"""`cityqda run` on the sample study: every landed stage runs; reruns are calm."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.run import STAGES
from tests.sample_copy import copy_sample


@pytest.fixture
def sample_copy(tmp_path) -> Path:
    return copy_sample(tmp_path / "sample")


def test_run_stages_are_in_flow_order():
    names = [name for name, _ in STAGES]
    assert names[:4] == ["guides", "register", "ingest", "code"]


def test_run_later_stage_imports_name_real_modules_and_fail_quietly(monkeypatch):
    """The imports `code` makes while it waits for the tagger process: a misspelt name
    would only make the warm-up useless, so each must exist; a failing one is left to
    its stage."""
    import importlib.util

    import pipeline.run as run_module

    for name in run_module.LATER_STAGE_MODULES:
        assert importlib.util.find_spec(name) is not None, name
    monkeypatch.setattr(run_module, "LATER_STAGE_MODULES", ("pipeline.no_such_stage",))
    [task] = run_module.later_stage_imports()
    assert task() is None


def test_run_sample_study_end_to_end(runner, sample_copy):
    result = runner.invoke(main, ["--project", str(sample_copy), "run"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    for name, _ in STAGES:
        assert any(line.startswith(f"{name}") for line in result.stderr.splitlines()), name
    assert "run 1: ok" in result.stderr

    conn = sqlite3.connect(sample_copy / "cityqda.sqlite")
    try:
        interviews = conn.execute("SELECT COUNT(*) FROM interviews").fetchone()[0]
        codings = conn.execute("SELECT COUNT(*) FROM codings").fetchone()[0]
        status, manifest = conn.execute("SELECT status, manifest FROM runs").fetchone()
    finally:
        conn.close()
    assert interviews == len(list((sample_copy / "transcripts_sample").glob("*.docx")))
    assert codings > 0
    assert status == "ok"
    counts = json.loads(manifest)["counts"]
    assert counts, "the run manifest records counts"


def test_run_rerun_changes_nothing(runner, sample_copy):
    first = runner.invoke(main, ["--project", str(sample_copy), "run", "--no-pdf"])
    assert first.exit_code == 0, first.stderr
    assert "report: PDF not requested" in first.stderr
    assert not list((sample_copy / "outputs").rglob("*.pdf"))
    conn = sqlite3.connect(sample_copy / "cityqda.sqlite")
    before = conn.execute("SELECT COUNT(*) FROM codings").fetchone()[0]
    versions = conn.execute("SELECT SUM(version) FROM interviews").fetchone()[0]
    conn.close()
    second = runner.invoke(main, ["--project", str(sample_copy), "run", "--no-pdf"])
    assert second.exit_code == 0, second.stderr
    assert "run 2: ok" in second.stderr
    conn = sqlite3.connect(sample_copy / "cityqda.sqlite")
    assert conn.execute("SELECT COUNT(*) FROM codings").fetchone()[0] == before
    assert conn.execute("SELECT SUM(version) FROM interviews").fetchone()[0] == versions
    conn.close()


def test_run_reports_a_broken_register_and_exits_1(runner, sample_copy):
    from openpyxl import load_workbook

    workbook = load_workbook(sample_copy / "register.xlsx")
    sheet = workbook["register"]
    header = [cell.value for cell in sheet[1]]
    sheet.cell(row=2, column=header.index("outcome") + 1, value="maybe")
    workbook.save(sample_copy / "register.xlsx")
    result = runner.invoke(main, ["--project", str(sample_copy), "run"])
    assert result.exit_code == 1
    assert "register.xlsx" in result.stderr and "row 2" in result.stderr
    assert "failed" in result.stderr


def test_run_purge_removes_an_interviews_words_from_its_codings(runner, sample_copy):
    """Withdrawn consent: after `interview retire --purge` no coding quotes the interview."""
    assert runner.invoke(main, ["--project", str(sample_copy), "run"]).exit_code == 0
    conn = sqlite3.connect(sample_copy / "cityqda.sqlite")
    interview_id, path = conn.execute(
        "SELECT id, path FROM interviews WHERE file = 'LIS-PM-01.docx'").fetchone()
    quoted = conn.execute("SELECT COUNT(*) FROM codings WHERE interview_id = ? "
                          "AND evidence_text NOT LIKE '(purged%'", (interview_id,)).fetchone()[0]
    conn.close()
    assert quoted > 0
    result = runner.invoke(main, ["--project", str(sample_copy), "interview", "retire", path,
                                  "--reason", "consent withdrawn", "--purge", "--yes"])
    assert result.exit_code == 0, result.stderr
    conn = sqlite3.connect(sample_copy / "cityqda.sqlite")
    left = conn.execute("SELECT COUNT(*) FROM codings WHERE interview_id = ? AND "
                        "(evidence_text NOT LIKE '(purged%' OR sentence IS NOT NULL)",
                        (interview_id,)).fetchone()[0]
    kept = conn.execute("SELECT COUNT(*) FROM codings WHERE interview_id = ?",
                        (interview_id,)).fetchone()[0]
    conn.close()
    assert left == 0
    assert kept == quoted  # the facts stay: codings are never deleted


def test_run_keeps_the_last_good_outputs_when_coding_is_refused(runner, sample_copy):
    """A broken codebook codes nothing; the datasets and reports are not rewritten from a
    store the refused codebook left half-coded, and the run says so and exits 1."""
    assert runner.invoke(main, ["--project", str(sample_copy), "run", "--no-pdf"]).exit_code == 0
    outputs = sample_copy / "outputs"
    before = {path: path.read_bytes() for path in outputs.rglob("*") if path.is_file()}
    codebook = sample_copy / "codebooks" / "integration_policy.yaml"
    codebook.write_text("colour: blue\n" + codebook.read_text(encoding="utf-8"),
                        encoding="utf-8")
    result = runner.invoke(main, ["--project", str(sample_copy), "run", "--no-pdf"])
    assert result.exit_code == 1
    assert "colour" in result.stderr
    for stage in ("aggregate", "report"):
        assert f"{stage}: not run, because coding was refused" in result.stderr
    kept = {path: path.read_bytes() for path in outputs.rglob("*") if path.is_file()
            and path.name not in ("manifest.json", "changes.md")}
    assert kept == {path: data for path, data in before.items() if path in kept}
    assert set(kept) == {path for path in before
                         if path.name not in ("manifest.json", "changes.md")}
