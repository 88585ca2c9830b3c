"""`cityqda ingest` and the ingest stage of `cityqda run`, as a user meets them."""

from __future__ import annotations

import json

import docx
import pytest

from pipeline.cli import main


def write_transcript(path, city="Lisbon", answer="We run a welcome desk for newcomers."):
    document = docx.Document()
    document.add_paragraph(f"City: {city}")
    document.add_paragraph("Stakeholder type: practitioner")
    document.add_heading("Introduction", level=1)
    document.add_paragraph().add_run("Please introduce yourself.").bold = True
    document.add_paragraph(answer)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(path)
    return path


def invoke(runner, study_dir, *args):
    return runner.invoke(main, ["--project", str(study_dir), *args])


def test_ingest_cli_reports_one_line_per_file_on_stderr(runner, study_dir):
    folder = study_dir / "transcripts"
    write_transcript(folder / "LIS-PR-01.docx")
    (folder / "~$S-PR-01.docx").write_bytes(b"lock")
    (folder / "readme.pdf").write_bytes(b"%PDF-1.4")
    result = invoke(runner, study_dir, "ingest")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("ingested    transcripts/LIS-PR-01.docx (interview 1")
    assert any(line.startswith("skipped     transcripts/readme.pdf (CQ110") for line in lines)
    assert lines[-1] == "3 file(s): 1 ingested, 1 skipped, 1 ignored"
    again = invoke(runner, study_dir, "ingest")
    assert again.stderr.splitlines()[0].startswith("unchanged   transcripts/LIS-PR-01.docx")


