"""Review decisions on codings, manual codings, and the status derived from them.

A coding's status is never stored: it follows from its decisions (one current decision per
coding and coder) and from whether the current rules still produce it, so a re-code or a
new decision can never leave a stale status behind. Every change to a decision is also an
event in the append-only log, with the coding's identity so the log can be replayed into a
store whose row ids differ.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from pipeline.coding.anchor import occurrence_of
from pipeline.errors import CityQDAError
from pipeline.store import record_event, utc_now
from pipeline.store.schema import codings, decisions, interviews, segments

DECISIONS = ("accept", "reject", "change", "discuss")
ROLES = ("coder", "adjudicator")
STATUSES = ("accepted", "rejected", "disputed", "suggested", "superseded", "merged")
_STATUS_OF = {"accept": "accepted", "reject": "rejected", "change": "rejected",
              "discuss": "disputed"}


def coding_identity(conn: Connection, coding_id: int) -> dict:
    """What names a coding independently of row ids (for the log and its replay)."""
    row = conn.execute(
        select(codings.c.interview_id, codings.c.segment_id, codings.c.code,
               codings.c.evidence_text, codings.c.occurrence, codings.c.coder,
               segments.c.ord, segments.c.sha256, interviews.c.path)
        .join(segments, segments.c.id == codings.c.segment_id)
        .join(interviews, interviews.c.id == codings.c.interview_id)
        .where(codings.c.id == coding_id)).first()
    if row is None:
        return {}
    return {"interview_id": row.interview_id, "interview_path": row.path,
            "segment_id": row.segment_id, "segment_ord": row.ord,
            "segment_sha256": row.sha256, "code": row.code,
            "evidence_text": row.evidence_text, "occurrence": row.occurrence,
            "coder": row.coder or None}


def _decision_state(row) -> dict | None:
    if row is None:
        return None
    return {"decision": row.decision, "role": row.role, "corrected_code": row.corrected_code,
            "corrected_flags": json.loads(row.corrected_flags) if row.corrected_flags else None,
            "linked_coding_id": row.linked_coding_id, "comment": row.comment}


def set_decision(conn: Connection, coding_id: int, coder: str, decision: str,
                 comment: str | None = None, *, source: str, role: str = "coder",
                 corrected_code: str | None = None, corrected_flags: dict | None = None,
                 linked_coding_id: int | None = None, resolves_review: bool = True,
                 run_id: int | None = None) -> bool:
    """Record `coder`'s current decision on a coding; False when it was already so.

    `source` says where it came from (a workbook export id, a command). A decision is a
    person looking at the coding, so by default it also clears the coding's `needs_review`
    flag (the event keeps the reason that was cleared).
    """
    if decision not in DECISIONS:
        raise CityQDAError("CQ404", decision=decision, coding_id=coding_id,
                           problem=f"not one of {', '.join(DECISIONS)}")
    if role not in ROLES:
        raise CityQDAError("CQ404", decision=decision, coding_id=coding_id,
                           problem=f"role {role!r} is not one of {', '.join(ROLES)}")
    coding = conn.execute(select(codings.c.id, codings.c.needs_review, codings.c.review_reason)
                          .where(codings.c.id == coding_id)).first()
    if coding is None:
        raise CityQDAError("CQ404", decision=decision, coding_id=coding_id,
                           problem="no such coding in the store")
    old = conn.execute(select(decisions).where(decisions.c.coding_id == coding_id,
                                               decisions.c.coder == coder)).first()
    values = {"decision": decision, "role": role, "corrected_code": corrected_code,
              "corrected_flags": (json.dumps(corrected_flags, sort_keys=True)
                                  if corrected_flags is not None else None),
              "linked_coding_id": linked_coding_id, "comment": comment}
    old_state = _decision_state(old)
    unchanged = old is not None and all(getattr(old, k) == v for k, v in values.items())
    clears = resolves_review and bool(coding.needs_review)
    if unchanged and not clears:
        return False
    now = utc_now()
    if old is None:
        conn.execute(insert(decisions).values(coding_id=coding_id, coder=coder, time=now,
                                              source=source, **values))
    elif not unchanged:
        conn.execute(update(decisions).where(decisions.c.id == old.id)
                     .values(time=now, source=source, **values))
    new_state = dict(values, corrected_flags=corrected_flags)
    if clears:
        conn.execute(update(codings).where(codings.c.id == coding_id)
                     .values(needs_review=0, review_reason=None, updated_at=now))
        new_state["review_cleared"] = coding.review_reason
    record_event(conn, actor=coder, kind="decision.set", entity="codings",
                 entity_key=coding_id, old=old_state,
                 new={**new_state, "coding": coding_identity(conn, coding_id)},
                 source=source, run_id=run_id)
    return True


def add_manual_coding(conn: Connection, segment_id: int, code: str, coder: str, start: int,
                      end: int, *, source: str, dimension: str | None = None,
                      kind: str = "dimension", negated: bool = False,
                      hypothetical: bool = False, planned: bool = False,
                      comment: str | None = None, role: str = "coder",
                      codebook_version: str | None = None, run_id: int | None = None) -> int:
    """A coding a person made (origin `coder:<id>`), accepted by that person.

    `start`/`end` are code points into the interview's current plain text and must lie in
    the segment; the evidence is the text between them.
    """
    seg = conn.execute(select(segments).where(segments.c.id == segment_id)).first()
    if seg is None or not (seg.start <= start < end <= seg.end):
        raise CityQDAError("CQ404", decision="add", coding_id="(new)",
                           problem=f"offsets {start}-{end} are not inside segment {segment_id}")
    evidence = seg.text[start - seg.start:end - seg.start]
    existing = _same_manual_coding(conn, seg, code, coder, start, evidence)
    if existing is not None:
        return existing
    now = utc_now()
    coding_id = conn.execute(insert(codings).values(
        interview_id=seg.interview_id, segment_id=segment_id, code=code, dimension=dimension,
        kind=kind, origin=f"coder:{coder}", rule_id=None, coder=coder,
        codebook_version=codebook_version, evidence_text=evidence,
        occurrence=occurrence_of(seg.text, evidence, start - seg.start), start=start,
        end=end, version=seg.version, negated=int(negated), hypothetical=int(hypothetical),
        planned=int(planned), counts=int(kind == "dimension" and not negated
                                         and not hypothetical),
        produced=1, created_run=run_id, updated_run=run_id, created_at=now,
    )).inserted_primary_key[0]
    record_event(conn, actor=coder, kind="coding.added", entity="codings",
                 entity_key=coding_id, new={"coding": coding_identity(conn, coding_id),
                                            "start": start, "end": end},
                 source=source, run_id=run_id)
    set_decision(conn, coding_id, coder, "accept", comment, source=source, role=role,
                 run_id=run_id)
    return coding_id


def find_manual_coding(conn: Connection, segment_id: int, code: str, coder: str,
                       start: int, end: int) -> int | None:
    """The coding `add_manual_coding` would return without adding one (the coder made this
    coding before), or None: an import counts only codings it really adds."""
    seg = conn.execute(select(segments).where(segments.c.id == segment_id)).first()
    if seg is None:
        return None
    return _same_manual_coding(conn, seg, code, coder, start,
                               seg.text[start - seg.start:end - seg.start])


def _same_manual_coding(conn: Connection, seg, code: str, coder: str, start: int,
                        evidence: str) -> int | None:
    return conn.execute(select(codings.c.id).where(
        codings.c.segment_id == seg.id, codings.c.code == code,
        codings.c.evidence_text == evidence, codings.c.coder == coder,
        codings.c.start == start, codings.c.version == seg.version)).scalar()


def derive_status(produced: bool, decided: Iterable[tuple[str, str]],
                  merged: bool = False) -> str:
    """Status from (role, decision) pairs, ordered oldest first.

    An adjudicator's latest accept/reject/change wins; otherwise coders who all accept
    make it accepted, all reject (or change) rejected, anything else (disagreement, or
    only `discuss`) disputed; undecided codings are suggested while the rules produce them
    and superseded after. A coding folded into another by a code merge is `merged`.
    """
    if merged:
        return "merged"
    decided = list(decided)
    ruling = [d for role, d in decided if role == "adjudicator" and d != "discuss"]
    if ruling:
        return _STATUS_OF[ruling[-1]]
    found = {_STATUS_OF[d] for _role, d in decided}
    if not found:
        return "suggested" if produced else "superseded"
    if len(found) == 1:
        return found.pop()
    return "disputed"


def coding_statuses(conn: Connection, *, coding_ids: Iterable[int] | None = None,
                    interview_id: int | None = None) -> dict[int, str]:
    """Derived status of codings (all, some ids, or one interview's)."""
    query = select(codings.c.id, codings.c.produced, codings.c.merged_into)
    if coding_ids is not None:
        ids = sorted(set(coding_ids))
        query = query.where(codings.c.id.in_(ids))
    if interview_id is not None:
        query = query.where(codings.c.interview_id == interview_id)
    rows = conn.execute(query).all()
    wanted = {r.id for r in rows}
    by_coding: dict[int, list[tuple[str, str]]] = defaultdict(list)
    decision_query = (select(decisions.c.coding_id, decisions.c.role, decisions.c.decision)
                      .order_by(decisions.c.time, decisions.c.id))
    if interview_id is not None:
        decision_query = decision_query.join(codings, codings.c.id == decisions.c.coding_id) \
            .where(codings.c.interview_id == interview_id)
    elif coding_ids is not None:
        decision_query = decision_query.where(decisions.c.coding_id.in_(sorted(wanted)))
    for coding_id, role, decision in conn.execute(decision_query):
        if coding_id in wanted:
            by_coding[coding_id].append((role, decision))
    return {r.id: derive_status(bool(r.produced), by_coding.get(r.id, ()),
                                r.merged_into is not None) for r in rows}


def coding_status(conn: Connection, coding_id: int) -> str | None:
    """Derived status of one coding (None when there is no such coding)."""
    return coding_statuses(conn, coding_ids=[coding_id]).get(coding_id)


def decided_ids(conn: Connection, coding_ids: Iterable[int]) -> set[int]:
    ids = sorted(set(coding_ids))
    found: set[int] = set()
    for chunk_start in range(0, len(ids), 900):
        chunk = ids[chunk_start:chunk_start + 900]
        found.update(conn.execute(select(decisions.c.coding_id).distinct()
                                  .where(decisions.c.coding_id.in_(chunk))).scalars())
    return found


def purge_interview_codings(conn: Connection, interview_id: int,
                            segment_ids: Iterable[int] | None = None) -> int:
    """Remove the words of a purged interview (consent withdrawn) from its codings.

    Codings and decisions stay as facts (which code, who decided what, when) but lose the
    evidence, sentences, context and comments that quote the interview; so do their events
    and the interview's entity mentions. Returns how many codings were purged. Meant to run
    in the same transaction as the interview's own purge (it is one of ingest's
    PURGE_HOOKS; `segment_ids` is part of that hook signature and not needed here).
    """
    from pipeline.store.schema import (
        actor_mentions,
        events,
        initiative_mentions,
        partnership_mentions,
    )

    rows = conn.execute(select(codings.c.id, codings.c.segment_id)
                        .where(codings.c.interview_id == interview_id)).all()
    for row in rows:
        conn.execute(update(codings).where(codings.c.id == row.id).values(
            evidence_text=f"(purged coding {row.id})", occurrence=-row.id, sentence=None,
            sentence_start=None, sentence_end=None, context=None, review_reason=None))
    ids = [row.id for row in rows]
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        conn.execute(update(decisions).where(decisions.c.coding_id.in_(chunk))
                     .values(comment=None))
        conn.execute(update(events).where(events.c.entity == "codings",
                                          events.c.entity_key.in_([str(i) for i in chunk]))
                     .values(old=None, new=None, reason=None))
    segment_ids = select(segments.c.id).where(segments.c.interview_id == interview_id)
    for table in (actor_mentions, initiative_mentions, partnership_mentions):
        conn.execute(update(table).where(table.c.segment_id.in_(segment_ids))
                     .values(text=None))
    return len(rows)
