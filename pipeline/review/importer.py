"""`review import`: read returned workbooks, check all of them, then apply all or nothing.

Rows are matched by id and by the hash of their read-only cells recorded at export, never by
position, so sorted, filtered and re-ordered sheets import the same. What each row means:

* a Codings row whose coder cells differ from what was pre-filled is a decision (accept,
  reject, discuss; change = reject plus a manual coding of the corrected code or flags,
  linked to the decision); unchanged rows change nothing;
* a Codings row copied with another code, and a Segments row with add_code, add a manual
  coding; a Segments comment without a code and an Interviews memo are memos;
* a deleted row is no decision (reported, never a rejection);
* a row is stale when the same coder decided it differently after this export, or its
  coding was superseded or merged since: stale rows stop the import unless skip_stale.

Every workbook is validated before anything is written; one problem anywhere refuses the
whole import and the store is left as it was, with the problems listed in a CSV file next
to each workbook. Importing the same workbook twice changes nothing.

A workbook whose export this store did not make (another copy of the same study, a rebuilt
store, the sample study's demo workbooks) is adopted: its export record is rebuilt from its
rows by rendering them from this store (pipeline/review/adopt.py), then it imports as usual.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict, namedtuple
from dataclasses import dataclass, field
from pathlib import Path
from sys import intern
from typing import NamedTuple

from sqlalchemy import insert, select, update

from pipeline.coding.code_changes import code_kind
from pipeline.coding.decisions import (
    DECISIONS,
    add_manual_coding,
    find_manual_coding,
    set_decision,
)
from pipeline.errors import CityQDAError, Problem
from pipeline.hashing import file_sha256
from pipeline.review import rows as R
from pipeline.review.bulk import EarlyDecisions, set_plain_decisions
from pipeline.review.export import _NO_MEMO, FORMAT, ExportRecord, export_rows
from pipeline.review.sheets import ImportContext, from_export, load_plugins
from pipeline.review.workbook import (
    META_SHEET,
    ROW_HASH_PREFIX,
    SheetPrefetch,
    blank_row,
    comparable,
    content_hash,
    formula_cells,
    hash_like,
    normalise_value,
    open_workbook,
    read_sheet_rows,
    row_hash_expecting,
    started_prefetch,
)
from pipeline.store import Store, record_event, utc_now
from pipeline.store.schema import (
    codings,
    decisions,
    memos,
    review_exports,
    review_imports,
    segments,
)


class _DryRun(Exception):
    """Raised inside the write transaction to roll a dry run back."""


@dataclass
class FileChanges:
    file: str
    export_id: str = ""
    coder: str = ""
    decisions: int = 0
    added: int = 0
    memos: int = 0
    plugin_rows: int = 0
    unchanged: int = 0
    deleted: int = 0
    cleared: int = 0  # decision cells emptied (decisions are kept)
    stale: list[str] = field(default_factory=list)
    skipped: bool = False  # the same bytes were imported before

    @property
    def total(self) -> int:
        return self.decisions + self.added + self.memos + self.plugin_rows

    def line(self, dry_run: bool = False) -> str:
        name = Path(self.file).name
        if self.skipped:
            return f"{name}: already imported, nothing to do"
        verb = "would change" if dry_run else "changed"
        parts = [f"{self.decisions} decision(s)", f"{self.added} added coding(s)",
                 f"{self.memos} memo(s)"]
        if self.plugin_rows:
            parts.append(f"{self.plugin_rows} other row(s)")
        text = (f"{name} (export {self.export_id}, coder {self.coder}): {verb} "
                + ", ".join(parts) + f"; {self.unchanged} row(s) unchanged")
        if self.deleted:
            text += f"; {self.deleted} row(s) deleted (no decision)"
        if self.cleared:
            text += f"; {self.cleared} emptied decision cell(s) ignored (decisions are kept)"
        if self.stale:
            text += f"; {len(self.stale)} stale row(s) skipped"
        return text


@dataclass
class ImportReport:
    changes: list[FileChanges] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # warnings
    dry_run: bool = False

    def lines(self) -> list[str]:
        lines = [c.line(self.dry_run) for c in self.changes]
        if self.dry_run:
            lines.append("dry run: nothing was written")
        return lines


@dataclass
class _Work:
    """What one workbook will do, worked out before anything is written."""

    path: Path
    sha256: str
    changes: FileChanges
    ctx: ImportContext | None = None
    decisions: list[dict] = field(default_factory=list)
    additions: list[dict] = field(default_factory=list)
    memo_sets: list[dict] = field(default_factory=list)
    plugin_changes: list[tuple] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    adoption: object | None = None  # adopt.Adoption: the export record rebuilt here
    early: EarlyDecisions | None = None  # decisions written while the rows were read


def problems_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.problems.csv")


def import_reviews(study, store: Store, paths: list[Path], *, dry_run: bool = False,
                   skip_stale: bool = False, run_id: int | None = None,
                   coder: str | None = None) -> ImportReport:
    """Import review workbooks (see the module docstring); CityQDAError when any is invalid."""
    report = ImportReport(dry_run=dry_run)
    works: list[_Work] = []
    try:
        with store.write() as conn:
            codebook = R.review_codebook(conn, study)
            given: dict[str, Path] = {}  # content -> the first path given with it
            for path in map(Path, paths):
                twice = _given_before(path, given) if len(paths) > 1 else None
                if twice is not None:
                    works.append(twice)
                    continue
                # one workbook: its first decisions are written as its rows are read
                # (EarlyDecisions); with more, a later one's checks must not see them
                work = _validate(conn, study, codebook, path, skip_stale=skip_stale,
                                 dry_run=dry_run, run_id=run_id, coder=coder,
                                 early=len(paths) == 1 and not dry_run)
                works.append(work)
            problems = [p for w in works for p in w.problems]
            if len(works) > 1 and not problems:
                problems = _same_coder_conflicts(works, skip_stale)
            if problems:
                raise CityQDAError.from_problems(problems)
            applied = False
            for work in works:
                if not work.changes.skipped:
                    _apply(conn, work, run_id, checked_state_current=not applied)
                    applied = True
            if dry_run:
                raise _DryRun()
    except _DryRun:
        pass
    except CityQDAError as exc:
        if not dry_run:  # a dry run writes nothing, not even the problems beside a workbook
            _write_problem_files(works, exc.problems)
        raise
    if not dry_run:
        _write_problem_files(works, [])
    report.changes = [w.changes for w in works]
    report.problems = [p for w in works for p in w.warnings]
    return report


def _given_before(path: Path, given: dict[str, Path]) -> _Work | None:
    """A skipped work when a workbook with the same bytes came earlier in this import (a
    file passed twice, or two copies in the inbox): imported once, reported once."""
    if not path.is_file():
        return None
    sha256 = file_sha256(path)
    first = given.setdefault(sha256, path)
    if first is path:
        return None
    work = _Work(path, sha256, FileChanges(str(path), skipped=True))
    work.warnings.append(Problem("CQ526", {"first": str(first)}, str(path)))
    return work


class _Said(NamedTuple):
    """One row's input, as `_same_coder_conflicts` compares it across workbooks."""

    about: tuple  # what the row decides or writes
    said: object  # equal when two rows say the same
    row_id: str
    sheet: str
    column: str
    wants: str  # "decides it reject", for the message


