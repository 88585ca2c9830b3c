"""Review decisions on actors, initiatives and partnerships, and the state derived from them.

One current decision per (entity, coder) lives in `entity_decisions`; every change is also an
`entity_decision.set` event naming the entity by its stable identity ((city, norm_name), or
(city, parties_key) for partnerships), so the log replays into a store whose ids differ.

Downstream code (aggregate, report, exchange) reads only the entity tables' own columns, so
after every decision `refresh_entity` writes the derived state into them:

* status: an adjudicator's latest confirm/reject/merge wins; otherwise coders who all
  confirm make it `confirmed`, all reject `rejected`, all merge into the same entity
  `merged_into:<id>`; any disagreement, or only `discuss`, makes it `disputed`. An entity
  nobody decided keeps the status recognition gave it (registry actors are confirmed).
* fields (category, sector, parent; dimensions, status, ratings, verdict, justification;
  parties, type, status): the adjudicator's corrections win; otherwise a value every coder
  who gave one agrees on is written, and coders who give different values make the entity
  `disputed` (the field keeps the value recognition gave it, logged once as an
  `entity.original` event before the first change, so a withdrawn correction is undone).
  The entity writer never overwrites an existing entity's fields, so corrections survive
  re-coding. A corrected party list replaces the partnership's links.
* a merge writes `entity_aliases` rows (the merged name, and names merged into it before)
  pointing at the surviving entity, and moves mentions and links to it; the moved rows
  are remembered in an `entity.merged` event so that a merge later overturned moves them
  back. Re-coding consults the aliases (`resolve_alias`), so a merged name stays mapped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.engine import Connection

from pipeline.errors import CityQDAError
from pipeline.store import record_event, utc_now
from pipeline.store.schema import (
    actor_mentions,
    actors,
    entity_aliases,
    entity_decisions,
    events,
    initiative_actors,
    initiative_mentions,
    initiatives,
    partnership_mentions,
    partnership_parties,
    partnerships,
)

ENTITIES = ("actors", "initiatives", "partnerships")
DECISIONS = ("confirm", "reject", "merge", "discuss")
ROLES = ("coder", "adjudicator")
CRITERIA = ("practicality", "innovation", "successfulness", "transferability",
            "sustainability", "strategic_fit")
RATINGS = ("met", "partly", "not_met", "unknown")
VERDICTS = ("good_practice", "promising_practice", "none")
SECTORS = ("public", "private", "third")
INITIATIVE_STATUSES = ("existing", "planned", "ended")
PARTNERSHIP_STATUSES = ("existing", "ended", "planned", "desired")
FIELDS = {
    "actors": ("category", "sector", "parent_id"),
    "initiatives": ("dimensions", "status", "ratings", "verdict", "justification"),
    "partnerships": ("parties", "type", "status"),
}
TABLES = {"actors": actors, "initiatives": initiatives, "partnerships": partnerships}
IDENTITY_COLUMN = {"actors": "norm_name", "initiatives": "norm_name",
                   "partnerships": "parties_key"}
# mention tables and link columns that follow an entity when it is merged
MENTIONS = {"actors": (actor_mentions, "actor_id"),
            "initiatives": (initiative_mentions, "initiative_id"),
            "partnerships": (partnership_mentions, "partnership_id")}
LINKS = {
    "actors": [(initiative_actors, "actor_id", ("initiative_id", "role")),
               (partnership_parties, "actor_id", ("partnership_id",))],
    "initiatives": [(initiative_actors, "initiative_id", ("actor_id", "role"))],
    "partnerships": [(partnership_parties, "partnership_id", ("actor_id",))],
}
_STATUS_OF = {"confirm": "confirmed", "reject": "rejected", "discuss": "disputed"}
MAX_CHAIN = 50


def _bad(code: str, entity: str, entity_id, **fields) -> CityQDAError:
    return CityQDAError(code, entity=entity, entity_id=entity_id, **fields)


def entity_identity(conn: Connection, entity: str, entity_id: int) -> dict:
    """What names an entity independently of row ids (for the log and its replay)."""
    table = TABLES[entity]
    row = conn.execute(select(table).where(table.c.id == entity_id)).first()
    if row is None:
        return {}
    if entity == "partnerships":
        return {"city": row.city, "parties_key": row.parties_key}
    return {"city": row.city, "norm_name": row.norm_name, "name": row.name}


def find_entity(conn: Connection, entity: str, identity: dict) -> int | None:
    """The id of the entity with this identity (from `entity_identity`), if any."""
    table = TABLES[entity]
    column = IDENTITY_COLUMN[entity]
    if not identity or identity.get(column) is None:
        return None
    return conn.execute(select(table.c.id).where(
        table.c.city == identity.get("city", ""),
        table.c[column] == identity[column])).scalar()


def check_fields(conn: Connection, entity: str, fields: dict, vocabularies: dict | None = None,
                 entity_id: int | None = None) -> list[tuple[str, str]]:
    """(field, problem) for every value `fields` may not hold; empty when all are fine.

    With `entity_id`, a parent that is the actor itself or below it is refused: the
    registry written by `cityqda actors export` would fail its check (CQ305)."""
    vocab = vocabularies or {}
    problems: list[tuple[str, str]] = []
    allowed = FIELDS[entity]
    for key, value in fields.items():
        if key not in allowed:
            problems.append((key, f"not a field of {entity}; known: {', '.join(allowed)}"))
            continue
        if value is None:
            continue
        if key == "category" and vocab.get("categories") and value not in vocab["categories"]:
            problems.append((key, f"{value!r} is not one of {', '.join(vocab['categories'])}"))
        elif key == "sector" and value not in SECTORS:
            problems.append((key, f"{value!r} is not one of {', '.join(SECTORS)}"))
        elif key == "parent_id":
            if conn.execute(select(actors.c.id).where(actors.c.id == value)).first() is None:
                problems.append((key, f"no actor with id {value}"))
            elif entity_id is not None and entity_id in _ancestors(conn, value):
                problems.append((key, f"A{value} is this actor or below it: a parent cannot "
                                      "be the actor itself or one of its own children"))
        elif key == "dimensions":
            known = vocab.get("dimensions")
            if not isinstance(value, list) or (known and any(d not in known for d in value)):
                problems.append((key, f"{value!r} is not a list of dimensions"
                                      + (f" from {', '.join(known)}" if known else "")))
        elif key == "status":
            statuses = INITIATIVE_STATUSES if entity == "initiatives" else PARTNERSHIP_STATUSES
            if value not in statuses:
                problems.append((key, f"{value!r} is not one of {', '.join(statuses)}"))
        elif key == "ratings":
            if not isinstance(value, dict):
                problems.append((key, "must map criteria to ratings"))
                continue
            for criterion, rating in value.items():
                if criterion not in CRITERIA:
                    problems.append((key, f"{criterion!r} is not one of {', '.join(CRITERIA)}"))
                elif rating not in RATINGS:
                    problems.append((key, f"{criterion}: {rating!r} is not one of "
                                          f"{', '.join(RATINGS)}"))
        elif key == "verdict":
            if value not in VERDICTS:
                problems.append((key, f"{value!r} is not one of {', '.join(VERDICTS)}"))
            elif value != "none" and not (fields.get("justification") or "").strip():
                problems.append(("justification", f"the verdict {value!r} needs a "
                                                  "justification"))
        elif key == "type":
            types = vocab.get("partnership_types")
            if types and value not in types:
                problems.append((key, f"{value!r} is not one of {', '.join(types)}"))
        elif key == "parties":
            if not isinstance(value, list) or len(set(value)) < 2:
                problems.append((key, "a partnership needs two or more different actors"))
                continue
            found = set(conn.execute(select(actors.c.id).where(
                actors.c.id.in_(sorted(set(value))))).scalars())
            missing = sorted(set(value) - found)
            if missing:
                problems.append((key, f"no actor with id {', '.join(map(str, missing))}"))
    return problems


def _ancestors(conn: Connection, actor_id: int) -> list[int]:
    """`actor_id` and the actors above it, nearest first (stops at a cycle)."""
    chain = [actor_id]
    for _ in range(MAX_CHAIN):
        parent = conn.execute(select(actors.c.parent_id).where(
            actors.c.id == chain[-1])).scalar()
        if parent is None or parent in chain:
            break
        chain.append(parent)
    return chain


def _state(row) -> dict | None:
    if row is None:
        return None
    return {"decision": row.decision, "role": row.role, "merge_into": row.merge_into,
            "fields": json.loads(row.fields) if row.fields else None,
            "comment": row.comment}


def set_entity_decision(conn: Connection, entity: str, entity_id: int, coder: str,
                        decision: str, *, role: str = "coder", merge_into: int | None = None,
                        fields: dict | None = None, comment: str | None = None, source: str,
                        run_id: int | None = None, vocabularies: dict | None = None) -> bool:
    """Record `coder`'s current decision on an entity; False when it was already so.

    Refreshes the derived state of the entity (and of the merge target). Raises CQ550
    for an unknown entity kind, decision or role, CQ551 for a missing entity, CQ552 for
    a bad merge and CQ553 for a field value the entity may not hold.
    """
    if entity not in ENTITIES:
        raise _bad("CQ550", entity, entity_id, problem=f"unknown entity kind {entity!r}")
    if decision not in DECISIONS:
        raise _bad("CQ550", entity, entity_id,
                   problem=f"{decision!r} is not one of {', '.join(DECISIONS)}")
    if role not in ROLES:
        raise _bad("CQ550", entity, entity_id,
                   problem=f"role {role!r} is not one of {', '.join(ROLES)}")
    identity = entity_identity(conn, entity, entity_id)
    if not identity:
        raise _bad("CQ551", entity, entity_id)
    if decision == "merge":
        _check_merge(conn, entity, entity_id, merge_into)
    elif merge_into is not None:
        raise _bad("CQ552", entity, entity_id,
                   problem="merge_into is given but the decision is not merge")
    fields = {k: v for k, v in (fields or {}).items()}
    problems = check_fields(conn, entity, fields, vocabularies, entity_id)
    if problems:
        field, problem = problems[0]
        raise _bad("CQ553", entity, entity_id, field=field, problem=problem)
    old = conn.execute(select(entity_decisions).where(
        entity_decisions.c.entity == entity, entity_decisions.c.entity_id == entity_id,
        entity_decisions.c.coder == coder)).first()
    values = {"decision": decision, "role": role, "merge_into": merge_into,
              "fields": json.dumps(fields, sort_keys=True, ensure_ascii=False)
              if fields else None, "comment": comment}
    if old is not None and all(getattr(old, k) == v for k, v in values.items()):
        return False
    now = utc_now()
    if old is None:
        conn.execute(insert(entity_decisions).values(entity=entity, entity_id=entity_id,
                                                     coder=coder, time=now, source=source,
                                                     **values))
    else:
        conn.execute(update(entity_decisions).where(entity_decisions.c.id == old.id)
                     .values(time=now, source=source, **values))
    new_state = {"decision": decision, "role": role, "merge_into": merge_into,
                 "fields": fields or None, "comment": comment, "entity": entity,
                 "identity": identity}
    if merge_into is not None:
        new_state["merge_into_identity"] = entity_identity(conn, entity, merge_into)
    record_event(conn, actor=coder, kind="entity_decision.set", entity=entity,
                 entity_key=entity_id, old=_state(old), new=new_state, source=source,
                 run_id=run_id)
    refresh_entity(conn, entity, entity_id, run_id=run_id)
    previous_target = old.merge_into if old is not None else None
    for target in {merge_into, previous_target} - {None}:
        refresh_entity(conn, entity, target, run_id=run_id)
    return True


def _check_merge(conn: Connection, entity: str, entity_id: int, merge_into) -> None:
    if merge_into is None:
        raise _bad("CQ552", entity, entity_id, problem="merge needs the id to merge into")
    if merge_into == entity_id:
        raise _bad("CQ552", entity, entity_id, problem="an entity cannot merge into itself")
    if not entity_identity(conn, entity, merge_into):
        raise _bad("CQ552", entity, entity_id,
                   problem=f"there is no {entity[:-1]} with id {merge_into}")
    target = merge_into
    for _ in range(MAX_CHAIN):
        status = conn.execute(select(TABLES[entity].c.review_status).where(
            TABLES[entity].c.id == target)).scalar()
        if not status or not status.startswith("merged_into:"):
            return
        target = int(status.split(":", 1)[1])
        if target == entity_id:
            raise _bad("CQ552", entity, entity_id,
                       problem=f"{merge_into} is already merged into this one")


def replay_entity_decision(conn: Connection, event: dict, *, actor: str,
                           source: str | None = None, run_id: int | None = None) -> bool:
    """Apply a logged `entity_decision.set` event (its `new` state) to this store.

    The entity (and merge target) are found by identity; CQ551/CQ552 when absent.
    """
    entity = event.get("entity")
    if entity not in ENTITIES:
        raise _bad("CQ550", str(entity), "?", problem=f"unknown entity kind {entity!r}")
    entity_id = find_entity(conn, entity, event.get("identity") or {})
    if entity_id is None:
        raise _bad("CQ551", entity, json.dumps(event.get("identity"), ensure_ascii=False))
    merge_into = None
    if event.get("decision") == "merge":
        merge_into = find_entity(conn, entity, event.get("merge_into_identity") or {})
    return set_entity_decision(conn, entity, entity_id, actor, event["decision"],
                               role=event.get("role") or "coder", merge_into=merge_into,
                               fields=event.get("fields") or None,
                               comment=event.get("comment"), source=source or "replay",
                               run_id=run_id)


# --- derived state -------------------------------------------------------------------------

def _decision_status(decision: str, merge_into: int | None) -> str:
    if decision == "merge":
        return f"merged_into:{merge_into}"
    return _STATUS_OF[decision]


def derive_entity_state(decided: Iterable) -> tuple[str | None, dict]:
    """(status, fields) from decision rows (role, decision, merge_into, fields JSON),
    oldest first; status None when nobody decided."""
    decided = list(decided)
    ruling = [d for d in decided if d.role == "adjudicator" and d.decision != "discuss"]
    if ruling:
        winner = ruling[-1]
        return (_decision_status(winner.decision, winner.merge_into),
                json.loads(winner.fields) if winner.fields else {})
    coders = [d for d in decided if d.role == "coder"]
    if not coders:
        return None, {}
    statuses = {_decision_status(d.decision, d.merge_into) for d in coders}
    status = statuses.pop() if len(statuses) == 1 else "disputed"
    given: dict[str, list] = {}
    for d in coders:
        for key, value in (json.loads(d.fields) if d.fields else {}).items():
            if key == "ratings" and isinstance(value, dict):
                for criterion, rating in value.items():
                    given.setdefault(f"ratings.{criterion}", []).append(rating)
            else:
                given.setdefault(key, []).append(value)
    fields: dict = {}
    for key, values in given.items():
        distinct = []
        for value in values:
            if value not in distinct:
                distinct.append(value)
        if len(distinct) > 1:
            if status == "confirmed":
                status = "disputed"
            continue
        if key.startswith("ratings."):
            fields.setdefault("ratings", {})[key.split(".", 1)[1]] = distinct[0]
        else:
            fields[key] = distinct[0]
    return status, fields


def refresh_entity(conn: Connection, entity: str, entity_id: int, *,
                   run_id: int | None = None) -> str | None:
    """Write the derived review status and fields into the entity's row; return the
    status (None when there is no such entity)."""
    table = TABLES[entity]
    row = conn.execute(select(table).where(table.c.id == entity_id)).first()
    if row is None:
        return None
    decided = conn.execute(select(entity_decisions).where(
        entity_decisions.c.entity == entity, entity_decisions.c.entity_id == entity_id)
        .order_by(entity_decisions.c.time, entity_decisions.c.id)).all()
    status, fields = derive_entity_state(decided)
    if status is None:
        return row.review_status
    was_merged = (row.review_status or "").startswith("merged_into:")
    if was_merged and row.review_status != status:
        _unmerge(conn, entity, entity_id, int(row.review_status.split(":", 1)[1]), run_id)
    base = _original(conn, entity, row, run_id)
    values: dict = {"review_status": status}
    for key in FIELDS[entity]:
        value = fields.get(key, base.get(key))
        if key == "ratings":
            value = {**(base.get(key) or {}), **(fields.get(key) or {})} or None
        if key == "parties":
            if "parties" in fields and sorted(value) != _parties(conn, entity_id):
                _set_parties(conn, entity_id, value)
        elif key in ("dimensions", "ratings"):
            if key == "dimensions" and value is not None:
                value = sorted(value)
            values[key] = (json.dumps(value, sort_keys=True, ensure_ascii=False)
                           if value is not None else None)
        else:
            values[key] = value
    if "updated_run" in table.c and run_id is not None:
        values["updated_run"] = run_id
    conn.execute(update(table).where(table.c.id == entity_id).values(**values))
    if status.startswith("merged_into:") and row.review_status != status:
        _merge(conn, entity, entity_id, int(status.split(":", 1)[1]), run_id)
    return status


def _field_values(conn: Connection, entity: str, row) -> dict:
    """The entity's correctable fields as values (JSON columns decoded)."""
    found = {}
    for key in FIELDS[entity]:
        if key == "parties":
            found[key] = _parties(conn, row.id)
        elif key in ("dimensions", "ratings"):
            raw = getattr(row, key)
            found[key] = json.loads(raw) if raw else None
        else:
            found[key] = getattr(row, key)
    return found


