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
    # [order, part, role, kind, start, end, section, question, is_segment, heading]
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
    Column("kind", Text, nullable=False, server_default="paragraph"),  # list_item, table_cell
    Column("heading", Text),  # the section's heading as written ("3. Policies & Programs")
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

# --- coding into the store (pipeline/code_study.py, pipeline/coding/) ----------------------

# Every codebook version a `code` run used: its text, so a later run can tell a changed
# pattern under an unchanged version number (refused) from a new version.
codebook_versions = Table(
    "codebook_versions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("codebook_id", Text, nullable=False),
    Column("version", Text, nullable=False),
    Column("sha256", Text, nullable=False),  # of the YAML bytes
    Column("matching_sha256", Text, nullable=False),  # of what decides the codings
    Column("text", Text, nullable=False),  # the YAML as read
    Column("first_used_at", Text, nullable=False),
    Column("first_run", Integer, ForeignKey("runs.id")),
    UniqueConstraint("sha256", name="uq_codebook_versions_sha256"),
    sqlite_autoincrement=True,
)
Index("ix_codebook_versions_version", codebook_versions.c.codebook_id,
      codebook_versions.c.version)

# `changes` entries of the codebook already carried out on the codings (each exactly once).
codebook_changes = Table(
    "codebook_changes", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("codebook_id", Text, nullable=False),
    Column("change_key", Text, nullable=False),  # sha256 of the entry without its note
    Column("version", Text, nullable=False),
    Column("kind", Text, nullable=False),  # renamed | merged | split | retired | added | changed
    Column("from_codes", Text, nullable=False),  # JSON list
    Column("to_codes", Text, nullable=False),  # JSON list
    Column("note", Text),
    Column("codings", Integer, nullable=False, server_default="0"),  # codings it touched
    Column("applied_at", Text, nullable=False),
    Column("run_id", Integer, ForeignKey("runs.id")),
    UniqueConstraint("codebook_id", "change_key", name="uq_codebook_changes_key"),
    sqlite_autoincrement=True,
)

# One row per suggestion or manual coding; never deleted. Offsets are code points into the
# plain text of interview version `version` (kept current by `code`; an older version when
# the evidence was not found again after a re-ingest).
codings = Table(
    "codings", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("interview_id", Integer, ForeignKey("interviews.id"), nullable=False),
    Column("segment_id", Integer, ForeignKey("segments.id"), nullable=False),
    Column("code", Text, nullable=False),
    Column("dimension", Text),
    Column("kind", Text, nullable=False, server_default="dimension"),  # or challenge
    Column("origin", Text, nullable=False),  # rule:<rule id> | coder:<coder id>
    Column("rule_id", Text),  # NULL for manual codings
    Column("coder", Text, nullable=False, server_default=""),  # '' for rule codings
    Column("codebook_version", Text),
    Column("evidence_text", Text, nullable=False),
    Column("occurrence", Integer, nullable=False),  # n-th (code, evidence) in the segment
    Column("start", Integer, nullable=False),
    Column("end", Integer, nullable=False),
    Column("version", Integer, nullable=False),  # interview version the offsets point into
    Column("sentence", Text),
    Column("sentence_start", Integer),
    Column("sentence_end", Integer),
    Column("negated", Integer, nullable=False, server_default="0"),
    Column("hypothetical", Integer, nullable=False, server_default="0"),
    Column("planned", Integer, nullable=False, server_default="0"),
    Column("counts", Integer, nullable=False, server_default="0"),  # counts as an initiative
    Column("problem", Integer, nullable=False, server_default="0"),
    Column("reassigned_from", Text),
    Column("reassigned_by", Text),
    Column("context", Text),  # JSON: cues (offsets relative to the evidence), reason, ...
    Column("produced", Integer, nullable=False, server_default="1"),  # current rules make it
    Column("rule_gone", Integer, nullable=False, server_default="0"),  # decided, rules stopped
    Column("needs_review", Integer, nullable=False, server_default="0"),
    Column("review_reason", Text),
    Column("merged_into", Integer, ForeignKey("codings.id")),  # folded into by a code merge
    Column("created_run", Integer, ForeignKey("runs.id")),
    Column("updated_run", Integer, ForeignKey("runs.id")),
    Column("created_at", Text, nullable=False),
    Column("updated_at", Text),
    UniqueConstraint("segment_id", "code", "evidence_text", "occurrence", "coder",
                     name="uq_codings_identity"),
    sqlite_autoincrement=True,
)
Index("ix_codings_interview", codings.c.interview_id)
Index("ix_codings_code", codings.c.code)

