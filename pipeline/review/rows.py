"""What the review sheets show: scope, row values and their read-only hashes.

The export writes these rows and the import rebuilds the same values from the store to say
which read-only column a coder edited, so both go through the functions here.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict, namedtuple
from dataclasses import dataclass, field
from itertools import combinations, product
from pathlib import PurePosixPath

from sqlalchemy import select
from sqlalchemy.engine import Connection

from pipeline.coding.decisions import derive_status
from pipeline.errors import CityQDAError
from pipeline.store.schema import codings, decisions, interviews, memos, segments

CODINGS_SHEET = "Codings"
SEGMENTS_SHEET = "Segments"
INTERVIEWS_SHEET = "Interviews"
CODEBOOK_SHEET = "Codebook"
INSTRUCTIONS_SHEET = "Instructions"

CODING_COLUMNS = ["row_id", "segment", "city", "category", "section", "question", "text",
                  "previous", "next", "code", "dimension", "rule", "flags", "decision",
                  "corrected_code", "corrected_flags", "comment"]
CODER_COLUMNS = ["decision", "corrected_code", "corrected_flags", "comment"]
SEGMENT_COLUMNS = ["row_id", "segment", "city", "category", "section", "question", "text",
                   "add_code", "add_evidence", "add_flags", "comment"]
SEGMENT_CODER_COLUMNS = ["add_code", "add_evidence", "add_flags", "comment"]
INTERVIEW_COLUMNS = ["row_id", "interview", "city", "category", "organisation", "guide",
                     "segments", "memo"]
INTERVIEW_CODER_COLUMNS = ["memo"]

FLAGS = ("negated", "hypothetical", "planned")
NO_FLAGS = "none"
FLAG_CHOICES = [NO_FLAGS] + [", ".join(combo) for size in (1, 2, 3)
                             for combo in combinations(FLAGS, size)]


def adjudication_columns(other_coders: list[str]) -> list[str]:
    """Codings columns of an adjudication workbook: each coder's decision and comment
    (read-only) before the adjudicator's own columns."""
    extra = [f"{coder}: {what}" for coder in other_coders for what in ("decision", "comment")]
    at = CODING_COLUMNS.index("decision")
    return CODING_COLUMNS[:at] + extra + CODING_COLUMNS[at:]


def read_only(columns: list[str], coder_columns: list[str]) -> list[str]:
    return [c for c in columns if c not in coder_columns]


@dataclass
class ReviewFilters:
    """Which part of the study a workbook covers (empty = everything)."""

    cities: tuple[str, ...] = ()
    rounds: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()  # code or dimension ids; a code covers its subcodes
    statuses: tuple[str, ...] = ()  # derived status of the coding

    def as_dict(self) -> dict:
        return {k: list(v) for k, v in self.__dict__.items() if v}


@dataclass
class SegmentInfo:
    id: int
    interview_id: int
    ord: int
    ref: str
    city: str
    category: str
    section: str
    question: str
    text: str
    start: int
    version: int
    previous: str = ""
    next: str = ""


@dataclass
class Scope:
    segments: dict[int, SegmentInfo] = field(default_factory=dict)
    interviews: dict[int, dict] = field(default_factory=dict)
    coding_ids: list[int] = field(default_factory=list)  # in document order


def interview_label(path: str) -> str:
    return PurePosixPath(path).stem


def _meta_value(metadata: dict, name: str) -> str:
    entry = metadata.get(name) or {}
    value = entry.get("value") if isinstance(entry, dict) else entry
    return "" if value is None else str(value)


def load_interviews(conn: Connection) -> dict[int, dict]:
    found = {}
    for row in conn.execute(select(interviews.c.id, interviews.c.path, interviews.c.file,
                                   interviews.c.metadata)
                            .where(interviews.c.status == "active")):
        metadata = json.loads(row.metadata) if row.metadata else {}
        found[row.id] = {"id": row.id, "path": row.path, "file": row.file,
                         "label": interview_label(row.path),
                         "city": _meta_value(metadata, "city"),
                         "category": _meta_value(metadata, "stakeholder_category"),
                         "organisation": _meta_value(metadata, "organisation"),
                         "guide": _meta_value(metadata, "interview_guide")}
    return found


def _study_register(study):
    """The register as ingest matches it (rows naming a transcript by path, shared names),
    or None when it cannot be read."""
    from pipeline.ingest.register import read_register, transcript_paths

    register, _problems = read_register(study.path("register"), study.vocabularies)
    if register is not None:
        register.note_transcripts(transcript_paths(study.path("transcripts")))
    return register


def _known(option: str, values, known) -> None:
    known = sorted({k for k in known if k})
    for value in values:
        if value not in known:
            raise CityQDAError("CQ523", option=option, value=value,
                               known=", ".join(known) or "(none)")


