"""Actors, initiatives and partnerships the coder recognised, stored with their mentions.

An entity is one row per identity: (city, normalised name) for actors and initiatives, (city,
sorted normalised party names) for partnerships, so the same organisation named in ten
interviews of a city is one actor with ten mentions. Entities are never deleted and their
review status (set by people) is never touched here; a re-coded segment marks its old
mentions `produced = 0` and records the new ones, a segment that only moved has its
mentions' offsets moved. Mentions of registry actors make the actor `confirmed` (the
registry is the team's curated list); recognised names stay `suggested` until reviewed.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql.schema import Table

from pipeline.store.schema import (
    actor_mentions,
    actors,
    initiative_actors,
    initiative_mentions,
    initiatives,
    partnership_mentions,
    partnership_parties,
    partnerships,
)


def norm_name(name: str) -> str:
    """Case, accents, punctuation and spacing folded: the identity of a name in a city."""
    try:
        from pipeline.nlp.registry import fold_key
    except ImportError:  # pragma: no cover - registry module always present in releases
        fold_key = None
    if fold_key is not None:
        return fold_key(name)
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join("".join(c if c.isalnum() else " " for c in text).split())


class EntityWriter:
    """Stores the entities of one interview's segments inside the caller's transaction."""

    def __init__(self, conn: Connection, city: str | None, run_id: int | None):
        self.conn = conn
        self.city = city or ""
        self.run_id = run_id
        self.actor_ids: dict[tuple[str, str], int] = {}

    # --- identities ---------------------------------------------------------------------

    def actor(self, item: dict) -> int | None:
        name = (item.get("canonical") or item.get("name") or "").strip()
        if not name:
            return None
        city = item.get("city") or self.city
        key = (city, norm_name(name))
        if key in self.actor_ids:
            return self.actor_ids[key]
        row = self.conn.execute(select(actors.c.id, actors.c.origin, actors.c.review_status)
                                .where(actors.c.city == key[0],
                                       actors.c.norm_name == key[1])).first()
        registry = bool(item.get("registry_id"))
        if row is None:
            actor_id = self.conn.execute(insert(actors).values(
                city=key[0], name=name, norm_name=key[1], category=item.get("category"),
                sector=item.get("sector"), origin="registry" if registry else "rule",
                guess=int(bool(item.get("guess"))),
                aliases=json.dumps(sorted({item.get("name")} - {name, None}),
                                   ensure_ascii=False) if item.get("name") != name else None,
                review_status="confirmed" if registry else "suggested",
                created_run=self.run_id, updated_run=self.run_id)).inserted_primary_key[0]
        else:
            actor_id = row.id
            if registry and row.origin != "registry" and row.review_status == "suggested":
                self.conn.execute(update(actors).where(actors.c.id == row.id).values(
                    origin="registry", review_status="confirmed", updated_run=self.run_id))
        self.actor_ids[key] = actor_id
        return actor_id

    def _party_ids(self, parties: Iterable) -> list[int]:
        ids = []
        for party in parties or []:
            item = party if isinstance(party, dict) else {"name": str(party)}
            actor_id = self.actor(item)
            if actor_id is not None:
                ids.append(actor_id)
        return sorted(set(ids))

    def initiative(self, item: dict) -> int | None:
        name = (item.get("name") or "").strip()
        if not name:
            return None
        key = (self.city, norm_name(name))
        row = self.conn.execute(select(initiatives.c.id).where(
            initiatives.c.city == key[0], initiatives.c.norm_name == key[1])).first()
        if row is not None:
            initiative_id = row.id
        else:
            initiative_id = self.conn.execute(insert(initiatives).values(
                city=key[0], name=name, norm_name=key[1], status=item.get("status"),
                dimensions=json.dumps(sorted(item.get("dimensions") or [])),
                origin="rule", created_run=self.run_id, updated_run=self.run_id,
            )).inserted_primary_key[0]
        for entry in item.get("actors") or []:
            party = entry if isinstance(entry, dict) else {"name": str(entry)}
            actor_id = self.actor(party)
            if actor_id is None:
                continue
            role = party.get("role") or "runs"
            exists = self.conn.execute(select(initiative_actors.c.actor_id).where(
                initiative_actors.c.initiative_id == initiative_id,
                initiative_actors.c.actor_id == actor_id,
                initiative_actors.c.role == role)).first()
            if exists is None:
                self.conn.execute(insert(initiative_actors).values(
                    initiative_id=initiative_id, actor_id=actor_id, role=role))
        return initiative_id

    def partnership(self, item: dict) -> int | None:
        party_ids = self._party_ids(item.get("parties"))
        if len(party_ids) < 2:
            return None
        names = sorted(self.conn.execute(select(actors.c.norm_name)
                                         .where(actors.c.id.in_(party_ids))).scalars())
        key = (self.city, " | ".join(names))
        row = self.conn.execute(select(partnerships.c.id).where(
            partnerships.c.city == key[0], partnerships.c.parties_key == key[1])).first()
        if row is not None:
            return row.id
        partnership_id = self.conn.execute(insert(partnerships).values(
            city=key[0], parties_key=key[1], type=item.get("type"), status=item.get("status"),
            origin="rule", created_run=self.run_id, updated_run=self.run_id,
        )).inserted_primary_key[0]
        self.conn.execute(insert(partnership_parties), [
            {"partnership_id": partnership_id, "actor_id": a} for a in party_ids])
        return partnership_id

    # --- mentions -----------------------------------------------------------------------

    def recoded(self, seg, result: dict) -> None:
        """A segment coded again: its mentions become the result's."""
        for table in (actor_mentions, initiative_mentions, partnership_mentions):
            self.conn.execute(update(table).where(table.c.segment_id == seg.id,
                                                  table.c.produced == 1).values(produced=0))
        for item in result.get("actors") or []:
            if item.get("generic"):
                continue
            actor_id = self.actor(item)
            if actor_id is not None:
                self._mention(actor_mentions, "actor_id", actor_id, seg, item,
                              guess=int(bool(item.get("guess"))))
        for item in result.get("initiatives") or []:
            initiative_id = self.initiative(item)
            if initiative_id is not None:
                self._mention(initiative_mentions, "initiative_id", initiative_id, seg, item)
        for item in result.get("partnerships") or []:
            partnership_id = self.partnership(item)
            if partnership_id is not None:
                self._mention(partnership_mentions, "partnership_id", partnership_id, seg,
                              item)

    def _mention(self, table: Table, key: str, entity_id: int, seg, item: dict,
                 **extra) -> None:
        start, end = item.get("start"), item.get("end")
        text = seg.text[start:end] if start is not None and end is not None else None
        values = {"start": None if start is None else seg.start + start,
                  "end": None if end is None else seg.start + end,
                  "version": seg.version, "text": text, "produced": 1, **extra}
        found = self.conn.execute(select(table.c.id).where(
            table.c[key] == entity_id, table.c.segment_id == seg.id,
            table.c.start.is_(values["start"]) if start is None
            else table.c.start == values["start"],
            table.c.version == seg.version)).first()
        if found is None:
            self.conn.execute(insert(table).values(**{key: entity_id}, segment_id=seg.id,
                                                   **values))
        else:
            self.conn.execute(update(table).where(table.c.id == found.id).values(**values))

    def moved(self, seg, state) -> None:
        """A segment that only moved: its current mentions' offsets move with it."""
        shift = seg.start - state.start
        for table in (actor_mentions, initiative_mentions, partnership_mentions):
            self.conn.execute(update(table).where(
                table.c.segment_id == seg.id, table.c.version == state.version,
                table.c.start.is_not(None)).values(
                start=table.c.start + shift, end=table.c.end + shift, version=seg.version))
            self.conn.execute(update(table).where(
                table.c.segment_id == seg.id, table.c.version == state.version,
                table.c.start.is_(None)).values(version=seg.version))
