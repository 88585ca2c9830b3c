"""Actor recognition: registry first, then names with a category from cues, then generic
mentions; offsets always point at the name as written."""

from __future__ import annotations

import unicodedata

import pytest
import yaml

from pipeline.nlp.registry import CATEGORIES, SECTORS, load_registry

REGISTRY = """\
version: 1
actors:
  - id: mosque
    name: Moskee Al-Ikhlas
    category: civil_society
    sector: third
    aliases: [Al-Ikhlas mosque]
    city: Rotterdam
  - id: acolher
    name: Associação Acolher
    category: civil_society
    sector: third
    city: Lisbon
  - id: council_a
    name: City Council
    category: policy_maker
    sector: public
    city: Avila
  - id: council_b
    name: City Council
    category: practitioner
    sector: public
    city: Burgos
"""


def actor(result: dict, name: str) -> dict:
    found = [a for a in result["actors"] if a["name"] == name]
    assert found, f"no actor {name!r} in {[(a['name'], a['category']) for a in result['actors']]}"
    return found[0]


@pytest.fixture(scope="module")
def custom(tagger, tmp_path_factory):
    """An entity tagger with a small registry of accented and hyphenated names."""
    from pipeline.nlp.entities import EntityTagger
    from pipeline.nlp.normalise import normalise

    path = tmp_path_factory.mktemp("registry") / "actors.yaml"
    path.write_text(REGISTRY, encoding="utf-8")
    entities = EntityTagger(tagger.nlp, load_registry(path))

    def run(text, context=None):
        norm = normalise(text)
        return entities.extract(tagger.nlp(norm.text), norm, context=context)

    return run


@pytest.mark.parametrize("text, name, registry_id, category", [
    ("UNHCR pays the rent.", "UNHCR", "unhcr", "international_organization"),
    ("ACNUR abrió una oficina.", "ACNUR", "unhcr", "international_organization"),
    ("The International Labor Organisation trains inspectors.",
     "International Labor Organisation", "ilo", "international_organization"),
    ("Doctors Without Borders runs a clinic.", "Doctors Without Borders", "msf", "civil_society"),
    ("Medecins Sans Frontieres runs a clinic.", "Medecins Sans Frontieres", "msf",
     "civil_society"),
    ("The Camara Municipal de Lisboa funds the festival.", "Camara Municipal de Lisboa",
     "lisbon_city_council", "policy_maker"),
    ("The shelter is run by the Scalabrini fathers.", "Scalabrini fathers", "scalabrinians",
     "civil_society"),
    ("Staff of the IND explained the rules.", "IND", "nl_ind", "practitioner"),
    ("The WHO issued guidance.", "WHO", "who", "international_organization"),
])
def test_actors_registry_names_aliases_accents_and_spellings(tagger, text, name, registry_id,
                                                             category):
    found = actor(tagger.tag(text), name)
    assert (found["registry_id"], found["category"], found["guess"]) == (registry_id, category,
                                                                         False)


@pytest.mark.parametrize("text", ["She asked who pays.", "Ind. workers", "Who runs it?"])
def test_actors_acronyms_match_only_in_capitals(tagger, text):
    assert not [a for a in tagger.tag(text)["actors"] if a["registry_id"]]


@pytest.mark.parametrize("text, name", [
    ("Women meet at the Al Ikhlas Mosque.", "Al Ikhlas Mosque"),
    ("Women meet at Moskee Al-Ikhlas on Tuesdays.", "Moskee Al-Ikhlas"),
    ("Volunteers of Associacao Acolher help.", "Associacao Acolher"),
    ("Volunteers of ASSOCIAÇÃO ACOLHER help.", "ASSOCIAÇÃO ACOLHER"),
])
def test_actors_registry_ignores_hyphens_accents_and_case(custom, text, name):
    found = actor(custom(text), name)
    assert found["registry_id"] in ("mosque", "acolher")


def test_actors_registry_lowercase_words_are_not_proper_names(custom):
    assert custom("The city council met.")["actors"][0]["registry_id"] is None


@pytest.mark.parametrize("context, registry_id", [
    ({"city": "Avila"}, "council_a"),
    ({"city": "Burgos"}, "council_b"),
    ({}, None),
])
def test_actors_registry_name_shared_by_two_cities(custom, context, registry_id):
    found = actor(custom("The City Council pays.", context), "City Council")
    assert found["registry_id"] == registry_id
    assert found["category"] in ("policy_maker", "practitioner")


@pytest.mark.parametrize("text, name", [
    ("JRS Romania cooperates with the police.", "JRS Romania"),
    ("JRS Noord-Holland cooperates with the police.", "JRS Noord-Holland"),
])
def test_actors_registry_branch_keeps_the_category(tagger, text, name):
    found = actor(tagger.tag(text), name)
    assert (found["category"], found["guess"], found["registry_id"]) == ("civil_society", True,
                                                                         None)