def _same_coder_conflicts(works: list[_Work], skip_stale: bool) -> list[Problem]:
    """Workbooks of one coder imported together that decide one coding or entity, or
    write one memo, differently.

    Imported one by one, the later would be refused as stale (decided after its export);
    together, each was checked against the store alone and the later silently overwrote
    the earlier. A row repeated as it is counts as unchanged. With `skip_stale` the later
    row is skipped as stale."""
    from pipeline.review.entity_sheets import EntitySheet

    first: dict[tuple, tuple[_Work, dict, _Said]] = {}
    problems: list[Problem] = []

    def kept(work: _Work, items: list[dict], said_of) -> list[dict]:
        keep = []
        for item in items:
            said = said_of(item)
            seen = first.setdefault((work.ctx.coder, said.about), (work, item, said))
            if seen[1] is item:
                keep.append(item)
            elif seen[2].said == said.said:
                work.changes.unchanged += 1
            elif skip_stale:
                work.changes.stale.append(said.row_id)
            else:
                problems.append(Problem("CQ514", {"row_id": said.row_id, "reason": (
                    f"{work.ctx.coder} {seen[2].wants} in {seen[0].path.name} (row "
                    f"{seen[1]['row']}) in this same import, and {said.wants} here")},
                    str(work.path), item["row"], said.column, said.sheet))
        return keep

    for work in works:
        if work.ctx is None:
            continue
        work.decisions = kept(work, work.decisions, _coding_said)
        work.memo_sets = kept(work, work.memo_sets, _memo_said)
        work.plugin_changes = [
            (plugin, kept(work, changes, _entity_said(plugin))
             if isinstance(plugin, EntitySheet) else changes)
            for plugin, changes in work.plugin_changes]
    return problems


def _coding_said(item: dict) -> _Said:
    coding_id = item["coding"].id
    return _Said(("codings", coding_id), _decided(item), f"C{coding_id}", R.CODINGS_SHEET,
                 "decision", f"decides it {item['decision']}")


def _memo_said(item: dict) -> _Said:
    sheet, column = (R.SEGMENTS_SHEET, "comment") if item["entity"] == "segments" \
        else (R.INTERVIEWS_SHEET, "memo")
    return _Said((item["entity"], item["entity_id"]), item["text"], item["row_id"], sheet,
                 column, f"writes {_short(item['text'])!r}")


def _entity_said(plugin):
    from pipeline.review.entity_sheets import decision_said

    def said(change: dict) -> _Said:
        return _Said((plugin.entity, change["entity_id"]), decision_said(change),
                     f"{plugin.prefix}{change['entity_id']}", plugin.sheet, "decision",
                     f"decides it {change['decision']}")
    return said


def _decided(item: dict) -> tuple:
    flags = item["corrected_flags"]
    return (item["decision"], item["corrected_code"],
            tuple(sorted(flags.items())) if flags else None, item["comment"])


def _write_problem_files(works: list[_Work], problems: list[Problem]) -> None:
    """<workbook>.problems.csv beside each workbook with problems; stale ones removed."""
    by_file: dict[str, list[Problem]] = defaultdict(list)
    for problem in problems:
        by_file[str(problem.file)].append(problem)
    for work in works:
        target = problems_path(work.path)
        found = by_file.get(str(work.path), []) + [
            w for w in work.warnings if str(w.file) == str(work.path)] if problems else []
        if not found:
            if target.exists():
                target.unlink()
            continue
        try:
            with open(target, "w", encoding="utf-8-sig", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["code", "level", "sheet", "row", "column", "message",
                                 "hint"])
                for p in found:
                    writer.writerow([p.code, p.spec.level, p.sheet or "",
                                     "" if p.row is None else p.row, p.column or "",
                                     p.message, p.hint])
        except OSError:
            pass  # a read-only folder: the problems are printed anyway


# --- validation ----------------------------------------------------------------------------

def _meta(path: Path, book) -> dict:
    if META_SHEET not in book.sheet_names:
        raise CityQDAError("CQ516", file=str(path),
                           problem="it has no _meta sheet (not exported by cityqda, or the "
                                   "sheet was deleted)")
    meta = {}
    for row in read_sheet_rows(path, META_SHEET, required=["key", "value"], workbook=book):
        if row.get("key") is not None:
            meta[str(row["key"])] = "" if row.get("value") is None else str(row["value"])
    if meta.get("format") != FORMAT or not meta.get("export_id"):
        raise CityQDAError("CQ516", file=str(path), sheet=META_SHEET,
                           problem=f"_meta does not describe a {FORMAT} export")
    return meta


def _validate(conn, study, codebook, path: Path, *, skip_stale: bool, dry_run: bool,
              run_id: int | None, coder: str | None, early: bool = False) -> _Work:
    started = started_prefetch(path)  # sheets a command began parsing (`start_prefetch`)
    try:
        return _validate_file(conn, study, codebook, path, skip_stale=skip_stale,
                              dry_run=dry_run, run_id=run_id, coder=coder, started=started,
                              early=early)
    finally:
        if started is not None:
            started.close()


def _validate_file(conn, study, codebook, path: Path, *, skip_stale: bool, dry_run: bool,
                   run_id: int | None, coder: str | None, started: SheetPrefetch | None,
                   early: bool) -> _Work:
    work = _Work(path, file_sha256(path) if path.is_file() else "", FileChanges(str(path)))
    book = open_workbook(path)
    meta = _meta(path, book)
    file = str(path)
    if meta.get("study") != study.name:
        work.problems.append(Problem("CQ503", {"found": meta.get("study"),
                                               "expected": study.name}, file,
                                     sheet=META_SHEET))
        return work
    export = conn.execute(select(review_exports)
                          .where(review_exports.c.id == meta["export_id"])).first()
    recorded = None
    if export is None:  # exported from another copy of this study: adopt it (adopt.py)
        from pipeline.review.adopt import adopt_workbook

        if started is not None:  # adoption reads the sheets itself: not twice in memory
            started.close()
            started = None

        adoption = adopt_workbook(conn, study, codebook, path, book, meta, run_id=run_id)
        if adoption.problems:
            work.problems.extend(adoption.problems)
            return work
        work.adoption = adoption
        export, recorded = adoption.export, adoption.rows
    work.changes.export_id, work.changes.coder = export.id, export.coder
    if meta.get("coder") != export.coder:
        work.problems.append(Problem("CQ505", {
            "expected": export.coder, "found": f"its _meta sheet names {meta.get('coder')!r}",
            "found_coder": meta.get("coder")}, file, sheet=META_SHEET))
        return work
    if coder is not None and coder != export.coder:
        work.problems.append(Problem("CQ505", {
            "expected": export.coder, "found": f"it is imported as coder {coder!r}",
            "found_coder": coder}, file))
        return work
    done = conn.execute(select(review_imports.c.imported_at).where(
        review_imports.c.sha256 == work.sha256,
        review_imports.c.export_id == export.id)).first()
    if done is not None:
        work.changes.skipped = True
        work.warnings.append(Problem("CQ531", {"time": done.imported_at}, file))
        return work
    source = f"workbook {path.name} export {export.id}"
    prefetch = started or (SheetPrefetch(path, _BIG_SHEETS, book.sheet_names)
                         if R.CODINGS_SHEET in book.sheet_names else None)
    try:
        recorded = export_rows(conn, export.id) if recorded is None else \
            ExportRecord.of(recorded)
        try:
            _check_rows(conn, study, codebook, path, book, work, export, recorded, source,
                        prefetch, skip_stale=skip_stale, dry_run=dry_run, run_id=run_id,
                        early=early and work.adoption is None
                        and export.kind != "adjudication")
        finally:  # no write may still run after validation (nor in a closed prefetch)
            if work.early is not None:
                work.early.finish()
    finally:
        if prefetch is not None:
            prefetch.close()
    return work


