"""A coded copy of the sample study, built once per session and copied for each test,
with some review work done (accepted codings, confirmed and rated initiatives)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select, update

from tests.sample_copy import copy_sample


def review_some(study) -> dict:
    """Accept a third of the dimension codings as coder ana, confirm the Lisbon initiatives
    with a dimension but the last (left unreviewed) and rate the first as a good practice,
    confirm Lisbon's partnerships."""
    from pipeline.coding.decisions import set_decision
    from pipeline.store import open_study_store
    from pipeline.store.schema import codings, initiatives, partnerships

    store = open_study_store(study)
    try:
        with store.write() as conn:
            ids = conn.execute(select(codings.c.id).where(codings.c.kind == "dimension",
                                                          codings.c.counts == 1)
                               .order_by(codings.c.id)).scalars().all()
            for coding_id in ids[::3]:
                set_decision(conn, coding_id, "ana", "accept", source="test")
            lisbon = conn.execute(select(initiatives.c.id, initiatives.c.name,
                                         initiatives.c.dimensions)
                                  .where(initiatives.c.city == "Lisbon")
                                  .order_by(initiatives.c.id)).all()
            rated = None
            with_dimensions = [row for row in lisbon if json.loads(row.dimensions or "[]")]
            for row in with_dimensions[:-1]:
                conn.execute(update(initiatives).where(initiatives.c.id == row.id)
                             .values(review_status="confirmed"))
            rated = with_dimensions[0].name
            conn.execute(update(initiatives).where(initiatives.c.id == with_dimensions[0].id)
                         .values(verdict="good_practice",
                                 justification="Runs every week since 2010.",
                                 ratings=json.dumps({"practicality": "met",
                                                     "innovation": "partly"})))
            conn.execute(update(partnerships).where(partnerships.c.city == "Lisbon")
                         .values(review_status="confirmed"))
    finally:
        store.close()
    return {"accepted": len(ids[::3]), "rated": rated}


@pytest.fixture(scope="session")
def coded_sample_base(tmp_path_factory) -> Path:
    """The sample study ingested and coded once (real codebook, real store)."""
    from pipeline.code_study import code_study
    from pipeline.ingest.ingest import ingest_study
    from pipeline.store import open_study_store
    from pipeline.study import load_study

    root = copy_sample(tmp_path_factory.mktemp("report-base") / "sample")
    study = load_study(root)
    store = open_study_store(study)
    try:
        ingest_study(study, store)
        code_study(study, store)
    finally:
        store.close()
    review_some(study)
    return root


@pytest.fixture
def coded_sample(coded_sample_base, tmp_path) -> Path:
    """A private copy of the reviewed, coded sample study."""
    target = tmp_path / "sample"
    shutil.copytree(coded_sample_base, target)
    return target


@pytest.fixture
def no_pdf(monkeypatch):
    """Act as if LibreOffice were not installed (keeps run tests quick)."""
    import pipeline.report.report as report_module

    monkeypatch.setattr(report_module.shutil, "which", lambda name: None)
