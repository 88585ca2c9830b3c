"""Numbered forward migrations. Each module has `VERSION` and `upgrade(conn)`.

A released migration is frozen: its DDL is also kept as `tests/store/frozen/schema_vN.sql`
and a test rebuilds version N-1 from that file before applying migration N. To change the
schema, add `mNNNN_<what>.py` with the next number and list it here.
"""

from pipeline.store.migrations import (
    m0001_initial,
    m0002_review,
    m0003_data_versions,
    m0004_export_rows_uncounted,
    m0005_interview_changes,
    m0006_id_counted_inserts,
)

MIGRATIONS = [m0001_initial, m0002_review, m0003_data_versions, m0004_export_rows_uncounted,
              m0005_interview_changes, m0006_id_counted_inserts]
CURRENT_VERSION = MIGRATIONS[-1].VERSION

assert [m.VERSION for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