_CODINGS = R.CODINGS_SHEET
# parsed in background threads, a thread per sheet (see SheetPrefetch)
_BIG_SHEETS = (R.CODINGS_SHEET, R.SEGMENTS_SHEET)
# the Codings sheet last: the smaller sheets' rows are read while it is being parsed
_READING_ORDER = (R.SEGMENTS_SHEET, R.INTERVIEWS_SHEET, R.CODINGS_SHEET)


def _check_rows(conn, study, codebook, path: Path, book, work: _Work, export, recorded,
                source: str, prefetch: SheetPrefetch | None, *, skip_stale: bool,
                dry_run: bool, run_id: int | None, early: bool = False) -> None:
    """Read every sheet of an identified workbook and check its rows (into `work`).
    `early`: the first plain decisions may be written as the Codings rows are read
    (`_RowChecker.watch`)."""
    file = str(path)
    person = study.coder(export.coder)
    ctx = ImportContext(conn=conn, study=study, codebook=codebook, coder=export.coder,
                        role=person.role, export_id=export.id, source=source,
                        export_rows=recorded, export_created_at=export.created_at,
                        dry_run=dry_run, run_id=run_id, file=file, skip_stale=skip_stale)
    work.ctx = ctx
    scope = json.loads(export.scope or "{}")
    columns = R.adjudication_columns(scope.get("other_coders") or []) \
        if export.kind == "adjudication" else list(R.CODING_COLUMNS)
    sheets = {R.CODINGS_SHEET: columns, R.SEGMENTS_SHEET: R.SEGMENT_COLUMNS,
              R.INTERVIEWS_SHEET: R.INTERVIEW_COLUMNS}
    read: dict[str, list[dict]] = {}
    small: dict[str, list[str]] = {}
    translations = R.code_translations(codebook)
    checker = _RowChecker(conn, codebook, translations, ctx, work, skip_stale)
    if prefetch is not None and R.CODINGS_SHEET in prefetch:
        # the store read for the Codings checks while the sheet is still being parsed
        checker.preload(recorded.entity_ids(R.CODINGS_SHEET))
        if early:
            work.early = checker.early = EarlyDecisions(
                conn, export.coder, role=person.role, source=source, run_id=run_id,
                pool=prefetch.pool_of(R.SEGMENTS_SHEET))
    found: dict[str, list[Problem]] = defaultdict(list)  # reported in `sheets` order
    for sheet in _READING_ORDER:
        required = sheets[sheet]
        keep = None
        if sheet == R.CODINGS_SHEET:
            keep = _slim(recorded, sheet, R.read_only(required, R.CODER_COLUMNS),
                         R.CODER_COLUMNS)
        elif sheet == R.SEGMENTS_SHEET:
            keep = _slim(recorded, sheet, R.read_only(required, R.SEGMENT_CODER_COLUMNS),
                         R.SEGMENT_CODER_COLUMNS)
        if keep is not None:
            small[sheet] = keep.small
            if sheet == R.CODINGS_SHEET and checker.early is not None:
                keep = checker.watching(keep)
        ahead = prefetch is not None and sheet in prefetch
        try:
            read[sheet] = read_sheet_rows(path, sheet, required=required, workbook=book,
                                          keep_raw=keep,
                                          loaded=prefetch.take_sheet(sheet) if ahead
                                          else None)
        except CityQDAError as exc:
            found[sheet].extend(exc.problems)
            continue
        found[sheet].extend(_formula_problems(
            path, sheet, book, prefetch.formulas(sheet) if ahead else None))
    for sheet in sheets:
        work.problems.extend(found[sheet])
    checker.adopted = work.adoption is not None
    checker.small = small
    if R.CODINGS_SHEET in read:
        checker.codings(read[R.CODINGS_SHEET], columns)
    if R.SEGMENTS_SHEET in read:
        checker.segments(read[R.SEGMENTS_SHEET])
    if R.INTERVIEWS_SHEET in read:
        checker.interviews(read[R.INTERVIEWS_SHEET])
    for plugin in load_plugins():
        exported = any(sheet == plugin.sheet for sheet, _key in recorded)
        if plugin.sheet not in book.sheet_names:
            if exported:
                work.problems.append(Problem("CQ501", {
                    "expected": plugin.sheet, "found": ", ".join(book.sheet_names)}, file,
                    sheet=plugin.sheet))
            continue
        try:
            plugin_rows = read_sheet_rows(path, plugin.sheet, workbook=book)
        except CityQDAError as exc:
            work.problems.extend(exc.problems)
            continue
        work.problems.extend(_formula_problems(path, plugin.sheet, book))
        changes, problems = plugin.read(plugin_rows, ctx)
        work.problems.extend(problems)
        work.plugin_changes.append((plugin, changes))
    work.changes.stale.extend(ctx.stale)


BIG_COLUMNS = ("text", "previous", "next", "question", "section")