_SegmentRow = namedtuple("_SegmentRow", "id interview_id ord section question text start "
                                        "version")


def select_segments(conn: Connection, study, filters: ReviewFilters, sample: int | None,
                    seed: int) -> tuple[dict[int, SegmentInfo], dict[int, dict]]:
    """Current segments of active interviews matching the interview filters, sampled."""
    people = load_interviews(conn)
    _known("--city", filters.cities, [p["city"] for p in people.values()])
    _known("--category", filters.categories, [p["category"] for p in people.values()])
    wanted = {}
    register = _study_register(study) if filters.rounds else None
    if filters.rounds:
        _known("--round", filters.rounds, [str(row.round) for row in
                                           (register.rows if register is not None else [])
                                           if row.transcript_file])
    for interview_id, person in people.items():
        if filters.cities and person["city"] not in filters.cities:
            continue
        if filters.categories and person["category"] not in filters.categories:
            continue
        if filters.rounds:
            row = register.row_for_file(person["file"], person["path"]) if register else None
            if row is None or str(row.round) not in filters.rounds:
                continue
        wanted[interview_id] = person
    # through the driver: 50,000 SQLAlchemy result rows cost about a second
    rows = [_SegmentRow._make(row) for row in conn.connection.driver_connection.execute(
        "SELECT id, interview_id, ord, section, question, text, start, version "
        "FROM segments WHERE status = 'current' ORDER BY interview_id, ord")]
    by_interview: dict[int, list] = defaultdict(list)
    for row in rows:
        if row.interview_id in people:
            by_interview[row.interview_id].append(row)
    infos: dict[int, SegmentInfo] = {}
    for interview_id, seg_rows in by_interview.items():
        if interview_id not in wanted:
            continue
        person = people[interview_id]
        for index, row in enumerate(seg_rows):
            infos[row.id] = SegmentInfo(
                id=row.id, interview_id=interview_id, ord=row.ord,
                ref=f"{person['label']} ¶{row.ord}", city=person["city"],
                category=person["category"], section=row.section or "",
                question=row.question or "", text=row.text, start=row.start,
                version=row.version,
                previous=seg_rows[index - 1].text if index > 0 else "",
                next=seg_rows[index + 1].text if index + 1 < len(seg_rows) else "")
    if sample is not None and sample < len(infos):
        chosen = set(random.Random(seed).sample(sorted(infos), sample))
        infos = {k: v for k, v in infos.items() if k in chosen}
    used = {info.interview_id for info in infos.values()}
    return infos, {k: v for k, v in wanted.items() if k in used}


def code_family(codebook, code_ids) -> set[str]:
    """The codes named and every code below them. Codes the codebook's `changes` ended
    (split, retired, renamed, merged) may be named too, and count below their old parent:
    their decided codings wait for review under the old id."""
    from pipeline.codebook.changes import ended_codes

    ended = {code for entry in codebook.changes or [] if isinstance(entry, dict)
             for code in ended_codes(entry)}
    found = set()
    for code_id in code_ids:
        if not codebook.has_code(code_id) and code_id not in ended:
            _known("--code", [code_id], [c.id for c in codebook.codes] + sorted(ended))
        stack = [code_id]
        while stack:
            current = stack.pop()
            found.add(current)
            if codebook.has_code(current):
                stack.extend(child.id for child in codebook.children(current))
            stack.extend(code for code in ended
                         if code.rsplit(".", 1)[0] == current and code not in found)
    return found


# Above this many ids a query reads the whole table once and filters in Python: thousands
# of IN (...) chunks cost more than one scan.
SCAN_ABOVE = 5000


def decisions_by_coding(conn: Connection, coding_ids) -> dict[int, list]:
    ids = sorted(set(coding_ids))
    found: dict[int, list] = defaultdict(list)
    if len(ids) > SCAN_ABOVE:
        wanted = set(ids)
        for row in conn.execute(select(decisions).order_by(decisions.c.time, decisions.c.id)):
            if row.coding_id in wanted:
                found[row.coding_id].append(row)
        return found
    for start in range(0, len(ids), 900):
        chunk = ids[start:start + 900]
        for row in conn.execute(select(decisions).where(decisions.c.coding_id.in_(chunk))
                                .order_by(decisions.c.time, decisions.c.id)):
            found[row.coding_id].append(row)
    return found


# every column but the sentence and context texts, which no sheet shows
_CODING_COLUMNS = [c.name for c in codings.c if c.name not in ("sentence", "context")]
_CodingRow = namedtuple("_CodingRow", _CODING_COLUMNS)
_CODING_SELECT = ("SELECT " + ", ".join(f'"{c}"' for c in _CODING_COLUMNS) +
                  " FROM codings WHERE merged_into IS NULL")


