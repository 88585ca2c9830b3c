"""Initiatives, Actors and Partnerships sheets of the review workbook (sheet plugins).

Each row is one entity mentioned in the workbook's segments: what recognition found
(read-only) and the columns a coder fills in: a decision (confirm, reject, merge, discuss),
the row id to merge into, and corrections. Correction cells are pre-filled with what
recognition found, overlaid with this coder's own earlier corrections, never with another
coder's: a coder changes a cell to correct it, and putting recognition's value back
withdraws the correction. Initiatives also carry the six good-practice criteria and a
verdict (a verdict other than none needs a justification).

An adjudicator's workbook lists the disputed entities with every coder's decision beside
them (read-only); the adjudicator's decision settles the entity.

Import follows the codings' rules: every row of every sheet is checked before anything is
applied, read-only cells must be as exported, and each decision is recorded with
`set_entity_decision` (an audit event replayable by identity).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import PurePosixPath

from sqlalchemy import select
from sqlalchemy.engine import Connection

from pipeline.errors import CityQDAError, Problem
from pipeline.review.entity_decisions import (
    CRITERIA,
    DECISIONS,
    INITIATIVE_STATUSES,
    PARTNERSHIP_STATUSES,
    RATINGS,
    SECTORS,
    TABLES,
    VERDICTS,
    check_fields,
    entity_decisions_of,
    set_entity_decision,
)
from pipeline.review.rows import SCAN_ABOVE
from pipeline.review.sheets import ExportContext, ExportRow, ImportContext, from_export
from pipeline.store.schema import (
    actor_mentions,
    actors,
    events,
    initiative_actors,
    initiative_mentions,
    interviews,
    partnership_mentions,
    partnership_parties,
    segments,
)

MAX_REFS = 40  # segment references listed per entity; the count says how many in all
CRITERION_COLUMNS = {c: c for c in CRITERIA}
ENTITY_DECISION_LIST = "entity_decisions"
_ID = re.compile(r"^\s*([AIP]?)\s*(\d+)\b", re.IGNORECASE)


def label(value: str | None) -> str:
    """A stored id as a coder reads it: good_practice -> good practice."""
    return "" if value is None else str(value).replace("_", " ")


def _fold(text) -> str:
    return re.sub(r"[\s_\-]+", " ", str(text)).strip().casefold()


def _choice(text, allowed) -> str | None:
    """The allowed id a cell names (as id or label, any case), or None."""
    wanted = _fold(text)
    for value in allowed:
        if _fold(value) == wanted:
            return value
    return None


class Field:
    """A correction column: how it is shown, parsed and compared."""

    def __init__(self, column: str, key: str, kind: str, allowed=(), list_name=None,
                 criterion: str | None = None):
        self.column, self.key, self.kind = column, key, kind
        self.allowed, self.list_name, self.criterion = tuple(allowed), list_name, criterion

    def show(self, value, names: dict[int, str]) -> str:
        if value is None or value == [] or value == "":
            return ""
        if self.kind == "choice":
            return label(value)
        if self.kind == "multi":
            return ", ".join(value)
        if self.kind == "actor":
            return f"A{value} {names.get(value, '')}".strip()
        if self.kind == "actors":
            return "; ".join(f"A{a} {names.get(a, '')}".strip() for a in sorted(value))
        return str(value)

    def parse(self, cell, problems: list[str]):
        """The value a cell holds (None when empty); appends a problem when it is bad."""
        if cell is None or (isinstance(cell, str) and not cell.strip()):
            return None
        if self.kind == "choice":
            found = _choice(cell, self.allowed)
            if found is None:
                problems.append(f"{cell!r} is not one of "
                                f"{', '.join(label(v) for v in self.allowed)}")
            return found
        if self.kind == "multi":
            values, bad = [], []
            for part in re.split(r"[,;]", str(cell)):
                if not part.strip():
                    continue
                found = _choice(part, self.allowed) if self.allowed else part.strip()
                if found is None:
                    bad.append(part.strip())
                elif found not in values:
                    values.append(found)
            if bad:
                problems.append(f"{', '.join(map(repr, bad))} not among "
                                f"{', '.join(self.allowed)}")
            return sorted(values)
        if self.kind == "actor":
            match = _ID.match(str(cell))
            if match is None or match.group(1).upper() not in ("", "A"):
                problems.append(f"{cell!r} is not an actor row id such as A12")
                return None
            return int(match.group(2))
        if self.kind == "actors":
            # parties are shown as "A3 Name; A4 Name": a part naming no row id (a name typed
            # in, an actor not on the Actors sheet) would silently leave the list
            ids, bad = set(), []
            for part in re.split(r"[;\n]", str(cell)):
                if not part.strip():
                    continue
                pieces = part.split(",")  # "A3, A4"; a name may hold commas too
                first = _ID.match(pieces[0])
                if first is None or first.group(1).upper() not in ("", "A"):
                    bad.append(part.strip())
                    continue
                ids.add(int(first.group(2)))
                for piece in pieces[1:]:  # "A3, A4" and "A3, 4"; not "Unit 2, 4th floor"
                    more = _ID.match(piece)
                    if more is not None and (more.group(1).upper() == "A"
                                             or piece.strip().isdigit()):
                        ids.add(int(more.group(2)))
            if bad:
                problems.append(f"{', '.join(map(repr, bad))} "
                                f"{'names' if len(bad) == 1 else 'name'} no actor row id such "
                                "as A12 (each party is an actor of the Actors sheet, named by "
                                "its row id)")
            elif not ids:
                problems.append(f"{cell!r} names no actor row id such as A12")
            return sorted(ids)
        return str(cell).strip()


class EntitySheet:
    """What the three entity sheets share; subclasses name the entity and its columns."""

    sheet = ""
    entity = ""
    prefix = ""
    readonly: list[str] = []
    widths: dict[str, float] = {}
    wrap: list[str] = []

    def fields(self, ctx) -> list[Field]:
        raise NotImplementedError

    def entity_rows(self, conn: Connection, ids: list[int]) -> dict[int, dict]:
        """Read-only values by entity id (ref lists included)."""
        raise NotImplementedError

    def found_values(self, original: dict, names: dict[int, str]) -> dict:
        """The read-only found_* cells from recognition's values, so that no coder sees
        another coder's corrections in them."""
        return {}

    # --- export -----------------------------------------------------------------------

    def coder_columns(self, ctx) -> list[str]:
        return ["decision", "merge_into"] + [f.column for f in self.fields(ctx)] + ["comment"]

    def columns(self, ctx, others: list[str]) -> list[str]:
        extra = []
        if ctx.kind == "adjudication":
            extra = ["review_status"] + [f"{c}: {what}" for c in others
                                         for what in ("decision", "comment")]
        return self.readonly + extra + self.coder_columns(ctx)

    def chosen_ids(self, ctx: ExportContext) -> list[int]:
        """Entities mentioned in the workbook's segments, and those this coder decided;
        for an adjudicator the disputed ones among them (and disputed ones no longer
        mentioned anywhere)."""
        conn = ctx.conn
        table = TABLES[self.entity]
        mentions, column = _MENTIONS[self.entity]
        scoped: set[int] = set()
        wanted = sorted(ctx.segment_ids)
        if len(wanted) > SCAN_ABOVE:  # one scan beats hundreds of IN (...) chunks
            segment_ids = set(wanted)
            scoped.update(entity for segment_id, entity in conn.execute(
                select(mentions.c.segment_id, mentions.c[column]).where(
                    mentions.c.produced == 1)) if segment_id in segment_ids)
            wanted = []
        for start in range(0, len(wanted), 500):
            scoped.update(conn.execute(select(mentions.c[column]).distinct().where(
                mentions.c.segment_id.in_(wanted[start:start + 500]),
                mentions.c.produced == 1)).scalars())
        statuses = dict(conn.execute(select(table.c.id, table.c.review_status)).all())
        if ctx.kind == "adjudication":
            mentioned = set(conn.execute(select(mentions.c[column]).distinct().where(
                mentions.c.produced == 1)).scalars())
            return sorted(i for i, s in statuses.items() if s == "disputed"
                          and (i in scoped or i not in mentioned))
        mine = set(entity_decisions_of(conn, self.entity, ctx.coder))
        # an entity merged away (by another coder, say) lost its mentions to the target:
        # it stays on the sheet beside the target so this coder can still decide it
        merged = {i for i, s in statuses.items()
                  if s and s.startswith("merged_into:") and int(s.split(":", 1)[1]) in scoped}
        return sorted(i for i in scoped | mine | merged if i in statuses)

    def write(self, wb, ctx: ExportContext) -> list[ExportRow]:
        from pipeline.review.workbook import (
            add_list_validation,
            column_letters,
            content_hash,
            protect_sheet,
            style_table,
            write_header,
            write_row,
        )

        conn = ctx.conn
        ids = self.chosen_ids(ctx)
        values_of = self.entity_rows(conn, ids)
        base = _originals(conn, self.entity, ids, values_of)
        names = _actor_names(conn)
        mine = entity_decisions_of(conn, self.entity, ctx.coder)
        everyone = entity_decisions_of(conn, self.entity) if ctx.kind == "adjudication" else {}
        others = sorted({c for by in everyone.values() for c in by if c != ctx.coder})
        columns = self.columns(ctx, others)
        fields = self.fields(ctx)
        coder_columns = self.coder_columns(ctx)
        readonly = [c for c in columns if c not in coder_columns]
        letters = column_letters(columns)
        ws = wb.create_sheet(self.sheet)
        widths = {letters[c]: w for c, w in self.widths.items() if c in letters}
        widths.update({letters[c]: 22 for c in columns if ": " in c})
        widths.update({letters[f.column]: 16 for f in fields if f.column not in self.widths})
        style_table(ws, widths, [letters[c] for c in self.wrap + ["comment"] if c in letters],
                    rows=len(ids) + 1, columns=len(columns))
        if getattr(ctx, "protect", False):
            protect_sheet(ws)
        write_header(ws, columns, coder_columns=coder_columns)
        _lists(wb, fields)
        unlocked = [columns.index(c) for c in coder_columns]
        records = []
        for entity_id in ids:
            values = dict(values_of[entity_id])
            values.update(self.found_values(base[entity_id], names))
            values["row_id"] = f"{self.prefix}{entity_id}"
            if ctx.kind == "adjudication":
                values["review_status"] = values.pop("_status", "")
                for coder in others:
                    state = everyone.get(entity_id, {}).get(coder)
                    values[f"{coder}: decision"] = _decision_text(state, self.prefix, fields,
                                                                  names)
                    values[f"{coder}: comment"] = (state or {}).get("comment") or ""
            state = mine.get(entity_id)
            original = base[entity_id]
            current = dict(original)
            current.update(_flatten((state or {}).get("fields") or {}))
            values["decision"] = (state or {}).get("decision") or ""
            values["merge_into"] = (f"{self.prefix}{state['merge_into']}"
                                    if state and state.get("merge_into") else "")
            values["comment"] = (state or {}).get("comment") or ""
            for f in fields:
                values[f.column] = f.show(current.get(f.key), names)
            write_row(ws, [values.get(c, "") for c in columns], unlocked_columns=unlocked)
            readonly_values = [values.get(c, "") for c in readonly]
            records.append(ExportRow(
                self.sheet, values["row_id"], self.entity, entity_id,
                content_hash(readonly_values),
                {"decision": state, "base": original,
                 "readonly": [list(pair) for pair in zip(readonly, readonly_values,
                                                         strict=True)]}))
        last = len(ids) + 1
        add_list_validation(ws, letters["decision"], 2, last, ENTITY_DECISION_LIST)
        for f in fields:
            if f.list_name:
                add_list_validation(ws, letters[f.column], 2, last, f.list_name)
        return records

    # --- import -----------------------------------------------------------------------

    def read(self, rows: list[dict], ctx: ImportContext) -> tuple[list, list[Problem]]:
        from pipeline.review.workbook import blank_row, content_hash

        problems: list[Problem] = []
        changes = []
        fields = self.fields(ctx)
        seen: dict[str, int] = {}
        decided_now = entity_decisions_of(ctx.conn, self.entity, ctx.coder)
        vocab = getattr(ctx.study, "vocabularies", None) or {}

        def problem(code, row, column, **values):
            problems.append(Problem(code, values, ctx.file or None, row["_row"], column,
                                    self.sheet))

        for row in rows:
            row_id = row.get("row_id")
            row_key = str(row_id).strip() if row_id is not None else ""
            if not row_key and blank_row(row):
                continue
            record = ctx.export_rows.get((self.sheet, row_key))
            if row_key in seen:
                problem("CQ506", row, "row_id", row_id=row_key, first=seen[row_key])
                continue
            seen[row_key] = row["_row"]
            if record is None:
                problem("CQ507", row, "row_id", row_id=row_key or "(empty)",
                        export_id=ctx.export_id)
                continue
            state = record.get("state") or {}
            if isinstance(state, str):
                state = json.loads(state)
            exported = [tuple(pair) for pair in state.get("readonly") or []]
            found = [row.get(column) for column, _value in exported]
            if content_hash(found) != record["content_sha256"]:
                edited = [(column, value) for column, value in exported
                          if content_hash([row.get(column)]) != content_hash([value])]
                column, value = edited[0] if edited else ("row_id", row_key)
                problem("CQ508", row, column, field=column, found=row.get(column),
                        expected=value)
                continue
            entity_id = record["entity_id"]
            before = len(problems)
            decision = row.get("decision")
            decision = _choice(decision, DECISIONS) if decision is not None else None
            if row.get("decision") is not None and decision is None:
                problem("CQ509", row, "decision", value=row.get("decision"),
                        known=", ".join(DECISIONS))
            merge_into = None
            if row.get("merge_into") is not None:
                match = _ID.match(str(row["merge_into"]))
                if match is None or match.group(1).upper() not in ("", self.prefix):
                    problem("CQ552", row, "merge_into", entity=self.entity,
                            entity_id=entity_id,
                            problem=f"{row['merge_into']!r} is not a row id such as "
                                    f"{self.prefix}12")
                else:
                    merge_into = int(match.group(2))
                    if decision != "merge":
                        problem("CQ552", row, "merge_into", entity=self.entity,
                                entity_id=entity_id,
                                problem="merge_into is filled in but the decision is not "
                                        "merge")
            if decision == "merge" and merge_into is None and row.get("merge_into") is None:
                problem("CQ552", row, "merge_into", entity=self.entity, entity_id=entity_id,
                        problem="merge needs the row id to merge into in merge_into")
            if merge_into is not None and decision == "merge":
                try:
                    from pipeline.review.entity_decisions import _check_merge
                    _check_merge(ctx.conn, self.entity, entity_id, merge_into)
                except CityQDAError as exc:
                    problem("CQ552", row, "merge_into", **exc.problems[0].fields)
            base = state.get("base") or {}
            corrected: dict = {}
            column_of = {}
            for f in fields:
                messages: list[str] = []
                value = f.parse(row.get(f.column), messages)
                for message in messages:
                    problem("CQ553", row, f.column, entity=self.entity, entity_id=entity_id,
                            field=f.column, problem=message)
                if messages:
                    continue
                original = base.get(f.key)
                if f.kind == "multi" and original is not None:
                    original = sorted(original)
                if f.kind == "actors" and original is not None:
                    original = sorted(original)
                if value is not None and value != original:
                    corrected[f.key] = value
                    column_of[f.key.split(".")[0]] = f.column
            fields_value = _unflatten(corrected)
            for key, message in check_fields(ctx.conn, self.entity, fields_value, vocab,
                                              entity_id):
                problem("CQ553", row, column_of.get(key, key), entity=self.entity,
                        entity_id=entity_id, field=column_of.get(key, key), problem=message)
            if fields_value and decision is None:
                problem("CQ550", row, "decision", entity=self.entity, entity_id=entity_id,
                        problem="a correction or rating needs a decision: write confirm "
                                "(or discuss)")
            if len(problems) > before or decision is None:
                continue
            comment = row.get("comment")
            change = {"row": row["_row"], "entity_id": entity_id, "decision": decision,
                      "merge_into": merge_into, "fields": fields_value or None,
                      "comment": str(comment) if comment is not None else None}
            exported = state.get("decision")
            if same_decision(change, exported):
                continue  # as pre-filled: re-applying it would undo a later decision
            now = decided_now.get(entity_id)
            if same_decision(change, now):
                continue  # already so in the store (a re-saved copy, an adopted workbook)
            if not same_decision(now, exported) and not from_export(
                    (now or {}).get("source"), ctx.export_id):  # decided since the export
                if ctx.skip_stale:
                    ctx.stale.append(row_key)
                else:
                    problem("CQ514", row, "decision", row_id=row_key, reason=(
                        f"{ctx.coder} decided it {now['decision'] if now else 'nothing'} "
                        f"at {now['time'] if now else 'a later import'}, after this export "
                        f"({ctx.export_created_at})"))
                continue
            changes.append(change)
        return changes, problems

    def apply(self, changes: list, ctx: ImportContext) -> int:
        changed = 0
        vocab = getattr(ctx.study, "vocabularies", None) or {}
        # merges last, so an entity confirmed in the same workbook is settled first
        for change in sorted(changes, key=lambda c: (c["decision"] == "merge", c["row"])):
            try:
                changed += set_entity_decision(
                    ctx.conn, self.entity, change["entity_id"], ctx.coder, change["decision"],
                    role=ctx.role, merge_into=change["merge_into"], fields=change["fields"],
                    comment=change["comment"], source=ctx.source, run_id=ctx.run_id,
                    vocabularies=vocab)
            except CityQDAError as exc:
                raise CityQDAError.from_problems([
                    Problem(p.code, p.fields, ctx.file or None, change["row"], None,
                            self.sheet) for p in exc.problems]) from exc
        return changed


