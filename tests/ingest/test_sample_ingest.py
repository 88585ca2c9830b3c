"""The repository's sample study ingests with no failure and agrees with its answer key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from pipeline.ingest.export_segments import segment_records
from pipeline.ingest.ingest import ingest_study
from pipeline.store import open_study_store
from pipeline.study import load_study

REPO = Path(__file__).resolve().parents[2]
KEY = REPO / "tests" / "data" / "sample_labels.yaml"
PARTS = ("cityqda.toml", "interview_guides", "register.xlsx", "transcripts_sample", "codebooks")

pytestmark = pytest.mark.skipif(not (REPO / "transcripts_sample").is_dir() or not KEY.is_file(),
                                reason="the sample study is not in this checkout")


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sample")
    for part in PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, folder / part)
        elif source.is_file():
            shutil.copyfile(source, folder / part)
    study = load_study(folder)
    store = open_study_store(study)
    try:
        report = ingest_study(study, store)
        records = list(segment_records(store))
    finally:
        store.close()
    return report, records


def test_sample_ingest_has_no_failure(sample):
    report, _records = sample
    counts = report.counts()
    assert counts["failed"] == 0 and counts["skipped"] == 0 and counts["duplicate"] == 0
    assert counts["ingested"] == len(list((REPO / "transcripts_sample").glob("*.docx")))
    assert not report.failed


def test_sample_ingest_segments_are_the_answer_key(sample):
    _report, records = sample
    key = yaml.safe_load(KEY.read_text(encoding="utf-8"))["segments"]
    ours = sorted((r["file"], r["text"], r["question"], r["kind"]) for r in records)
    expected = sorted((k["file"], k["text"], k["question"], k["kind"]) for k in key)
    assert ours == expected