def coding_rows(conn: Connection, segment_ids) -> list:
    """Live codings (not folded by a merge) of the given segments, in document order.

    Read through the driver as named tuples (100,000 SQLAlchemy result rows cost
    seconds); repeated texts (codes, origins, versions) are shared between rows."""
    ids = sorted(segment_ids)
    raw = conn.connection.driver_connection
    pool: dict = {}

    def light(row) -> _CodingRow:
        return _CodingRow._make([pool.setdefault(v, v) if type(v) is str else v
                                 for v in row])
    if len(ids) > SCAN_ABOVE:
        wanted = set(ids)
        return [light(row) for row in raw.execute(_CODING_SELECT)
                if row[_SEGMENT_AT] in wanted]
    rows = []
    for start in range(0, len(ids), 900):
        chunk = ids[start:start + 900]
        rows.extend(light(row) for row in raw.execute(
            f"{_CODING_SELECT} AND segment_id IN ({', '.join('?' for _ in chunk)})", chunk))
    return rows


_SEGMENT_AT = _CODING_COLUMNS.index("segment_id")


def evidence_span(coding, info: SegmentInfo) -> tuple[int, int] | None:
    """Offsets of a coding's evidence inside its segment's current text."""
    if coding.version == info.version:
        start, end = coding.start - info.start, coding.end - info.start
        if 0 <= start < end <= len(info.text) and \
                info.text[start:end] == coding.evidence_text:
            return start, end
    from pipeline.coding.anchor import instances

    found = instances(info.text, coding.evidence_text)
    if not found:
        return None
    at = found[min(coding.occurrence, len(found) - 1)] if coding.occurrence >= 0 else found[0]
    return at, at + len(coding.evidence_text)


def flags_text(values: dict) -> str:
    return ", ".join(flag for flag in FLAGS if values.get(flag))


def coding_flags(coding) -> dict:
    return {flag: bool(getattr(coding, flag)) for flag in FLAGS}


# flags_text of each combination of (negated, hypothetical, planned): one lookup per row
_FLAG_TEXTS = {combo: flags_text(dict(zip(FLAGS, combo, strict=True)))
               for combo in product((False, True), repeat=len(FLAGS))}


def coding_values(coding, info: SegmentInfo, other: dict[str, dict] | None = None,
                  other_coders: list[str] = ()) -> dict:
    """Read-only cells of a Codings row, by column."""
    rule = coding.rule_id or coding.origin
    if coding.reassigned_from:
        rule += f" (reassigned from {coding.reassigned_from} by {coding.reassigned_by})"
    flags = _FLAG_TEXTS[bool(coding.negated), bool(coding.hypothetical),
                        bool(coding.planned)]
    notes = [flags] if flags else []
    if coding.needs_review:
        notes.append(f"needs review: {coding.review_reason or 'see the log'}")
    if coding.rule_gone:
        notes.append("rule no longer finds it")
    if not coding.produced and not coding.coder:
        notes.append("superseded")
    values = {"row_id": f"C{coding.id}", "segment": info.ref, "city": info.city,
              "category": info.category, "section": info.section,
              "question": info.question, "text": info.text, "previous": info.previous,
              "next": info.next, "code": coding.code, "dimension": coding.dimension or "",
              "rule": rule, "flags": "; ".join(notes)}
    for coder in other_coders:
        decided = (other or {}).get(coder) or {}
        values[f"{coder}: decision"] = _decision_label(decided)
        values[f"{coder}: comment"] = decided.get("comment") or ""
    return values


def _decision_label(decided: dict) -> str:
    if not decided:
        return ""
    label = decided.get("decision") or ""
    if label == "change":
        parts = [decided.get("corrected_code") or ""]
        flags = decided.get("corrected_flags")
        if flags is not None:
            parts.append(f"flags: {flags_text(flags) or NO_FLAGS}")
        label += " to " + "; ".join(p for p in parts if p)
    return label


def decision_state(row) -> dict | None:
    """A coder's decision as pre-filled in a workbook (None when undecided)."""
    if row is None:
        return None
    flags = json.loads(row.corrected_flags) if row.corrected_flags else None
    return {"decision": row.decision, "corrected_code": row.corrected_code,
            "corrected_flags": flags, "comment": row.comment, "role": row.role,
            "linked_coding_id": row.linked_coding_id, "time": row.time}


def coder_cells(state: dict | None) -> dict:
    """The coder columns as pre-filled from a decision state."""
    if not state:
        return {"decision": "", "corrected_code": "", "corrected_flags": "", "comment": ""}
    flags = state.get("corrected_flags")
    return {"decision": state.get("decision") or "",
            "corrected_code": state.get("corrected_code") or "",
            "corrected_flags": "" if flags is None else (flags_text(flags) or NO_FLAGS),
            "comment": state.get("comment") or ""}