def _original(conn: Connection, entity: str, row, run_id: int | None) -> dict:
    """The fields as recognition left them, logged once before the first decision
    changes them, so a correction withdrawn later restores them."""
    logged = conn.execute(select(events.c.new).where(
        events.c.kind == "entity.original", events.c.entity == entity,
        events.c.entity_key == str(row.id)).order_by(events.c.id)).first()
    if logged is not None:
        return json.loads(logged.new)["fields"]
    fields = _field_values(conn, entity, row)
    record_event(conn, actor="cityqda", kind="entity.original", entity=entity,
                 entity_key=row.id, new={"fields": fields,
                                         "identity": entity_identity(conn, entity, row.id)},
                 source="entity decisions", run_id=run_id)
    return fields


def _parties(conn: Connection, partnership_id: int) -> list[int]:
    return sorted(conn.execute(select(partnership_parties.c.actor_id).where(
        partnership_parties.c.partnership_id == partnership_id)).scalars())


def _set_parties(conn: Connection, partnership_id: int, parties: list[int]) -> None:
    conn.execute(delete(partnership_parties)
                 .where(partnership_parties.c.partnership_id == partnership_id))
    conn.execute(insert(partnership_parties), [
        {"partnership_id": partnership_id, "actor_id": actor_id}
        for actor_id in sorted(set(parties))])


