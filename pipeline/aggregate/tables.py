"""The study's tables, computed from the store and the register every time.

The definitions are the study's (reference/study_method_extracts.md, Tables 3, 4, 7, 8):

- response rates per city from the register: contacted = every row; replies = declined +
  replied_not_interviewed + interviewed; rejections = declined; non-replies = no_reply;
  success rate = interviewed / contacted; response rate = interviewed / replies (blank when
  a denominator is 0);
- interviewees per city and stakeholder category: the current (active) interviews, with
  the city and category of their metadata;
- actors and initiatives per city and dimension: confirmed existing initiatives, each
  counted in every dimension it has, and the distinct actors linked to them; the total as
  the study reports it is the sum over dimensions, so an initiative with two dimensions
  counts twice there and once in `distinct_initiatives`;
- partnerships per city and type: confirmed existing partnerships, each once; confirmed
  planned ones are listed in a table of their own and never counted;
- challenges per city: accepted challenge codings (negated ones left out), counted per
  interview and per coding (a passage several coders coded alike counts once);
- good and promising practices per dimension, and an overview of each practice.

Entity state comes only from the entity tables' own columns (kept derived from reviewers'
decisions by the entity review); coding status only from `coding_statuses`. With a round,
the register rows of that round, the interviews their rows name, and the entities those
interviews mention are in scope.
"""

from __future__ import annotations

import json
import unicodedata
from collections import defaultdict, namedtuple
from dataclasses import dataclass, field
from pathlib import PurePath

from sqlalchemy import select
from sqlalchemy.engine import Connection

from pipeline.errors import CityQDAError

NO_CITY = "(no city)"
RATING_CRITERIA = ("practicality", "innovation", "successfulness", "transferability",
                   "sustainability", "strategic_fit")
_RATING_ALIASES = {"innovativeness": "innovation", "innovative": "innovation",
                   "practical": "practicality", "success": "successfulness",
                   "transferable": "transferability", "sustainable": "sustainability",
                   "strategic": "strategic_fit", "fit": "strategic_fit"}
VERDICTS = ("good_practice", "promising_practice")
PERCENT = "0%"
DESCRIPTION_LIMIT = 600
TABLE_NAMES = ("response_rates", "interviewees", "initiatives_by_dimension",
               "partnerships_by_type", "partnerships_planned", "challenges", "good_practices",
               "practice_overview")


@dataclass
class ResultTable:
    """A table as it is written: rows sorted, numbers as int/float, None for a blank cell.

    `totals` (same length as `columns`, or None) is written after the rows as the study's
    Total row; it is kept out of `rows` so per-city rows can be filtered. `number_formats`
    maps a column to an Excel number format (rates are fractions shown as percentages).
    """

    name: str
    title: str
    columns: list[str]
    rows: list[list]
    notes: list[str]
    totals: list | None = None
    number_formats: dict[str, str] = field(default_factory=dict)

    def column(self, name: str) -> list:
        index = self.columns.index(name)
        return [row[index] for row in self.rows]

    def as_dicts(self) -> list[dict]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def city_sort_key(name: str) -> tuple[str, str]:
    """Cities sort by their letters without accents (São Paulo beside Seoul), then as written."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return (plain.casefold(), name)


def normalise_key(value) -> str:
    return "_".join(str(value).strip().lower().replace("-", " ").split())


def verdict_of(value) -> str | None:
    """`good_practice`, `promising_practice` or None, from the wordings reviewers use."""
    if not value:
        return None
    key = normalise_key(value)
    if key in ("good", "good_practice", "good_practices"):
        return "good_practice"
    if key in ("promising", "promising_practice", "promising_practices"):
        return "promising_practice"
    return None


def ratings_of(value) -> dict[str, str | None]:
    """The six criteria's ratings from the stored JSON (a mapping; keys folded)."""
    found: dict[str, str | None] = dict.fromkeys(RATING_CRITERIA)
    try:
        data = json.loads(value) if isinstance(value, str) and value else value
    except ValueError:
        return found
    if isinstance(data, dict):
        for key, rating in data.items():
            name = normalise_key(key)
            name = _RATING_ALIASES.get(name, name)
            if name in found and rating is not None:
                found[name] = str(rating)
    return found


