"""Fixtures for coding tests: a study folder and `code`/`ingest` runs on it."""

from __future__ import annotations

import pytest
from coding_helpers import PhraseTagger

from pipeline.code_study import code_study
from pipeline.ingest.ingest import ingest_study
from pipeline.store import open_study_store
from pipeline.study import load_study


@pytest.fixture
def study(study_dir):
    return load_study(study_dir)


@pytest.fixture
def run_code(study):
    """Run the code stage with the phrase tagger; returns the report."""
    def run(**options):
        options.setdefault("tagger_factory", PhraseTagger)
        store = open_study_store(study)
        try:
            return code_study(study, store, **options)
        finally:
            store.close()
    return run


@pytest.fixture
def run_ingest(study):
    def run():
        store = open_study_store(study)
        try:
            report = ingest_study(study, store)
        finally:
            store.close()
        assert not report.failed, [p.render() for o in report.outcomes for p in o.problems]
        return report
    return run


@pytest.fixture
def in_store(study):
    """Run a function on a write connection: in_store(lambda conn: ...)."""
    def run(function):
        store = open_study_store(study)
        try:
            with store.write() as conn:
                return function(conn)
        finally:
            store.close()
    return run
