"""Version 3: a change counter per table, so `cityqda run` can tell cheaply what changed.

`data_versions` holds one row per tracked table; a trigger on every insert, update and
delete adds one to that table's counter. A run stage that reads the store records the
counters it saw (with its other inputs) and skips its work when they are all equal next
time (pipeline.report.incremental). Counting in triggers is exact where counts and maximum
ids are not (a segment re-anchored or a coding re-flagged changes in place) and costs about
a microsecond per row written.

`runs` and `store_meta` are not tracked: every command writes them. A later migration that
adds a table must add its row and triggers here too (TRACKED is frozen with this version).
SQLite-only DDL, like the rest of the store's dialect-specific SQL.
"""

from sqlalchemy import Column, Integer, MetaData, Table, Text

VERSION = 3

TRACKED = ("events", "interviews", "interview_versions", "segments", "interview_notes",
           "metadata_overrides", "codebook_versions", "codebook_changes", "codings",
           "decisions", "segment_coding", "actors", "actor_mentions", "initiatives",
           "initiative_actors", "initiative_mentions", "partnerships", "partnership_parties",
           "partnership_mentions", "review_exports", "review_export_rows", "review_imports",
           "entity_decisions", "entity_aliases", "memos")
OPERATIONS = {"insert": "INSERT", "update": "UPDATE", "delete": "DELETE"}

_md = MetaData()
_data_versions = Table(
    "data_versions", _md,
    Column("table_name", Text, primary_key=True),
    Column("version", Integer, nullable=False, server_default="0"),
)


def upgrade(conn) -> None:
    _md.create_all(conn)
    for table in TRACKED:
        conn.exec_driver_sql("INSERT INTO data_versions (table_name, version) VALUES (?, 0)",
                             (table,))
        for short, operation in OPERATIONS.items():
            conn.exec_driver_sql(
                f"CREATE TRIGGER dv_{table}_{short} AFTER {operation} ON {table} "
                f"BEGIN UPDATE data_versions SET version = version + 1 "
                f"WHERE table_name = '{table}'; END")
