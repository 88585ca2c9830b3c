"""The current store schema as SQLAlchemy Core tables; queries import these.

Migrations under `migrations/` build this schema step by step; a test checks that a store
built by the migrations reflects exactly these tables. Change both together: add a new
numbered migration, never edit a released one.
"""

from __future__ import annotations

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

metadata = MetaData()

store_meta = Table(
    "store_meta", metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

runs = Table(
    "runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("command", Text, nullable=False),
    Column("started_at", Text, nullable=False),
    Column("finished_at", Text),
    Column("status", Text, nullable=False),  # running | ok | failed
    Column("manifest", Text),  # JSON
    sqlite_autoincrement=True,
)

# Append-only audit log: every change a person or a stage makes to human-owned data.
events = Table(
    "events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", Text, nullable=False),
    Column("actor", Text, nullable=False),  # coder id, or "cityqda" for automatic changes
    Column("kind", Text, nullable=False),  # e.g. interview.override, decision.set
    Column("entity", Text, nullable=False),  # table the event is about
    Column("entity_key", Text, nullable=False),  # stable identity of the row
    Column("source", Text),  # workbook, command line, migration...
    Column("old", Text),  # JSON
    Column("new", Text),  # JSON
    Column("reason", Text),
    Column("run_id", Integer, ForeignKey("runs.id")),
    sqlite_autoincrement=True,
)
Index("ix_events_entity", events.c.entity, events.c.entity_key)

interviews = Table(
    "interviews", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("file", Text, nullable=False),  # file name as found (NFC)
    Column("path", Text, nullable=False),  # relative to the study folder
    Column("sha256", Text, nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("status", Text, nullable=False, server_default="active"),  # active | retired
    Column("retired_reason", Text),
    Column("plain_text", Text),
    Column("metadata", Text),  # JSON: field -> {value, raw, source}
    Column("warnings", Text),  # JSON list
    Column("notes", Text),  # JSON: comments, headers, footers, footnotes
    Column("ingested_at", Text, nullable=False),
    UniqueConstraint("path", name="uq_interviews_path"),
    sqlite_autoincrement=True,
)

segments = Table(
    "segments", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("interview_id", Integer, ForeignKey("interviews.id"), nullable=False),
    Column("ord", Integer, nullable=False),
    Column("section", Text),
    Column("question", Text),
    Column("text", Text, nullable=False),
    Column("start", Integer, nullable=False),
    Column("end", Integer, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="current"),  # current | retired
    sqlite_autoincrement=True,
)
Index("ix_segments_interview", segments.c.interview_id, segments.c.ord)
