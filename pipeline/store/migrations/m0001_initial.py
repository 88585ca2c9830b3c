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
_interviews = Table(
    "interviews", _md,
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
Index("ix_interviews_sha256", _interviews.c.sha256)

_interview_versions = Table(
    "interview_versions", _md,
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

_segments = Table(
    "segments", _md,
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
Index("ix_segments_interview", _segments.c.interview_id, _segments.c.ord)

# Headers, footers, footnotes, endnotes and Word comments: kept, never coded.
_interview_notes = Table(
    "interview_notes", _md,
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
Index("ix_interview_notes_interview", _interview_notes.c.interview_id, _interview_notes.c.ord)

# Metadata a person recorded with `cityqda interview set`; outranks every other source.
_metadata_overrides = Table(
    "metadata_overrides", _md,
    Column("interview_id", Integer, ForeignKey("interviews.id"), primary_key=True),
    Column("field", Text, primary_key=True),
    Column("value", Text, nullable=False),
)


def upgrade(conn) -> None:
    _md.create_all(conn)
