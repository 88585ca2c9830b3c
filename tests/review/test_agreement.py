"""`cityqda agreement` on a real store: ratings read from decisions and review exports,
figures checked against an example worked by hand, the XLSX and the JSON output."""

from __future__ import annotations

import json
import zipfile

import pytest
from entity_review_helpers import build_study, coding_id, record_reviewed, segment_ids, with_store
from openpyxl import load_workbook

from pipeline.cli import main
from pipeline.coding.decisions import add_manual_coding, set_decision
from pipeline.review.agreement import (
    HEADLINE_NAME,
    agreement_report,
    review_ratings,
)
from pipeline.store import open_study_store

S1 = "The council runs a night shelter."
S2 = "A night shelter and a job fair are planned."
S3 = "There is a job fair every spring."
S4 = "Nothing else was mentioned here."  # no suggestion: seen only through the export
HOUSING, JOBS = "social.housing", "economic.jobs"


@pytest.fixture
def reviewed(study_dir):
    """Two coders on four segments (S4 in a second interview); see the hand-worked example."""
    study = build_study(study_dir, {"LIS-PM-01.docx": [S1, S2, S3], "LIS-PM-02.docx": [S4]})
    seg = segment_ids(study)
    ids = {(s, c): coding_id(study, seg[s], c) for s, c in
           [(S1, HOUSING), (S2, HOUSING), (S2, JOBS), (S3, JOBS)]}
    plan = {"ana": {(S1, HOUSING): "accept", (S2, HOUSING): "accept", (S2, JOBS): "reject",
                    (S3, JOBS): "accept"},
            "ben": {(S1, HOUSING): "accept", (S2, HOUSING): "reject", (S2, JOBS): "reject",
                    (S3, JOBS): "accept"}}

    def decide(conn):
        for coder, decided in plan.items():
            for key, decision in decided.items():
                set_decision(conn, ids[key], coder, decision, source="test")
            record_reviewed(conn, f"E-{coder}", coder, [seg[S4]])
    with_store(study, decide)
    return study, seg, ids


def report_of(study, **options):
    store = open_study_store(study)
    try:
        return agreement_report(study, store, write=False, **options)
    finally:
        store.close()


def test_agreement_hand_worked_example(reviewed):
    # Units (segment, code) over codes {housing, jobs} on S1-S4:
    #   ana: (S1,H)=1 (S2,H)=1 (S3,J)=1, the other five 0
    #   ben: (S1,H)=1 (S3,J)=1, the other six 0
    # percent agreement 7/8. Kappa: ana 3 ones, ben 2; p_e = 3/8*2/8 + 5/8*6/8 = 36/64,
    #   kappa = (56/64 - 36/64) / (28/64) = 20/28 = 5/7.
    # Alpha: o11 = 4, o10 = o01 = 1, o00 = 10; n1 = 5, n0 = 11, n = 16;
    #   alpha = 1 - 15 * 2 / (2 * 11 * 5) = 8/11. Prevalence 5/16.
    study, _seg, _ids = reviewed
    report = report_of(study, resamples=200)
    assert report.coders == ["ana", "ben"] and report.overlap_segments == 4
    headline = report.headline.result
    assert headline.n_units == 8
    assert headline.percent_agreement.value == pytest.approx(7 / 8)
    assert headline.cohen_kappa.value == pytest.approx(5 / 7)
    assert headline.krippendorff_alpha.value == pytest.approx(8 / 11)
    assert headline.prevalence.value == pytest.approx(5 / 16)
    ci = headline.krippendorff_alpha
    assert ci.ci_low is not None and ci.ci_low <= ci.ci_high

    # Units marked present by anyone: (S1,H), (S2,H), (S3,J): 2/3 agree; alpha with
    # n1 = 5, n0 = 1, o10 = o01 = 1: 1 - 5*2/(2*5*1) = 0; kappa: p_o = p_e = 2/3 -> 0.
    present = report.row("segment", "pooled", "present").result
    assert present.n_units == 3
    assert present.percent_agreement.value == pytest.approx(2 / 3)
    assert present.krippendorff_alpha.value == pytest.approx(0.0)
    assert present.cohen_kappa.value == pytest.approx(0.0)

    # Dimension "social" on S1-S4: ana 1,1,0,0; ben 1,0,0,0 -> 3/4 agree.
    social = report.row("segment", "dimension", "all", "social").result
    assert social.n_units == 4 and social.percent_agreement.value == pytest.approx(3 / 4)
    code = report.row("segment", "code", "all", JOBS).result
    assert code.percent_agreement.value == pytest.approx(1.0)

    # Interviews: LIS-PM-01 has both codes for both coders, LIS-PM-02 neither -> alpha 1.
    interview = report.row("interview", "pooled", "all").result
    assert interview.n_units == 4
    assert interview.krippendorff_alpha.value == pytest.approx(1.0)


