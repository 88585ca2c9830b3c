"""CSV, XLSX and Parquet writing: Excel-safe text, BOM, fixed bytes, notes and totals."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest

from pipeline.aggregate.tables import ResultTable
from pipeline.aggregate.writing import (
    TRUNCATED,
    XLSX_CELL_LIMIT,
    parquet_available,
    sheet_title,
    write_csv,
    write_parquet,
    write_xlsx,
)

TRICKY = ["=1+1", "+33 1 23", "-minus", "@user", "São Paulo ¶3", "tab\there"]


def _table() -> ResultTable:
    rows = [[text, index, 0.5 if index % 2 else None] for index, text in enumerate(TRICKY)]
    return ResultTable(name="demo", title="Demo table", columns=["text", "n", "rate"],
                       rows=rows, notes=["A note."], totals=["Total", 15, 0.25],
                       number_formats={"rate": "0%"})


def test_writing_files_csv_has_bom_guards_formulas_and_ends_with_totals(tmp_path):
    path = write_csv(_table(), tmp_path / "demo.csv")
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["text", "n", "rate"]
    assert [r[0] for r in rows[1:-1]] == ["'=1+1", "'+33 1 23", "'-minus", "'@user",
                                          "São Paulo ¶3", "tab\there"]
    assert rows[1][2] == ""  # None is a blank cell
    assert rows[2][2] == "0.5"
    assert rows[-1] == ["Total", "15", "0.25"]


def test_writing_files_xlsx_keeps_text_as_text_with_notes_and_formats(tmp_path):
    from openpyxl import load_workbook

    table = _table()
    table.rows.append(["bad\x01char", 99, None])
    table.rows.append(["x" * (XLSX_CELL_LIMIT + 10), 100, None])
    path = write_xlsx([table], tmp_path / "demo.xlsx")
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["demo", "notes"]
    sheet = workbook["demo"]
    assert sheet.freeze_panes == "A2"
    assert sheet["A2"].value == "=1+1" and sheet["A2"].data_type == "s"
    assert [sheet.cell(row=r, column=1).value for r in range(2, 8)] == TRICKY
    assert sheet["A8"].value == "bad\ufffdchar"
    assert len(sheet["A9"].value) == XLSX_CELL_LIMIT
    assert sheet["A9"].value.endswith(TRUNCATED)
    total_row = sheet.max_row
    assert [c.value for c in sheet[total_row]] == ["Total", 15, 0.25]
    assert sheet.cell(row=total_row, column=1).font.b
    assert sheet["C3"].number_format == "0%"
    notes = [tuple(r) for r in workbook["notes"].iter_rows(values_only=True)]
    assert notes == [("sheet", "title", "note"), ("demo", "Demo table", None),
                     ("demo", None, "A note.")]
    assert workbook.properties.creator == "cityqda"


def test_writing_files_xlsx_bytes_depend_only_on_content(tmp_path):
    first = write_xlsx([_table()], tmp_path / "a.xlsx").read_bytes()
    second = write_xlsx([_table()], tmp_path / "b.xlsx").read_bytes()
    assert first == second
    changed = _table()
    changed.rows[0][1] = 7
    assert write_xlsx([changed], tmp_path / "c.xlsx").read_bytes() != first


def test_writing_files_sheet_titles_are_valid_and_unique():
    taken: set[str] = set()
    titles = [sheet_title(name, taken) for name in ("a/b", "A_B", "x" * 40, "x" * 40)]
    assert titles[0] == "a_b"
    assert titles[1] == "A_B_2"
    assert len(titles[2]) == 31 and titles[3].endswith("_2") and len(titles[3]) == 31


@pytest.mark.skipif(not parquet_available(), reason="pyarrow (the parquet extra) not installed")
def test_writing_files_parquet_round_trips(tmp_path):
    import pyarrow.parquet as pq

    table = _table()
    table.rows.append(["mixed", "seven", None])  # a column mixing numbers and text
    path = write_parquet(table, tmp_path / "demo.parquet")
    read = pq.read_table(path)
    assert read.column_names == ["text", "n", "rate"]
    assert read.column("text").to_pylist() == [*TRICKY, "mixed"]
    assert read.column("n").to_pylist() == ["0", "1", "2", "3", "4", "5", "seven"]
    assert read.column("rate").to_pylist() == [None, 0.5, None, 0.5, None, 0.5, None]
    assert read.schema.metadata[b"cityqda.title"] == b"Demo table"


def test_writing_files_xlsx_streams_plain_tables_as_openpyxl_would_read_them(tmp_path):
    from openpyxl import load_workbook
    from python_calamine import CalamineWorkbook

    from pipeline.aggregate.writing import streamed

    values = ["=1+1", "<b> & 'x' \"y\"", "  padded  ", "São Paulo ¶3", "line\nbreak",
              "bad\x01char", "", "x" * (XLSX_CELL_LIMIT + 5)]
    rows = [[text, index, index / 4, bool(index % 2), None, float("nan")]
            for index, text in enumerate(values)]
    table = ResultTable(name="plain & simple", title="Plain", columns=["text", "n", "f", "b",
                                                                        "blank", "nan"],
                        rows=rows, notes=[])
    assert streamed(table)
    path = write_xlsx([table], tmp_path / "plain.xlsx")
    sheet = load_workbook(path)["plain & simple"]
    read = [list(r) for r in sheet.iter_rows(min_row=2, values_only=True)]
    expected_text = [v.replace("\x01", "\ufffd") for v in values]
    expected_text[-1] = "x" * (XLSX_CELL_LIMIT - len(TRUNCATED)) + TRUNCATED
    assert [r[0] for r in read] == expected_text
    assert [r[1] for r in read] == list(range(len(values)))
    assert [r[2] for r in read] == [i / 4 for i in range(len(values))]
    assert [r[3] for r in read] == [i % 2 for i in range(len(values))]
    assert all(r[4] is None for r in read)
    assert {r[5] for r in read} == {"nan"}  # not a number Excel could hold: kept as text
    assert sheet["A2"].data_type == "s"
    calamine = CalamineWorkbook.from_path(path).get_sheet_by_name("plain & simple")
    assert calamine.to_python()[1][0] == "=1+1"
    assert calamine.to_python()[3][0] == "  padded  "
    again = write_xlsx([table], tmp_path / "again.xlsx")
    assert again.read_bytes() == path.read_bytes()


def _dataset(rows_count: int) -> ResultTable:
    """A plain table like the datasets: mixed leading cells, then 0/1 flag columns."""
    awkward = [*TRICKY, None, "", " padded ", "a & b < c", "bell\x07", "line\r\nbreak",
               "x" * (XLSX_CELL_LIMIT + 5), True, 2.5, float("nan"), 10**12]
    rows = [[awkward[i % len(awkward)], i, awkward[(i * 7) % len(awkward)],
             int(i % 3 == 0), int(i % 5 == 0), 0] for i in range(rows_count)]
    return ResultTable(name="coded_demo", title="Demo dataset",
                       columns=["cell", "n", "other", "code:a", "code:b", "code:c"],
                       rows=rows, notes=["One row per thing."])


def _sheet_values(path: Path) -> tuple[list, list, dict]:
    """Each sheet's values through openpyxl and python-calamine, and the first sheet's
    column widths."""
    from openpyxl import load_workbook
    from python_calamine import CalamineWorkbook

    workbook = load_workbook(path)
    by_openpyxl = [[list(row) for row in sheet.iter_rows(values_only=True)]
                   for sheet in workbook.worksheets]
    widths = {key: dim.width for key, dim in workbook.worksheets[0].column_dimensions.items()}
    calamine = CalamineWorkbook.from_path(str(path))
    by_calamine = [calamine.get_sheet_by_name(name).to_python()
                   for name in calamine.sheet_names]
    return by_openpyxl, by_calamine, widths


def _write_chunked(table: ResultTable, folder: Path, kinds: list[str], *, size: int,
                   parquet_values: bool = False) -> None:
    from pipeline.aggregate.writing import DatasetWriter

    folder.mkdir()
    writer = DatasetWriter(table, {kind: folder / f"demo.{kind}" for kind in kinds},
                           flags_from=3, parquet_values=parquet_values)
    try:
        for start in range(0, len(table.rows), size):
            writer.add([list(row) for row in table.rows[start:start + size]])
        for kind in kinds:
            writer.finish(kind)
    finally:
        writer.close()
    assert writer.count == len(table.rows)
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"demo.{k}" for k in kinds)


@pytest.mark.parametrize("parquet_values", [False, True])
@pytest.mark.parametrize("rows_count", [0, 1, 23])
def test_writing_files_dataset_writer_gives_the_whole_table(tmp_path, rows_count,
                                                            parquet_values):
    """Rows written chunk by chunk (as aggregate streams the datasets, an interview at a
    time) give the CSV and Parquet bytes the whole-table writers give and, in XLSX (rows
    without positions, deflated chunk by chunk), the same values for openpyxl and
    python-calamine and the same column widths, for every kind of cell; the same chunks
    give the same bytes again."""
    table = _dataset(rows_count)
    kinds = ["csv", "xlsx", *(["parquet"] if parquet_available() else [])]
    whole = {"csv": write_csv(table, tmp_path / "whole.csv"),
             "xlsx": write_xlsx([table], tmp_path / "whole.xlsx")}
    if "parquet" in kinds:
        whole["parquet"] = write_parquet(table, tmp_path / "whole.parquet")
    _write_chunked(table, tmp_path / "chunked", kinds, size=5, parquet_values=parquet_values)
    _write_chunked(table, tmp_path / "again", kinds, size=5, parquet_values=parquet_values)
    for kind in kinds:
        chunked = (tmp_path / "chunked" / f"demo.{kind}").read_bytes()
        assert chunked == (tmp_path / "again" / f"demo.{kind}").read_bytes(), kind
        if kind != "xlsx":
            assert chunked == whole[kind].read_bytes(), kind
    assert _sheet_values(tmp_path / "chunked" / "demo.xlsx") == _sheet_values(whole["xlsx"])
    with zipfile.ZipFile(tmp_path / "chunked" / "demo.xlsx") as package:
        assert package.testzip() is None  # every entry's CRC-32 and sizes hold
        sheet = package.read("xl/worksheets/sheet1.xml").decode("utf-8")
    assert ("<row>" in sheet) == bool(rows_count) and '<row r="2"' not in sheet


def test_writing_files_crc32_combine_joins_pieces():
    import zlib

    from pipeline.aggregate.writing import crc32_combine

    pieces = [b"", b"a", b"<row>x</row>" * 1000, bytes(range(256)) * 5000, b"z"]
    crc = 0
    for piece in pieces:
        crc = crc32_combine(crc, zlib.crc32(piece), len(piece))
    assert crc == zlib.crc32(b"".join(pieces))


def test_writing_files_dataset_writer_fingerprint_follows_content(tmp_path):
    from pipeline.aggregate.writing import DatasetWriter

    def fingerprint(table: ResultTable) -> str:
        writer = DatasetWriter(table, {"csv": tmp_path / "x.csv"})
        try:
            writer.add(table.rows)
            return writer.fingerprint("csv")
        finally:
            writer.close()

    table = _dataset(12)
    changed = _dataset(12)
    changed.rows[4][1] = "4"  # same CSV text, other type
    assert fingerprint(table) == fingerprint(_dataset(12))
    assert fingerprint(changed) != fingerprint(table)
    assert not (tmp_path / "x.csv").exists()  # closed without finish: nothing written
    assert not list(tmp_path.glob(".cityqda-*"))


@pytest.mark.parametrize("kernel_copy", [True, False])
def test_writing_files_copy_range_appends_the_bytes(tmp_path, monkeypatch, kernel_copy):
    """A chunk's bytes copied from an earlier file land after what the target holds,
    with or without os.copy_file_range (not on every platform), and writes after them
    follow them."""
    import os

    from pipeline.aggregate.writing import _copy_range

    if not kernel_copy:
        monkeypatch.delattr(os, "copy_file_range", raising=False)
    whole = bytes(range(256)) * 5000
    (tmp_path / "earlier").write_bytes(whole)
    with open(tmp_path / "earlier", "rb") as source, open(tmp_path / "new", "wb") as target:
        target.write(b"head")
        _copy_range(source, target, 1000, 300_000)
        target.write(b"tail")
    assert (tmp_path / "new").read_bytes() == b"head" + whole[1000:301_000] + b"tail"


class _Shells(dict):
    """A ShellCache in memory, counting what it was asked."""

    hits = 0

    def shell(self, key: str) -> bytes | None:
        self.hits += key in self
        return self.get(key)

    def put_shell(self, key: str, data: bytes) -> None:
        self[key] = data


@pytest.mark.parametrize("build", ["tables", "dataset"])
def test_writing_files_xlsx_from_a_kept_shell_equals_openpyxl(tmp_path, build):
    """A workbook written from the package openpyxl saved before (kept by what it is made
    of) has the bytes of one written through openpyxl; another head or other widths or
    rows openpyxl writes are another package."""
    shells = _Shells()
    if build == "tables":
        def write(name: str, table: ResultTable, cache) -> bytes:
            return write_xlsx([table], tmp_path / name, shells=cache).read_bytes()
    else:
        def write(name: str, table: ResultTable, cache) -> bytes:
            from pipeline.aggregate.writing import DatasetWriter

            writer = DatasetWriter(table, {"xlsx": tmp_path / name}, flags_from=3,
                                   shells=cache)
            try:
                writer.add([list(row) for row in table.rows])
                return writer.finish("xlsx").read_bytes()
            finally:
                writer.close()
    table = _table() if build == "tables" else _dataset(23)
    plain = write("plain.xlsx", table, None)
    assert write("first.xlsx", table, shells) == plain and shells.hits == 0
    assert write("kept.xlsx", table, shells) == plain and shells.hits == 1
    other = ResultTable(name=table.name, title=table.title, columns=table.columns,
                        rows=[["longer text than any before it", *row[1:]]
                              for row in table.rows], notes=table.notes, totals=table.totals,
                        number_formats=table.number_formats)
    assert write("other.xlsx", other, shells) == write("other-plain.xlsx", other, None)
    assert shells.hits == 1 and len(shells) == 2
