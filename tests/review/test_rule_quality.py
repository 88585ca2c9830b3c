"""Rule quality from reviewed suggestions: precision per rule and code, recall from codings
coders added, the outputs written by `cityqda agreement`, and the codebook export columns."""

from __future__ import annotations

import csv
import io

import pytest
from entity_review_helpers import build_study, coding_id, segment_ids, with_store
from openpyxl import load_workbook
from sqlalchemy import select

from pipeline.cli import main
from pipeline.coding.decisions import add_manual_coding, set_decision
from pipeline.review.rule_quality import rule_quality, wilson
from pipeline.store.schema import segments

S1 = "A night shelter opened."
S2 = "The night shelter idea was dropped; a job fair runs."
S3 = "Another night shelter is mentioned."
S4 = "Families sleep in a hostel run by the parish."
HOUSING, JOBS = "social.housing", "economic.jobs"


@pytest.fixture
def reviewed(study_dir):
    study = build_study(study_dir, {"LIS-PM-01.docx": [S1, S2, S3, S4]})
    seg = segment_ids(study)

    def decide(conn):
        set_decision(conn, coding_id(study, seg[S1], HOUSING), "ana", "accept", source="t")
        set_decision(conn, coding_id(study, seg[S2], HOUSING), "ana", "reject", source="t")
        jobs = coding_id(study, seg[S2], JOBS)
        set_decision(conn, jobs, "ana", "accept", source="t")
        set_decision(conn, jobs, "ben", "reject", source="t")  # disputed
        for text, evidence in ((S4, "hostel"), (S1, "night shelter opened")):
            start = conn.execute(select(segments.c.start).where(
                segments.c.id == seg[text])).scalar_one() + text.index(evidence)
            add_manual_coding(conn, seg[text], HOUSING, "ana", start, start + len(evidence),
                              source="t", dimension="social")
    with_store(study, decide)
    return study


def test_rule_quality_precision_and_recall_by_hand(reviewed):
    quality = with_store(reviewed, rule_quality, write=False)
    # housing: S1 accepted, S2 rejected, S3 undecided -> precision 1/2.
    housing = quality.rules["social.housing.p0"]
    assert (housing.suggestions, housing.accepted, housing.rejected, housing.undecided) == \
        (3, 1, 1, 1)
    assert housing.precision == pytest.approx(0.5)
    # jobs: one suggestion, disputed -> no precision yet.
    jobs = quality.codes[JOBS]
    assert (jobs.disputed, jobs.decided, jobs.precision) == (1, 0, None)
    # ana added housing on S4 (missed) and on S1 (a suggestion there was accepted: no miss).
    assert quality.found[HOUSING] == 1 and quality.missed[HOUSING] == 1
    assert quality.recall(HOUSING) == pytest.approx(0.5)
    rows = {row[0]: row for row in quality.rule_rows()}
    assert rows["social.housing.p0"][-1] == pytest.approx(0.5)  # code recall


def test_rule_quality_wilson_interval_by_hand():
    # 1 of 2: centre (0.5 + z²/4) / (1 + z²/2) = 0.5; half-width
    # z·sqrt(0.25/2 + z²/16) / (1 + z²/2) = 0.4054 -> (0.0946, 0.9054)
    low, high = wilson(1, 2)
    assert low == pytest.approx(0.0946, abs=1e-4) and high == pytest.approx(0.9054, abs=1e-4)
    assert wilson(0, 0) == (None, None)
    assert wilson(5, 5)[1] == 1.0


def test_rule_quality_weakest_rules_first(reviewed):
    quality = with_store(reviewed, rule_quality, write=False)
    precisions = [row[9] for row in quality.rule_rows()]
    defined = [p for p in precisions if p is not None]
    assert defined == sorted(defined) and precisions[-1] is None


def test_rule_quality_written_by_agreement_command(reviewed, runner):
    result = runner.invoke(main, ["--project", str(reviewed.root), "agreement",
                                  "--resamples", "0"])
    assert result.exit_code == 0, result.output
    assert "social.housing.p0 (social.housing): 0.50 of 2 decided" in result.stderr
    outputs = reviewed.root / "outputs"
    data = (outputs / "rule_quality.xlsx").read_bytes()
    rows = list(csv.DictReader(io.StringIO(
        (outputs / "rule_quality_codes.csv").read_text(encoding="utf-8-sig"))))
    housing = next(r for r in rows if r["code"] == HOUSING)
    assert (housing["segments_missed"], housing["accepted"]) == ("1", "1")
    assert float(housing["recall"]) == pytest.approx(0.5)
    sheets = load_workbook(outputs / "rule_quality.xlsx", read_only=True).sheetnames
    assert sheets[:2] == ["rule_quality_rules", "rule_quality_codes"]
    again = runner.invoke(main, ["--project", str(reviewed.root), "agreement",
                                 "--resamples", "0"])
    assert again.exit_code == 0 and (outputs / "rule_quality.xlsx").read_bytes() == data


def test_rule_quality_columns_in_codebook_export(reviewed, runner, tmp_path):
    out = tmp_path / "codebook.csv"
    result = runner.invoke(main, ["--project", str(reviewed.root), "codebook", "export",
                                  "--format", "csv", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(out.read_text("utf-8-sig")))}
    assert rows[HOUSING]["precision"] == "0.5" and rows[HOUSING]["recall"] == "0.5"
    assert rows[HOUSING]["rule_precision"] == "social.housing.p0: 0.50 (2)"
    assert rows["legal.advice"]["precision"] == ""
    xlsx = tmp_path / "codebook.xlsx"
    assert runner.invoke(main, ["--project", str(reviewed.root), "codebook", "export",
                                "--format", "xlsx", "--out", str(xlsx)]).exit_code == 0
    header = next(load_workbook(xlsx, read_only=True)["Codes"].values)
    assert header[-5:] == ("reviewed_suggestions", "precision", "segments_missed", "recall",
                           "rule_precision")


def test_rule_quality_codebook_export_unchanged_without_reviews(study_dir, runner, tmp_path):
    study = build_study(study_dir, {"LIS-PM-01.docx": [S1]})
    out = tmp_path / "codebook.csv"
    assert runner.invoke(main, ["--project", str(study.root), "codebook", "export",
                                "--format", "csv", "--out", str(out)]).exit_code == 0
    header = next(csv.reader(io.StringIO(out.read_text("utf-8-sig"))))
    assert "precision" not in header
