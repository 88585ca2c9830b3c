"""Carrying out the codebook's `changes` on the stored codings, each entry exactly once.

Renames and merges move codings to the new code in place, so their ids and decisions stay
and the next re-code, which yields the same identity under the new code, finds them. When a
merge makes two codings one (same place, same evidence), the later one is folded into the
other (`merged_into`): its decisions are copied where the survivor has none from that coder,
and a disagreement flags the survivor for review. Splits and retirements cannot say which
new code a decided coding belongs to: those codings are flagged `needs_review`. Every
coding a person decided or made gets an event saying why it changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from pipeline.codebook.changes import change_from, change_key, change_to, ordered_changes
from pipeline.codebook.model import Codebook
from pipeline.coding.decisions import decided_ids
from pipeline.coding.versions import applied_change_keys, record_change
from pipeline.store import record_event, utc_now
from pipeline.store.schema import codings, decisions

ACTOR = "cityqda"


@dataclass
class AppliedChange:
    version: str
    kind: str
    sources: list[str]
    targets: list[str]
    codings: int  # codings moved or flagged
    folded: int = 0  # codings folded into another by a merge

    def line(self) -> str:
        arrow = " -> ".join(", ".join(x) for x in (self.sources, self.targets) if x)
        extra = f", {self.folded} folded into equal codings" if self.folded else ""
        return f"{self.kind} {arrow} ({self.version}): {self.codings} coding(s){extra}"


def code_kind(codebook: Codebook, code_id: str) -> str:
    return "challenge" if codebook.code(code_id).kind in ("challenge", "challenge_group") \
        else "dimension"


def _reason(codebook: Codebook, entry: dict) -> str:
    sources, targets = ", ".join(change_from(entry)), ", ".join(change_to(entry))
    text = f"codebook {codebook.id} {entry.get('version')}: {entry['kind']} {sources}"
    if targets:
        text += f" into {targets}"
    if entry.get("note"):
        text += f" ({entry['note']})"
    return text


def _move(conn: Connection, codebook: Codebook, source: str, target: str, entry: dict,
          run_id: int | None) -> tuple[int, int]:
    """Move every live coding of `source` to `target`; (moved, folded)."""
    rows = conn.execute(select(codings).where(codings.c.code == source,
                                              codings.c.merged_into.is_(None))
                        .order_by(codings.c.id)).all()
    decided = decided_ids(conn, [r.id for r in rows])
    reason = _reason(codebook, entry)
    kind = "coding.code_renamed" if entry["kind"] == "renamed" else "coding.code_merged"
    dimension, target_kind = codebook.dimension_of(target), code_kind(codebook, target)
    now = utc_now()
    moved = folded = 0
    for row in rows:
        twin = conn.execute(select(codings).where(
            codings.c.segment_id == row.segment_id, codings.c.code == target,
            codings.c.evidence_text == row.evidence_text,
            codings.c.occurrence == row.occurrence, codings.c.coder == row.coder,
            codings.c.merged_into.is_(None))).first()
        if twin is None:
            conn.execute(update(codings).where(codings.c.id == row.id).values(
                code=target, dimension=dimension, kind=target_kind, updated_run=run_id,
                updated_at=now))
            moved += 1
            if row.id in decided or row.coder:
                record_event(conn, actor=ACTOR, kind=kind, entity="codings",
                             entity_key=row.id, old={"code": source},
                             new={"code": target}, reason=reason, source="code",
                             run_id=run_id)
            continue
        folded += 1
        _fold(conn, row, twin, reason, run_id, now)
    for decision in conn.execute(select(decisions.c.id, decisions.c.coding_id,
                                        decisions.c.coder)
                                 .where(decisions.c.corrected_code == source)).all():
        conn.execute(update(decisions).where(decisions.c.id == decision.id)
                     .values(corrected_code=target))
        record_event(conn, actor=ACTOR, kind="decision.code_renamed", entity="codings",
                     entity_key=decision.coding_id,
                     old={"coder": decision.coder, "corrected_code": source},
                     new={"coder": decision.coder, "corrected_code": target},
                     reason=reason, source="code", run_id=run_id)
    return moved, folded


def _fold(conn: Connection, loser, survivor, reason: str, run_id: int | None,
          now: str) -> None:
    conn.execute(update(codings).where(codings.c.id == loser.id).values(
        merged_into=survivor.id, produced=0, updated_run=run_id, updated_at=now))
    record_event(conn, actor=ACTOR, kind="coding.folded", entity="codings",
                 entity_key=loser.id, old={"code": loser.code},
                 new={"merged_into": survivor.id, "code": survivor.code}, reason=reason,
                 source="code", run_id=run_id)
    theirs = {d.coder: d for d in conn.execute(
        select(decisions).where(decisions.c.coding_id == survivor.id))}
    conflicts = []
    for decision in conn.execute(select(decisions).where(decisions.c.coding_id == loser.id)
                                 .order_by(decisions.c.id)):
        kept = theirs.get(decision.coder)
        if kept is None:
            conn.execute(insert(decisions).values(
                coding_id=survivor.id, coder=decision.coder, role=decision.role,
                decision=decision.decision, corrected_code=decision.corrected_code,
                corrected_flags=decision.corrected_flags,
                linked_coding_id=decision.linked_coding_id, comment=decision.comment,
                time=decision.time, source=f"merge of coding {loser.id}"))
            record_event(conn, actor=ACTOR, kind="decision.carried", entity="codings",
                         entity_key=survivor.id,
                         new={"coder": decision.coder, "decision": decision.decision,
                              "from_coding": loser.id}, reason=reason, source="code",
                         run_id=run_id)
        elif kept.decision != decision.decision:
            conflicts.append(f"{decision.coder} decided {kept.decision} here and "
                             f"{decision.decision} on coding {loser.id}")
    if conflicts:
        _flag(conn, survivor, f"{reason}; " + "; ".join(conflicts), run_id, now)


def _flag(conn: Connection, row, reason: str, run_id: int | None, now: str) -> bool:
    if row.needs_review:
        return False
    conn.execute(update(codings).where(codings.c.id == row.id).values(
        needs_review=1, review_reason=reason, updated_run=run_id, updated_at=now))
    record_event(conn, actor=ACTOR, kind="coding.needs_review", entity="codings",
                 entity_key=row.id, old={"needs_review": False},
                 new={"needs_review": True, "review_reason": reason}, reason=reason,
                 source="code", run_id=run_id)
    return True


def _flag_decided(conn: Connection, codebook: Codebook, codes: list[str], entry: dict,
                  run_id: int | None) -> int:
    rows = conn.execute(select(codings).where(codings.c.code.in_(codes),
                                              codings.c.merged_into.is_(None))
                        .order_by(codings.c.id)).all()
    decided = decided_ids(conn, [r.id for r in rows])
    reason = _reason(codebook, entry)
    if entry["kind"] == "split":
        reason += "; decide which of the new codes applies"
    now = utc_now()
    return sum(_flag(conn, row, reason, run_id, now) for row in rows
               if row.id in decided or row.coder)


def apply_changes(conn: Connection, codebook: Codebook, run_id: int | None
                  ) -> list[AppliedChange]:
    """Carry out every `changes` entry not yet applied to this store, oldest first.

    A code marked `retired: true` without a `retired` entry is treated as one.
    """
    done = applied_change_keys(conn, codebook.id)
    entries = ordered_changes(codebook.changes)
    listed = {code for e in entries if e.get("kind") == "retired" for code in change_from(e)}
    entries += [{"version": codebook.version, "kind": "retired", "codes": [code.id],
                 "note": "marked retired: true"}
                for code in codebook.codes if code.retired and code.id not in listed]
    applied = []
    for entry in entries:
        key = change_key(entry)
        if key in done:
            continue
        kind, sources, targets = entry["kind"], change_from(entry), change_to(entry)
        touched = folded = 0
        if kind in ("renamed", "merged"):
            for source in sources:
                if source != targets[0]:
                    moved, merged = _move(conn, codebook, source, targets[0], entry, run_id)
                    touched, folded = touched + moved + merged, folded + merged
        elif kind in ("split", "retired"):
            touched = _flag_decided(conn, codebook, sources, entry, run_id)
        record_change(conn, codebook.id, entry, touched, run_id)
        done.add(key)
        record_event(conn, actor=ACTOR, kind="codebook.change_applied",
                     entity="codebook_changes", entity_key=key[:16],
                     new={"version": str(entry.get("version")), "kind": kind,
                          "from": sources, "to": targets, "codings": touched,
                          "folded": folded},
                     reason=_reason(codebook, entry), source="code", run_id=run_id)
        applied.append(AppliedChange(str(entry.get("version")), kind, sources, targets,
                                     touched, folded))
    return applied
