"""Partnerships: cues, parties in scope, type from the parties' sectors, status."""

from __future__ import annotations

import pytest

from pipeline.nlp.partnerships import partnership_type


@pytest.mark.parametrize("sectors, expected", [
    ({"public", "private"}, "public_private"),
    ({"third", "private"}, "third_actor_private"),
    ({"third", "public"}, "third_actor_public"),
    ({"public"}, "other"),
    ({"third"}, "other"),
    ({"private"}, "other"),
    ({"public", "private", "third"}, "other"),  # three sectors: other
    (["public", "public", "private"], "public_private"),  # city, ministry and a company
    (["third", "third", "public"], "third_actor_public"),
])
def test_partnerships_type_from_sectors(sectors, expected):
    assert partnership_type(sectors) == expected


def partnership(result: dict, parties: set[str]) -> dict:
    found = [p for p in result["partnerships"] if set(p["parties"]) == parties]
    assert found, f"no partnership {parties} in {[p['parties'] for p in result['partnerships']]}"
    return found[0]


@pytest.mark.parametrize("text, parties, kind", [
    ("Caritas Wien runs the course in partnership with the Vienna Chamber of Commerce.",
     {"Caritas Wien", "Vienna Chamber of Commerce"}, "with"),
    ("The Irish Refugee Council partners with Dublin City Council on housing.",
     {"Irish Refugee Council", "Dublin City Council"}, "with"),
    ("The Hope Foundation, together with Lyon City Council, opened a shelter.",
     {"Hope Foundation", "Lyon City Council"}, "with"),
    ("The clinic of the Kenya Red Cross Society is funded by Safaricom.",
     {"Kenya Red Cross Society", "Safaricom"}, "by"),
    ("An agreement between the Municipality of Lima and IOM created an orientation point.",
     {"Municipality of Lima", "International Organization for Migration"}, "between"),
    ("UNHCR and the Municipality of Athens jointly run the centre.",
     {"UNHCR", "Municipality of Athens"}, "joint"),
    ("The Ghana Immigration Service cooperates with MTN Ghana Ltd on registration.",
     {"Ghana Immigration Service", "MTN Ghana Ltd"}, "with"),
    ("The Centre for Peace Studies collaborates with the Jesuit Refugee Service.",
     {"Centre for Peace Studies", "Jesuit Refugee Service"}, "with"),
    ("The school offers Estonian classes with support from the Integration Foundation and "
     "the Tallinn City Government.",
     {"school", "Integration Foundation", "Tallinn City Government"}, "by"),
    ("Birmingham City Council commissioned the Refugee and Migrant Centre to run casework.",
     {"Birmingham City Council", "Refugee and Migrant Centre"}, "verb"),
    ("Dublin City Council and the Irish Refugee Council signed a memorandum of understanding.",
     {"Dublin City Council", "Irish Refugee Council"}, "joint"),
    ("The Intendencia de Montevideo and the NGO Idas y Vueltas opened an information point.",
     {"Intendencia de Montevideo", "Idas y Vueltas"}, "joint"),
    ("The Hope Foundation runs the course with the support of Lyon City Council.",
     {"Hope Foundation", "Lyon City Council"}, "by"),
    ("The Hope Foundation runs the course in consortium with Lyon City Council.",
     {"Hope Foundation", "Lyon City Council"}, "with"),
    ("The Hope Foundation set up work placements, arranged with Lyon City Council.",
     {"Hope Foundation", "Lyon City Council"}, "with"),
    ("A consortium of the Hope Foundation and Lyon City Council runs the course.",
     {"Hope Foundation", "Lyon City Council"}, "between"),
    ("Renault SA funded the Hope Foundation's new clinic for two years.",
     {"Renault SA", "Hope Foundation"}, "verb"),
    # hyphenated cues, bracketed acronyms inside a list, place names joined by "and"
    ("The Hope Foundation and Lyon City Council co-host the festival.",
     {"Hope Foundation", "Lyon City Council"}, "joint"),
    ("The Hope Foundation (HF) and Lyon City Council run it with sponsorship from Renault SA.",
     {"Hope Foundation", "Lyon City Council", "Renault SA"}, "by"),
    ("The courses are co-funded by the Municipality of Turin and Korvalt.",
     {"Municipality of Turin", "Korvalt"}, "by"),
    ("The Welcome Point is a joint initiative of the Municipality of Ghent and the Hope "
     "Foundation.", {"Municipality of Ghent", "Hope Foundation"}, "between"),
    ("The programme, implemented by the Hope Foundation and financed by Lyon City Council, "
     "trains staff.", {"Hope Foundation", "Lyon City Council"}, "by"),
    ("Korvalt offers apprenticeships in cooperation with the Lyon Employment Agency.",
     {"Korvalt", "Lyon Employment Agency"}, "with"),
    ("The Turin Chamber of Commerce and Korvalt Automobili offer traineeships together.",
     {"Turin Chamber of Commerce", "Korvalt Automobili"}, "joint"),
    ("Brenmark and the Hope Foundation launched a coding course.",
     {"Brenmark", "Hope Foundation"}, "joint"),
    ("The Hope Foundation's partners include Lyon City Council and Renault SA.",
     {"Hope Foundation", "Lyon City Council", "Renault SA"}, "with"),
    # buying a service, sharing an office, a second "and with" after a relative clause
    ("The Lyon Employment Agency buys mentoring from the Hope Foundation.",
     {"Lyon Employment Agency", "Hope Foundation"}, "verb"),
    ("Caritas Lyon and the Lyon Employment Agency share a counselling office in Vaise.",
     {"Caritas Lyon", "Lyon Employment Agency"}, "joint"),
    ("The Lyon Employment Agency works with Renault SA, which hires trainees, and with the "
     "Hope Foundation on mentoring.", {"Lyon Employment Agency", "Hope Foundation"}, "with"),
    # a fronted funder gives the main clause's subject; "and partners with" starts anew
    ("With support from Renault SA, the Hope Foundation runs an advice centre.",
     {"Renault SA", "Hope Foundation"}, "by"),
    ("The Hope Foundation teaches under contract to Lyon City Council and partners with "
     "Renault SA.", {"Hope Foundation", "Lyon City Council"}, "with"),
    ("The night shelter is run jointly by Tromsø University Hospital and the Norwegian Red "
     "Cross.", {"Tromsø University Hospital", "Norwegian Red Cross"}, "between"),
    ("Pupils attend a homework club run by the Ipoh Chamber of Commerce and the Ipoh "
     "Methodist Church.", {"Ipoh Chamber of Commerce", "Ipoh Methodist Church"}, "between"),
    ("The Oslo Chamber of Commerce and Standard Bank Namibia give small loans to traders.",
     {"Oslo Chamber of Commerce", "Standard Bank Namibia"}, "joint"),
    ("The Regina Open Door Society and Nutrien, the fertiliser company, have launched a "
     "scholarship.", {"Regina Open Door Society", "Nutrien"}, "joint"),
    ("The Ayuntamiento de Huesca entrusted the municipal shelter to Cruz Roja.",
     {"Ayuntamiento de Huesca", "Cruz Roja"}, "verb"),
    ("The Irish Refugee Council and Dublin City Council work together on housing.",
     {"Irish Refugee Council", "Dublin City Council"}, "joint"),
    ("The Commissariat for Refugees runs a language course taught by the Faculty of "
     "Philology.", {"Commissariat for Refugees", "Faculty of Philology"}, "by"),
    ("Kaunas City Council plans to open a one-stop shop with the Lithuanian Red Cross.",
     {"Kaunas City Council", "Lithuanian Red Cross"}, "with"),
    # session 7: more verbs of joint work, past "are" and a bracketed acronym
    ("The Velmora Chamber of Commerce and the Hope Foundation hold job fairs.",
     {"Velmora Chamber of Commerce", "Hope Foundation"}, "joint"),
    ("The Hope Foundation and Lyon City Council are repairing flats for returnees.",
     {"Hope Foundation", "Lyon City Council"}, "joint"),
    ("The Hope Foundation and the Ministry of Returnees (MoR) built a reception centre.",
     {"Hope Foundation", "Ministry of Returnees"}, "joint"),
    ("The Hope Foundation and Lyon City Council drew up a housing plan.",
     {"Hope Foundation", "Lyon City Council"}, "joint"),
    # session 7: whoever runs or funds an initiative works with the actor that owns it
    ("Renault SA supports the Brightway mentoring programme of the Hope Foundation.",
     {"Renault SA", "Hope Foundation"}, "verb"),
    ("Renault SA co-funds the Velmora Welcome Hub, which Lyon City Council plans to open.",
     {"Renault SA", "Lyon City Council"}, "verb"),
    # session 7: a funder or lender opening the next sentence, with no "its"
    ("The Hope Foundation offers Spanish classes. Lyon City Council pays for the teachers.",
     {"Hope Foundation", "Lyon City Council"}, "verb"),
    ("The Hope Foundation runs a language café. Renault SA lends it rooms.",
     {"Hope Foundation", "Renault SA"}, "verb"),
    ("Lyon City Council gives grants to the Hope Foundation.",
     {"Lyon City Council", "Hope Foundation"}, "verb"),
    ("The Lyon Red Cross and Velmorka run a work experience scheme.",
     {"Lyon Red Cross", "Velmorka"}, "joint"),
    ("The UNHCR office and Lyon City Council signed an agreement with Renault SA.",
     {"UNHCR", "Lyon City Council", "Renault SA"}, "with"),
    # session 9: a brand of two words after "and" ends a complement; the city of a place
    ("The Ministry of Social Action and Velmobank Togo co-finance small loans.",
     {"Ministry of Social Action", "Velmobank Togo"}, "joint"),
    ("The city of Velmora and the Hope Foundation jointly manage a reception point.",
     {"city of Velmora", "Hope Foundation"}, "joint"),
    ("She said the city also works with Caritas Velmora and the Red Cross on housing.",
     {"city", "Caritas Velmora", "Red Cross"}, "with"),
    ("The Hope Foundation relies on Lyon City Council for its funding.",
     {"Hope Foundation", "Lyon City Council"}, "with"),
])
def test_partnerships_cue_families(tagger, text, parties, kind):
    found = partnership(tagger.tag(text), parties)
    assert found["kind"] == kind
    assert text[found["start"]:found["end"]] in text and found["cue"] in text


