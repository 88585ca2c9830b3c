"""Wordings of categories, modes, outcomes and metadata labels map to canonical ids."""

import pytest
import yaml

from pipeline.errors import CityQDAError
from pipeline.study import DEFAULT_VOCABULARIES
from pipeline.vocabulary import (
    METADATA_FIELDS,
    VARIANT_VOCABULARIES,
    canonical,
    check_variants,
    default_variants,
    field_for_label,
    guide_for_category,
    load_variants,
    normalise_label,
    variants_path,
)


@pytest.mark.parametrize("text, expected", [
    ("Policy-maker (Municipality)", "policy maker municipality"),
    ("  POLICY   MAKER – MUNICIPALITY: ", "policy maker municipality"),
    ("Policies & programmes", "policies and programmes"),
    ("São Paulo", "sao paulo"),
    ("face_to_face", "face to face"),
    ("NGO / civil society", "ngo civil society"),
    ("Mayor’s office", "mayors office"),
    ("", ""),
])
def test_vocabulary_normalise_label_folds_case_accents_and_punctuation(text, expected):
    assert normalise_label(text) == expected


@pytest.mark.parametrize("value, expected", [
    ("policy makers", "policy_maker"),
    ("Local policy maker", "policy_maker"),
    ("Policy maker (municipality)", "policy_maker"),
    ("POLICY-MAKER", "policy_maker"),
    ("policy_maker", "policy_maker"),
    ("City official", "policy_maker"),
    ("practitioner", "practitioner"),
    ("Service provider", "practitioner"),
    ("Private sector / business", "business"),
    ("company", "business"),
    ("Relocation company", "business"),
    ("NGO / civil society", "civil_society"),
    ("NGO", "civil_society"),
    ("Third actor – faith-based organisation", "civil_society"),
    ("Third actor - faith based organization", "civil_society"),
    ("community organisation", "civil_society"),
    ("Migrant association", "civil_society"),
    ("NGO (food bank)", "civil_society"),
    ("International Organisation", "international_organization"),
    ("international organization", "international_organization"),
    ("UN agency", "international_organization"),
    ("UNHCR", "international_organization"),
    ("Third actor (international organisation)", "international_organization"),
])
def test_vocabulary_canonical_category_variants(value, expected):
    assert canonical("categories", value) == expected


@pytest.mark.parametrize("vocabulary, value, expected", [
    ("modes", "Skype", "video"),
    ("modes", "Zoom", "video"),
    ("modes", "video call", "video"),
    ("modes", "phone", "telephone"),
    ("modes", "Telephone", "telephone"),
    ("modes", "in person", "face_to_face"),
    ("modes", "Face-to-face", "face_to_face"),
    ("modes", "e-mail", "email"),
    ("modes", "E-Mail", "email"),
    ("outcomes", "No reply", "no_reply"),
    ("outcomes", "non-reply", "no_reply"),
    ("outcomes", "Declined", "declined"),
    ("outcomes", "rejection", "declined"),
    ("outcomes", "Replied, not interviewed", "replied_not_interviewed"),
    ("outcomes", "interviewed", "interviewed"),
    ("outcomes", "yes", "interviewed"),
    ("guides", "Interview guide for policy makers", "policy_makers"),
    ("guides", "Third actors", "third_actors"),
    ("guides", "Annex 3", "businesses"),
])
def test_vocabulary_canonical_modes_outcomes_guides(vocabulary, value, expected):
    assert canonical(vocabulary, value) == expected


@pytest.mark.parametrize("vocabulary, value", [
    ("categories", "Journalist"),
    ("categories", ""),
    ("modes", "carrier pigeon"),
    ("outcomes", "maybe later"),
    ("guides", "Annex 9"),
])
def test_vocabulary_canonical_unknown_is_none(vocabulary, value):
    assert canonical(vocabulary, value) is None


def test_vocabulary_canonical_none_value_is_none():
    assert canonical("categories", None) is None


def test_vocabulary_canonical_rejects_unknown_vocabulary():
    with pytest.raises(ValueError, match="dimensions"):
        canonical("dimensions", "social")


