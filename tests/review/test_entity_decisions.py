"""Entity decisions: derived review status and fields, merges into aliases that survive
re-coding, corrections that survive re-coding, refusals, and replay from the log."""

from __future__ import annotations

import json

import pytest
from entity_review_helpers import EntityTagger, build_study, entity_id, recode, with_store
from sqlalchemy import select

from pipeline.errors import CityQDAError
from pipeline.review.entity_decisions import (
    derive_entity_state,
    refresh_entity,
    replay_entity_decision,
    resolve_alias,
    set_entity_decision,
)
from pipeline.store.schema import (
    actors,
    entity_aliases,
    events,
    initiative_actors,
    initiative_mentions,
    initiatives,
    partnership_parties,
    partnerships,
)

FUND = "Lisbon City Council and Banco Amigo run the Night Shelter Fund."
PROGRAMME = "Caritas and Banco Amigo run the Night Shelter Programme."


@pytest.fixture
def study(study_dir):
    return build_study(study_dir, {"LIS-PM-01.docx": [FUND], "LIS-PM-02.docx": [PROGRAMME]},
                       tagger_factory=EntityTagger)


def decide(study, *args, **kwargs):
    kwargs.setdefault("source", "test")
    return with_store(study, lambda conn: set_entity_decision(conn, *args, **kwargs))


def row(study, table, ident):
    return with_store(study, lambda conn: conn.execute(
        select(table).where(table.c.id == ident)).one(), write=False)


def mentions_of(study, ident):
    return with_store(study, lambda conn: conn.execute(
        select(initiative_mentions.c.text).where(
            initiative_mentions.c.initiative_id == ident,
            initiative_mentions.c.produced == 1)).scalars().all(), write=False)


def test_entity_decisions_merge_survives_recoding(study):
    fund = entity_id(study, initiatives, "Night Shelter Fund")
    programme = entity_id(study, initiatives, "Night Shelter Programme")
    for coder in ("ana", "ben"):
        assert decide(study, "initiatives", programme, coder, "merge", merge_into=fund)
    assert row(study, initiatives, programme).review_status == f"merged_into:{fund}"
    assert sorted(mentions_of(study, fund)) == ["the Night Shelter Fund",
                                                "the Night Shelter Programme"]
    assert mentions_of(study, programme) == []
    links = with_store(study, lambda conn: conn.execute(
        select(initiative_actors.c.actor_id).where(
            initiative_actors.c.initiative_id == fund)).scalars().all(), write=False)
    assert len(set(links)) == 3  # council and bank, plus Caritas from the programme
    alias = with_store(study, lambda conn: conn.execute(select(entity_aliases)).one(),
                       write=False)
    assert (alias.entity, alias.city, alias.target_id) == ("initiatives", "Lisbon", fund)

    recode(study)
    assert sorted(mentions_of(study, fund)) == ["the Night Shelter Fund",
                                                "the Night Shelter Programme"]
    assert mentions_of(study, programme) == []
    count = with_store(study, lambda conn: len(conn.execute(select(initiatives)).all()),
                       write=False)
    assert count == 2  # nothing new was created for the merged name
    assert with_store(study, lambda conn: resolve_alias(
        conn, "initiatives", "Lisbon", alias.norm_name), write=False) == fund


def test_entity_decisions_actor_correction_survives_recoding(study):
    bank = entity_id(study, actors, "Banco Amigo")
    council = entity_id(study, actors, "Lisbon City Council")
    for coder in ("ana", "ben"):
        decide(study, "actors", bank, coder, "confirm",
               fields={"category": "civil_society", "sector": "third",
                       "parent_id": council})
    corrected = row(study, actors, bank)
    assert (corrected.review_status, corrected.category, corrected.sector,
            corrected.parent_id) == ("confirmed", "civil_society", "third", council)
    recode(study)
    again = row(study, actors, bank)
    assert (again.review_status, again.category, again.sector, again.parent_id) == \
        ("confirmed", "civil_society", "third", council)


def test_entity_decisions_disagreement_and_adjudication(study):
    fund = entity_id(study, initiatives, "Night Shelter Fund")
    decide(study, "initiatives", fund, "ana", "confirm")
    assert row(study, initiatives, fund).review_status == "confirmed"
    decide(study, "initiatives", fund, "ben", "reject")
    assert row(study, initiatives, fund).review_status == "disputed"
    decide(study, "initiatives", fund, "judge", "confirm", role="adjudicator",
           fields={"ratings": {"practicality": "met", "innovation": "partly"},
                   "verdict": "good_practice", "justification": "Evaluated and copied.",
                   "status": "existing", "dimensions": ["social", "economic"]})
    settled = row(study, initiatives, fund)
    assert settled.review_status == "confirmed"
    assert json.loads(settled.ratings) == {"innovation": "partly", "practicality": "met"}
    assert (settled.verdict, settled.justification) == ("good_practice",
                                                        "Evaluated and copied.")
    assert json.loads(settled.dimensions) == ["economic", "social"]


