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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
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


def _segment_keys(conn, interview_id: int) -> dict[int, str]:
    """segment id -> "<sha256>#<n>": the n-th current segment of its interview with that
    text, which stays the same when other paragraphs are added or removed."""
    from pipeline.store.schema import segments

    keys: dict[int, str] = {}
    seen: dict[str, int] = defaultdict(int)
    for segment_id, sha256 in conn.execute(
            select(segments.c.id, segments.c.sha256)
            .where(segments.c.interview_id == interview_id, segments.c.status == "current")
            .order_by(segments.c.ord, segments.c.id)):
        keys[segment_id] = f"{sha256}#{seen[sha256]}"
        seen[sha256] += 1
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


@dataclass(frozen=True)
class _Exported:
    """One coding as it goes into the project: who holds it, its decisions."""

    coding: _Coding
    status: str
    decisions: list
    holders: list[str]  # user keys the selections go under
    span_author: str


class _StudyCodings:
    """The exported codings of each interview, read from the store one interview at a time,
    so memory holds one interview's codings, not the study's. While the sources stream it
    learns who and which codes the selections name, which the project head then lists."""

    def __init__(self, conn, interview_rows: list, accepted_only: bool, tally: QdpxExport):
        self.conn = conn
        self.interviews = interview_rows
        self.accepted_only = accepted_only
        self.tally = tally
        self.user_keys: set[str] = set()
        self.used_codes: set[str] = set()

    def _texts(self, interview_id: int) -> tuple[str, int]:
        from pipeline.store.schema import interviews

        return self.conn.execute(select(interviews.c.plain_text, interviews.c.version)
                                 .where(interviews.c.id == interview_id)).one()

    def interview(self, row) -> tuple[str, list[_Exported]]:
        """The interview's plain text and its exported codings in coding id order; counts
        what is exported and left out, and records codings off their text (CQ852)."""
        from pipeline.coding.decisions import coding_statuses
        from pipeline.store.schema import codings, decisions, segments

        conn, tally = self.conn, self.tally
        text, version = self._texts(row.id)
        segment_keys = _segment_keys(conn, row.id)
        statuses = coding_statuses(conn, interview_id=row.id)
        decided: dict[int, list] = defaultdict(list)
        for d in plain_rows(conn.execute(
                select(decisions.c.coding_id, decisions.c.coder, decisions.c.role,
                       decisions.c.decision, decisions.c.corrected_code, decisions.c.comment)
                .join(codings, codings.c.id == decisions.c.coding_id)
                .where(codings.c.interview_id == row.id)
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
            .where(codings.c.interview_id == row.id, segments.c.status == "current")
            .order_by(codings.c.id)))

        exported: list[_Exported] = []
        identities: set[str] = set()
        for coding_row in coding_rows:
            segment_key = segment_keys.get(coding_row.segment_id)
            if segment_key is None:
                continue
            status = statuses.get(coding_row.id, "superseded")
            if status not in EXPORTED_STATUSES or (self.accepted_only and status != "accepted"):
                tally.left_out[status] = tally.left_out.get(status, 0) + 1
                continue
            manual = coding_row.origin.startswith("coder:")
            identity = "|".join([row.path, segment_key, coding_row.code,
                                 coding_row.evidence_text, str(coding_row.occurrence)]
                                + ([coding_row.origin] if manual else []))
            if identity in identities:  # not expected (identities are unique in the store)
                identity += f"|#{coding_row.id}"
            identities.add(identity)
            coding = _Coding(
                id=coding_row.id, interview_id=coding_row.interview_id, identity=identity,
                code=coding_row.code, origin=coding_row.origin, rule_id=coding_row.rule_id,
                coder=coding_row.coder or "", codebook_version=coding_row.codebook_version,
                evidence=coding_row.evidence_text, start=coding_row.start, end=coding_row.end,
                sentence=coding_row.sentence, flags=_flags(coding_row),
                reassigned_from=coding_row.reassigned_from,
                reassigned_by=coding_row.reassigned_by, review_reason=coding_row.review_reason,
                offsets_ok=(coding_row.version == version
                            and 0 <= coding_row.start <= coding_row.end <= len(text)
                            and text[coding_row.start:coding_row.end]
                            == coding_row.evidence_text))
            if not coding.offsets_ok:
                tally.problems.append(Problem("CQ852", {
                    "coding": coding_row.id, "code": coding_row.code,
                    "evidence": coding_row.evidence_text[:80]}, file=row.path))
                tally.left_out["not placeable"] = tally.left_out.get("not placeable", 0) + 1
                continue
            its_decisions = decided.get(coding_row.id, [])
            holders = sorted({d.coder for d in its_decisions if d.decision == "accept"})
            if manual and coding.coder and coding.coder not in holders and status == "accepted":
                holders.append(coding.coder)
            if status == "suggested" or not holders:
                holders_keys = [UNREVIEWED_USER]
            else:
                holders_keys = [coder_key(c) for c in sorted(holders)]
            item = _Exported(coding, status, its_decisions, holders_keys,
                             RULES_USER if not manual else coder_key(coding.coder))
            exported.append(item)
            tally.codings[status] = tally.codings.get(status, 0) + 1
            tally.selections += len(holders_keys)
            self.user_keys.update(holders_keys)
            self.user_keys.add(item.span_author)
            self.user_keys.add(RULES_USER if coding.origin.startswith("rule:")
                               else coder_key(coding.coder))
            self.user_keys.update(coder_key(d.coder) for d in its_decisions if d.comment)
            self.used_codes.add(coding.code)
        return text, exported

    def groups(self) -> Iterator:
        """`SourceGroup`s in path order (the key order the writer wants)."""
        from pipeline.exchange.qdpx_writer import SourceGroup

        for row in self.interviews:
            text, exported = self.interview(row)
            selections = []
            for item in exported:
                notes = [_evidence_note(item.coding, item.status, row.path, item.decisions)]
                notes += [_comment_note(item.coding, d) for d in item.decisions if d.comment]
                for holder in item.holders:
                    selections.append(Selection(
                        key=f"{item.coding.identity}|{holder}", source=row.path,
                        start=item.coding.start, end=item.coding.end, code=item.coding.code,
                        coder=holder, created_by=item.span_author, notes=tuple(notes)))
            yield SourceGroup(TextSource(key=row.path, name=Path(row.file).stem, text=text,
                                         description=f"{row.path}, version {row.version}"),
                              selections)


