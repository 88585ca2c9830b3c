"""Every cell of the study's tables on the hand-counted study (see aggregate_fixture)."""

from __future__ import annotations

import pytest
from aggregate_fixture import code_label

from pipeline.aggregate.tables import TABLE_NAMES, study_tables
from pipeline.errors import CityQDAError


def _cells(table):
    return [list(row) for row in table.rows], table.totals


def test_tables_study_tables_gives_every_table(tables_of):
    tables = tables_of()
    assert list(tables) == list(TABLE_NAMES)
    for table in tables.values():
        assert table.notes and table.title
        assert all(len(row) == len(table.columns) for row in table.rows)


# Lisbon: 5 contacted; replies = declined 1 + replied_not_interviewed 1 + interviewed 2 = 4;
# success 2/5, response 2/4. Nairobi: 1 no_reply, no replies -> response rate blank.
# São Paulo: 5 contacted (3 in round 1, 2 in round 2); replies = declined 1 + interviewed 2.
RESPONSE = {
    None: ([["Lisbon", 5, 4, 1, 1, 2, 0.4, 0.5],
            ["Nairobi", 1, 0, 0, 1, 0, 0.0, None],
            ["São Paulo", 5, 3, 1, 2, 2, 0.4, 0.6667]],
           ["Total", 11, 7, 2, 4, 4, 0.3636, 0.5714]),
    "1": ([["Lisbon", 5, 4, 1, 1, 2, 0.4, 0.5],
           ["Nairobi", 0, 0, 0, 0, 0, None, None],
           ["São Paulo", 3, 1, 0, 2, 1, 0.3333, 1.0]],
          ["Total", 8, 5, 1, 3, 3, 0.375, 0.6]),
    "2": ([["Lisbon", 0, 0, 0, 0, 0, None, None],
           ["Nairobi", 1, 0, 0, 1, 0, 0.0, None],
           ["São Paulo", 2, 2, 1, 0, 1, 0.5, 0.5]],
          ["Total", 3, 2, 1, 1, 1, 0.3333, 0.5]),
}


@pytest.mark.parametrize("round_", [None, "1", "2"])
def test_tables_response_rates_follow_the_study_definitions(tables_of, round_):
    table = tables_of(round=round_)["response_rates"]
    assert table.columns == ["city", "contacted", "replies", "rejections", "non_replies",
                             "interviewed", "success_rate", "response_rate"]
    assert _cells(table) == RESPONSE[round_]
    assert table.number_formats["success_rate"] == "0%"


# The retired LIS-OLD-01 does not count; "Sao Paulo" in the metadata is São Paulo.
INTERVIEWEES = {
    None: ([["Lisbon", 1, 0, 1, 0, 0, 2], ["Nairobi", 0, 0, 0, 0, 0, 0],
            ["São Paulo", 0, 0, 0, 1, 1, 2]], ["Total", 1, 0, 1, 1, 1, 4]),
    "2": ([["Lisbon", 0, 0, 0, 0, 0, 0], ["Nairobi", 0, 0, 0, 0, 0, 0],
           ["São Paulo", 0, 0, 0, 0, 1, 1]], ["Total", 0, 0, 0, 0, 1, 1]),
}


@pytest.mark.parametrize("round_", [None, "2"])
def test_tables_interviewees_per_city_and_category(tables_of, round_):
    table = tables_of(round=round_)["interviewees"]
    assert table.columns == ["city", "policy_maker", "practitioner", "business",
                             "civil_society", "international_organization", "total"]
    assert _cells(table) == INTERVIEWEES[round_]


def test_tables_interviewees_without_a_known_category_get_their_own_column(agg, tables_of):
    import json

    from sqlalchemy import update

    from pipeline.store.schema import interviews

    metadata = {"city": {"value": "Lisbon"}, "stakeholder_category": {"value": None}}
    agg.write(lambda conn: conn.execute(
        update(interviews).where(interviews.c.id == agg.interviews["LIS-BU-01"])
        .values(metadata=json.dumps(metadata))))
    table = tables_of()["interviewees"]
    # the register's category (business) fills in what the metadata leaves out
    assert "unknown" not in table.columns
    assert table.rows[0] == ["Lisbon", 1, 0, 1, 0, 0, 2]
    metadata["stakeholder_category"] = {"value": "journalist"}
    agg.write(lambda conn: conn.execute(
        update(interviews).where(interviews.c.id == agg.interviews["LIS-BU-01"])
        .values(metadata=json.dumps(metadata))))
    table = tables_of()["interviewees"]
    assert table.columns[-2:] == ["unknown", "total"]
    assert table.rows[0] == ["Lisbon", 1, 0, 0, 0, 0, 1, 2]
    assert any("unknown" in note for note in table.notes)