def test_entity_decisions_conflicting_fields_are_disputed(study):
    bank = entity_id(study, actors, "Banco Amigo")
    decide(study, "actors", bank, "ana", "confirm", fields={"category": "civil_society"})
    decide(study, "actors", bank, "ben", "confirm", fields={"category": "business"})
    found = row(study, actors, bank)
    assert found.review_status == "disputed" and found.category == "business"


def test_entity_decisions_overturned_merge_moves_mentions_back(study):
    fund = entity_id(study, initiatives, "Night Shelter Fund")
    programme = entity_id(study, initiatives, "Night Shelter Programme")
    decide(study, "initiatives", programme, "ana", "merge", merge_into=fund)
    assert mentions_of(study, programme) == []
    decide(study, "initiatives", programme, "ana", "confirm")
    assert row(study, initiatives, programme).review_status == "confirmed"
    assert mentions_of(study, programme) == ["the Night Shelter Programme"]
    assert mentions_of(study, fund) == ["the Night Shelter Fund"]
    assert with_store(study, lambda conn: conn.execute(select(entity_aliases)).all(),
                      write=False) == []


def test_entity_decisions_partnership_parties_and_type(study):
    rows = with_store(study, lambda conn: conn.execute(select(partnerships.c.id)).scalars()
                      .all(), write=False)
    caritas = entity_id(study, actors, "Caritas")
    council = entity_id(study, actors, "Lisbon City Council")
    decide(study, "partnerships", rows[0], "judge", "confirm", role="adjudicator",
           fields={"parties": [caritas, council], "type": "third_actor_public",
                   "status": "ended"})
    found = row(study, partnerships, rows[0])
    assert (found.review_status, found.type, found.status) == ("confirmed",
                                                              "third_actor_public", "ended")
    parties = with_store(study, lambda conn: conn.execute(
        select(partnership_parties.c.actor_id).where(
            partnership_parties.c.partnership_id == rows[0])).scalars().all(), write=False)
    assert sorted(parties) == sorted([caritas, council])


@pytest.mark.parametrize(("args", "kwargs", "code"), [
    (("initiatives", "FUND", "ana", "approve"), {}, "CQ550"),
    (("initiatives", "FUND", "ana", "confirm"), {"role": "boss"}, "CQ550"),
    (("initiatives", 999, "ana", "confirm"), {}, "CQ551"),
    (("initiatives", "FUND", "ana", "merge"), {}, "CQ552"),
    (("initiatives", "FUND", "ana", "merge"), {"merge_into": "FUND"}, "CQ552"),
    (("initiatives", "FUND", "ana", "confirm"), {"merge_into": "FUND"}, "CQ552"),
    (("initiatives", "FUND", "ana", "confirm"), {"fields": {"verdict": "good_practice"}},
     "CQ553"),
    (("initiatives", "FUND", "ana", "confirm"),
     {"fields": {"ratings": {"practicality": "great"}}}, "CQ553"),
    (("initiatives", "FUND", "ana", "confirm"), {"fields": {"status": "dreamt"}}, "CQ553"),
    (("actors", "BANK", "ana", "confirm"), {"fields": {"sector": "fourth"}}, "CQ553"),
    (("actors", "BANK", "ana", "confirm"), {"fields": {"parent_id": 999}}, "CQ553"),
])
def test_entity_decisions_refusals_change_nothing(study, args, kwargs, code):
    ids = {"FUND": entity_id(study, initiatives, "Night Shelter Fund"),
           "BANK": entity_id(study, actors, "Banco Amigo")}
    args = tuple(ids.get(a, a) if isinstance(a, str) else a for a in args)
    kwargs = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in kwargs.items()}
    before = with_store(study, lambda conn: (conn.execute(select(events)).all(),
                                             conn.execute(select(initiatives)).all()),
                        write=False)
    with pytest.raises(CityQDAError) as caught:
        decide(study, *args, **kwargs)
    assert caught.value.code == code
    after = with_store(study, lambda conn: (conn.execute(select(events)).all(),
                                            conn.execute(select(initiatives)).all()),
                       write=False)
    assert after == before