def test_ingest_cli_failed_file_exits_1_and_others_go_through(runner, study_dir):
    folder = study_dir / "transcripts"
    write_transcript(folder / "LIS-PR-01.docx")
    (folder / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")
    (folder / "old.doc").write_bytes(b"{\\rtf1 hello}")
    result = invoke(runner, study_dir, "ingest")
    assert result.exit_code == 1
    assert "failed      transcripts/broken.docx (CQ102" in result.stderr
    assert "failed      transcripts/old.doc (CQ105" in result.stderr
    assert "ingested    transcripts/LIS-PR-01.docx" in result.stderr
    assert "→ Open it in Word" in result.stderr


def test_ingest_cli_paths_and_missing_path(runner, study_dir, tmp_path):
    path = write_transcript(tmp_path / "outside" / "ROT-PR-02.docx")
    result = invoke(runner, study_dir, "ingest", str(path))
    assert result.exit_code == 0, result.output
    assert "ingested" in result.stderr
    missing = invoke(runner, study_dir, "ingest", str(tmp_path / "nope"))
    assert missing.exit_code == 1
    assert "CQ006" in missing.stderr


def test_ingest_cli_refuses_a_folder_that_is_not_a_study(runner, tmp_path):
    result = runner.invoke(main, ["--project", str(tmp_path), "ingest"])
    assert result.exit_code == 2
    assert "CQ001" in result.stderr
    assert not (tmp_path / "cityqda.sqlite").exists()


def test_ingest_cli_run_ingests_and_counts(runner, study_dir):
    write_transcript(study_dir / "transcripts" / "LIS-PR-01.docx")
    (study_dir / "transcripts" / "bad.docx").write_bytes(b"not a zip")
    result = invoke(runner, study_dir, "run")
    assert result.exit_code == 1
    assert "ingest: " in result.stderr and "1 ingested, 1 failed" in result.stderr
    assert "CQ101" in result.stderr

    import json
    import sqlite3

    conn = sqlite3.connect(study_dir / "cityqda.sqlite")
    manifest = json.loads(conn.execute(
        "SELECT manifest FROM runs ORDER BY id DESC LIMIT 1").fetchone()[0])
    conn.close()
    assert manifest["counts"]["ingest_ingested"] == 1
    assert manifest["counts"]["ingest_failed"] == 1


def _two_rounds_same_name(study_dir, second_entry):
    from pipeline.ingest.register import write_register

    folder = study_dir / "transcripts"
    write_transcript(folder / "LIS-PR-01.docx")
    write_transcript(folder / "2024" / "LIS-PR-01.docx", answer="A new desk opened in 2024.")
    rows = [{"round": "1", "city": "Lisbon", "country": "Portugal", "organisation": "Desk A",
             "category": "practitioner", "outcome": "interviewed",
             "transcript_file": "LIS-PR-01.docx"}]
    if second_entry:
        rows.append({**rows[0], "round": "2", "organisation": "Desk B",
                     "transcript_file": second_entry})
    write_register(study_dir / "register.xlsx", rows,
                   [{"city": "Lisbon", "country": "Portugal", "code": "LIS"}])


def _organisations(study_dir) -> dict:
    import json
    import sqlite3

    with sqlite3.connect(study_dir / "cityqda.sqlite") as conn:
        return {path: (json.loads(meta).get("organisation") or {}).get("value")
                for path, meta in conn.execute("SELECT path, metadata FROM interviews")}


def test_ingest_cli_register_row_naming_a_subfolder_path_takes_that_transcript(runner,
                                                                              study_dir):
    _two_rounds_same_name(study_dir, "2024/LIS-PR-01.docx")
    assert invoke(runner, study_dir, "register", "validate").exit_code == 0
    result = invoke(runner, study_dir, "ingest")
    assert result.exit_code == 0, result.stderr
    assert _organisations(study_dir) == {"transcripts/LIS-PR-01.docx": "Desk A",
                                         "transcripts/2024/LIS-PR-01.docx": "Desk B"}


def test_ingest_cli_register_row_naming_two_transcripts_is_refused(runner, study_dir):
    _two_rounds_same_name(study_dir, None)
    check = invoke(runner, study_dir, "register", "validate")
    assert check.exit_code == 1
    assert "error CQ936" in check.stderr and "2024/LIS-PR-01.docx, LIS-PR-01.docx" \
        in check.stderr
    invoke(runner, study_dir, "ingest")
    assert _organisations(study_dir) == {"transcripts/LIS-PR-01.docx": None,
                                         "transcripts/2024/LIS-PR-01.docx": None}


def _interviews(study_dir) -> dict:
    import sqlite3

    with sqlite3.connect(study_dir / "cityqda.sqlite") as conn:
        return dict(conn.execute("SELECT path, id FROM interviews"))


@pytest.mark.parametrize("renamed_to", ["A-first.docx", "Z-last.docx"])
def test_ingest_cli_interview_follows_its_bytes_when_a_new_file_takes_its_name(
        runner, study_dir, renamed_to):
    """Renamed, and a new transcript saved under the old name: the interview (and its
    decisions) follows its bytes, whichever file the walk meets first; the new file is a
    new interview, not a new version of the old one."""
    folder = study_dir / "transcripts"
    write_transcript(folder / "LIS-PR-01.docx")
    assert invoke(runner, study_dir, "ingest").exit_code == 0
    (folder / "LIS-PR-01.docx").rename(folder / renamed_to)
    write_transcript(folder / "LIS-PR-01.docx", answer="Another person, another desk.")
    # `cityqda status` foretells what ingest does (it said 'new_version' for the new file
    # when the renamed one came first in the walk)
    status = json.loads(invoke(runner, study_dir, "status", "--json").stdout)
    foretold = {p["path"]: p["outcome"] for p in status["problems"]}

    result = invoke(runner, study_dir, "ingest")

    assert result.exit_code == 0, result.stderr
    assert _interviews(study_dir) == {f"transcripts/{renamed_to}": 1,
                                      "transcripts/LIS-PR-01.docx": 2}
    assert "CQ139" in result.stderr and "CQ131" not in result.stderr
    assert foretold == {f"transcripts/{renamed_to}": "renamed",
                        "transcripts/LIS-PR-01.docx": "ingested"}


def test_ingest_cli_swapped_files_are_refused_not_versioned(runner, study_dir):
    folder = study_dir / "transcripts"
    write_transcript(folder / "LIS-PR-01.docx")
    write_transcript(folder / "LIS-PR-02.docx", answer="A language course for adults.")
    assert invoke(runner, study_dir, "ingest").exit_code == 0
    (folder / "LIS-PR-01.docx").rename(folder / "tmp.docx")
    (folder / "LIS-PR-02.docx").rename(folder / "LIS-PR-01.docx")
    (folder / "tmp.docx").rename(folder / "LIS-PR-02.docx")

    result = invoke(runner, study_dir, "ingest")

    assert result.exit_code == 1
    assert result.stderr.count("error CQ138") == 2
    assert ("transcripts/LIS-PR-01.docx was ingested as interview 1 but now holds the text "
            "of interview 2 (transcripts/LIS-PR-02.docx); interview 1's own text is now in "
            "transcripts/LIS-PR-02.docx") in result.stderr
    assert ("Rename transcripts/LIS-PR-01.docx to transcripts/LIS-PR-01-swap.docx, then "
            "transcripts/LIS-PR-02.docx to transcripts/LIS-PR-01.docx, then "
            "transcripts/LIS-PR-01-swap.docx to transcripts/LIS-PR-02.docx") in result.stderr
    assert _interviews(study_dir) == {"transcripts/LIS-PR-01.docx": 1,
                                      "transcripts/LIS-PR-02.docx": 2}
    import sqlite3

    with sqlite3.connect(study_dir / "cityqda.sqlite") as conn:  # no new version of either
        assert conn.execute("SELECT max(version) FROM interviews").fetchone() == (1,)
    # the renames the message names put both back: the next ingest changes nothing
    (folder / "LIS-PR-01.docx").rename(folder / "LIS-PR-01-swap.docx")
    (folder / "LIS-PR-02.docx").rename(folder / "LIS-PR-01.docx")
    (folder / "LIS-PR-01-swap.docx").rename(folder / "LIS-PR-02.docx")
    again = invoke(runner, study_dir, "ingest")
    assert again.exit_code == 0 and "CQ138" not in again.stderr, again.stderr


def test_ingest_cli_file_copied_over_another_is_named_as_a_copy(runner, study_dir):
    import shutil

    folder = study_dir / "transcripts"
    write_transcript(folder / "LIS-PR-01.docx")
    write_transcript(folder / "LIS-PR-02.docx", answer="A language course for adults.")
    assert invoke(runner, study_dir, "ingest").exit_code == 0
    shutil.copyfile(folder / "LIS-PR-02.docx", folder / "LIS-PR-01.docx")

    result = invoke(runner, study_dir, "ingest")

    assert result.exit_code == 1 and result.stderr.count("error CQ138") == 1
    assert "no file in the study holds interview 1's own text any more" in result.stderr
    assert ("transcripts/LIS-PR-01.docx is a copy of transcripts/LIS-PR-02.docx. Put "
            "interview 1's own transcript back") in result.stderr


def test_ingest_cli_missed_rename_and_edit_is_named_at_every_ingest(runner, study_dir):
    import docx

    folder = study_dir / "transcripts"
    document = docx.Document()
    for text in ("City: Lisbon", "Stakeholder type: practitioner"):
        document.add_paragraph(text)
    for answer in ("We run a welcome desk.", "We give legal aid.", "We host a job fair."):
        document.add_paragraph(answer)
    document.save(folder / "LIS-PR-01.docx")
    assert invoke(runner, study_dir, "ingest").exit_code == 0
    document.add_paragraph("An edit made after the rename.")
    document.save(folder / "LIS-PR-01-final.docx")
    (folder / "LIS-PR-01.docx").unlink()

    first = invoke(runner, study_dir, "ingest")
    later = invoke(runner, study_dir, "ingest")

    for result in (first, later):
        assert "warning CQ136: transcripts/LIS-PR-01.docx: interview 1 is missing, and " \
            "transcripts/LIS-PR-01-final.docx (interview 2, added after it)" in result.stderr