def decision_said(state: dict | None) -> str | None:
    """What a decision state (a row's, a stored or an exported one) says, comparable."""
    if not state or not state.get("decision"):
        return None
    return json.dumps([state["decision"], state.get("merge_into"),
                       state.get("fields") or None, state.get("comment") or None],
                      sort_keys=True, ensure_ascii=False)


def same_decision(one: dict | None, other: dict | None) -> bool:
    return decision_said(one) == decision_said(other)


# --- shared queries -------------------------------------------------------------------------

_MENTIONS = {"actors": (actor_mentions, "actor_id"),
             "initiatives": (initiative_mentions, "initiative_id"),
             "partnerships": (partnership_mentions, "partnership_id")}


def _refs(conn: Connection, entity: str, ids: list[int]) -> dict[int, list[str]]:
    """entity id -> sorted segment references ("LIS-PM-03 ¶12") of its current mentions."""
    mentions, column = _MENTIONS[entity]
    found: dict[int, set] = defaultdict(set)
    for start in range(0, len(ids), 500):
        query = (select(mentions.c[column], interviews.c.path, segments.c.ord)
                 .join(segments, segments.c.id == mentions.c.segment_id)
                 .join(interviews, interviews.c.id == segments.c.interview_id)
                 .where(mentions.c[column].in_(ids[start:start + 500]),
                        mentions.c.produced == 1, segments.c.status == "current"))
        for entity_id, path, ord_ in conn.execute(query):
            found[entity_id].add((PurePosixPath(path).stem, ord_))
    return {i: [f"{stem} ¶{ord_}" for stem, ord_ in sorted(found.get(i, ()))] for i in ids}


