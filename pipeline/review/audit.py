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
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Connection

from pipeline.errors import CityQDAError
from pipeline.store.schema import events, interviews
from pipeline.xlsx_determinism import replace_keeping_mode

# Kinds a person causes (the replayable human record) and the import records themselves.
HUMAN_KINDS = ("coding.added", "coding.flags", "decision.set", "memo.set", "review.imported",
               "entity_decision.set", "interview.override", "interview.retired",
               "interview.unretired")
INTERVIEW_KINDS = ("interview.override", "interview.retired", "interview.unretired")


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
    now = _current_identities(conn)
    paths = {str(i): p for i, p in conn.execute(select(interviews.c.id, interviews.c.path))}
    for row in conn.execute(query):
        event = _with_current_identity(event_dict(row), now)
        if event["kind"] in INTERVIEW_KINDS:
            event["interview_path"] = paths.get(str(event["entity_key"]))
        yield event


def log_lines(conn: Connection, *, fmt: str = "text", coder: str | None = None,
              all_kinds: bool = False) -> Iterator[str]:
    """The log as lines: JSON Lines for `restore` (fmt "jsonl"), else for people."""
    for event in log_events(conn, coder=coder, all_kinds=all_kinds):
        if fmt == "jsonl":
            yield json.dumps(event, ensure_ascii=False, sort_keys=True) + "\n"
        else:
            yield event_line(event) + "\n"


def write_log_file(lines: Iterable[str], path: Path) -> int:
    """Write the lines to `path` whole or not at all (beside it, then renamed): a log cut
    at a line boundary would replay as a shorter history. Returns the line count; CQ524
    when the file cannot be written."""
    path = Path(path)
    temp = None
    try:
        handle, temp = tempfile.mkstemp(prefix=".cityqda-", suffix=path.suffix,
                                        dir=path.parent)
        count = 0
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            for line in lines:
                stream.write(line)
                count += 1
        replace_keeping_mode(temp, path)
        temp = None
    except OSError as exc:
        raise CityQDAError("CQ524", path=str(path), problem=exc.strerror or str(exc)) \
            from exc
    finally:
        if temp is not None and os.path.exists(temp):
            os.unlink(temp)
    return count


def _current_identities(conn: Connection) -> dict[str, dict]:
    """Where each coding is now, and what it is, by coding id."""
    from pipeline.store.schema import codings, interviews, segments

    found = {}
    for row in conn.execute(
            select(codings.c.id, codings.c.interview_id, codings.c.segment_id, codings.c.code,
                   codings.c.evidence_text, codings.c.occurrence, codings.c.coder,
                   codings.c.dimension, codings.c.kind, codings.c.origin, codings.c.rule_id,
                   codings.c.codebook_version, codings.c.negated, codings.c.hypothetical,
                   codings.c.planned, codings.c.counts, segments.c.ord, segments.c.sha256,
                   interviews.c.path)
            .join(segments, segments.c.id == codings.c.segment_id)
            .join(interviews, interviews.c.id == codings.c.interview_id)):
        found[str(row.id)] = {
            "interview_id": row.interview_id, "interview_path": row.path,
            "segment_id": row.segment_id, "segment_ord": row.ord,
            "segment_sha256": row.sha256, "code": row.code,
            "evidence_text": row.evidence_text, "occurrence": row.occurrence,
            "coder": row.coder or None, "dimension": row.dimension, "kind": row.kind,
            "origin": row.origin, "rule_id": row.rule_id,
            "codebook_version": row.codebook_version, "negated": row.negated,
            "hypothetical": row.hypothetical, "planned": row.planned, "counts": row.counts}
    return found


def _with_current_identity(event: dict, now: dict[str, dict]) -> dict:
    """The coding's identity as it is now: a transcript edited (a typo fixed, a paragraph
    inserted) or a code renamed since the event moved it, and a replay into a store rebuilt
    from today's transcripts and codebook must look for it there. The identity as logged
    stays under `coding_logged`."""
    new = event.get("new")
    if event.get("entity") != "codings" or not isinstance(new, dict) \
            or not isinstance(new.get("coding"), dict):
        return event
    current = now.get(str(event.get("entity_key")))
    if current is not None:
        logged = new["coding"]
        if any(current.get(key) != value for key, value in logged.items()):
            new["coding_logged"] = logged
        new["coding"] = current
    return event


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
    elif kind in INTERVIEW_KINDS:
        what = event.get("interview_path") or f"interview {event['entity_key']}"
        if kind == "interview.override":
            what += (f" {new.get('field')} set to {new.get('value')!r}" if new
                     else f" {old.get('field')} override removed")
        if event.get("reason"):
            what += f" ({event['reason']})"
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
