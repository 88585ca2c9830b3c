"""Ingest with new files analysed ahead in worker processes: the same outcomes and store."""

from __future__ import annotations

import shutil

from docx_builders import save, transcript
from failing_files import FAILURES
from sqlalchemy import select

from pipeline.ingest.ingest import ingest_study
from pipeline.init_study import init_study
from pipeline.store import open_study_store
from pipeline.store.schema import interview_notes, interview_versions, interviews, segments
from pipeline.study import load_study

CITIES = ["Lisbon", "Porto", "Nairobi", "Rotterdam", "Lyon", "Quito"]


def fill(folder) -> None:
    """Six transcripts, a byte-identical copy of one, a broken file and a text file."""
    for number, city in enumerate(CITIES, start=1):
        document = transcript(
            metadata_lines={"City": city, "Category": "policy maker"},
            sections={"Introduction": [("Please introduce yourself.",
                                        f"I lead office number {number} in {city}.")],
                      "Policies and programmes": [("Which programmes exist?",
                                                   f"A welcome desk opened in {2010 + number}.")]})
        save(document, folder / f"T-{number:02d}.docx")
    shutil.copy(folder / "T-03.docx", folder / "T-03 copy.docx")
    file_name, build, _code = FAILURES["truncated"]
    (folder / file_name).write_bytes(build())
    (folder / "notes.txt").write_text("notes")


def ingested(study, workers: int):
    store = open_study_store(study)
    try:
        report = ingest_study(study, store, workers=workers)
        with store.read() as conn:
            tables = [[{k: v for k, v in row._mapping.items() if not k.endswith("_at")}
                       for row in conn.execute(select(table).order_by(*table.primary_key))]
                      for table in (interviews, interview_versions, interview_notes, segments)]
    finally:
        store.close()
    return ([(o.path, o.outcome, [p.code for p in o.problems]) for o in report.outcomes],
            tables)


def test_ingest_workers_give_the_outcomes_and_rows_of_one_process(tmp_path):
    alone = load_study(init_study(tmp_path / "alone"))
    forked = load_study(init_study(tmp_path / "forked"))
    fill(alone.path("transcripts"))
    shutil.rmtree(forked.path("transcripts"))
    shutil.copytree(alone.path("transcripts"), forked.path("transcripts"))  # same bytes
    outcomes, tables = ingested(alone, workers=0)
    assert ingested(forked, workers=2) == (outcomes, tables)
    kinds = sorted(outcome for _path, outcome, _codes in outcomes)
    assert kinds == ["duplicate", "failed", *["ingested"] * 6, "skipped"]
    # nothing new the second time: no worker starts, nothing changes
    again, tables_again = ingested(forked, workers=2)
    assert {outcome for _path, outcome, _codes in again} >= {"unchanged"}
    assert tables_again == tables