def _ref_text(refs: list[str]) -> str:
    shown = refs[:MAX_REFS]
    more = len(refs) - len(shown)
    return "; ".join(shown) + (f"; ... (+{more} more)" if more else "")


def _actor_names(conn: Connection) -> dict[int, str]:
    return dict(conn.execute(select(actors.c.id, actors.c.name)).all())


def _originals(conn: Connection, entity: str, ids: list[int], values_of: dict) -> dict:
    """Recognition's field values (before any decision changed them)."""
    logged: dict[int, dict] = {}
    wanted = [str(i) for i in ids]
    for start in range(0, len(wanted), 500):
        for key, new in conn.execute(select(events.c.entity_key, events.c.new).where(
                events.c.kind == "entity.original", events.c.entity == entity,
                events.c.entity_key.in_(wanted[start:start + 500])).order_by(events.c.id)):
            logged.setdefault(int(key), json.loads(new)["fields"])
    result = {}
    for entity_id in ids:
        fields = logged.get(entity_id) or values_of[entity_id]["_fields"]
        result[entity_id] = _flatten(fields)
    return result


def _flatten(fields: dict) -> dict:
    """ratings {criterion: rating} -> ratings.<criterion> keys, as the columns hold them."""
    flat = {}
    for key, value in fields.items():
        if key == "ratings":
            for criterion, rating in (value or {}).items():
                flat[f"ratings.{criterion}"] = rating
        else:
            flat[key] = value
    return flat


