"""Writing one interview's codings: new suggestions matched to stored ones by identity.

A suggestion's identity is (segment, code, evidence text, occurrence), where occurrence is
which instance of the evidence text in the segment's current text it sits on (from 0). A
stored coding is first placed in the segment's current text (`anchor`): unchanged text
keeps its place, edited text is followed through the edit, and evidence found nowhere is
gone. A new suggestion with the identity of a placed coding *is* that coding: it is updated
in place and keeps its id, so its decisions stay, whatever rule produced it.

Stored rule codings the rules no longer produce are kept with `produced = 0`: undecided
ones are then `superseded`; decided ones are flagged `rule_gone` and stay accepted (or
rejected). A decided or manual coding whose evidence is gone keeps its old offsets (they
point into the interview version it was last found in) and is flagged `needs_review`; its
occurrence becomes the negative of its id, so it can never collide with a live identity.
"""

from __future__ import annotations

import json
import operator
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, delete, select, update
from sqlalchemy.engine import Connection

from pipeline.codebook.model import Codebook
from pipeline.coding.anchor import anchor_group, instances, occurrence_of, position_map
from pipeline.coding.bulk import insert_rows, update_rows
from pipeline.coding.decisions import decided_ids
from pipeline.coding.entities import EntityWriter
from pipeline.store import record_event
from pipeline.store.schema import (
    codings,
    interview_versions,
    interviews,
    segment_coding,
    segments,
)

ACTOR = "cityqda"
FLAGS = ("negated", "hypothetical", "planned")
KNOWN_KEYS = frozenset({
    "code", "dimension", "start", "end", "text", "rule", "negated", "hypothetical",
    "planned", "kind", "counts", "problem", "codebook_version", "sentence", "sentence_start",
    "sentence_end", "cues", "reassigned_from", "reassigned_by", "reason"})
# Columns a re-code or a re-anchoring may change (identity columns segment/code/coder and
# evidence text never change here).
MUTABLE = ("dimension", "kind", "origin", "rule_id", "codebook_version", "occurrence",
           "start", "end", "version", "sentence", "sentence_start", "sentence_end",
           "negated", "hypothetical", "planned", "counts", "problem", "reassigned_from",
           "reassigned_by", "context", "produced", "rule_gone", "needs_review",
           "review_reason")


# Statements run for every interview, built once (building and keying a statement costs
# more than running it on SQLite).
SEGMENTS_BY_ID = select(segments).where(segments.c.id.in_(bindparam("ids", expanding=True)))
INTERVIEW_METADATA = select(interviews.c.metadata).where(interviews.c.id == bindparam("id"))
CODINGS_OF_SEGMENTS = (select(codings)
                       .where(codings.c.segment_id.in_(bindparam("ids", expanding=True)),
                              codings.c.merged_into.is_(None))
                       .order_by(codings.c.id))
DELETE_STATES = delete(segment_coding).where(
    segment_coding.c.segment_id.in_(bindparam("ids", expanding=True)))


@dataclass
class SegmentWork:
    """A current segment that needs coding (`tag` True) or only moved in its transcript."""

    segment_id: int
    sha256: str
    start: int
    end: int
    version: int
    tag: bool
    state: object | None = None  # its segment_coding row, if coded before
    refresh: bool = False  # the new codebook cannot change its codings: not coded again
    outputs: list[dict] | None = None  # tagger codes (offsets relative to the segment)
    result: dict | None = None  # the whole tagger result (entities)


@dataclass
class Tally:
    segments_coded: int = 0
    segments_moved: int = 0
    segments_refreshed: int = 0  # the rules changed, but not where they match here
    segments_skipped: int = 0
    codings_new: int = 0
    codings_updated: int = 0
    codings_stopped: int = 0  # no longer produced
    codings_back: int = 0  # produced again
    rule_gone: int = 0
    needs_review: int = 0
    reanchored: int = 0  # decided or manual codings followed into edited text
    text_gone: int = 0

    def add(self, other: Tally) -> None:
        for name, value in vars(other).items():
            if isinstance(value, int):
                setattr(self, name, getattr(self, name) + value)

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in vars(self).items() if isinstance(v, int)}


