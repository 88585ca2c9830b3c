"""`cityqda restore LOG`: replay the human record (`review log --format jsonl`) into a store.

The store is first rebuilt from the transcripts and the codebook (`cityqda run --no-import`),
so row ids differ from the logged ones: every event is matched by the stable identity it
carries (interview path, segment hash and order, code, evidence text, occurrence, coder; for
entities city and normalised name). Codes renamed or merged by later codebook versions are
translated. Events are replayed in log order inside one transaction: the replay succeeds as
a whole or leaves the store as it was.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from pipeline.coding.code_changes import code_kind
from pipeline.coding.decisions import add_manual_coding, set_decision
from pipeline.errors import CityQDAError, Problem
from pipeline.review import rows as R
from pipeline.review.importer import _set_memo
from pipeline.store import Store
from pipeline.store.schema import codings, decisions, interviews, segments

REPLAYED = ("coding.added", "decision.set", "memo.set", "entity_decision.set",
            "interview.override", "interview.retired", "interview.unretired")


@dataclass
class RestoreReport:
    replayed: Counter = field(default_factory=Counter)
    unchanged: int = 0
    skipped: Counter = field(default_factory=Counter)  # kinds that are not human work
    warnings: list[Problem] = field(default_factory=list)

    def lines(self) -> list[str]:
        done = ", ".join(f"{n} {kind}" for kind, n in sorted(self.replayed.items())) or \
            "nothing"
        lines = [f"restore: replayed {done}; {self.unchanged} already so"]
        if self.skipped:
            lines.append("not replayed (recomputed by `cityqda run`): " + ", ".join(
                f"{n} {kind}" for kind, n in sorted(self.skipped.items())))
        return lines


def read_log(path: Path) -> tuple[list[tuple[int, dict]], list[Problem]]:
    events, problems = [], []
    if not path.is_file():
        raise CityQDAError("CQ006", path=str(path))
    with open(path, "rb") as handle:  # decoded line by line, so a bad byte has a line
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                problems.append(Problem("CQ520", {"line": number, "problem": (
                    f"not UTF-8 text (byte {raw[exc.start]:#04x} at column {exc.start + 1})"
                )}, str(path), number))
                continue
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(Problem("CQ520", {"line": number, "problem": str(exc)},
                                        str(path), number))
                continue
            if not isinstance(event, dict) or not isinstance(event.get("kind"), str):
                problems.append(Problem("CQ520", {"line": number,
                                                  "problem": "not an event object with a kind"},
                                        str(path), number))
                continue
            events.append((number, event))
    return events, problems


class _Finder:
    """Rows of this store named by logged identities."""

    def __init__(self, conn, codebook):
        self.conn, self.codebook = conn, codebook
        self.translations = R.code_translations(codebook)
        self.coding_ids: dict[str, int] = {}  # logged coding id -> id here
        self.ended: set[int] = set()  # codings made again here for a split or retired code
        self.settings = None  # ingest settings, loaded for the first override replayed
        self._interviews = {row.path: row.id for row in conn.execute(
            select(interviews.c.path, interviews.c.id))}

    def code(self, code: str | None) -> str | None:
        if code is None:
            return None
        return R.translate_code(self.codebook, self.translations, code) or code

    def segment(self, identity: dict):
        interview_id = self._interviews.get(identity.get("interview_path"))
        if interview_id is None:
            return None
        rows = self.conn.execute(select(segments).where(
            segments.c.interview_id == interview_id, segments.c.status == "current",
            segments.c.sha256 == identity.get("segment_sha256"))).all()
        if not rows:
            rows = self.conn.execute(select(segments).where(
                segments.c.interview_id == interview_id, segments.c.status == "current",
                segments.c.ord == identity.get("segment_ord"))).all()
        if not rows:
            return None
        return next((r for r in rows if r.ord == identity.get("segment_ord")), rows[0])

    def coding(self, identity: dict, logged_id) -> int | None:
        if str(logged_id) in self.coding_ids:
            return self.coding_ids[str(logged_id)]
        seg = self.segment(identity)
        if seg is None:
            return None
        codes = sorted({identity.get("code"), self.code(identity.get("code"))} - {None})
        found = self.conn.execute(select(codings.c.id).where(
            codings.c.segment_id == seg.id, codings.c.code.in_(codes),
            codings.c.evidence_text == identity.get("evidence_text"),
            codings.c.occurrence == identity.get("occurrence"),
            codings.c.coder == (identity.get("coder") or ""),
            codings.c.merged_into.is_(None))).scalar()
        if found is not None:
            self.coding_ids[str(logged_id)] = found
        return found

    def memo_target(self, entity: str, identity: dict) -> int | None:
        if entity == "interviews":
            return self._interviews.get(identity.get("interview_path"))
        seg = self.segment(identity)
        return seg.id if seg is not None else None


def _ending_change(codebook, code: str) -> dict | None:
    """The split or retirement that ended `code` in this codebook, if one did."""
    from pipeline.codebook.changes import change_from, ordered_changes

    for entry in ordered_changes(codebook.changes):
        if entry.get("kind") in ("split", "retired") and code in change_from(entry):
            return entry
    if codebook.has_code(code) and codebook.code(code).retired:
        return {"version": codebook.version, "kind": "retired", "codes": [code],
                "note": "marked retired: true"}
    return None


def _ended_coding(conn, finder: _Finder, identity: dict, logged_id, run_id) -> int | None:
    """A suggestion whose code the codebook later split or retired: the rules of a rebuilt
    store no longer make it, but the decisions on it stand. It is made again as `code`
    left it in the logged store: no longer produced, flagged `needs_review`."""
    from pipeline.coding.anchor import instances
    from pipeline.coding.code_changes import _reason
    from pipeline.store import utc_now

    code = identity.get("code")
    if not code or identity.get("coder") or \
            R.translate_code(finder.codebook, finder.translations, code) is not None:
        return None
    entry = _ending_change(finder.codebook, code)
    seg = finder.segment(identity)
    evidence = identity.get("evidence_text") or ""
    if entry is None or seg is None or not evidence:
        return None
    places = instances(seg.text, evidence)
    if not places:
        return None
    occurrence = identity.get("occurrence") or 0
    at = seg.start + places[min(max(occurrence, 0), len(places) - 1)]
    reason = _reason(finder.codebook, entry)
    if entry["kind"] == "split":
        reason += "; decide which of the new codes applies"
    now = utc_now()
    coding_id = conn.execute(codings.insert().values(
        interview_id=seg.interview_id, segment_id=seg.id, code=code,
        dimension=identity.get("dimension"), kind=identity.get("kind") or "dimension",
        origin=identity.get("origin") or "rule:restored", rule_id=identity.get("rule_id"),
        coder="", codebook_version=identity.get("codebook_version"), evidence_text=evidence,
        occurrence=occurrence, start=at, end=at + len(evidence), version=seg.version,
        negated=int(bool(identity.get("negated"))),
        hypothetical=int(bool(identity.get("hypothetical"))),
        planned=int(bool(identity.get("planned"))), counts=int(bool(identity.get("counts"))),
        produced=0, rule_gone=1,
        needs_review=1, review_reason=reason, created_run=run_id, updated_run=run_id,
        created_at=now)).inserted_primary_key[0]
    finder.coding_ids[str(logged_id)] = coding_id
    finder.ended.add(coding_id)
    return coding_id


def _what(identity: dict) -> str:
    return (f"{identity.get('interview_path')} ¶{identity.get('segment_ord')} "
            f"{identity.get('code')} {identity.get('evidence_text')!r}")


def restore_log(study, store: Store, log: Path, *, force: bool = False,
                run_id: int | None = None) -> RestoreReport:
    """Replay a JSON Lines audit log into the study's store (see the module docstring)."""
    log = Path(log)
    events, problems = read_log(log)
    if problems:
        raise CityQDAError.from_problems(problems)
    if not events:
        raise CityQDAError("CQ527", path=str(log))
    flags_of = {str(e.get("entity_key")): e.get("new") or {} for _n, e in events
                if e["kind"] == "coding.flags"}
    report = RestoreReport()
    with store.write() as conn:
        count = conn.execute(select(func.count()).select_from(decisions)).scalar()
        if count and not force:
            raise CityQDAError("CQ522", count=count)
        finder = _Finder(conn, R.review_codebook(conn, study))
        for number, event in events:
            kind = event["kind"]
            if kind not in REPLAYED:
                if kind not in ("coding.flags", "review.imported"):
                    report.skipped[kind] += 1
                continue
            try:
                changed = _replay(conn, finder, study, event, number, flags_of, report,
                                  run_id)
            except CityQDAError as exc:
                problems.extend(Problem(p.code, p.fields, str(log), number, p.column,
                                        p.sheet) for p in exc.problems)
                continue
            if changed is None:
                continue
            if changed:
                report.replayed[kind] += 1
            else:
                report.unchanged += 1
        if problems:
            raise CityQDAError.from_problems(problems)
    return report