def _unflatten(flat: dict) -> dict:
    fields: dict = {}
    for key, value in flat.items():
        if key.startswith("ratings."):
            fields.setdefault("ratings", {})[key.split(".", 1)[1]] = value
        else:
            fields[key] = value
    return fields


def _decision_text(state: dict | None, prefix: str, fields: list[Field],
                   names: dict[int, str]) -> str:
    if not state:
        return ""
    text = state["decision"]
    if state.get("merge_into"):
        text += f" into {prefix}{state['merge_into']}"
    flat = _flatten(state.get("fields") or {})
    shown = [f"{f.column} = {f.show(flat[f.key], names)}" for f in fields if f.key in flat]
    if shown:
        text += "; " + "; ".join(shown)
    return text


def _lists(wb, fields: list[Field]) -> None:
    from pipeline.review.workbook import register_list

    lists = wb.__dict__.setdefault("_cityqda_lists", {})
    if ENTITY_DECISION_LIST not in lists:
        register_list(wb, ENTITY_DECISION_LIST, list(DECISIONS))
    for f in fields:
        if f.list_name and f.list_name not in lists:
            register_list(wb, f.list_name, [label(v) for v in f.allowed])


def _vocab(ctx, name: str, default) -> tuple:
    return tuple((getattr(ctx.study, "vocabularies", None) or {}).get(name) or default)