@dataclass
class CodingContext:
    codebook: Codebook
    fingerprint: str
    run_id: int | None
    now: str
    registry_cities: dict[str, str] | None = None  # registry actor id -> its city ('' none)

_MUTABLE_GETTERS: dict[tuple[str, ...], operator.itemgetter] = {}


def mutable_values(row) -> dict:
    """The MUTABLE columns of a store row, by name. Reading a Row's attribute looks its
    name up each time (a few µs, 24 of them per coding); a row is a tuple, so the
    positions are found once per query shape and read in one step."""
    fields = row._fields
    getter = _MUTABLE_GETTERS.get(fields)
    if getter is None:
        getter = _MUTABLE_GETTERS[fields] = operator.itemgetter(
            *(fields.index(name) for name in MUTABLE))
    return dict(zip(MUTABLE, getter(row), strict=True))


def usable(codebook: Codebook, output: dict) -> bool:
    """A tagger code the store keeps: a known, active code."""
    code = output.get("code")
    return bool(code) and codebook.has_code(code) and not codebook.code(code).retired


def output_values(output: dict, text: str, seg_start: int, version: int,
                  codebook_version: str) -> dict:
    """Store columns of one tagger code (its offsets relative to the segment `text`)."""
    start, end = output["start"], output["end"]
    evidence = output.get("text", text[start:end])
    if text[start:end] != evidence:
        raise ValueError(f"tagger offsets {start}-{end} do not hold {evidence!r}")
    context: dict = {}
    cues = [{"type": cue.get("type"), "cue": cue.get("cue"), "text": cue.get("text"),
             "offset": cue["start"] - start} for cue in output.get("cues") or []
            if "start" in cue]
    if cues:
        context["cues"] = cues
    if output.get("reason"):
        context["reason"] = output["reason"]
    extra = {k: v for k, v in output.items() if k not in KNOWN_KEYS and v not in (None, [], {})}
    if extra:
        context["extra"] = extra
    sentence_start = output.get("sentence_start")
    sentence_end = output.get("sentence_end")
    rule = output.get("rule") or ""
    return {
        "code": output["code"], "dimension": output.get("dimension"),
        "kind": output.get("kind") or "dimension", "origin": f"rule:{rule}",
        "rule_id": rule or None, "coder": "",
        "codebook_version": output.get("codebook_version") or codebook_version,
        "evidence_text": evidence, "start": seg_start + start, "end": seg_start + end,
        "version": version, "sentence": output.get("sentence"),
        "sentence_start": None if sentence_start is None else seg_start + sentence_start,
        "sentence_end": None if sentence_end is None else seg_start + sentence_end,
        "negated": int(bool(output.get("negated"))),
        "hypothetical": int(bool(output.get("hypothetical"))),
        "planned": int(bool(output.get("planned"))),
        "counts": int(bool(output.get("counts"))), "problem": int(bool(output.get("problem"))),
        "reassigned_from": output.get("reassigned_from"),
        "reassigned_by": output.get("reassigned_by"),
        "context": json.dumps(context, sort_keys=True, ensure_ascii=False) if context else None,
    }


def _sentence_place(text: str, sentence: str | None, start: int, end: int
                    ) -> tuple[int, int] | None:
    """Where `sentence` holding [start, end) sits in `text` (relative), if it still does."""
    if not sentence:
        return None
    for place in instances(text, sentence):
        if place <= start and end <= place + len(sentence):
            return place, place + len(sentence)
    return None


