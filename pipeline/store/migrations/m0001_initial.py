"""Version 1: store metadata, runs, the audit log, interviews and segments.

Frozen copy of the tables as they were at version 1 (not imported from schema.py, which
moves on).
"""

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
)

VERSION = 1

_md = MetaData()

Table(
    "store_meta", _md,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)
Table(
    "runs", _md,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("command", Text, nullable=False),
    Column("started_at", Text, nullable=False),
    Column("finished_at", Text),
    Column("status", Text, nullable=False),
    Column("manifest", Text),
    sqlite_autoincrement=True,
)
_events = Table(
    "events", _md,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("entity", Text, nullable=False),
    Column("entity_key", Text, nullable=False),
    Column("source", Text),
    Column("old", Text),
    Column("new", Text),
    Column("reason", Text),
    Column("run_id", Integer, ForeignKey("runs.id")),
    sqlite_autoincrement=True,
)
Index("ix_events_entity", _events.c.entity, _events.c.entity_key)
Table(
    "interviews", _md,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("file", Text, nullable=False),
    Column("path", Text, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("status", Text, nullable=False, server_default="active"),
    Column("retired_reason", Text),
    Column("plain_text", Text),
    Column("metadata", Text),
    Column("warnings", Text),
    Column("notes", Text),
    Column("ingested_at", Text, nullable=False),
    UniqueConstraint("path", name="uq_interviews_path"),
    sqlite_autoincrement=True,
)
_segments = Table(
    "segments", _md,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("interview_id", Integer, ForeignKey("interviews.id"), nullable=False),
    Column("ord", Integer, nullable=False),
    Column("section", Text),
    Column("question", Text),
    Column("text", Text, nullable=False),
    Column("start", Integer, nullable=False),
    Column("end", Integer, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="current"),
    sqlite_autoincrement=True,
)
Index("ix_segments_interview", _segments.c.interview_id, _segments.c.ord)


def upgrade(conn) -> None:
    _md.create_all(conn)
