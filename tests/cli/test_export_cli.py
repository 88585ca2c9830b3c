"""`cityqda export segments`: JSON Lines on stdout, CSV, XLSX, every paragraph with its role."""

from __future__ import annotations

import csv
import io
import json

import docx
import pytest

from pipeline.cli import main


def write_transcript(path, answers):
    document = docx.Document()
    document.add_paragraph("Interview summary", style="Title")
    document.add_paragraph("City: Lisbon")
    document.add_heading("Policies and programmes", level=1)
    document.add_paragraph().add_run("Which programmes exist?").bold = True
    for answer in answers:
        document.add_paragraph(answer)
    document.save(path)


@pytest.fixture
def ingested(runner, study_dir):
    folder = study_dir / "transcripts"
    write_transcript(folder / "B.docx", ["=SUM(A1:A2) is not a formula.", "Second 👍."])
    write_transcript(folder / "A.docx", ["First answer of A."])
    result = runner.invoke(main, ["--project", str(study_dir), "ingest"])
    assert result.exit_code == 0, result.output
    return study_dir


def invoke(runner, study_dir, *args):
    return runner.invoke(main, ["--project", str(study_dir), "export", "segments", *args])


def test_export_cli_jsonl_on_stdout_sorted_with_design_keys(runner, ingested):
    result = invoke(runner, ingested)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["file"], r["text"]) for r in records] == [
        ("A.docx", "First answer of A."), ("B.docx", "=SUM(A1:A2) is not a formula."),
        ("B.docx", "Second 👍.")]
    keys = list(records[0])
    assert keys[:3] == ["segment_id", "interview_id", "file"]
    assert keys[keys.index("section"):keys.index("sha256") + 1] == [
        "section", "question", "order", "text", "start", "end", "sha256"]
    assert (records[0]["section"], records[0]["question"], records[0]["city"]) == (
        "Policies and programmes", "Which programmes exist?", "Lisbon")
    assert "👍" in result.stdout  # not escaped


def test_export_cli_all_paragraphs_shows_roles(runner, ingested):
    result = invoke(runner, ingested, "--all-paragraphs")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    roles = [(r["role"], r["text"]) for r in records if r["file"] == "A.docx"]
    assert roles == [("title", "Interview summary"), ("metadata", "City: Lisbon"),
                     ("heading", "Policies and programmes"),
                     ("question", "Which programmes exist?"), ("answer", "First answer of A.")]
    assert [r["segment_id"] is None for r in records if r["file"] == "A.docx"] == [
        True, True, True, True, False]


def test_export_cli_csv(runner, ingested, tmp_path):
    result = invoke(runner, ingested, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["text"] for r in rows][0] == "First answer of A."
    out = tmp_path / "segments.csv"
    assert invoke(runner, ingested, "--format", "csv", "--out", str(out)).exit_code == 0
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")


def test_export_cli_xlsx_needs_out_and_is_reproducible(runner, ingested, tmp_path):
    refused = invoke(runner, ingested, "--format", "xlsx")
    assert refused.exit_code == 2 and "CQ145" in refused.stderr
    first, second = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    assert invoke(runner, ingested, "--format", "xlsx", "--out", str(first)).exit_code == 0
    assert invoke(runner, ingested, "--format", "xlsx", "--out", str(second)).exit_code == 0
    assert first.read_bytes() == second.read_bytes()
    from openpyxl import load_workbook

    sheet = load_workbook(first)["segments"]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    texts = [row[values[0].index("text")] for row in values[1:]]
    assert "=SUM(A1:A2) is not a formula." in texts
    cell = next(c for row in sheet.iter_rows() for c in row
                if c.value == "=SUM(A1:A2) is not a formula.")
    assert cell.data_type == "s"


def test_export_cli_csv_escapes_text_excel_would_run_as_a_formula(runner, ingested):
    rows = list(csv.DictReader(io.StringIO(invoke(runner, ingested, "--format", "csv").stdout)))
    texts = [row["text"] for row in rows]
    assert "'=SUM(A1:A2) is not a formula." in texts
    assert "Second 👍." in texts  # ordinary text is left alone
    jsonl = [json.loads(line) for line in invoke(runner, ingested).stdout.splitlines()]
    assert "=SUM(A1:A2) is not a formula." in [r["text"] for r in jsonl]  # data unchanged


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+31 10 123", "'+31 10 123"), ("-5 days", "'-5 days"),
    ("@SUM(A1)", "'@SUM(A1)"), ("plain", "plain"), (None, ""), (12, 12),
])
def test_export_cli_csv_cell_guard(value, expected):
    from pipeline.ingest.export_segments import _csv_cell

    assert _csv_cell(value) == expected


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "xlsx"])
def test_export_cli_write_failure_names_the_file_and_keeps_the_old_export(
        runner, ingested, tmp_path, monkeypatch, fmt):
    """A full disk or a file open in Excel: CQ146 naming the file, exit 1, and the earlier
    export left whole (no half file, no temporary file behind)."""
    folder = tmp_path / "exports"
    folder.mkdir()
    out = folder / f"segments.{fmt}"
    out.write_bytes(b"earlier export")

    def disk_full(temp, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("pipeline.ingest.export_segments.replace_keeping_mode", disk_full)
    result = invoke(runner, ingested, "--format", fmt, "--out", str(out))
    assert result.exit_code == 1
    assert "CQ146" in result.stderr and str(out) in result.stderr
    assert "No space left on device" in result.stderr
    assert out.read_bytes() == b"earlier export"
    assert sorted(p.name for p in folder.iterdir()) == [out.name]


def test_export_cli_out_in_a_missing_folder_is_a_clear_error(runner, ingested, tmp_path):
    out = tmp_path / "no such folder" / "segments.csv"
    result = invoke(runner, ingested, "--format", "csv", "--out", str(out))
    assert result.exit_code == 1 and "CQ146" in result.stderr and str(out) in result.stderr
    assert "Traceback" not in result.output
    assert not out.parent.exists()
