"""`cityqda interview set|retire` from the command line."""

from __future__ import annotations

import json

import docx

from pipeline.cli import main


def invoke(runner, study_dir, *args):
    return runner.invoke(main, ["--project", str(study_dir), *args])


def ingest_one(runner, study_dir):
    document = docx.Document()
    document.add_paragraph("City: Lisbon")
    document.add_paragraph("Answer about the welcome desk.")
    document.save(study_dir / "transcripts" / "LIS-PM-01.docx")
    assert invoke(runner, study_dir, "ingest").exit_code == 0


def status(runner, study_dir):
    return json.loads(invoke(runner, study_dir, "status", "--json").stdout)


def test_interview_cli_set_and_clear(runner, study_dir):
    ingest_one(runner, study_dir)
    result = invoke(runner, study_dir, "interview", "set", "LIS-PM-01.docx",
                    "Stakeholder type", "Local policy maker")
    assert result.exit_code == 0, result.output
    entry = status(runner, study_dir)["interviews"][0]
    assert (entry["stakeholder_category"], entry["stakeholder_category_source"]) == (
        "policy_maker", "override")
    assert entry["interview_guide"] == "policy_makers"
    cleared = invoke(runner, study_dir, "interview", "set", "1", "stakeholder_category",
                     "--clear")
    assert cleared.exit_code == 0
    assert status(runner, study_dir)["interviews"][0]["stakeholder_category"] is None


def test_interview_cli_usage_errors(runner, study_dir):
    ingest_one(runner, study_dir)
    cases = [
        (["interview", "set", "NOPE.docx", "city", "Porto"], "CQ140"),
        (["interview", "set", "1", "favourite colour", "blue"], "CQ142"),
        (["interview", "set", "1", "mode", "carrier pigeon"], "CQ143"),
        (["interview", "set", "1", "interview_date", "02/03/2021"], "CQ143"),
        (["interview", "retire", "1"], "CQ144"),
        (["interview", "retire", "1", "--undo"], "CQ144"),
    ]
    for argv, code in cases:
        result = invoke(runner, study_dir, *argv)
        assert result.exit_code == 2, (argv, result.output)
        assert code in result.stderr, argv
    assert invoke(runner, study_dir, "interview", "set", "1", "city").exit_code == 2


def test_interview_cli_retire_undo_purge(runner, study_dir):
    ingest_one(runner, study_dir)
    result = invoke(runner, study_dir, "interview", "retire", "transcripts/LIS-PM-01.docx",
                    "--reason", "wrong city")
    assert result.exit_code == 0, result.output
    assert status(runner, study_dir)["interviews"][0]["status"] == "retired"
    assert invoke(runner, study_dir, "export", "segments").stdout == ""
    assert invoke(runner, study_dir, "interview", "retire", "1", "--undo").exit_code == 0
    assert invoke(runner, study_dir, "export", "segments").stdout != ""
    for answer in ("n\n", ""):  # declined, or no answer (a script without --yes)
        kept = runner.invoke(main, ["--project", str(study_dir), "interview", "retire", "1",
                                    "--purge", "--reason", "consent withdrawn"], input=answer)
        assert kept.exit_code == 1 and "for good" in kept.stderr
        assert status(runner, study_dir)["interviews"][0]["purged"] is False
    purged = invoke(runner, study_dir, "interview", "retire", "1", "--purge", "--reason",
                    "consent withdrawn", "--yes", "--json")
    assert json.loads(purged.stdout) == {"interview_id": 1, "status": "retired",
                                         "purged": True}
    entry = status(runner, study_dir)["interviews"][0]
    assert entry["purged"] is True and entry["city"] is None


def test_interview_cli_set_says_when_sections_wait_for_the_next_ingest(runner, study_dir):
    """A category or guide override changes the guide its sections are matched to; the
    file is read again only by ingest, so the command says so (and only then)."""
    ingest_one(runner, study_dir)
    note = "matches its sections to the new guide"
    changed = invoke(runner, study_dir, "interview", "set", "1", "stakeholder_category",
                     "business")
    assert changed.exit_code == 0 and note in changed.stderr
    assert invoke(runner, study_dir, "ingest").exit_code == 0
    same_guide = invoke(runner, study_dir, "interview", "set", "1", "city", "Porto")
    assert same_guide.exit_code == 0 and note not in same_guide.stderr
    assert status(runner, study_dir)["interviews"][0]["interview_guide"] == "businesses"