@pytest.mark.parametrize("text, parties, type_", [
    ("Lyon City Council works with Renault SA on apprenticeships.",
     {"Lyon City Council", "Renault SA"}, "public_private"),
    ("The Hope Foundation works with Renault SA on apprenticeships.",
     {"Hope Foundation", "Renault SA"}, "third_actor_private"),
    ("The Hope Foundation works with Lyon City Council on housing.",
     {"Hope Foundation", "Lyon City Council"}, "third_actor_public"),
    ("The Hope Foundation works with the Jesuit Refugee Service on housing.",
     {"Hope Foundation", "Jesuit Refugee Service"}, "other"),
    ("Lyon City Council works with the Ministry of the Interior on housing.",
     {"Lyon City Council", "Ministry of the Interior"}, "other"),
    ("Renault SA works with Orange SA on training.", {"Renault SA", "Orange SA"}, "other"),
    ("Kitchen Pathways is run by Tejo Hotels Ltd in partnership with the Hope Foundation and "
     "the Lisbon School of Hospitality.",
     {"Tejo Hotels Ltd", "Hope Foundation", "Lisbon School of Hospitality"}, "other"),
    ("Lyon City Council runs the scheme in partnership with the Ministry of Labour and Renault "
     "SA.", {"Lyon City Council", "Ministry of Labour", "Renault SA"}, "public_private"),
    ("The Hope Foundation works with UNHCR on housing.", {"Hope Foundation", "UNHCR"},
     "other"),
])
def test_partnerships_types_including_three_parties_and_one_sector(tagger, text, parties,
                                                                   type_):
    assert partnership(tagger.tag(text), parties)["type"] == type_