def json_list(value) -> list | None:
    """A JSON list from an entity column, [] when empty, None when unreadable."""
    if value is None or value == "":
        return []
    try:
        data = json.loads(value)
    except (TypeError, ValueError):
        return None
    return data if isinstance(data, list) else None


# --- the scope: register, interviews, entities --------------------------------------------

@dataclass
class Interview:
    id: int
    file: str
    path: str
    city: str
    category: str | None
    round: str | None
    pseudonym: str
    metadata: dict
    register_row: object = None  # its row in the register (RegisterRow), None when none


@dataclass
class Scope:
    """What a set of tables is about: the register rows and interviews of a round (or all),
    and the study's vocabularies and cities."""

    round: str | None
    register: object  # pipeline.ingest.register.Register
    register_rows: list
    interviews: list[Interview]
    all_interviews: list[Interview]
    dimensions: list[str]
    categories: list[str]
    partnership_types: list[str]

    def canonical_city(self, name: str | None) -> str:
        if not name:
            return NO_CITY
        return self.register.canonical_city(name) or name

    @property
    def interview_ids(self) -> set[int]:
        return {i.id for i in self.interviews}


def load_study_register(study, register=None):
    """The study's register (an empty one when the file is missing); CityQDAError when
    it is broken."""
    from pipeline.ingest.register import load_register, transcript_paths

    if register is None:
        register = load_register(study.path("register"), study.vocabularies)
    register.note_transcripts(transcript_paths(study.path("transcripts")))
    return register


def _metadata_value(metadata: dict, name: str):
    state = metadata.get(name) or {}
    return state.get("value") if isinstance(state, dict) else None


def build_scope(conn: Connection, study, *, round: str | None = None,
                register=None) -> Scope:
    from pipeline.store.schema import interviews

    register = load_study_register(study, register)
    if round is not None:
        rounds = sorted({str(r.round) for r in register.rows if r.round is not None})
        if str(round) not in rounds:
            raise CityQDAError("CQ721", round=str(round),
                               known=", ".join(rounds) or "(the register has no rows)")
    found = []
    for row in conn.execute(select(interviews.c.id, interviews.c.file, interviews.c.path,
                                   interviews.c.metadata)
                            .where(interviews.c.status == "active")
                            .order_by(interviews.c.file, interviews.c.path, interviews.c.id)):
        metadata = json.loads(row.metadata or "{}")
        register_row = register.row_for_file(row.file, row.path)
        city_value = _metadata_value(metadata, "city")
        if not city_value and register_row is not None:
            city_value = register_row.city
        city = (register.canonical_city(city_value) or city_value) if city_value else NO_CITY
        category = _metadata_value(metadata, "stakeholder_category")
        if not category and register_row is not None:
            category = register_row.category
        pseudonym = (register_row.pseudonym if register_row is not None
                     and register_row.pseudonym else PurePath(row.file).stem)
        found.append(Interview(id=row.id, file=row.file, path=row.path, city=city,
                               category=category,
                               round=str(register_row.round) if register_row is not None
                               and register_row.round is not None else None,
                               pseudonym=pseudonym, metadata=metadata,
                               register_row=register_row))
    in_round = [i for i in found if round is None or i.round == str(round)]
    rows = [r for r in register.rows if round is None or str(r.round) == str(round)]
    vocab = study.vocabularies
    return Scope(round=None if round is None else str(round), register=register,
                 register_rows=rows, interviews=in_round, all_interviews=found,
                 dimensions=list(vocab["dimensions"]), categories=list(vocab["categories"]),
                 partnership_types=list(vocab["partnership_types"]))


def mentioned_entities(conn: Connection, mention_table, key: str,
                       interview_ids: set[int]) -> set[int]:
    """Entities with a current mention in the given interviews."""
    from pipeline.store.schema import segments

    found = set()
    query = (select(mention_table.c[key], segments.c.interview_id)
             .join(segments, segments.c.id == mention_table.c.segment_id)
             .where(mention_table.c.produced == 1, segments.c.status == "current"))
    for entity_id, interview_id in conn.execute(query):
        if interview_id in interview_ids:
            found.add(entity_id)
    return found


