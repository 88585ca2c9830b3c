"""`cityqda status [--json]`: DESIGN.md's shape, on stdout, parseable."""

from __future__ import annotations

import json

import docx

from pipeline.cli import main
from pipeline.vocabulary import METADATA_FIELDS


def write_transcript(path, answer="We run a welcome desk for newcomers."):
    document = docx.Document()
    document.add_paragraph("City: Lisbon")
    document.add_paragraph("Organization: Job Centre")
    document.add_heading("Introduction", level=1)
    document.add_paragraph(answer)
    document.save(path)
    return path


def invoke(runner, study_dir, *args):
    return runner.invoke(main, ["--project", str(study_dir), *args])


def test_status_cli_json_shape(runner, study_dir):
    folder = study_dir / "transcripts"
    write_transcript(folder / "LIS-PR-01.docx")
    assert invoke(runner, study_dir, "ingest").exit_code == 0
    write_transcript(folder / "LIS-PR-02.docx", answer="Not ingested yet.")
    (folder / "bad.docx").write_bytes(b"nonsense")
    result = invoke(runner, study_dir, "status", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert list(report) == ["interviews", "problems", "totals"]
    (entry,) = report["interviews"]
    assert list(entry)[:8] == ["id", "file", "path", "sha256", "version", "status", "segments",
                               "warnings"]
    for name in METADATA_FIELDS:
        assert {name, f"{name}_raw", f"{name}_source"} <= set(entry)
    assert (entry["file"], entry["path"], entry["status"], entry["segments"]) == (
        "LIS-PR-01.docx", "transcripts/LIS-PR-01.docx", "active", 1)
    assert (entry["organisation"], entry["organisation_source"]) == ("Job Centre", "lines")
    assert [w["code"] for w in entry["warnings"]] == ["CQ125"]  # the register is empty
    assert entry["warnings"][0]["message"].startswith("no row in the register")
    problems = {(p["path"], p["outcome"], p["code"]) for p in report["problems"]}
    assert problems == {("transcripts/LIS-PR-02.docx", "ingested", "CQ135"),
                        ("transcripts/bad.docx", "failed", "CQ101")}
    totals = report["totals"]
    assert (totals["interviews"], totals["segments"], totals["failed"], totals["pending"]) == (
        1, 1, 1, 1)


def test_status_cli_writes_nothing(runner, study_dir):
    write_transcript(study_dir / "transcripts" / "LIS-PR-01.docx")
    store = study_dir / "cityqda.sqlite"
    before = store.read_bytes()
    result = invoke(runner, study_dir, "status", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["totals"]["interviews"] == 0
    assert store.read_bytes() == before


def test_status_cli_human_report(runner, study_dir):
    write_transcript(study_dir / "transcripts" / "LIS-PR-01.docx")
    invoke(runner, study_dir, "ingest")
    (study_dir / "transcripts" / "LIS-PR-01.docx").unlink()
    result = invoke(runner, study_dir, "status")
    assert result.exit_code == 0
    assert "transcripts/LIS-PR-01.docx" in result.stdout
    assert "missing" in result.stdout and "CQ132" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1].startswith("totals: interviews 1")


def test_status_cli_text_says_what_each_warning_means(runner, study_dir):
    """`run` says 'interviews with warnings (see `cityqda status`)': the text status shows
    each warning's message and hint, not only its code."""
    write_transcript(study_dir / "transcripts" / "LIS-PR-01.docx")
    assert runner.invoke(main, ["--project", str(study_dir), "ingest"]).exit_code == 0

    result = runner.invoke(main, ["--project", str(study_dir), "status"])

    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if "transcripts/LIS-PR-01.docx" in line)
    assert lines[at + 1].strip().startswith("CQ125: no row in the register")
    assert lines[at + 2].strip().startswith("→ ")