@pytest.mark.parametrize("text, status", [
    ("The Hope Foundation works with Lyon City Council on housing.", "existing"),
    ("The Hope Foundation had a contract with Lyon City Council until 2019.", "ended"),
    ("The Hope Foundation worked with Lyon City Council, but the agreement was not renewed.",
     "ended"),
    ("The Hope Foundation used to work with Lyon City Council on housing.", "ended"),
    ("The Hope Foundation will work with Lyon City Council from next year.", "planned"),
    ("The Hope Foundation is preparing a joint project with Lyon City Council.", "planned"),
    ("The Hope Foundation would like to partner with Lyon City Council.", "desired"),
    ("The Hope Foundation has asked Lyon City Council for a joint campaign.", "desired"),
])
def test_partnerships_status(tagger, text, status):
    assert partnership(tagger.tag(text), {"Hope Foundation", "Lyon City Council"})["status"] \
        == status


@pytest.mark.parametrize("text", [
    "The Hope Foundation has no agreement with Lyon City Council.",
    "The Hope Foundation has never worked with Lyon City Council.",
    "The Hope Foundation receives no money from Lyon City Council.",
    "The Hope Foundation runs a shelter, and Lyon City Council runs a school.",
])
def test_partnerships_denied_or_absent_are_none(tagger, text):
    assert tagger.tag(text)["partnerships"] == []


@pytest.mark.parametrize("text", [
    "Publicly funded Dutch classes are held at the Hope Foundation.",
    "The Hope Foundation runs federally funded language classes.",
])
def test_partnerships_funded_as_an_adjective_is_no_cue(tagger, text):
    assert tagger.tag(text)["partnerships"] == []


def test_partnerships_a_description_before_a_name_is_no_party(tagger):
    # a registry name keeps the kind word before it as a generic mention; the party is the name
    result = tagger.tag("The Hope Foundation receives funding from the UN agency UNHCR.")
    assert "UN agency" in [a["name"] for a in result["actors"]]
    assert [p["parties"] for p in result["partnerships"]] == [["Hope Foundation", "UNHCR"]]