# Confirmed existing initiatives: Lisbon I1 (social, legal; actors A1, A2) and I2 (economic;
# A2); São Paulo I5 (cultural_religious, social; A3, rejected A4 left out, A5 merged into
# A3) and I7 (legal, written "Sao Paulo", no actors). Planned I3, rejected I4 and suggested
# I6 do not count. Columns: actors, initiatives per dimension in the study's order (social,
# cultural_religious, economic, political, legal), then total (sum over dimensions),
# distinct initiatives, distinct actors.
INITIATIVES = {
    None: ([["Lisbon", 2, 1, 0, 0, 1, 1, 0, 0, 2, 1, 3, 2, 2],
            ["Nairobi", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            ["São Paulo", 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 3, 2, 1]],
           ["Total", 3, 2, 1, 1, 1, 1, 0, 0, 2, 2, 6, 4, 3]),
    # round 2 = SAO-IO-01, which mentions I7 only
    "2": ([["Lisbon", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
           ["Nairobi", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
           ["São Paulo", 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0]],
          ["Total", 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0]),
}


@pytest.mark.parametrize("round_", [None, "2"])
def test_tables_initiatives_by_dimension_counts_confirmed_existing(tables_of, round_):
    table = tables_of(round=round_)["initiatives_by_dimension"]
    assert table.columns[:5] == ["city", "social_actors", "social_initiatives",
                                 "cultural_religious_actors", "cultural_religious_initiatives"]
    assert table.columns[-3:] == ["total_initiatives", "distinct_initiatives",
                                  "distinct_actors"]
    assert _cells(table) == INITIATIVES[round_]


def test_tables_partnerships_by_type_count_confirmed_existing_once(tables_of):
    # P1 public_private and P2 third_actor_private in Lisbon, P5 third_actor_public in São
    # Paulo; planned P3, suggested P4 and ended P6 are not counted.
    tables = tables_of()
    table = tables["partnerships_by_type"]
    assert table.columns == ["city", "public_private", "third_actor_private",
                             "third_actor_public", "other", "total"]
    assert _cells(table) == ([["Lisbon", 1, 1, 0, 0, 2], ["Nairobi", 0, 0, 0, 0, 0],
                              ["São Paulo", 0, 0, 1, 0, 1]], ["Total", 1, 1, 1, 0, 3])
    planned = tables["partnerships_planned"]
    assert planned.columns == ["city", "parties", "type", "status", "partnership_id"]
    assert [row[:4] for row in planned.rows] == [
        ["São Paulo", "Casa do Migrante + Lisbon City Council", "third_actor_public",
         "planned"]]
    assert planned.totals is None


def test_tables_partnerships_in_a_round_are_those_its_interviews_mention(tables_of):
    table = tables_of(round="2")["partnerships_by_type"]
    assert table.totals == ["Total", 0, 0, 1, 0, 1]
    assert tables_of(round="2")["partnerships_planned"].rows == []


HOUSING, LANGUAGE, FUNDING = "Housing", "Language", "Funding"  # checked against the codebook


def test_tables_challenge_labels_come_from_the_codebook(agg):
    assert (code_label(agg.study, "challenge.housing"), code_label(agg.study,
            "challenge.language"), code_label(agg.study, "challenge.funding")) == (
        HOUSING, LANGUAGE, FUNDING)


@pytest.mark.parametrize("include_suggested, round_, expected", [
    # challenge.housing: c2 (LIS-PM-01), c7 (adjudicator accepted) and c8 (LIS-BU-01); not
    # c6 (retired segment) or c14 (retired interview); negated c5 left out.
    (False, None, [["Lisbon", "challenge.housing", HOUSING, 2, 3],
                   ["São Paulo", "challenge.funding", FUNDING, 2, 2]]),
    # the undecided c4 joins when suggestions count
    (True, None, [["Lisbon", "challenge.housing", HOUSING, 2, 3],
                  ["Lisbon", "challenge.language", LANGUAGE, 1, 1],
                  ["São Paulo", "challenge.funding", FUNDING, 2, 2]]),
    (False, "2", [["São Paulo", "challenge.funding", FUNDING, 1, 1]]),
])
def test_tables_challenges_count_accepted_codings(tables_of, include_suggested, round_,
                                                  expected):
    table = tables_of(round=round_, include_suggested=include_suggested)["challenges"]
    assert table.columns == ["city", "challenge", "label", "interviews", "codings"]
    assert table.rows == expected
    assert any(("accepted and suggested" if include_suggested else "accepted") in note
               for note in table.notes)


def test_tables_good_practices_per_dimension_and_overview(tables_of):
    tables = tables_of()
    table = tables["good_practices"]
    # I1 good practice (social, legal); I5 promising (cultural_religious, social); I2's
    # verdict is "none"
    assert _cells(table) == ([["social", 1, 1, 2], ["cultural_religious", 0, 1, 1],
                              ["economic", 0, 0, 0], ["political", 0, 0, 0],
                              ["legal", 1, 0, 1]], ["Total (distinct)", 1, 1, 2])
    overview = tables["practice_overview"].as_dicts()
    assert [(r["city"], r["name"], r["verdict"], r["dimensions"]) for r in overview] == [
        ("Lisbon", "Welcome Desk", "good_practice", "social; legal"),
        ("São Paulo", "Portuguese Classes", "promising_practice",
         "social; cultural_religious")]
    first = overview[0]
    assert (first["practicality"], first["innovation"], first["successfulness"],
            first["transferability"], first["sustainability"], first["strategic_fit"]) == (
        "met", "partly", "met", "met", "unknown", "not met")
    assert first["justification"] == "Serves every new arrival"
    assert first["evidence"] == "LIS-PM-01 ¶1"
    assert first["description"].startswith("LIS-PM-01 paragraph 1: the Welcome Desk")
    assert overview[1]["evidence"] == "SAO-CS-01 ¶1"
    assert overview[1]["practicality"] is None


def test_tables_unknown_round_is_a_usage_error(agg):
    store = agg.store()
    try:
        with store.read() as conn, pytest.raises(CityQDAError) as caught:
            study_tables(conn, agg.study, round="9")
    finally:
        store.close()
    assert caught.value.code == "CQ721"
    assert caught.value.exit_code == 2
    assert "1, 2" in caught.value.render()