# --- the three sheets -------------------------------------------------------------------------

class InitiativesSheet(EntitySheet):
    sheet = "Initiatives"
    entity = "initiatives"
    prefix = "I"
    readonly = ["row_id", "name", "city", "actors", "found_dimensions", "found_status",
                "segments", "mentioned_in"]
    widths = {"row_id": 8, "name": 34, "city": 12, "actors": 36, "found_dimensions": 18,
              "found_status": 12, "segments": 9, "mentioned_in": 40, "decision": 11,
              "merge_into": 11, "justification": 40, "comment": 36}
    wrap = ["name", "actors", "mentioned_in", "justification"]

    def fields(self, ctx) -> list[Field]:
        from pipeline.study import DEFAULT_VOCABULARIES

        return ([Field("dimensions", "dimensions", "multi",
                       _vocab(ctx, "dimensions", DEFAULT_VOCABULARIES["dimensions"])),
                 Field("status", "status", "choice", INITIATIVE_STATUSES,
                       "initiative_statuses")]
                + [Field(c, f"ratings.{c}", "choice", RATINGS, "ratings", criterion=c)
                   for c in CRITERIA]
                + [Field("verdict", "verdict", "choice", VERDICTS, "verdicts"),
                   Field("justification", "justification", "text")])

    def found_values(self, original, names):
        return {"found_dimensions": ", ".join(original.get("dimensions") or []),
                "found_status": original.get("status") or ""}

    def entity_rows(self, conn, ids):
        table = TABLES[self.entity]
        refs = _refs(conn, self.entity, ids)
        links: dict[int, list[str]] = defaultdict(list)
        for start in range(0, len(ids), 500):
            for initiative_id, name, role in conn.execute(
                    select(initiative_actors.c.initiative_id, actors.c.name,
                           initiative_actors.c.role)
                    .join(actors, actors.c.id == initiative_actors.c.actor_id)
                    .where(initiative_actors.c.initiative_id.in_(ids[start:start + 500]))):
                links[initiative_id].append(f"{name} ({role})")
        found = {}
        for start in range(0, len(ids), 500):
            for row in conn.execute(select(table).where(table.c.id.in_(ids[start:start + 500]))):
                dims = json.loads(row.dimensions) if row.dimensions else []
                found[row.id] = {
                    "name": row.name, "city": row.city, "actors": "; ".join(sorted(links[row.id])),
                    "found_dimensions": ", ".join(dims), "found_status": row.status or "",
                    "segments": len(refs[row.id]), "mentioned_in": _ref_text(refs[row.id]),
                    "_status": row.review_status,
                    "_fields": {"dimensions": dims, "status": row.status,
                                "ratings": json.loads(row.ratings) if row.ratings else {},
                                "verdict": row.verdict, "justification": row.justification}}
        return found


