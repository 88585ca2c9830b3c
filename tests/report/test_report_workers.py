"""City reports written by forked worker processes: the same bytes, fingerprints and
problems as the one-process path, and a failure in a worker is the user's error."""

from __future__ import annotations

import multiprocessing

import pytest

from pipeline.errors import CityQDAError
from pipeline.report.report import MIN_PARALLEL_CITIES, report_study, report_workers
from pipeline.store import open_study_store
from pipeline.study import load_study


def folder_bytes(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.docx"))}


def test_report_workers_write_the_bytes_of_one_process(coded_sample, tmp_path):
    study = load_study(coded_sample)
    store = open_study_store(study)
    try:
        alone = report_study(study, store, pdf=False, out=tmp_path / "alone", run_id=1,
                             workers=0)
        forked = report_study(study, store, pdf=False, out=tmp_path / "forked", run_id=1,
                              workers=2)
        # a rerun where one city is kept and the others are read by the workers
        first = sorted(k for k in alone.parts if k != "report_summary")[0]
        mixed = report_study(study, store, pdf=False, out=tmp_path / "forked", run_id=1,
                             workers=2, keep=lambda key, path, part: key == first)
    finally:
        store.close()
    assert len(alone.cities) >= 2
    assert folder_bytes(tmp_path / "forked") == folder_bytes(tmp_path / "alone")
    assert forked.parts == alone.parts and forked.cities == alone.cities
    assert [p.render() for p in forked.problems] == [p.render() for p in alone.problems]
    assert mixed.kept == 1 and mixed.parts == alone.parts


def test_report_workers_failure_in_a_worker_is_reported(coded_sample, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the reports folder should be", encoding="utf-8")
    study = load_study(coded_sample)
    store = open_study_store(study)
    try:
        with pytest.raises(CityQDAError) as caught:
            report_study(study, store, pdf=False, out=blocker, run_id=1, workers=2)
    finally:
        store.close()
    assert caught.value.problems[0].code == "CQ740"


@pytest.mark.parametrize(("workers", "cities", "expected"), [
    (None, MIN_PARALLEL_CITIES - 1, 0),  # few cities: here
    (0, 100, 0),
    (1, 100, 0),
    (2, 1, 0),
    (2, 3, 2),
    (4, 3, 3),
])
def test_report_workers_count(workers, cities, expected):
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("fork is not available here")
    assert report_workers(workers, cities) == expected