def test_partnerships_reported_speech_and_references(tagger):
    result = tagger.tag("The director of the Hope Foundation said the charity works together "
                        "with Renault SA.")
    found = partnership(result, {"Hope Foundation", "Renault SA"})
    assert found["type"] == "third_actor_private"


def test_partnerships_party_named_twice_counts_once(tagger):
    result = tagger.tag("The Toronto Region Immigrant Employment Council (TRIEC) works with "
                        "RBC Bank.")
    found = partnership(result, {"Toronto Region Immigrant Employment Council", "RBC Bank"})
    assert len(found["party_mentions"]) == 2


def test_partnerships_the_speaker_is_the_unnamed_party(tagger):
    from pipeline.nlp.entities import entity_tagger_for
    from pipeline.nlp.normalise import normalise

    entities = entity_tagger_for(tagger.nlp)
    speaker = {"name": "Hope Foundation", "category": "civil_society", "sector": "third",
               "registry_id": None}
    text = "Shared costs with the Islamic Association of Mouraria."
    norm = normalise(text)
    result = entities.extract(tagger.nlp(norm.text), norm, context={"speaker": speaker})
    found = partnership(result, {"Hope Foundation", "Islamic Association of Mouraria"})
    assert found["type"] == "other"
    assert found["party_mentions"][-1]["start"] is None
    assert entities.extract(tagger.nlp(norm.text), norm)["partnerships"] == []


@pytest.mark.parametrize("text, parties", [
    ("The Hope Foundation runs shelters. It works with Lyon City Council.",
     {"Hope Foundation", "Lyon City Council"}),
    ("The Hope Foundation runs shelters. They receive funding from Lyon City Council.",
     {"Hope Foundation", "Lyon City Council"}),
    ("The Hope Foundation runs shelters. It receives funding from Lyon City Council and "
     "works with the Irish Refugee Council.", {"Hope Foundation", "Irish Refugee Council"}),
])
def test_partnerships_pronoun_subject_is_the_first_actor_of_the_sentence_before(
        tagger, text, parties):
    found = partnership(tagger.tag(text), parties)
    assert found["type"] == "other" if "Irish Refugee Council" in parties else \
        found["type"] == "third_actor_public"


def test_partnerships_name_written_again_is_the_same_party(tagger):
    """ "commissions Refugee Action ..., and Refugee Action in turn works with": the second
    mention is the subject of the second partnership."""
    result = tagger.tag("Leeds City Council commissions Refugee Action to run the scheme, and "
                        "Refugee Action in turn works with local mosques.")
    assert partnership(result, {"Leeds City Council", "Refugee Action"})["type"] == \
        "third_actor_public"
    assert partnership(result, {"Refugee Action", "mosques"})["type"] == "other"


def test_partnerships_one_activity_with_several_partners_is_one_partnership(tagger):
    result = tagger.tag("Leeds Beckett University runs a scholarship scheme with funding from "
                        "the Co-operative Group and in cooperation with Refugee Action.")
    assert [p["parties"] for p in result["partnerships"]] == [
        ["Leeds Beckett University", "Co-operative Group", "Refugee Action"]]
    assert result["partnerships"][0]["type"] == "other"


def test_partnerships_two_activities_stay_two_partnerships(tagger):
    result = tagger.tag("The Hope Foundation receives donations from Woolworths and works "
                        "closely with the Department of Home Affairs.")
    assert sorted(p["type"] for p in result["partnerships"]) == [
        "third_actor_private", "third_actor_public"]


def test_partnerships_subject_after_that_and_a_fronted_description(tagger):
    """ "... are paid for by X and that a mobile operator, Play, donated ...": Play donated to
    the reporting organisation; X's passive agent belongs to the first statement."""
    result = tagger.tag("The coordinator of Fundacja Ocalenie said the foundation's classes "
                        "are paid for by the City of Warsaw and that a mobile operator, Play, "
                        "donated SIM cards.")
    assert partnership(result, {"Fundacja Ocalenie", "Play"})["type"] == "third_actor_private"
    assert partnership(result, {"Fundacja Ocalenie", "City of Warsaw"})["type"] == \
        "third_actor_public"


def test_partnerships_a_later_funding_aside_joins_the_verb_partnership(tagger):
    """ "works with B to ..., with funding from C": one activity with two partners; "works
    with B ..., and with C" stays two (see the test above for two verbs)."""
    result = tagger.tag("The Hope Foundation works with Lyon City Council to house families, "
                        "with funding from the World Bank.")
    assert [sorted(p["parties"]) for p in result["partnerships"]] == [
        ["Hope Foundation", "Lyon City Council", "World Bank"]]


