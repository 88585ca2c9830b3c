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
    # [order, part, role, kind, start, end, section, question, is_segment, heading]
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
    Column("kind", Text, nullable=False, server_default="paragraph"),  # list_item, table_cell
    Column("heading", Text),  # the section's heading as written ("3. Policies & Programs")
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

# --- coding into the store (pipeline/code_study.py, pipeline/coding/) ----------------------

# Every codebook version a `code` run used: its text, so a later run can tell a changed
# pattern under an unchanged version number (refused) from a new version.
_codebook_versions = Table(
    "codebook_versions", _md,
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
Index("ix_codebook_versions_version", _codebook_versions.c.codebook_id,
      _codebook_versions.c.version)

# `changes` entries of the codebook already carried out on the codings (each exactly once).
_codebook_changes = Table(
    "codebook_changes", _md,
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
_codings = Table(
    "codings", _md,
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
Index("ix_codings_interview", _codings.c.interview_id)
Index("ix_codings_code", _codings.c.code)

# One current decision per (coding, coder); every change is also an event.
_decisions = Table(
    "decisions", _md,
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
Index("ix_decisions_coder", _decisions.c.coder)

# What each current segment was last coded from: a segment is coded again only when its
# text, its place or the matching fingerprint (codebook rules, coder version) changed.
_segment_coding = Table(
    "segment_coding", _md,
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
_actors = Table(
    "actors", _md,
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

_actor_mentions = Table(
    "actor_mentions", _md,
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
Index("ix_actor_mentions_segment", _actor_mentions.c.segment_id)
Index("ix_actor_mentions_actor", _actor_mentions.c.actor_id)

_initiatives = Table(
    "initiatives", _md,
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

_initiative_actors = Table(
    "initiative_actors", _md,
    Column("initiative_id", Integer, ForeignKey("initiatives.id"), primary_key=True),
    Column("actor_id", Integer, ForeignKey("actors.id"), primary_key=True),
    Column("role", Text, primary_key=True),  # runs | funds | partner
)

_initiative_mentions = Table(
    "initiative_mentions", _md,
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
Index("ix_initiative_mentions_segment", _initiative_mentions.c.segment_id)

_partnerships = Table(
    "partnerships", _md,
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

_partnership_parties = Table(
    "partnership_parties", _md,
    Column("partnership_id", Integer, ForeignKey("partnerships.id"), primary_key=True),
    Column("actor_id", Integer, ForeignKey("actors.id"), primary_key=True),
)

_partnership_mentions = Table(
    "partnership_mentions", _md,
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
Index("ix_partnership_mentions_segment", _partnership_mentions.c.segment_id)


def upgrade(conn) -> None:
    _md.create_all(conn)
