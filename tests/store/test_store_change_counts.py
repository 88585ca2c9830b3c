"""Migration 6: inserts into events and decisions counted by their ids, not by triggers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pipeline.report.incremental import data_versions
from pipeline.store import open_store

COUNTERS = {"events": 7, "decisions": 5, "codings": 9, "memos": 0}


def _v5_store_with_rows(path: Path, frozen_store) -> None:
    """A v5 store holding two events and a decision, its counters as `COUNTERS`."""
    conn = frozen_store(path, 5)
    conn.execute("INSERT INTO interviews (id, file, path, sha256, ingested_at) "
                 "VALUES (1, 'i.docx', 't/i.docx', 'h', 't')")
    conn.execute("INSERT INTO segments (id, interview_id, ord, text, start, \"end\", sha256) "
                 "VALUES (1, 1, 1, 'x', 0, 1, 'h')")
    conn.execute("INSERT INTO codings (id, interview_id, segment_id, code, origin, "
                 "evidence_text, occurrence, start, \"end\", version, created_at) "
                 "VALUES (1, 1, 1, 'c', 'rule:r', 'x', 1, 0, 1, 1, 't')")
    conn.execute("INSERT INTO decisions (coding_id, coder, decision, time) "
                 "VALUES (1, 'ana', 'accept', 't')")
    conn.executemany("INSERT INTO events (time, actor, kind, entity, entity_key) "
                     "VALUES ('t', 'ana', 'k', 'codings', '1')", [(), ()])
    conn.execute("DELETE FROM data_versions")
    conn.executemany("INSERT INTO data_versions VALUES (?, ?)", COUNTERS.items())
    conn.commit()
    conn.close()


def _versions(path: Path) -> dict[str, int]:
    store = open_store(path, warn_location=False)
    try:
        with store.read() as conn:
            return data_versions(conn)
    finally:
        store.close()


@pytest.mark.parametrize(("statements", "moved"), [
    ([], {}),
    (["INSERT INTO events (time, actor, kind, entity, entity_key) "
      "VALUES ('t', 'ana', 'k', 'codings', '1')"] * 3, {"events": 3}),
    (["INSERT INTO decisions (coding_id, coder, decision, time) "
      "VALUES (1, 'ben', 'reject', 't')"], {"decisions": 1}),
    (["UPDATE decisions SET decision = 'reject'"], {"decisions": 1}),
    (["DELETE FROM events WHERE id = 2"], {"events": 1}),
    (["DELETE FROM events WHERE id = 2",  # the largest id is never given again
      "INSERT INTO events (time, actor, kind, entity, entity_key) "
      "VALUES ('t', 'ana', 'k', 'codings', '1')"], {"events": 2}),
    (["UPDATE codings SET needs_review = 1", "INSERT INTO memos (entity, entity_id, coder, "
      "text, time) VALUES ('segments', 1, 'ana', 'm', 't')"], {"codings": 1, "memos": 1}),
])
def test_store_change_counts_keep_every_counter_moving(tmp_path, statements, moved,
                                                      frozen_store):
    """A v5 store upgrades to v6 with its counters unchanged; after that each insert,
    update or delete still moves its table's counter by one, and no other."""
    path = tmp_path / "v5.sqlite"
    _v5_store_with_rows(path, frozen_store)
    assert _versions(path) == COUNTERS
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()
    assert _versions(path) == {table: count + moved.get(table, 0)
                               for table, count in COUNTERS.items()}


def test_store_change_counts_inserts_fire_no_trigger(tmp_path):
    store = open_store(tmp_path / "s.sqlite", warn_location=False)
    store.close()
    conn = sqlite3.connect(tmp_path / "s.sqlite")
    triggers = {name for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'dv_%'")}
    conn.close()
    assert {"dv_events_update", "dv_events_delete", "dv_decisions_update",
            "dv_codings_insert"} <= triggers
    assert not triggers & {"dv_events_insert", "dv_decisions_insert"}
