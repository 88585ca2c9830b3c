"""Version 2: the Excel review — export records, imported workbooks, entity decisions, aliases.

Frozen copy of the tables as added at version 2 (not imported from schema.py, which moves on).
Decisions on codings already live in `decisions` (v1); every change also goes to `events`.
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

VERSION = 2

_md = MetaData()
# Referenced only (created by version 1): lets the foreign keys resolve.
_runs = Table("runs", _md, Column("id", Integer, primary_key=True))

# One row per workbook written by `review export` (or an adjudication export).
Table(
    "review_exports", _md,
    Column("id", Text, primary_key=True),  # export id, also in the workbook's _meta sheet
    Column("kind", Text, nullable=False, server_default="review"),  # review | adjudication
    Column("coder", Text, nullable=False),
    Column("role", Text, nullable=False, server_default="coder"),
    Column("file", Text),  # where it was written (relative to the study when inside it)
    Column("codebook_id", Text),
    Column("codebook_version", Text),
    Column("scope", Text),  # JSON: filters, sample size and seed
    Column("rows", Integer, nullable=False, server_default="0"),
    Column("created_at", Text, nullable=False),
    Column("run_id", Integer, ForeignKey("runs.id")),
)

# What each exported row showed, so an import can detect edited read-only cells and stale rows
# without trusting the workbook.
_rows = Table(
    "review_export_rows", _md,
    Column("export_id", Text, ForeignKey("review_exports.id"), primary_key=True),
    Column("sheet", Text, primary_key=True),  # Codings | Segments | Initiatives | Actors | ...
    Column("row_key", Text, primary_key=True),  # the id written in the row
    Column("entity", Text, nullable=False),  # codings | segments | initiatives | actors | ...
    Column("entity_id", Integer, nullable=False),
    Column("content_sha256", Text, nullable=False),  # of the read-only cells as written
    Column("state", Text),  # JSON: this coder's decision as exported (pre-filled cells)
)
Index("ix_review_export_rows_entity", _rows.c.entity, _rows.c.entity_id)

# One row per workbook file imported (by content hash): makes re-imports and the inbox idempotent.
_imports = Table(
    "review_imports", _md,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("export_id", Text, ForeignKey("review_exports.id"), nullable=False),
    Column("file", Text, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("coder", Text, nullable=False),
    Column("changes", Integer, nullable=False, server_default="0"),
    Column("imported_at", Text, nullable=False),
    Column("run_id", Integer, ForeignKey("runs.id")),
    sqlite_autoincrement=True,
)
Index("ix_review_imports_sha256", _imports.c.sha256)

# One current decision per (entity row, coder), as `decisions` is for codings.
_entity_decisions = Table(
    "entity_decisions", _md,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("entity", Text, nullable=False),  # actors | initiatives | partnerships
    Column("entity_id", Integer, nullable=False),
    Column("coder", Text, nullable=False),
    Column("role", Text, nullable=False, server_default="coder"),  # or adjudicator
    Column("decision", Text, nullable=False),  # confirm | reject | merge | discuss
    Column("merge_into", Integer),  # id of the same entity table
    Column("fields", Text),  # JSON: corrected category, sector, parent, dimensions, status,
    #                          ratings, verdict, justification, parties, type
    Column("comment", Text),
    Column("time", Text, nullable=False),
    Column("source", Text),
    UniqueConstraint("entity", "entity_id", "coder", name="uq_entity_decisions"),
    sqlite_autoincrement=True,
)
Index("ix_entity_decisions_coder", _entity_decisions.c.coder)

# Names merged away by reviewers: re-coding maps them onto the surviving entity.
Table(
    "entity_aliases", _md,
    Column("entity", Text, primary_key=True),  # actors | initiatives
    Column("city", Text, primary_key=True),
    Column("norm_name", Text, primary_key=True),
    Column("target_id", Integer, nullable=False),
    Column("name", Text, nullable=False),  # as written
    Column("source", Text),
)


# Memos a coder wrote in a review workbook (Interviews sheet, Segments comments).
Table(
    "memos", _md,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("entity", Text, nullable=False),  # interviews | segments
    Column("entity_id", Integer, nullable=False),
    Column("coder", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("time", Text, nullable=False),
    Column("source", Text),
    UniqueConstraint("entity", "entity_id", "coder", name="uq_memos"),
    sqlite_autoincrement=True,
)


def upgrade(conn) -> None:
    _md.create_all(conn, tables=[t for t in _md.sorted_tables if t is not _runs])