def _slim(recorded: ExportRecord, sheet: str, readonly: list[str], coder: list[str]):
    """Hash each row's read-only cells as it is read (a `read_sheet_rows` keep_raw), with
    `row_hash`, or `content_hash` when the export recorded that older format. A row that
    matches the export is kept small (a 100,000-row sheet then fits in memory):
    its id, row number, hash and filled coder cells, and its short read-only values,
    shared between rows (a city or code is the same text on many rows), as a tuple under
    "_small" (`_full` restores them); the long texts are dropped. Any other row is kept
    whole, as a dict like `read_sheet_rows` gives (its hash is taken again there).

    Works on the cells as parsed, without a dict per row: most of a 100,000-row import
    was spent building dicts that were dropped at once."""
    small = [c for c in readonly if c not in BIG_COLUMNS]

    def bind(index: dict[str, int]):
        hashed = _getter([index[c] for c in readonly])
        shown = _getter([index[c] for c in small])
        filled = _getter([index[c] for c in coder])
        row_id_at = index["row_id"]
        width = max(index.values()) + 1
        digest_of = recorded.digest
        empty = ("",) * len(coder)

        def take(raw: list, number: int):
            if len(raw) < width:  # "" reads as an empty cell, like a missing one
                raw = [*raw, *([""] * (width - len(raw)))]
            key = raw[row_id_at]
            if type(key) is not str or not key:
                key = normalise_value(key)
            expected = digest_of((sheet, key if isinstance(key, str) else str(key)))
            cells = hashed(raw)
            digest = row_hash_expecting(cells, expected)
            if expected != digest and expected is not None and \
                    not expected.startswith(ROW_HASH_PREFIX):  # an older export's hash
                digest = content_hash(list(cells))
            if expected != digest:  # checked as a whole row (`hash_like`)
                values = [_cell(v) for v in raw]
                row = {name: values[at] for name, at in index.items()}
                row["_row"] = number
                return row
            kept = shown(raw)
            try:  # texts shared between rows (interned), as parsed: `_full` normalises
                kept = tuple(map(intern, kept))
            except TypeError:  # a number among them
                kept = tuple([intern(v) if type(v) is str else v for v in kept])
            slim = {"row_id": key, "_row": number, "_hash": expected,  # shared string
                    "_small": kept}
            values = filled(raw)
            if values != empty:
                for column, value in zip(coder, values, strict=True):
                    if value is not None and value != "":
                        slim[column] = _cell(value)
            return slim
        return take
    bind.small = small
    return bind


def _getter(positions: list[int]):
    """The values at `positions` of a row, as a tuple (operator.itemgetter gives a bare
    value for one position)."""
    from operator import itemgetter

    if len(positions) == 1:
        at = positions[0]
        return lambda row: (row[at],)
    return itemgetter(*positions) if positions else (lambda row: ())


def _cell(value):
    """A cell as `read_sheet_rows` normalises it (text is most cells)."""
    return (value or None) if type(value) is str else normalise_value(value)


def _full(row: dict, small: list[str]) -> dict:
    """A row as read, from what `_slim` kept of it (the long texts stay dropped)."""
    values = row.get("_small")
    if values is None:
        return row
    full = {k: v for k, v in row.items() if k != "_small"}
    full.update(zip(small, map(_cell, values), strict=True))
    return full


def _formula_problems(path: Path, sheet: str, book, found=None) -> list[Problem]:
    """CQ513 for each formula cell (`found`: formula_cells of the sheet, if known)."""
    found = formula_cells(path, sheet) if found is None else found
    if not found:
        return []
    header = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False, nrows=1)
    header = header[0] if header else []
    from openpyxl.utils import column_index_from_string

    problems = []
    for row, letter, formula in found:
        index = column_index_from_string(letter) - 1
        name = header[index] if index < len(header) and header[index] else letter
        problems.append(Problem("CQ513", {"formula": formula}, str(path), row, str(name),
                                sheet))
    return problems


def _text(value) -> str | None:
    if value is None:
        return None
    value = comparable(value)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _state_cells(state: dict | None) -> dict:
    """Exported or stored decision state, in the form the workbook cells are parsed to."""
    if not state:
        return {"decision": None, "corrected_code": None, "corrected_flags": None,
                "comment": None}
    return {"decision": state.get("decision"),
            "corrected_code": state.get("corrected_code") or None,
            "corrected_flags": state.get("corrected_flags"),
            "comment": (state.get("comment") or "").strip() or None}


# what the checks and the apply step read of a coding (rows.coding_values, evidence_span,
# coding_flags, the stale test)
_CodingRow = namedtuple("_CodingRow", [
    "id", "segment_id", "code", "dimension", "rule_id", "origin", "reassigned_from",
    "reassigned_by", "needs_review", "review_reason", "rule_gone", "produced", "coder",
    "merged_into", "version", "start", "end", "evidence_text", "occurrence", "negated",
    "hypothetical", "planned"])
_CODING_SELECT = "SELECT " + ", ".join(f'"{c}"' for c in _CodingRow._fields) + " FROM codings"
# what the checks of an unchanged or plainly decided row read (see _RowChecker._codings)
_CodingState = namedtuple("_CodingState", "id segment_id needs_review produced coder "
                                          "merged_into")
_PLAIN_DECISIONS = frozenset(d for d in DECISIONS if d != "change")
_STATE_SELECT = "SELECT " + ", ".join(_CodingState._fields) + " FROM codings"


