"""The coded datasets on the hand-counted study: which codings, which columns, which cells."""

from __future__ import annotations

import pytest
from aggregate_fixture import code_label

from pipeline.aggregate.datasets import coded_long, coded_wide


@pytest.fixture
def dataset(agg):
    def compute(builder, **options):
        store = agg.store()
        try:
            with store.read() as conn:
                return builder(conn, agg.study, **options)
        finally:
            store.close()
    return compute


# Accepted: c1 (both coders), c2, c5 (negated, flagged so), c7 (an adjudicator overrules a
# reject), c8, c10, c11, c12. Not: c3 disputed, c4 suggested, c6 on a retired segment, c9
# rejected, c13 superseded, c14 in a retired interview.
ACCEPTED = ["c1", "c2", "c5", "c7", "c8", "c10", "c11", "c12"]


@pytest.mark.parametrize("include_suggested, expected, label", [
    (False, ACCEPTED, "accepted"),
    (True, ACCEPTED + ["c4"], "accepted and suggested"),
])
def test_datasets_long_holds_the_chosen_codings(agg, dataset, include_suggested, expected,
                                                label):
    table = dataset(coded_long, include_suggested=include_suggested)
    rows = table.as_dicts()
    assert sorted(r["coding_id"] for r in rows) == sorted(agg.codings[n] for n in expected)
    assert {r["selection"] for r in rows} == {label}
    assert label in table.title
    by_id = {r["coding_id"]: r for r in rows}
    assert by_id[agg.codings["c7"]]["status"] == "accepted"
    if include_suggested:
        assert by_id[agg.codings["c4"]]["status"] == "suggested"
    # sorted by file, then segment order and position
    keys = [(r["file"], r["order"], r["start"]) for r in rows]
    assert keys == sorted(keys)


def test_datasets_long_row_carries_metadata_evidence_entities_and_decisions(agg, dataset):
    rows = {r["coding_id"]: r for r in dataset(coded_long).as_dicts()}
    c1 = rows[agg.codings["c1"]]
    assert (c1["file"], c1["pseudonym"], c1["round"], c1["city"], c1["stakeholder_category"],
            c1["interview_date"]) == ("LIS-PM-01.docx", "LIS-PM-01", "1", "Lisbon",
                                      "policy_maker", "2013-07-01")
    assert (c1["segment"], c1["order"], c1["section"]) == ("LIS-PM-01 ¶1", 1,
                                                           "Policies and programmes")
    assert (c1["code"], c1["code_label"], c1["kind"], c1["dimension"]) == (
        "social.housing", code_label(agg.study, "social.housing"), "dimension", "social")
    assert (c1["evidence"], c1["origin"], c1["rule_id"], c1["counts"], c1["negated"]) == (
        "housing", "rule:R1", "R1", 1, 0)
    assert c1["segment_text"][c1["start"] - 0:c1["end"]] == "housing"
    assert c1["initiatives"] == "Welcome Desk"  # the confirmed initiative of that segment
    assert c1["decisions"] == "ana: accept; ben: accept"
    assert c1["comments"] == "ana: looks right"
    c7 = rows[agg.codings["c7"]]
    assert c7["decisions"] == "ana: reject; pi (adjudicator): accept"
    # "Sao Paulo" in the metadata is the register's São Paulo
    assert rows[agg.codings["c10"]]["city"] == "São Paulo"


def test_datasets_long_leaves_out_rejected_entities(agg, dataset):
    from sqlalchemy import update

    from pipeline.store.schema import initiatives

    agg.write(lambda conn: conn.execute(
        update(initiatives).where(initiatives.c.id == agg.initiatives["I1"])
        .values(review_status="rejected")))
    rows = {r["coding_id"]: r for r in dataset(coded_long).as_dicts()}
    assert rows[agg.codings["c1"]]["initiatives"] is None


def test_datasets_wide_has_a_row_per_segment_and_presence_columns(agg, dataset):
    table = dataset(coded_wide)
    rows = table.as_dicts()
    # two current segments in each of the four active interviews
    assert [r["segment"] for r in rows] == [
        "LIS-BU-01 ¶1", "LIS-BU-01 ¶2", "LIS-PM-01 ¶1", "LIS-PM-01 ¶2", "SAO-CS-01 ¶1",
        "SAO-CS-01 ¶2", "SAO-IO-01 ¶1", "SAO-IO-01 ¶2"]
    dims = [c for c in table.columns if c.startswith("dimension:")]
    assert dims == ["dimension:social", "dimension:cultural_religious", "dimension:economic",
                    "dimension:political", "dimension:legal"]
    by_segment = {r["segment"]: r for r in rows}
    # social: accepted c1 and c11 count as initiatives; disputed c3 (economic) does not
    assert [s for s, r in by_segment.items() if r["dimension:social"]] == [
        "LIS-PM-01 ¶1", "SAO-CS-01 ¶1"]
    assert not any(r["dimension:economic"] for r in rows)
    assert [s for s, r in by_segment.items() if r["code:challenge.housing"]] == [
        "LIS-BU-01 ¶1", "LIS-PM-01 ¶1"]
    # the codebook's codes all have a column, coded or not
    assert "code:political.voting" in table.columns
    assert sum(r["code:political.voting"] for r in rows) == 0
    assert {r["selection"] for r in rows} == {"accepted"}


def test_datasets_wide_with_suggestions_marks_the_suggested_coding(dataset):
    rows = {r["segment"]: r for r in dataset(coded_wide, include_suggested=True).as_dicts()}
    assert rows["LIS-PM-01 ¶2"]["code:challenge.language"] == 1
    assert rows["LIS-PM-01 ¶2"]["selection"] == "accepted and suggested"