def test_partnerships_the_two_organisations_of_the_sentence_before(tagger):
    result = tagger.tag("The Hope Foundation and Lyon City Council run a shelter. The two "
                        "organisations receive funding from the World Bank.")
    found = partnership(result, {"Hope Foundation", "Lyon City Council", "World Bank"})
    assert found["type"] == "third_actor_public"


def test_partnerships_a_word_of_a_name_negates_nothing(tagger):
    result = tagger.tag("The Hope Foundation and Doctors Without Borders run a clinic, "
                        "supported by Lyon City Council.")
    assert partnership(result, {"Hope Foundation", "Médecins Sans Frontières",
                                "Lyon City Council"})["type"] == "third_actor_public"


def test_partnerships_main_donor_of_the_reporting_organisation(tagger):
    result = tagger.tag("The director of the Hope Foundation said its main donor is Lyon City "
                        "Council.")
    assert partnership(result, {"Hope Foundation", "Lyon City Council"})["type"] == \
        "third_actor_public"


def test_partnerships_possessive_party_and_the_reporting_organisation(tagger):
    """ "with the council's employment service": the service is the party; "X's respondent
    said that Y funded its clinic": its = X."""
    result = tagger.tag("Hafen Bau GmbH offers placements to refugees, arranged with the "
                        "council's employment service.")
    assert partnership(result, {"Hafen Bau GmbH", "employment service"})["type"] == \
        "public_private"
    result = tagger.tag("The respondent from Hope Legal Aid said that a bank, Nordhavn Bank, "
                        "funded its legal clinic for two years.")
    assert partnership(result, {"Hope Legal Aid", "Nordhavn Bank"})


def test_partnerships_kind_word_before_a_name_refers_to_no_earlier_actor(tagger):
    result = tagger.tag("The Leuven social welfare centre (OCMW Leuven) and the temporary "
                        "employment agency Randstad run a joint scheme.")
    assert partnership(result, {"OCMW Leuven", "Randstad"})["type"] == "public_private"


def test_partnerships_owned_body_after_a_named_owner_is_the_party(tagger):
    result = tagger.tag("Korek Telecom sponsors the training centre of the Duhok Region's "
                        "Ministry of Labour.")
    assert [sorted(p["parties"]) for p in result["partnerships"]] == [
        ["Korek Telecom", "Ministry of Labour"]]


@pytest.mark.parametrize("text", [
    "Vodafone gave laptops to the Perth Refugee Hub, and the Hope Foundation trains its "
    "volunteers.",
    "METAdrasi, a Greek NGO, trains interpreters.",
])
def test_partnerships_a_joint_verb_needs_a_listed_subject(tagger, text):
    assert tagger.tag(text)["partnerships"] == []


def test_partnerships_a_funder_of_the_next_clause_joins_the_opening_pair(tagger):
    result = tagger.tag("The Municipality of Salta and the Universidad Nacional de Salta give "
                        "free courses; Arcor, the confectionery group, pays for the books.")
    assert partnership(result, {"Municipality of Salta", "Universidad Nacional de Salta",
                                "Arcor"})["type"] == "public_private"


@pytest.mark.parametrize("second, parties", [
    ("The Gobernación de Tarija covers its rent.", [["Casa Velmora", "Gobernación de Tarija"]]),
    ("Velmora Bank funds its youth programme.", [["Casa Velmora", "Velmora Bank"]]),
    ("Velmora Bank funds several projects.", []),  # no "its": no reference to Casa Velmora
    ("The Gobernación de Tarija supplies its medicines.",
     [["Casa Velmora", "Gobernación de Tarija"]]),
    ("The Gobernación de Tarija reimburses its bus tickets.",
     [["Casa Velmora", "Gobernación de Tarija"]]),
])
def test_partnerships_a_funder_of_its_programme_in_the_next_sentence(tagger, second, parties):
    result = tagger.tag(f"Casa Velmora, a charity, provides shelter for migrant girls. {second}")
    assert [sorted(p["parties"]) for p in result["partnerships"]] == parties


@pytest.mark.parametrize("text, parties", [
    ("The Jesuit Refugee Service and the parish of St Anne hand out food parcels together.",
     ["Jesuit Refugee Service", "parish"]),  # "the parish of X" is no reference to the JRS
    ("The Catholic diocese of Kribi and the city council operate a shelter.",
     ["city council", "diocese"]),
])
def test_partnerships_generic_body_named_by_its_place_is_a_party(tagger, text, parties):
    assert [sorted(p["parties"]) for p in tagger.tag(text)["partnerships"]] == [parties]


def test_partnerships_with_after_a_verb_of_running_needs_a_named_partner(tagger):
    result = tagger.tag("Caritas Wien runs a course for mothers with young children.")
    assert result["partnerships"] == []


