"""Named initiatives: which names, who runs them, their dimensions and status."""

from __future__ import annotations

import pytest


def initiative(result: dict, name: str) -> dict:
    found = [i for i in result["initiatives"] if i["name"] == name]
    assert found, f"no initiative {name!r} in {[i['name'] for i in result['initiatives']]}"
    return found[0]


@pytest.mark.parametrize("text, name", [
    ("The Introduction Programme is compulsory for refugees.", "Introduction Programme"),
    ("The city launched the Immigrant Legal Services Fund in 2017.",
     "Immigrant Legal Services Fund"),
    ("Volunteers organise Refugee Week every June.", "Refugee Week"),
    ("The New Citizen Campaign helped 2,000 residents.", "New Citizen Campaign"),
    ("Women attend the Adult Migrant English Program twice a week.",
     "Adult Migrant English Program"),
    ("Under the Papyrus operation, workers were regularised.", "Papyrus"),
    ("The city funds the 'Arrivo Berlin' training initiative.", "Arrivo Berlin"),
    ('The shelter "Safe Haven" has forty beds.', "Safe Haven"),
    ("ActionNYC, launched by the mayor in 2016, offers legal screenings.", "ActionNYC"),
    ("UNHCR runs the Integration Centre for Refugees in Sofia.",
     "Integration Centre for Refugees"),
    ("Welcome Aboard", "Welcome Aboard"),
])
def test_initiatives_names(tagger, text, name):
    found = initiative(tagger.tag(text), name)
    assert text[found["start"]:found["end"]] == found["name"]


@pytest.mark.parametrize("text", [
    "The Ministry of Labour funds courses.",
    "Refugees arrive from Cape Verde and Guinea-Bissau.",
    "Shelter",
])
def test_initiatives_not_every_name_is_one(tagger, text):
    assert tagger.tag(text)["initiatives"] == []


@pytest.mark.parametrize("text, name, actors", [
    ("Caritas Wien runs the Neighbourhood Café Programme.", "Neighbourhood Café Programme",
     ["Caritas Wien"]),
    ("The Welcome Desk Programme, run by the Red Cross Society of Fiji, opens daily.",
     "Welcome Desk Programme", ["Red Cross Society of Fiji"]),
    ("BRAC's Migration Programme offers loans.", "Migration Programme", ["BRAC"]),
    ("Kitchen Pathways is run jointly with Associação Acolher and with IEFP.",
     "Kitchen Pathways", ["Associação Acolher", "IEFP"]),
])
def test_initiatives_actors_that_run_or_fund_them(tagger, text, name, actors):
    assert initiative(tagger.tag(text), name)["actors"] == actors


@pytest.mark.parametrize("text, name, status, counts", [
    ("The Welcome Programme offers Dutch lessons to refugees.", "Welcome Programme",
     "existing", True),
    ("Under the Plan Einstein pilot, which ended in 2018, tenants shared a building.",
     "Plan Einstein", "ended", True),
    ("The Start Fund paid for equipment until 2019.", "Start Fund", "ended", True),
    ("The Bridge Programme was discontinued after two years.", "Bridge Programme", "ended",
     True),
    ("The municipality will launch the Newcomer Programme next year.", "Newcomer Programme",
     "planned", True),
    ("The council plans to open the Welcome Centre in 2015.", "Welcome Centre", "planned",
     True),
    ("The NGO would like to start the Mentor Programme again.", "Mentor Programme",
     "existing", False),
    ("There is no Welcome Programme in the city.", "Welcome Programme", "existing", False),
])
def test_initiatives_status(tagger, text, name, status, counts):
    found = initiative(tagger.tag(text), name)
    assert (found["status"], found["counts"]) == (status, counts)


def test_initiatives_dimensions_come_from_the_codings_around_them(tagger):
    first = ("The city runs the Welcome Programme, which offers free Portuguese language "
             "courses.")
    result = tagger.tag(first + " Separately, Caritas runs the Night Shelter Programme for "
                        "homeless migrants.")
    counted = {c["dimension"] for c in result["codes"] if c["counts"]}
    around_first = {c["dimension"] for c in result["codes"]
                    if c["counts"] and c["end"] <= len(first)}
    welcome = initiative(result, "Welcome Programme")["dimensions"]
    shelter = initiative(result, "Night Shelter Programme")["dimensions"]
    assert "cultural_religious" in welcome and set(welcome) == around_first
    assert "social" in shelter and set(shelter) <= counted
    assert "cultural_religious" not in shelter


def test_initiatives_wished_ones_give_no_dimension(tagger):
    result = tagger.tag("The NGO would like to open the Job Desk Programme for refugees.")
    found = initiative(result, "Job Desk Programme")
    assert (found["hypothetical"], found["counts"]) == (True, False)
