"""`cityqda code`, `cityqda codebook diff` and the code stage of `cityqda run`, with the real
spaCy coder and the study's default codebook."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import docx
import yaml

import pipeline
from pipeline.cli import main

DEFAULT_CODEBOOK = (Path(pipeline.__file__).parent / "defaults" / "codebooks"
                    / "integration_policy.yaml")
VERSION = yaml.safe_load(DEFAULT_CODEBOOK.read_text(encoding="utf-8"))["version"]
_major, _minor, _patch = VERSION.split("-")[0].split(".")
NEXT_VERSION = f"{_major}.{int(_minor) + 1}.0"

ANSWER = ("The municipality runs a night shelter for newly arrived refugees and offers free "
          "language courses at the community centre.")


def write_transcript(path, answer=ANSWER):
    document = docx.Document()
    document.add_paragraph("City: Lisbon")
    document.add_paragraph("Stakeholder type: policy maker")
    document.add_heading("Policies and programmes", level=1)
    document.add_paragraph().add_run("Which programmes exist?").bold = True
    document.add_paragraph(answer)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(path)
    return path


def invoke(runner, study_dir, *args):
    return runner.invoke(main, ["--project", str(study_dir), *args])


def codings(study_dir):
    conn = sqlite3.connect(study_dir / "cityqda.sqlite")
    try:
        return conn.execute("SELECT code, evidence_text, start, end FROM codings "
                            "ORDER BY id").fetchall()
    finally:
        conn.close()


def test_code_cli_codes_then_has_nothing_to_do(runner, study_dir):
    write_transcript(study_dir / "transcripts" / "LIS-PM-01.docx")
    assert invoke(runner, study_dir, "ingest").exit_code == 0
    result = invoke(runner, study_dir, "code")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "code: 1 of 1 segment(s) coded in 1 interview(s)" in result.stderr
    found = codings(study_dir)
    assert found, "the default codebook finds the shelter and the language courses"
    conn = sqlite3.connect(study_dir / "cityqda.sqlite")
    plain = conn.execute("SELECT plain_text FROM interviews").fetchone()[0]
    conn.close()
    assert all(plain[start:end] == text for _code, text, start, end in found)

    again = invoke(runner, study_dir, "code", "--json")
    assert again.exit_code == 0
    report = json.loads(again.stdout)
    assert (report["segments_coded"], report["codings_new"], report["interviews"]) == (0, 0, 0)
    assert report["codebook_version"] == VERSION
    assert codings(study_dir) == found


def test_code_cli_broken_codebook_exits_1_and_codes_nothing(runner, study_dir):
    write_transcript(study_dir / "transcripts" / "LIS-PM-01.docx")
    invoke(runner, study_dir, "ingest")
    path = study_dir / "codebooks" / "integration_policy.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(f"version: {VERSION}",
                                                             "version: one"), encoding="utf-8")
    result = invoke(runner, study_dir, "code")
    assert result.exit_code == 1
    assert "CQ202" in result.stderr and result.stdout == ""
    assert codings(study_dir) == []


def test_code_cli_pattern_changed_without_new_version_exits_1(runner, study_dir):
    write_transcript(study_dir / "transcripts" / "LIS-PM-01.docx")
    invoke(runner, study_dir, "ingest")
    assert invoke(runner, study_dir, "code").exit_code == 0
    path = study_dir / "codebooks" / "integration_policy.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    subcode = next(c for c in data["codes"] if c.get("patterns"))
    subcode["patterns"][0].setdefault("phrases", []).append("zebra crossing")
    subcode["patterns"][0].pop("tokens", None)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
                    encoding="utf-8")
    result = invoke(runner, study_dir, "code")
    assert result.exit_code == 1
    assert "CQ401" in result.stderr and f"version {VERSION} was used before" in result.stderr
    assert f"patterns of {subcode['id']}" in result.stderr


def test_code_cli_codebook_diff(runner, study_dir, tmp_path):
    old = study_dir / "codebooks" / "integration_policy.yaml"
    data = yaml.safe_load(old.read_text(encoding="utf-8"))
    data["version"] = NEXT_VERSION
    code = next(c for c in data["codes"] if c["kind"] == "subcode" and not any(
        c["id"] in (r.get("from") or []) + [r.get("to")] + (r.get("services") or [])
        for r in data.get("rules") or []) and not any(
        c["id"] in d.get("from", []) for x in data["codes"] for d in x.get("derive") or []))
    old_id = code["id"]
    code["id"] = old_id + "_renamed"
    data["changes"] = [{"version": NEXT_VERSION, "kind": "renamed", "from": [old_id],
                        "to": [code["id"]]}]
    new = tmp_path / "new.yaml"
    new.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    result = invoke(runner, study_dir, "codebook", "diff", str(old), str(new))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (f"codebook integration_policy: {VERSION} -> "
                                             f"{NEXT_VERSION}")
    assert f"renamed    {old_id} -> {code['id']}  [{NEXT_VERSION}]" in result.stdout
    as_json = invoke(runner, study_dir, "codebook", "diff", str(old), str(new), "--json")
    assert json.loads(as_json.stdout)["codes_removed"] == [old_id]

    data["changes"] = []  # the rename no longer declared
    new.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    refused = invoke(runner, study_dir, "codebook", "diff", str(old), str(new))
    assert refused.exit_code == 1
    assert f"codes removed without a `changes` entry: {old_id}" in refused.stderr


def test_code_cli_run_codes_and_status_counts_orphans(runner, study_dir):
    path = write_transcript(study_dir / "transcripts" / "LIS-PM-01.docx")
    result = invoke(runner, study_dir, "run", "--no-import")
    assert "code: 1 of 1 segment(s) coded" in result.stderr
    conn = sqlite3.connect(study_dir / "cityqda.sqlite")
    manifest = json.loads(conn.execute("SELECT manifest FROM runs").fetchone()[0])
    conn.close()
    assert manifest["counts"]["code_segments_coded"] == 1
    assert manifest["counts"]["code_codings_new"] == len(codings(study_dir))

    write_transcript(path, answer="Nothing else to say about it today.")
    invoke(runner, study_dir, "run", "--no-import")
    status = json.loads(invoke(runner, study_dir, "status", "--json").stdout)
    assert status["totals"]["orphaned_codings"] == len(codings(study_dir)) > 0
    assert status["interviews"][0]["orphaned_codings"] == len(codings(study_dir))
    text = invoke(runner, study_dir, "status").stdout
    assert f"{len(codings(study_dir))} orphaned coding(s)" in text


def test_code_cli_codebook_validate_names_a_rename_the_store_cannot_follow(runner, study_dir):
    """A coded code renamed without a `changes` entry validated clean and was refused only
    by the next run (CQ402, PI walk-through): validate in the study names it, and passes
    once the entry is there; the store is not written."""
    write_transcript(study_dir / "transcripts" / "LIS-PM-01.docx")
    invoke(runner, study_dir, "ingest")
    assert invoke(runner, study_dir, "code").exit_code == 0
    coded = sorted({code for code, *_rest in codings(study_dir)
                    if not code.startswith("challenge.")})[0]
    path = study_dir / "codebooks" / "integration_policy.yaml"
    text = path.read_text(encoding="utf-8").replace(f"version: {VERSION}",
                                                    f"version: {NEXT_VERSION}", 1)
    renamed = re.sub(rf"\b{re.escape(coded)}\b(?![.\w])", coded + "_new", text)
    path.write_text(renamed, encoding="utf-8")
    store = study_dir / "cityqda.sqlite"
    before = store.read_bytes()

    refused = invoke(runner, study_dir, "codebook", "validate")
    path.write_text(renamed.replace("\nchanges: []\n", (
        f"\nchanges:\n  - {{version: {NEXT_VERSION}, kind: renamed, from: [{coded}], "
        f"to: [{coded}_new]}}\n"), 1), encoding="utf-8")
    declared = invoke(runner, study_dir, "codebook", "validate")

    assert refused.exit_code == 1 and "error CQ402" in refused.stderr
    assert f"codes {coded} have codings in the store" in refused.stderr
    assert declared.exit_code == 0, declared.stderr
    assert store.read_bytes() == before