@pytest.mark.parametrize("text, name, category, sector", [
    # heads of organisation names
    ("The Ministry of Social Affairs pays for it.", "Ministry of Social Affairs", "policy_maker",
     "public"),
    ("The Department of Home Affairs agreed.", "Department of Home Affairs", "policy_maker",
     "public"),
    ("The Office for Newcomers opened in May.", "Office for Newcomers", "policy_maker", "public"),
    # an administration that delivers migration or employment services is a practitioner
    # (as the registry's National Directorate of Migration); its ministry is a policy maker
    ("The Directorate of Migration said no.", "Directorate of Migration", "practitioner",
     "public"),
    ("The Sri Lanka Bureau of Foreign Employment trains them.",
     "Sri Lanka Bureau of Foreign Employment", "practitioner", "public"),
    ("The Ministry of Labour and Social Security said no.",
     "Ministry of Labour and Social Security", "policy_maker", "public"),
    ("The Norwegian Directorate of Integration and Diversity said no.",
     "Norwegian Directorate of Integration and Diversity", "policy_maker", "public"),
    ("The Municipality of Gent helps.", "Municipality of Gent", "policy_maker", "public"),
    ("Lusaka City Council promised stalls.", "Lusaka City Council", "policy_maker", "public"),
    ("The Quito Bar Council gives free advice.", "Quito Bar Council", "civil_society", "third"),
    ("The Irish Refugee Council disagreed.", "Irish Refugee Council", "civil_society", "third"),
    ("The Hope Foundation funds it.", "Hope Foundation", "civil_society", "third"),
    ("Stichting Nieuwe Start helps.", "Stichting Nieuwe Start", "civil_society", "third"),
    ("The Somali Women's Association meets.", "Somali Women's Association", "civil_society",
     "third"),
    ("The Accra Chamber of Commerce agreed.", "Accra Chamber of Commerce", "business",
     "private"),
    ("The National Migration Service checks papers.", "National Migration Service",
     "practitioner", "public"),
    ("The Catholic Centre for Immigrants helps.", "Catholic Centre for Immigrants",
     "civil_society", "third"),
    # company endings
    ("She works for Hafen Logistik GmbH.", "Hafen Logistik GmbH", "business", "private"),
    ("Infosys Ltd donated laptops.", "Infosys Ltd", "business", "private"),
    ("Acme Inc. hires refugees.", "Acme Inc.", "business", "private"),
    ("Cítricos del Sur S.A. hires pickers.", "Cítricos del Sur S.A.", "business", "private"),
    ("Van Dam B.V. offers internships.", "Van Dam B.V.", "business", "private"),
    # descriptions next to the name
    ("It works with the NGO CITE.", "CITE", "civil_society", "third"),
    ("She thanked Westpoint, a company from Perth.", "Westpoint", "business", "private"),
    ("Food comes from a supermarket chain, Hypermart, every week.", "Hypermart", "business",
     "private"),
    ("Dompet Dhuafa, an Islamic charity, gives food.", "Dompet Dhuafa", "civil_society",
     "third"),
    ("Money came from the UN agency UNHSP last year.", "UNHSP", "international_organization",
     "third"),
    ("The Swiss development agency DEZA pays.", "DEZA", "practitioner", "public"),
    ("He described Nova as an independent nonprofit.", "Nova", "civil_society", "third"),
    ("The DITIB mosque opened its doors.", "DITIB mosque", "civil_society", "third"),
    # a group it belongs to, a role, a partner's place
    ("Partner employers such as Kestrel and Pindar take trainees.", "Kestrel", "business",
     "private"),
    ("The owner of Zephyr said the firm hires refugees.", "Zephyr", "business", "private"),
    ("The director of Casa Luz explained the rules.", "Casa Luz", "civil_society", "third"),
    ("The council works in partnership with Ubuntu Trust.", "Ubuntu Trust", "civil_society",
     "third"),
    # a reference after the name
    ("The director of Rio Tinto's team said the company would consider it.", "Rio Tinto",
     "business", "private"),
    # a bare name found only by its place says nothing of a charity or a public body: a brand
    ("The Hope Foundation runs the course with sponsorship from Korvalt.", "Korvalt",
     "business", "private"),
    ("Brenmark, together with Lyon City Council, runs the course.", "Brenmark", "business",
     "private"),
    # a definite description after the name decides against its words
    ("Refer them to Velmiris, the regional employment office, for jobs.", "Velmiris",
     "practitioner", "public"),
    ("The lawyer from Encuentros, the Jesuit migrant service, said no.", "Encuentros",
     "civil_society", "third"),
    ("Tamu Aid, UNHCR's implementing partner, runs it.", "Tamu Aid", "civil_society", "third"),
    ("They signed with Orvenka, the shipping group, in May.", "Orvenka", "business", "private"),
    ("Advice comes from Kelvari, the social insurance institution.", "Kelvari",
     "practitioner", "public"),
    # a place-name complement ends a list item; faith words lean a service to civil society
    ("Partners include the Municipality of Milan, Fondazione Brera and Lombarda.",
     "Fondazione Brera", "civil_society", "third"),
    ("The director said Servicio Jesuita a Migrantes helps.", "Servicio Jesuita a Migrantes",
     "civil_society", "third"),
    # lower-case words that are no English words continue a name in another language
    ("She said Slovenska filantropija, an NGO, runs it.", "Slovenska filantropija",
     "civil_society", "third"),
    ("Courses are given by the Université populaire albanaise, a migrant association.",
     "Université populaire albanaise", "civil_society", "third"),
    # food banks are charities; publicly owned providers are public services
    ("Food comes from the Banco Alimentare, a food bank network.", "Banco Alimentare",
     "civil_society", "third"),
    ("Velmora Care, a state-owned settlement provider, teaches English.", "Velmora Care",
     "practitioner", "public"),
    ("It signed with Harkon Steel, the metalworkers' union, in May.", "Harkon Steel",
     "civil_society", "third"),
    # an undescribed acronym listed next to a company is one; next to a charity it keeps
    # the default
    ("Korvalt Ltd and ZEPRA sponsor the course together.", "ZEPRA", "business", "private"),
    ("The Hope Foundation and ZEPRA sponsor the course together.", "ZEPRA", "civil_society",
     "third"),
    # the subject of what organisations do, at the start of a clause
    ("She said that Velmora Greece had donated tablets.", "Velmora Greece", "business",
     "private"),
    # session 6 cue data: councils of NGOs, faith social services, regions in other
    # languages, police forces, public insurance funds and faculties
    ("The Velmoran Humanitarian Council gives legal aid.", "Velmoran Humanitarian Council",
     "civil_society", "third"),
    ("It works with the Velmoran Council on Refugees and Migrants.",
     "Velmoran Council on Refugees and Migrants", "civil_society", "third"),
    ("It works with Lutheran Social Services of Velmora.", "Lutheran Social Services of Velmora",
     "civil_society", "third"),
    ("It works with the Regione Velmora.", "Regione Velmora", "policy_maker", "public"),
    ("It works with the Velmora Constabulary Force.", "Velmora Constabulary Force",
     "practitioner", "public"),
    ("It works with the Velmoran Unemployment Insurance Fund.",
     "Velmoran Unemployment Insurance Fund", "practitioner", "public"),
    ("It works with the Faculty of Law.", "Faculty of Law", "practitioner", "public"),
    # session 7 cue data: public bodies and NGOs named in other languages or by other heads
    ("It works with the Stadt Velmbach.", "Stadt Velmbach", "policy_maker", "public"),
    ("It works with the Junta de Velmora.", "Junta de Velmora", "policy_maker", "public"),
    ("It works with the Wilaya of Velmora.", "Wilaya of Velmora", "policy_maker", "public"),
    ("It works with the Presidency of Migration Affairs.", "Presidency of Migration Affairs",
     "policy_maker", "public"),
    ("It works with the Velmora Housing Executive.", "Velmora Housing Executive",
     "practitioner", "public"),
    ("It works with the Velmora Education and Training Board.",
     "Velmora Education and Training Board", "practitioner", "public"),
    ("It works with the Volkshochschule Velmbach.", "Volkshochschule Velmbach", "practitioner",
     "public"),
    ("It works with the Velmbacher Flüchtlingsrat.", "Velmbacher Flüchtlingsrat",
     "civil_society", "third"),
    ("It works with Literacy Velmora.", "Literacy Velmora", "civil_society", "third"),
    ("It works with the Caja Rural de Velmora.", "Caja Rural de Velmora", "business", "private"),
    ("It works with the Comunidad de Madrid.", "Comunidad de Madrid", "policy_maker", "public"),
    ("It works with the Velmora prefecture on permits.", "Velmora prefecture", "policy_maker",
     "public"),
    ("It works with Velmora Refugee Social Services.", "Velmora Refugee Social Services",
     "civil_society", "third"),
    ("It works with the Velmoran Charity Service.", "Velmoran Charity Service", "civil_society",
     "third"),
    ("It works with the Velmora mayor's office on permits.", "Velmora mayor's office",
     "policy_maker", "public"),
    ("The city of Velmora and the NGO Tarsa run it.", "city of Velmora", "policy_maker",
     "public"),
    ("It works with the municipality of Velmbach.", "municipality of Velmbach", "policy_maker",
     "public"),
    ("It works with Medici Senza Frontiere.", "Medici Senza Frontiere", "civil_society",
     "third"),
    ("It works with the Velmora Health and Social Care Trust.",
     "Velmora Health and Social Care Trust", "practitioner", "public"),
    ("It works with the Velmora governorate on permits.", "Velmora governorate",
     "policy_maker", "public"),
    ("It works with the Ajuntament de Velmora.", "Ajuntament de Velmora", "policy_maker",
     "public"),
    ("It works with the Velmora Büyükşehir Belediyesi.", "Velmora Büyükşehir Belediyesi",
     "policy_maker", "public"),
])
def test_actors_name_patterns_and_category_cues(tagger, text, name, category, sector):
    found = actor(tagger.tag(text), name)
    assert (found["category"], found["sector"], found["guess"], found["generic"]) == (
        category, sector, True, False)