class InterviewWriter:
    """Reconciles and writes the work of one interview inside one transaction."""

    def __init__(self, conn: Connection, interview_id: int, ctx: CodingContext):
        self.conn = conn
        self.interview_id = interview_id
        self.ctx = ctx
        self.tally = Tally()
        self.updates: list[dict] = []
        self.renumber: list[int] = []
        self.inserts: list[dict] = []
        self.states: list[dict] = []
        self.refreshed: list[int] = []

    # --- reading ------------------------------------------------------------------------

    def _current(self, ids: list[int]) -> dict[int, object]:
        rows = self.conn.execute(SEGMENTS_BY_ID, {"ids": ids}).all()
        return {r.id: r for r in rows}

    def _city(self) -> str | None:
        raw = self.conn.execute(INTERVIEW_METADATA, {"id": self.interview_id}).scalar()
        value = (json.loads(raw or "{}").get("city") or {}).get("value")
        return str(value) if value else None

    def _old_texts(self, versions: set[int]) -> dict[int, str | None]:
        if not versions:
            return {}
        rows = self.conn.execute(select(interview_versions.c.version,
                                        interview_versions.c.plain_text)
                                 .where(interview_versions.c.interview_id == self.interview_id,
                                        interview_versions.c.version.in_(sorted(versions))))
        return dict(rows.all())

    # --- the work -----------------------------------------------------------------------

    def write(self, work: list[SegmentWork]) -> Tally:
        current = self._current([w.segment_id for w in work])
        ready = []
        for item in work:
            seg = current.get(item.segment_id)
            if seg is None or seg.status != "current" or seg.sha256 != item.sha256 \
                    or seg.start != item.start or seg.version != item.version:
                self.tally.segments_skipped += 1  # changed since it was read
                continue
            ready.append((item, seg))
        if not ready:
            return self.tally
        ids = [seg.id for _item, seg in ready]
        rows = self.conn.execute(CODINGS_OF_SEGMENTS, {"ids": ids}).all()
        by_segment: dict[int, list] = defaultdict(list)
        for row in rows:
            by_segment[row.segment_id].append(row)
        self.decided = decided_ids(self.conn, [r.id for r in rows])
        old_texts = self._old_texts({item.state.version for item, seg in ready
                                     if item.state is not None
                                     and item.state.sha256 != seg.sha256})
        self.entities = EntityWriter(self.conn, self._city(), self.ctx.run_id,
                                     self.ctx.registry_cities)
        for item, seg in ready:
            old_text = None
            if item.state is not None and item.state.sha256 != seg.sha256:
                plain = old_texts.get(item.state.version)
                if plain is not None:
                    old_text = plain[item.state.start:item.state.end]
            self._segment(item, seg, by_segment.get(seg.id, []), old_text)
        self._flush(ids)
        return self.tally

    def _segment(self, item: SegmentWork, seg, rows: list, old_text: str | None) -> None:
        state = item.state
        text_changed = state is not None and state.sha256 != seg.sha256
        mapping = position_map(old_text, seg.text) if text_changed and old_text is not None \
            else None
        groups: dict[tuple, list] = defaultdict(list)
        for row in rows:
            groups[(row.code, row.evidence_text, row.coder)].append(row)
        place: dict[int, int | None] = {}
        for (_code, evidence, _coder), members in groups.items():
            hints = [self._hint(row, seg, state, text_changed, mapping) for row in members]
            place.update(anchor_group(seg.text, evidence, hints))

        produced: dict[tuple, dict] = {}
        if item.outputs is not None:
            for output in item.outputs:
                values = output_values(output, seg.text, seg.start, seg.version,
                                       self.ctx.codebook.version)
                occurrence = occurrence_of(seg.text, values["evidence_text"], output["start"])
                key = (values["code"], values["evidence_text"], occurrence)
                produced.setdefault(key, dict(values, occurrence=occurrence))
        claimed: set[tuple] = set()
        for row in rows:
            self._row(row, seg, place.get(row.id), produced, claimed, text_changed,
                      item.outputs is not None)
        for key, values in produced.items():
            if key in claimed:
                continue
            self.inserts.append(dict(values, interview_id=self.interview_id,
                                     segment_id=seg.id, produced=1,
                                     created_run=self.ctx.run_id,
                                     updated_run=self.ctx.run_id,
                                     created_at=self.ctx.now, updated_at=self.ctx.now))
            self.tally.codings_new += 1
        moved = state is not None and (state.start, state.version) != (seg.start, seg.version)
        if item.tag:
            self.tally.segments_coded += 1
            if item.result is not None:
                self.entities.recoded(seg, item.result)
        else:
            if item.refresh:
                self.tally.segments_refreshed += 1
                self.refreshed.append(seg.id)
            if moved:
                self.tally.segments_moved += 1
                self.entities.moved(seg, state)
        current = item.tag or item.refresh or state is None
        fingerprint = self.ctx.fingerprint if current else state.fingerprint
        codebook_version = self.ctx.codebook.version if current else state.codebook_version
        self.states.append({"segment_id": seg.id, "sha256": seg.sha256, "start": seg.start,
                            "end": seg.end, "version": seg.version,
                            "fingerprint": fingerprint, "codebook_version": codebook_version,
                            "run_id": self.ctx.run_id, "coded_at": self.ctx.now})

    @staticmethod
    def _hint(row, seg, state, text_changed: bool, mapping) -> tuple[int, int | None, bool]:
        """(row id, expected start in the new text, sure) for `anchor_group`."""
        in_sync_version = state.version if state is not None else seg.version
        in_sync_start = state.start if state is not None else seg.start
        if row.version != in_sync_version or row.occurrence < 0:
            return row.id, None, False  # left behind by an earlier edit
        relative = row.start - in_sync_start
        if not text_changed:
            return row.id, relative, True
        if mapping is None:
            return row.id, relative, False
        expected = mapping(relative)
        sure = seg.text[expected:expected + len(row.evidence_text)] == row.evidence_text
        return row.id, expected, sure

    def _row(self, row, seg, anchored: int | None, produced: dict, claimed: set,
             text_changed: bool, recoded: bool) -> None:
        current = mutable_values(row)
        final = dict(current)
        decided = row.id in self.decided or bool(row.coder)
        if anchored is not None:
            occurrence = occurrence_of(seg.text, row.evidence_text, anchored)
            key = (row.code, row.evidence_text, occurrence)
            if recoded and not row.coder and key in produced and key not in claimed:
                claimed.add(key)
                values = produced[key]
                final.update({k: values[k] for k in MUTABLE if k in values})
                final.update(produced=1, rule_gone=0)
                if not row.produced:
                    self.tally.codings_back += 1
                    if decided:
                        self._event(row, "coding.rule_back", {"produced": False},
                                    {"produced": True, "rule_id": values["rule_id"]})
                changed_flags = [f for f in FLAGS if current[f] != values[f]]
                if decided and changed_flags and row.produced:
                    self._needs_review(final, row, "context flags changed by the rules: "
                                       + ", ".join(f"{f} {bool(current[f])} -> "
                                                   f"{bool(values[f])}" for f in changed_flags))
            else:
                new_start = seg.start + anchored
                final.update(occurrence=occurrence, start=new_start,
                             end=new_start + len(row.evidence_text), version=seg.version)
                sentence = _sentence_place(seg.text, row.sentence, anchored,
                                           anchored + len(row.evidence_text))
                if sentence is None:
                    final.update(sentence_start=None, sentence_end=None)
                else:
                    final.update(sentence_start=seg.start + sentence[0],
                                 sentence_end=seg.start + sentence[1])
                if recoded and not row.coder:
                    self._stop(final, row, decided)
            if text_changed and decided and (final["start"], final["version"]) != \
                    (row.start, row.version):
                self.tally.reanchored += 1
                self._event(row, "coding.reanchored",
                            {"start": row.start, "end": row.end, "version": row.version},
                            {"start": final["start"], "end": final["end"],
                             "version": final["version"]})
        else:
            if row.occurrence >= 0:
                self.tally.text_gone += 1
                final["occurrence"] = -row.id
                if decided:
                    self._needs_review(final, row, "evidence text no longer in the segment "
                                       f"(interview version {seg.version})")
            if recoded and not row.coder:
                self._stop(final, row, decided)
        if any(final[name] != current[name] for name in MUTABLE):
            if final["occurrence"] != row.occurrence:
                self.renumber.append(row.id)
            self.updates.append(dict(final, _id=row.id, updated_run=self.ctx.run_id,
                                     updated_at=self.ctx.now))
            self.tally.codings_updated += 1

    def _stop(self, final: dict, row, decided: bool) -> None:
        """The rules no longer produce this rule coding."""
        if not row.produced:
            return
        final["produced"] = 0
        self.tally.codings_stopped += 1
        if decided and not row.rule_gone:
            final["rule_gone"] = 1
            self.tally.rule_gone += 1
            self._event(row, "coding.rule_gone", {"produced": True},
                        {"produced": False, "rule_gone": True})

    def _needs_review(self, final: dict, row, reason: str) -> None:
        if row.needs_review or final["needs_review"]:
            return
        final.update(needs_review=1, review_reason=reason)
        self.tally.needs_review += 1
        self._event(row, "coding.needs_review", {"needs_review": False},
                    {"needs_review": True, "review_reason": reason}, reason=reason)

    def _event(self, row, kind: str, old: dict, new: dict, reason: str | None = None) -> None:
        record_event(self.conn, actor=ACTOR, kind=kind, entity="codings", entity_key=row.id,
                     old=old, new=new, reason=reason, source="code", run_id=self.ctx.run_id)

    # --- writing ------------------------------------------------------------------------

    def _flush(self, segment_ids: list[int]) -> None:
        conn = self.conn
        if self.renumber:  # free the identities first: no transient unique collisions
            conn.execute(update(codings).where(codings.c.id == bindparam("_id"))
                         .values(occurrence=-bindparam("_id")),
                         [{"_id": i} for i in self.renumber])
        update_rows(conn, codings, self.updates)
        insert_rows(conn, codings, self.inserts)
        self.entities.flush()
        version = self.ctx.codebook.version
        for start in range(0, len(self.refreshed), 500):
            conn.execute(update(codings).where(
                codings.c.segment_id.in_(self.refreshed[start:start + 500]),
                codings.c.coder == "", codings.c.produced == 1,
                codings.c.codebook_version != version).values(
                codebook_version=version, updated_run=self.ctx.run_id,
                updated_at=self.ctx.now))
        conn.execute(DELETE_STATES, {"ids": segment_ids})
        insert_rows(conn, segment_coding, self.states)


