"""aggregate_study: the files it writes, their names and labels, byte-identical reruns,
Parquet with and without pyarrow, the run stage, and failures that are reported."""

from __future__ import annotations

import csv
import io

import pytest
from aggregate_fixture import CITIES, REGISTER_ROWS

from pipeline.aggregate import aggregate as aggregate_module
from pipeline.aggregate.aggregate import aggregate_study, stage_aggregate
from pipeline.aggregate.tables import TABLE_NAMES
from pipeline.aggregate.writing import parquet_available
from pipeline.errors import CityQDAError


def run_aggregate(agg, **options):
    store = agg.store()
    try:
        return aggregate_study(agg.study, store, **options)
    finally:
        store.close()


def _read_csv(path):
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))


@pytest.mark.parametrize("include_suggested, round_, label, scope", [
    (False, None, "accepted", "all-rounds"),
    (True, "2", "accepted-and-suggested", "round-2"),
])
def test_aggregate_outputs_named_by_selection_and_round(agg, include_suggested, round_, label,
                                                        scope):
    report = run_aggregate(agg, include_suggested=include_suggested, round=round_)
    out = agg.study.path("outputs")
    names = {path.relative_to(out).as_posix() for path in report.outputs.values()}
    expected = {f"coded_{form}-{label}.{ext}" for form in ("long", "wide")
                for ext in ("csv", "xlsx")}
    expected |= {f"tables-{label}-{scope}.xlsx"}
    expected |= {f"tables-{label}-{scope}/{name}.csv" for name in TABLE_NAMES}
    if parquet_available():
        expected |= {f"coded_{form}-{label}.parquet" for form in ("long", "wide")}
    assert names == expected
    assert all(path.is_file() for path in report.outputs.values())
    assert not report.failed, [p.render() for p in report.problems]
    long_rows = _read_csv(report.outputs["coded_long_csv"])
    selection = "accepted and suggested" if include_suggested else "accepted"
    assert {row[0] for row in long_rows[1:]} == {selection}
    assert report.lines()[0].startswith("aggregate: ")


def test_aggregate_outputs_tables_files_match_the_tables(agg):
    from openpyxl import load_workbook

    report = run_aggregate(agg)
    workbook = load_workbook(report.outputs["tables_xlsx"])
    assert workbook.sheetnames == [*TABLE_NAMES, "notes"]
    rows = [list(r) for r in workbook["partnerships_by_type"].iter_rows(values_only=True)]
    assert rows == [["city", "public_private", "third_actor_private", "third_actor_public",
                     "other", "total"], ["Lisbon", 1, 1, 0, 0, 2], ["Nairobi", 0, 0, 0, 0, 0],
                    ["São Paulo", 0, 0, 1, 0, 1], ["Total", 1, 1, 1, 0, 3]]
    response = _read_csv(report.outputs["table_response_rates_csv"])
    assert response[2] == ["Nairobi", "1", "0", "0", "1", "0", "0.0", ""]
    assert response[-1][0] == "Total"
    assert report.counts == {"coded_passages": 8, "segments": 8, "interviews": 4, "initiatives": 4,
                             "partnerships": 3}


def test_aggregate_outputs_are_byte_identical_on_a_rerun(agg, tmp_path):
    first = run_aggregate(agg, out=tmp_path / "one")
    second = run_aggregate(agg, out=tmp_path / "two")
    assert sorted(first.outputs) == sorted(second.outputs)
    compared = 0
    for key, path in first.outputs.items():
        assert path.read_bytes() == second.outputs[key].read_bytes(), key
        compared += path.suffix in (".csv", ".xlsx")
    assert compared == 4 + 1 + len(TABLE_NAMES)  # Parquet too, when pyarrow is there
    again = run_aggregate(agg, out=tmp_path / "one")  # over the old files
    assert again.outputs["tables_xlsx"].read_bytes() == \
        second.outputs["tables_xlsx"].read_bytes()


@pytest.mark.skipif(not parquet_available(), reason="pyarrow (the parquet extra) not installed")
def test_aggregate_outputs_parquet_holds_the_long_dataset(agg):
    import pyarrow.parquet as pq

    report = run_aggregate(agg)
    table = pq.read_table(report.outputs["coded_long_parquet"])
    assert table.num_rows == 8
    assert set(table.column("selection").to_pylist()) == {"accepted"}


def test_aggregate_outputs_without_pyarrow_warn_and_skip_parquet(agg, monkeypatch):
    monkeypatch.setattr(aggregate_module, "parquet_available", lambda: False)
    report = run_aggregate(agg)
    assert not any(path.suffix == ".parquet" for path in report.outputs.values())
    assert [p.code for p in report.problems] == ["CQ731"]
    assert not report.failed


def test_aggregate_outputs_failing_check_is_an_error_but_files_are_written(agg):
    from pipeline.ingest.register import write_register

    rows = [dict(r) for r in REGISTER_ROWS]
    rows[0]["transcript_file"] = "LIS-PM-99.docx"
    write_register(agg.study.path("register"), rows, CITIES, agg.study.vocabularies)
    report = run_aggregate(agg)
    assert report.failed
    assert {"CQ705", "CQ706"} <= {p.code for p in report.problems}
    assert report.outputs["tables_xlsx"].is_file()
    assert "cross-checks failed" in report.lines()[0]


def test_aggregate_outputs_broken_register_is_reported_and_datasets_still_written(agg):
    path = agg.study.path("register")
    path.write_bytes(b"not a workbook")
    report = run_aggregate(agg)
    assert report.failed
    assert any(p.code.startswith("CQ92") for p in report.problems)
    assert "CQ730" not in {p.code for p in report.problems}  # broken, not empty
    assert report.outputs["coded_long_csv"].is_file()
    quiet = run_aggregate(agg, register_problems=False)  # as in `run`, which reports it
    assert not any(p.code.startswith("CQ92") for p in quiet.problems)
    with pytest.raises(CityQDAError):
        run_aggregate(agg, round="1")


def test_aggregate_outputs_unwritable_folder_is_cq720(agg, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(CityQDAError) as caught:
        run_aggregate(agg, out=blocker / "sub")
    assert caught.value.code == "CQ720"


def test_aggregate_outputs_stage_adds_outputs_counts_and_a_line(agg):
    from pipeline.run import RunContext, RunOptions

    store = agg.store()
    try:
        ctx = RunContext(agg.study, store, RunOptions(), run_id=None)
        stage_aggregate(ctx)
    finally:
        store.close()
    assert ctx.stage_lines and ctx.stage_lines[0].startswith("aggregate: ")
    assert ctx.outputs["aggregate_tables_xlsx"].is_file()
    assert ctx.counts["aggregate_initiatives"] == 4
    assert not ctx.failed
