"""`cityqda run` again: unchanged stages are skipped, unchanged files kept, and what a rerun
leaves in outputs/ is exactly what regenerating everything from the same store writes."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import zipfile
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.run import STAGES
from tests.sample_copy import STUDY_PARTS, copy_sample

SKIPPING = ("code", "agreement", "aggregate", "report")
NOT_COMPARED = {"manifest.json", "changes.md"}


@pytest.fixture
def sample(tmp_path) -> Path:
    return copy_sample(tmp_path / "sample")


def run(runner, study: Path, *extra: str):
    result = runner.invoke(main, ["--project", str(study), "run", "--no-pdf", *extra])
    assert result.exit_code == 0, result.stderr
    return result


def latest_manifest(study: Path) -> dict:
    conn = sqlite3.connect(study / "cityqda.sqlite")
    try:
        text = conn.execute("SELECT manifest FROM runs WHERE command = 'run' "
                            "ORDER BY id DESC LIMIT 1").fetchone()[0]
    finally:
        conn.close()
    return json.loads(text)


def output_files(study: Path) -> dict[str, bytes]:
    folder = study / "outputs"
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name not in NOT_COMPARED}


def comparable(name: str, data: bytes) -> object:
    """A file's bytes; for a DOCX its parts with the footer's run number blanked (a kept
    report names the run that wrote it)."""
    if not name.endswith(".docx"):
        return data
    import io

    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return [(info.filename, info.date_time,
                 re.sub(rb"run \d+", b"run N", package.read(info)))
                for info in package.infolist()]


def append_paragraph(docx: Path, text: str) -> None:
    from docx import Document

    document = Document(str(docx))
    document.add_paragraph(text)
    document.save(str(docx))


def test_run_incremental_rerun_skips_every_unchanged_stage(runner, sample):
    first = run(runner, sample)
    assert "unchanged, skipped" not in first.stderr
    before = latest_manifest(sample)
    files = output_files(sample)

    second = run(runner, sample)
    lines = second.stderr.splitlines()
    for stage in SKIPPING:
        assert f"{stage}: unchanged, skipped" in lines, stage
    after = latest_manifest(sample)
    assert after["run_id"] == before["run_id"] + 1
    # the skipped stages' outputs, counts and records are carried into this run's manifest
    assert {k: v["sha256"] for k, v in after["outputs"].items() if k not in ("manifest",)} \
        == {k: v["sha256"] for k, v in before["outputs"].items() if k not in ("manifest",)}
    work = ("code_", "ingest_")  # what this run did, not what exists
    assert {k: v for k, v in after["counts"].items() if not k.startswith(work)} == \
        {k: v for k, v in before["counts"].items() if not k.startswith(work)}
    assert after["tables"] == before["tables"]
    assert set(after["stages"]) >= set(SKIPPING)
    assert output_files(sample) == files
    assert "nothing changed" in second.stderr


def test_run_incremental_imported_reviews_do_not_recode(runner, tmp_path):
    """Workbooks imported by the first run (after its code stage) change decisions, not
    what there is to code: the next run skips every stage, code included."""
    study = copy_sample(tmp_path / "sample", parts=(*STUDY_PARTS, "reviews"))
    first = run(runner, study)
    assert ": 2 imported," in first.stderr
    second = run(runner, study)
    assert {f"{stage}: unchanged, skipped" for stage in SKIPPING} <= \
        set(second.stderr.splitlines())
    assert "nothing changed" in second.stderr


def test_run_incremental_prints_seconds_per_stage(runner, sample):
    result = run(runner, sample)
    times = [line for line in result.stderr.splitlines() if line.startswith("times: ")]
    assert len(times) == 1
    for name in (*(name for name, _stage in STAGES), "manifest"):
        # wall and CPU seconds of each stage
        assert re.search(rf" {name} \d+\.\d\d s \(\d+\.\d\d CPU\)", times[0]), name
    assert "s CPU" in times[0]
    assert set(latest_manifest(sample)["seconds"]) >= {name for name, _ in STAGES}


@pytest.mark.parametrize("damage", ["delete", "edit"])
def test_run_incremental_damaged_output_is_written_again(runner, sample, damage):
    run(runner, sample)
    files = output_files(sample)
    dataset = next(p for p in (sample / "outputs").glob("coded_long-*.csv"))
    report = next(p for p in (sample / "outputs" / "reports").glob("*.docx")
                  if not p.name.startswith("cross-city"))
    for path in (dataset, report):
        if damage == "delete":
            path.unlink()
        else:
            path.write_bytes(path.read_bytes() + b"edited")
    second = run(runner, sample)
    assert "aggregate: unchanged, skipped" not in second.stderr
    assert "report: unchanged, skipped" not in second.stderr
    assert "unchanged file(s) kept" in second.stderr  # only the damaged ones were written
    now = output_files(sample)
    assert set(now) == set(files)
    for name in now:
        assert comparable(name, now[name]) == comparable(name, files[name]), name


def test_run_incremental_rerun_after_a_change_equals_a_clean_regeneration(runner, sample,
                                                                          tmp_path,
                                                                          monkeypatch):
    import pipeline.aggregate.tables as tables_module
    import pipeline.store.interview_states as states_module

    run(runner, sample)
    transcript = sorted((sample / "transcripts_sample").glob("*.docx"))[0]
    append_paragraph(transcript, "The city has since opened a second welcome desk for "
                     "newcomers, run together with a local refugee association.")
    reads = []
    read_states = states_module.interview_states
    monkeypatch.setattr(states_module, "interview_states",
                        lambda cursor, sources: reads.append(tuple(sources))
                        or read_states(cursor, sources))
    scopes = []  # built after the aggregate module bound its own build_scope
    build_scope = tables_module.build_scope
    monkeypatch.setattr(tables_module, "build_scope",
                        lambda *args, **options: scopes.append(1)
                        or build_scope(*args, **options))
    second = run(runner, sample)
    # aggregate, report and manifest share one read of every interview's state
    assert len(reads) == 1, reads
    assert scopes == []  # the report takes the aggregate stage's scope
    monkeypatch.undo()
    assert "code: unchanged, skipped" not in second.stderr
    assert "unchanged and kept" in second.stderr  # the other cities' reports
    # nobody reviewed yet: agreement has nothing to compare, recoded interview or not
    assert "agreement: unchanged, skipped" in second.stderr.splitlines()
    incremental = output_files(sample)

    clean = tmp_path / "clean"
    shutil.copytree(sample, clean)
    shutil.rmtree(clean / "outputs")
    (clean / ".cityqda-cache" / "aggregate-datasets.sqlite").unlink()  # datasets rendered anew
    run(runner, clean)
    regenerated = output_files(clean)
    assert set(incremental) == set(regenerated)
    for name in incremental:
        assert comparable(name, incremental[name]) == comparable(name, regenerated[name]), name


def test_run_incremental_city_opening_rewrites_only_that_city(runner, sample):
    run(runner, sample)
    reports = sample / "outputs" / "reports"
    city_report = next(p for p in sorted(reports.glob("*.docx"))
                       if not p.name.startswith("cross-city"))
    others = {p.name: p.read_bytes() for p in reports.glob("*.docx") if p != city_report}
    (sample / "cities").mkdir()
    (sample / "cities" / f"{city_report.stem}.md").write_text(
        "Opening words written by the PI.\n", encoding="utf-8")
    second = run(runner, sample)
    assert re.search(r"report: .*; 1 written, \d+ unchanged and kept", second.stderr)
    from docx import Document

    assert any("Opening words written by the PI." in paragraph.text
               for paragraph in Document(str(city_report)).paragraphs)
    assert {p.name: p.read_bytes() for p in reports.glob("*.docx") if p != city_report} \
        == others


def test_run_incremental_skipped_stage_keeps_its_warnings(runner, sample, monkeypatch):
    monkeypatch.setattr("pipeline.aggregate.aggregate.parquet_available", lambda: False)
    monkeypatch.setattr("pipeline.aggregate.writing.parquet_available", lambda: False)
    first = run(runner, sample)
    assert "CQ731" in first.stderr
    second = run(runner, sample)
    assert "aggregate: unchanged, skipped" in second.stderr
    assert "CQ731" in second.stderr
    assert any(p["code"] == "CQ731" for p in latest_manifest(sample)["problems"])


def test_run_incremental_store_counts_every_write(tmp_path):
    from pipeline.report.incremental import data_versions
    from pipeline.store import open_store, record_event

    store = open_store(tmp_path / "s.sqlite", warn_location=False)
    try:
        with store.read() as conn:
            before = data_versions(conn)
        with store.write() as conn:
            record_event(conn, actor="ana", kind="test", entity="interviews", entity_key="1")
        with store.read() as conn:
            after = data_versions(conn)
    finally:
        store.close()
    assert after["events"] == before["events"] + 1
    assert {k: v for k, v in after.items() if k != "events"} == \
        {k: v for k, v in before.items() if k != "events"}
