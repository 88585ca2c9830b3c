"""Version 4: the rows of a review export are no longer counted in `data_versions`.

An export records one `review_export_rows` row per workbook row (150,000 for 100,000
codings), and m0003's trigger ran an UPDATE for each: 151,000 inserts took 2.9 s of CPU
with it and 1.2 s without (sqlite3 on a copy of a benchmark store). The counter told
nothing the other counters do not: the rows are written only in the transaction that
inserts their `review_exports` row (`review export`) or a `review_imports` row (the import
of a workbook adopted from another store, pipeline/review/adopt.py), and are never
updated or deleted, so every stage fingerprint that could see them changes anyway. Its
`data_versions` row goes too, so that no one reads a counter that no longer moves.
"""

VERSION = 4

TABLE = "review_export_rows"


def upgrade(conn) -> None:
    for short in ("insert", "update", "delete"):
        conn.exec_driver_sql(f"DROP TRIGGER dv_{TABLE}_{short}")
    conn.exec_driver_sql("DELETE FROM data_versions WHERE table_name = ?", (TABLE,))
