"""Version 5: a change counter per interview, for rows changed in place.

The coded datasets are cached per interview (pipeline.aggregate.cache) and an interview's
rows are rendered again only when something they are made of changed. Inserts and deletes
show in a cheap grouped query (count and largest id per interview: every table here uses
AUTOINCREMENT, so a new row always has a larger id than any before it); rows changed in
place do not, so a trigger AFTER UPDATE on each table the datasets read adds one to the
counter of the interview the row belongs to (and of the one it left, when it moved).

Only UPDATE is counted: the bulk writes (ingest's segments, code's codings and mentions,
a review import's decisions) are inserts and pay nothing; an update pays one upsert by
primary key. `interview_changes` is not tracked in `data_versions`: it moves only when a
tracked table moves, so its counter would tell no stage anything new.
"""

from sqlalchemy import Column, Integer, MetaData, Table

VERSION = 5

_md = MetaData()
_interview_changes = Table(
    "interview_changes", _md,
    Column("interview_id", Integer, primary_key=True, autoincrement=False),
    Column("version", Integer, nullable=False, server_default="0"),
)

_BUMP = ("INSERT INTO interview_changes (interview_id, version) "
         "SELECT {source} WHERE {condition} "
         "ON CONFLICT (interview_id) DO UPDATE SET version = version + 1;")

_BY_COLUMN = ("{row}.interview_id, 1", "{row}.interview_id IS NOT NULL")
_BY_CODING = ("(SELECT interview_id FROM codings WHERE id = {row}.coding_id), 1",
              "EXISTS (SELECT 1 FROM codings WHERE id = {row}.coding_id)")
_BY_SEGMENT = ("(SELECT interview_id FROM segments WHERE id = {row}.segment_id), 1",
               "EXISTS (SELECT 1 FROM segments WHERE id = {row}.segment_id)")

# table -> (the row's interview from NEW or OLD, when it exists; the column whose change
# moves the row to another interview, whose old interview is then counted too)
WATCHED = {
    "interviews": (("{row}.id, 1", "{row}.id IS NOT NULL"), None),
    "segments": (_BY_COLUMN, "interview_id"),
    "codings": (_BY_COLUMN, "interview_id"),
    "decisions": (_BY_CODING, "coding_id"),
    "initiative_mentions": (_BY_SEGMENT, "segment_id"),
    "actor_mentions": (_BY_SEGMENT, "segment_id"),
}


def upgrade(conn) -> None:
    _md.create_all(conn)
    for table, ((source, condition), moved_by) in WATCHED.items():
        body = _BUMP.format(source=source.format(row="NEW"),
                            condition=condition.format(row="NEW"))
        if moved_by is not None:
            body += " " + _BUMP.format(
                source=source.format(row="OLD"),
                condition=f"OLD.{moved_by} IS NOT NEW.{moved_by} AND "
                          + condition.format(row="OLD"))
        conn.exec_driver_sql(f"CREATE TRIGGER ic_{table}_update AFTER UPDATE ON {table} "
                             f"BEGIN {body} END")