def study_export(study, conn, codebook, *, accepted_only: bool = False
                 ) -> tuple[Project, Iterator, Callable[[], Project], QdpxExport]:
    """What `write_qdpx_stream` takes, while `conn` is open: the project head (code tree,
    cases, sets, the coders of the study), its sources with their selections one interview
    at a time, the function that completes the head once they were read (users who decided,
    codes no longer in the codebook); and the tally of what they hold (path left empty,
    complete once the head is)."""
    from pipeline.store.schema import interviews

    tally = QdpxExport(Path())
    rows = plain_rows(conn.execute(
        select(interviews.c.id, interviews.c.path, interviews.c.file, interviews.c.version,
               interviews.c.metadata)
        .where(interviews.c.status == "active", interviews.c.purged == 0,
               interviews.c.plain_text.is_not(None))
        .order_by(interviews.c.path, interviews.c.id)))

    cases = []
    by_city: dict[str, list[str]] = defaultdict(list)
    by_category: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        variables = interview_variables(row.metadata, row.file, row.version)
        cases.append(Case(key=row.path, name=Path(row.file).stem, variables=variables,
                          sources=(row.path,)))
        if isinstance(variables.get("city"), str):
            by_city[variables["city"]].append(row.path)
        if isinstance(variables.get("stakeholder_category"), str):
            by_category[variables["stakeholder_category"]].append(row.path)
    sets = [CodeSet(key=f"city:{city}", name=f"City: {city}", sources=tuple(paths))
            for city, paths in sorted(by_city.items())]
    sets += [CodeSet(key=f"category:{category}", name=f"Category: {category}",
                     sources=tuple(paths)) for category, paths in sorted(by_category.items())]

    study_codings = _StudyCodings(conn, rows, accepted_only, tally)
    tally.sources = len(rows)
    description = (f"Exported by cityqda from study {study.name!r} with codebook "
                   f"{codebook.id} {codebook.version}; "
                   + ("accepted codings only." if accepted_only else
                      "accepted, disputed and unreviewed codings (rejected and superseded "
                      "ones left out)."))
    tree = code_tree(codebook)
    coder_names = {c.id: c.name for c in study.coders}

    def users(user_keys) -> tuple[User, ...]:
        found = [User(RULES_USER, RULES_USER_NAME), User(UNREVIEWED_USER, UNREVIEWED_USER_NAME)]
        coder_ids = set(coder_names) | {key[len("coder:"):] for key in user_keys
                                        if key.startswith("coder:")}
        for coder in sorted(coder_ids):
            found.append(User(coder_key(coder), coder_names.get(coder) or coder))
        return tuple(found)

    head = Project(name=study.name, users=users(()), codes=tree, cases=tuple(cases),
                   sets=tuple(sets), description=description)

    def complete_head() -> Project:
        """The head once every interview was read: every user and code the codings name."""
        known = {code.key for code in walk_codes(tree)}
        unknown = sorted(study_codings.used_codes - known)
        codes = tree
        if unknown:
            codes = tree + (Code(
                key=UNKNOWN_CODES_KEY, name="Codes not in the current codebook",
                description="Codes that exported codings use and the study's current "
                            "codebook no longer defines.",
                codable=False, children=tuple(Code(key=c, name=c) for c in unknown)),)
        final = replace(head, users=users(study_codings.user_keys), codes=codes)
        tally.users = [u.name for u in final.users]
        tally.problems.sort(key=lambda problem: problem.fields["coding"])
        return final

    tally.users = [u.name for u in head.users]
    return head, study_codings.groups(), complete_head, tally


def study_project(study, conn, codebook, *, accepted_only: bool = False
                  ) -> tuple[Project, QdpxExport]:
    """The whole project in memory (small studies, tests); `study_export` streams it."""
    _head, groups, complete_head, tally = study_export(study, conn, codebook,
                                                       accepted_only=accepted_only)
    groups = list(groups)
    return replace(complete_head(), sources=tuple(g.source for g in groups),
                   selections=tuple(s for g in groups for s in g.selections)), tally


def default_qdpx_path(study) -> Path:
    return study.path("outputs") / f"{study.name}.qdpx"


def export_qdpx(study, store, *, out: str | Path | None = None, accepted_only: bool = False,
                codebook=None) -> QdpxExport:
    """Write the study's `.qdpx` (default `outputs/<study>.qdpx`); same store, same bytes.

    One interview's texts and codings in memory at a time, whatever the size of the study."""
    from pipeline.code_study import load_study_codebook
    from pipeline.exchange.qdpx_writer import write_qdpx_stream

    codebook = codebook if codebook is not None else load_study_codebook(study)
    path = Path(out) if out is not None else default_qdpx_path(study)
    with store.read() as conn:
        head, groups, complete_head, tally = study_export(study, conn, codebook,
                                                          accepted_only=accepted_only)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_qdpx_stream(head, groups, path, complete_head=complete_head)
        except OSError as exc:
            raise CityQDAError("CQ814", path=str(path),
                               problem=exc.strerror or str(exc)) from exc
    tally.path = path
    return tally