@pytest.mark.parametrize("text, name, category", [
    ("The municipality pays for the course.", "municipality", "policy_maker"),
    ("Local businesses donate food.", "businesses", "business"),
    ("Several NGOs run shelters.", "NGOs", "civil_society"),
    ("The government has no policy.", "government", "policy_maker"),
    ("UN agencies fund the clinic.", "UN agencies", "international_organization"),
    ("Local churches collect clothes.", "churches", "civil_society"),
    ("Employers are reluctant.", "Employers", "business"),
    ("Schools enrol migrant children.", "Schools", "practitioner"),
    ("He said that the city funds two mosques.", "city", "policy_maker"),
])
def test_actors_generic_mentions_are_categories_without_a_name(tagger, text, name, category):
    found = actor(tagger.tag(text), name)
    assert (found["category"], found["generic"]) == (category, True)


@pytest.mark.parametrize("text", [
    "Shelter residents hold an assembly every two weeks.",
    "In April 2013 the first families arrived from Syria.",
    "Kitchen Pathways is popular with Syrian volunteers.",
    "English classes take place in Cape Town.",
    "Refugees arriving in the city work with volunteers.",
])
def test_actors_ordinary_capitalised_words_are_not_organisations(tagger, text):
    assert [a["name"] for a in tagger.tag(text)["actors"] if not a["generic"]] == []


@pytest.mark.parametrize("text, name", [
    ("The municipalities of Santiago and Estación Central run their own offices.", "Santiago"),
    ("The municipalities of Santiago and Estación Central run their own offices.",
     "Estación Central"),
    ("Encuentros, the Jesuit migrant service, helps.", "Jesuit migrant service"),
    ("Korta vägen, a fast track run by the University of Gothenburg, helps.", "Korta vägen"),
])
def test_actors_places_and_descriptions_are_not_names(tagger, text, name):
    assert name not in [a["name"] for a in tagger.tag(text)["actors"]]


@pytest.mark.parametrize("text, name", [
    ("Caritas caseworkers help.", "Caritas"),
    ("UBS donates laptops to the Hope Foundation.", "Hope Foundation"),
])
def test_actors_english_lower_case_words_end_a_name(tagger, text, name):
    assert name in [a["name"] for a in tagger.tag(text)["actors"]]


def test_actors_a_later_kind_word_does_not_overrule_a_head(tagger):
    text = "Permits expire before the Federal Police decides, and the bank must block the account."
    assert actor(tagger.tag(text), "Federal Police")["category"] == "practitioner"


def test_actors_brackets_name_the_same_actor(tagger):
    result = tagger.tag("The Toronto Region Immigrant Employment Council (TRIEC) runs it.")
    full = actor(result, "Toronto Region Immigrant Employment Council")
    alias = actor(result, "TRIEC")
    assert alias["refers_to"] == full["canonical"]
    assert alias["category"] == full["category"]


