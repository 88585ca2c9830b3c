"""`cityqda export segments`: every current segment, with its interview's metadata.

One record per segment of the active interviews, sorted by file and order, in DESIGN.md's
shape: ``segment_id``, ``interview_id``, ``file``, each metadata field with ``_raw`` and
``_source``, ``section``, ``question``, ``order``, ``text``, ``start``, ``end``,
``sha256``; then ``path``, ``kind`` (paragraph, list_item, table_cell) and
``section_heading`` (the heading as written, where ``section`` is the guide's title).
With ``all_paragraphs`` every block of the transcripts is listed with the ``role`` it was
given (``segment_id`` is null for blocks that are not segments), so a team can see what
was read and how.

JSON Lines, CSV or XLSX; the same store gives byte-identical files (no timestamps, fixed
zip entry dates and document properties in the workbook).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import select

from pipeline.errors import CityQDAError
from pipeline.store import Store
from pipeline.store.schema import interviews, segments
from pipeline.vocabulary import METADATA_FIELDS
from pipeline.xlsx_determinism import normalise_ooxml_zip, replace_keeping_mode

FORMATS = ("jsonl", "csv", "xlsx")


def columns(all_paragraphs: bool = False) -> list[str]:
    keys = ["segment_id", "interview_id", "file"]
    for name in METADATA_FIELDS:
        keys += [name, f"{name}_raw", f"{name}_source"]
    keys += ["section", "question", "order", "text", "start", "end", "sha256", "path", "kind",
             "section_heading"]
    if all_paragraphs:
        keys += ["role", "part"]
    return keys


def _metadata_values(metadata_json: str | None) -> dict:
    metadata = json.loads(metadata_json or "{}")
    values = {}
    for name in METADATA_FIELDS:
        state = metadata.get(name) or {}
        values[name] = state.get("value")
        values[f"{name}_raw"] = state.get("raw")
        values[f"{name}_source"] = state.get("source")
    return values


_INTERVIEW = select(interviews.c.id, interviews.c.file, interviews.c.path,
                    interviews.c.metadata, interviews.c.plain_text, interviews.c.paragraphs)


def segment_records(store: Store, all_paragraphs: bool = False) -> Iterator[dict]:
    """The export records, one interview at a time, from one consistent snapshot."""
    with store.read() as conn:
        ids = [row.id for row in conn.execute(
            select(interviews.c.id).where(interviews.c.status == "active",
                                          interviews.c.purged == 0)
            .order_by(interviews.c.file, interviews.c.path, interviews.c.id))]
        for interview_id in ids:
            interview = conn.execute(_INTERVIEW.where(interviews.c.id == interview_id)).one()
            base = {"interview_id": interview.id, "file": interview.file,
                    **_metadata_values(interview.metadata)}
            if all_paragraphs:
                yield from _paragraph_records(conn, interview, base)
            else:
                for seg in conn.execute(
                        select(segments).where(segments.c.interview_id == interview.id,
                                               segments.c.status == "current")
                        .order_by(segments.c.ord, segments.c.id)):
                    yield {"segment_id": seg.id, **base, "section": seg.section,
                           "question": seg.question, "order": seg.ord, "text": seg.text,
                           "start": seg.start, "end": seg.end, "sha256": seg.sha256,
                           "path": interview.path, "kind": seg.kind,
                           "section_heading": seg.heading}


def _paragraph_records(conn, interview, base: dict) -> Iterator[dict]:
    plain = interview.plain_text or ""
    current = {row.ord: row for row in conn.execute(
        select(segments.c.id, segments.c.ord, segments.c.sha256).where(
            segments.c.interview_id == interview.id, segments.c.status == "current"))}
    layout = json.loads(interview.paragraphs or "[]")
    for order, part, role, kind, start, end, section, question, is_segment, heading in layout:
        text = plain[start:end]
        segment = current.get(order) if is_segment else None
        yield {"segment_id": segment.id if segment else None, **base, "section": section,
               "question": question, "order": order, "text": text, "start": start,
               "end": end, "sha256": segment.sha256 if segment else hashlib.sha256(
                   text.encode("utf-8")).hexdigest(),
               "path": interview.path, "kind": kind, "section_heading": heading,
               "role": role, "part": part}


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    return "" if value is None else value


def _csv_cell(value):
    """CSV is opened in Excel, which runs a cell starting with = + - @ as a formula: such
    text gets a leading apostrophe (the usual guard against formula injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return _cell(value)


def write_jsonl(records, stream) -> int:
    count = 0
    for record in records:
        stream.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count


def write_csv(records, stream, keys: list[str]) -> int:
    writer = csv.DictWriter(stream, fieldnames=keys, lineterminator="\r\n")
    writer.writeheader()
    count = 0
    for record in records:
        writer.writerow({k: _csv_cell(record.get(k)) for k in keys})
        count += 1
    return count


def write_xlsx(records, path: Path, keys: list[str]) -> int:
    """A workbook with text cells (never formulas), written reproducibly."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("segments")
    sheet.append(keys)
    count = 0
    for record in records:
        cells = []
        for key in keys:
            value = record.get(key)
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # text such as "=..." stays text, not a formula
            cells.append(cell)
        sheet.append(cells)
        count += 1
    workbook.save(path)
    normalise_ooxml_zip(path)
    return count


def _write_file(out: Path, fmt: str, records, keys: list[str]) -> int:
    """Written beside `out` and renamed, so a failure (full disk, the file open in Excel,
    a missing folder) leaves any earlier export whole and names the file."""
    out = Path(out)
    try:
        handle, temp = tempfile.mkstemp(prefix=".cityqda-", suffix=out.suffix,
                                        dir=out.parent)
    except OSError as exc:
        raise CityQDAError("CQ146", file=str(out),
                           problem=exc.strerror or str(exc)) from exc
    os.close(handle)
    try:
        if fmt == "xlsx":
            count = write_xlsx(records, Path(temp), keys)
        else:
            encoding = "utf-8-sig" if fmt == "csv" else "utf-8"  # Excel reads BOM-marked CSV
            with open(temp, "w", encoding=encoding, newline="") as handle:
                count = write_csv(records, handle, keys) if fmt == "csv" \
                    else write_jsonl(records, handle)
        replace_keeping_mode(temp, out)
    except OSError as exc:
        raise CityQDAError("CQ146", file=str(out),
                           problem=exc.strerror or str(exc)) from exc
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    return count


def export_segments(store: Store, *, fmt: str = "jsonl", out: Path | None = None,
                    stream=None, all_paragraphs: bool = False) -> int:
    """Write the export to `out` (or `stream` for jsonl/csv); returns the record count."""
    keys = columns(all_paragraphs)
    records = ({k: r.get(k) for k in keys} for r in segment_records(store, all_paragraphs))
    if out is not None:
        return _write_file(out, fmt, records, keys)
    return write_csv(records, stream, keys) if fmt == "csv" else write_jsonl(records, stream)
