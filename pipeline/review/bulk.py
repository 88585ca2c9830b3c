"""Many decisions at once, with exactly the effect of `set_decision` called for each.

A returned workbook can hold 100,000 decisions; `pipeline.coding.decisions.set_decision`
runs about seven statements per decision, which makes such an import take minutes. This is
the same write in batches (one SELECT per 900 codings, executemany for the inserts, updates
and events), for the plain case the import has most: accept, reject or discuss, with no
corrected coding to link. The rows and events it writes are the ones set_decision writes
(a test compares both); anything else goes through set_decision itself.
"""

from __future__ import annotations

import json

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from pipeline.coding.decisions import DECISIONS, ROLES, _decision_state
from pipeline.store import utc_now
from pipeline.store.schema import codings, decisions, events, interviews, segments

CHUNK = 900
BATCH = 5000


def _chunks(values: list, size: int = CHUNK):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def identities(conn: Connection, coding_ids: list[int]) -> dict[int, dict]:
    """`coding_identity` for many codings."""
    found = {}
    for chunk in _chunks(sorted(set(coding_ids))):
        for row in conn.execute(
                select(codings.c.id, codings.c.interview_id, codings.c.segment_id,
                       codings.c.code, codings.c.evidence_text, codings.c.occurrence,
                       codings.c.coder, segments.c.ord, segments.c.sha256, interviews.c.path)
                .join(segments, segments.c.id == codings.c.segment_id)
                .join(interviews, interviews.c.id == codings.c.interview_id)
                .where(codings.c.id.in_(chunk))):
            found[row.id] = {"interview_id": row.interview_id, "interview_path": row.path,
                             "segment_id": row.segment_id, "segment_ord": row.ord,
                             "segment_sha256": row.sha256, "code": row.code,
                             "evidence_text": row.evidence_text,
                             "occurrence": row.occurrence, "coder": row.coder or None}
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
    for start in range(0, len(wanted), BATCH):  # bounded memory for the events' JSON
        changed += _set_batch(conn, wanted[start:start + BATCH], coder, role=role,
                              source=source, run_id=run_id)
    return changed


def _set_batch(conn: Connection, wanted: list[tuple[int, str, str | None]], coder: str, *,
               role: str, source: str, run_id: int | None) -> int:
    ids = [coding_id for coding_id, _d, _c in wanted]
    old_rows, review = {}, {}
    for chunk in _chunks(sorted(set(ids))):
        for row in conn.execute(select(decisions).where(decisions.c.coding_id.in_(chunk),
                                                        decisions.c.coder == coder)):
            old_rows[row.coding_id] = row
        for row in conn.execute(select(codings.c.id, codings.c.needs_review,
                                       codings.c.review_reason)
                                .where(codings.c.id.in_(chunk))):
            review[row.id] = row
    names = identities(conn, ids)
    now = utc_now()
    inserts, updates, cleared, logged = [], [], [], []
    for coding_id, decision, comment in wanted:
        old = old_rows.get(coding_id)
        values = {"decision": decision, "role": role, "corrected_code": None,
                  "corrected_flags": None, "linked_coding_id": None, "comment": comment}
        unchanged = old is not None and all(getattr(old, k) == v for k, v in values.items())
        coding = review[coding_id]
        clears = bool(coding.needs_review)
        if unchanged and not clears:
            continue
        if old is None:
            inserts.append({"coding_id": coding_id, "coder": coder, "time": now,
                            "source": source, **values})
        elif not unchanged:
            updates.append({"_id": old.id, "time": now, "source": source, **values})
        new_state = dict(values)
        if clears:
            cleared.append({"_id": coding_id})
            new_state["review_cleared"] = coding.review_reason
        logged.append({
            "time": now, "actor": coder, "kind": "decision.set", "entity": "codings",
            "entity_key": str(coding_id), "source": source, "reason": None, "run_id": run_id,
            "old": _json(_decision_state(old)),
            "new": _json({**new_state, "coding": names.get(coding_id, {})})})
    if inserts:
        conn.execute(insert(decisions), inserts)
    if updates:
        conn.execute(update(decisions).where(decisions.c.id == bindparam("_id")).values(
            {k: bindparam(k) for k in ("time", "source", "decision", "role",
                                       "corrected_code", "corrected_flags",
                                       "linked_coding_id", "comment")}), updates)
    if cleared:
        for row in cleared:
            row["updated_at"] = now
        conn.execute(update(codings).where(codings.c.id == bindparam("_id")).values(
            needs_review=0, review_reason=None, updated_at=bindparam("updated_at")), cleared)
    if logged:
        conn.execute(insert(events), logged)
    return len(logged)


def _json(value):
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)
