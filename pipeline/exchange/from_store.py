"""The study store as a REFI-QDA project: `cityqda export qdpx`.

What goes in:

* sources: each active interview's stored plain text (so every stored offset is a
  selection's offset as it is: code points, end exclusive), named by its file;
* cases: one per interview, its metadata as variables (values as normalised by ingest,
  dates as dates), linked to its source; sets of sources per city and per stakeholder
  category;
* the code tree of the study's current codebook (`from_codebook.code_tree`), plus a
  non-codable branch for codes that codings use and the codebook no longer has;
* users: the coders of cityqda.toml (and anyone else who decided), `cityqda (rules)` who
  made the spans of automatic suggestions, and `cityqda (unreviewed)` who holds undecided
  ones;
* selections, by derived status (`coding_statuses`):
  - accepted: one selection per coder whose current decision is accept (an adjudicator's
    included), so each coder's coding is there as other tools expect for overlap;
  - disputed: likewise under each coder who accepted it, with a note saying it is disputed
    and who decided what; a disputed coding nobody accepted (only `discuss`) goes under
    `cityqda (unreviewed)`;
  - suggested (nobody decided yet): under `cityqda (unreviewed)`;
  - rejected, superseded and merged codings are left out;
  - `accepted_only` keeps accepted codings only (what the study's tables count).
  A manual coding counts as accepted by the coder who made it.
* notes: on every selection, one note with the coding's evidence and how it came about
  (rule, codebook version, flags, status), and one per decision comment, by its coder.

A coding whose evidence is no longer at its offsets in the current text (the transcript
changed and the coding waits for review) cannot be placed; it is left out with a CQ852
warning naming it, never placed wrongly.

GUIDs come from stable keys (`model.guid_for`), never from row ids: an interview by its
path; a coding by its segment (hash, and which of the interview's segments with that hash),
code, evidence and occurrence (plus the coder for a manual coding); a selection by that and
the coder it is listed under. The same store exported twice gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict, namedtuple
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from pipeline.errors import CityQDAError, Problem
from pipeline.exchange.from_codebook import code_tree
from pipeline.exchange.model import (
    Case,
    Code,
    CodeSet,
    Note,
    Project,
    Selection,
    TextSource,
    User,
    VariableValue,
    walk_codes,
)

RULES_USER = "cityqda:rules"
UNREVIEWED_USER = "cityqda:unreviewed"
RULES_USER_NAME = "cityqda (rules)"
UNREVIEWED_USER_NAME = "cityqda (unreviewed)"
UNKNOWN_CODES_KEY = "cityqda:codes-not-in-codebook"
EXPORTED_STATUSES = ("accepted", "disputed", "suggested")
FLAG_NAMES = ("negated", "hypothetical", "planned", "problem", "rule_gone", "needs_review")


def coder_key(coder: str) -> str:
    return f"coder:{coder}"


@dataclass
class QdpxExport:
    """What `export_qdpx` wrote, with counts and warnings."""

    path: Path
    sources: int = 0
    codings: dict[str, int] = field(default_factory=dict)  # status -> codings exported
    selections: int = 0
    left_out: dict[str, int] = field(default_factory=dict)  # status -> codings left out
    users: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def lines(self) -> list[str]:
        kept = ", ".join(f"{n} {status}" for status, n in sorted(self.codings.items())) \
            or "none"
        dropped = ", ".join(f"{n} {status}" for status, n in sorted(self.left_out.items())) \
            or "none"
        return [f"wrote {self.path}: {self.sources} source(s), {self.selections} coded "
                f"selection(s) from codings {kept}",
                f"left out: {dropped}",
                f"users: {', '.join(self.users)}"]


@dataclass(frozen=True)
class _Coding:
    id: int
    interview_id: int
    identity: str
    code: str
    origin: str
    rule_id: str | None
    coder: str
    codebook_version: str | None
    evidence: str
    start: int
    end: int
    sentence: str | None
    flags: tuple[str, ...]
    reassigned_from: str | None
    reassigned_by: str | None
    review_reason: str | None
    offsets_ok: bool


def _variable_value(name: str, value) -> VariableValue | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool | int | float):
        return value
    text = str(value)
    if name.endswith("date"):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            return text
    return text


def interview_variables(metadata_json: str | None, file: str, version: int
                        ) -> dict[str, VariableValue]:
    """Case variables: every metadata field's value, the file name and transcript version."""
    metadata = json.loads(metadata_json or "{}")
    variables: dict[str, VariableValue] = {"file": file, "transcript_version": int(version)}
    for name, state in sorted(metadata.items()):
        value = state.get("value") if isinstance(state, dict) else state
        converted = _variable_value(name, value)
        if converted is not None:
            variables[name] = converted
    return variables


