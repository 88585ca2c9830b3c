"""Version 6: inserts into `events` and `decisions` are counted by their ids, not by triggers.

m0003's counters were raised by a trigger on every row written. A review import of
100,000 decisions appends 100,000 decisions and 100,000 events, and those two per-row
triggers cost more than the inserts themselves: replaying one such import's batches on a
copy of its store took 5.3 to 6.2 s of CPU with them and 1.8 to 1.9 s without.

Both tables take every id from SQLite (AUTOINCREMENT, never an explicit id), so the
largest id ever given, which SQLite keeps in `sqlite_sequence`, goes up by exactly one per
row inserted, and never down. The counters triggers keep move to `change_counts`, and
`data_versions` becomes a view with the same rows and columns: a table's counter, plus,
for these two tables, their `sqlite_sequence` value. Updates and deletes are still
counted by triggers. Each counter of these two tables starts at its old value less the
current sequence, so no value read from `data_versions` changes with the migration, and
readers (`pipeline.report.incremental`, the aggregate cache) see the values they saw.

A row inserted into these tables with an explicit id below the largest id ever given
would not be counted: the store never writes one. A later migration that adds a tracked
table adds its `change_counts` row and triggers.
"""

from sqlalchemy import MetaData

from pipeline.store.migrations import m0003_data_versions as m0003
from pipeline.store.migrations import m0004_export_rows_uncounted as m0004

VERSION = 6

TRACKED = tuple(table for table in m0003.TRACKED if table != m0004.TABLE)
COUNTED_BY_ID = ("decisions", "events")
OPERATIONS = m0003.OPERATIONS

_md = MetaData()
_change_counts = m0003._data_versions.to_metadata(_md, name="change_counts")

_BY_ID = ", ".join(f"'{table}'" for table in COUNTED_BY_ID)
_SEQUENCE = ("coalesce((SELECT s.seq FROM sqlite_sequence s WHERE s.name = {name}), 0)")
_VIEW = (f"CREATE VIEW data_versions (table_name, version) AS "
         f"SELECT c.table_name, c.version + CASE WHEN c.table_name IN ({_BY_ID}) "
         f"THEN {_SEQUENCE.format(name='c.table_name')} ELSE 0 END FROM change_counts c")


def upgrade(conn) -> None:
    _md.create_all(conn)
    conn.exec_driver_sql(
        f"INSERT INTO change_counts (table_name, version) "
        f"SELECT d.table_name, d.version - CASE WHEN d.table_name IN ({_BY_ID}) "
        f"THEN {_SEQUENCE.format(name='d.table_name')} ELSE 0 END FROM data_versions d")
    for table in TRACKED:
        for short in OPERATIONS:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS dv_{table}_{short}")
    conn.exec_driver_sql("DROP TABLE data_versions")
    for table in TRACKED:
        for short, operation in OPERATIONS.items():
            if short == "insert" and table in COUNTED_BY_ID:
                continue
            conn.exec_driver_sql(
                f"CREATE TRIGGER dv_{table}_{short} AFTER {operation} ON {table} "
                f"BEGIN UPDATE change_counts SET version = version + 1 "
                f"WHERE table_name = '{table}'; END")
    conn.exec_driver_sql(_VIEW)