def confirmed_initiatives(conn: Connection, scope: Scope, *, status: str | None = "existing"):
    """Confirmed initiatives (of a status) in scope, as rows, sorted by id."""
    from pipeline.store.schema import initiative_mentions, initiatives

    query = select(initiatives).where(initiatives.c.review_status == "confirmed")
    if status is not None:
        query = query.where(initiatives.c.status == status)
    rows = conn.execute(query.order_by(initiatives.c.id)).all()
    if scope.round is not None:
        mentioned = mentioned_entities(conn, initiative_mentions, "initiative_id",
                                       scope.interview_ids)
        rows = [r for r in rows if r.id in mentioned]
    return rows


def confirmed_partnerships(conn: Connection, scope: Scope, *, status: str = "existing"):
    from pipeline.store.schema import partnership_mentions, partnerships

    rows = conn.execute(select(partnerships).where(
        partnerships.c.review_status == "confirmed", partnerships.c.status == status)
        .order_by(partnerships.c.id)).all()
    if scope.round is not None:
        mentioned = mentioned_entities(conn, partnership_mentions, "partnership_id",
                                       scope.interview_ids)
        rows = [r for r in rows if r.id in mentioned]
    return rows


def resolved_actor_ids(conn: Connection) -> dict[int, int | None]:
    """Actor id -> the actor it stands for now (itself, its merge target), None when
    rejected."""
    # the DB-API cursor: SQLAlchemy rows for every actor cost a tenth of a second
    status = dict(conn.connection.driver_connection.cursor().execute(
        "SELECT id, review_status FROM actors"))

    def resolve(actor_id: int, seen: tuple = ()) -> int | None:
        state = status.get(actor_id)
        if state is None or state == "rejected" or actor_id in seen:
            return None
        if state.startswith("merged_into:"):
            try:
                target = int(state.split(":", 1)[1])
            except ValueError:
                return None
            return resolve(target, (*seen, actor_id))
        return actor_id

    return {actor_id: resolve(actor_id) for actor_id in status}