def _segment_keys(conn, interview_ids: list[int]) -> dict[int, str]:
    """segment id -> "<sha256>#<n>": the n-th current segment of its interview with that
    text, which stays the same when other paragraphs are added or removed."""
    from pipeline.store.schema import segments

    keys: dict[int, str] = {}
    seen: dict[tuple[int, str], int] = defaultdict(int)
    rows = plain_rows(conn.execute(
        select(segments.c.id, segments.c.interview_id, segments.c.sha256)
        .where(segments.c.status == "current")
        .order_by(segments.c.interview_id, segments.c.ord, segments.c.id)))
    wanted = set(interview_ids)
    for row in rows:
        if row.interview_id not in wanted:
            continue
        n = seen[(row.interview_id, row.sha256)]
        seen[(row.interview_id, row.sha256)] = n + 1
        keys[row.id] = f"{row.sha256}#{n}"
    return keys


def plain_rows(result) -> list:
    """The rows as named tuples: SQLAlchemy's Row attribute access costs about a
    microsecond, which a loop over every coding of a large study pays tens of times."""
    row_type = namedtuple("Row", list(result.keys()))
    return [row_type._make(row) for row in result]


def _flags(row) -> tuple[str, ...]:
    values = (row.negated, row.hypothetical, row.planned, row.problem, row.rule_gone,
              row.needs_review)
    return tuple(name for name, value in zip(FLAG_NAMES, values, strict=True) if value)


def _evidence_note(coding: _Coding, status: str, path: str, decided: list) -> Note:
    lines = [f"Evidence: {coding.evidence}"]
    if coding.origin.startswith("rule:"):
        lines.append(f"Suggested by rule {coding.rule_id or coding.origin[5:]}"
                     + (f" (codebook {coding.codebook_version})"
                        if coding.codebook_version else ""))
    else:
        lines.append(f"Coded by hand by {coding.coder}")
    if coding.flags:
        lines.append(f"Flags: {', '.join(coding.flags)}")
    if coding.reassigned_from:
        lines.append(f"Reassigned from {coding.reassigned_from}"
                     + (f" by rule {coding.reassigned_by}" if coding.reassigned_by else ""))
    if coding.review_reason:
        lines.append(f"Needs review: {coding.review_reason}")
    lines.append(f"Status: {status}")
    if decided:
        lines.append("Decisions: " + "; ".join(
            f"{d.coder} ({d.role}) {d.decision}"
            + (f" -> {d.corrected_code}" if d.corrected_code else "") for d in decided))
    if coding.sentence and coding.sentence != coding.evidence:
        lines.append(f"Sentence: {coding.sentence}")
    lines.append(f"Interview: {path}")
    author = RULES_USER if coding.origin.startswith("rule:") else coder_key(coding.coder)
    return Note(key=f"coding:{coding.identity}", name=f"{coding.code}: {status}",
                text="\n".join(lines), created_by=author)


def _comment_note(coding: _Coding, decision) -> Note:
    return Note(key=f"comment:{coding.identity}|{decision.coder}",
                name=f"{decision.coder} {decision.decision}: comment",
                text=decision.comment, created_by=coder_key(decision.coder))


