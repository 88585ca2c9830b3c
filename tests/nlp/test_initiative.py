"""Only passages describing an actor doing or providing something give dimensions."""

import pytest

# (text, dimensions, challenges)
CASES = [
    # initiatives: an actor provides something
    ("The city council runs free Portuguese classes for refugees.", ["cultural_religious"], []),
    ("Free legal aid for asylum seekers.", ["legal"], []),
    ("The NGO helps refugee families find housing.", ["social"], []),
    ("The company hires refugees and pays for their German course.",
     ["cultural_religious", "economic"], []),
    ("The council consults migrant associations on the integration plan.", ["political"], []),
    # topics and problems: no dimension, at most a challenge
    ("Housing is the biggest problem for refugees in the city.", [], ["challenge.housing"]),
    ("Many refugees struggle to find employment.", [], []),
    ("Migrants face discrimination in the rental market.", [],
     ["challenge.discrimination", "challenge.housing"]),
    ("The interview focused on housing and employment.", [], []),
    ("Limited funding is a problem for most NGOs.", [], ["challenge.funding"]),
    ("Nobody has evaluated the programme.", [], ["challenge.monitoring_evaluation"]),
    ("Organisations rarely share information with each other.", [],
     ["challenge.knowledge_sharing"]),
    ("The term 'expat' is used for wealthy Europeans only.", [], ["challenge.terminology"]),
    ("Many newcomers do not speak Portuguese.", [], ["challenge.language"]),
    # a problem verb that is the aim of an activity does not make it a problem statement
    ("The bank runs workshops on budgeting and avoiding debt.", ["economic"], []),
    ("Financial literacy classes on savings and avoiding debt traps.", ["economic"], []),
    ("Migrants avoid clinics for fear of being reported.", [], []),
    ("Refugees often avoid the job centre.", [], []),
    # being turned down or turned away is a problem, not an offer
    ("Young refugees are turned down for internships because of their names.", [],
     ["challenge.discrimination"]),
    ("The company offers internships to refugees.", ["economic"], []),
    # financial literacy is not a literacy course; reading classes still are
    ("Literacy classes for adult refugees.", ["cultural_religious"], []),
    # service vocabulary: what is provided, even without a verb
    ("A weekly antenatal class for migrant mothers.", ["social"], []),
    ("Donations of clothing from local residents.", ["social"], []),
    ("Community health agents visit refugee families.", ["social"], []),
    ("A shared dinner for Christian and Muslim neighbours every month.",
     ["cultural_religious"], []),
    ("The city holds a municipal conference on migrant policies every two years.",
     ["political"], []),
    # an acronym the tokenizer would split in lower case ("id" -> "i", "'d")
    ("The city issues ID cards to all residents regardless of status.", ["legal"], []),
    # people denied a service: negated, whatever follows
    ("Rejected asylum seekers are not entitled to social housing.", [], ["challenge.housing"]),
    ("Undocumented children are not allowed to enrol in public schools.", [], []),
    # a say in drafting policy is participation; paying wages is labour market support
    ("Migrant associations took part in drafting the city's integration strategy.",
     ["political"], []),
    ("The scheme pays part of the wage of each refugee hired by a small firm.", ["economic"],
     []),
    ("Undocumented migrants can see a doctor at the health centre.", ["social"], []),
    ("The chamber of commerce runs a mentoring scheme for migrant entrepreneurs.",
     ["economic"], []),
    ("The synagogue offers guided synagogue tours to school classes.",
     ["cultural_religious"], []),
    # recommendations and gaps
    ("The city should offer more language courses.", [], ["challenge.language"]),
    ("There is no affordable housing for newcomers.", [], ["challenge.housing"]),
    # a provision verb used as a noun is no provision: after a determiner, or ending a match
    ("Housing was the issue most often raised by the refugees interviewed.", [],
     ["challenge.housing"]),
    ("Many refugees live in overcrowded shelters.", [], ["challenge.housing"]),
    # a provision verb graded by a degree word is an adjective: nobody pays anyone
    ("Many refugees end up in low-paid jobs in the hotel sector.", [], []),
    ("Most migrants hold poorly paid jobs in cleaning.", [], []),
    # a topic after "by" names the actor of a passive, not what is provided
    ("The foundation was set up in 1998 by Turkish business owners.", [], []),
    # passives and nominalisations still describe what is provided
    ("Refugee families are placed in council flats for their first two years.", ["social"],
     []),
    ("Refugee women are trained as home carers.", ["economic"], []),
    ("Migrant organisations were invited to comment on the draft housing plan.",
     ["political"], []),
    ("The coalition lobbies the state legislature to end the detention of families.",
     ["political"], []),
    # the topic of a consultation is background, not an initiative
    ("The Migrant Council was consulted on the new anti-poverty plan.", ["political"], []),
    # a service offered only in the host language is a barrier, not an offer
    ("Its telephone line and forms are in Portuguese only.", [], []),
]


@pytest.mark.parametrize("text, dimensions, challenges", CASES,
                         ids=[case[0][:45] for case in CASES])
def test_initiative_decision(tagger, text, dimensions, challenges):
    result = tagger.tag(text)
    assert result["dimensions"] == dimensions
    assert result["challenges"] == challenges


def test_initiative_topic_needs_a_provision_verb_nearby(tagger):
    near = tagger.tag("The NGO provides housing to refugee families.")
    far = tagger.tag("Housing was discussed for a long time at the meeting where, years later, "
                     "the mayor thanked volunteers and the NGO that provides meals.")
    assert "social" in near["dimensions"]
    assert all(c["text"] != "Housing" or not c["counts"] for c in far["codes"])