def _replay_interview(conn, finder: _Finder, study, event: dict, number: int) -> bool:
    """A metadata override, a retirement or its undoing, on the interview of that path."""
    from pipeline.ingest import interviews as by_hand
    from pipeline.ingest.ingest import load_settings

    interview_id = finder._interviews.get(event.get("interview_path"))
    if interview_id is None:
        raise CityQDAError("CQ521", line=number, what=f"interview {event.get('interview_path')}")
    row = conn.execute(select(interviews).where(interviews.c.id == interview_id)).one()
    actor, source = event.get("actor") or "", event.get("source") or "restore"
    kind, old, new = event["kind"], event.get("old") or {}, event.get("new") or {}
    if kind == "interview.override":
        if finder.settings is None:
            finder.settings, _problems = load_settings(study)
        field_name = new.get("field") or old.get("field")
        changed = by_hand.apply_override(conn, row, field_name, new.get("value"),
                                         finder.settings, actor=actor, source=source)
        return changed is not row
    wanted = "retired" if kind == "interview.retired" else "active"
    if row.status == wanted:
        return False
    if wanted == "retired":
        by_hand.mark_retired(conn, row, event.get("reason") or "restored", actor=actor,
                             source=source)
    else:
        by_hand.mark_active(conn, row, actor=actor, source=source)
    return True


