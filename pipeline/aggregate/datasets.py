"""The coded datasets: one row per coding (long) and one row per segment (wide).

What counts is the user's choice and is written into every row (`selection`), into the
file names and into the notes: accepted codings only (the default), or accepted plus
undecided suggestions. Only current segments of current (active) interviews are in the
datasets; codings on retired segments stay in the store, listed by `cityqda status`.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.engine import Connection

from pipeline.aggregate.tables import (
    NO_CITY,
    CodebookInfo,
    ResultTable,
    Scope,
    build_scope,
    codebook_info,
    included_statuses,
    selection_label,
)
from pipeline.vocabulary import METADATA_FIELDS

INTERVIEW_COLUMNS = ["interview_id", "file", "pseudonym", "round", *METADATA_FIELDS]
CODING_FLAGS = ("negated", "hypothetical", "planned", "counts", "problem", "needs_review",
                "rule_gone")


def _interview_values(interview) -> list:
    values = [interview.id, interview.file, interview.pseudonym, interview.round]
    for name in METADATA_FIELDS:
        state = interview.metadata.get(name) or {}
        value = state.get("value") if isinstance(state, dict) else None
        if name == "city":
            value = None if interview.city == NO_CITY else interview.city
        elif name == "stakeholder_category":
            value = interview.category
        values.append(value)
    return values


def _current_segments(conn: Connection, scope: Scope) -> dict[int, object]:
    from pipeline.store.schema import segments

    ids = scope.interview_ids
    return {row.id: row for row in conn.execute(
        select(segments.c.id, segments.c.interview_id, segments.c.ord, segments.c.section,
               segments.c.question, segments.c.text)
        .where(segments.c.status == "current")) if row.interview_id in ids}


def _included_codings(conn: Connection, scope: Scope, include_suggested: bool):
    from pipeline.coding.decisions import coding_statuses
    from pipeline.store.schema import codings

    current = _current_segments(conn, scope)
    statuses = coding_statuses(conn)
    wanted = included_statuses(include_suggested)
    rows = [row for row in conn.execute(select(codings).order_by(codings.c.id))
            if row.segment_id in current and statuses.get(row.id) in wanted]
    return current, rows, statuses


def _mentions(conn: Connection, segment_ids: set[int]) -> dict[int, dict[str, list]]:
    """Segment id -> {"initiatives"|"actors": [(start, end, version, name)]}, without
    rejected entities; merged ones under the name they were merged into."""
    from pipeline.store.schema import (
        actor_mentions,
        actors,
        initiative_mentions,
        initiatives,
    )

    found: dict[int, dict[str, list]] = defaultdict(lambda: {"initiatives": [], "actors": []})
    for key, mentions, entities, fk in (("initiatives", initiative_mentions, initiatives,
                                         "initiative_id"),
                                        ("actors", actor_mentions, actors, "actor_id")):
        names = {row.id: (row.name, row.review_status)
                 for row in conn.execute(select(entities.c.id, entities.c.name,
                                                entities.c.review_status))}

        def resolve(entity_id, seen=(), names=names):
            name, status = names.get(entity_id, (None, "rejected"))
            if status == "rejected" or entity_id in seen:
                return None
            if status.startswith("merged_into:"):
                try:
                    return resolve(int(status.split(":", 1)[1]), (*seen, entity_id))
                except ValueError:
                    return None
            return name

        for row in conn.execute(select(mentions.c[fk], mentions.c.segment_id,
                                       mentions.c.start, mentions.c.end, mentions.c.version)
                                .where(mentions.c.produced == 1)):
            if row.segment_id not in segment_ids:
                continue
            name = resolve(row[0])
            if name is not None:
                found[row.segment_id][key].append((row.start, row.end, row.version, name))
    return found


def _names_near(mentions: list, coding) -> str | None:
    """Entities mentioned in the coding's sentence (its segment when the sentence is
    unknown), each once, sorted."""
    names = set()
    for start, end, version, name in mentions:
        if coding.sentence_start is not None and version == coding.version \
                and start is not None and end is not None:
            if end <= coding.sentence_start or start >= coding.sentence_end:
                continue
        names.add(name)
    return "; ".join(sorted(names, key=str.casefold)) or None


def _decisions(conn: Connection, coding_ids: set[int]) -> dict[int, tuple[str, str]]:
    from pipeline.store.schema import decisions

    decided: dict[int, list] = defaultdict(list)
    commented: dict[int, list] = defaultdict(list)
    for row in conn.execute(select(decisions.c.coding_id, decisions.c.coder,
                                   decisions.c.role, decisions.c.decision,
                                   decisions.c.corrected_code, decisions.c.comment)
                            .order_by(decisions.c.coder, decisions.c.id)):
        if row.coding_id not in coding_ids:
            continue
        who = f"{row.coder} (adjudicator)" if row.role == "adjudicator" else row.coder
        what = row.decision + (f" -> {row.corrected_code}" if row.corrected_code else "")
        decided[row.coding_id].append(f"{who}: {what}")
        if row.comment:
            commented[row.coding_id].append(f"{who}: {row.comment}")
    return {key: ("; ".join(decided[key]) or None, "; ".join(commented.get(key, [])) or None)
            for key in decided}


def included_codings(conn: Connection, scope: Scope, include_suggested: bool):
    """(current segments by id, included coding rows, statuses): what both datasets are
    built from; `aggregate` reads it once and passes it to both."""
    return _included_codings(conn, scope, include_suggested)


def coded_long(conn: Connection, study, *, include_suggested: bool = False,
               scope: Scope | None = None, codebook: CodebookInfo | None = None,
               register=None, included=None) -> ResultTable:
    """One row per counted coding, with its interview's metadata, segment and evidence."""
    scope = scope or build_scope(conn, study, register=register)
    codebook = codebook or codebook_info(study)
    current, rows, statuses = included or _included_codings(conn, scope, include_suggested)
    interviews = {i.id: i for i in scope.interviews}
    mentions = _mentions(conn, {row.segment_id for row in rows})
    decided = _decisions(conn, {row.id for row in rows})
    label = selection_label(include_suggested)
    columns = ["selection", "coding_id", *INTERVIEW_COLUMNS, "segment_id", "segment", "order",
               "section", "question", "segment_text", "code", "code_label", "kind",
               "dimension", "status", "origin", "rule_id", "coder", "codebook_version",
               *CODING_FLAGS, "reassigned_from", "reassigned_by", "evidence", "start", "end",
               "sentence", "initiatives", "actors", "decisions", "comments"]
    table_rows = []
    for row in rows:
        segment = current[row.segment_id]
        interview = interviews[segment.interview_id]
        near = mentions.get(row.segment_id, {"initiatives": [], "actors": []})
        decisions_text, comments = decided.get(row.id, (None, None))
        table_rows.append([
            label, row.id, *_interview_values(interview), segment.id,
            f"{interview.pseudonym} ¶{segment.ord}", segment.ord, segment.section,
            segment.question, segment.text, row.code, codebook.labels.get(row.code),
            row.kind, row.dimension, statuses[row.id], row.origin, row.rule_id,
            row.coder or None, row.codebook_version,
            *(int(getattr(row, flag)) for flag in CODING_FLAGS),
            row.reassigned_from, row.reassigned_by, row.evidence_text, row.start, row.end,
            row.sentence, _names_near(near["initiatives"], row),
            _names_near(near["actors"], row), decisions_text, comments])
    file_index = columns.index("file")
    table_rows.sort(key=lambda r: (r[file_index], r[file_index - 1], r[columns.index("order")],
                                   r[columns.index("start")], r[columns.index("code")], r[1]))
    return ResultTable(
        name="coded_long", title=f"Coded segments, one row per coding ({label})",
        columns=columns, rows=table_rows,
        notes=[f"Codings whose status is {label}; selection names that choice on every row.",
               "Current segments of current (active) interviews; offsets (start, end) are "
               "code points into the interview's plain text.",
               "counts = 1 when the coding counts as an initiative (not negated, not "
               "hypothetical; planned counts). initiatives/actors = entities mentioned in "
               "the coding's sentence (rejected ones left out)."])


