"""What a city report says, gathered from the store (entity columns, derived coding status).

Confirmed entities and accepted codings are the findings; suggested and disputed ones are
shown too, marked unreviewed, so a PI sees the whole picture and how much of it is still
unchecked. Rejected and merged entities, rejected or superseded codings never appear.

Quoted passages follow one stated rule (PASSAGE_RULE): for an initiative in a dimension,
the candidates are the dimension codings of that dimension that count as an initiative
mention (not negated, not hypothetical), are accepted or still unreviewed, and lie in a
current segment that mentions the initiative. The passage is the coding's sentence, or its
evidence when the sentence is longer than the limit; longer evidence is not quoted.
Accepted codings come first, then passages whose sentence holds the initiative's name,
then longer passages, ties by interview pseudonym and position. At most two, never the
same text twice. Every passage is cut from the interview's stored plain text by offset,
so it is verbatim.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.engine import Connection

from pipeline.aggregate.tables import passage_key
from pipeline.store.schema import (
    codings,
    decisions,
    initiative_mentions,
    initiatives,
    interviews,
    partnership_mentions,
    partnerships,
    segments,
)

PASSAGE_WORDS = 60
PASSAGES_PER_ENTRY = 2
SHOWN_STATUSES = ("confirmed", "suggested", "disputed")
UNREVIEWED = ("suggested", "disputed")
QUOTABLE_CODINGS = ("accepted", "suggested", "disputed")
PASSAGE_RULE = (
    f"Quoted passages (at most {PASSAGES_PER_ENTRY} per initiative and dimension, "
    f"{PASSAGE_WORDS} words or fewer each) come from dimension codings of that dimension that "
    "count as an initiative mention (not negated, not hypothetical) in a segment that names "
    "the initiative. The passage is the coding's sentence, or its evidence when the sentence "
    f"is longer than {PASSAGE_WORDS} words. Accepted codings come first, then passages whose "
    "sentence names the initiative, then longer passages; ties go by interview pseudonym "
    "and position in the interview. Passages from codings nobody has reviewed yet are "
    "marked [unreviewed].")


@dataclass
class InterviewRef:
    id: int
    pseudonym: str
    category: str | None
    date: str | None
    mode: str | None
    organisation: str | None
    position: str | None
    round: str | None


@dataclass
class Passage:
    text: str
    pseudonym: str
    interview_id: int
    order: int
    start: int
    end: int
    accepted: bool


@dataclass
class InitiativeEntry:
    id: int
    name: str
    status: str | None
    review_status: str
    dimensions: list[str]
    actors: list[str]
    passages: dict[str, list[Passage]] = field(default_factory=dict)
    verdict: str | None = None
    ratings: dict[str, str | None] = field(default_factory=dict)
    justification: str | None = None

    @property
    def unreviewed(self) -> bool:
        return self.review_status in UNREVIEWED


@dataclass
class PartnershipEntry:
    id: int
    parties: list[str]
    type: str | None
    status: str | None
    review_status: str


@dataclass
class ChallengeEntry:
    code: str
    label: str
    accepted_interviews: int
    unreviewed_interviews: int


@dataclass
class CityContent:
    city: str
    interviews: list[InterviewRef]
    initiatives: list[InitiativeEntry]
    partnerships: list[PartnershipEntry]
    challenges: list[ChallengeEntry]
    coding_counts: dict[str, int]
    entity_counts: dict[str, dict[str, int]]

    def in_dimension(self, dimension: str) -> list[InitiativeEntry]:
        return [i for i in self.initiatives if dimension in i.dimensions]


def _words(text: str) -> int:
    return len(text.split())


def _value(metadata: dict, name: str):
    state = metadata.get(name) or {}
    return state.get("value") if isinstance(state, dict) else None


def _shown(review_status: str | None) -> bool:
    return review_status in SHOWN_STATUSES


CHUNK = 500  # ids per IN list, well under SQLite's variable limit
ENTITY_KINDS = {"initiatives": initiatives, "partnerships": partnerships}

def _rows_text(columns: str) -> str:
    """SQL for one row as text: every column quoted (NULL too), comma-separated."""
    return " || ',' || ".join(f"quote({c.strip()})" for c in columns.split(","))


# What a city's content is read from, per interview: its row (version, hash, purge flag),
# its state in the tables it is read from (pipeline.store.interview_states: count and
# largest id of its rows, and its in-place change counter), and its partnership mentions
# row by row (entity merges change them in place without a counter; they are few). A few
# grouped queries instead of reading the 150,000 codings of a 1,000-interview study. An
# order that changed could only make a city be read again, never keep a changed one.
SIGNATURE_STATE_SOURCES = ("interview_changes", "segments", "codings", "decisions",
                           "initiative_mentions")
_SIGNATURE_QUERIES = (
    "SELECT id, " + _rows_text("version, sha256, purged") + " FROM interviews ORDER BY id",
    "SELECT s.interview_id, group_concat("
    + _rows_text('m.id, m.partnership_id, m.segment_id, m.start, m."end", m.produced')
    + ", ';') FROM partnership_mentions m JOIN segments s ON s.id = m.segment_id "
    "GROUP BY s.interview_id ORDER BY s.interview_id",
)


def read_interview_states(conn: Connection, sources) -> dict[int, list]:
    """pipeline.store.interview_states over a plain cursor of `conn`."""
    from pipeline.store.interview_states import interview_states

    cursor = conn.connection.driver_connection.cursor()
    try:
        return interview_states(cursor, sources)
    finally:
        cursor.close()


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK)] or [[]]


class StudyReader:
    """Reads what the city reports need one city at a time (its interviews' segments,
    codings, mentions and texts), so memory does not grow with the number of cities; what
    every city shares (coding statuses, actors, entity rows) is read once."""

    def __init__(self, conn: Connection, study, scope, pseudonyms: dict[int, str],
                 labels: dict[str, str]):
        self.conn = conn
        self.study = study
        self.scope = scope
        self.pseudonyms = pseudonyms
        self.labels = labels
        self.dimensions = list(scope.dimensions)
        self.statuses: dict[int, str] = {}  # of the city being read
        self.decision_count = 0  # decisions on the codings of the city being read
        self._plain: dict[int, tuple[int, str | None]] = {}
        self._by_city: dict[str, list] | None = None
        # Entity rows by canonical city, with their actors: read for the cities whose
        # content is read (read_entities), not for every city of the study in a rerun.
        self.entities: dict[str, dict[str, list]] = {name: defaultdict(list)
                                                     for name in ENTITY_KINDS}
        self.initiative_links: dict[int, set] = defaultdict(set)
        self.parties: dict[int, set] = defaultdict(set)
        self._entities_read: set[str] | None = set()  # None: every city's

    def read_entities(self, cities: list[str] | None = None) -> None:
        """Read the entity rows of `cities` (None: of every city) and their actors, unless
        read already; plain DB-API cursors (SQLAlchemy's row objects cost most of this for
        ~5,000 entities and ~8,000 links at N = 1,000)."""
        if self._entities_read is None:
            return
        wanted = None if cities is None else set(cities) - self._entities_read
        if wanted is not None and not wanted:
            return
        if wanted is None:  # start again: rows of cities read before are read again
            for by_city in self.entities.values():
                by_city.clear()
        from pipeline.aggregate.tables import resolved_actor_ids

        cursor = self.conn.connection.driver_connection.cursor()
        try:
            resolved = resolved_actor_ids(self.conn)
            actor_names = dict(cursor.execute("SELECT id, name FROM actors"))
            spellings = None if wanted is None else [
                spelling for spelling, city in self.entity_cities().items() if city in wanted]
            for table in ENTITY_KINDS.values():
                self._read_entity_rows(cursor, table, spellings)
            initiative_ids = {row.id for rows in self.entities["initiatives"].values()
                              for row in rows}
            partnership_ids = {row.id for rows in self.entities["partnerships"].values()
                               for row in rows}
            for initiative_id, actor_id, role in cursor.execute(
                    "SELECT initiative_id, actor_id, role FROM initiative_actors"):
                target = resolved.get(actor_id)
                if target is not None and initiative_id in initiative_ids:
                    self.initiative_links[initiative_id].add((actor_names.get(target, "?"),
                                                              role))
            for partnership_id, actor_id in cursor.execute(
                    "SELECT partnership_id, actor_id FROM partnership_parties"):
                if partnership_id in partnership_ids:
                    target = resolved.get(actor_id) or actor_id
                    self.parties[partnership_id].add(actor_names.get(target, "?"))
        finally:
            cursor.close()
        if wanted is None:
            self._entities_read = None
        else:
            self._entities_read |= wanted

    def entity_cities(self) -> dict[str | None, str]:
        """Each city spelling the entity tables hold -> the canonical city it is shown
        under."""
        cursor = self.conn.connection.driver_connection.cursor()
        try:
            spellings = {spelling for table in ENTITY_KINDS.values()
                         for (spelling,) in cursor.execute(
                             f"SELECT DISTINCT city FROM {table.name}")}
        finally:
            cursor.close()
        return {spelling: self.scope.canonical_city(spelling)
                for spelling in sorted(spellings, key=lambda s: (s is None, s or ""))}

    def _read_entity_rows(self, cursor, table, spellings: list | None) -> None:
        """The table's rows (named tuples with SQLAlchemy's row fields) whose city is
        written as one of `spellings` (None: all), added by canonical city, in id order."""
        from collections import namedtuple

        names = [column.name for column in table.columns]
        row_type = namedtuple(f"{table.name}_row", names)
        columns = ", ".join(f'"{name}"' for name in names)
        sql = f"SELECT {columns} FROM {table.name}"
        parameters: list = []
        if spellings is not None:
            named = [s for s in spellings if s is not None]
            where = [f"city IN ({', '.join('?' * len(named))})"] if named else []
            where += ["city IS NULL"] if None in spellings else []
            sql += " WHERE " + (" OR ".join(where) or "0")
            parameters = named
        canonical: dict[str | None, str] = {}
        city_at = names.index("city")
        by_city = self.entities[table.name]
        for values in cursor.execute(sql + " ORDER BY id", parameters):
            spelling = values[city_at]
            city = canonical.get(spelling)
            if city is None:
                city = canonical[spelling] = self.scope.canonical_city(spelling)
            by_city[city].append(row_type._make(values))

    def entity_digests(self, cities: list[str]) -> dict[str, str]:
        """Per city, a hash of its entity rows with their actors (what its content shows
        of them); reads every city's entities."""
        import hashlib

        self.read_entities(None)
        digests = {}
        for city in cities:
            parts = [repr((name, tuple(row), sorted(links.get(row.id, ()))))
                     for name, links in (("initiatives", self.initiative_links),
                                         ("partnerships", self.parties))
                     for row in self.entities[name].get(city, ())]
            digests[city] = hashlib.sha256("\0".join(parts).encode(
                "utf-8", "surrogatepass")).hexdigest()
        return digests

    def _segments(self, interview_ids: list[int]) -> dict[int, tuple[int, int]]:
        """Current segment id -> (interview id, position) for the interviews."""
        found: dict[int, tuple[int, int]] = {}
        for chunk in _chunks(interview_ids):
            for segment_id, interview_id, order in self.conn.execute(
                    select(segments.c.id, segments.c.interview_id, segments.c.ord)
                    .where(segments.c.interview_id.in_(chunk), segments.c.status == "current")):
                found[segment_id] = (interview_id, order)
        return found

    def _codings(self, refs: list[InterviewRef], segment_of: dict) -> list:
        """The interviews' codings in current segments: by interview as listed, then id."""
        by_interview: dict[int, list] = defaultdict(list)
        for chunk in _chunks([ref.id for ref in refs]):
            for row in self.conn.execute(
                    select(codings.c.id, codings.c.segment_id, codings.c.interview_id,
                           codings.c.code, codings.c.dimension, codings.c.kind,
                           codings.c.counts, codings.c.negated, codings.c.hypothetical,
                           codings.c.planned,
                           codings.c.start, codings.c.end, codings.c.sentence_start,
                           codings.c.sentence_end, codings.c.version, codings.c.produced,
                           codings.c.merged_into)
                    .where(codings.c.interview_id.in_(chunk)).order_by(codings.c.id)):
                if row.segment_id in segment_of:
                    by_interview[row.interview_id].append(row)
        return [row for ref in refs for row in by_interview.get(ref.id, ())]

    def _mentions(self, mention_table, key: str, interview_ids: list[int]) -> dict[int, list]:
        """Entity id -> its produced mentions (segment id, start, end) in the interviews'
        current segments, in mention order."""
        found: dict[int, list] = defaultdict(list)
        for chunk in _chunks(interview_ids):
            for entity_id, segment_id, start, end in self.conn.execute(
                    select(mention_table.c[key], mention_table.c.segment_id,
                           mention_table.c.start, mention_table.c.end)
                    .join(segments, segments.c.id == mention_table.c.segment_id)
                    .where(segments.c.interview_id.in_(chunk), segments.c.status == "current",
                           mention_table.c.produced == 1)
                    .order_by(mention_table.c.id)):
                found[entity_id].append((segment_id, start, end))
        return dict(found)

    def _statuses(self, coding_rows: list) -> dict[int, str]:
        """The codings' derived status (pipeline.coding.decisions), from the rows read and
        their decisions: no pass over every coding of the study, so a city's content
        costs the same whoever reads it (a worker process or a rerun)."""
        from pipeline.coding.decisions import derive_status

        decided: dict[int, list] = defaultdict(list)
        for chunk in _chunks(sorted(row.id for row in coding_rows)):
            for coding_id, role, decision in self.conn.execute(
                    select(decisions.c.coding_id, decisions.c.role, decisions.c.decision)
                    .where(decisions.c.coding_id.in_(chunk))
                    .order_by(decisions.c.time, decisions.c.id)):
                decided[coding_id].append((role, decision))
        self.decision_count = sum(len(found) for found in decided.values())
        return {row.id: derive_status(bool(row.produced), decided.get(row.id, ()),
                                      row.merged_into is not None) for row in coding_rows}

    def _passage_counts(self, coding_rows: list) -> dict[str, int]:
        """Coded passages per status, each once however many coders coded it alike (same
        segment, code, evidence span and flags, as the datasets count them), and
        `decisions`: the coders' decisions on these codings."""
        counts: Counter = Counter()
        seen: set[tuple] = set()
        for row in coding_rows:
            status = self.statuses.get(row.id, "suggested")
            key = (status, *passage_key(row))
            if key not in seen:
                seen.add(key)
                counts[status] += 1
        counts["decisions"] = self.decision_count
        return dict(counts)

    def input_signatures(self, cities: list[str], *shared,
                         states: dict[int, list] | None = None,
                         entity_digests: dict[str, str] | None = None) -> dict[str, str]:
        """A fingerprint per city of everything its content is read from (its interviews'
        metadata, pseudonyms, versions, and the state of their segments, codings,
        decisions and entity mentions (_SIGNATURE_QUERIES); its entities with their
        actors), from a few grouped queries with plain cursors: equal signatures mean
        equal content, so a rerun reads content only for cities whose signature changed.
        `states`: the interviews' SIGNATURE_STATE_SOURCES when the caller has read them
        (a run shares them with the manifest); `entity_digests`: `entity_digests(cities)`
        when the caller has them (kept from a run whose entity tables were the same)."""
        import hashlib

        wanted = set(cities)
        city_of = {i.id: i.city for i in self.scope.interviews if i.city in wanted}
        texts: dict[str, list[str]] = {city: [repr(shared)] for city in cities}
        for city in cities:
            texts[city].append(repr([tuple(ref.__dict__.values())
                                     for ref in self._interviews(city)]))
        if states is None:
            states = read_interview_states(self.conn, SIGNATURE_STATE_SOURCES)
        cursor = self.conn.connection.driver_connection.cursor()
        for number, sql in enumerate(_SIGNATURE_QUERIES):
            for interview_id, text in cursor.execute(sql):
                city = city_of.get(interview_id)
                if city is not None:
                    texts[city].append(f"{number}:{interview_id}:{text}")
        cursor.close()
        for interview_id, parts in sorted(states.items()):
            city = city_of.get(interview_id)
            if city is not None:
                texts[city].append(f"s:{interview_id}:{parts}")
        if entity_digests is None:
            entity_digests = self.entity_digests(cities)
        for city in cities:
            texts[city].append(f"entities:{entity_digests[city]}")
        return {city: hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass"))
                .hexdigest() for city, parts in texts.items()}

    def plain(self, interview_id: int) -> tuple[int, str | None]:
        if interview_id not in self._plain:
            row = self.conn.execute(select(interviews.c.version, interviews.c.plain_text)
                                    .where(interviews.c.id == interview_id)).first()
            self._plain[interview_id] = (row.version, row.plain_text) if row else (0, None)
        return self._plain[interview_id]

    def cities(self) -> list[str]:
        from pipeline.aggregate.tables import city_sort_key

        return sorted({i.city for i in self.scope.interviews}, key=city_sort_key)

    # --- per city ------------------------------------------------------------------------

    def city_content(self, city: str) -> CityContent:
        self.read_entities([city])
        refs = self._interviews(city)
        ids = sorted(ref.id for ref in refs)
        self._plain.clear()  # texts are kept for one city only
        segment_of = self._segments(ids)
        coding_rows = self._codings(refs, segment_of)
        self.statuses = self._statuses(coding_rows)
        mentioned = {"initiatives": self._mentions(initiative_mentions, "initiative_id", ids),
                     "partnerships": self._mentions(partnership_mentions, "partnership_id",
                                                    ids)}
        return CityContent(
            city=city, interviews=refs,
            initiatives=self._initiatives(city, mentioned["initiatives"], segment_of,
                                          coding_rows),
            partnerships=self._partnerships(city, mentioned["partnerships"]),
            challenges=self._challenges(coding_rows),
            coding_counts=self._passage_counts(coding_rows),
            entity_counts=self._entity_counts(city, mentioned))

    def _interviews(self, city: str) -> list[InterviewRef]:
        if self._by_city is None:
            self._by_city = defaultdict(list)
            for interview in self.scope.interviews:
                self._by_city[interview.city].append(interview)
        refs = []
        for interview in self._by_city.get(city, ()):
            metadata = interview.metadata
            refs.append(InterviewRef(
                id=interview.id, pseudonym=self.pseudonyms.get(interview.id, f"#{interview.id}"),
                category=interview.category, date=_value(metadata, "interview_date"),
                mode=_value(metadata, "mode"), organisation=_value(metadata, "organisation"),
                position=_value(metadata, "position"), round=interview.round))
        return sorted(refs, key=lambda r: (r.pseudonym.casefold(), r.id))

    def _in_city(self, name: str, city: str, mentioned: dict) -> list:
        """Entities of the city to show: confirmed ones (in a round: those its interviews
        mention) and unreviewed ones its interviews mention."""
        kept = []
        for row in self.entities[name].get(city, ()):
            if not _shown(row.review_status):
                continue
            if row.id in mentioned or (row.review_status == "confirmed"
                                       and self.scope.round is None):
                kept.append(row)
        return kept

    def _initiatives(self, city: str, mentioned: dict, segment_of: dict,
                     coding_rows) -> list[InitiativeEntry]:
        from pipeline.aggregate.tables import initiative_dimensions, ratings_of, verdict_of

        by_segment: dict[int, list] = defaultdict(list)
        for coding in coding_rows:
            if coding.kind == "dimension" and coding.counts == 1 and not coding.negated \
                    and not coding.hypothetical \
                    and self.statuses.get(coding.id) in QUOTABLE_CODINGS:
                by_segment[coding.segment_id].append(coding)
        found = []
        for row in self._in_city("initiatives", city, mentioned):
            dims = initiative_dimensions(row, self.dimensions)
            actor_list = sorted(self.initiative_links.get(row.id, ()),
                                key=lambda a: (a[0].casefold(), a[1]))
            entry = InitiativeEntry(
                id=row.id, name=row.name, status=row.status, review_status=row.review_status,
                dimensions=dims, actors=[f"{name} ({role})" for name, role in actor_list],
                verdict=verdict_of(row.verdict), ratings=ratings_of(row.ratings),
                justification=row.justification)
            for dimension in dims:
                entry.passages[dimension] = self._passages(
                    mentioned.get(row.id, []), dimension, by_segment, segment_of)
            found.append(entry)
        return sorted(found, key=lambda e: (e.unreviewed, e.name.casefold(), e.id))

    def _passages(self, mentions: list, dimension: str, by_segment: dict,
                  segment_of: dict) -> list[Passage]:
        spans_by_segment: dict[int, list] = defaultdict(list)
        for segment_id, start, end in mentions:
            spans_by_segment[segment_id].append((start, end))
        candidates = []
        for segment_id, spans in spans_by_segment.items():
            interview_id, order = segment_of[segment_id]
            version, plain = self.plain(interview_id)
            if plain is None:
                continue
            for coding in by_segment.get(segment_id, ()):
                if coding.dimension != dimension or coding.version != version:
                    continue
                start, end = coding.sentence_start, coding.sentence_end
                if start is None or end is None or _words(plain[start:end]) > PASSAGE_WORDS:
                    start, end = coding.start, coding.end
                text = plain[start:end]
                if not text.strip() or _words(text) > PASSAGE_WORDS:
                    continue
                names_it = any(s is not None and start <= s and e <= end for s, e in spans)
                accepted = self.statuses.get(coding.id) == "accepted"
                pseudonym = self.pseudonyms.get(interview_id, f"#{interview_id}")
                candidates.append(((not accepted, not names_it, -_words(text),
                                    pseudonym.casefold(), order, start),
                                   Passage(text, pseudonym, interview_id, order, start, end,
                                           accepted)))
        chosen: list[Passage] = []
        for _key, passage in sorted(candidates, key=lambda c: c[0]):
            if any(p.text == passage.text for p in chosen):
                continue
            chosen.append(passage)
            if len(chosen) == PASSAGES_PER_ENTRY:
                break
        return chosen

    def _partnerships(self, city: str, mentioned: dict) -> list[PartnershipEntry]:
        found = [PartnershipEntry(row.id, sorted(self.parties.get(row.id, ()), key=str.casefold),
                                  row.type, row.status, row.review_status)
                 for row in self._in_city("partnerships", city, mentioned)]
        return sorted(found, key=lambda p: (p.type or "", p.review_status in UNREVIEWED,
                                            [n.casefold() for n in p.parties], p.id))

    def _challenges(self, coding_rows) -> list[ChallengeEntry]:
        accepted: dict[str, set] = defaultdict(set)
        unreviewed: dict[str, set] = defaultdict(set)
        for coding in coding_rows:
            if coding.kind != "challenge" or coding.negated:
                continue
            status = self.statuses.get(coding.id)
            if status == "accepted":
                accepted[coding.code].add(coding.interview_id)
            elif status in UNREVIEWED:
                unreviewed[coding.code].add(coding.interview_id)
        codes = sorted(set(accepted) | set(unreviewed),
                       key=lambda c: (-len(accepted[c]), -len(unreviewed[c]), c))
        return [ChallengeEntry(c, self.labels.get(c, c), len(accepted[c]),
                               len(unreviewed[c] - accepted[c])) for c in codes]

    def _entity_counts(self, city: str, mentioned: dict) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {}
        for name, by_city in sorted(self.entities.items()):
            bucket: Counter = Counter()
            for row in by_city.get(city, ()):
                if row.id in mentioned[name] or self.scope.round is None:
                    bucket[row.review_status.split(":", 1)[0]] += 1
            counts[name] = dict(bucket)
        return counts