@pytest.mark.parametrize("text, category", [
    ("Velmorka, the Velmoran Association for Migrants, works with the city.", "civil_society"),
    ("Velmorka, the Velmoran Chamber of Commerce, works with the city.", "business"),
])
def test_actors_named_apposition_is_the_same_actor(tagger, text, category):
    result = tagger.tag(text)
    bare = actor(result, "Velmorka")
    apposition = next(a for a in result["actors"] if a["name"].startswith("Velmoran "))
    assert (bare["category"], apposition["refers_to"]) == (category, bare["canonical"])


def test_actors_named_apposition_keeps_an_acronym_default(tagger):
    result = tagger.tag("VCRA, the Velmoran Commission for Refugee Aid, runs shelters.")
    assert actor(result, "VCRA")["category"] == "civil_society"


def test_actors_reference_points_back(tagger):
    result = tagger.tag("Belfast Multi-Cultural Association opened in 2001. The association "
                        "now runs a community centre.")
    reference = actor(result, "association")
    assert reference["refers_to"] == "Belfast Multi-Cultural Association"


@pytest.mark.parametrize("text, name, category", [
    # a later "the association" names the speaker's organisation (else: a brand, an NGO)
    ("The coordinator of Tarsa Velm said that the city of Velmora lends the association two "
     "flats.", "Tarsa Velm", "civil_society"),
    ("The manager of TVKL said that the city of Velmora hires the company for its repairs.",
     "TVKL", "business"),
    # a name before the speaker's role is an organisation
    ("The Tarsa Velm case worker said that the city pays for the classes.", "Tarsa Velm",
     "business"),
    ("A Tarsa Velm plant manager said the company hires refugees.", "Tarsa Velm", "business"),
    ("The VSKD-ALAM coordinator said their centre is funded by UNHCR.", "VSKD-ALAM",
     "civil_society"),
])
def test_actors_speakers_organisation(tagger, text, name, category):
    assert actor(tagger.tag(text), name)["category"] == category


def test_actors_speaker_is_our_organisation(custom):
    speaker = {"name": "Associação Acolher", "category": "civil_society", "sector": "third",
               "registry_id": "acolher"}
    result = custom("Our organisation works with the municipality.", {"speaker": speaker})
    ours = actor(result, "Our organisation")
    assert (ours["canonical"], ours["registry_id"], ours["source"]) == (
        "Associação Acolher", "acolher", "speaker")


@pytest.mark.parametrize("text", [
    "Ca\u0301mara Municipal de Lisboa 🙂 and the NGO CITE 👩\u200d👩\u200d👧 work with UNHCR.",
    "A Associac\u0327a\u0303o Acolher e\u0301 uma ONG.\u00a0The\u00adMinistry of Labour pays.",
    "🇵🇹 Lisbon City Council\r\nfunds the Welcome Desk, run by Caritas Lisboa.",
])
def test_actors_offsets_point_at_the_text_as_given(tagger, text):
    result = tagger.tag(text)
    assert result["actors"]
    for item in result["actors"] + result["initiatives"]:
        assert text[item["start"]:item["end"]] == item["name"]
    for partnership in result["partnerships"]:
        for party in partnership["party_mentions"]:
            assert text[party["start"]:party["end"]] == party["name"]


def test_actors_combining_marks_match_composed_aliases(tagger):
    text = unicodedata.normalize("NFD", "The Câmara Municipal de Lisboa pays.")
    found = [a for a in tagger.tag(text)["actors"] if a["registry_id"] == "lisbon_city_council"]
    assert found and text[found[0]["start"]:found[0]["end"]] == found[0]["name"]


def test_actors_category_and_sector_are_never_empty(tagger):
    from tests.nlp.test_entities_devset import DEVSET

    texts = [item["text"] for half in ("dev", "test") for item in
             yaml.safe_load((DEVSET / f"entities_{half}.yaml").read_text(encoding="utf-8"))]
    for result in tagger.tag_texts(texts):
        for found in result["actors"]:
            assert found["category"] in CATEGORIES and found["sector"] in SECTORS, found


def test_actors_can_be_left_out(tagger):
    from pipeline.nlp import Tagger

    plain = Tagger(tagger.codebook, entities=False)
    result = plain.tag("UNHCR works with the municipality.")
    assert (result["actors"], result["initiatives"], result["partnerships"]) == ([], [], [])


def test_actors_actor_verbs_are_checked_like_other_cue_phrases(tmp_path):
    from pipeline.errors import CityQDAError
    from pipeline.nlp.actors import default_cues_path, load_entity_cues

    data = yaml.safe_load(default_cues_path().read_text(encoding="utf-8"))
    data["actor_verbs"] = ["{hires|employs"]
    path = tmp_path / "cues.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CityQDAError) as error:
        load_entity_cues(path)
    assert [p.fields["yaml_path"] for p in error.value.problems] == ["actor_verbs[0]"]


@pytest.mark.parametrize("text, name, registry_id, category", [
    ("UNRWA runs the clinic.", "UNRWA", "unrwa", "international_organization"),
    ("UN Women works with the city.", "UN Women", "un_women", "international_organization"),
    ("IKEA hires refugees.", "IKEA", "ikea", "business"),
    ("The project receives money from IRCC.", "IRCC", "ca_ircc", "policy_maker"),
    ("She works for Arbetsförmedlingen in Malmö.", "Arbetsförmedlingen",
     "se_arbetsformedlingen", "practitioner"),
])
def test_actors_package_registry_knows_international_and_national_bodies(
        tagger, text, name, registry_id, category):
    found = actor(tagger.tag(text), name)
    assert (found["registry_id"], found["category"], found["guess"]) == (
        registry_id, category, False)


def test_actors_registry_name_before_an_organisation_head_is_a_body_of_its_own(tagger):
    """ "Mastercard Foundation" is a foundation, not a branch of the company."""
    found = actor(tagger.tag("A grant from the Mastercard Foundation pays the fees."),
                  "Mastercard Foundation")
    assert (found["registry_id"], found["category"]) == (None, "civil_society")