class ActorsSheet(EntitySheet):
    sheet = "Actors"
    entity = "actors"
    prefix = "A"
    readonly = ["row_id", "name", "city", "origin", "aliases", "found_category",
                "found_sector", "segments", "mentioned_in"]
    widths = {"row_id": 8, "name": 34, "city": 12, "origin": 10, "aliases": 24,
              "found_category": 16, "found_sector": 10, "segments": 9, "mentioned_in": 40,
              "decision": 11, "merge_into": 11, "parent": 28, "comment": 36}
    wrap = ["name", "aliases", "mentioned_in"]

    def fields(self, ctx) -> list[Field]:
        from pipeline.study import DEFAULT_VOCABULARIES

        return [Field("category", "category", "choice",
                      _vocab(ctx, "categories", DEFAULT_VOCABULARIES["categories"]),
                      "actor_categories"),
                Field("sector", "sector", "choice", SECTORS, "sectors"),
                Field("parent", "parent_id", "actor")]

    def found_values(self, original, names):
        return {"found_category": original.get("category") or "",
                "found_sector": original.get("sector") or ""}

    def entity_rows(self, conn, ids):
        table = TABLES[self.entity]
        refs = _refs(conn, self.entity, ids)
        found = {}
        for start in range(0, len(ids), 500):
            for row in conn.execute(select(table).where(table.c.id.in_(ids[start:start + 500]))):
                aliases = json.loads(row.aliases) if row.aliases else []
                found[row.id] = {
                    "name": row.name, "city": row.city, "origin": row.origin,
                    "aliases": "; ".join(aliases), "found_category": row.category or "",
                    "found_sector": row.sector or "", "segments": len(refs[row.id]),
                    "mentioned_in": _ref_text(refs[row.id]), "_status": row.review_status,
                    "_fields": {"category": row.category, "sector": row.sector,
                                "parent_id": row.parent_id}}
        return found


