"""Adopting a review workbook exported from another copy of the same study.

An export id names one export of one store, so a workbook made on a colleague's machine,
before the store was rebuilt, or shipped with the sample study (reviews/inbox/) is unknown
here. When its study matches and its coder is declared, the export record is rebuilt from
the workbook's own rows: for every row id, what the export would write for it is rendered
from THIS store with the code the export uses (`rows.coding_values`, `rows.segment_values`,
`rows.interview_values`, and each sheet plugin's `write`), and the read-only cells are
compared. Rows are matched:

1. by id: C123 is coding 123 here when coding 123 shows the same cells (a fresh store
   built from the same inputs gives the same ids: checked on the sample study);
2. else by what the row shows (every read-only cell but the id): a coding, segment or
   entity here that shows exactly those cells, the lowest unclaimed id first when several
   do; the record then maps the workbook's id to this store's id.

A row matched neither way is an error naming the sheet, row and the first column that
differs, and nothing is adopted (the import stays all or nothing). What was pre-filled at
export is not known here, so an adopted row counts as exported undecided (no decision, no
memo): every coder cell filled in is the coder's input, and a decision of the same coder
already in this store that differs from the workbook is a stale row (CQ514; which of the
two is newer cannot be told). Rows the coder deleted cannot be reported (the record holds
the rows the workbook has). The Interviews sheet's `segments` count depends on the
export's sample, so it is taken as the workbook shows it.

The rebuilt record is stored by the import (review_exports with scope.adopted, and
review_export_rows) in the same transaction as the decisions, so a later import of the
same export is an ordinary one.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import insert, select

from pipeline.errors import CityQDAError, Problem
from pipeline.review import rows as R
from pipeline.review.workbook import META_SHEET, comparable, content_hash, read_sheet_rows
from pipeline.store import utc_now
from pipeline.store.schema import codings, review_export_rows, review_exports

_KEY = re.compile(r"^\s*([A-Za-z]*)\s*(\d+)\s*$")


@dataclass
class Adoption:
    """The export record rebuilt from a workbook; `store` writes it."""

    export: SimpleNamespace  # looks like a review_exports row
    rows: dict[tuple[str, str], dict] = field(default_factory=dict)  # as export_rows()
    problems: list[Problem] = field(default_factory=list)
    info: dict = field(default_factory=dict)

    def store(self, conn) -> None:
        """Record the export and its rows (rows of an export recorded already are kept)."""
        known = conn.execute(select(review_exports.c.id)
                             .where(review_exports.c.id == self.export.id)).first()
        if known is None:
            conn.execute(insert(review_exports).values(
                id=self.export.id, kind=self.export.kind, coder=self.export.coder,
                role=self.export.role, file=self.export.file,
                codebook_id=self.export.codebook_id,
                codebook_version=self.export.codebook_version, scope=self.export.scope,
                rows=sum(1 for sheet, _k in self.rows if sheet == R.CODINGS_SHEET),
                created_at=self.export.created_at, run_id=self.export.run_id))
        have = {(r.sheet, r.row_key) for r in conn.execute(
            select(review_export_rows.c.sheet, review_export_rows.c.row_key)
            .where(review_export_rows.c.export_id == self.export.id))}
        batch = [{"export_id": self.export.id, "sheet": sheet, "row_key": key,
                  "entity": record["entity"], "entity_id": record["entity_id"],
                  "content_sha256": record["content_sha256"],
                  "state": None if record["state"] is None else
                  json.dumps(record["state"], sort_keys=True, ensure_ascii=False)}
                 for (sheet, key), record in sorted(self.rows.items())
                 if (sheet, key) not in have]
        for start in range(0, len(batch), 5000):
            conn.execute(insert(review_export_rows), batch[start:start + 5000])


def _number(key: str) -> int | None:
    match = _KEY.match(key)
    return int(match.group(2)) if match else None


def _header(book, sheet: str) -> list[str]:
    rows = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False, nrows=1)
    return [str(h).strip() for h in (rows[0] if rows else []) if h not in (None, "")]


class _Sheet:
    """Matching the rows of one sheet against renderings from this store."""

    def __init__(self, name: str, entity: str, readonly: list[str],
                 scoped: tuple[str, ...] = ()):
        self.name, self.entity, self.readonly, self.scoped = name, entity, readonly, scoped

    # rendering: id -> (values by read-only column, state); subclasses/closures set these
    def render(self, ids: list[int]) -> dict[int, tuple[dict, dict | None]]:
        raise NotImplementedError

    def all_ids(self) -> list[int]:
        raise NotImplementedError

    def _key(self, values: dict) -> str:
        """Hash of what a row shows, the id and sample-dependent cells left out."""
        return content_hash([values.get(c) for c in self.readonly
                             if c != "row_id" and c not in self.scoped])

    def match(self, rows: list[dict], adoption: Adoption, file: str) -> None:
        groups: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            key = comparable(row.get("row_id"))
            if key is not None and _number(key.strip()) is not None:
                groups[key.strip()].append(row)
        if not groups:
            return
        claimed: set[int] = set()
        wanted = {key: _number(key) for key in groups}
        rendered = self.render(sorted(set(wanted.values())))
        left = []
        for key in sorted(groups, key=lambda k: (wanted[k], k)):
            local = rendered.get(wanted[key])
            if local is not None and self._shows(groups[key], local[0]):
                self._adopt(adoption, key, wanted[key], local, groups[key])
                claimed.add(wanted[key])
            else:
                left.append(key)
        if not left:
            return
        index: dict[str, list[int]] = defaultdict(list)
        everything = self.render(self.all_ids())
        for entity_id in sorted(everything):
            if entity_id not in claimed:
                index[self._key(everything[entity_id][0])].append(entity_id)
        for key in left:
            found = None
            for row in groups[key]:
                candidates = index.get(self._key(row))
                if candidates:
                    found = candidates.pop(0)
                    break
            if found is not None:
                self._adopt(adoption, key, found, everything[found], groups[key])
                continue
            self._refuse(adoption, key, groups[key], rendered.get(wanted[key]), file)

    def _shows(self, group: list[dict], values: dict) -> bool:
        return any(self._key(row) == self._key(values) for row in group)

    def _adopt(self, adoption: Adoption, key: str, entity_id: int, local, group) -> None:
        values, state = local
        values = dict(values, row_id=key)
        row = next(r for r in group if self._key(r) == self._key(values))
        for column in self.scoped:  # sample-dependent: as the workbook shows it
            values[column] = row.get(column)
        cells = [values.get(c) for c in self.readonly]
        if state is not None and "readonly" in state:  # sheet plugins keep the cells
            state = dict(state, readonly=[[c, values.get(c)] for c, _v in state["readonly"]])
            cells = [values.get(c) for c, _v in state["readonly"]]
        adoption.rows[(self.name, key)] = {"entity": self.entity, "entity_id": entity_id,
                                           "content_sha256": content_hash(cells),
                                           "state": state}

    def _refuse(self, adoption: Adoption, key: str, group: list[dict], local, file) -> None:
        row = group[0]
        if local is None:
            adoption.problems.append(Problem("CQ536", {
                "row_id": key, "what": self.entity[:-1]}, file, row["_row"], "row_id",
                self.name))
            return
        values = local[0]
        column = next((c for c in self.readonly if c != "row_id" and c not in self.scoped
                       and comparable(row.get(c)) != comparable(values.get(c))), "row_id")
        adoption.problems.append(Problem("CQ535", {
            "at_row": row["_row"], "row_id": key, "what": self.entity[:-1], "field": column,
            "found": _short(row.get(column)), "here": _short(values.get(column))},
            file, row["_row"], column, self.name))


def _short(value, limit: int = 60) -> str:
    text = comparable(value) or ""
    return text if len(text) <= limit else text[:limit - 1] + "…"


class _Codings(_Sheet):
    def __init__(self, conn, study, infos, columns: list[str], other_coders: list[str]):
        super().__init__(R.CODINGS_SHEET, "codings", R.read_only(columns, R.CODER_COLUMNS))
        self.conn, self.study, self.infos, self.other_coders = conn, study, infos, other_coders

    def all_ids(self):
        return sorted(i for i, segment_id in self.conn.execute(
            select(codings.c.id, codings.c.segment_id).where(codings.c.merged_into.is_(None)))
            if segment_id in self.infos)

    def render(self, ids):
        found = {}
        wanted = [c for c in codings.c if c.name not in ("sentence", "context")]
        others = R.decisions_by_coding(self.conn, ids) if self.other_coders else {}
        for start in range(0, len(ids), 900):
            for coding in self.conn.execute(select(*wanted).where(
                    codings.c.id.in_(ids[start:start + 900]))):
                info = self.infos.get(coding.segment_id) or \
                    R.segment_info(self.conn, coding.segment_id)
                if info is None:
                    continue
                decided = {d.coder: R.decision_state(d) for d in others.get(coding.id, ())}
                values = R.coding_values(coding, info, decided, self.other_coders)
                state = None if coding.produced else {"decision": None, "produced": 0}
                found[coding.id] = (values, state)
        return found


class _Segments(_Sheet):
    def __init__(self, conn, infos):
        super().__init__(R.SEGMENTS_SHEET, "segments",
                         R.read_only(R.SEGMENT_COLUMNS, R.SEGMENT_CODER_COLUMNS))
        self.conn, self.infos = conn, infos

    def all_ids(self):
        return sorted(self.infos)

    def render(self, ids):
        found = {}
        for segment_id in ids:
            info = self.infos.get(segment_id) or R.segment_info(self.conn, segment_id)
            if info is not None:
                found[segment_id] = (R.segment_values(info), {"memo": None})
        return found


class _Interviews(_Sheet):
    def __init__(self, conn):
        super().__init__(R.INTERVIEWS_SHEET, "interviews",
                         R.read_only(R.INTERVIEW_COLUMNS, R.INTERVIEW_CODER_COLUMNS),
                         scoped=("segments",))
        self.people = R.load_interviews(conn)

    def all_ids(self):
        return sorted(self.people)

    def render(self, ids):
        return {i: (R.interview_values(self.people[i], 0), {"memo": None})
                for i in ids if i in self.people}


class _PluginSheet(_Sheet):
    """A sheet plugin's rows, rendered by its own `write` on a scratch workbook. A plugin
    that chooses its rows with `chosen_ids(ctx)` is asked for exactly the ids wanted;
    another renders what it would export for the workbook's segments."""

    def __init__(self, plugin, ctx):
        super().__init__(plugin.sheet, getattr(plugin, "entity", plugin.sheet.lower()), [])
        self.plugin, self.ctx = plugin, ctx

    def all_ids(self):
        from pipeline.review.entity_decisions import TABLES

        table = TABLES.get(self.entity)
        if table is None:
            return []
        return sorted(self.ctx.conn.execute(select(table.c.id)).scalars())

    def render(self, ids):
        from pipeline.review.workbook import new_workbook

        if hasattr(self.plugin, "chosen_ids"):
            existing = set(self.all_ids())
            self.plugin.chosen_ids = lambda _ctx: [i for i in ids if i in existing]
        found = {}
        for record in self.plugin.write(new_workbook(write_only=False), self.ctx):
            state = dict(record.state or {})
            pairs = state.get("readonly")
            if pairs is None:
                continue  # a plugin that does not keep its cells cannot be adopted
            if "decision" in state:
                state["decision"] = None  # nothing was pre-filled here
            values = {c: v for c, v in pairs}
            if not self.readonly:
                self.readonly = [c for c, _v in pairs]
            found[record.entity_id] = (values, state)
        return found