def refresh_states(conn: Connection, segment_ids: list[int], old_fingerprint: str,
                   ctx: CodingContext) -> int:
    """Move segments the new codebook cannot change to its fingerprint, set-wise.

    Only segments still exactly as they were coded (text, place, old fingerprint) move;
    their produced rule codings take the new codebook version. Returns how many moved.
    """
    moved = 0
    version = ctx.codebook.version
    for start in range(0, len(segment_ids), 500):
        chunk = segment_ids[start:start + 500]
        current = select(segments.c.id).where(
            segments.c.id.in_(chunk), segments.c.status == "current",
            segments.c.id == segment_coding.c.segment_id,
            segments.c.sha256 == segment_coding.c.sha256,
            segments.c.start == segment_coding.c.start,
            segments.c.version == segment_coding.c.version)
        result = conn.execute(update(segment_coding).where(
            segment_coding.c.segment_id.in_(chunk),
            segment_coding.c.fingerprint == old_fingerprint,
            current.exists()).values(
            fingerprint=ctx.fingerprint, codebook_version=version, run_id=ctx.run_id,
            coded_at=ctx.now))
        moved += result.rowcount
        conn.execute(update(codings).where(
            codings.c.segment_id.in_(select(segment_coding.c.segment_id).where(
                segment_coding.c.segment_id.in_(chunk),
                segment_coding.c.fingerprint == ctx.fingerprint)),
            codings.c.coder == "", codings.c.produced == 1,
            codings.c.codebook_version != version).values(
            codebook_version=version, updated_run=ctx.run_id, updated_at=ctx.now))
    return moved


def orphaned_condition():
    """Codings whose segment left the transcript (retired segments)."""
    return and_(segments.c.id == codings.c.segment_id, segments.c.status == "retired",
                codings.c.merged_into.is_(None))