def test_agreement_alpha_matches_krippendorff_package(reviewed):
    import krippendorff  # GPL-3.0 test oracle only
    import numpy as np

    study, _seg, _ids = reviewed
    report = report_of(study, resamples=0)
    ana = [1, 0, 1, 0, 0, 1, 0, 0]
    ben = [1, 0, 0, 0, 0, 1, 0, 0]
    expected = krippendorff.alpha(reliability_data=np.array([ana, ben]),
                                  level_of_measurement="nominal")
    assert report.headline.result.krippendorff_alpha.value == pytest.approx(expected)


def test_agreement_absence_counts_only_where_the_coder_looked(reviewed):
    study, seg, _ids = reviewed
    with_store(study, lambda conn: record_reviewed(conn, "E-cara", "cara", [seg[S4]],
                                                   imported=False))
    ratings = with_store(study, review_ratings, write=False)
    # ana and ben decided on S1-S3 and their imported exports listed S4; cara's export
    # never came back, so she reviewed nothing.
    assert ratings.seen == {"ana": set(seg.values()), "ben": set(seg.values())}
    assert (seg[S2], HOUSING) in ratings.marked["ana"]
    assert (seg[S2], HOUSING) not in ratings.marked["ben"]


def test_agreement_manual_codings_changes_and_discuss(reviewed):
    study, seg, ids = reviewed
    start = S3.index("spring")

    def more(conn):
        from sqlalchemy import select

        from pipeline.store.schema import segments
        seg_start = conn.execute(select(segments.c.start).where(
            segments.c.id == seg[S3])).scalar_one()
        add_manual_coding(conn, seg[S3], "legal.advice", "ana", seg_start + start,
                          seg_start + start + 6, source="test", dimension="legal")
        set_decision(conn, ids[(S2, JOBS)], "ben", "change", source="test",
                     corrected_code="legal.advice")
        set_decision(conn, ids[(S1, HOUSING)], "ben", "discuss", source="test")
    with_store(study, more)
    ratings = with_store(study, review_ratings, write=False)
    assert (seg[S3], "legal.advice") in ratings.marked["ana"]
    assert (seg[S2], "legal.advice") in ratings.marked["ben"]
    assert (seg[S1], HOUSING) in ratings.undecided["ben"]
    report = report_of(study, resamples=0)
    legal = report.row("segment", "code", "all", "legal.advice").result
    # S1-S4 x legal: ana 0,0,1,0; ben 0,1,0,0 -> agree on S1, S4.
    assert legal.n_units == 4 and legal.percent_agreement.value == pytest.approx(0.5)
    housing = report.row("segment", "code", "all", HOUSING).result
    assert housing.n_units == 3  # ben's discuss on S1 is missing, not absent


def test_agreement_adjudicator_is_not_a_rater(reviewed):
    study, _seg, ids = reviewed
    with_store(study, lambda conn: set_decision(conn, ids[(S2, HOUSING)], "judge", "accept",
                                                source="test", role="adjudicator"))
    assert report_of(study, resamples=0).coders == ["ana", "ben"]


def test_agreement_three_coders_pairs(reviewed):
    study, seg, ids = reviewed

    def cara(conn):
        for key in [(S1, HOUSING), (S2, HOUSING), (S3, JOBS)]:
            set_decision(conn, ids[key], "cara", "accept", source="test")
        set_decision(conn, ids[(S2, JOBS)], "cara", "accept", source="test")
    with_store(study, cara)
    report = report_of(study, resamples=0)
    assert sorted(report.pairs) == [("ana", "ben"), ("ana", "cara"), ("ben", "cara")]
    assert report.headline.result.cohen_kappa.value is None
    assert report.headline.result.krippendorff_alpha.value is not None