@pytest.mark.parametrize("text, name, category", [
    ("Novarex trains young refugees as welders.", "Novarex", "business"),
    ("KOVAL refers newcomers to the job centre.", "KOVAL", "civil_society"),
    ("Fraport, the airport operator, and the Caritasverband Frankfurt offer internships.",
     "Caritasverband Frankfurt", "civil_society"),
    ("Polish Humanitarian Action and the Jagiellonian University run a centre.",
     "Polish Humanitarian Action", "civil_society"),
    ("The Hospice général, the public body in charge of social assistance, houses families.",
     "Hospice général", "practitioner"),
    ("The city works with the non-profit De8.", "De8", "civil_society"),
])
def test_actors_subjects_of_what_organisations_do_and_foreign_names(tagger, text, name,
                                                                    category):
    assert actor(tagger.tag(text), name)["category"] == category


def test_actors_verb_before_a_name_is_no_description(tagger):
    """ "commissions" is a verb there, not the kind word "commission" (a policy maker)."""
    found = actor(tagger.tag("Leeds City Council commissions Refugee Action to run it."),
                  "Refugee Action")
    assert found["category"] == "civil_society"


@pytest.mark.parametrize("text, name, category, sector", [
    ("The Busan Global Center, run by the Busan City Government, works with UNHCR.",
     "Busan Global Center", "practitioner", "public"),
    ("The Tyne Migration Partnership, hosted by Newcastle City Council, meets monthly.",
     "Tyne Migration Partnership", "policy_maker", "public"),
    ("Casa Nazaret, which is run by the Catholic Church, gives meals.", "Casa Nazaret",
     "civil_society", "third"),
])
def test_actors_who_runs_or_hosts_a_body_gives_its_sector(tagger, text, name, category,
                                                          sector):
    found = actor(tagger.tag(text), name)
    assert (found["category"], found["sector"]) == (category, sector)
    assert "owned_by" in found["evidence"]


def test_actors_faith_named_service_is_a_charity(tagger):
    found = actor(tagger.tag("Lutheran Family Service teaches English to newcomers."),
                  "Lutheran Family Service")
    assert found["category"] == "civil_society"


@pytest.mark.parametrize("text, name, category", [
    ("The scheme has funding from the Co-operative Group.", "Co-operative Group", "business"),
    ("The city works together with the Lai-momo social cooperative.",
     "Lai-momo social cooperative", "civil_society"),
])
def test_actors_hyphenated_names_with_a_lower_case_part(tagger, text, name, category):
    assert actor(tagger.tag(text), name)["category"] == category


@pytest.mark.parametrize("text, name, category", [
    ("The Integration Foundation funds language cafés.", "Integration Foundation",
     "practitioner"),
    ("A grant from the National Lottery Community Fund pays the rent.",
     "National Lottery Community Fund", "practitioner"),
    ("The Manitoba Immigrant Employment Council runs mentoring.",
     "Manitoba Immigrant Employment Council", "civil_society"),
])
def test_actors_state_foundations_and_ngos_named_council(tagger, text, name, category):
    assert actor(tagger.tag(text), name)["category"] == category


def test_actors_eu_integration_fund_is_no_public_body(tagger):
    result = tagger.tag("The project is funded by the Asylum, Migration and Integration Fund.")
    assert not [a for a in result["actors"] if "Fund" in a["name"]
                and a["category"] == "practitioner"]


def test_actors_month_and_year_after_by_is_no_actor(tagger):
    result = tagger.tag("Sixty workers had been hired under the programme by August 2013.")
    assert not [a for a in result["actors"] if not a["generic"]]


@pytest.mark.parametrize("text, name, category", [
    # an elided article glued to a capitalised word stays in the name
    ("Maison d'Accueil Lomé partners with the city.", "Maison d'Accueil Lomé",
     "civil_society"),
    # a short word of another language between capitalised words
    ("Kituo cha Haki gives meals to refugees.", "Kituo cha Haki", "civil_society"),
    # an acronym and the place of its branch
    ("The shelter is part of the network of ACNA Murcia.", "ACNA Murcia", "business"),
    ("Relief of Hope International gives meals to refugees.", "Relief of Hope International",
     "civil_society"),
    ("The Liberian Army trains young returnees as drivers.", "Liberian Army", "practitioner"),
    ("The Lesotho Council of Churches gives meals to refugees.", "Lesotho Council of Churches",
     "civil_society"),
    ("Dulcera, the confectionery group, hires refugees.", "Dulcera", "business"),
    ("The city works with Puentes Nuevos IAP.", "Puentes Nuevos IAP", "civil_society"),
    ("The city works with KIVA, the regional training and employment service.", "KIVA",
     "practitioner"),
    ("Alta Cobre, a copper mine owned by KDM, trains refugees.", "KDM", "business"),
    ("The city pays a worker at the Vega Lumen housing cooperative.",
     "Vega Lumen housing cooperative",
     "civil_society"),
    ("The course is prepared with the Protestantse Gemeente Kralingen.",
     "Protestantse Gemeente Kralingen", "civil_society"),
    # a bare name that does what charities do is no brand
    ("Puerta Abierta receives funding from the city.", "Puerta Abierta", "civil_society"),
    ("Puerta Abierta sponsors the city's job fair.", "Puerta Abierta", "business"),
])
def test_actors_fifth_session_name_and_description_cues(tagger, text, name, category):
    assert actor(tagger.tag(text), name)["category"] == category


def test_actors_place_after_a_preposition_is_no_actor(tagger):
    result = tagger.tag("In Ostrava, the Moravian Regional Government finances the shelter of "
                        "Charita Ostrava.")
    assert "Ostrava" not in [a["name"] for a in result["actors"]]


def test_actors_description_with_and_stops_at_a_listed_kind(tagger):
    """ "X, the police and voluntary organisations" is a list, not one description."""
    result = tagger.tag("The forum brings together the Home Office, the police and voluntary "
                        "organisations.")
    assert actor(result, "Home Office")["category"] == "policy_maker"