def test_entity_decisions_merge_cycle_refused(study):
    fund = entity_id(study, initiatives, "Night Shelter Fund")
    programme = entity_id(study, initiatives, "Night Shelter Programme")
    decide(study, "initiatives", programme, "ana", "merge", merge_into=fund)
    with pytest.raises(CityQDAError, match="already merged into this one"):
        decide(study, "initiatives", fund, "ana", "merge", merge_into=programme)


def test_entity_decisions_unchanged_decision_is_not_logged_again(study):
    fund = entity_id(study, initiatives, "Night Shelter Fund")
    assert decide(study, "initiatives", fund, "ana", "confirm", comment="ok")
    assert not decide(study, "initiatives", fund, "ana", "confirm", comment="ok")
    logged = with_store(study, lambda conn: conn.execute(
        select(events).where(events.c.kind == "entity_decision.set")).all(), write=False)
    assert len(logged) == 1
    state = json.loads(logged[0].new)
    assert state["identity"]["norm_name"] and state["identity"]["city"] == "Lisbon"


def test_entity_decisions_replay_into_another_store(study, tmp_path):
    from pipeline.init_study import init_study

    fund = entity_id(study, initiatives, "Night Shelter Fund")
    programme = entity_id(study, initiatives, "Night Shelter Programme")
    decide(study, "initiatives", programme, "ana", "merge", merge_into=fund)
    decide(study, "initiatives", fund, "ana", "confirm",
           fields={"verdict": "promising_practice", "justification": "New."})
    logged = with_store(study, lambda conn: conn.execute(
        select(events.c.actor, events.c.new).where(events.c.kind == "entity_decision.set")
        .order_by(events.c.id)).all(), write=False)
    # the same transcripts in the opposite order give other row ids
    other = build_study(init_study(tmp_path / "other"),
                        {"LIS-PM-01.docx": [PROGRAMME], "LIS-PM-02.docx": [FUND]},
                        tagger_factory=EntityTagger)
    for actor, new in logged:
        with_store(other, lambda conn, a=actor, n=new: replay_entity_decision(
            conn, json.loads(n), actor=a))
    other_fund = entity_id(other, initiatives, "Night Shelter Fund")
    other_programme = entity_id(other, initiatives, "Night Shelter Programme")
    assert other_fund != fund
    assert row(other, initiatives, other_programme).review_status == \
        f"merged_into:{other_fund}"
    assert row(other, initiatives, other_fund).verdict == "promising_practice"


def test_entity_decisions_derive_rules():
    class D:
        def __init__(self, role, decision, merge_into=None, fields=None):
            self.role, self.decision, self.merge_into = role, decision, merge_into
            self.fields = json.dumps(fields) if fields else None

    assert derive_entity_state([]) == (None, {})
    assert derive_entity_state([D("coder", "discuss")])[0] == "disputed"
    assert derive_entity_state([D("coder", "merge", 4), D("coder", "merge", 4)])[0] == \
        "merged_into:4"
    assert derive_entity_state([D("coder", "merge", 4), D("coder", "merge", 5)])[0] == \
        "disputed"
    status, fields = derive_entity_state([
        D("coder", "confirm", fields={"ratings": {"practicality": "met"}}),
        D("coder", "confirm", fields={"ratings": {"innovation": "partly"}})])
    assert status == "confirmed"
    assert fields == {"ratings": {"practicality": "met", "innovation": "partly"}}
    assert derive_entity_state([D("coder", "confirm"), D("adjudicator", "discuss"),
                                D("coder", "reject")])[0] == "disputed"


def test_entity_decisions_refresh_without_decisions_keeps_status(study):
    council = entity_id(study, actors, "Lisbon City Council")
    assert with_store(study, lambda conn: refresh_entity(conn, "actors", council)) == \
        "confirmed"


def test_entity_decisions_corrected_parties_survive_recoding(study):
    bank = entity_id(study, actors, "Banco Amigo")
    council = entity_id(study, actors, "Lisbon City Council")
    fund_partnership = with_store(study, lambda conn: conn.execute(
        select(partnership_parties.c.partnership_id).where(
            partnership_parties.c.actor_id == council)).scalar_one(), write=False)
    caritas = entity_id(study, actors, "Caritas")
    decide(study, "partnerships", fund_partnership, "ana", "confirm",
           fields={"parties": [council, caritas]})

    def parties(conn):
        return sorted(conn.execute(select(partnership_parties.c.actor_id).where(
            partnership_parties.c.partnership_id == fund_partnership)).scalars())
    assert with_store(study, parties, write=False) == sorted([council, caritas])
    recode(study)  # the rules still name the bank as a party
    assert with_store(study, parties, write=False) == sorted([council, caritas])
    assert bank not in with_store(study, parties, write=False)
