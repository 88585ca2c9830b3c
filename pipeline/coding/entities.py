"""Actors, initiatives and partnerships the coder recognised, stored with their mentions.

An entity is one row per identity: (city, normalised name) for actors and initiatives, (city,
sorted normalised party names) for partnerships, so the same organisation named in ten
interviews of a city is one actor with ten mentions. A registry actor's city is the
registry's (none for national and international bodies); a recognised name belongs to the
city of the interview. Entities are never deleted and their review status (set by people) is
never lowered here; a re-coded segment marks its old mentions `produced = 0` and records the
new ones; a segment that only moved has its mentions' offsets moved. Mentions of registry
actors make the actor `confirmed` (the registry is the team's curated list); recognised names
stay `suggested` until reviewed. Negated and hypothetical initiatives ("there is no desk",
"we would like a desk") are not initiatives and are not stored.

Everything is collected per interview and written in a few set-wise statements.
"""

from __future__ import annotations

import json
from collections import defaultdict

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql.schema import Table

from pipeline.coding.bulk import insert_rows, update_rows
from pipeline.store.schema import (
    actor_mentions,
    actors,
    entity_aliases,
    initiative_actors,
    initiative_mentions,
    initiatives,
    partnership_mentions,
    partnership_parties,
    partnerships,
)

MENTIONS = {"actor": (actor_mentions, "actor_id"),
            "initiative": (initiative_mentions, "initiative_id"),
            "partnership": (partnership_mentions, "partnership_id")}
CHUNK = 500


def norm_name(name: str) -> str:
    """Case, accents, punctuation, a leading article folded: a name's identity in a city."""
    from pipeline.nlp.registry import fold_key

    return fold_key(name)


def _chunks(values: list) -> list[list]:
    return [values[i:i + CHUNK] for i in range(0, len(values), CHUNK)]


def _shift_statement(table: Table):
    return (update(table).where(table.c.segment_id == bindparam("_segment"),
                                table.c.version == bindparam("_old_version"))
            .values(start=table.c.start + bindparam("_shift"),
                    end=table.c.end + bindparam("_shift"), version=bindparam("_version")))


SHIFT = {name: _shift_statement(table) for name, (table, _key) in MENTIONS.items()}
# Statements run for every interview, built once (building and keying a statement costs
# more than running it on SQLite).
_IDS = bindparam("ids", expanding=True)
STOP_PRODUCED = {name: update(table).where(table.c.segment_id.in_(_IDS), table.c.produced == 1)
                 .values(produced=0) for name, (table, _key) in MENTIONS.items()}
MENTIONS_OF_SEGMENTS = {name: select(table.c.id, table.c[key], table.c.segment_id,
                                     table.c.start, table.c.version)
                        .where(table.c.segment_id.in_(_IDS))
                        for name, (table, key) in MENTIONS.items()}
ALIASED_ENTITIES = select(entity_aliases.c.entity).distinct()
_BY_NAME: dict[tuple[str, str], object] = {}
_LINKS: dict[tuple[str, str], object] = {}


def _by_name(table: Table, column: str):
    """Rows of `table` in one city with one of the given names."""
    key = (table.name, column)
    if key not in _BY_NAME:
        _BY_NAME[key] = select(table).where(table.c.city == bindparam("city"),
                                            table.c[column].in_(_IDS))
    return _BY_NAME[key]


def _links_of(table: Table, column: str):
    key = (table.name, column)
    if key not in _LINKS:
        _LINKS[key] = select(table).where(table.c[column].in_(_IDS))
    return _LINKS[key]