@pytest.mark.parametrize("text, name, category", [
    ("Kordel and the Université de Vallon give courses.", "Université de Vallon", "practitioner"),
    ("The Narsi City Corporation built a shelter.", "Narsi City Corporation", "policy_maker"),
    ("Ohio Valley Refugee Ministries resettles families.", "Ohio Valley Refugee Ministries",
     "civil_society"),
    ("Charita Dolany teaches Czech.", "Charita Dolany", "civil_society"),
    ("Kaveri Seva Sangh runs classes for migrant children.", "Kaveri Seva Sangh",
     "civil_society"),
    ("The Ridgeford Multicultural Support Group settles refugees.",
     "Ridgeford Multicultural Support Group", "civil_society"),
    ("Harbour Family Services trains refugee carers.", "Harbour Family Services",
     "civil_society"),
    ("The Lakeland Refugee and Immigration Services run a course.",
     "Lakeland Refugee and Immigration Services", "civil_society"),
    ("The Danubian Council for Refugees gives legal advice.", "Danubian Council for Refugees",
     "civil_society"),
    # commissions that register and house refugees deliver; an advisory one makes policy
    ("The Vardar Commission for Refugees registers new arrivals.",
     "Vardar Commission for Refugees", "practitioner"),
    ("The Tessin Integration Commission advises the city council.",
     "Tessin Integration Commission", "policy_maker"),
    ("The Centre for Social Welfare of Pula houses families.",
     "Centre for Social Welfare of Pula", "practitioner"),
    ("The Braga Employment and Vocational Training Centre trains refugees.",
     "Braga Employment and Vocational Training Centre", "practitioner"),
    # a head that ends a name after its complement
    ("The Isle of Velmor Regional Council houses seasonal workers.",
     "Isle of Velmor Regional Council", "policy_maker"),
    # "The" before a name that opens the sentence and does what organisations do
    ("The Velmore Catholique gives legal advice.", "Velmore Catholique", "civil_society"),
    ("Emmaüs Velmor collects furniture for refugee families.", "Emmaüs Velmor",
     "civil_society"),
    # a verb after a listed name is no initiative head ("the Velmopetrol fund")
    ("The Tarija Governorate and Velmopetrol fund vocational courses.", "Velmopetrol",
     "business"),
    # a modifier hyphenated into a proper name votes for nothing
    ("Saint-Velmor donated the flooring.", "Saint-Velmor", "business"),
])
def test_actors_eighth_session_name_cues(tagger, text, name, category):
    assert actor(tagger.tag(text), name)["category"] == category


@pytest.mark.parametrize("text, name", [
    ("The Velmor City government trains displaced families.", "Velmor City government"),
    ("The Var prefecture signed an agreement with Velmora Aid.", "Var prefecture"),
    ("Velmora Aid runs the shelters of the canton of Tarija.", "canton of Tarija"),
])
def test_actors_public_bodies_named_by_a_place_and_a_lower_case_head(tagger, text, name):
    assert actor(tagger.tag(text), name)["category"] == "policy_maker"


def test_actors_region_after_a_preposition_of_place_is_no_body(tagger):
    assert not tagger.tag("Many refugees live in the canton of Tarija.")["actors"]


@pytest.mark.parametrize("text, name, category", [
    ("Stowarzyszenie Velmor teaches Polish.", "Stowarzyszenie Velmor", "civil_society"),
    ("Velmor Welzijn trains volunteers.", "Velmor Welzijn", "civil_society"),
    ("The Tarvik Akimat opened a shelter.", "Tarvik Akimat", "policy_maker"),
    ("The Velmor Undersecretariat of Labour trains welders.", "Velmor Undersecretariat of Labour",
     "policy_maker"),
    ("The Tarvik Multicultural Council settles refugees.", "Tarvik Multicultural Council",
     "civil_society"),
    ("The Velmor Council of Social Services trains community workers.",
     "Velmor Council of Social Services", "civil_society"),
    ("The Tarvik District Employment and Manpower Office registers workers.",
     "Tarvik District Employment and Manpower Office", "practitioner"),
    ("The Velmor General Directorate for Social Assistance runs shelters.",
     "Velmor General Directorate for Social Assistance", "practitioner"),
    ("The Tarvik Partnership NHS Foundation Trust sends a nurse.",
     "Tarvik Partnership NHS Foundation Trust", "practitioner"),
    ("The International Institute of Velmor resettles refugees.",
     "International Institute of Velmor", "civil_society"),
    ("The Union of Municipalities of Tarvik opened a shelter.", "Union of Municipalities of Tarvik",
     "policy_maker"),
    ("The Tarvik TE Office registers jobseekers.", "Tarvik TE Office", "practitioner"),
    ("The Velmor Catholic Migration Commission shelters families.",
     "Velmor Catholic Migration Commission", "civil_society"),
    ("Velmor Acoge and the farm cooperative Tarvikoris provide housing.", "Tarvikoris",
     "business"),
    # a lone acronym after "and" in a complement is a body of its own
    ("The Undersecretariat of Labour and VPF, the oil company, train welders together.", "VPF",
     "business"),
])
def test_actors_tenth_session_name_cues(tagger, text, name, category):
    assert actor(tagger.tag(text), name)["category"] == category


@pytest.mark.parametrize("text, name, category", [
    # a company ending inside a public body's phrase names no company
    ("The Tarvik Skill Development Corporation trains welders.",
     "Tarvik Skill Development Corporation", "practitioner"),
    ("The Velmor Overseas Employment Corporation certifies workers.",
     "Velmor Overseas Employment Corporation", "practitioner"),
    ("The Tarvik Municipal Corporation runs night shelters.", "Tarvik Municipal Corporation",
     "policy_maker"),
    ("Tarvik Trading Corporation hires welders.", "Tarvik Trading Corporation", "business"),
    ("Velmor Charitable Group and the city council house refugees.", "Velmor Charitable Group",
     "civil_society"),
    ("The city council works with Tarvik d'Asile Velmor on housing.", "Tarvik d'Asile Velmor",
     "civil_society"),
    ("The CPAS of Tarvik relies on the Red Cross for clothing.", "CPAS of Tarvik",
     "practitioner"),
    ("Velmorfa, a family compensation fund, places migrants in jobs.", "Velmorfa",
     "civil_society"),
    ("The Tarvik Hoteliers Association pays the interpreters.", "Tarvik Hoteliers Association",
     "business"),
    ("The city council and Velmor Third Sector Interface resettle families.",
     "Velmor Third Sector Interface", "civil_society"),
])
def test_actors_eleventh_session_name_cues(tagger, text, name, category):
    assert actor(tagger.tag(text), name)["category"] == category


