"""`review export`: one workbook per coder, recorded in the store so its import can be checked.

The store keeps, for every row written, the id, a hash of the read-only cells and the
coder's decision as pre-filled (`review_export_rows`); the import compares the returned
workbook with that record, never with row positions. A coder sees only their own decisions
(blind double coding); an adjudicator gets the disputed codings with every coder's decision
and comment as read-only columns.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

from pipeline.errors import CityQDAError, warn
from pipeline.review import rows as R
from pipeline.review.rows import ReviewFilters
from pipeline.review.sheets import ExportContext, ExportRow, load_plugins
from pipeline.review.workbook import (
    META_SHEET,
    add_list_validation,
    column_letters,
    fast_rows,
    new_workbook,
    plain_row_hash,
    protect_sheet,
    register_list,
    row_hash,
    save_workbook,
    style_table,
    text_cell,
    write_header,
    write_row,
)
from pipeline.store import Store, utc_now
from pipeline.store.schema import review_export_rows, review_exports

FORMAT = "cityqda-review 1"
DECISION_LIST = "decision_list"
CODE_LIST = "code_list"
FLAG_LIST = "flag_list"

INSTRUCTIONS = """How to review
Codings: one row per coding the tool suggested (or you added), in document order. The
evidence is shown in dark red bold inside the segment text.
Fill in only the yellow columns:
- decision: accept (the code applies), reject (it does not), change (a different code or
  different flags apply: write them in corrected_code / corrected_flags), discuss (raise it
  with the team: write why in comment).
- corrected_flags: the flags that apply, e.g. "negated" or "hypothetical, planned"; "none"
  clears every flag.
