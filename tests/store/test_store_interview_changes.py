"""Migration 5: per-interview counters of rows changed in place (read by the aggregate cache)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pipeline.store import open_store


def _v4_store_with_rows(path: Path, frozen_store) -> None:
    conn = frozen_store(path, 4)
    for interview in (1, 2):
        conn.execute("INSERT INTO interviews (id, file, path, sha256, ingested_at) "
                     "VALUES (?, ?, ?, 'h', 't')", (interview, f"i{interview}.docx",
                                                     f"t/i{interview}.docx"))
        conn.execute("INSERT INTO segments (id, interview_id, ord, text, start, \"end\", "
                     "sha256) VALUES (?, ?, 1, 'x', 0, 1, 'h')", (interview, interview))
        conn.execute("INSERT INTO codings (id, interview_id, segment_id, code, origin, "
                     "evidence_text, occurrence, start, \"end\", version, created_at) "
                     "VALUES (?, ?, ?, 'c', 'rule:r', 'x', 1, 0, 1, 1, 't')",
                     (interview, interview, interview))
        conn.execute("INSERT INTO decisions (coding_id, coder, decision, time) "
                     "VALUES (?, 'ana', 'accept', 't')", (interview,))
    conn.commit()
    conn.close()


def _changes(path: Path) -> dict[int, int]:
    conn = sqlite3.connect(path)
    try:
        return dict(conn.execute("SELECT interview_id, version FROM interview_changes"))
    finally:
        conn.close()


@pytest.mark.parametrize(("statement", "expected"), [
    ("UPDATE codings SET needs_review = 1 WHERE id = 2", {2: 1}),
    ("UPDATE decisions SET decision = 'reject' WHERE coding_id = 1", {1: 1}),
    ("UPDATE segments SET status = 'retired' WHERE id = 1", {1: 1}),
    ("UPDATE interviews SET status = 'retired' WHERE id = 2", {2: 1}),
    ("UPDATE codings SET interview_id = 2 WHERE id = 1", {1: 1, 2: 1}),
    ("UPDATE codings SET needs_review = 1", {1: 1, 2: 1}),
    ("INSERT INTO decisions (coding_id, coder, decision, time) "
     "VALUES (1, 'ben', 'accept', 't')", {}),
])
def test_store_interview_changes_count_updates_per_interview(tmp_path, statement, expected,
                                                            frozen_store):
    """A v4 store upgrades to v5; an update counts for the interview its row belongs to
    (and the one it left), an insert counts nowhere (the aggregate cache sees it by id)."""
    path = tmp_path / "v4.sqlite"
    _v4_store_with_rows(path, frozen_store)
    open_store(path, warn_location=False).close()
    assert _changes(path) == {}
    conn = sqlite3.connect(path)
    conn.execute(statement)
    conn.commit()
    conn.close()
    assert _changes(path) == expected