class _RowChecker:
    def __init__(self, conn, codebook, translations, ctx: ImportContext, work: _Work,
                 skip_stale: bool):
        self.conn, self.codebook, self.translations = conn, codebook, translations
        self.ctx, self.work, self.skip_stale = ctx, work, skip_stale
        self.file = str(work.path)
        self.adopted = False
        self.small: dict[str, list[str]] = {}  # sheet -> columns of a slim row's _small
        self._infos: dict[int, R.SegmentInfo | None] = {}
        self._wholes: dict[int, _CodingRow] = {}
        self._preloaded: tuple[dict, dict] | None = None
        self.early: EarlyDecisions | None = None  # see `watch`
        self._offered = bytearray()  # 1 at each coding id offered to `early`

    def preload(self, ids) -> None:
        """Read the coding states and this coder's decisions of `ids` now (every coding
        the export wrote: a superset of the rows returned), for `codings`."""
        self._preloaded = ({c.id: c for c in self._codings(ids)},
                           {d.coding_id: d for d in self._decisions(ids)})

    def watching(self, bind):
        """A `_slim` keep_raw whose rows `watch` sees as they are read."""
        def bound(index: dict[str, int]):
            take = bind(index)

            def watched(raw: list, number: int):
                kept = take(raw, number)
                self.watch(kept)
                return kept
            return watched
        return bound

    def watch(self, row: dict) -> None:
        """Offer a Codings row's decision to `self.early` as it is read, while every
        row so far was either such a decision (`_usual_decision`, on a coding not flagged
        for review, so that writing it changes nothing the other checks read) or a row
        with no coder cell filled; stop at any other row. `_apply` keeps what was
        written only if it is exactly the start of what it would write."""
        early = self.early
        if not early.open or (len(row) == 4 and "_small" in row):
            return  # a `_slim` row with no coder cell filled: no decision
        row_id = row["row_id"]
        if "_hash" not in row or type(row_id) is not str:
            early.stop()  # an edited or copied row: checked as a whole later
            return
        key = (_CODINGS, row_id)
        entry = self.ctx.export_rows.entry(key)
        current, mine = self._preloaded
        coding = current.get(entry[1]) if entry is not None else None
        usual = None if coding is None or coding.needs_review else self._usual_decision(
            row, coding, None if entry[3] is None else self.ctx.export_rows.state(key),
            mine.get(coding.id))
        if usual is not None and not self._offered:
            self._offered = bytearray(max(current) + 1)
        if usual is None or self._offered[coding.id]:
            early.stop()  # a row of another kind, or a repeated one
            return
        self._offered[coding.id] = 1
        early.offer(coding.id, *usual)

    def problem(self, code, sheet, row, column, **fields):
        self.work.problems.append(Problem(code, fields, self.file, row, column, sheet))

    def info(self, segment_id: int) -> R.SegmentInfo | None:
        if not self._infos:  # every current segment at once: one query, not one per row
            infos, _people = R.select_segments(self.conn, self.ctx.study, R.ReviewFilters(),
                                               None, 0)
            self._infos.update(infos)
            self._infos[-1] = None
        if segment_id not in self._infos:
            self._infos[segment_id] = R.segment_info(self.conn, segment_id)
        return self._infos[segment_id]

    def code(self, value, sheet, row, column) -> str | None:
        """The code a typed cell names; ids are lower case, so 'Social.Housing' (Excel's
        capital after a typed full stop) names social.housing."""
        code = R.translate_code(self.codebook, self.translations, value) or \
            R.translate_code(self.codebook, self.translations, value.lower())
        if code is None:
            self.problem("CQ510", sheet, row, column, value=value, codebook=self.codebook.id,
                         version=self.codebook.version)
        return code

    def flags(self, value, sheet, row, column) -> dict | None:
        flags = R.parse_flags(value)
        if flags is None:
            self.problem("CQ511", sheet, row, column, value=value,
                         known=", ".join(R.FLAGS) + f" (or {R.NO_FLAGS})")
        return flags

    def _groups(self, rows: list[dict], sheet: str) -> dict[str, list[dict]]:
        groups: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            row_id = row["row_id"]
            if "_hash" in row and type(row_id) is str:  # `_slim` found it in the record
                groups[row_id].append(row)
                continue
            row_id = _text(row_id)
            if row_id is None and blank_row(row):
                continue  # spaces typed below the table: an empty row to the coder
            if row_id is None or (sheet, row_id) not in self.ctx.export_rows:
                self.problem("CQ507", sheet, row["_row"], "row_id",
                             row_id=row_id or "(empty)", export_id=self.ctx.export_id)
                continue
            groups[row_id].append(row)
        return groups

    def _deleted(self, sheet: str, seen) -> None:
        missing = sorted((key for s, key in self.ctx.export_rows if s == sheet
                          and key not in seen), key=lambda k: (len(k), k))
        if missing:
            self.work.changes.deleted += len(missing)
            self.work.warnings.append(Problem("CQ530", {
                "count": len(missing), "export_id": self.ctx.export_id,
                "examples": ", ".join(missing[:5])}, self.file, sheet=sheet))

    # -- Codings ---------------------------------------------------------------------------
    def codings(self, rows: list[dict], columns: list[str]) -> None:
        sheet = R.CODINGS_SHEET
        readonly = R.read_only(columns, R.CODER_COLUMNS)
        groups = self._groups(rows, sheet)
        self._deleted(sheet, groups)
        record_of = self.ctx.export_rows
        if self._preloaded is not None:
            current, mine = self._preloaded
            self._preloaded = None
        else:
            ids = {record_of.entity_id((sheet, k)) for k in groups}
            current = {c.id: c for c in self._codings(ids)}
            mine = {d.coding_id: d for d in self._decisions(ids)}
        for row_id, group in groups.items():
            key = (sheet, row_id)
            coding = current.get(record_of.entity_id(key))
            expected = record_of.digest(key)
            if len(group) == 1 and group[0].get("_hash") is not None:  # as exported
                originals, copies = group, ()
            else:
                originals = [r for r in group if (r.get("_hash") or hash_like(
                    expected, [r.get(c) for c in readonly])) == expected]
                copies = [r for r in group if r not in originals]
            if copies:
                originals = [_full(r, self.small.get(sheet, [])) for r in originals]
            state = record_of.state(key)
            if len(originals) > 1:
                for extra in originals[1:]:
                    self.problem("CQ506", sheet, extra["_row"], "row_id", row_id=row_id,
                                 first=originals[0]["_row"])
            base = originals[0] if originals else None
            for copy in copies:
                self._copy(copy, base, coding, readonly, row_id)
            if base is not None and coding is not None:
                self._decision(base, coding, state, mine.get(coding.id), row_id)

    def _codings(self, ids):
        """What the checks of every row read of its coding (`_CodingState`, no text but
        the coder's id); rows that need more (a change, a copied row, an edit) get the
        whole coding from `_whole`. Shared texts and 22 columns per coding cost a second
        per 100,000 rows."""
        ids = sorted(ids)
        raw = self.conn.connection.driver_connection
        if len(ids) > R.SCAN_ABOVE:  # one scan beats hundreds of IN (...) queries
            chosen = set(ids)
            return [_CodingState._make(row) for row in raw.execute(_STATE_SELECT)
                    if row[0] in chosen]
        found = []
        for start in range(0, len(ids), 900):
            chunk = ids[start:start + 900]
            found.extend(map(_CodingState._make, raw.execute(
                f"{_STATE_SELECT} WHERE id IN ({', '.join('?' for _ in chunk)})", chunk)))
        return found

    def _whole(self, coding):
        """The coding with every column the checks and the apply step may read."""
        if coding is None or isinstance(coding, _CodingRow):
            return coding
        found = self._wholes.get(coding.id)
        if found is None:
            row = self.conn.connection.driver_connection.execute(
                f"{_CODING_SELECT} WHERE id = ?", (coding.id,)).fetchone()
            found = self._wholes[coding.id] = _CodingRow._make(row)
        return found

    def _decisions(self, ids):
        ids = sorted(ids)
        mine = decisions.c.coder == self.ctx.coder
        if len(ids) > R.SCAN_ABOVE:
            chosen = set(ids)
            return [row for row in self.conn.execute(select(decisions).where(mine))
                    if row.coding_id in chosen]
        found = []
        for start in range(0, len(ids), 900):
            found.extend(self.conn.execute(select(decisions).where(
                decisions.c.coding_id.in_(ids[start:start + 900]), mine)))
        return found

    def _expected(self, coding, columns) -> dict:
        coding = self._whole(coding)
        info = self.info(coding.segment_id) if coding is not None else None
        if info is None:
            return {}
        others = {}
        other_coders = [c.split(": ")[0] for c in columns if c.endswith(": decision")]
        for d in self.conn.execute(select(decisions).where(
                decisions.c.coding_id == coding.id)):
            others[d.coder] = R.decision_state(d)
        return R.coding_values(coding, info, others, other_coders)

    def _copy(self, copy, base, coding, readonly, row_id) -> None:
        """A row whose read-only cells differ from the export: a copy with a new code, or
        an edit."""
        sheet = R.CODINGS_SHEET
        coding = self._whole(coding)
        if base is None:
            reference = self._expected(coding, readonly)
        else:
            reference = {c: base.get(c) for c in readonly}
            if any(c not in base for c in readonly):  # long texts dropped after hashing
                expected = self._expected(coding, readonly)
                reference.update({c: expected.get(c) for c in readonly if c not in base})
        changed = [c for c in readonly if comparable(copy.get(c)) !=
                   comparable(reference.get(c))]
        if base is None or not (changed and set(changed) <= {"code", "dimension"}
                                and "code" in changed):
            if base is not None and not changed:
                self.problem("CQ506", sheet, copy["_row"], "row_id", row_id=row_id,
                             first=base["_row"])
                return
            for column in [c for c in changed if c not in ("code", "dimension")] or \
                    changed or ["(read-only columns)"]:
                self.problem("CQ508", sheet, copy["_row"], column, field=column,
                             found=_short(copy.get(column)),
                             expected=_short(reference.get(column)))
            return
        if coding is None:
            return
        new_code = _text(copy.get("code"))
        code = self.code(new_code, sheet, copy["_row"], "code") if new_code else None
        info = self.info(coding.segment_id)
        span = R.evidence_span(coding, info) if info is not None else None
        if code is None:
            return
        if span is None:
            self.problem("CQ515", sheet, copy["_row"], "code",
                         problem=f"the evidence of {row_id} is no longer in its segment")
            return
        flags = R.coding_flags(coding)
        flags_cell = _text(copy.get("corrected_flags"))
        if flags_cell:
            flags = self.flags(flags_cell, sheet, copy["_row"], "corrected_flags") or flags
        self._add(info, code, span, flags, _text(copy.get("comment")), copy["_row"], sheet)

    @staticmethod
    def _usual_decision(row, coding, record_state, stored) -> tuple | None:
        """(decision, comment) of the usual row, with no check left to run: a first plain
        decision (accept, reject, discuss) on a coding undecided at export and since,
        neither merged nor superseded; what `_decision`'s checks conclude. None for any
        other row."""
        decision = row.get("decision")
        if stored is None and record_state is None and decision in _PLAIN_DECISIONS and \
                type(decision) is str and row.get("corrected_code") is None and \
                row.get("corrected_flags") is None and coding.merged_into is None and \
                (coding.produced or coding.coder):
            return decision, _text(row.get("comment"))
        return None

    def _decision(self, row, coding, record_state, stored, row_id) -> None:
        """Check a Codings row's coder cells against the export (`record_state`: what it
        pre-filled) and the store (`stored`: this coder's decision now)."""
        sheet, at = R.CODINGS_SHEET, row["_row"]
        if record_state is None and len(row) == 4 and "_small" in row:
            # a `_slim` row with every coder cell empty, exported undecided: unchanged
            self.work.changes.unchanged += 1
            return
        usual = self._usual_decision(row, coding, record_state, stored)
        if usual is not None:
            self.work.decisions.append({
                "decision": usual[0], "corrected_code": None, "corrected_flags": None,
                "comment": usual[1], "coding": coding, "stored": None, "row": at})
            return
        decision = _text(row.get("decision"))
        decision = decision.lower() if decision else None
        corrected_code = _text(row.get("corrected_code"))
        flags_cell = _text(row.get("corrected_flags"))
        comment = _text(row.get("comment"))
        before = len(self.work.problems)
        if decision is not None and decision not in DECISIONS:
            self.problem("CQ509", sheet, at, "decision", value=row.get("decision"),
                         known=", ".join(DECISIONS))
        if corrected_code is not None:
            corrected_code = self.code(corrected_code, sheet, at, "corrected_code")
        flags = self.flags(flags_cell, sheet, at, "corrected_flags") if flags_cell else None
        if corrected_code is not None or flags is not None:
            if decision is None:
                decision = "change"
            elif decision != "change":
                field_name = "corrected_code" if corrected_code else "corrected_flags"
                self.problem("CQ512", sheet, at, "decision", decision=decision,
                             field=field_name, value=row.get(field_name))
        elif decision == "change" and _text(row.get("corrected_code")) is None and \
                flags_cell is None:  # an unknown corrected code is reported as CQ510 alone
            self.problem("CQ517", sheet, at, "corrected_code")
        if len(self.work.problems) > before:
            return
        if decision == "change" and self._changes_nothing(coding, corrected_code, flags):
            self.problem("CQ519", sheet, at,
                         "corrected_code" if corrected_code else "corrected_flags",
                         current=self._described(coding))
            return
        wanted = {"decision": decision, "corrected_code": corrected_code,
                  "corrected_flags": flags, "comment": comment}
        record_state = record_state or {}
        # `prior` is the decision stored at export; `exported` the cells as written (a
        # flagged coding's decision cells were left blank to be decided again)
        prior = _state_cells(record_state.get("decision"))
        exported = dict(prior, decision=None, corrected_code=None, corrected_flags=None) \
            if record_state.get("asked_again") else prior
        if wanted == exported:
            self.work.changes.unchanged += 1
            return
        if decision is None:
            if comment is not None and exported["decision"] is None:
                self.problem("CQ518", sheet, at, "comment")
            else:
                self.work.changes.cleared += 1
            return
        now = _state_cells(R.decision_state(stored))
        if wanted == now and not coding.needs_review:
            self.work.changes.unchanged += 1  # already in the store (a re-saved copy)
            return
        reason = None
        # the export pre-filled the stored decision, so a stored decision that differs from
        # the pre-filled one was made after the export (timestamps have whole seconds only),
        # unless an earlier import of this same export made it: the workbook is then the
        # coder's later edit of that input (an adopted one pre-filled nothing)
        if stored is not None and from_export(stored.source, self.ctx.export_id):
            pass
        elif stored is not None and now != prior and self.adopted:
            reason = (f"{self.ctx.coder} decided it {stored.decision} in this store "
                      f"({stored.time}); the workbook, exported from another copy of the "
                      "study, says otherwise and which is newer cannot be told")
        elif stored is not None and now != prior:
            reason = (f"{self.ctx.coder} decided it {stored.decision} at {stored.time}, "
                      f"after this export ({self.ctx.export_created_at})")
        elif coding.merged_into is not None:
            reason = f"its coding was merged into C{coding.merged_into} since this export"
        elif not coding.produced and not coding.coder and \
                record_state.get("produced", 1):
            reason = "its coding was superseded since this export (the rules no longer find it)"
        if reason is not None:
            if self.skip_stale:
                self.work.changes.stale.append(row_id)
            else:
                self.problem("CQ514", sheet, at, "decision", row_id=row_id, reason=reason)
            return
        if decision == "change":
            coding = self._whole(coding)
        change = dict(wanted, coding=coding, stored=stored, row=at)
        if decision == "change":
            info = self.info(coding.segment_id)
            span = R.evidence_span(coding, info) if info is not None else None
            if span is None:
                self.problem("CQ515", sheet, at, "corrected_code",
                             problem=f"the evidence of {row_id} is no longer in its segment, "
                                     "so the corrected coding cannot be placed")
                return
            change["place"] = (info, span)
        self.work.decisions.append(change)

    def _changes_nothing(self, coding, corrected_code, flags) -> bool:
        """A change whose corrected code and flags are the coding's own: taken as a
        rejection plus an identical manual coding, it would count against the rule."""
        coding = self._whole(coding)
        return corrected_code in (None, coding.code) and \
            flags in (None, R.coding_flags(coding))

    def _described(self, coding) -> str:
        coding = self._whole(coding)
        return f"code {coding.code}, flags {R.flags_text(R.coding_flags(coding)) or R.NO_FLAGS}"

    # -- Segments ----------------------------------------------------------------------------
    def segments(self, rows: list[dict]) -> None:
        sheet = R.SEGMENTS_SHEET
        readonly = R.read_only(R.SEGMENT_COLUMNS, R.SEGMENT_CODER_COLUMNS)
        groups = self._groups(rows, sheet)
        self._deleted(sheet, groups)
        record_of = self.ctx.export_rows
        for row_id, group in groups.items():
            if len(group) == 1 and len(group[0]) == 4 and "_hash" in group[0] and \
                    record_of.state_text((sheet, row_id)) == _NO_MEMO:
                # as exported (a `_slim` row, no coder cell filled) and no memo exported:
                # what `_segment_row` concludes
                self.work.changes.unchanged += 1
                continue
            record = record_of[(sheet, row_id)]
            for row in group:
                digest = row.get("_hash") or hash_like(record["content_sha256"],
                                                       [row.get(c) for c in readonly])
                if digest != record["content_sha256"]:
                    info = self.info(record["entity_id"])
                    expected = R.segment_values(info) if info is not None else {}
                    changed = [c for c in readonly if comparable(row.get(c)) !=
                               comparable(expected.get(c))] or ["(read-only columns)"]
                    for column in changed:
                        self.problem("CQ508", sheet, row["_row"], column, field=column,
                                     found=_short(row.get(column)),
                                     expected=_short(expected.get(column)))
                    continue
                self._segment_row(row, record, row_id)

    def _segment_row(self, row, record, row_id) -> None:
        sheet, at = R.SEGMENTS_SHEET, row["_row"]
        codes_cell = _text(row.get("add_code"))
        evidence = comparable(row.get("add_evidence"))
        flags_cell = _text(row.get("add_flags"))
        comment = _text(row.get("comment"))
        if codes_cell is None:
            if evidence is not None or flags_cell is not None:
                self.problem("CQ515", sheet, at, "add_code",
                             problem="add_evidence or add_flags is filled in but add_code "
                                     "is empty")
                return
            exported = ((record.get("state") or {}).get("memo") or "").strip() or None
            if comment != exported:
                self._memo("segments", record["entity_id"], comment, exported, row_id, at)
            else:
                self.work.changes.unchanged += 1
            return
        info = self.info(record["entity_id"])
        codes = [c.strip() for c in codes_cell.replace(";", ",").split(",") if c.strip()]
        found = [self.code(c, sheet, at, "add_code") for c in codes]
        flags = self.flags(flags_cell, sheet, at, "add_flags") if flags_cell else \
            {flag: False for flag in R.FLAGS}
        if info is None or info.version is None:
            self.problem("CQ515", sheet, at, "add_code",
                         problem=f"segment {row_id} is no longer in the store")
            return
        current = self.conn.execute(select(segments.c.status, segments.c.sha256)
                                    .where(segments.c.id == info.id)).first()
        if current.status != "current":
            self.problem("CQ515", sheet, at, "add_code",
                         problem=f"segment {row_id} was replaced by a new transcript version "
                                 "since this export; add the coding in a new export")
            return
        if evidence is None:
            span = (0, len(info.text))
        else:
            from pipeline.coding.anchor import instances

            places = instances(info.text, evidence)
            if not places:
                stripped = evidence.strip()
                places = instances(info.text, stripped) if stripped else []
                evidence = stripped
            if not places:
                self.problem("CQ515", sheet, at, "add_evidence",
                             problem=f"{_short(evidence)!r} is not in the text of segment "
                                     f"{row_id}")
                return
            span = (places[0], places[0] + len(evidence))
        if any(c is None for c in found) or flags is None:
            return
        for code in found:
            self._add(info, code, span, flags, comment, at, sheet)

    def _add(self, info, code, span, flags, comment, at, sheet) -> None:
        evidence = info.text[span[0]:span[1]]
        exists = self.conn.execute(select(codings.c.id).where(
            codings.c.segment_id == info.id, codings.c.code == code,
            codings.c.evidence_text == evidence, codings.c.coder == self.ctx.coder,
            codings.c.start == info.start + span[0], codings.c.version == info.version)
        ).scalar()
        if exists is not None:
            self.work.changes.unchanged += 1
            return
        self.work.additions.append({"info": info, "code": code, "span": span, "flags": flags,
                                    "comment": comment, "row": at, "sheet": sheet})

    # -- Interviews --------------------------------------------------------------------------
    def interviews(self, rows: list[dict]) -> None:
        sheet = R.INTERVIEWS_SHEET
        readonly = R.read_only(R.INTERVIEW_COLUMNS, R.INTERVIEW_CODER_COLUMNS)
        groups = self._groups(rows, sheet)
        for row_id, group in groups.items():
            record = self.ctx.export_rows[(sheet, row_id)]
            for row in group[1:]:
                self.problem("CQ506", sheet, row["_row"], "row_id", row_id=row_id,
                             first=group[0]["_row"])
            row = group[0]
            if hash_like(record["content_sha256"], [row.get(c) for c in readonly]) != \
                    record["content_sha256"]:
                self.problem("CQ508", sheet, row["_row"], "(read-only columns)",
                             field="(read-only columns)", found="edited", expected="as exported")
                continue
            memo = _text(row.get("memo"))
            exported = ((record.get("state") or {}).get("memo") or "").strip() or None
            if memo != exported:
                self._memo("interviews", record["entity_id"], memo, exported, row_id,
                           row["_row"])
            else:
                self.work.changes.unchanged += 1

    def _memo(self, entity: str, entity_id: int, text: str | None, exported: str | None,
              row_id: str, at: int) -> None:
        found = self.conn.execute(select(memos.c.text, memos.c.source).where(
            memos.c.entity == entity, memos.c.entity_id == entity_id,
            memos.c.coder == self.ctx.coder)).first()
        stored = (found.text or None) if found is not None else None
        if stored == text:
            self.work.changes.unchanged += 1
            return
        # written since this export (not by an earlier import of it): overwriting loses it
        if stored != exported and not from_export(found and found.source,
                                                  self.ctx.export_id):
            if self.skip_stale:
                self.work.changes.stale.append(row_id)
            else:
                sheet, column = (R.SEGMENTS_SHEET, "comment") if entity == "segments" \
                    else (R.INTERVIEWS_SHEET, "memo")
                self.problem("CQ514", sheet, at, column, row_id=row_id,
                             reason=f"{self.ctx.coder}'s memo was changed after this "
                                    f"export ({self.ctx.export_created_at}) to "
                                    f"{_short(stored)!r}")
            return
        self.work.memo_sets.append({"entity": entity, "entity_id": entity_id, "text": text,
                                    "row": at, "row_id": row_id})