# --- merges ---------------------------------------------------------------------------------

def _merge(conn: Connection, entity: str, source_id: int, target_id: int,
           run_id: int | None) -> None:
    """Point the source's name (and the names merged into it) at the target; move its
    mentions and links there, remembering what moved."""
    table = TABLES[entity]
    source = conn.execute(select(table).where(table.c.id == source_id)).first()
    moved: dict[str, list] = {}
    key_column = IDENTITY_COLUMN[entity]
    name = source.name if entity != "partnerships" else source.parties_key
    existing = conn.execute(select(entity_aliases).where(
        entity_aliases.c.entity == entity, entity_aliases.c.city == source.city,
        entity_aliases.c.norm_name == getattr(source, key_column))).first()
    if existing is None:
        conn.execute(insert(entity_aliases).values(
            entity=entity, city=source.city, norm_name=getattr(source, key_column),
            target_id=target_id, name=name, source=f"merge of {entity} {source_id}"))
    else:
        conn.execute(update(entity_aliases).where(
            entity_aliases.c.entity == entity, entity_aliases.c.city == source.city,
            entity_aliases.c.norm_name == getattr(source, key_column))
            .values(target_id=target_id))
    chained = [r.norm_name for r in conn.execute(select(entity_aliases.c.norm_name)
               .where(entity_aliases.c.entity == entity,
                      entity_aliases.c.target_id == source_id))]
    if chained:
        moved["aliases"] = chained
        conn.execute(update(entity_aliases).where(
            entity_aliases.c.entity == entity, entity_aliases.c.target_id == source_id)
            .values(target_id=target_id))
    mentions, column = MENTIONS[entity]
    ids = list(conn.execute(select(mentions.c.id).where(mentions.c[column] == source_id))
               .scalars())
    if ids:
        conn.execute(update(mentions).where(mentions.c.id.in_(ids))
                     .values(**{column: target_id}))
    moved["mentions"] = sorted(ids)
    for link, link_column, others in LINKS[entity]:
        rows = conn.execute(select(link).where(link.c[link_column] == source_id)).all()
        moved_links = []
        for row in rows:
            key = {c: getattr(row, c) for c in others}
            clash = conn.execute(select(link).where(
                link.c[link_column] == target_id,
                *[link.c[c] == v for c, v in key.items()])).first()
            conn.execute(delete(link).where(link.c[link_column] == source_id,
                                            *[link.c[c] == v for c, v in key.items()]))
            if clash is None:
                conn.execute(insert(link).values(**{link_column: target_id}, **key))
            moved_links.append({**key, "existed": clash is not None})
        moved[link.name] = moved_links
    if entity == "actors":
        children = list(conn.execute(select(actors.c.id).where(actors.c.parent_id == source_id))
                        .scalars())
        if children:
            conn.execute(update(actors).where(actors.c.id.in_(children))
                         .values(parent_id=target_id))
        moved["children"] = children
        target = conn.execute(select(actors.c.aliases).where(actors.c.id == target_id)).scalar()
        names = json.loads(target) if target else []
        source_names = [source.name] + (json.loads(source.aliases) if source.aliases else [])
        merged_names = sorted(set(names) | set(source_names))
        conn.execute(update(actors).where(actors.c.id == target_id)
                     .values(aliases=json.dumps(merged_names, ensure_ascii=False)))
        moved["alias_names"] = sorted(set(source_names) - set(names))
    record_event(conn, actor="cityqda", kind="entity.merged", entity=entity,
                 entity_key=source_id, new={"target_id": target_id, "moved": moved,
                                            "identity": entity_identity(conn, entity,
                                                                        source_id)},
                 source="entity decisions", run_id=run_id)