def study_project(study, conn, codebook, *, accepted_only: bool = False
                  ) -> tuple[Project, QdpxExport]:
    """The study's project model and the tally of what it holds (path left empty)."""
    from pipeline.coding.decisions import coding_statuses
    from pipeline.store.schema import codings, decisions, interviews, segments

    tally = QdpxExport(Path())
    rows = plain_rows(conn.execute(
        select(interviews.c.id, interviews.c.path, interviews.c.file, interviews.c.version,
               interviews.c.plain_text, interviews.c.metadata)
        .where(interviews.c.status == "active", interviews.c.purged == 0)
        .order_by(interviews.c.path, interviews.c.id)))
    interview_rows = {row.id: row for row in rows if row.plain_text is not None}
    segment_keys = _segment_keys(conn, list(interview_rows))

    sources, cases = [], []
    by_city: dict[str, list[str]] = defaultdict(list)
    by_category: dict[str, list[str]] = defaultdict(list)
    for row in interview_rows.values():
        variables = interview_variables(row.metadata, row.file, row.version)
        name = Path(row.file).stem
        sources.append(TextSource(key=row.path, name=name, text=row.plain_text,
                                  description=f"{row.path}, version {row.version}"))
        cases.append(Case(key=row.path, name=name, variables=variables, sources=(row.path,)))
        if isinstance(variables.get("city"), str):
            by_city[variables["city"]].append(row.path)
        if isinstance(variables.get("stakeholder_category"), str):
            by_category[variables["stakeholder_category"]].append(row.path)
    sets = [CodeSet(key=f"city:{city}", name=f"City: {city}", sources=tuple(paths))
            for city, paths in sorted(by_city.items())]
    sets += [CodeSet(key=f"category:{category}", name=f"Category: {category}",
                     sources=tuple(paths)) for category, paths in sorted(by_category.items())]

    statuses = coding_statuses(conn)
    decided: dict[int, list] = defaultdict(list)
    for d in plain_rows(conn.execute(
            select(decisions.c.coding_id, decisions.c.coder, decisions.c.role,
                   decisions.c.decision, decisions.c.corrected_code, decisions.c.comment)
            .order_by(decisions.c.coding_id, decisions.c.coder))):
        decided[d.coding_id].append(d)

    coding_rows = plain_rows(conn.execute(
        select(codings.c.id, codings.c.interview_id, codings.c.segment_id, codings.c.code,
               codings.c.origin, codings.c.rule_id, codings.c.coder,
               codings.c.codebook_version, codings.c.evidence_text, codings.c.occurrence,
               codings.c.start, codings.c.end, codings.c.version, codings.c.sentence,
               codings.c.negated, codings.c.hypothetical, codings.c.planned,
               codings.c.problem, codings.c.rule_gone, codings.c.needs_review,
               codings.c.review_reason, codings.c.reassigned_from, codings.c.reassigned_by)
        .join(segments, segments.c.id == codings.c.segment_id)
        .where(segments.c.status == "current")
        .order_by(codings.c.id)))

    selections: list[Selection] = []
    user_keys: set[str] = set()
    used_codes: set[str] = set()
    identities: set[str] = set()
    for row in coding_rows:
        interview = interview_rows.get(row.interview_id)
        segment_key = segment_keys.get(row.segment_id)
        if interview is None or segment_key is None:
            continue
        status = statuses.get(row.id, "superseded")
        if status not in EXPORTED_STATUSES or (accepted_only and status != "accepted"):
            tally.left_out[status] = tally.left_out.get(status, 0) + 1
            continue
        manual = row.origin.startswith("coder:")
        identity = "|".join([interview.path, segment_key, row.code, row.evidence_text,
                             str(row.occurrence)] + ([row.origin] if manual else []))
        if identity in identities:  # not expected (identities are unique in the store)
            identity += f"|#{row.id}"
        identities.add(identity)
        text = interview.plain_text
        coding = _Coding(
            id=row.id, interview_id=row.interview_id, identity=identity, code=row.code,
            origin=row.origin, rule_id=row.rule_id, coder=row.coder or "",
            codebook_version=row.codebook_version, evidence=row.evidence_text,
            start=row.start, end=row.end, sentence=row.sentence, flags=_flags(row),
            reassigned_from=row.reassigned_from, reassigned_by=row.reassigned_by,
            review_reason=row.review_reason,
            offsets_ok=(row.version == interview.version
                        and 0 <= row.start <= row.end <= len(text)
                        and text[row.start:row.end] == row.evidence_text))
        if not coding.offsets_ok:
            tally.problems.append(Problem("CQ852", {
                "coding": row.id, "code": row.code, "evidence": row.evidence_text[:80]},
                file=interview.path))
            tally.left_out["not placeable"] = tally.left_out.get("not placeable", 0) + 1
            continue
        its_decisions = decided.get(row.id, [])
        holders = sorted({d.coder for d in its_decisions if d.decision == "accept"})
        if manual and coding.coder and coding.coder not in holders and status == "accepted":
            holders.append(coding.coder)
        if status == "suggested" or not holders:
            holders_keys = [UNREVIEWED_USER]
        else:
            holders_keys = [coder_key(c) for c in sorted(holders)]
        notes = [_evidence_note(coding, status, interview.path, its_decisions)]
        notes += [_comment_note(coding, d) for d in its_decisions if d.comment]
        span_author = RULES_USER if not manual else coder_key(coding.coder)
        user_keys.update(holders_keys)
        user_keys.update(n.created_by for n in notes if n.created_by)
        user_keys.add(span_author)
        used_codes.add(row.code)
        tally.codings[status] = tally.codings.get(status, 0) + 1
        for holder in holders_keys:
            selections.append(Selection(
                key=f"{identity}|{holder}", source=interview.path, start=row.start,
                end=row.end, code=row.code, coder=holder, created_by=span_author,
                notes=tuple(notes)))

    tree = code_tree(codebook)
    known = {code.key for code in walk_codes(tree)}
    unknown = sorted(used_codes - known)
    if unknown:
        tree = tree + (Code(key=UNKNOWN_CODES_KEY, name="Codes not in the current codebook",
                            description="Codes that exported codings use and the study's "
                                        "current codebook no longer defines.",
                            codable=False,
                            children=tuple(Code(key=c, name=c) for c in unknown)),)

    coder_names = {c.id: c.name for c in study.coders}
    users = [User(RULES_USER, RULES_USER_NAME), User(UNREVIEWED_USER, UNREVIEWED_USER_NAME)]
    coder_ids = set(coder_names) | {key[len("coder:"):] for key in user_keys
                                    if key.startswith("coder:")}
    for coder in sorted(coder_ids):
        users.append(User(coder_key(coder), coder_names.get(coder) or coder))
    tally.users = [u.name for u in users]
    tally.sources = len(sources)
    tally.selections = len(selections)
    description = (f"Exported by cityqda from study {study.name!r} with codebook "
                   f"{codebook.id} {codebook.version}; "
                   + ("accepted codings only." if accepted_only else
                      "accepted, disputed and unreviewed codings (rejected and superseded "
                      "ones left out)."))
    project = Project(name=study.name, users=tuple(users), codes=tree,
                      sources=tuple(sources), selections=tuple(selections),
                      cases=tuple(cases), sets=tuple(sets), description=description)
    return project, tally


def default_qdpx_path(study) -> Path:
    return study.path("outputs") / f"{study.name}.qdpx"


def export_qdpx(study, store, *, out: str | Path | None = None, accepted_only: bool = False,
                codebook=None) -> QdpxExport:
    """Write the study's `.qdpx` (default `outputs/<study>.qdpx`); same store, same bytes."""
    from pipeline.code_study import load_study_codebook
    from pipeline.exchange.qdpx_writer import write_qdpx

    codebook = codebook if codebook is not None else load_study_codebook(study)
    path = Path(out) if out is not None else default_qdpx_path(study)
    with store.read() as conn:
        project, tally = study_project(study, conn, codebook, accepted_only=accepted_only)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_qdpx(project, path)
    except OSError as exc:
        raise CityQDAError("CQ814", path=str(path), problem=exc.strerror or str(exc)) from exc
    tally.path = path
    return tally