# One current decision per (coding, coder); every change is also an event.
decisions = Table(
    "decisions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("coding_id", Integer, ForeignKey("codings.id"), nullable=False),
    Column("coder", Text, nullable=False),
    Column("role", Text, nullable=False, server_default="coder"),  # or adjudicator
    Column("decision", Text, nullable=False),  # accept | reject | change | discuss
    Column("corrected_code", Text),
    Column("corrected_flags", Text),  # JSON
    Column("linked_coding_id", Integer, ForeignKey("codings.id")),
    Column("comment", Text),
    Column("time", Text, nullable=False),
    Column("source", Text),
    UniqueConstraint("coding_id", "coder", name="uq_decisions_coding_coder"),
    sqlite_autoincrement=True,
)
Index("ix_decisions_coder", decisions.c.coder)

# What each current segment was last coded from: a segment is coded again only when its
# text, its place or the matching fingerprint (codebook rules, coder version) changed.
segment_coding = Table(
    "segment_coding", metadata,
    Column("segment_id", Integer, ForeignKey("segments.id"), primary_key=True),
    Column("sha256", Text, nullable=False),
    Column("start", Integer, nullable=False),
    Column("end", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("fingerprint", Text, nullable=False),
    Column("codebook_version", Text, nullable=False),
    Column("run_id", Integer, ForeignKey("runs.id")),
    Column("coded_at", Text, nullable=False),
)

# Actors, initiatives and partnerships: identity (city, normalised name), or (city, parties).
actors = Table(
    "actors", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("city", Text, nullable=False, server_default=""),
    Column("name", Text, nullable=False),
    Column("norm_name", Text, nullable=False),
    Column("category", Text),
    Column("sector", Text),  # public | private | third
    Column("parent_id", Integer, ForeignKey("actors.id")),
    Column("aliases", Text),  # JSON list
    Column("origin", Text, nullable=False),  # registry | rule | coder:<id>
    Column("guess", Integer, nullable=False, server_default="0"),
    Column("review_status", Text, nullable=False, server_default="suggested"),
    Column("created_run", Integer, ForeignKey("runs.id")),
    Column("updated_run", Integer, ForeignKey("runs.id")),
    UniqueConstraint("city", "norm_name", name="uq_actors_identity"),
    sqlite_autoincrement=True,
)

actor_mentions = Table(
    "actor_mentions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("actor_id", Integer, ForeignKey("actors.id"), nullable=False),
    Column("segment_id", Integer, ForeignKey("segments.id"), nullable=False),
    Column("start", Integer),
    Column("end", Integer),
    Column("version", Integer, nullable=False),
    Column("text", Text),
    Column("guess", Integer, nullable=False, server_default="0"),
    Column("produced", Integer, nullable=False, server_default="1"),
    sqlite_autoincrement=True,
)
Index("ix_actor_mentions_segment", actor_mentions.c.segment_id)
Index("ix_actor_mentions_actor", actor_mentions.c.actor_id)

initiatives = Table(
    "initiatives", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("city", Text, nullable=False, server_default=""),
    Column("name", Text, nullable=False),
    Column("norm_name", Text, nullable=False),
    Column("status", Text),  # existing | planned | ended
    Column("dimensions", Text),  # JSON list
    Column("origin", Text, nullable=False),
    Column("review_status", Text, nullable=False, server_default="suggested"),
    Column("ratings", Text),  # JSON: the six good-practice criteria
    Column("verdict", Text),
    Column("justification", Text),
    Column("created_run", Integer, ForeignKey("runs.id")),
    Column("updated_run", Integer, ForeignKey("runs.id")),
    UniqueConstraint("city", "norm_name", name="uq_initiatives_identity"),
    sqlite_autoincrement=True,
)

initiative_actors = Table(
    "initiative_actors", metadata,
    Column("initiative_id", Integer, ForeignKey("initiatives.id"), primary_key=True),
    Column("actor_id", Integer, ForeignKey("actors.id"), primary_key=True),
    Column("role", Text, primary_key=True),  # runs | funds | partner
)

initiative_mentions = Table(
    "initiative_mentions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("initiative_id", Integer, ForeignKey("initiatives.id"), nullable=False),
    Column("segment_id", Integer, ForeignKey("segments.id"), nullable=False),
    Column("start", Integer),
    Column("end", Integer),
    Column("version", Integer, nullable=False),
    Column("text", Text),
    Column("produced", Integer, nullable=False, server_default="1"),
    sqlite_autoincrement=True,
)
Index("ix_initiative_mentions_segment", initiative_mentions.c.segment_id)

partnerships = Table(
    "partnerships", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("city", Text, nullable=False, server_default=""),
    Column("parties_key", Text, nullable=False),  # sorted normalised party names
    Column("type", Text),
    Column("status", Text),  # existing | ended | planned | desired
    Column("origin", Text, nullable=False),
    Column("review_status", Text, nullable=False, server_default="suggested"),
    Column("created_run", Integer, ForeignKey("runs.id")),
    Column("updated_run", Integer, ForeignKey("runs.id")),
    UniqueConstraint("city", "parties_key", name="uq_partnerships_identity"),
    sqlite_autoincrement=True,
)

partnership_parties = Table(
    "partnership_parties", metadata,
    Column("partnership_id", Integer, ForeignKey("partnerships.id"), primary_key=True),
    Column("actor_id", Integer, ForeignKey("actors.id"), primary_key=True),
)

partnership_mentions = Table(
    "partnership_mentions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("partnership_id", Integer, ForeignKey("partnerships.id"), nullable=False),
    Column("segment_id", Integer, ForeignKey("segments.id"), nullable=False),
    Column("start", Integer),
    Column("end", Integer),
    Column("version", Integer, nullable=False),
    Column("text", Text),
    Column("produced", Integer, nullable=False, server_default="1"),
    sqlite_autoincrement=True,
)
Index("ix_partnership_mentions_segment", partnership_mentions.c.segment_id)

# --- version 2: the Excel review -------------------------------------------------------------

review_exports = Table(
    "review_exports", metadata,
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

review_export_rows = Table(
    "review_export_rows", metadata,
    Column("export_id", Text, ForeignKey("review_exports.id"), primary_key=True),
    Column("sheet", Text, primary_key=True),
    Column("row_key", Text, primary_key=True),  # the id written in the row
    Column("entity", Text, nullable=False),  # codings | segments | initiatives | actors | ...
    Column("entity_id", Integer, nullable=False),
    Column("content_sha256", Text, nullable=False),  # of the read-only cells as written
    Column("state", Text),  # JSON: this coder's decision as exported (pre-filled cells)
)
Index("ix_review_export_rows_entity", review_export_rows.c.entity,
      review_export_rows.c.entity_id)

review_imports = Table(
    "review_imports", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("export_id", Text, ForeignKey("review_exports.id"), nullable=False),
    Column("file", Text, nullable=False),
    Column("sha256", Text, nullable=False),  # of the workbook bytes
    Column("coder", Text, nullable=False),
    Column("changes", Integer, nullable=False, server_default="0"),
    Column("imported_at", Text, nullable=False),
    Column("run_id", Integer, ForeignKey("runs.id")),
    sqlite_autoincrement=True,
)
Index("ix_review_imports_sha256", review_imports.c.sha256)

entity_decisions = Table(
    "entity_decisions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("entity", Text, nullable=False),  # actors | initiatives | partnerships
    Column("entity_id", Integer, nullable=False),
    Column("coder", Text, nullable=False),
    Column("role", Text, nullable=False, server_default="coder"),  # or adjudicator
    Column("decision", Text, nullable=False),  # confirm | reject | merge | discuss
    Column("merge_into", Integer),  # id in the same entity table
    Column("fields", Text),  # JSON: corrected category, sector, parent, dimensions, status,
    #                          ratings, verdict, justification, parties, type
    Column("comment", Text),
    Column("time", Text, nullable=False),
    Column("source", Text),
    UniqueConstraint("entity", "entity_id", "coder", name="uq_entity_decisions"),
    sqlite_autoincrement=True,
)
Index("ix_entity_decisions_coder", entity_decisions.c.coder)

entity_aliases = Table(
    "entity_aliases", metadata,
    Column("entity", Text, primary_key=True),  # actors | initiatives
    Column("city", Text, primary_key=True),
    Column("norm_name", Text, primary_key=True),
    Column("target_id", Integer, nullable=False),
    Column("name", Text, nullable=False),  # as written
    Column("source", Text),
)

# Memos a coder wrote in a review workbook: on an interview (Interviews sheet) or on a
# segment (a Segments comment with no code added). One current memo per (row, coder);
# every change is also a `memo.set` event.
memos = Table(
    "memos", metadata,
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

# One change counter per tracked table (migration m0003 lists them), raised by triggers on
# every insert, update and delete; inserts into `events` and `decisions` are counted by
# their ids instead (migration m0006). Read it through the view `data_versions`.
change_counts = Table(
    "change_counts", metadata,
    Column("table_name", Text, primary_key=True),
    Column("version", Integer, nullable=False, server_default="0"),
)

# A view (m0006), not a table: each tracked table's change counter, what `cityqda run`
# compares to skip work. Declared apart from `metadata`, which holds the tables.
views = MetaData()
data_versions = Table(
    "data_versions", views,
    Column("table_name", Text, primary_key=True),
    Column("version", Integer, nullable=False),
)

# Per interview, how often a row it is made of was changed in place (triggers AFTER UPDATE
# on interviews, segments, codings, decisions and entity mentions; migration m0005): with
# the count and largest id of its rows, what tells the aggregate cache an interview changed.
interview_changes = Table(
    "interview_changes", metadata,
    Column("interview_id", Integer, primary_key=True, autoincrement=False),
    Column("version", Integer, nullable=False, server_default="0"),
)