def _rate(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else round(numerator / denominator, 4)


def _scope_note(scope: Scope) -> str:
    return f"Round {scope.round} only." if scope.round is not None else "All rounds."


def study_cities(conn: Connection, scope: Scope) -> list[str]:
    """Every city the tables show a row for: the register's cities sheet and rows in scope,
    and the cities of the interviews in scope."""
    cities = {c.name for c in scope.register.cities}
    cities.update(scope.canonical_city(r.city) for r in scope.register_rows)
    cities.update(i.city for i in scope.interviews)
    return sorted(cities, key=city_sort_key)


# --- the tables --------------------------------------------------------------------------

def response_rates(scope: Scope, cities: list[str]) -> ResultTable:
    counts = {city: defaultdict(int) for city in cities}
    for row in scope.register_rows:
        city = scope.canonical_city(row.city)
        counts.setdefault(city, defaultdict(int))[row.outcome] += 1
    columns = ["city", "contacted", "replies", "rejections", "non_replies", "interviewed",
               "success_rate", "response_rate"]

    def line(label: str, outcome: dict) -> list:
        declined = outcome.get("declined", 0)
        interviewed = outcome.get("interviewed", 0)
        replies = declined + outcome.get("replied_not_interviewed", 0) + interviewed
        contacted = sum(outcome.values())
        return [label, contacted, replies, declined, outcome.get("no_reply", 0), interviewed,
                _rate(interviewed, contacted), _rate(interviewed, replies)]

    rows = [line(city, counts[city]) for city in sorted(counts, key=city_sort_key)]
    total: dict = defaultdict(int)
    for outcome in counts.values():
        for key, value in outcome.items():
            total[key] += value
    return ResultTable(
        name="response_rates", title="Interview response rate per city",
        columns=columns, rows=rows, totals=line("Total", total),
        number_formats={"success_rate": PERCENT, "response_rate": PERCENT},
        notes=[_scope_note(scope),
               "From the register: contacted = every row; replies = declined + "
               "replied_not_interviewed + interviewed; rejections = declined; non_replies = "
               "no_reply.",
               "success_rate = interviewed / contacted; response_rate = interviewed / "
               "replies; blank when the denominator is 0. Rates are fractions (0.35 = 35%)."])


def interviewees(scope: Scope, cities: list[str]) -> ResultTable:
    categories = list(scope.categories)
    counts = {city: defaultdict(int) for city in cities}
    unknown = False
    for interview in scope.interviews:
        category = interview.category if interview.category in categories else "unknown"
        unknown = unknown or category == "unknown"
        counts.setdefault(interview.city, defaultdict(int))[category] += 1
    shown = categories + (["unknown"] if unknown else [])
    rows = [[city, *(counts[city].get(c, 0) for c in shown),
             sum(counts[city].values())] for city in sorted(counts, key=city_sort_key)]
    totals = ["Total", *(sum(row[i + 1] for row in rows) for i in range(len(shown) + 1))]
    notes = [_scope_note(scope),
             "Current (active) interviews, by the city and stakeholder category of their "
             "metadata (the register fills in what a transcript leaves out)."]
    if unknown:
        notes.append("unknown = interviews whose category is missing or not one of the "
                     "study's categories (see `cityqda status`).")
    return ResultTable(name="interviewees", title="Stakeholders interviewed per city and "
                       "category", columns=["city", *shown, "total"], rows=rows,
                       totals=totals, notes=notes)


def initiative_dimensions(row, dimensions: list[str]) -> list[str]:
    """The study dimensions an initiative has, each once, in the study's order."""
    listed = json_list(row.dimensions) or []
    return [d for d in dimensions if d in listed]


def initiatives_by_dimension(conn: Connection, scope: Scope, cities: list[str]) -> ResultTable:
    dimensions = scope.dimensions
    rows_in = confirmed_initiatives(conn, scope)
    resolved = resolved_actor_ids(conn)
    links: dict[int, set[int]] = defaultdict(set)
    for initiative_id, actor_id in conn.connection.driver_connection.cursor().execute(
            "SELECT initiative_id, actor_id FROM initiative_actors"):
        target = resolved.get(actor_id)
        if target is not None:
            links[initiative_id].add(target)
    per_city: dict[str, dict] = {city: {"initiatives": defaultdict(set),
                                        "actors": defaultdict(set), "distinct": set(),
                                        "all_actors": set()} for city in cities}
    for row in rows_in:
        city = scope.canonical_city(row.city)
        bucket = per_city.setdefault(city, {"initiatives": defaultdict(set),
                                            "actors": defaultdict(set), "distinct": set(),
                                            "all_actors": set()})
        dims = initiative_dimensions(row, dimensions)
        for dimension in dims:
            bucket["initiatives"][dimension].add(row.id)
            bucket["actors"][dimension].update(links.get(row.id, ()))
        if dims:
            bucket["distinct"].add(row.id)
            bucket["all_actors"].update(links.get(row.id, ()))
    columns = ["city"]
    for dimension in dimensions:
        columns += [f"{dimension}_actors", f"{dimension}_initiatives"]
    columns += ["total_initiatives", "distinct_initiatives", "distinct_actors"]
    rows = []
    for city in sorted(per_city, key=city_sort_key):
        bucket = per_city[city]
        row = [city]
        for dimension in dimensions:
            row += [len(bucket["actors"][dimension]), len(bucket["initiatives"][dimension])]
        row += [sum(len(bucket["initiatives"][d]) for d in dimensions),
                len(bucket["distinct"]), len(bucket["all_actors"])]
        rows.append(row)
    totals = ["Total", *(sum(row[i] for row in rows) for i in range(1, len(columns)))]
    return ResultTable(
        name="initiatives_by_dimension",
        title="Initiatives and actors per city and policy dimension", columns=columns,
        rows=rows, totals=totals,
        notes=[_scope_note(scope),
               "Confirmed initiatives with status existing. An initiative counts in every "
               "dimension it has: total_initiatives is the sum over dimensions, as the study "
               "reports it; distinct_initiatives counts each initiative once.",
               "<dimension>_actors: distinct actors linked to that dimension's initiatives "
               "(rejected actors left out, merged ones counted as the actor they were merged "
               "into). The Total row adds up the cities, as the study's table does."])


def partnership_parties(conn: Connection) -> dict[int, list[str]]:
    from pipeline.store.schema import actors, partnership_parties

    names: dict[int, list[str]] = defaultdict(list)
    for partnership_id, name in conn.execute(
            select(partnership_parties.c.partnership_id, actors.c.name)
            .join(actors, actors.c.id == partnership_parties.c.actor_id)):
        names[partnership_id].append(name)
    return {key: sorted(value, key=str.casefold) for key, value in names.items()}


def partnerships_by_type(conn: Connection, scope: Scope, cities: list[str]) -> ResultTable:
    types = scope.partnership_types
    counts = {city: defaultdict(int) for city in cities}
    for row in confirmed_partnerships(conn, scope):
        city = scope.canonical_city(row.city)
        bucket = counts.setdefault(city, defaultdict(int))
        if row.type in types:
            bucket[row.type] += 1
    rows = [[city, *(counts[city].get(t, 0) for t in types),
             sum(counts[city].get(t, 0) for t in types)]
            for city in sorted(counts, key=city_sort_key)]
    totals = ["Total", *(sum(row[i + 1] for row in rows) for i in range(len(types) + 1))]
    return ResultTable(
        name="partnerships_by_type", title="Partnerships per city and type",
        columns=["city", *types, "total"], rows=rows, totals=totals,
        notes=[_scope_note(scope),
               "Confirmed partnerships with status existing, each counted once under its "
               "type; planned partnerships are listed in partnerships_planned and not "
               "counted here."])


def partnerships_planned(conn: Connection, scope: Scope) -> ResultTable:
    parties = partnership_parties(conn)
    rows = []
    for row in confirmed_partnerships(conn, scope, status="planned"):
        rows.append([scope.canonical_city(row.city), " + ".join(parties.get(row.id, [])),
                     row.type, row.status, row.id])
    rows.sort(key=lambda r: (city_sort_key(r[0]), r[1].casefold(), r[4]))
    return ResultTable(
        name="partnerships_planned", title="Planned partnerships (listed, not counted)",
        columns=["city", "parties", "type", "status", "partnership_id"], rows=rows,
        notes=[_scope_note(scope), "Confirmed partnerships with status planned."])


def included_statuses(include_suggested: bool) -> tuple[str, ...]:
    return ("accepted", "suggested") if include_suggested else ("accepted",)


def selection_label(include_suggested: bool) -> str:
    return "accepted and suggested" if include_suggested else "accepted"


@dataclass
class CodebookInfo:
    labels: dict[str, str]  # code id -> label
    order: list[str]  # code ids in codebook order
    kinds: dict[str, str]  # code id -> dimension | subcode | challenge_group | challenge
    problem: object = None  # a CQ732 Problem when the codebook could not be read


_CODEBOOK_CACHE: dict[str, CodebookInfo] = {}


def codebook_info(study, kept=None) -> CodebookInfo:
    """Labels and order of the study's codes, read from the codebook's YAML without
    validating or compiling it (`code` does that; labels need neither); empty, with a
    CQ732 warning, when it cannot be read, since the codings carry their codes anyway.
    `kept` (the aggregate's chunk cache: `remembered`/`remember`) keeps them between
    runs by the codebook's hash: parsing the YAML cost a tenth of a rerun's aggregate."""
    import hashlib

    import yaml

    from pipeline.errors import Problem

    path = study.path("codebook")
    try:
        data = path.read_bytes()
        key = hashlib.sha256(data).hexdigest()
        if key in _CODEBOOK_CACHE:
            _remember_codebook(kept, key, _CODEBOOK_CACHE[key])
            return _CODEBOOK_CACHE[key]
        known = _kept_codebook(kept, key)
        if known is not None:
            return known
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        document = yaml.load(data.decode("utf-8"), Loader=loader)  # noqa: S506 - safe loader
        entries = document.get("codes") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            raise ValueError("it has no list of codes")
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
        return CodebookInfo({}, [], {}, Problem("CQ732", {"path": str(path),
                                                          "problem": reason}, file=str(path)))
    labels, order, kinds = {}, [], {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            continue
        code_id = entry["id"]
        labels[code_id] = str(entry.get("label") or code_id)
        kinds[code_id] = str(entry.get("kind") or "")
        if not entry.get("retired"):
            order.append(code_id)
    info = CodebookInfo(labels, order, kinds)
    _CODEBOOK_CACHE[key] = info
    _remember_codebook(kept, key, info)
    return info


def _remember_codebook(kept, codebook_sha256: str, info: CodebookInfo) -> None:
    """Keep the labels in `kept` unless it has them (read in this process before)."""
    if kept is None:
        return
    value = json.dumps([_codebook_key(codebook_sha256), info.labels, info.order,
                        info.kinds], ensure_ascii=False)
    if kept.remembered("codebook") != value:
        kept.remember("codebook", value)


def _codebook_key(codebook_sha256: str) -> str:
    from pipeline.aggregate.cache import code_version

    return f"{codebook_sha256}:{code_version()}"


def _kept_codebook(kept, codebook_sha256: str) -> CodebookInfo | None:
    """The codebook's labels as `kept` has them for this codebook and this code."""
    if kept is None:
        return None
    try:
        key, labels, order, kinds = json.loads(kept.remembered("codebook") or "null")
    except (TypeError, ValueError):
        return None
    if key != _codebook_key(codebook_sha256):
        return None
    info = _CODEBOOK_CACHE[codebook_sha256] = CodebookInfo(labels, order, kinds)
    return info


def passage_key(row) -> tuple:
    """What makes codings one coded passage, counted once however many coders made them:
    the same segment, code, evidence span and flags. Two coders who correct a suggestion
    to the same code, or add the same coding, make one coding record each; the datasets,
    the challenges table and the city reports' review box all count the passage once.
    `row` has segment_id, code, start, end, negated, hypothetical and planned."""
    return (row.segment_id, row.code, row.start, row.end, bool(row.negated),
            bool(row.hypothetical), bool(row.planned))


_ChallengeCoding = namedtuple("_ChallengeCoding", "id code interview_id produced merged_into "
                              "segment_id start end negated hypothetical planned")


def challenge_counts(conn: Connection, interview_ids: set[int], *,
                     include_suggested: bool = False) -> dict[int, dict[str, int]]:
    """Interview id -> challenge code -> how many of its challenge codings count (status
    selected, not negated, on a current segment): what the challenges table sums. The
    aggregate takes them from its dataset chunks instead (`challenge_tally`) and reads
    only the interviews that changed."""
    from pipeline.coding.decisions import derive_status

    wanted = included_statuses(include_suggested)
    # plain DB-API reads and the status rule of coding_statuses (decisions oldest first):
    # through SQLAlchemy, IN-lists of 50,000 ids took a second at N = 1,000
    cursor = conn.connection.driver_connection.cursor()
    found = [_ChallengeCoding._make(row) for row in cursor.execute(
        "SELECT c.id, c.code, c.interview_id, c.produced, c.merged_into, c.segment_id, "
        "c.start, c.\"end\", c.negated, c.hypothetical, c.planned FROM codings c "
        "JOIN segments s ON s.id = c.segment_id WHERE c.kind = 'challenge' "
        "AND c.negated = 0 AND s.status = 'current' ORDER BY c.id") if row[2] in interview_ids]
    decided: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for coding_id, role, decision in cursor.execute(
            "SELECT d.coding_id, d.role, d.decision FROM decisions d "
            "JOIN codings c ON c.id = d.coding_id WHERE c.kind = 'challenge' "
            "AND c.negated = 0 ORDER BY d.time, d.id"):
        decided[coding_id].append((role, decision))
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    counted: set[tuple] = set()
    for row in found:
        passage = passage_key(row)
        if derive_status(bool(row.produced), decided.get(row.id, ()),
                         row.merged_into is not None) in wanted and passage not in counted:
            counted.add(passage)
            counts[row.interview_id][row.code] += 1
    return {interview_id: dict(codes) for interview_id, codes in counts.items()}


def challenge_tally(long_rows: list[list], kind_at: int, negated_at: int, code_at: int
                    ) -> dict[str, int]:
    """One interview's `challenge_counts` from its long dataset rows (the codings that
    count, on current segments, with their kind and negated flag)."""
    counts: dict[str, int] = defaultdict(int)
    for row in long_rows:
        if row[kind_at] == "challenge" and not row[negated_at]:
            counts[row[code_at]] += 1
    return dict(counts)


def challenges(conn: Connection, scope: Scope, *, include_suggested: bool = False,
               labels: dict[str, str] | None = None,
               counts: dict[int, dict[str, int]] | None = None) -> ResultTable:
    """`counts`: `challenge_counts` of (at least) the interviews in scope, when known."""
    if counts is None:
        counts = challenge_counts(conn, scope.interview_ids,
                                  include_suggested=include_suggested)
    interviews_with: dict[tuple[str, str], set[int]] = defaultdict(set)
    codings_count: dict[tuple[str, str], int] = defaultdict(int)
    for interview in scope.interviews:
        for code, count in counts.get(interview.id, {}).items():
            key = (interview.city, code)
            interviews_with[key].add(interview.id)
            codings_count[key] += count
    labels = labels or {}
    table_rows = [[city, code, labels.get(code, code), len(interviews_with[(city, code)]),
                   codings_count[(city, code)]]
                  for city, code in sorted(codings_count,
                                           key=lambda k: (city_sort_key(k[0]), k[1]))]
    cities_per_code: dict[str, set[str]] = defaultdict(set)
    for city, code in codings_count:
        cities_per_code[code].add(city)
    return ResultTable(
        name="challenges", title="Common challenges per city",
        columns=["city", "challenge", "label", "interviews", "codings"], rows=table_rows,
        notes=[_scope_note(scope),
               f"Challenge codings whose status is {selection_label(include_suggested)}, on "
               "current segments; negated ones are left out.",
               "interviews = interviews in which the challenge was coded; codings = how many "
               "codings.",
               "Cities reporting each challenge: " + ("; ".join(
                   f"{code} {len(cities)}" for code, cities in sorted(cities_per_code.items()))
                   or "none") + "."])


def _practices(conn: Connection, scope: Scope) -> list:
    rows = confirmed_initiatives(conn, scope, status=None)
    return [r for r in rows if verdict_of(r.verdict) is not None]


def good_practices(conn: Connection, scope: Scope) -> ResultTable:
    practices = _practices(conn, scope)
    counts = {d: {v: 0 for v in VERDICTS} for d in scope.dimensions}
    distinct = {v: 0 for v in VERDICTS}
    for row in practices:
        verdict = verdict_of(row.verdict)
        distinct[verdict] += 1
        for dimension in initiative_dimensions(row, scope.dimensions):
            counts[dimension][verdict] += 1
    rows = [[d, counts[d]["good_practice"], counts[d]["promising_practice"],
             counts[d]["good_practice"] + counts[d]["promising_practice"]]
            for d in scope.dimensions]
    return ResultTable(
        name="good_practices", title="Good and promising practices per policy dimension",
        columns=["dimension", "good_practices", "promising_practices", "total"], rows=rows,
        totals=["Total (distinct)", distinct["good_practice"], distinct["promising_practice"],
                distinct["good_practice"] + distinct["promising_practice"]],
        notes=[_scope_note(scope),
               "Confirmed initiatives whose verdict is good practice or promising practice, "
               "counted in each of their dimensions (rows in the study's dimension order); "
               "the Total row counts each practice once."])


def _descriptions(conn: Connection, scope: Scope, initiative_ids: set[int]) -> dict:
    """Initiative id -> (segment label, segment text) of its first current mention.
    Only the practices' mentions are read (every mention's segment text took a tenth of
    a rerun's aggregate at N = 1,000, mostly for no practice at all)."""
    by_id = {i.id: i for i in scope.all_interviews}
    in_scope = scope.interview_ids
    found: dict[int, list] = defaultdict(list)
    cursor = conn.connection.driver_connection.cursor()
    wanted = sorted(initiative_ids)
    for start in range(0, len(wanted), 500):  # SQLite's parameter limit
        batch = wanted[start:start + 500]
        for initiative_id, interview_id, order, text in cursor.execute(
                "SELECT m.initiative_id, s.interview_id, s.ord, s.text "
                "FROM initiative_mentions m JOIN segments s ON s.id = m.segment_id "
                "WHERE m.produced = 1 AND s.status = 'current' "
                f"AND m.initiative_id IN ({','.join('?' * len(batch))})", batch):
            interview = by_id.get(interview_id)
            if interview is not None and interview_id in in_scope:
                found[initiative_id].append((interview.file, order, interview.pseudonym,
                                             text))
    described = {}
    for initiative_id, mentions in found.items():
        _file, order, pseudonym, text = min(mentions, key=lambda m: (m[0], m[1]))
        if len(text) > DESCRIPTION_LIMIT:
            text = text[:DESCRIPTION_LIMIT - 1].rstrip() + "…"
        described[initiative_id] = (f"{pseudonym} ¶{order}", text)
    return described


def practice_overview(conn: Connection, scope: Scope) -> ResultTable:
    practices = _practices(conn, scope)
    described = _descriptions(conn, scope, {r.id for r in practices})
    rows = []
    for row in practices:
        ratings = ratings_of(row.ratings)
        source, text = described.get(row.id, (None, None))
        rows.append([scope.canonical_city(row.city), row.name, verdict_of(row.verdict),
                     "; ".join(initiative_dimensions(row, scope.dimensions)), row.status,
                     *(ratings[c] for c in RATING_CRITERIA), row.justification, text, source,
                     row.id])
    order = {v: i for i, v in enumerate(VERDICTS)}
    rows.sort(key=lambda r: (city_sort_key(r[0]), order[r[2]], r[1].casefold(), r[-1]))
    return ResultTable(
        name="practice_overview", title="Good and promising practices: overview",
        columns=["city", "name", "verdict", "dimensions", "status", *RATING_CRITERIA,
                 "justification", "description", "evidence", "initiative_id"], rows=rows,
        notes=[_scope_note(scope),
               "Ratings of the study's six criteria (met, partly, not met, unknown) as "
               "reviewers set them; description = the first segment that mentions the "
               "practice (by transcript and order), cut at "
               f"{DESCRIPTION_LIMIT} characters; evidence names that segment."])


def study_tables(conn: Connection, study, *, round: str | None = None,
                 include_suggested: bool = False, register=None,
                 scope: Scope | None = None,
                 codebook: CodebookInfo | None = None,
                 challenge_counts: dict[int, dict[str, int]] | None = None
                 ) -> dict[str, ResultTable]:
    """Every study table, keyed by name (see TABLE_NAMES), for one round or all rounds.

    `register` (a loaded Register) saves reading the file again; without it the study's
    register is read, and a broken register raises CityQDAError. `challenge_counts`: per
    interview, as `challenge_counts` gives them (the aggregate has them from its chunks).
    """
    scope = scope or build_scope(conn, study, round=round, register=register)
    cities = study_cities(conn, scope)
    tables = [
        response_rates(scope, cities),
        interviewees(scope, cities),
        initiatives_by_dimension(conn, scope, cities),
        partnerships_by_type(conn, scope, cities),
        partnerships_planned(conn, scope),
        challenges(conn, scope, include_suggested=include_suggested,
                   labels=(codebook or codebook_info(study)).labels,
                   counts=challenge_counts),
        good_practices(conn, scope),
        practice_overview(conn, scope),
    ]
    return {table.name: table for table in tables}
