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
    Column("path", Text, nullable=False),  # relative to the study folder (POSIX), else absolute
    Column("sha256", Text, nullable=False),  # of the current version's bytes
    Column("version", Integer, nullable=False, server_default="1"),
    Column("status", Text, nullable=False, server_default="active"),  # active | retired
    Column("retired_reason", Text),
    Column("purged", Integer, nullable=False, server_default="0"),  # text removed (consent)
    Column("plain_text", Text),  # current version; NULL once purged
    Column("metadata", Text),  # JSON: field -> {value, raw, source}
    Column("metadata_candidates", Text),  # JSON: field -> {source: raw} read from the file
    Column("warnings", Text),  # JSON list of problems
    Column("structure_guide", Text),  # guide the sections were matched against
    # JSON list, one entry per block of the current version with the role it was given:
    # [order, part, role, kind, start, end, section, question, is_segment]
    Column("paragraphs", Text),
    Column("ingested_at", Text, nullable=False),
    UniqueConstraint("path", name="uq_interviews_path"),
    sqlite_autoincrement=True,
)
Index("ix_interviews_sha256", interviews.c.sha256)

interview_versions = Table(
    "interview_versions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("interview_id", Integer, ForeignKey("interviews.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("file", Text, nullable=False),
    Column("path", Text, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("plain_text", Text),  # offsets of segments last current in this version point here
    Column("ingested_at", Text, nullable=False),
    UniqueConstraint("interview_id", "version", name="uq_interview_versions"),
    sqlite_autoincrement=True,
)

segments = Table(
    "segments", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("interview_id", Integer, ForeignKey("interviews.id"), nullable=False),
    Column("ord", Integer, nullable=False),  # block number in the transcript, from 1
    Column("section", Text),
    Column("question", Text),
    Column("text", Text, nullable=False),
    Column("start", Integer, nullable=False),
    Column("end", Integer, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="current"),  # current | retired
    Column("kind", Text, nullable=False, server_default="paragraph"),  # or list_item, cell, textbox
    Column("version", Integer, nullable=False, server_default="1"),  # offsets refer to it
    Column("first_version", Integer, nullable=False, server_default="1"),
    sqlite_autoincrement=True,
)
Index("ix_segments_interview", segments.c.interview_id, segments.c.ord)

# Headers, footers, footnotes, endnotes and Word comments: kept, never coded.
interview_notes = Table(
    "interview_notes", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("interview_id", Integer, ForeignKey("interviews.id"), nullable=False),
    Column("ord", Integer, nullable=False),
    Column("kind", Text, nullable=False),  # header | footer | footnote | endnote | comment
    Column("author", Text),
    Column("text", Text, nullable=False),
    Column("anchor_start", Integer),  # comments: commented span of the plain text
    Column("anchor_end", Integer),
    sqlite_autoincrement=True,
)
Index("ix_interview_notes_interview", interview_notes.c.interview_id, interview_notes.c.ord)

# Metadata a person recorded with `cityqda interview set`; outranks every other source.
metadata_overrides = Table(
    "metadata_overrides", metadata,
    Column("interview_id", Integer, ForeignKey("interviews.id"), primary_key=True),
    Column("field", Text, primary_key=True),
    Column("value", Text, nullable=False),
)