def test_vocabulary_canonical_follows_the_study_vocabularies():
    study = dict(DEFAULT_VOCABULARIES)
    study["categories"] = ["policy_maker", "journalist"]
    study["variants"] = {"categories": {"journalist": ["reporter", "Press"]}}
    assert canonical("categories", "Journalist", study) == "journalist"
    assert canonical("categories", "press", study) == "journalist"
    assert canonical("categories", "Local policy maker", study) == "policy_maker"
    # a default id the study dropped never matches, not even through its variants
    assert canonical("categories", "NGO", study) is None


@pytest.mark.parametrize("label, expected", [
    ("Organisation", "organisation"),
    ("Organization:", "organisation"),
    ("Institution", "organisation"),
    ("Stakeholder type", "stakeholder_category"),
    ("Stakeholder category", "stakeholder_category"),
    ("Category", "stakeholder_category"),
    ("Type of stakeholder", "stakeholder_category"),
    ("Date", "interview_date"),
    ("Interview date", "interview_date"),
    ("Date of interview:", "interview_date"),
    ("Interview mode", "mode"),
    ("Mode", "mode"),
    ("Format", "mode"),
    ("Interviewee position", "position"),
    ("Position", "position"),
    ("Role", "position"),
    ("Job title", "position"),
    ("Guide", "interview_guide"),
    ("Interview guide", "interview_guide"),
    ("City", "city"),
    ("COUNTRY", "country"),
    ("Language", "language"),
    ("Interviewer", "interviewer"),
    ("interview_date", "interview_date"),
])
def test_vocabulary_field_for_label(label, expected):
    assert field_for_label(label) == expected


@pytest.mark.parametrize("label", ["Summary", "Question 1", "", None])
def test_vocabulary_field_for_label_unknown_is_none(label):
    assert field_for_label(label) is None


@pytest.mark.parametrize("category, guide", [
    ("policy_maker", "policy_makers"),
    ("practitioner", "practitioners"),
    ("business", "businesses"),
    ("civil_society", "third_actors"),
    ("international_organization", "third_actors"),
    ("NGO", "third_actors"),
])
def test_vocabulary_guide_for_category(category, guide):
    assert guide_for_category(category) == guide


def test_vocabulary_guide_for_category_unknown_raises():
    with pytest.raises(KeyError, match="journalist"):
        guide_for_category("journalist")


def test_vocabulary_shipped_variants_cover_every_id_and_field():
    data = yaml.safe_load(variants_path().read_text(encoding="utf-8"))
    assert check_variants(data, str(variants_path())) == []
    for vocabulary in VARIANT_VOCABULARIES:
        assert set(data["vocabularies"][vocabulary]) == set(DEFAULT_VOCABULARIES[vocabulary])
    assert set(data["labels"]) == set(METADATA_FIELDS)
    assert set(data["category_guides"]) == set(DEFAULT_VOCABULARIES["categories"])
    assert set(data["category_guides"].values()) == set(DEFAULT_VOCABULARIES["guides"])
    assert default_variants().values["categories"]["ngo"] == "civil_society"


@pytest.mark.parametrize("mutate, location", [
    (lambda d: d["vocabularies"]["modes"]["video"].append("Telephone"), "vocabularies.modes"),
    (lambda d: d["labels"]["city"].append("Organisation"), "labels"),
    (lambda d: d.setdefault("extra", 1), "(top level)"),
    (lambda d: d["labels"].setdefault("colour", ["Colour"]), "labels"),
    (lambda d: d["vocabularies"]["modes"]["video"].append(7), "vocabularies.modes.video"),
])
def test_vocabulary_check_variants_reports_clashes_and_schema_errors(mutate, location):
    data = yaml.safe_load(variants_path().read_text(encoding="utf-8"))
    mutate(data)
    problems = check_variants(data, "variants.yaml")
    assert problems and all(p.code == "CQ915" for p in problems)
    assert any(p.fields["location"].startswith(location) for p in problems)


def test_vocabulary_load_variants_raises_on_bad_file(tmp_path):
    path = tmp_path / "variants.yaml"
    path.write_text("vocabularies: {modes: {video: [a, b]}\nlabels: [", encoding="utf-8")
    with pytest.raises(CityQDAError) as info:
        load_variants(path)
    assert info.value.code == "CQ915"
