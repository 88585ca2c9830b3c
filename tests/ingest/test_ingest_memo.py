"""A re-ingest trusts what an earlier one confirmed only while nothing it read changed."""

from __future__ import annotations

import json

import pytest
from docx_builders import save, transcript
from sqlalchemy import select

import pipeline.ingest.ingest as ingest_module
from pipeline.ingest.ingest import discover, ingest_study
from pipeline.ingest.interviews import set_override
from pipeline.ingest.register import write_register
from pipeline.store import open_study_store
from pipeline.store.schema import interviews
from pipeline.study import load_study

ANSWERS = {"Introduction": [("Please introduce yourself.", "I lead the welcome office.")],
           "Policies and programmes": [("Which programmes exist?", "A welcome desk.")]}


def make(path, city="Lisbon"):
    sections = {**ANSWERS, "Closure": [("Anything else?", f"Nothing about {path.stem}.")]}
    return save(transcript(metadata_lines={"City": city, "Category": "policy maker"},
                           sections=sections), path)


@pytest.fixture
def study(study_dir):
    study = load_study(study_dir)
    for name in ("LIS-PM-01.docx", "LIS-PM-02.docx"):
        make(study.path("transcripts") / name)
    return study


def ingest(study):
    store = open_study_store(study)
    try:
        report = ingest_study(study, store)
        with store.read() as conn:
            rows = conn.execute(select(interviews.c.path, interviews.c.metadata,
                                       interviews.c.warnings).order_by(interviews.c.id)).all()
    finally:
        store.close()
    return [(o.path.split("/")[-1], o.outcome) for o in report.outcomes], rows


def counting_recompute(monkeypatch) -> list:
    calls = []
    real = ingest_module.recompute_metadata
    monkeypatch.setattr(ingest_module, "recompute_metadata",
                        lambda *args: calls.append(1) or real(*args))
    return calls


def test_ingest_memo_unchanged_files_are_not_recomputed(study, monkeypatch):
    ingest(study)
    first = ingest(study)  # recomputes, finds them unchanged, remembers that
    calls = counting_recompute(monkeypatch)
    assert ingest(study) == first
    assert first[0] == [("LIS-PM-01.docx", "unchanged"), ("LIS-PM-02.docx", "unchanged")]
    assert calls == []


def _edit_register(study):
    write_register(study.path("register"), rows=[
        {"round": 1, "city": "Lisbon", "category": "policy maker", "outcome": "interviewed",
         "transcript_file": "LIS-PM-01.docx", "organisation": "Câmara Municipal"}])


def _override(study):
    store = open_study_store(study)
    try:
        set_override(study, store, "transcripts/LIS-PM-01.docx", "city", "Porto")
    finally:
        store.close()


def _edit_guide(study):
    guide = sorted(study.path("guides").glob("*.yaml"))[0]
    guide.write_text(guide.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")


def _new_package(study, monkeypatch):
    monkeypatch.setattr(ingest_module, "package_digest", lambda: "another package")


# an override is applied to the row when set: only that interview is recomputed
@pytest.mark.parametrize("change, first_outcome, recomputed", [
    (_edit_register, "updated", 2), (_override, "unchanged", 1),
    (_edit_guide, "unchanged", 2), (_new_package, "unchanged", 2)])
def test_ingest_memo_any_changed_input_recomputes(study, monkeypatch, change, first_outcome,
                                                  recomputed):
    ingest(study)
    ingest(study)
    if change is _new_package:
        change(study, monkeypatch)
    else:
        change(study)
    calls = counting_recompute(monkeypatch)
    outcomes, rows = ingest(study)
    assert outcomes == [("LIS-PM-01.docx", first_outcome), ("LIS-PM-02.docx", "unchanged")]
    assert len(calls) == recomputed
    if change is _edit_register:
        assert json.loads(rows[0].metadata)["organisation"]["source"] == "register"
    if change is _override:
        assert json.loads(rows[0].metadata)["city"]["value"] == "Porto"


def test_ingest_discover_real_paths_are_what_resolve_gives(tmp_path):
    folder = tmp_path / "transcripts"
    (folder / "sub").mkdir(parents=True)
    outside = make(tmp_path / "elsewhere.docx")
    make(folder / "sub" / "LIS-PM-01.docx")
    (folder / "LIS-PM-02.docx").symlink_to(outside)
    (tmp_path / "link").symlink_to(folder)
    found = discover([tmp_path / "link"])
    assert found.resolved == {path: path.resolve() for path, _explicit in found.files}
    assert len(found.files) == 2
