"""The coded datasets: one row per coding (long) and one row per segment (wide).

What counts is the user's choice and is written into every row (`selection`), into the
file names and into the notes: accepted codings only (the default), or accepted plus
undecided suggestions. Only current segments of current (active) interviews are in the
datasets; codings on retired segments stay in the store, listed by `cityqda status`.

Both datasets are sorted by interview (file, then id) first, so an interview's rows are
contiguous: `dataset_stream` reads and yields them one interview at a time, and the
writers (pipeline.aggregate.writing.DatasetWriter) write them as they come. A
1,000-interview study never sits in memory as rows (it took 1.3 GB that way).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Connection

from pipeline.aggregate.tables import (
    NO_CITY,
    CodebookInfo,
    ResultTable,
    Scope,
    build_scope,
    challenge_tally,
    codebook_info,
    included_statuses,
    passage_key,
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


def _entity_resolvers(conn: Connection) -> dict[str, tuple]:
    """Per mention kind: (mention table, entity id column, entity id -> name or None):
    rejected entities have no name, merged ones the name they were merged into."""
    from pipeline.store.schema import (
        actor_mentions,
        actors,
        initiative_mentions,
        initiatives,
    )

    found = {}
    for key, mentions, entities, fk in (("initiatives", initiative_mentions, initiatives,
                                         "initiative_id"),
                                        ("actors", actor_mentions, actors, "actor_id")):
        cursor = conn.connection.driver_connection.cursor()
        names = {entity_id: (name, status) for entity_id, name, status in cursor.execute(
            f'SELECT id, name, review_status FROM "{entities.name}"')}
        resolved: dict[int, str | None] = {}

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

        def cached(entity_id, resolve=resolve, resolved=resolved):
            if entity_id not in resolved:
                resolved[entity_id] = resolve(entity_id)
            return resolved[entity_id]

        found[key] = (mentions, fk, cached)
    return found


def _mentions(cursor, resolvers: dict, segment_ids: list[int], seen: dict | None = None
              ) -> dict[int, dict[str, list]]:
    """Segment id -> {"initiatives"|"actors": [(start, end, version, name)]} for these
    segments, without rejected entities; `seen` collects (kind, entity id) -> name (None
    when rejected) for every mention read."""
    found: dict[int, dict[str, list]] = defaultdict(lambda: {"initiatives": [], "actors": []})
    if not segment_ids:
        return found
    marks = ",".join("?" * len(segment_ids))
    for key, (mentions, fk, resolve) in resolvers.items():
        for entity_id, segment_id, start, end, version in cursor.execute(
                f'SELECT "{fk}", segment_id, start, "end", version FROM "{mentions.name}" '
                f"WHERE produced = 1 AND segment_id IN ({marks})", segment_ids):
            name = resolve(entity_id)
            if seen is not None:
                seen[(key, entity_id)] = name
            if name is not None:
                found[segment_id][key].append((start, end, version, name))
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


def _decisions(conn: Connection, coding_ids: list[int],
               folded: dict[int, list[int]] | None = None) -> dict[int, tuple[str, str]]:
    """Coding id -> (decisions, comments) as text; `folded`: kept id -> the ids of the same
    passage coded alike (`distinct_codings`), whose decisions are listed with it."""
    from pipeline.store.schema import decisions

    decided: dict[int, list] = defaultdict(list)
    commented: dict[int, list] = defaultdict(list)
    if not coding_ids:
        return {}
    kept_of = {coding_id: coding_id for coding_id in coding_ids}
    for kept, others in (folded or {}).items():
        for other in others:
            kept_of[other] = kept
    for row in conn.execute(select(decisions.c.coding_id, decisions.c.coder,
                                   decisions.c.role, decisions.c.decision,
                                   decisions.c.corrected_code, decisions.c.comment)
                            .where(decisions.c.coding_id.in_(sorted(kept_of)))
                            .order_by(decisions.c.coder, decisions.c.id)):
        who = f"{row.coder} (adjudicator)" if row.role == "adjudicator" else row.coder
        what = row.decision + (f" -> {row.corrected_code}" if row.corrected_code else "")
        decided[kept_of[row.coding_id]].append(f"{who}: {what}")
        if row.comment:
            commented[kept_of[row.coding_id]].append(f"{who}: {row.comment}")
    return {key: ("; ".join(decided[key]) or None, "; ".join(commented.get(key, [])) or None)
            for key in decided}


LONG_COLUMNS = ["selection", "coding_id", *INTERVIEW_COLUMNS, "segment_id", "segment",
                "order", "section", "question", "segment_text", "code", "code_label", "kind",
                "dimension", "status", "origin", "rule_id", "coder", "codebook_version",
                *CODING_FLAGS, "reassigned_from", "reassigned_by", "evidence", "start",
                "end", "sentence", "initiatives", "actors", "decisions", "comments"]
WIDE_FIXED_COLUMNS = ["selection", "segment_id", *INTERVIEW_COLUMNS, "segment", "order",
                      "section", "question", "text"]


def distinct_codings(rows: list) -> tuple[list, dict[int, list[int]]]:
    """The selected codings, each passage (`passage_key`) once as its lowest coding id,
    and kept id -> the ids left out for it (their decisions are listed with the kept one).
    `rows` carry id and the fields of `passage_key`."""
    kept, first, folded = [], {}, {}
    for row in sorted(rows, key=lambda r: r.id):
        key = passage_key(row)
        if key in first:
            folded.setdefault(first[key], []).append(row.id)
        else:
            first[key] = row.id
            kept.append(row)
    return kept, folded


def long_head(include_suggested: bool) -> ResultTable:
    """The long dataset without rows: name, title, columns and notes."""
    label = selection_label(include_suggested)
    return ResultTable(
        name="coded_long", title=f"Coded segments, one row per coding ({label})",
        columns=list(LONG_COLUMNS), rows=[],
        notes=[f"Codings whose status is {label}; selection names that choice on every row.",
               "Current segments of current (active) interviews; offsets (start, end) are "
               "code points into the interview's plain text.",
               "A passage coded the same way by several coders (same segment, code and "
               "evidence span and flags) is one row, the lowest coding_id; decisions lists "
               "every coder's word on it.",
               "counts = 1 when the coding counts as an initiative (not negated, not "
               "hypothetical; planned counts). initiatives/actors = entities mentioned in "
               "the coding's sentence (rejected ones left out)."])


def wide_head(include_suggested: bool, dimensions: list[str], codes: list[str]
              ) -> ResultTable:
    """The wide dataset without rows; its 0/1 columns start at len(WIDE_FIXED_COLUMNS)."""
    label = selection_label(include_suggested)
    return ResultTable(
        name="coded_wide", title=f"Coded segments, one row per segment ({label})",
        columns=[*WIDE_FIXED_COLUMNS, *(f"dimension:{d}" for d in dimensions),
                 *(f"code:{c}" for c in codes)], rows=[],
        notes=[f"Codings whose status is {label}; selection names that choice on every row.",
               "Every current segment of the current interviews, coded or not.",
               "dimension:<d> = 1 when the segment has a coding of that dimension that counts "
               "as an initiative (existing or planned, not negated or hypothetical); code:<id> "
               "= 1 when the segment has a coding of that code (challenges included)."])


@dataclass
class DatasetStream:
    """Both datasets' heads, and `chunks`: per interview (in dataset order), its long rows
    and its wide rows, each sorted as in the whole dataset."""

    long: ResultTable
    wide: ResultTable
    chunks: Iterator[tuple[list[list], list[list]]]


def _included_codes(conn: Connection, scope: Scope, statuses: dict[int, str],
                    wanted: tuple[str, ...]) -> set[str]:
    ids = scope.interview_ids
    cursor = conn.connection.driver_connection.cursor()
    return {code for coding_id, code, interview_id in cursor.execute(
        "SELECT c.id, c.code, s.interview_id FROM codings c "
        "JOIN segments s ON s.id = c.segment_id WHERE s.status = 'current'")
        if interview_id in ids and statuses.get(coding_id) in wanted}


def dataset_stream(conn: Connection, study, *, include_suggested: bool = False,
                   scope: Scope | None = None, codebook: CodebookInfo | None = None,
                   register=None, statuses: dict[int, str] | None = None) -> DatasetStream:
    """The datasets read interview by interview (see the module doc). `chunks` reads the
    store as it is consumed: consume it while `conn` is open."""
    from pipeline.coding.decisions import coding_statuses

    scope = scope or build_scope(conn, study, register=register)
    codebook = codebook or codebook_info(study)
    statuses = coding_statuses(conn) if statuses is None else statuses
    wanted = included_statuses(include_suggested)
    dimensions = list(scope.dimensions)
    coded = _included_codes(conn, scope, statuses, wanted)
    codes = [c for c in codebook.order if codebook.kinds.get(c) != "challenge_group"]
    codes += sorted(coded - set(codes))
    return DatasetStream(
        long=long_head(include_suggested),
        wide=wide_head(include_suggested, dimensions, codes),
        chunks=_chunks(conn, scope, codebook, statuses, wanted,
                       selection_label(include_suggested), dimensions, codes))


class _Reader:
    """Reads and builds one interview's rows of both datasets (plain DB-API queries per
    interview: SQLAlchemy's per-statement cost, paid a few thousand times at N = 1,000,
    was a third of building the datasets)."""

    def __init__(self, conn: Connection, codebook: CodebookInfo, wanted: tuple[str, ...],
                 label: str, dimensions: list[str], codes: list[str], resolvers=None):
        from collections import namedtuple

        from pipeline.store.schema import codings

        self.conn, self.codebook, self.wanted, self.label = conn, codebook, wanted, label
        self.dimensions, self.codes = dimensions, codes
        self.resolvers = resolvers if resolvers is not None else _entity_resolvers(conn)
        self.cursor = conn.connection.driver_connection.cursor()
        self.any_decisions = self.cursor.execute(
            "SELECT 1 FROM decisions LIMIT 1").fetchone() is not None
        coding_columns = [column.name for column in codings.columns]
        self.coding_row = namedtuple("CodingRow", coding_columns, rename=True)
        self.segment_row = namedtuple("SegmentRow", ["id", "interview_id", "ord", "section",
                                                     "question", "text"])
        self.segment_sql = ("SELECT id, interview_id, ord, section, question, text "
                            "FROM segments WHERE interview_id = ? AND status = 'current'")
        self.coding_sql = ("SELECT " + ", ".join(f'c."{name}"' for name in coding_columns)
                           + " FROM codings c JOIN segments s ON s.id = c.segment_id "
                           "WHERE s.interview_id = ? AND s.status = 'current' ORDER BY c.id")
        self.code_at = {code: index for index, code in enumerate(codes)}
        self.dimension_at = {dimension: index for index, dimension in enumerate(dimensions)}

    def rows(self, interview, statuses: dict[int, str], entities: dict | None = None
             ) -> tuple[list[list], list[list]]:
        """The interview's long rows and wide rows, each sorted as in the whole dataset;
        `entities` collects (kind, entity id) -> the name its mentions resolved to."""
        cursor, codebook, wanted, label = self.cursor, self.codebook, self.wanted, self.label
        dimensions, codes = self.dimensions, self.codes
        current = {row[0]: self.segment_row._make(row)
                   for row in cursor.execute(self.segment_sql, (interview.id,))}
        if not current:
            return [], []
        rows, folded = distinct_codings([
            self.coding_row._make(row) for row in cursor.execute(self.coding_sql,
                                                                 (interview.id,))
            if statuses.get(row[0]) in wanted])
        values = _interview_values(interview)
        mentions = _mentions(cursor, self.resolvers, sorted({row.segment_id for row in rows}),
                             entities)
        decided = _decisions(self.conn, [row.id for row in rows], folded) \
            if self.any_decisions else {}
        long_rows = []
        for row in rows:
            segment = current[row.segment_id]
            near = mentions.get(row.segment_id, {"initiatives": [], "actors": []})
            decisions_text, comments = decided.get(row.id, (None, None))
            long_rows.append([
                label, row.id, *values, segment.id,
                f"{interview.pseudonym} ¶{segment.ord}", segment.ord, segment.section,
                segment.question, segment.text, row.code, codebook.labels.get(row.code),
                row.kind, row.dimension, statuses[row.id], row.origin, row.rule_id,
                row.coder or None, row.codebook_version,
                *(int(getattr(row, flag)) for flag in CODING_FLAGS),
                row.reassigned_from, row.reassigned_by, row.evidence_text, row.start,
                row.end, row.sentence, _names_near(near["initiatives"], row),
                _names_near(near["actors"], row), decisions_text, comments])
        order_at = LONG_COLUMNS.index("order")
        start_at, code_col = LONG_COLUMNS.index("start"), LONG_COLUMNS.index("code")
        long_rows.sort(key=lambda r: (r[order_at], r[start_at], r[code_col], r[1]))
        flags: dict[int, list[int]] = {}
        code_at, dimension_at = self.code_at, self.dimension_at
        for row in rows:
            bucket = flags.get(row.segment_id)
            if bucket is None:
                bucket = flags[row.segment_id] = [0] * (len(dimensions) + len(codes))
            bucket[len(dimensions) + code_at[row.code]] = 1
            if row.dimension and row.counts and row.dimension in dimension_at:
                bucket[dimension_at[row.dimension]] = 1
        empty = [0] * (len(dimensions) + len(codes))
        wide_rows = [[label, segment.id, *values, f"{interview.pseudonym} ¶{segment.ord}",
                      segment.ord, segment.section, segment.question, segment.text,
                      *flags.get(segment.id, empty)]
                     for segment in sorted(current.values(), key=lambda s: (s.ord, s.id))]
        return long_rows, wide_rows


def _chunks(conn: Connection, scope: Scope, codebook: CodebookInfo,
            statuses: dict[int, str], wanted: tuple[str, ...], label: str,
            dimensions: list[str], codes: list[str]):
    reader = _Reader(conn, codebook, wanted, label, dimensions, codes)
    for interview in sorted(scope.interviews, key=lambda i: (i.file, i.id)):
        long_rows, wide_rows = reader.rows(interview, statuses)
        if long_rows or wide_rows:
            yield long_rows, wide_rows


def _all_statuses(cursor) -> dict[int, str]:
    """What `coding_statuses(conn)` gives (the same rule, decisions oldest first), read
    through the DB-API cursor: SQLAlchemy rows for 150,000 codings cost a second."""
    from pipeline.coding.decisions import derive_status

    decided: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for coding_id, role, decision in cursor.execute(
            "SELECT coding_id, role, decision FROM decisions ORDER BY time, id"):
        decided[coding_id].append((role, decision))
    return {coding_id: derive_status(bool(produced), decided.get(coding_id, ()),
                                     merged is not None)
            for coding_id, produced, merged in cursor.execute(
                "SELECT id, produced, merged_into FROM codings")}


@dataclass
class RenderedDatasets:
    """Both datasets' heads and, per interview in dataset order, its id and its rendered
    long and wide chunks (pipeline.aggregate.writing.Chunk), from the cache where still
    valid, their CSV and sheet XML bytes as ranges of the files the last run wrote where
    those are intact. `record(dataset, kind, path, placed)` keeps where each chunk went in
    a file just written (DatasetWriter.placed); `release()` closes the last run's files
    once the chunks are written."""

    long: ResultTable
    wide: ResultTable
    chunks: Iterator[tuple[int, object, object]]
    rendered: list[int]  # filled as `chunks` is consumed: interviews rendered, not cached
    # interview id -> its `challenge_counts` (tables.py), complete once `chunks` is
    # consumed: kept with its cached long chunk, so only changed interviews are read
    challenges: dict[int, dict[str, int]]
    record: Callable[[str, str, Path, dict], None]
    release: Callable[[], None]
    shells: object = None  # where the XLSX writer keeps its openpyxl packages (the cache)


def rendered_datasets(conn: Connection, study, *, include_suggested: bool = False,
                      scope: Scope | None = None, codebook: CodebookInfo | None = None,
                      cache=None, parquet: bool = True,
                      read_states: Callable[..., dict] | None = None) -> RenderedDatasets:
    """The datasets as rendered chunks, an interview's rows rendered again only when what
    they are made of changed (pipeline.aggregate.cache: keys, validity). Consume `chunks`
    while `conn` is open; commit the cache once they are exhausted. `read_states(conn,
    sources)`: how to read pipeline.store.interview_states (a run's RunMemory keeps them
    for the report and the manifest, which read the same grouped queries)."""
    import json

    from pipeline.aggregate.cache import (
        DATASET_SOURCES,
        code_version,
        interview_states,
        key_of,
        store_token,
    )
    from pipeline.aggregate.writing import render_chunk
    from pipeline.coding.decisions import coding_statuses

    scope = scope or build_scope(conn, study)
    codebook = codebook or codebook_info(study)
    wanted = included_statuses(include_suggested)
    label = selection_label(include_suggested)
    dimensions = list(scope.dimensions)
    ordered = sorted(scope.interviews, key=lambda i: (i.file, i.id))
    cursor = conn.connection.driver_connection.cursor()
    if cache is not None:
        cache.follow_store(dict(cursor.execute("SELECT table_name, version "
                                               "FROM data_versions")), store_token(cursor))
    states = read_states(conn, DATASET_SOURCES) if read_states is not None \
        else interview_states(cursor)
    resolvers = _entity_resolvers(conn)
    common = [code_version(), label, parquet, sorted(codebook.labels.items())]
    long = long_head(include_suggested)
    long_name = f"{long.name}:{label}"
    long_global = key_of(common, long.title, long.columns, long.notes)
    values = {i.id: _interview_values(i) for i in ordered}
    long_keys = {i.id: key_of(long_global, i.id, values[i.id], states.get(i.id))
                 for i in ordered}

    def still_named(entities) -> bool:
        return all(resolvers[kind][2](entity_id) == name for kind, entity_id, name in entities)

    codes_of: dict[int, set[str]] = {}
    challenges: dict[int, dict[str, int]] = {}
    cached_long = cache.keys(long_name) if cache is not None else {}
    for interview in ordered:
        entry = cached_long.get(interview.id)
        if entry is not None and entry[0] == long_keys[interview.id]:
            extra = json.loads(entry[1])
            if "challenges" in extra:
                challenges[interview.id] = extra["challenges"]
                if still_named(extra["entities"]):
                    codes_of[interview.id] = set(extra["codes"])
    long_misses = [i.id for i in ordered if i.id not in codes_of]

    statuses: dict[int, str] = {}
    whole_store = [False]

    def need_statuses(interview_ids: list[int]) -> None:
        if whole_store[0]:
            return
        if len(interview_ids) > max(20, len(ordered) // 10):
            statuses.update(_all_statuses(cursor))
            whole_store[0] = True
            return
        for interview_id in interview_ids:
            statuses.update(coding_statuses(conn, interview_id=interview_id))

    need_statuses(long_misses)
    coded = set().union(*codes_of.values()) if codes_of else set()
    if long_misses:
        missing = set(long_misses)
        if whole_store[0]:
            found = cursor.execute(
                "SELECT c.id, c.code, s.interview_id FROM codings c "
                "JOIN segments s ON s.id = c.segment_id WHERE s.status = 'current'")
        else:
            marks = ",".join("?" * len(missing))
            found = cursor.execute(
                "SELECT c.id, c.code, s.interview_id FROM codings c "
                "JOIN segments s ON s.id = c.segment_id WHERE s.status = 'current' "
                f"AND s.interview_id IN ({marks})", sorted(missing))
        coded.update(code for coding_id, code, interview_id in found
                     if interview_id in missing and statuses.get(coding_id) in wanted)
    codes = [c for c in codebook.order if codebook.kinds.get(c) != "challenge_group"]
    codes += sorted(coded - set(codes))
    wide = wide_head(include_suggested, dimensions, codes)
    wide_name = f"{wide.name}:{label}"
    wide_global = key_of(common, wide.title, wide.columns, wide.notes)
    wide_keys = {i.id: key_of(wide_global, i.id, values[i.id], states.get(i.id))
                 for i in ordered}
    cached_wide = cache.keys(wide_name) if cache is not None else {}
    wide_misses = [i.id for i in ordered
                   if (cached_wide.get(i.id) or ("",))[0] != wide_keys[i.id]]
    rendered: list[int] = []
    flags_from = len(WIDE_FIXED_COLUMNS)
    code_col = LONG_COLUMNS.index("code")
    tally_at = (LONG_COLUMNS.index("kind"), LONG_COLUMNS.index("negated"), code_col)

    previous = {(name, kind): cache.previous_file(f"{name}:{kind}")
                for name in (long_name, wide_name) for kind in ("csv", "xlsx")} \
        if cache is not None else {}

    def from_cache(name: str, interview_id: int, key: str):
        """The cached chunk, its text spliced from the last run's files where it can."""
        chunk = cache.get(name, interview_id, key)
        if chunk is None or not chunk.rows:
            return chunk  # an empty chunk has no text
        chunk.csv = _placed_range(previous.get((name, "csv")), interview_id, chunk.digest)
        chunk.xml = _placed_range(previous.get((name, "xlsx")), interview_id, chunk.digest)
        if chunk.csv is None or chunk.xml is None:
            text = cache.text(name, interview_id, key)
            if text is None:
                return None
            chunk.csv = text[0] if chunk.csv is None else chunk.csv
            chunk.xml = text[1] if chunk.xml is None else chunk.xml
        return chunk

    def chunks():
        need_statuses(sorted(set(wide_misses) - set(long_misses)))
        reader = _Reader(conn, codebook, wanted, label, dimensions, codes, resolvers)
        seen = {"long": 0, "wide": 0}  # rows so far: the first 200 need cell widths
        width = {"long": len(long.columns), "wide": len(wide.columns)}

        def usable(chunk, which: str):
            if chunk is not None and seen[which] < 200 \
                    and len(chunk.widths) < min(chunk.rows, 200) * width[which]:
                return None  # cached without widths, now among the first rows
            return chunk

        for interview in ordered:
            long_chunk = wide_chunk = None
            if cache is not None:
                if interview.id in codes_of:
                    long_chunk = usable(from_cache(long_name, interview.id,
                                                   long_keys[interview.id]), "long")
                if (cached_wide.get(interview.id) or ("",))[0] == wide_keys[interview.id]:
                    wide_chunk = usable(from_cache(wide_name, interview.id,
                                                   wide_keys[interview.id]), "wide")
            if long_chunk is None or wide_chunk is None:
                if not whole_store[0]:
                    statuses.update(coding_statuses(conn, interview_id=interview.id))
                entities: dict = {}
                long_rows, wide_rows = reader.rows(interview, statuses, entities)
                rendered.append(interview.id)
                challenges[interview.id] = challenge_tally(long_rows, *tally_at)
                if long_chunk is None:
                    long_chunk = render_chunk(long, long_rows, parquet=parquet,
                                              widths=seen["long"] < 200)
                    if cache is not None:
                        extra = {"codes": sorted({row[code_col] for row in long_rows}),
                                 "challenges": challenges[interview.id],
                                 "entities": sorted([kind, entity_id, name] for
                                                    (kind, entity_id), name in entities.items())}
                        cache.put(long_name, interview.id, long_keys[interview.id],
                                  long_chunk, json.dumps(extra, ensure_ascii=False))
                if wide_chunk is None:
                    wide_chunk = render_chunk(wide, wide_rows, flags_from=flags_from,
                                              parquet=parquet, widths=seen["wide"] < 200)
                    if cache is not None:
                        cache.put(wide_name, interview.id, wide_keys[interview.id],
                                  wide_chunk)
            seen["long"] += long_chunk.rows
            seen["wide"] += wide_chunk.rows
            yield interview.id, long_chunk, wide_chunk
        if cache is not None:
            kept = {i.id for i in ordered}
            cache.keep_only(long_name, kept)
            cache.keep_only(wide_name, kept)

    def record(dataset: str, kind: str, path: Path, placed: dict) -> None:
        if cache is not None:
            cache.record_file(f"{dataset}:{label}:{kind}", path, placed)

    def release() -> None:
        for found in previous.values():
            if found is not None:
                found[0].close()

    return RenderedDatasets(long=long, wide=wide, chunks=chunks(), rendered=rendered,
                            challenges=challenges, record=record, release=release,
                            shells=cache)