class EntityWriter:
    """Collects one interview's entities, then writes them in the caller's transaction."""

    def __init__(self, conn: Connection, city: str | None, run_id: int | None,
                 registry_cities: dict[str, str] | None = None):
        self.conn = conn
        self.city = city or ""
        self.run_id = run_id
        self.registry_cities = registry_cities or {}
        self.recoded_segments: list[int] = []
        self.moves: list[dict] = []
        self.actors: dict[tuple[str, str], dict] = {}
        self.initiatives: dict[tuple[str, str], dict] = {}
        self.initiative_links: set[tuple[tuple, tuple, str]] = set()
        self.partnerships: dict[tuple[str, str], dict] = {}
        self.party_links: set[tuple[tuple, tuple]] = set()
        self.mentions: list[tuple[str, tuple, int, dict]] = []
        self._with_aliases: set[str] | None = None  # entity kinds with merged names

    # --- collecting ---------------------------------------------------------------------

    def _actor(self, item: dict) -> tuple[str, str] | None:
        name = (item.get("canonical") or item.get("name") or "").strip()
        if not name or item.get("generic"):
            return None
        registry_id = item.get("registry_id")
        city = self.registry_cities.get(registry_id, self.city) if registry_id else self.city
        key = (city, norm_name(name))
        if not key[1]:
            return None
        known = self.actors.get(key)
        if known is None or (registry_id and known["origin"] != "registry"):
            self.actors[key] = {
                "city": city, "name": name, "norm_name": key[1],
                "category": item.get("category"), "sector": item.get("sector"),
                "origin": "registry" if registry_id else "rule",
                "guess": int(bool(item.get("guess")) and not registry_id),
                "review_status": "confirmed" if registry_id else "suggested"}
        return key

    def recoded(self, seg, result: dict) -> None:
        """A segment coded again: its mentions become the result's."""
        self.recoded_segments.append(seg.id)
        names: dict[str, tuple] = {}
        for item in result.get("actors") or []:
            key = self._actor(item)
            if key is None:
                continue
            names.setdefault(item.get("canonical") or item.get("name"), key)
            self._mention("actor", key, seg, item, guess=int(bool(item.get("guess"))))
        for item in result.get("partnerships") or []:
            parties = []
            for party in item.get("party_mentions") or [{"name": p} for p in
                                                        item.get("parties") or []]:
                key = names.get(party.get("canonical") or party.get("name")) \
                    or self._actor(party)
                if key is not None and key not in parties:
                    parties.append(key)
            if len(parties) < 2:
                continue
            key = (self.city, " | ".join(sorted(k[1] for k in parties)))
            self.partnerships.setdefault(key, {
                "city": key[0], "parties_key": key[1], "type": item.get("type"),
                "status": item.get("status"), "origin": "rule"})
            self.party_links.update((key, party) for party in parties)
            self._mention("partnership", key, seg, item)
        for item in result.get("initiatives") or []:
            name = (item.get("name") or "").strip()
            if not name or item.get("negated") or item.get("hypothetical"):
                continue
            key = (self.city, norm_name(name))
            if not key[1]:
                continue
            self.initiatives.setdefault(key, {
                "city": key[0], "name": name, "norm_name": key[1],
                "status": item.get("status"),
                "dimensions": json.dumps(sorted(item.get("dimensions") or [])),
                "origin": "rule"})
            for actor in item.get("actors") or []:
                actor_name = actor.get("name") if isinstance(actor, dict) else actor
                role = (actor.get("role") if isinstance(actor, dict) else None) or "runs"
                actor_key = names.get(actor_name) or self._actor(
                    actor if isinstance(actor, dict) else {"name": actor_name})
                if actor_key is not None:
                    self.initiative_links.add((key, actor_key, role))
            self._mention("initiative", key, seg, item)

    def _mention(self, kind: str, key: tuple, seg, item: dict, **extra) -> None:
        start, end = item.get("start"), item.get("end")
        located = start is not None and end is not None
        self.mentions.append((kind, key, seg.id, {
            "start": seg.start + start if located else None,
            "end": seg.start + end if located else None,
            "version": seg.version, "text": seg.text[start:end] if located else None,
            "produced": 1, **extra}))

    def moved(self, seg, state) -> None:
        """A segment that only moved: its current mentions' offsets move with it."""
        self.moves.append({"_segment": seg.id, "_old_version": state.version,
                           "_shift": seg.start - state.start, "_version": seg.version})

    # --- writing ------------------------------------------------------------------------

    def flush(self) -> None:
        conn = self.conn
        if self.moves:
            for statement in SHIFT.values():
                conn.execute(statement, self.moves)
        for segment_ids in _chunks(self.recoded_segments):
            for statement in STOP_PRODUCED.values():
                conn.execute(statement, {"ids": segment_ids})
        if not self.mentions:
            return
        ids = {"actor": self._resolve_actors()}
        ids["initiative"] = self._resolve(initiatives, self.initiatives, "norm_name")
        ids["partnership"] = self._resolve(partnerships, self.partnerships, "parties_key")
        self._links(initiative_actors, "initiative_id", ids["initiative"], ids["actor"],
                    [(i, a, {"role": role}) for i, a, role in self.initiative_links])
        self._links(partnership_parties, "partnership_id", ids["partnership"], ids["actor"],
                    [(p, a, {}) for p, a in self.party_links])
        self._write_mentions(ids)

    def _existing(self, table: Table, column: str, keys: list[tuple]) -> dict[tuple, object]:
        """Rows of `table` with these (city, name) keys (the unique index leads by city)."""
        by_city: dict[str, set] = defaultdict(set)
        for city, name in keys:
            by_city[city].add(name)
        found = {}
        for city, names in sorted(by_city.items()):
            for chunk in _chunks(sorted(names)):
                for row in self.conn.execute(_by_name(table, column),
                                             {"city": city, "ids": chunk}):
                    found[(row.city, getattr(row, column))] = row
        return found

    def _resolve_actors(self) -> dict[tuple, int]:
        existing = self._existing(actors, "norm_name", list(self.actors))
        fresh = [dict(values, created_run=self.run_id, updated_run=self.run_id)
                 for key, values in self.actors.items() if key not in existing]
        if fresh:
            self.conn.execute(insert(actors), fresh)
        for key, values in self.actors.items():
            row = existing.get(key)
            if row is not None and values["origin"] == "registry" and \
                    row.origin != "registry" and row.review_status == "suggested":
                self.conn.execute(update(actors).where(actors.c.id == row.id).values(
                    origin="registry", review_status="confirmed", guess=0,
                    updated_run=self.run_id))
        if fresh:
            existing = self._existing(actors, "norm_name", list(self.actors))
        return self._aliased("actors", {key: existing[key].id for key in self.actors})

    def _resolve(self, table: Table, collected: dict, column: str) -> dict[tuple, int]:
        if not collected:
            return {}
        existing = self._existing(table, column, list(collected))
        fresh = [dict(values, created_run=self.run_id, updated_run=self.run_id)
                 for key, values in collected.items() if key not in existing]
        if fresh:
            self.conn.execute(insert(table), fresh)
            existing = self._existing(table, column, list(collected))
        return self._aliased(table.name, {key: existing[key].id for key in collected})

    def _aliased(self, entity: str, ids: dict[tuple, int]) -> dict[tuple, int]:
        """A name merged away in review stands for the entity it was merged into."""
        from pipeline.review.entity_decisions import resolve_aliases

        if self._with_aliases is None:  # most studies merge nothing: skip the look-ups
            self._with_aliases = set(self.conn.execute(ALIASED_ENTITIES).scalars())
        if entity not in self._with_aliases:
            return ids
        return {**ids, **resolve_aliases(self.conn, entity, ids)}

    def _links(self, table: Table, column: str, owners: dict, actor_ids: dict,
               links: list[tuple]) -> None:
        wanted = {(owners[owner], actor_ids[actor], tuple(sorted(extra.items())))
                  for owner, actor, extra in links if owner in owners and actor in actor_ids}
        if table is partnership_parties:  # a party list corrected in review is kept as is
            from pipeline.review.entity_decisions import corrected_parties

            kept = corrected_parties(self.conn, {w[0] for w in wanted})
            wanted = {w for w in wanted if w[0] not in kept}
        if not wanted:
            return
        present = set()
        for chunk in _chunks(sorted({w[0] for w in wanted})):
            for row in self.conn.execute(_links_of(table, column), {"ids": chunk}):
                extra = tuple(sorted((k, getattr(row, k)) for k in ("role",)
                                     if k in table.c))
                present.add((getattr(row, column), row.actor_id, extra))
        missing = [{column: owner, "actor_id": actor, **dict(extra)}
                   for owner, actor, extra in sorted(wanted - present)]
        if missing:
            self.conn.execute(insert(table), missing)

    def _write_mentions(self, ids: dict) -> None:
        by_kind: dict[str, list] = defaultdict(list)
        for kind, key, segment_id, values in self.mentions:
            entity_id = ids[kind].get(key)
            if entity_id is not None:
                by_kind[kind].append((entity_id, segment_id, values))
        for kind, rows in by_kind.items():
            table, column = MENTIONS[kind]
            existing = {}
            for chunk in _chunks(sorted({r[1] for r in rows})):
                for row in self.conn.execute(MENTIONS_OF_SEGMENTS[kind], {"ids": chunk}):
                    existing[(row[1], row.segment_id, row.start, row.version)] = row.id
            inserts, updates, seen = [], [], set()
            for entity_id, segment_id, values in rows:
                key = (entity_id, segment_id, values["start"], values["version"])
                if key in seen:
                    continue
                seen.add(key)
                if key in existing:
                    updates.append(dict(values, _id=existing[key]))
                else:
                    inserts.append(dict(values, **{column: entity_id},
                                        segment_id=segment_id))
            update_rows(self.conn, table, updates)
            insert_rows(self.conn, table, inserts)