def _short(value, limit: int = 60) -> str:
    text = comparable(value) or ""
    return text if len(text) <= limit else text[:limit - 1] + "…"


# --- applying --------------------------------------------------------------------------------

def _apply(conn, work: _Work, run_id: int | None, *,
           checked_state_current: bool = False) -> None:
    """Write what `work` found. `checked_state_current`: nothing was written since its
    checks read the decisions and codings (the first workbook applied), so the plain
    decisions reuse what the checks read (adding codings changes neither)."""
    ctx = work.ctx
    changes = work.changes
    codebook = ctx.codebook
    plain = [item for item in work.decisions
             if item["decision"] != "change" and item["corrected_code"] is None
             and item["corrected_flags"] is None
             and (item["stored"] is None or item["stored"].linked_coding_id is None)]
    done = {id(item) for item in plain}
    if work.early is not None:  # before anything else is written (see _after_early)
        plain = _after_early(work, plain)
    if work.adoption is not None:
        work.adoption.store(conn)
    for item in work.additions:
        info = item["info"]
        start, end = info.start + item["span"][0], info.start + item["span"][1]
        if find_manual_coding(conn, info.id, item["code"], ctx.coder, start, end) is None:
            changes.added += 1  # an added row imported again (a second pass) adds nothing
        new_id = add_manual_coding(
            conn, info.id, item["code"], ctx.coder, start, end, source=ctx.source,
            dimension=codebook.dimension_of(item["code"]),
            kind=code_kind(codebook, item["code"]), comment=item["comment"], role=ctx.role,
            codebook_version=codebook.version, run_id=run_id, **item["flags"])
        _record_flags(conn, new_id, item["flags"], ctx, run_id)
    if plain:
        known = {i["coding"].id: (i["stored"], i["coding"].needs_review) for i in plain} \
            if checked_state_current else None
        changes.decisions += set_plain_decisions(
            conn, [(i["coding"].id, i["decision"], i["comment"]) for i in plain], ctx.coder,
            role=ctx.role, source=ctx.source, run_id=run_id, known=known)
    for item in work.decisions:
        if id(item) in done:
            continue
        coding, stored = item["coding"], item["stored"]
        linked = None
        if item["decision"] == "change":
            info, span = item["place"]
            flags = item["corrected_flags"] or R.coding_flags(coding)
            code = item["corrected_code"] or coding.code
            linked = add_manual_coding(
                conn, info.id, code, ctx.coder, info.start + span[0], info.start + span[1],
                source=ctx.source, dimension=codebook.dimension_of(code),
                kind=code_kind(codebook, code), role=ctx.role,
                comment=f"correction of C{coding.id}", codebook_version=codebook.version,
                run_id=run_id, **flags)
            _record_flags(conn, linked, flags, ctx, run_id)
        previous_link = stored.linked_coding_id if stored is not None else None
        if set_decision(conn, coding.id, ctx.coder, item["decision"], item["comment"],
                        source=ctx.source, role=ctx.role,
                        corrected_code=item["corrected_code"],
                        corrected_flags=item["corrected_flags"], linked_coding_id=linked,
                        run_id=run_id):
            changes.decisions += 1
        if previous_link is not None and previous_link != linked:
            set_decision(conn, previous_link, ctx.coder, "reject",
                         f"withdrawn: the decision on C{coding.id} is now {item['decision']}",
                         source=ctx.source, role=ctx.role, run_id=run_id)
    for item in work.memo_sets:
        _set_memo(conn, item["entity"], item["entity_id"], ctx.coder, item["text"],
                  source=ctx.source, run_id=run_id)
        changes.memos += 1
    for plugin, plugin_changes in work.plugin_changes:
        changes.plugin_rows += plugin.apply(plugin_changes, ctx)
    conn.execute(insert(review_imports).values(
        export_id=ctx.export_id, file=work.path.name, sha256=work.sha256, coder=ctx.coder,
        changes=changes.total, imported_at=utc_now(), run_id=run_id))
    record_event(conn, actor=ctx.coder, kind="review.imported", entity="review_imports",
                 entity_key=ctx.export_id,
                 new={"file": work.path.name, "sha256": work.sha256,
                      "decisions": changes.decisions, "added": changes.added,
                      "memos": changes.memos, "other_rows": changes.plugin_rows,
                      "deleted_rows": changes.deleted, "stale_skipped": changes.stale,
                      **({"adopted": True} if work.adoption is not None else {})},
                 source=ctx.source, run_id=run_id)