class PartnershipsSheet(EntitySheet):
    sheet = "Partnerships"
    entity = "partnerships"
    prefix = "P"
    readonly = ["row_id", "city", "found_parties", "found_type", "found_status", "segments",
                "mentioned_in"]
    widths = {"row_id": 8, "city": 12, "found_parties": 40, "found_type": 18,
              "found_status": 12, "segments": 9, "mentioned_in": 40, "decision": 11,
              "merge_into": 11, "parties": 40, "comment": 36}
    wrap = ["found_parties", "mentioned_in", "parties"]

    def fields(self, ctx) -> list[Field]:
        from pipeline.study import DEFAULT_VOCABULARIES

        return [Field("parties", "parties", "actors"),
                Field("type", "type", "choice",
                      _vocab(ctx, "partnership_types",
                             DEFAULT_VOCABULARIES["partnership_types"]), "partnership_types"),
                Field("status", "status", "choice", PARTNERSHIP_STATUSES,
                      "partnership_statuses")]

    def found_values(self, original, names):
        return {"found_parties": "; ".join(f"A{a} {names.get(a, '')}".strip()
                                           for a in sorted(original.get("parties") or [])),
                "found_type": original.get("type") or "",
                "found_status": original.get("status") or ""}

    def entity_rows(self, conn, ids):
        table = TABLES[self.entity]
        refs = _refs(conn, self.entity, ids)
        names = _actor_names(conn)
        parties: dict[int, list[int]] = defaultdict(list)
        for start in range(0, len(ids), 500):
            for partnership_id, actor_id in conn.execute(
                    select(partnership_parties.c.partnership_id, partnership_parties.c.actor_id)
                    .where(partnership_parties.c.partnership_id.in_(ids[start:start + 500]))):
                parties[partnership_id].append(actor_id)
        found = {}
        for start in range(0, len(ids), 500):
            for row in conn.execute(select(table).where(table.c.id.in_(ids[start:start + 500]))):
                mine = sorted(parties[row.id])
                found[row.id] = {
                    "city": row.city,
                    "found_parties": "; ".join(f"A{a} {names.get(a, '')}".strip() for a in mine),
                    "found_type": row.type or "", "found_status": row.status or "",
                    "segments": len(refs[row.id]), "mentioned_in": _ref_text(refs[row.id]),
                    "_status": row.review_status,
                    "_fields": {"parties": mine, "type": row.type, "status": row.status}}
        return found