def _replay(conn, finder: _Finder, study, event: dict, number: int, flags_of: dict,
            report: RestoreReport, run_id: int | None) -> bool | None:
    kind, new = event["kind"], event.get("new") or {}
    actor = event.get("actor") or ""
    source = event.get("source") or "restore"
    if kind.startswith("interview."):
        return _replay_interview(conn, finder, study, event, number)
    if kind == "coding.added":
        identity = new.get("coding") or {}
        if finder.coding(identity, event.get("entity_key")) is not None:
            return False
        seg = finder.segment(identity)
        code = finder.code(identity.get("code"))
        if seg is None or code is None:
            raise CityQDAError("CQ521", line=number, what=_what(identity))
        from pipeline.coding.anchor import instances

        places = instances(seg.text, identity.get("evidence_text") or "")
        occurrence = identity.get("occurrence") or 0
        if not places:
            raise CityQDAError("CQ521", line=number, what=_what(identity))
        at = places[min(max(occurrence, 0), len(places) - 1)]
        details = flags_of.get(str(event.get("entity_key")), {})
        flags = {flag: bool(details.get(flag)) for flag in R.FLAGS}
        coder = identity.get("coder") or actor
        new_id = add_manual_coding(
            conn, seg.id, code, coder, seg.start + at,
            seg.start + at + len(identity.get("evidence_text")), source=source,
            dimension=finder.codebook.dimension_of(code),
            kind=code_kind(finder.codebook, code) if finder.codebook.has_code(code)
            else "dimension", codebook_version=finder.codebook.version, run_id=run_id,
            **flags)
        finder.coding_ids[str(event.get("entity_key"))] = new_id
        return True
    if kind == "decision.set":
        identity = new.get("coding") or {}
        coding_id = finder.coding(identity, event.get("entity_key"))
        if coding_id is None:
            coding_id = _ended_coding(conn, finder, identity, event.get("entity_key"), run_id)
        if coding_id is None:
            raise CityQDAError("CQ521", line=number, what=_what(identity))
        linked = new.get("linked_coding_id")
        if linked is not None:
            linked = finder.coding_ids.get(str(linked))
        flags = new.get("corrected_flags")
        return set_decision(conn, coding_id, actor, new["decision"], new.get("comment"),
                            source=source, role=new.get("role") or "coder",
                            corrected_code=finder.code(new.get("corrected_code")),
                            corrected_flags=flags if isinstance(flags, dict) else None,
                            linked_coding_id=linked, run_id=run_id,
                            resolves_review=coding_id not in finder.ended
                            or bool(new.get("review_cleared")))
    if kind == "memo.set":
        entity = event.get("entity")
        target = finder.memo_target(entity, new.get("identity") or {})
        if target is None:
            raise CityQDAError("CQ521", line=number, what=json.dumps(
                new.get("identity"), ensure_ascii=False))
        return _set_memo(conn, entity, target, new.get("coder") or actor, new.get("text"),
                         source=source, run_id=run_id)
    if kind == "entity_decision.set":
        try:
            from pipeline.review import entity_decisions
        except ImportError:
            report.warnings.append(Problem("CQ534", {
                "line": number, "problem": "this cityqda has no entity review "
                                           "(pipeline.review.entity_decisions)"}))
            return None
        replay = getattr(entity_decisions, "replay_entity_decision", None)
        if replay is not None:
            return replay(conn, new, actor=actor, source=source, run_id=run_id)
        entity_id = entity_decisions.find_entity(conn, new.get("entity") or event["entity"],
                                                 new.get("identity") or {})
        if entity_id is None:
            raise CityQDAError("CQ521", line=number,
                               what=json.dumps(new.get("identity"), ensure_ascii=False))
        return entity_decisions.set_entity_decision(
            conn, event["entity"], entity_id, actor, new["decision"],
            role=new.get("role") or "coder", fields=new.get("fields"),
            comment=new.get("comment"), source=source, run_id=run_id)
    return None