def test_initiative_problem_clause_keeps_service_words_from_counting(tagger):
    result = tagger.tag("Waiting lists for language courses are a problem.")
    assert result["dimensions"] == []


def test_initiative_multi_clause_passage(tagger):
    result = tagger.tag("Housing remains a huge problem for refugees, but the municipality "
                        "funds a job fair every spring.")
    assert result["dimensions"] == ["economic"]
    assert result["challenges"] == ["challenge.housing"]


@pytest.mark.parametrize("text, reference, dimensions", [
    ("The city offers no Arabic courses of its own; classes are run by the mosque.",
     "classes", ["cultural_religious"]),
    ("The council stopped funding its mentoring programme for job seekers. The programme is "
     "now run by volunteers.", "programme", ["economic"]),
    # the later clause does not say anyone provides them: nothing refers back
    ("The city offers no Arabic courses; classes are too expensive.", None, []),
    # the earlier coding counts already: no second coding
    ("The NGO runs Arabic courses; classes are given by volunteers.", None,
     ["cultural_religious"]),
])
def test_initiative_refer_back_counts_a_word_naming_an_earlier_coding(
        tagger, text, reference, dimensions):
    result = tagger.tag(text)
    assert result["dimensions"] == dimensions
    referring = [c for c in result["codes"] if c["reassigned_by"] in ("R26", "R27")]
    if reference is None:
        assert referring == []
    else:
        assert [(c["text"], c["counts"]) for c in referring] == [(reference, True)]
        assert referring[0]["reason"]


def test_initiative_service_named_as_passive_agent_is_the_provider(tagger):
    result = tagger.tag("Help with family reunification is offered by the refugee council's "
                        "caseworkers.")
    assert result["dimensions"] == ["legal"]


@pytest.mark.parametrize("text, dimensions", [
    # the head noun of a provision verb's object names what is provided
    ("The unit arranges rental flats for quota refugees.", ["social"]),
    ("The county pays for their uniforms and books.", ["social"]),
    ("The centre pays the monthly allowance to host families.", ["social"]),
    # not the object: after a preposition, before another noun, or no provision verb
    ("The association runs a festival with food from many countries.", ["cultural_religious"]),
    ("The group organises uniform design workshops.", []),
    ("Refugees are looking for flats in the old town.", []),
    # a negated verb provides nothing
    ("The council does not arrange flats for refugees.", []),
    # a modifier that says the thing is provided does what a verb does
    ("Pupils who arrive mid-year get free lunches in the canteen.", ["social"]),
    ("Pupils who arrive mid-year eat lunches in the canteen.", []),
])
def test_initiative_object_head_noun_counts_after_a_provision_verb(tagger, text, dimensions):
    assert tagger.tag(text)["dimensions"] == dimensions


def test_initiative_object_inside_a_longer_coding_gives_way(tagger):
    result = tagger.tag("The association runs a language school for adults.")
    assert result["dimensions"] == ["cultural_religious"]


@pytest.mark.parametrize("text, dimensions", [
    ("The clinic does not see patients without insurance.", []),
    ("The clinic never sees patients without insurance.", []),
    ("The clinic sees patients without insurance.", ["social"]),
])
def test_initiative_service_whose_own_verb_is_negated_provides_nothing(tagger, text, dimensions):
    assert tagger.tag(text)["dimensions"] == dimensions


@pytest.mark.parametrize("text, challenge, matched", [
    ("Overcrowded and expensive rooms are the most pressing problem, and landlords often refuse"
     " tenants from Africa. The city has nothing that helps newcomers find decent housing.",
     "challenge.housing", "Overcrowded"),
    ("Landlords raise the rent without warning and throw out families who cannot pay.",
     "challenge.housing", "raise the rent"),
])
def test_initiative_one_coding_per_challenge_and_passage(tagger, text, challenge, matched):
    # a coder gives a passage each challenge once; the first mention is the coding
    codings = [c for c in tagger.tag(text)["codes"] if c["code"] == challenge]
    assert [c["text"] for c in codings] == [matched]


@pytest.mark.parametrize("text, dimensions", [
    # what a body advises an institution on is its remit, not a service
    ("The commission advises the council and the mayor on health, education and business"
     " development.", []),
    ("The migrant council advises the mayor on housing and employment.", ["political"]),
    # advice to people is a service
    ("The centre advises refugees on housing and employment.", ["social", "economic"]),
])
def test_initiative_remit_of_advice_to_an_institution_is_no_service(tagger, text, dimensions):
    assert tagger.tag(text)["dimensions"] == dimensions


@pytest.mark.parametrize("text, dimensions", [
    # the fields a body's members come from say who sits on it, not what it provides
    ("The integration council has two representatives of fields such as schools and day care,"
     " health and care and the language school.", ["political"]),
    ("The centre offers services such as day care and language courses.",
     ["social", "cultural_religious"]),
    # participants from organisations (session 13)
    ("The network meets twice a year; participants from the job centre, counselling services"
     " and language course providers exchange news.", []),
    ("Refugees from Syria attend language courses at the centre.", ["cultural_religious"]),
])
def test_initiative_fields_of_a_bodys_members_are_no_service(tagger, text, dimensions):
    assert tagger.tag(text)["dimensions"] == dimensions