- comment: anything you want to say about the coding.
A missed coding: on the Segments sheet pick the code in add_code (one per row; copy the row
for more), optionally with the exact words in add_evidence (default: the whole segment) and
flags in add_flags. Copying a Codings row and changing its code also adds that coding.
Interviews: write memos about a whole interview in memo.
You may sort, filter, hide or delete rows. A deleted row is never read as a rejection: it
simply records no decision. Do not edit the grey columns, ids or the hidden sheets: edits
there are reported and stop the import.
Return the workbook as .xlsx (Excel or LibreOffice). Import: cityqda review import FILE
"""


@dataclass
class ExportResult:
    path: Path
    export_id: str
    rows: int  # Codings rows
    kind: str = "review"
    segments: int = 0
    interviews: int = 0


def new_export_id() -> str:
    return f"{datetime.now(UTC):%Y%m%d}-{uuid.uuid4().hex[:8]}"


def _relative(study, path: Path) -> str:
    try:
        return path.resolve().relative_to(study.root).as_posix()
    except ValueError:
        return str(path.resolve())


def export_review(study, store: Store, coder: str, *, out: Path | None = None,
                  filters: ReviewFilters | None = None, sample: int | None = None,
                  seed: int = 0, only_unreviewed: bool = False,
                  protect: bool = False, run_id: int | None = None) -> ExportResult:
    """Write one review workbook for `coder` and record it; see the module docstring."""
    person = study.coder(coder)
    kind = "adjudication" if person.role == "adjudicator" else "review"
    filters = filters or ReviewFilters()
    export_id = new_export_id()
    out = Path(out) if out is not None else (
        study.root / "reviews" / "outbox" / f"{study.name}-{coder}-{export_id}.xlsx")
    if out.suffix.lower() != ".xlsx":
        raise CityQDAError("CQ525", path=str(out))
    try:  # before any work: a half-built write-only workbook cannot be dropped quietly
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CityQDAError("CQ524", path=str(out), problem=exc.strerror or str(exc)) from exc
    with store.write() as conn:
        codebook = R.review_codebook(conn, study)
        infos, people = R.select_segments(conn, study, filters, sample, seed)
        family = R.code_family(codebook, filters.codes) if filters.codes else None
        all_codings = R.coding_rows(conn, infos)
        decided = R.decisions_by_coding(conn, [c.id for c in all_codings])
        chosen = []
        for coding in all_codings:
            mine = [d for d in decided.get(coding.id, ()) if d.coder == coder]
            if coding.coder and coding.coder != coder and kind == "review":
                continue  # another coder's own coding would reveal their work
            if family is not None and coding.code not in family:
                continue
            status = R.status_of(coding, decided.get(coding.id, ()))
            if kind == "adjudication":
                # disputed codings, and decided ones a codebook or text change flagged
                flagged = coding.needs_review and decided.get(coding.id)
                if R.coder_status(coding, decided.get(coding.id, ())) != "disputed" \
                        and not flagged:
                    continue
            elif status == "superseded" and not mine:
                continue
            if filters.statuses and status not in filters.statuses:
                continue
            if only_unreviewed and mine:
                continue
            chosen.append(coding)
        chosen.sort(key=lambda c: (people[infos[c.segment_id].interview_id]["path"],
                                   infos[c.segment_id].ord, c.start, c.code, c.id))
        other_coders = sorted({d.coder for c in chosen for d in decided.get(c.id, ())
                               if d.coder != coder}) if kind == "adjudication" else []
        ctx = ExportContext(conn=conn, study=study, codebook=codebook, coder=coder,
                            role=person.role, kind=kind, export_id=export_id,
                            segment_ids=set(infos), interview_ids=set(people),
                            run_id=run_id, protect=protect)
        wb = new_workbook()
        _instructions(wb)
        register_list(wb, DECISION_LIST, ["accept", "reject", "change", "discuss"])
        register_list(wb, CODE_LIST, [c.id for c in codebook.codes if not c.retired])
        register_list(wb, FLAG_LIST, R.FLAG_CHOICES)
        records = _codings_sheet(wb, ctx, chosen, infos, decided, other_coders)
        records += _segments_sheet(wb, ctx, infos)
        records += _interviews_sheet(wb, ctx, people, infos)
        _codebook_sheet(wb, codebook)
        for plugin in load_plugins():
            records += plugin.write(wb, ctx)
        created = utc_now()
        _meta_sheet(wb, {"format": FORMAT, "study": study.name, "export_id": export_id,
                         "coder": coder, "role": person.role, "kind": kind,
                         "codebook_id": codebook.id, "codebook_version": codebook.version,
                         "created_at": created})
        coding_rows = sum(1 for r in records if r.sheet == R.CODINGS_SHEET)
        conn.execute(insert(review_exports).values(
            id=export_id, kind=kind, coder=coder, role=person.role,
            file=_relative(study, out), codebook_id=codebook.id,
            codebook_version=codebook.version,
            scope=json.dumps({"filters": filters.as_dict(), "sample": sample, "seed": seed,
                              "only_unreviewed": only_unreviewed,
                              "other_coders": other_coders}, sort_keys=True),
            rows=coding_rows, created_at=created, run_id=run_id))
        # the record is written while the workbook is compressed and saved (SQLite and
        # zlib work without the GIL), inside the transaction: the file is put in place
        # only once the record is written, and no record outlives a failed save
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=1) as pool:
            recorded = pool.submit(_record_rows, conn, export_id, records)
            try:
                save_workbook(wb, out, ready=recorded.result)
            except OSError as exc:  # the transaction is rolled back: no record either
                raise CityQDAError("CQ524", path=str(out),
                                   problem=exc.strerror or str(exc)) from exc
    if not records:
        warn("CQ533")
    return ExportResult(out, export_id, coding_rows, kind,
                        sum(1 for r in records if r.sheet == R.SEGMENTS_SHEET),
                        sum(1 for r in records if r.sheet == R.INTERVIEWS_SHEET))


_NO_MEMO = json.dumps({"memo": None}, sort_keys=True, ensure_ascii=False)


def _record_rows(conn, export_id: str, records: list[ExportRow]) -> None:
    """One executemany of plain tuples through the driver's connection (inside the same
    transaction): building a statement per 5,000 dicts took seconds for 150,000 rows."""
    def state(value):
        if value is None:
            return None
        if value == {"memo": None}:  # most Segments rows
            return _NO_MEMO
        return json.dumps(value, sort_keys=True, ensure_ascii=False)

    columns = ("export_id", "sheet", "row_key", "entity", "entity_id", "content_sha256",
               "state")
    sql = (f"INSERT INTO {review_export_rows.name} ({', '.join(columns)}) "
           f"VALUES ({', '.join('?' for _ in columns)})")
    conn.connection.driver_connection.executemany(sql, (
        (export_id, r.sheet, r.row_key, r.entity, r.entity_id, r.content_sha256,
         state(r.state)) for r in records))


def _instructions(wb) -> None:
    ws = wb.create_sheet(R.INSTRUCTIONS_SHEET)
    ws.column_dimensions["A"].width = 110
    for line in INSTRUCTIONS.splitlines():
        ws.append([text_cell(ws, line, bold=line == "How to review")])


def _table(wb, title: str, columns: list[str], coder_columns: list[str],
           widths: dict[str, float], wrap: list[str], rows: int, protect: bool):
    ws = wb.create_sheet(title)
    letters = column_letters(columns)
    style_table(ws, {letters[c]: w for c, w in widths.items() if c in letters},
                [letters[c] for c in wrap if c in letters], rows=rows + 1,
                columns=len(columns))
    if protect:
        protect_sheet(ws)
    fast_rows(ws)
    return ws, letters


_CODING_WIDTHS = {"row_id": 9, "segment": 15, "city": 11, "category": 14, "section": 16,
                  "question": 28, "text": 60, "previous": 30, "next": 30, "code": 28,
                  "dimension": 14, "rule": 24, "flags": 16, "decision": 11,
                  "corrected_code": 24, "corrected_flags": 18, "comment": 36}


def _codings_sheet(wb, ctx: ExportContext, chosen, infos, decided,
                   other_coders: list[str]) -> list[ExportRow]:
    columns = R.adjudication_columns(other_coders) if ctx.kind == "adjudication" \
        else list(R.CODING_COLUMNS)
    readonly = R.read_only(columns, R.CODER_COLUMNS)
    widths = dict(_CODING_WIDTHS)
    widths.update({c: 20 for c in columns if ": " in c})
    ws, letters = _table(wb, R.CODINGS_SHEET, columns, R.CODER_COLUMNS, widths,
                         ["question", "text", "previous", "next", "comment", "rule"] +
                         [c for c in columns if c.endswith(": comment")],
                         len(chosen), ctx.protect)
    write_header(ws, columns, coder_columns=R.CODER_COLUMNS)
    text_index = columns.index("text")
    unlocked = [columns.index(c) for c in R.CODER_COLUMNS]
    # the read-only columns come first (the coder's last), so their cells are a prefix
    prefix = len(readonly) if columns[:len(readonly)] == readonly else None
    blank = R.coder_cells(None)
    records = []
    for coding in chosen:
        info = infos[coding.segment_id]
        history = decided.get(coding.id)
        if history:
            mine = next((d for d in reversed(history) if d.coder == ctx.coder), None)
            state = R.decision_state(mine)
            others = {d.coder: R.decision_state(d) for d in history if d.coder != ctx.coder}
        else:
            state, others = None, {}
        values = R.coding_values(coding, info, others, other_coders)
        # A flagged coding (code split or retired, text changed) is asked again: its decision
        # cells start blank so that whatever the coder enters is a fresh look, not a leftover.
        asked_again = bool(coding.needs_review and state)
        values.update(R.coder_cells({"comment": state.get("comment")} if asked_again
                                    else state) if state else blank)
        span = R.evidence_span(coding, info)
        cells = [values[c] for c in columns]
        plain = write_row(ws, cells, rich={text_index: [span]} if span else None,
                          unlocked_columns=unlocked)
        # the import reads a missing state as undecided and produced
        exported = None if state is None and coding.produced else \
            {"decision": state, "produced": int(coding.produced)}
        if asked_again:
            exported["asked_again"] = True
        shown = cells[:prefix] if prefix is not None else [values[c] for c in readonly]
        records.append(ExportRow(R.CODINGS_SHEET, values["row_id"], "codings", coding.id,
                                 (plain_row_hash if plain else row_hash)(shown), exported))
    last = len(chosen) + 1
    add_list_validation(ws, letters["decision"], 2, last, DECISION_LIST)
    add_list_validation(ws, letters["corrected_code"], 2, last, CODE_LIST)
    add_list_validation(ws, letters["corrected_flags"], 2, last, FLAG_LIST)
    return records


def _segments_sheet(wb, ctx: ExportContext, infos) -> list[ExportRow]:
    columns = R.SEGMENT_COLUMNS
    readonly = R.read_only(columns, R.SEGMENT_CODER_COLUMNS)
    ordered = sorted(infos.values(), key=lambda i: (i.ref.split(" ¶")[0], i.ord))
    widths = {"row_id": 9, "segment": 15, "city": 11, "category": 14, "section": 16,
              "question": 28, "text": 70, "add_code": 28, "add_evidence": 30,
              "add_flags": 18, "comment": 36}
    ws, letters = _table(wb, R.SEGMENTS_SHEET, columns, R.SEGMENT_CODER_COLUMNS, widths,
                         ["question", "text", "add_evidence", "comment"], len(ordered),
                         ctx.protect)
    write_header(ws, columns, coder_columns=R.SEGMENT_CODER_COLUMNS)
    unlocked = [columns.index(c) for c in R.SEGMENT_CODER_COLUMNS]
    records = []
    memos = R.memos_of(ctx.conn, "segments", ctx.coder)
    for info in ordered:
        values = R.segment_values(info)
        memo = memos.get(info.id)
        values.update({"add_code": "", "add_evidence": "", "add_flags": "",
                       "comment": memo or ""})
        plain = write_row(ws, [values[c] for c in columns], unlocked_columns=unlocked)
        records.append(ExportRow(R.SEGMENTS_SHEET, values["row_id"], "segments", info.id,
                                 (plain_row_hash if plain else row_hash)(
                                     [values[c] for c in readonly]),
                                 {"memo": memo}))
    last = len(ordered) + 1
    add_list_validation(ws, letters["add_code"], 2, last, CODE_LIST)
    add_list_validation(ws, letters["add_flags"], 2, last, FLAG_LIST)
    return records


def _interviews_sheet(wb, ctx: ExportContext, people, infos) -> list[ExportRow]:
    columns = R.INTERVIEW_COLUMNS
    readonly = R.read_only(columns, R.INTERVIEW_CODER_COLUMNS)
    counts: dict[int, int] = defaultdict(int)
    for info in infos.values():
        counts[info.interview_id] += 1
    ordered = sorted(people.values(), key=lambda p: p["path"])
    widths = {"row_id": 9, "interview": 16, "city": 12, "category": 16, "organisation": 30,
              "guide": 16, "segments": 10, "memo": 60}
    ws, _letters = _table(wb, R.INTERVIEWS_SHEET, columns, R.INTERVIEW_CODER_COLUMNS,
                          widths, ["organisation", "memo"], len(ordered), ctx.protect)
    write_header(ws, columns, coder_columns=R.INTERVIEW_CODER_COLUMNS)
    records = []
    memos = R.memos_of(ctx.conn, "interviews", ctx.coder)
    for person in ordered:
        values = R.interview_values(person, counts[person["id"]])
        memo = memos.get(person["id"])
        values["memo"] = memo or ""
        write_row(ws, [values[c] for c in columns],
                  unlocked_columns=[columns.index("memo")])
        records.append(ExportRow(R.INTERVIEWS_SHEET, values["row_id"], "interviews",
                                 person["id"], row_hash([values[c] for c in readonly]),
                                 {"memo": memo}))
    return records


def _codebook_sheet(wb, codebook) -> None:
    columns = ["code", "kind", "label", "dimension", "parent", "definition", "include",
               "exclude", "examples", "counter_examples"]
    codes = [c for c in codebook.codes if not c.retired]
    ws = wb.create_sheet(R.CODEBOOK_SHEET)
    letters = column_letters(columns)
    style_table(ws, {letters["code"]: 30, letters["kind"]: 12, letters["label"]: 28,
                     letters["dimension"]: 16, letters["parent"]: 24,
                     letters["definition"]: 60, letters["include"]: 40,
                     letters["exclude"]: 40, letters["examples"]: 40,
                     letters["counter_examples"]: 40},
                [letters[c] for c in ("definition", "include", "exclude", "examples",
                                      "counter_examples")], rows=len(codes) + 1)
    write_header(ws, columns)
    for code in codes:
        write_row(ws, [code.id, code.kind, code.label, codebook.dimension_of(code.id) or "",
                       code.parent or "", code.definition, "\n".join(code.include),
                       "\n".join(code.exclude), "\n".join(code.examples),
                       "\n".join(code.counter_examples)])


def _meta_sheet(wb, values: dict) -> None:
    ws = wb.create_sheet(META_SHEET)
    ws.sheet_state = "hidden"
    ws.append([text_cell(ws, "key"), text_cell(ws, "value")])
    for key, value in values.items():
        ws.append([text_cell(ws, key), text_cell(ws, value)])


class ExportRecord(Mapping):
    """An export's rows: (sheet, row_key) -> {"entity", "entity_id", "content_sha256",
    "state"} (a fresh dict per lookup).

    Held as tuples with the state's JSON parsed on lookup: a dict per row took about
    100 MB for an export of 150,000 rows. `digest` and `entity_id` read one field
    without building the dict, for the import's per-row checks.
    """

    __slots__ = ("_rows",)

    def __init__(self, rows: dict[tuple[str, str], tuple] | None = None):
        self._rows = rows if rows is not None else {}

    @classmethod
    def of(cls, records) -> ExportRecord:
        """The same record from a mapping of dicts (as `adopt` builds it)."""
        if isinstance(records, ExportRecord):
            return records
        return cls({key: (r["entity"], r["entity_id"], r["content_sha256"], r.get("state"))
                    for key, r in records.items()})

    def __getitem__(self, key) -> dict:
        entity, entity_id, digest, state = self._rows[key]
        return {"entity": entity, "entity_id": entity_id, "content_sha256": digest,
                "state": json.loads(state) if isinstance(state, str) else state}

    def __contains__(self, key) -> bool:
        return key in self._rows

    def __iter__(self):
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def digest(self, key) -> str | None:
        found = self._rows.get(key)
        return None if found is None else found[2]

    def entity_id(self, key) -> int | None:
        found = self._rows.get(key)
        return None if found is None else found[1]

    def entry(self, key) -> tuple | None:
        """(entity, entity_id, content_sha256, state as JSON text) as held, or None: one
        lookup for a check that reads several fields of every row."""
        return self._rows.get(key)

    def entity_ids(self, sheet: str) -> list[int]:
        """The ids of the entities written on `sheet`."""
        return [row[1] for (name, _key), row in self._rows.items() if name == sheet]

    def state(self, key) -> dict | None:
        found = self._rows.get(key)
        state = None if found is None else found[3]
        return json.loads(state) if isinstance(state, str) else state

    def state_text(self, key) -> str | None:
        """The state as the store holds it (JSON text), not parsed."""
        found = self._rows.get(key)
        return None if found is None else found[3]


def export_rows(conn, export_id: str) -> ExportRecord:
    """The record of an export's rows (see ExportRecord).

    Read through the driver's connection: 150,000 rows through SQLAlchemy's result
    objects took seconds."""
    import sys

    found = {}
    cursor = conn.connection.driver_connection.execute(
        f"SELECT sheet, row_key, entity, entity_id, content_sha256, state "
        f"FROM {review_export_rows.name} WHERE export_id = ?", (export_id,))
    intern = sys.intern  # a handful of sheet and entity names, 150,000 times over
    for sheet, row_key, entity, entity_id, digest, state in cursor:
        found[(intern(sheet), row_key)] = (intern(entity), entity_id, digest, state)
    return ExportRecord(found)