def coded_wide(conn: Connection, study, *, include_suggested: bool = False,
               scope: Scope | None = None, codebook: CodebookInfo | None = None,
               register=None, included=None) -> ResultTable:
    """One row per current segment: a 0/1 column per dimension and per code."""
    scope = scope or build_scope(conn, study, register=register)
    codebook = codebook or codebook_info(study)
    current, rows, _statuses = included or _included_codings(conn, scope, include_suggested)
    interviews = {i.id: i for i in scope.interviews}
    dimensions = list(scope.dimensions)
    coded = {row.code for row in rows}
    codes = [c for c in codebook.order if codebook.kinds.get(c) != "challenge_group"]
    codes += sorted(coded - set(codes))
    by_segment: dict[int, dict] = defaultdict(lambda: {"codes": set(), "dimensions": set()})
    for row in rows:
        bucket = by_segment[row.segment_id]
        bucket["codes"].add(row.code)
        if row.dimension and row.counts:
            bucket["dimensions"].add(row.dimension)
    label = selection_label(include_suggested)
    columns = ["selection", "segment_id", *INTERVIEW_COLUMNS, "segment", "order", "section",
               "question", "text", *(f"dimension:{d}" for d in dimensions),
               *(f"code:{c}" for c in codes)]
    table_rows = []
    for segment in current.values():
        interview = interviews[segment.interview_id]
        bucket = by_segment.get(segment.id, {"codes": set(), "dimensions": set()})
        table_rows.append([
            label, segment.id, *_interview_values(interview),
            f"{interview.pseudonym} ¶{segment.ord}", segment.ord, segment.section,
            segment.question, segment.text,
            *(int(d in bucket["dimensions"]) for d in dimensions),
            *(int(c in bucket["codes"]) for c in codes)])
    table_rows.sort(key=lambda r: (r[3], r[2], r[columns.index("order")], r[1]))
    return ResultTable(
        name="coded_wide", title=f"Coded segments, one row per segment ({label})",
        columns=columns, rows=table_rows,
        notes=[f"Codings whose status is {label}; selection names that choice on every row.",
               "Every current segment of the current interviews, coded or not.",
               "dimension:<d> = 1 when the segment has a coding of that dimension that counts "
               "as an initiative (existing or planned, not negated or hypothetical); code:<id> "
               "= 1 when the segment has a coding of that code (challenges included)."])