def adopt_workbook(conn, study, codebook, path: Path, book, meta: dict, *,
                   run_id: int | None = None) -> Adoption:
    """Rebuild the record of the export `meta` describes from the workbook's rows."""
    from pipeline.review.sheets import ExportContext, load_plugins

    file = str(path)
    coder = meta.get("coder") or ""
    export = SimpleNamespace(id=meta["export_id"], coder=coder, kind=meta.get("kind"),
                             role=None, file=path.name, codebook_id=meta.get("codebook_id"),
                             codebook_version=meta.get("codebook_version"), scope="{}",
                             created_at=meta.get("created_at") or utc_now(), run_id=run_id)
    adoption = Adoption(export)
    known = {c.id: c for c in study.coders}
    if coder not in known:
        adoption.problems.append(Problem("CQ537", {
            "export_id": export.id, "coder": coder,
            "known": ", ".join(sorted(known)) or "(none declared)"}, file, sheet=META_SHEET))
        return adoption
    person = known[coder]
    kind = "adjudication" if person.role == "adjudicator" else "review"
    if (export.kind or kind) != kind:
        adoption.problems.append(Problem("CQ538", {
            "export_id": export.id, "coder": coder, "kind": export.kind, "role": person.role},
            file, sheet=META_SHEET))
        return adoption
    export.kind, export.role = kind, person.role
    other_coders: list[str] = []
    columns = list(R.CODING_COLUMNS)
    if kind == "adjudication" and R.CODINGS_SHEET in book.sheet_names:
        header = _header(book, R.CODINGS_SHEET)
        other_coders = [c[:-len(": decision")] for c in header if c.endswith(": decision")]
        columns = R.adjudication_columns(other_coders)
    infos, _people = R.select_segments(conn, study, R.ReviewFilters(), None, 0)
    sheets: list[tuple[_Sheet, list[str]]] = [
        (_Codings(conn, study, infos, columns, other_coders), columns),
        (_Segments(conn, infos), R.SEGMENT_COLUMNS),
        (_Interviews(conn), R.INTERVIEW_COLUMNS)]
    read: dict[str, list[dict]] = {}
    for sheet, required in sheets:
        try:
            read[sheet.name] = read_sheet_rows(path, sheet.name, required=required,
                                               workbook=book)
        except CityQDAError:
            continue  # the import reads the sheet again and reports it
        sheet.match(read[sheet.name], adoption, file)
    scope_segments = {record["entity_id"] for (sheet, _k), record in adoption.rows.items()
                      if sheet == R.SEGMENTS_SHEET}
    ctx = ExportContext(conn=conn, study=study, codebook=codebook, coder=coder,
                        role=person.role, kind=kind, export_id=export.id,
                        segment_ids=scope_segments,
                        interview_ids={i.interview_id for s, i in infos.items()
                                       if s in scope_segments}, run_id=run_id)
    for plugin in load_plugins():
        if plugin.sheet not in book.sheet_names:
            continue
        try:
            rows = read_sheet_rows(path, plugin.sheet, workbook=book)
        except CityQDAError:
            continue
        _PluginSheet(plugin, ctx).match(rows, adoption, file)
    export.scope = json.dumps({"adopted": {"file": path.name, "study": meta.get("study"),
                                           "created_at": meta.get("created_at")},
                               "other_coders": other_coders}, sort_keys=True)
    adoption.info = {"rows": len(adoption.rows)}
    return adoption
