"""`cityqda aggregate` through the real CLI: files, JSON on stdout only, exit codes."""

from __future__ import annotations

import json

from aggregate_fixture import CITIES, REGISTER_ROWS

from pipeline.aggregate.writing import parquet_available
from pipeline.cli import main


def test_aggregate_cli_writes_files_and_reports_on_stderr(runner, agg):
    result = runner.invoke(main, ["--project", str(agg.study.root), "aggregate"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("aggregate: ")
    assert (agg.study.path("outputs") / "tables-accepted-all-rounds.xlsx").is_file()


def test_aggregate_cli_says_why_nothing_is_counted_before_any_review(runner, agg):
    """A new study's first run: no accepted coding, so every table is empty; the line says
    so and what to do, and says nothing of it once codings are accepted or counted."""
    from sqlalchemy import delete

    from pipeline.store.schema import decisions

    first = runner.invoke(main, ["--project", str(agg.study.root), "aggregate"])
    agg.write(lambda conn: conn.execute(delete(decisions)))
    unreviewed = runner.invoke(main, ["--project", str(agg.study.root), "aggregate"])
    suggested = runner.invoke(main, ["--project", str(agg.study.root), "aggregate",
                                     "--include-suggested"])

    assert "no accepted coding yet" not in first.stderr
    assert unreviewed.exit_code == 0, unreviewed.stderr
    assert "coded passages 0" in unreviewed.stderr
    assert "no accepted coding yet" in unreviewed.stderr
    assert "cityqda review export --coder" in unreviewed.stderr
    assert "no accepted coding yet" not in suggested.stderr


def test_aggregate_cli_json_round_suggested_and_out(runner, agg, tmp_path):
    out = tmp_path / "elsewhere"
    result = runner.invoke(main, ["--project", str(agg.study.root), "aggregate", "--round",
                                  "2", "--include-suggested", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["round"] == "2"
    assert report["selection"] == "accepted and suggested"
    assert report["outputs"]["tables_xlsx"] == str(
        out / "tables-accepted-and-suggested-round-2.xlsx")
    assert report["counts"]["interviews"] == 1
    # without the parquet extra the only problem is the note that Parquet was not written
    expected = [] if parquet_available() else ["CQ731"]
    assert [p["code"] for p in report["problems"]] == expected


def test_aggregate_cli_unknown_round_is_a_usage_error(runner, agg):
    result = runner.invoke(main, ["--project", str(agg.study.root), "aggregate", "--round",
                                  "7"])
    assert result.exit_code == 2
    assert "CQ721" in result.stderr
    assert not (agg.study.path("outputs") / "tables-accepted-round-7.xlsx").exists()


def test_aggregate_cli_failing_cross_check_exits_1(runner, agg):
    from pipeline.ingest.register import write_register

    rows = [dict(r) for r in REGISTER_ROWS]
    rows[5]["city"] = "Lisbon"  # SAO-CS-01 listed under the wrong city
    write_register(agg.study.path("register"), rows, CITIES, agg.study.vocabularies)
    result = runner.invoke(main, ["--project", str(agg.study.root), "aggregate", "--json"])
    assert result.exit_code == 1
    assert "error CQ702" in result.stderr
    codes = [p["code"] for p in json.loads(result.stdout)["problems"]]
    assert codes.count("CQ702") == 2  # Lisbon has one too many, São Paulo one too few


def test_aggregate_cli_help_names_the_files(runner):
    result = runner.invoke(main, ["aggregate", "--help"])
    assert result.exit_code == 0
    for text in ("--round", "--include-suggested", "--out", "coded_long", "tables-"):
        assert text in result.output


def test_aggregate_cli_passage_coded_alike_by_two_coders_counts_once(runner, agg):
    """ana and ben each add the same challenge coding by hand (as two coders correcting one
    suggestion to the same code do), and ben adds by hand the housing coding c1 already
    is: each passage is one dataset row and one coding in the challenges table."""
    import csv

    from sqlalchemy import select

    from pipeline.coding.decisions import add_manual_coding
    from pipeline.store.schema import codings, segments

    def add(conn):
        seg = conn.execute(select(segments).where(
            segments.c.id == agg.segments["LIS-BU-01 ¶2"])).one()
        at = seg.start + seg.text.index("council")
        made = [add_manual_coding(conn, seg.id, "challenge.funding", coder, at, at + 7,
                                  source="test", kind="challenge")
                for coder in ("ana", "ben")]
        c1 = conn.execute(select(codings).where(codings.c.id == agg.codings["c1"])).one()
        made.append(add_manual_coding(conn, c1.segment_id, "social.housing", "ben", c1.start,
                                      c1.end, source="test", dimension="social"))
        return made
    first, second, housing = agg.write(add)

    result = runner.invoke(main, ["--project", str(agg.study.root), "aggregate"])

    assert result.exit_code == 0, result.stderr
    outputs = agg.study.path("outputs")
    with open(outputs / "coded_long-accepted.csv", encoding="utf-8-sig") as handle:
        rows = {int(r["coding_id"]): r for r in csv.DictReader(handle)}
    assert first in rows and second not in rows
    assert housing not in rows and agg.codings["c1"] in rows
    assert rows[first]["decisions"] == "ana: accept; ben: accept"
    with open(outputs / "tables-accepted-all-rounds" / "challenges.csv",
              encoding="utf-8-sig") as handle:
        table = {(r["city"], r["challenge"]): r for r in csv.DictReader(handle)}
    assert (table[("Lisbon", "challenge.funding")]["interviews"],
            table[("Lisbon", "challenge.funding")]["codings"]) == ("1", "1")
    # the reports' review box and the manifest's passages count the same passages
    # (c1, which ana and ben both accepted, once); codings_ counts every coder's coding
    import re

    import docx

    from pipeline.report.manifest import _store_counts

    result = runner.invoke(main, ["--project", str(agg.study.root), "report", "--no-pdf"])
    assert result.exit_code == 0, result.stderr
    boxed = 0
    for path in sorted((outputs / "reports").glob("*.docx")):
        if path.name == "cross-city-summary.docx":
            continue
        text = "\n".join(cell.text for table in docx.Document(path).tables
                         for row in table.rows for cell in row.cells)
        boxed += int(re.search(r"Coded passages: (\d+) accepted", text).group(1))
    store = agg.store()
    try:
        with store.read() as conn:
            counts = _store_counts(conn)
    finally:
        store.close()
    assert boxed == len(rows)
    # the store counts each coder's coding: c1 once (one suggestion both accepted), the
    # two coders' alike challenge codings and ben's copy of c1 three times for two passages
    assert counts["codings_accepted"] - boxed == 4  # + 2 repeats + 2 on retired text
    result = runner.invoke(main, ["--project", str(agg.study.root), "aggregate", "--json"])
    assert json.loads(result.stdout)["counts"]["coded_passages"] == len(rows)