def _unmerge(conn: Connection, entity: str, source_id: int, target_id: int,
             run_id: int | None) -> None:
    """Undo the latest merge of source into target: its alias, mentions and links."""
    logged = conn.execute(select(events.c.new).where(
        events.c.kind == "entity.merged", events.c.entity == entity,
        events.c.entity_key == str(source_id)).order_by(events.c.id.desc())).first()
    moved = json.loads(logged.new)["moved"] if logged and logged.new else {}
    table = TABLES[entity]
    source = conn.execute(select(table).where(table.c.id == source_id)).first()
    conn.execute(delete(entity_aliases).where(
        entity_aliases.c.entity == entity, entity_aliases.c.city == source.city,
        entity_aliases.c.norm_name == getattr(source, IDENTITY_COLUMN[entity])))
    if moved.get("aliases"):
        conn.execute(update(entity_aliases).where(
            entity_aliases.c.entity == entity,
            entity_aliases.c.norm_name.in_(moved["aliases"]),
            entity_aliases.c.target_id == target_id).values(target_id=source_id))
    mentions, column = MENTIONS[entity]
    if moved.get("mentions"):
        conn.execute(update(mentions).where(mentions.c.id.in_(moved["mentions"]),
                                            mentions.c[column] == target_id)
                     .values(**{column: source_id}))
    for link, link_column, others in LINKS[entity]:
        for item in moved.get(link.name, []):
            key = {c: item[c] for c in others}
            if not item.get("existed"):
                conn.execute(delete(link).where(link.c[link_column] == target_id,
                                                *[link.c[c] == v for c, v in key.items()]))
            present = conn.execute(select(link).where(
                link.c[link_column] == source_id,
                *[link.c[c] == v for c, v in key.items()])).first()
            if present is None:
                conn.execute(insert(link).values(**{link_column: source_id}, **key))
    if entity == "actors":
        if moved.get("children"):
            conn.execute(update(actors).where(actors.c.id.in_(moved["children"]),
                                              actors.c.parent_id == target_id)
                         .values(parent_id=source_id))
        if moved.get("alias_names"):
            current = conn.execute(select(actors.c.aliases)
                                   .where(actors.c.id == target_id)).scalar()
            names = [n for n in (json.loads(current) if current else [])
                     if n not in set(moved["alias_names"])]
            conn.execute(update(actors).where(actors.c.id == target_id)
                         .values(aliases=json.dumps(names, ensure_ascii=False)))
    record_event(conn, actor="cityqda", kind="entity.unmerged", entity=entity,
                 entity_key=source_id, new={"target_id": target_id, "moved_back": moved},
                 source="entity decisions", run_id=run_id)


