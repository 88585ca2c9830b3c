"""The audit log of human work: the append-only `events` table, read back for people and
for `restore`.

Each decision, manual coding, memo and imported workbook appended an event with who, when,
from which workbook (`source`), the old and the new state, and the stable identity of what
it is about (interview path, segment hash and order, code, evidence, occurrence), so the
JSON Lines form of this log can be replayed into a store rebuilt from the transcripts and
the codebook.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.engine import Connection

from pipeline.store.schema import events

# Kinds a person causes (the replayable human record) and the import records themselves.
HUMAN_KINDS = ("coding.added", "coding.flags", "decision.set", "memo.set", "review.imported",
               "entity_decision.set")


def event_dict(row) -> dict:
    return {"id": row.id, "time": row.time, "actor": row.actor, "kind": row.kind,
            "entity": row.entity, "entity_key": row.entity_key, "source": row.source,
            "old": json.loads(row.old) if row.old else None,
            "new": json.loads(row.new) if row.new else None,
            "reason": row.reason, "run_id": row.run_id}


def log_events(conn: Connection, *, coder: str | None = None, all_kinds: bool = False
               ) -> Iterator[dict]:
    """Events oldest first: the human record by default, every event with `all_kinds`."""
    query = select(events).order_by(events.c.id)
    if not all_kinds:
        query = query.where(events.c.kind.in_(HUMAN_KINDS))
    if coder is not None:
        query = query.where(events.c.actor == coder)
    for row in conn.execute(query):
        yield event_dict(row)


def _state(state: dict | None) -> str:
    if not state:
        return "(none)"
    text = state.get("decision") or "?"
    if state.get("corrected_code"):
        text += f" to {state['corrected_code']}"
    flags = state.get("corrected_flags")
    if flags:
        text += " flags " + (",".join(k for k, v in sorted(flags.items()) if v) or "none")
    return text


def event_line(event: dict) -> str:
    """One line a person can read: when, who, what, from where."""
    new, old = event["new"] or {}, event["old"] or {}
    kind = event["kind"]
    coding = new.get("coding") or {}
    where = ""
    if coding:
        where = (f" {coding.get('interview_path')} ¶{coding.get('segment_ord')} "
                 f"{coding.get('code')} \"{_clip(coding.get('evidence_text'))}\"")
    if kind == "decision.set":
        what = f"C{event['entity_key']}{where}: {_state(old)} -> {_state(new)}"
        if new.get("comment") != (old or {}).get("comment") and new.get("comment"):
            what += f"; comment \"{_clip(new['comment'], 80)}\""
    elif kind == "coding.added":
        what = f"added C{event['entity_key']}{where}"
    elif kind == "memo.set":
        what = (f"memo on {event['entity']} {event['entity_key']}: "
                f"\"{_clip(new.get('text'), 80)}\"")
    elif kind == "review.imported":
        what = (f"imported {new.get('file')}: {new.get('decisions')} decision(s), "
                f"{new.get('added')} added, {new.get('memos')} memo(s)")
    else:
        what = f"{event['entity']} {event['entity_key']}{where}"
        if event.get("reason"):
            what += f" ({event['reason']})"
    source = f" [{event['source']}]" if event.get("source") else ""
    return f"{event['time']} {event['actor']} {kind} {what}{source}"


def _clip(text, limit: int = 40) -> str:
    text = (text or "").replace("\n", " ")
    return text if len(text) <= limit else text[:limit - 1] + "…"