@pytest.mark.parametrize("text, name, category", [
    ("Velmorka runs homework cafés with money from Lyon City Council.", "Velmorka",
     "civil_society"),
    ("Lyon City Council finances the reception places of VLMK Lyon, while Renault SA trains "
     "mechanics.", "VLMK Lyon", "civil_society"),
    ("Velmorka runs apprenticeships in partnership with Lyon City Council.", "Velmorka",
     "business"),
    # a foundation or an NGO funds no brand either; a company may
    ("Velmorka runs homework cafés with funding from the Tarvik Foundation.", "Velmorka",
     "civil_society"),
    ("Velmorka runs homework cafés with funding from Renault SA.", "Velmorka", "business"),
    # premises lent by a city: and "the city council" is no second name of the speaker's body
    ("The coordinator of Velmorka said that the city council lends them a building.",
     "Velmorka", "civil_society"),
])
def test_partnerships_public_money_makes_a_bare_name_a_third_actor(tagger, text, name,
                                                                   category):
    result = tagger.tag(text)
    assert next(a for a in result["actors"] if a["name"] == name)["category"] == category


def test_partnerships_listed_subjects_that_employ_or_match(tagger):
    result = tagger.tag("The Velmora Employment Agency and the Tarija Chamber of Commerce match "
                        "engineers with firms.")
    assert partnership(result, {"Velmora Employment Agency", "Tarija Chamber of Commerce"})


@pytest.mark.parametrize("text, parties", [
    ("Velmora Aid, a Kurdish NGO, and the Tarija Labour Office run patrols.",
     {"Velmora Aid", "Tarija Labour Office"}),
    ("Velmora College, the university of applied sciences, and Tarija Bank built a lab.",
     {"Velmora College", "Tarija Bank"}),
    ("The Tarija Labour Office (TLO) and the Velmora Chamber of Commerce hold job fairs.",
     {"Tarija Labour Office", "Velmora Chamber of Commerce"}),
])
def test_partnerships_listed_subjects_past_an_apposition_or_acronym(tagger, text, parties):
    result = tagger.tag(text)
    assert [set(p["parties"]) for p in result["partnerships"]] == [parties]
    assert "Kurdish NGO" not in [a["name"] for a in result["actors"]]


@pytest.mark.parametrize("text, parties", [
    ("The Tarija City Council pays Velmora Aid, a charity, to run a shelter.",
     [["Tarija City Council", "Velmora Aid"]]),
    ("The Tarija City Council gave the Velmora Foundation a building.",
     [["Tarija City Council", "Velmora Foundation"]]),
    ("The Tarija City Council pays the Velmora Foundation every March.", []),
])
def test_partnerships_paying_or_giving_a_named_receiver(tagger, text, parties):
    assert [sorted(p["parties"]) for p in tagger.tag(text)["partnerships"]] == parties


@pytest.mark.parametrize("text, parties", [
    ("Velmora Motors hires Haitian workers through Casa Tarija, which trains them.",
     [["Casa Tarija", "Velmora Motors"]]),
    ("Velmora Motors hires Haitian workers through word of mouth.", []),
])
def test_partnerships_hired_through_a_named_actor(tagger, text, parties):
    assert [sorted(p["parties"]) for p in tagger.tag(text)["partnerships"]] == parties


@pytest.mark.parametrize("text, parties", [
    ("The director of the Velmora Welcome Association said that the Tarvik Jobcenter seconds a "
     "caseworker to them every week.", {"Velmora Welcome Association", "Tarvik Jobcenter"}),
    ("The chair of the Velmora Welcome Association said that the Tarvik City Council funds "
     "them.", {"Velmora Welcome Association", "Tarvik City Council"}),
    ("A lawyer at the Velmora Welcome Association said that the Tarvik prefecture lets them "
     "hold legal clinics in the camp.", {"Velmora Welcome Association", "Tarvik prefecture"}),
    ("The head of the Velmora Welcome Association said that they work closely with the Tarvik "
     "Red Cross.", {"Velmora Welcome Association", "Tarvik Red Cross"}),
])
def test_partnerships_they_and_them_in_a_reported_clause_are_the_reporting_organisation(
        tagger, text, parties):
    result = tagger.tag(text)
    assert [set(p["parties"]) for p in result["partnerships"]] == [parties]


@pytest.mark.parametrize("text, parties", [
    ("The Tarvik City Council hosts the staff of the Velmora Refugee Council in its building.",
     {"Tarvik City Council", "Velmora Refugee Council"}),
    ("The Velmora Refugee Council, the Tarvik University and the Tarvik municipality form a "
     "consortium for refugee students.",
     {"Velmora Refugee Council", "Tarvik University", "Tarvik municipality"}),
])
def test_partnerships_hosting_and_consortium_cues(tagger, text, parties):
    assert [set(p["parties"]) for p in tagger.tag(text)["partnerships"]] == [parties]