def _placed_range(previous, interview_id: int, digest: str):
    """Where the chunk with `digest` sits in a previous file (`ChunkCache.previous_file`),
    as a FileRange; None when it is not there."""
    from pipeline.aggregate.writing import FileRange

    if previous is None:
        return None
    handle, entries = previous
    entry = entries.get(interview_id)
    if entry is None or entry[0] != digest:
        return None
    return FileRange(handle, entry[1], entry[2])


def _collected(stream: DatasetStream) -> tuple[ResultTable, ResultTable]:
    for long_rows, wide_rows in stream.chunks:
        stream.long.rows.extend(long_rows)
        stream.wide.rows.extend(wide_rows)
    return stream.long, stream.wide


def coded_long(conn: Connection, study, *, include_suggested: bool = False,
               scope: Scope | None = None, codebook: CodebookInfo | None = None,
               register=None) -> ResultTable:
    """One row per counted coding, with its interview's metadata, segment and evidence
    (the whole dataset in memory: for tests and small studies)."""
    return _collected(dataset_stream(conn, study, include_suggested=include_suggested,
                                     scope=scope, codebook=codebook, register=register))[0]


def coded_wide(conn: Connection, study, *, include_suggested: bool = False,
               scope: Scope | None = None, codebook: CodebookInfo | None = None,
               register=None) -> ResultTable:
    """One row per current segment: a 0/1 column per dimension and per code (the whole
    dataset in memory: for tests and small studies)."""
    return _collected(dataset_stream(conn, study, include_suggested=include_suggested,
                                     scope=scope, codebook=codebook, register=register))[1]