def resolve_alias(conn: Connection, entity: str, city: str, norm_name: str) -> int | None:
    """The surviving entity a merged (city, norm_name) — or parties_key — stands for."""
    target = conn.execute(select(entity_aliases.c.target_id).where(
        entity_aliases.c.entity == entity, entity_aliases.c.city == (city or ""),
        entity_aliases.c.norm_name == norm_name)).scalar()
    return _follow(conn, entity, target)


def resolve_aliases(conn: Connection, entity: str, keys: Iterable[tuple[str, str]]
                    ) -> dict[tuple[str, str], int]:
    """`resolve_alias` for many (city, name) keys at once; only keys with an alias."""
    keys = sorted(set(keys))
    if not keys:
        return {}
    found: dict[tuple[str, str], int] = {}
    cities = sorted({city for city, _ in keys})
    for city in cities:
        names = sorted(name for c, name in keys if c == city)
        for start in range(0, len(names), 500):
            for row in conn.execute(select(entity_aliases.c.norm_name,
                                           entity_aliases.c.target_id).where(and_(
                    entity_aliases.c.entity == entity, entity_aliases.c.city == city,
                    entity_aliases.c.norm_name.in_(names[start:start + 500])))):
                target = _follow(conn, entity, row.target_id)
                if target is not None:
                    found[(city, row.norm_name)] = target
    return found