@pytest.mark.parametrize("text, parties", [
    # the next "and that" clause is another statement
    ("The coordinator of Casa Velmora said that the Tarvik Secretariat of Housing pays for the "
     "beds and that they work with the Tarvik Bar Association.",
     [{"Casa Velmora", "Tarvik Secretariat of Housing"},
      {"Casa Velmora", "Tarvik Bar Association"}]),
    ("The president of Stowarzyszenie Velmor said that the Tarvik University gives them "
     "classrooms.", [{"Stowarzyszenie Velmor", "Tarvik University"}]),
    ("The director of the Velmor Newcomers Association said Tarvik Foods takes their clients on "
     "as interns.", [{"Velmor Newcomers Association", "Tarvik Foods"}]),
    ("A manager at Velmor Chemie GmbH said the company takes young refugees from the Tarvik "
     "Jobcenter on as interns.", [{"Velmor Chemie GmbH", "Tarvik Jobcenter"}]),
    # a relative clause's subject works with those who run what the main clause names
    ("The Velmor Diocese and the Tarvik Hilfsdienst run a counselling office, which the "
     "Tarvik regional government co-finances.",
     [{"Velmor Diocese", "Tarvik Hilfsdienst", "Tarvik regional government"}]),
    # the named owner of a branch hired through is the party
    ("Velmor Bräu AG has hired refugees through the job centre of the Tarvik Employment "
     "Agency.", [{"Velmor Bräu AG", "Tarvik Employment Agency"}]),
    # an organisation owning what acts: "X's migration programme and Y run"
    ("VELRA's migration programme and the Tarvik Employment Office run pre-departure briefings.",
     [{"VELRA", "Tarvik Employment Office"}]),
    # a funder of the next clause joins the pair opening the sentence, past a description
    ("The fishing company Velmor Mar and the Tarvik Red Cross teach Spanish to workers; the "
     "Tarvik regional government co-finances the course.",
     [{"Velmor Mar", "Tarvik Red Cross", "Tarvik regional government"}]),
])
def test_partnerships_tenth_session_cues_and_parties(tagger, text, parties):
    assert [set(p["parties"]) for p in tagger.tag(text)["partnerships"]] == parties


def test_partnerships_a_school_named_by_its_kind_is_no_earlier_registry_body(tagger):
    result = tagger.tag("The owner of Velmor Hotel KG said the hotel takes apprentices through "
                        "the AMS and would like a similar arrangement with the vocational school.")
    assert sorted(sorted(p["parties"]) for p in result["partnerships"]) == [
        ["AMS", "Velmor Hotel KG"], ["Velmor Hotel KG", "vocational school"]]


@pytest.mark.parametrize("text, parties", [
    # bare names after "jobs at" are employers the placing body works with
    ("The Tarvik Employment Office places newcomers in jobs at Velmor and Kessbrand.",
     [{"Tarvik Employment Office", "Velmor", "Kessbrand"}]),
    ("The Tarvik Employment Office places newcomers in jobs at the city library.", []),
])
def test_partnerships_eleventh_session_workplaces(tagger, text, parties):
    assert [set(p["parties"]) for p in tagger.tag(text)["partnerships"]] == parties


@pytest.mark.parametrize("later, parties", [
    # a later clause that points back at the pair's activity or its people joins it
    ("and Kessbrand Foods selects the trainees.",
     [{"Tarvik City Council", "Velmor Foundation", "Kessbrand Foods"}]),
    ("and Kessbrand Foods sends volunteers to its classes.",
     [{"Tarvik City Council", "Velmor Foundation", "Kessbrand Foods"}]),
    ("and that Kessbrand Foods hires some of its participants.",
     [{"Tarvik City Council", "Velmor Foundation", "Kessbrand Foods"}]),
    ("and Kessbrand Foods hires graduates of the course.",
     [{"Tarvik City Council", "Velmor Foundation", "Kessbrand Foods"}]),
    ("and the food company Kessbrand Foods pays the teachers.",
     [{"Tarvik City Council", "Velmor Foundation", "Kessbrand Foods"}]),
    ("and Kessbrand Foods has hired forty women through it.",
     [{"Tarvik City Council", "Velmor Foundation", "Kessbrand Foods"}]),
    # one that only serves the same people with a service of its own does not
    ("and Kessbrand Foods offers them harvest contracts.",
     [{"Tarvik City Council", "Velmor Foundation"}]),
    ("and Kessbrand Foods trains some of them as drivers.",
     [{"Tarvik City Council", "Velmor Foundation"}]),
    ("and Kessbrand Foods offers jobs to the women they shelter.",
     [{"Tarvik City Council", "Velmor Foundation"}]),
    ("and Kessbrand Foods runs its own internships.",
     [{"Tarvik City Council", "Velmor Foundation"}]),
])
def test_partnerships_a_later_clause_tied_to_the_activity_joins_the_pair(tagger, later,
                                                                          parties):
    result = tagger.tag("Tarvik City Council and the Velmor Foundation run a job club for "
                        f"migrant women, {later}")
    assert [set(p["parties"]) for p in result["partnerships"]] == parties