def test_agreement_cli_json_and_deterministic_xlsx(reviewed, runner, tmp_path):
    study, _seg, _ids = reviewed
    args = ["--project", str(study.root), "agreement", "--resamples", "100", "--json"]
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    payload = json.loads(first.stdout)
    assert payload["headline"]["name"] == HEADLINE_NAME
    assert payload["headline"]["value"] == pytest.approx(8 / 11)
    assert payload["headline"]["unit"] == "segment × code presence"
    assert all(row["unit"] in ("segment × code presence", "interview × code presence")
               for row in payload["results"])
    assert HEADLINE_NAME in first.stderr
    out = study.root / "outputs" / "agreement.xlsx"
    data = out.read_bytes()
    second = runner.invoke(main, args)
    assert second.exit_code == 0 and out.read_bytes() == data
    with zipfile.ZipFile(out) as package:
        assert package.testzip() is None
    workbook = load_workbook(out, read_only=True)
    assert workbook.sheetnames == ["Summary", "Agreement", "Pairs"]
    rows = list(workbook["Summary"].values)
    assert rows[1] == ("headline", HEADLINE_NAME)
    assert rows[2][1] == pytest.approx(8 / 11)


def test_agreement_cli_without_overlap_says_why(study_dir, runner):
    study = build_study(study_dir, {"LIS-PM-01.docx": [S1]})
    result = runner.invoke(main, ["--project", str(study.root), "agreement", "--json"])
    assert result.exit_code == 0
    assert "CQ650" in result.stderr and "fewer than two coders" in result.stderr
    assert json.loads(result.stdout)["compared"] is False
    assert not (study.root / "outputs" / "agreement.xlsx").exists()


@pytest.mark.parametrize(("coder", "code", "exit_code"),
                         [("judge", "CQ601", 2), ("nobody", "CQ005", 2)])
def test_agreement_cli_refuses_bad_coders(reviewed, runner, coder, code, exit_code):
    study, _seg, _ids = reviewed
    result = runner.invoke(main, ["--project", str(study.root), "agreement", "--coder", coder])
    assert result.exit_code == exit_code and code in result.stderr


def test_agreement_cli_restricted_to_named_coders(reviewed, runner):
    study, _seg, _ids = reviewed
    result = runner.invoke(main, ["--project", str(study.root), "agreement", "--coder", "ana",
                                  "--no-xlsx", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["coders"] == ["ana"]


def test_agreement_cli_out_must_be_an_xlsx_name(reviewed, runner):
    study, _seg, _ids = reviewed
    before = sorted(p.name for p in study.root.rglob("*"))
    result = runner.invoke(main, ["--project", str(study.root), "agreement", "--out",
                                  str(study.root / "agreement.csv")])
    assert result.exit_code == 2
    assert "error CQ603" in result.stderr and "agreement.csv" in result.stderr
    assert sorted(p.name for p in study.root.rglob("*")) == before


@pytest.mark.parametrize("blocked", ["agreement.xlsx", "rule_quality.xlsx"])
def test_agreement_cli_unwritable_output_is_named_not_a_traceback(reviewed, runner, blocked):
    study, _seg, _ids = reviewed
    (study.root / "outputs" / blocked).mkdir(parents=True)  # where the file must go
    result = runner.invoke(main, ["--project", str(study.root), "agreement"])
    assert result.exit_code == 1, result.stderr
    assert f"error CQ602: {study.root / 'outputs' / blocked}: " in result.stderr
    assert not list((study.root / "outputs").glob(".cityqda-*"))  # no temporary left


def test_agreement_run_stage_writes_reports_when_coders_overlap(reviewed):
    from pipeline.review.agreement import stage_agreement
    from pipeline.run import RunContext, RunOptions

    study, _seg, _ids = reviewed
    store = open_study_store(study)
    try:
        ctx = RunContext(study, store, RunOptions(), run_id=None)
        stage_agreement(ctx)
    finally:
        store.close()
    assert ctx.outputs["agreement"] == study.root / "outputs" / "agreement.xlsx"
    assert ctx.outputs["rule_quality_xlsx"].name == "rule_quality.xlsx"
    assert ctx.stage_lines[0].startswith("agreement: ana, ben on 4 segment(s); ")
    assert HEADLINE_NAME in ctx.stage_lines[0] and "0.727" in ctx.stage_lines[0]
    assert ctx.problems == []