@pytest.mark.parametrize("text, name, category", [
    # words for refugees, migrants and help in other languages lean a bare name to civil society
    ("The city council works with Vluchtelingenwerk Tarvik on housing.",
     "Vluchtelingenwerk Tarvik", "civil_society"),
    ("The city council works with Velmor Migranten on housing.", "Velmor Migranten",
     "civil_society"),
    ("The city council works with Tarvik Rifugiati on housing.", "Tarvik Rifugiati",
     "civil_society"),
    ("The city council works with Velmor Mülteci on housing.", "Velmor Mülteci",
     "civil_society"),
    ("The city council works with Velmor on housing.", "Velmor", "business"),  # a bare brand
    # national bodies that profiles name bare (package registry)
    ("The Tarvik Migrant Centre and TasTAFE run a driving course.", "TasTAFE", "practitioner"),
    ("The Tarvik Migrant Centre refers clients to WorkBC.", "WorkBC", "practitioner"),
    ("Citizens Advice and the city council run a debt clinic.", "Citizens Advice",
     "civil_society"),
    ("The Home Office contracts Serco to house asylum seekers.", "Serco", "business"),
    ("Concern Worldwide and the city council run a clinic.", "Concern Worldwide",
     "civil_society"),
    ("The Tarvik Employment Agency runs a placement service with Enabel.", "Enabel",
     "practitioner"),
    ("The Tarvik Foundation runs Polish courses with a grant from the Norway Grants.",
     "Norway Grants", "international_organization"),
    ("The CPAS of Tarvik runs tutoring funded by the Wallonia-Brussels Federation.",
     "Wallonia-Brussels Federation", "policy_maker"),
    # settlement services, promotional banks, Italian health bodies, processors and wineries
    ("The city council works with Tarvik Integration Services on housing.",
     "Tarvik Integration Services", "civil_society"),
    ("The Investitionsbank Tarvik and the Velmor Chamber of Commerce fund a desk.",
     "Investitionsbank Tarvik", "practitioner"),
    ("The Società della Salute della Zona Tarvik contracts a cooperative to run flats.",
     "Società della Salute della Zona Tarvik", "practitioner"),
    ("Meat processor Velmor and the city council run a course.", "Velmor", "business"),
    ("A caseworker at the Tarvik job centre said that they place refugees in jobs.",
     "Tarvik job centre", "practitioner"),
    ("The winery group Velmor Bodegas offers them contracts.", "Velmor Bodegas", "business"),
])
def test_actors_twelfth_session_name_cues(tagger, text, name, category):
    assert actor(tagger.tag(text), name)["category"] == category


@pytest.mark.parametrize("text, name", [
    # a bare name opening a later clause with what organisations do for an activity
    ("The city council contracts the Tarvik Foundation to run a shelter, and Velmorex covers "
     "its electricity bills.", "Velmorex"),
    ("The city council and the Tarvik Foundation run a course, and Velmorex certifies the "
     "trainees.", "Velmorex"),
])
def test_actors_twelfth_session_clause_subjects(tagger, text, name):
    assert actor(tagger.tag(text), name)["category"] == "business"


def test_actors_a_name_written_twice_keeps_the_kind_its_description_gave(tagger):
    result = tagger.tag("The interviewee from Velmorfa, the family compensation fund of Tarvik, "
                        "said that Velmorfa offers courses in cooperation with the city council.")
    assert {a["category"] for a in result["actors"] if a["name"] == "Velmorfa"} == {
        "civil_society"}


@pytest.mark.parametrize("text, name, category", [
    # a public body named in a reported clause is another body than the speaker's ...
    ("The coordinator of Stichting Velmor said that the municipality pays their rent.",
     "Stichting Velmor", "civil_society"),
    # ... unless it repeats the name's own head word
    ("The chair of the Tarvik Refugee Council said that the council has no paid staff.",
     "Tarvik Refugee Council", "civil_society"),
])
def test_actors_a_public_reference_after_a_report_is_another_body(tagger, text, name, category):
    assert actor(tagger.tag(text), name)["category"] == category


@pytest.mark.parametrize("text, name, category", [
    # a charitable limited company (gGmbH) is a non-profit, a GmbH a company
    ("The head of Tarvik Hilfe gGmbH and the city council run a course.", "Tarvik Hilfe gGmbH",
     "civil_society"),
    ("The head of Tarvik Logistik GmbH and the city council run a course.",
     "Tarvik Logistik GmbH", "business"),
    # councils and forums of religions, advice bureaux
    ("Advisers from the Tarvik Council of Religions take part in its sessions.",
     "Tarvik Council of Religions", "civil_society"),
    ("The city council funds the Tarvik Interfaith Forum.", "Tarvik Interfaith Forum",
     "civil_society"),
    ("The city council works with the Velmor Aid and Advice Bureau on housing.",
     "Velmor Aid and Advice Bureau", "civil_society"),
    # municipality words of other languages
    ("Tarvikin kaupunki and the Velmor Foundation run the reception flats.",
     "Tarvikin kaupunki", "policy_maker"),
    ("The Ville de Tarvik funds the Velmor Foundation.", "Ville de Tarvik", "policy_maker"),
    ("Stad Tarvik and the Velmor Foundation run a language café.", "Stad Tarvik",
     "policy_maker"),
])
def test_actors_real_content_name_cues(tagger, text, name, category):
    assert actor(tagger.tag(text), name)["category"] == category


@pytest.mark.parametrize("text, name", [
    ("The communes of Tarvik and Velmor jointly opened a reception office for newcomers.",
     "Velmor"),
    ("The communes of Tarvik and Velmor jointly opened a reception office for newcomers.",
     "Tarvik"),
])
def test_actors_a_name_listed_after_the_towns_of_is_its_government(tagger, text, name):
    assert actor(tagger.tag(text), name)["category"] == "policy_maker"