def segment_values(info: SegmentInfo) -> dict:
    return {"row_id": f"S{info.id}", "segment": info.ref, "city": info.city,
            "category": info.category, "section": info.section, "question": info.question,
            "text": info.text}


def interview_values(person: dict, segment_count: int) -> dict:
    return {"row_id": f"I{person['id']}", "interview": person["label"],
            "city": person["city"], "category": person["category"],
            "organisation": person["organisation"], "guide": person["guide"],
            "segments": segment_count}


def memos_of(conn: Connection, entity: str, coder: str) -> dict[int, str]:
    """A coder's memos on one kind of row: entity id -> text."""
    return dict(conn.execute(select(memos.c.entity_id, memos.c.text).where(
        memos.c.entity == entity, memos.c.coder == coder)).all())


def status_of(coding, decided: list) -> str:
    return derive_status(bool(coding.produced), [(d.role, d.decision) for d in decided],
                         coding.merged_into is not None)


def coder_status(coding, decided: list) -> str:
    """The status coders alone give a coding (an adjudicator's ruling left out)."""
    return derive_status(bool(coding.produced),
                         [(d.role, d.decision) for d in decided if d.role != "adjudicator"],
                         coding.merged_into is not None)


def segment_info(conn: Connection, segment_id: int) -> SegmentInfo | None:
    """One segment as the sheets show it (its neighbours from the current segments)."""
    seg = conn.execute(select(segments).where(segments.c.id == segment_id)).first()
    if seg is None:
        return None
    person = load_interviews(conn).get(seg.interview_id)
    if person is None:
        return None
    siblings = conn.execute(select(segments.c.id, segments.c.text)
                            .where(segments.c.interview_id == seg.interview_id,
                                   segments.c.status == "current")
                            .order_by(segments.c.ord)).all()
    ids = [s.id for s in siblings]
    index = ids.index(seg.id) if seg.id in ids else None
    return SegmentInfo(
        id=seg.id, interview_id=seg.interview_id, ord=seg.ord,
        ref=f"{person['label']} ¶{seg.ord}", city=person["city"],
        category=person["category"], section=seg.section or "", question=seg.question or "",
        text=seg.text, start=seg.start, version=seg.version,
        previous=siblings[index - 1].text if index else "",
        next=siblings[index + 1].text if index is not None and index + 1 < len(ids) else "")


def code_translations(codebook) -> dict[str, str]:
    """Old code id -> the code it became through renames and merges (chains followed)."""
    from pipeline.codebook.changes import change_from, change_to, ordered_changes

    moves: dict[str, str] = {}
    for entry in ordered_changes(codebook.changes):
        if entry.get("kind") in ("renamed", "merged") and change_to(entry):
            for source in change_from(entry):
                if source != change_to(entry)[0]:
                    moves[source] = change_to(entry)[0]
    resolved = {}
    for source in moves:
        target, seen = moves[source], {source}
        while target in moves and target not in seen:
            seen.add(target)
            target = moves[target]
        resolved[source] = target
    return resolved


def translate_code(codebook, translations: dict[str, str], code: str) -> str | None:
    """The active code `code` means now, or None when it names none."""
    if codebook.has_code(code) and not codebook.code(code).retired:
        return code
    target = translations.get(code)
    if target and codebook.has_code(target) and not codebook.code(target).retired:
        return target
    return None


def parse_flags(text: str) -> dict | None:
    """"negated, planned" -> all three flags as booleans; "none" -> all False; None when a
    word is not a flag."""
    words = [w.strip().lower() for w in text.replace(";", ",").replace("+", ",").split(",")]
    words = [w for w in words if w]
    if words == [NO_FLAGS]:
        return {flag: False for flag in FLAGS}
    if not words or any(w not in FLAGS for w in words):
        return None
    return {flag: flag in words for flag in FLAGS}


def review_codebook(conn: Connection, study):
    """The study's codebook for review: the text the store recorded when `code` used this
    very file (same bytes, already validated then), else the file loaded and validated.

    Loading re-validates every phrase with the tokenizer, seconds a review does not need
    when the store already holds the same codebook.
    """
    import yaml

    from pipeline.codebook.load import build_codebook
    from pipeline.hashing import file_sha256
    from pipeline.store.schema import codebook_versions

    def loaded():  # pipeline.code_study imports the coding stage: only when needed
        from pipeline.code_study import load_study_codebook

        return load_study_codebook(study)

    path = study.path("codebook")
    try:
        digest = file_sha256(path)
    except OSError:
        return loaded()
    text = conn.execute(select(codebook_versions.c.text)
                        .where(codebook_versions.c.sha256 == digest)).scalar()
    if text is None:
        return loaded()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return build_codebook(yaml.load(text, Loader=loader), sha256=digest, source=str(path))