def _after_early(work: _Work, plain: list[dict]) -> list[dict]:
    """The plain decisions left to write once `work.early`'s are kept: kept only when
    nothing is written before plain decisions (no adoption, no added coding) and they
    are exactly the first of `plain`, in order, each coding once; else undone, and
    every decision is written here as before."""
    early = work.early
    wanted = [(i["coding"].id, i["decision"], i["comment"]) for i in plain]
    if work.adoption is None and not work.additions and early.wrote_first_of(wanted) \
            and len({coding_id for coding_id, _d, _c in wanted}) == len(wanted):
        kept = early.keep()
        work.changes.decisions += kept
        return plain[kept:]
    early.undo()
    return plain


def _record_flags(conn, coding_id: int, flags: dict, ctx: ImportContext,
                  run_id: int | None) -> None:
    """The context flags of a manual coding, for `restore` (coding.added does not carry
    them)."""
    if not any(flags.values()):
        return
    from pipeline.coding.decisions import coding_identity

    record_event(conn, actor=ctx.coder, kind="coding.flags", entity="codings",
                 entity_key=coding_id,
                 new={"coding": coding_identity(conn, coding_id), **flags},
                 source=ctx.source, run_id=run_id)


def memo_identity(conn, entity: str, entity_id: int) -> dict:
    """What names a memo's row independently of row ids (for the log and its replay)."""
    from pipeline.store.schema import interviews

    if entity == "interviews":
        path = conn.execute(select(interviews.c.path)
                            .where(interviews.c.id == entity_id)).scalar()
        return {"interview_path": path}
    row = conn.execute(select(segments.c.ord, segments.c.sha256, interviews.c.path)
                       .join(interviews, interviews.c.id == segments.c.interview_id)
                       .where(segments.c.id == entity_id)).first()
    return {"interview_path": row.path, "segment_ord": row.ord,
            "segment_sha256": row.sha256} if row else {}


def _set_memo(conn, entity: str, entity_id: int, coder: str, text: str | None, *,
              source: str, run_id: int | None) -> bool:
    """Set (or with None clear) a coder's memo; appends a memo.set event."""
    old = conn.execute(select(memos).where(memos.c.entity == entity,
                                           memos.c.entity_id == entity_id,
                                           memos.c.coder == coder)).first()
    if (old.text if old else None) == text:
        return False
    now = utc_now()
    if old is None:
        conn.execute(insert(memos).values(entity=entity, entity_id=entity_id, coder=coder,
                                          text=text, time=now, source=source))
    elif text is None:
        conn.execute(memos.delete().where(memos.c.id == old.id))
    else:
        conn.execute(update(memos).where(memos.c.id == old.id)
                     .values(text=text, time=now, source=source))
    record_event(conn, actor=coder, kind="memo.set", entity=entity, entity_key=entity_id,
                 old=None if old is None else {"text": old.text},
                 new={"text": text, "coder": coder,
                      "identity": memo_identity(conn, entity, entity_id)},
                 source=source, run_id=run_id)
    return True