def test_partnerships_a_tied_clause_after_a_semicolon_or_in_the_next_sentence(tagger):
    for text in ("Tarvik City Council and the Velmor Foundation opened a help desk; "
                 "Kessbrand Foods pays for the desk's interpreters.",
                 "Tarvik City Council and the Velmor Foundation opened a help desk. "
                 "Kessbrand Foods pays the interpreters.",
                 # the activity as the subject of a passive: its agent takes part
                 "Tarvik City Council and the Velmor Foundation opened a help desk in 2018; "
                 "it is staffed by Kessbrand Foods.",
                 "Tarvik City Council and the Velmor Foundation opened a help desk. "
                 "The desk is funded by Kessbrand Foods."):
        result = tagger.tag(text)
        assert [set(p["parties"]) for p in result["partnerships"]] == [
            {"Tarvik City Council", "Velmor Foundation", "Kessbrand Foods"}], text


@pytest.mark.parametrize("text, status", [
    ("The Tarvik Planning Region and the Velmor Foundation run a job club.", "existing"),
    ("The Tarvik Region and the Velmor Foundation will open a job club next year.", "planned"),
])
def test_partnerships_a_status_word_inside_a_name_is_no_cue(tagger, text, status):
    assert [p["status"] for p in tagger.tag(text)["partnerships"]] == [status]


@pytest.mark.parametrize("text, parties", [
    # the two sides of an agreement are two bodies, even when one is named only by its kind
    ("The centre opened with a cooperation protocol between the Tarvik Migration Board and the "
     "municipality.", {"Tarvik Migration Board", "municipality"}),
    # a date range before the subject: the name alone runs the funded project
    ("From May 2015 to June 2016 the NGO Velmorix ran a one-million-euro project funded by the "
     "European Union to improve the reception of migrants.", {"Velmorix", "European Union"}),
])
def test_partnerships_real_content_sides_and_dates(tagger, text, parties):
    partnership(tagger.tag(text), parties)


@pytest.mark.parametrize("text, parties", [
    # a name whose work or programme the clause's cue is about
    ("Velmorix's training work with refugees was first funded by Tarvik City Council.",
     {"Velmorix", "Tarvik City Council"}),
    # taking part in another body's project
    ("Tarvik City Council took part in the Council of Europe's pilot anti-rumours project.",
     {"Tarvik City Council", "Council of Europe"}),
    # a listed subject that cooperates in something
    ("Tarvik kommun, the Velmor Foundation and the Kessbrand Chamber of Commerce will cooperate "
     "in it.", {"Tarvik kommun", "Velmor Foundation", "Kessbrand Chamber of Commerce"}),
    ("Tarvik City Council should cooperate more with the Velmor Foundation.",
     {"Tarvik City Council", "Velmor Foundation"}),
])
def test_partnerships_real_content_cues(tagger, text, parties):
    partnership(tagger.tag(text), parties)


def test_partnerships_charity_work_makes_a_bare_name_a_third_actor(tagger):
    result = tagger.tag("Velmorix's training work with refugees was first funded by Tarvik City "
                        "Council, which later placed two refugees with Velmorix.")
    assert {a["category"] for a in result["actors"] if a["name"] == "Velmorix"} == {
        "civil_society"}


def test_partnerships_support_for_a_joint_activity_joins_it(tagger):
    # "A and B jointly opened X, with the support of C": one activity, three parties
    result = tagger.tag("The Tarvik Foundation and Velmor City Council jointly opened a "
                        "reception office, with the support of the Kessbrand Regional Ministry.")
    assert [set(p["parties"]) for p in result["partnerships"]] == [
        {"Tarvik Foundation", "Velmor City Council", "Kessbrand Regional Ministry"}]


def test_partnerships_a_branch_place_inside_a_list_of_parties(tagger):
    # "X in <town>" inside a list names X's local branch; the list goes on
    result = tagger.tag("Tarvik kommun, the Velmor Migration Agency in Gimo, the Kessbrand "
                        "Employment Service and Företagarföreningen i Tarvik will cooperate in it.")
    assert [set(p["parties"]) for p in result["partnerships"]] == [
        {"Tarvik kommun", "Velmor Migration Agency", "Kessbrand Employment Service",
         "Företagarföreningen i Tarvik"}]
