"""Many decisions at once, with exactly the effect of `set_decision` called for each.

A returned workbook can hold 100,000 decisions; `pipeline.coding.decisions.set_decision`
runs about seven statements per decision, which makes such an import take minutes. This is
the same write in batches, for the plain case the import has most: accept, reject or
discuss, with no corrected coding to link. The rows and events it writes are the ones
set_decision writes (a test compares both); anything else goes through set_decision itself.

The statements go through the driver's connection (sqlite3), inside the caller's
transaction: plain tuples and `executemany`, because building SQLAlchemy statements and
result rows for 100,000 decisions cost more than writing them.
"""

from __future__ import annotations

import json
from collections import namedtuple

from sqlalchemy.engine import Connection

from pipeline.coding.decisions import DECISIONS, ROLES, _decision_state
from pipeline.store import utc_now

CHUNK = 900  # ids per IN (...), under SQLite's default limit of bound parameters
BATCH = 5000  # decisions per batch: bounds the memory of the events' JSON

# what _decision_state and the unchanged test read of a stored decision
_Stored = namedtuple("_Stored", "id coding_id decision role corrected_code corrected_flags "
                                "linked_coding_id comment")
_VALUES = ("decision", "role", "corrected_code", "corrected_flags", "linked_coding_id",
           "comment")
_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True)  # as record_event writes


def _chunks(values: list, size: int = CHUNK):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _driver(conn: Connection):
    return conn.connection.driver_connection


def _in(sql: str, ids: list) -> str:
    return sql.replace("(?)", f"({', '.join('?' for _ in ids)})")


def identities(conn: Connection, coding_ids: list[int]) -> dict[int, dict]:
    """`coding_identity` for many codings."""
    raw = _driver(conn)
    found = {}
    sql = ("SELECT c.id, c.interview_id, c.segment_id, c.code, c.evidence_text, "
           "c.occurrence, c.coder, s.ord, s.sha256, i.path FROM codings c "
           "JOIN segments s ON s.id = c.segment_id "
           "JOIN interviews i ON i.id = c.interview_id WHERE c.id IN (?)")
    for chunk in _chunks(sorted(set(coding_ids))):
        for (coding_id, interview_id, segment_id, code, evidence, occurrence, coder, ord_,
             sha256, path) in raw.execute(_in(sql, chunk), chunk):
            found[coding_id] = {"interview_id": interview_id, "interview_path": path,
                                "segment_id": segment_id, "segment_ord": ord_,
                                "segment_sha256": sha256, "code": code,
                                "evidence_text": evidence, "occurrence": occurrence,
                                "coder": coder or None}
    return found


def set_plain_decisions(conn: Connection, wanted: list[tuple[int, str, str | None]],
                        coder: str, *, role: str, source: str,
                        run_id: int | None = None) -> int:
    """(coding id, decision, comment) for one coder; returns how many changed.

    Same result as `set_decision(conn, id, coder, decision, comment, source=source,
    role=role)` for each, in order, with no corrected code, flags or linked coding.
    """
    if role not in ROLES or any(d not in DECISIONS or d == "change" for _i, d, _c in wanted):
        raise ValueError("set_plain_decisions takes accept, reject or discuss only")
    if len({coding_id for coding_id, _d, _c in wanted}) != len(wanted):
        raise ValueError("set_plain_decisions takes each coding once")
    changed = 0
    for start in range(0, len(wanted), BATCH):
        changed += _set_batch(conn, wanted[start:start + BATCH], coder, role=role,
                              source=source, run_id=run_id)
    return changed


def _set_batch(conn: Connection, wanted: list[tuple[int, str, str | None]], coder: str, *,
               role: str, source: str, run_id: int | None) -> int:
    raw = _driver(conn)
    ids = sorted({coding_id for coding_id, _d, _c in wanted})
    old_rows, review = {}, {}
    for chunk in _chunks(ids):
        for row in raw.execute(_in(
                "SELECT id, coding_id, decision, role, corrected_code, corrected_flags, "
                "linked_coding_id, comment FROM decisions WHERE coder = ? AND coding_id IN (?)",
                chunk), [coder, *chunk]):
            old_rows[row[1]] = _Stored(*row)
        for coding_id, needs_review, reason in raw.execute(_in(
                "SELECT id, needs_review, review_reason FROM codings WHERE id IN (?)", chunk),
                chunk):
            review[coding_id] = (needs_review, reason)
    names = identities(conn, ids)
    now = utc_now()
    inserts, updates, cleared, logged = [], [], [], []
    for coding_id, decision, comment in wanted:
        old = old_rows.get(coding_id)
        values = (decision, role, None, None, None, comment)
        unchanged = old is not None and old[2:] == values
        needs_review, reason = review[coding_id]
        clears = bool(needs_review)
        if unchanged and not clears:
            continue
        if old is None:
            inserts.append((coding_id, coder, now, source, *values))
        elif not unchanged:
            updates.append((now, source, *values, old.id))
        new_state = dict(zip(_VALUES, values, strict=True))
        if clears:
            cleared.append((now, coding_id))
            new_state["review_cleared"] = reason
        new_state["coding"] = names.get(coding_id, {})
        old_state = _decision_state(old)
        logged.append((now, coder, "decision.set", "codings", str(coding_id), source, None,
                       run_id, None if old_state is None else _JSON.encode(old_state),
                       _JSON.encode(new_state)))
    if inserts:
        raw.executemany(
            "INSERT INTO decisions (coding_id, coder, time, source, decision, role, "
            "corrected_code, corrected_flags, linked_coding_id, comment) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", inserts)
    if updates:
        raw.executemany(
            "UPDATE decisions SET time = ?, source = ?, decision = ?, role = ?, "
            "corrected_code = ?, corrected_flags = ?, linked_coding_id = ?, comment = ? "
            "WHERE id = ?", updates)
    if cleared:
        raw.executemany("UPDATE codings SET needs_review = 0, review_reason = NULL, "
                        "updated_at = ? WHERE id = ?", cleared)
    if logged:
        raw.executemany(
            "INSERT INTO events (time, actor, kind, entity, entity_key, source, reason, "
            "run_id, old, new) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", logged)
    return len(logged)