def _follow(conn: Connection, entity: str, target: int | None) -> int | None:
    table = TABLES[entity]
    for _ in range(MAX_CHAIN):
        if target is None:
            return None
        status = conn.execute(select(table.c.review_status)
                              .where(table.c.id == target)).scalar()
        if status is None:
            return None
        if not status.startswith("merged_into:"):
            return target
        target = int(status.split(":", 1)[1])
    return target


def entity_decisions_of(conn: Connection, entity: str, coder: str | None = None
                        ) -> dict[int, dict]:
    """entity id -> decision state (one coder's, or {coder: state} for all coders)."""
    query = select(entity_decisions).where(entity_decisions.c.entity == entity)
    if coder is not None:
        query = query.where(entity_decisions.c.coder == coder)
    found: dict[int, dict] = {}
    for row in conn.execute(query.order_by(entity_decisions.c.id)):
        state = {**_state(row), "coder": row.coder, "time": row.time, "source": row.source}
        if coder is not None:
            found[row.entity_id] = state
        else:
            found.setdefault(row.entity_id, {})[row.coder] = state
    return found


def corrected_parties(conn: Connection, partnership_ids: Iterable[int]) -> set[int]:
    """Partnerships whose party list a reviewer corrected: re-coding must not add to it."""
    ids = sorted(set(partnership_ids))
    found: set[int] = set()
    for start in range(0, len(ids), 500):
        for entity_id, fields in conn.execute(select(
                entity_decisions.c.entity_id, entity_decisions.c.fields).where(
                entity_decisions.c.entity == "partnerships",
                entity_decisions.c.entity_id.in_(ids[start:start + 500]),
                entity_decisions.c.fields.is_not(None))):
            if "parties" in json.loads(fields):
                found.add(entity_id)
    return found
