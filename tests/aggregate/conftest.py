"""Fixtures for the aggregate tests: the hand-counted study of aggregate_fixture."""

from __future__ import annotations

import pytest
from aggregate_fixture import build_aggregate_study


@pytest.fixture
def agg(tmp_path):
    return build_aggregate_study(tmp_path)


@pytest.fixture
def tables_of(agg):
    """study_tables(...) on the fixture's store: tables_of(round=..., include_suggested=...)."""
    from pipeline.aggregate.tables import study_tables

    def compute(**options):
        store = agg.store()
        try:
            with store.read() as conn:
                return study_tables(conn, agg.study, **options)
        finally:
            store.close()
    return compute