@pytest.mark.parametrize("text, name, category", [
    # a placement or a placing verb before "with X": X is the host, even a bare name
    ("The city council placed two refugees with Velmorix for an internship.", "Velmorix",
     "business"),
    ("Two refugees started a twelve-month placement with Velmorix.", "Velmorix", "business"),
    # a name and its acronym spelled out in brackets name an organisation
    ("The café works with TARV (Tarvik Aid for Refugees and Volunteers) in the town.", "TARV",
     "civil_society"),
])
def test_actors_hosts_and_spelled_out_acronyms(tagger, text, name, category):
    assert actor(tagger.tag(text), name)["category"] == category


@pytest.mark.parametrize("text", [
    "Refugees attend the Tarvik Basic Course (TBC) in the town.",
])
def test_actors_spelled_out_acronym_needs_a_name_not_a_programme(tagger, text):
    assert [a["name"] for a in tagger.tag(text)["actors"]] == []


@pytest.mark.parametrize("text, name, category", [
    # a group whose complement lists towns or local governments is theirs: a policy maker
    ("The Velmor Association of Cities and Municipalities advises its members on reception.",
     "Velmor Association of Cities and Municipalities", "policy_maker"),
    ("The Tarvik Association of Local and Regional Governments mentors the town.",
     "Tarvik Association of Local and Regional Governments", "policy_maker"),
    ("The Union of Velmor Municipalities drew up a plan with UN-Habitat.",
     "Union of Velmor Municipalities", "policy_maker"),
    ("The Mancomunidad de Velmora signed an agreement with the regional ministry.",
     "Mancomunidad de Velmora", "policy_maker"),
    # ... but not cities of sanctuary, nor an association of something else
    ("The Network of Cities of Sanctuary trains volunteers in Velmor.",
     "Network of Cities of Sanctuary", "civil_society"),
    ("The Tarvik Association of Refugee Women runs a sewing class.",
     "Tarvik Association of Refugee Women", "civil_society"),
    # religious orders are faith-based bodies
    ("The Tarvik Foundation works with the Camillians on a shelter.", "Camillians",
     "civil_society"),
])
def test_actors_associations_of_municipalities_and_religious_orders(tagger, text, name,
                                                                   category):
    assert actor(tagger.tag(text), name)["category"] == category


@pytest.mark.parametrize("text, name", [
    # a date before a name is not part of it
    ("Since March 2022 Velmorix, together with the Tarvik Foundation, has run a shelter.",
     "Velmorix"),
])
def test_actors_a_date_before_a_name_is_left_out(tagger, text, name):
    assert name in [a["name"] for a in tagger.tag(text)["actors"]]


@pytest.mark.parametrize("text, programme", [
    # "X was an initiative of", "X (XY), a project that": X is a programme, not an actor
    ("Velmor Works was an initiative of the Tarvik city council in partnership with Caritas.",
     "Velmor Works"),
    ("Velmor Genom Arbete (VGA), a project that helped refugees into work, has closed.",
     "Velmor Genom Arbete"),
])
def test_actors_a_name_said_to_be_a_programme_is_no_actor(tagger, text, programme):
    result = tagger.tag(text)
    assert programme not in [a["name"] for a in result["actors"]]


@pytest.mark.parametrize("text, name, category", [
    # local-language public bodies of real text
    ("Velmor fylkeskommune and the Tarvik Foundation run a course together.",
     "Velmor fylkeskommune", "policy_maker"),
    ("Høgskolen i Velmor works with the Tarvik Foundation on the project.", "Høgskolen i Velmor",
     "practitioner"),
    ("Powiatowy Urząd Pracy w Velmorze works with the Tarvik Foundation.",
     "Powiatowy Urząd Pracy w Velmorze", "practitioner"),
    ("The Velmor Strategic Migration Partnership runs a mentoring programme with Tarvik Aid.",
     "Velmor Strategic Migration Partnership", "policy_maker"),
    # local-language business associations
    ("The town runs its sessions in partnership with the Associação Comercial de Velmora.",
     "Associação Comercial de Velmora", "business"),
    ("Tarvik kommun and Företagarföreningen i Velmor will cooperate in it.",
     "Företagarföreningen i Velmor", "business"),
])
def test_actors_local_language_public_bodies(tagger, text, name, category):
    assert actor(tagger.tag(text), name)["category"] == category


@pytest.mark.parametrize("text, name", [
    ("From May 2015 to June 2016 the NGO Velmorix ran a project funded by the Tarvik Foundation.",
     "Velmorix"),
])
def test_actors_a_date_range_before_a_name_is_left_out(tagger, text, name):
    assert name in [a["name"] for a in tagger.tag(text)["actors"]]


@pytest.mark.parametrize("text, person", [
    # a person's name set off by commas next to a title is no organisation
    ("The protocol was signed when the mayor, Ana Velmor Costa, and the Tarvik Foundation met.",
     "Ana Velmor Costa"),
    ("The workshop, led by Rute Tarvik, head of the legal office of the Velmor Foundation, "
     "closed.", "Rute Tarvik"),
])
def test_actors_a_person_in_apposition_is_no_actor(tagger, text, person):
    assert person not in [a["name"] for a in tagger.tag(text)["actors"]]


def test_actors_a_bare_town_of_a_named_government_is_that_government(tagger):
    result = tagger.tag("Tarvikal will have a centre run together with the Velmor Foundation; "
                        "the Município de Tarvikal lends the rooms.")
    assert actor(result, "Tarvikal")["category"] == "policy_maker"


@pytest.mark.parametrize("text, names, category", [
    # "include(s)" lists members of a kind named up to four words before it
    ("Other major employers in the area include Velmorix, Kessbrand and Tarvo.",
     ["Velmorix", "Kessbrand", "Tarvo"], "business"),
])
def test_actors_include_lists_members_of_a_kind(tagger, text, names, category):
    result = tagger.tag(text)
    assert [actor(result, name)["category"] for name in names] == [category] * len(names)
